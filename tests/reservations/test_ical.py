"""The calendar feed (reservations/ical.py, ical_views.py): a secret-token URL that calendar apps fetch
without a session; only the resident's own active bookings; reset and stop."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from reservations.domain import TOKYO
from reservations.models import Channel, Reservation, ResidentPreference, ResidentStatus
from reservations.services import (
    reservation_cancel,
    reservation_create,
    resident_calendar_token_reset,
    resident_language_set,
)
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_room

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)
USE_DAY = dt.date(2026, 12, 7)  # a Monday


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def room():
    return make_room(FacilityFactory(name="春日区民センター", address="東京都文京区春日1-16-21"), "r1")


def book(resident, room, code: str = "am", day: dt.date = USE_DAY, group=None) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[room.facility.time_bands.get(code=code).pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=NOW,
        group=group,
    )


def fetch(token: str) -> icalendar.Calendar:
    response = Client().get(reverse("reservations:calendar_feed", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


def test_feed_lists_own_active_bookings_with_times_in_tokyo(room) -> None:
    resident = ResidentFactory()
    booking = book(resident, room)
    token = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    assert token

    calendar = fetch(token)
    [event] = events(calendar)
    assert str(event["uid"]).startswith(booking.reference + "@")
    assert event.decoded("dtstart") == dt.datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO)
    assert event.decoded("dtend") == dt.datetime(2026, 12, 7, 12, 0, tzinfo=TOKYO)
    assert str(event["summary"]) == "春日区民センター 室場r1"
    assert str(event["location"]) == "東京都文京区春日1-16-21"
    assert str(event["status"]) == "TENTATIVE"  # provisional until paid
    assert booking.reference in str(event["description"])
    assert "お支払い期限" in str(event["description"])
    assert calendar.walk("VTIMEZONE"), "the Asia/Tokyo definition travels with the feed"


def test_feed_leaves_out_cancelled_and_other_peoples_bookings(room) -> None:
    resident, other = ResidentFactory(), ResidentFactory()
    group = GroupFactory(representative=other)
    group.members.add(resident)
    kept = book(resident, room, "am")
    cancelled = book(resident, room, "pm")
    book(other, room, "ev")  # someone else's
    book(other, room, "am", day=USE_DAY + dt.timedelta(days=1), group=group)  # their group's, not mine
    reservation_cancel(
        reservation_id=cancelled.pk, resident=resident, cancelled_by=resident.user, channel=Channel.WEB, now=NOW
    )
    token = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    assert token

    uids = [str(e["uid"]).split("@")[0] for e in events(fetch(token))]
    assert uids == [kept.reference]


def test_feed_keeps_a_month_back_and_no_older(room, clock) -> None:
    resident = ResidentFactory()
    booking = book(resident, room)
    token = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    assert token
    clock.move_to(dt.datetime.combine(USE_DAY + dt.timedelta(days=31), dt.time(12), tzinfo=TOKYO))
    assert [str(e["uid"]).split("@")[0] for e in events(fetch(token))] == [booking.reference]
    clock.move_to(dt.datetime.combine(USE_DAY + dt.timedelta(days=32), dt.time(12), tzinfo=TOKYO))
    assert events(fetch(token)) == []


def test_unknown_reset_stopped_and_suspended_tokens_are_not_found(room) -> None:
    resident = ResidentFactory()
    book(resident, room)
    old = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    new = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    assert old and new and old != new
    client = Client()
    assert client.get(reverse("reservations:calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("reservations:calendar_feed", args=["not-a-token"])).status_code == 404
    assert client.get(reverse("reservations:calendar_feed", args=[new])).status_code == 200

    resident.status = ResidentStatus.SUSPENDED
    resident.save(update_fields=["status"])
    assert client.get(reverse("reservations:calendar_feed", args=[new])).status_code == 404

    resident.status = ResidentStatus.ACTIVE
    resident.save(update_fields=["status"])
    assert resident_calendar_token_reset(resident_id=resident.pk, now=NOW, enable=False) is None
    assert client.get(reverse("reservations:calendar_feed", args=[new])).status_code == 404
    assert ResidentPreference.objects.get(resident=resident).calendar_token is None


def test_feed_texts_follow_the_residents_language(room) -> None:
    resident = ResidentFactory()
    book(resident, room)
    resident_language_set(resident_id=resident.pk, language="en")
    token = resident_calendar_token_reset(resident_id=resident.pk, now=NOW)
    assert token
    calendar = fetch(token)
    [event] = events(calendar)
    assert "Booking number" in str(event["description"])
    assert "施設予約" not in str(calendar["x-wr-calname"])


def test_settings_page_issues_resets_and_stops(room) -> None:
    resident = ResidentFactory()
    client = Client()
    client.force_login(resident.user)
    page = client.get(reverse("reservations:calendar"))
    assert page.status_code == 200
    assert "配信URLを発行する" in page.content.decode()

    response = client.post(reverse("reservations:calendar"), {"action": "reset"}, follow=True)
    token = ResidentPreference.objects.get(resident=resident).calendar_token
    assert token and f"/calendar/{token}.ics" in response.content.decode()
    assert f"webcal://testserver/calendar/{token}.ics" in response.content.decode()

    client.post(reverse("reservations:calendar"), {"action": "reset"})
    assert ResidentPreference.objects.get(resident=resident).calendar_token not in (None, token)

    client.post(reverse("reservations:calendar"), {"action": "stop"})
    assert ResidentPreference.objects.get(resident=resident).calendar_token is None
    assert client.post(reverse("reservations:calendar"), {"action": "other"}).status_code == 400


def test_settings_page_is_for_active_residents_only() -> None:
    client = Client()
    assert client.get(reverse("reservations:calendar")).status_code == 302  # to the login page
    client.force_login(ResidentFactory(status=ResidentStatus.PENDING).user)
    assert client.get(reverse("reservations:calendar")).status_code == 403
    client.force_login(StaffFactory())
    assert client.get(reverse("reservations:calendar")).status_code == 403
