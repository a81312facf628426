"""Reminders before use (利用日のお知らせ): one e-mail per booking, N days before its date.

Celery beat runs `reservations.tasks.send_reminders` every hour in the daytime (CELERY_BEAT_SCHEDULE);
`python manage.py send_reminders` runs it once by hand. Each due booking is handled in its own
transaction that first inserts its `ReservationReminder` marker (UNIQUE per booking) and then sends
the mail: a second run, or a run racing this one, finds the marker (or waits on the insert and then
finds it) and sends nothing; a mail server that refuses the message rolls the marker back, so the
next run tries again. The mail is in the language the resident chose on the site, else Japanese.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .domain import TOKYO
from .models import Reservation, ReservationReminder, ReservationState

logger = logging.getLogger(__name__)

# Bookings the resident is expected to come for: paid, or still to be paid (the mail says so).
REMINDED_STATES = (ReservationState.CONFIRMED, ReservationState.PROVISIONAL)


@dataclass
class ReminderRun:
    due: int = 0
    sent: int = 0
    failed: int = 0


def due_reminders(*, today: dt.date, days_before: int) -> list[int]:
    """Ids of the active bookings from today to `days_before` days ahead that have no reminder yet
    and whose resident has an e-mail address."""
    return list(
        Reservation.objects.filter(
            state__in=REMINDED_STATES,
            resident__isnull=False,
            date__gte=today,
            date__lte=today + dt.timedelta(days=days_before),
            reminder__isnull=True,
        )
        .exclude(resident__user__email="")
        .order_by("date", "pk")
        .values_list("pk", flat=True)
    )


def _language_of(reservation: Reservation) -> str:
    preference = getattr(reservation.resident, "preference", None)
    language = preference.language if preference else ""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _message(reservation: Reservation, language: str) -> mail.EmailMessage:
    base = settings.SITE_URL.rstrip("/")
    context = {
        "reservation": reservation,
        "resident": reservation.resident,
        "ward_name": settings.WARD_NAME,
        "bookings_url": base + reverse("reservations:my_bookings"),
        "payment_url": base + reverse("payments:booking", args=[reservation.pk]),
        "starts_at": reservation.band_from.starts_at,
        "ends_at": reservation.band_to.ends_at,
    }
    with translation.override(language):
        subject = " ".join(render_to_string("reservations/email/reminder_subject.txt", context).split())
        body = render_to_string("reservations/email/reminder.txt", context)
    assert reservation.resident is not None
    return mail.EmailMessage(subject=subject, body=body, to=[reservation.resident.user.email])


def reminder_send(*, reservation_id: int, now: dt.datetime) -> bool:
    """Send one booking's reminder unless it went out already; True if this call sent it.

    Locking contract: none taken explicitly; the marker's UNIQUE insert is the claim. The mail is
    sent inside the transaction so that a refused mail leaves no marker behind."""
    try:
        with transaction.atomic():
            reservation = (
                Reservation.objects.select_related(
                    "resident__user", "resident__preference", "room__facility", "band_from", "band_to"
                )
                .filter(pk=reservation_id, state__in=REMINDED_STATES)
                .first()
            )
            if reservation is None or reservation.resident is None or not reservation.resident.user.email:
                return False
            language = _language_of(reservation)
            ReservationReminder.objects.create(reservation=reservation, sent_at=now, language=language)
            _message(reservation, language).send()
    except IntegrityError:
        return False  # another run got there first
    return True


def reminders_send(*, now: dt.datetime, days_before: int | None = None) -> ReminderRun:
    """Everything due now; each booking on its own, so one failure does not hold up the others."""
    days = settings.REMINDER_DAYS_BEFORE if days_before is None else days_before
    run = ReminderRun()
    ids = due_reminders(today=now.astimezone(TOKYO).date(), days_before=days)
    run.due = len(ids)
    for reservation_id in ids:
        try:
            run.sent += reminder_send(reservation_id=reservation_id, now=now)
        except Exception:  # the mail server: try again on the next run
            run.failed += 1
            logger.exception("reminder for reservation %s not sent", reservation_id)
    return run
