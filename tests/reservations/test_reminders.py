"""Reminder e-mails before use (reservations/reminders.py, tasks.py): due N days before, once per
booking however often or concurrently the task runs, in the resident's language, retried when the
mail server refuses."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection

from reservations import reminders
from reservations.domain import TOKYO
from reservations.models import Channel, Reservation, ReservationReminder
from reservations.services import reservation_cancel, reservation_create, resident_language_set
from reservations.tasks import send_reminders
from tests.factories import FacilityFactory, ResidentFactory, UserFactory, make_room

BOOKED_AT = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)
USE_DAY = dt.date(2026, 12, 7)  # a Monday
THREE_DAYS_BEFORE = dt.datetime(2026, 12, 4, 8, 5, tzinfo=TOKYO)


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down (the SMTP server is outside our code)."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def room():
    return make_room(FacilityFactory(name="春日区民センター"), "r1")


def book(room, resident=None, day: dt.date = USE_DAY, code: str = "am") -> Reservation:
    resident = resident or ResidentFactory(full_name="春日 一郎")
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[room.facility.time_bands.get(code=code).pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=BOOKED_AT,
    )


@pytest.mark.django_db
def test_due_from_n_days_before_and_only_once(room) -> None:
    booking = book(room)
    assert reminders.reminders_send(now=THREE_DAYS_BEFORE - dt.timedelta(days=1), days_before=3).sent == 0
    assert mail.outbox == []

    run = reminders.reminders_send(now=THREE_DAYS_BEFORE, days_before=3)
    assert (run.due, run.sent) == (1, 1)
    [message] = mail.outbox
    assert message.to == [booking.resident.user.email]
    assert "2026年12月7日(月)（令和8年）" in message.subject
    assert booking.reference in message.body
    assert "使用料のお支払いがまだ確認できていません" in message.body  # provisional: pay by the deadline
    assert "春日 一郎 様" in message.body

    again = reminders.reminders_send(now=THREE_DAYS_BEFORE + dt.timedelta(hours=1), days_before=3)
    assert (again.due, again.sent) == (0, 0)
    assert len(mail.outbox) == 1
    assert ReservationReminder.objects.get(reservation=booking).language == "ja"


@pytest.mark.django_db
def test_no_reminder_for_cancelled_past_or_mailless_bookings(room) -> None:
    cancelled = book(room, code="am")
    reservation_cancel(
        reservation_id=cancelled.pk,
        resident=cancelled.resident,
        cancelled_by=cancelled.resident.user,
        channel=Channel.WEB,
        now=BOOKED_AT,
    )
    book(room, resident=ResidentFactory(user=UserFactory(email="")), code="pm")
    book(room, day=USE_DAY - dt.timedelta(days=5), code="ev")  # already past on the day we look
    assert reminders.reminders_send(now=THREE_DAYS_BEFORE, days_before=3).due == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_in_the_residents_language(room) -> None:
    booking = book(room)
    resident_language_set(resident_id=booking.resident.pk, language="en")
    reminders.reminders_send(now=THREE_DAYS_BEFORE, days_before=3)
    [message] = mail.outbox
    assert "Mon 7 Dec 2026 (Reiwa 8)" in message.subject
    assert "Your booking" in message.body
    assert ReservationReminder.objects.get(reservation=booking).language == "en"


@pytest.mark.django_db
def test_a_refused_mail_is_tried_again_next_run(room, settings: Any) -> None:
    booking = book(room)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    run = reminders.reminders_send(now=THREE_DAYS_BEFORE, days_before=3)
    assert (run.due, run.sent, run.failed) == (1, 0, 1)
    assert not ReservationReminder.objects.filter(reservation=booking).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reminders.reminders_send(now=THREE_DAYS_BEFORE, days_before=3).sent == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_one_mail(room) -> None:
    """Two workers running the task at the same moment (a doubled beat, a manual run) race on the
    marker's UNIQUE insert: one sends, the other sends nothing."""
    booking = book(room)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(reminders.reminder_send(reservation_id=booking.pk, now=THREE_DAYS_BEFORE))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1
    assert ReservationReminder.objects.filter(reservation=booking).count() == 1


@pytest.mark.django_db
def test_task_command_and_beat_schedule(room, time_machine: Any) -> None:
    book(room)
    time_machine.move_to(THREE_DAYS_BEFORE, tick=False)
    assert send_reminders() == {"due": 1, "sent": 1, "failed": 0}
    schedule = settings.CELERY_BEAT_SCHEDULE["reservation-reminders"]
    assert schedule["task"] == "reservations.tasks.send_reminders"

    book(room, code="pm")
    call_command("send_reminders", "--days-before", "3")
    assert len(mail.outbox) == 2
