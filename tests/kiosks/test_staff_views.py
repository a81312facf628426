"""kiosks/staff_views.py: the staff terminal basics (staff only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reservations.models import Channel, ReservationState
from reservations.services import reservation_create
from tests.factories import PASSWORD, ResidentFactory, StaffFactory, make_room
from tests.kiosks.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(clock):
    client = Client()
    client.force_login(StaffFactory())
    return client


def test_residents_and_anonymous_visitors_are_sent_to_the_login(clock):
    resident = ResidentFactory()
    client = Client()
    assert client.get(reverse("staff:index"))["Location"].startswith(reverse("login"))
    client.login(user_number=resident.user.user_number, password=PASSWORD)
    assert client.get(reverse("staff:index")).status_code == 302


def test_staff_find_a_resident_by_user_number_or_name(desk):
    wanted = ResidentFactory(full_name="白山 次郎")
    other = ResidentFactory(full_name="本郷 三郎")
    by_number = desk.get(reverse("staff:index"), {"q": wanted.user.user_number}).content.decode()
    assert wanted.full_name in by_number and other.full_name not in by_number
    by_name = desk.get(reverse("staff:index"), {"q": "白山"}).content.decode()
    assert wanted.user.user_number in by_name and other.full_name not in by_name


def test_todays_bookings_with_check_in_and_no_show(desk, facility, staff):
    room = make_room(facility, "free", weekday_fee=0, holiday_fee=0)
    am, pm = facility.time_bands.get(code="am"), facility.time_bands.get(code="pm")
    first, second = ResidentFactory(full_name="来館 一"), ResidentFactory(full_name="来館 二")
    bookings = [
        reservation_create(
            resident=who,
            room_id=room.pk,
            date=NOW.date(),
            band_ids=[band.pk],
            channel=Channel.COUNTER,
            booked_by=staff,
            now=NOW.replace(hour=8),
        )
        for who, band in ((first, am), (second, pm))
    ]
    url = reverse("staff:today", args=[facility.pk])
    page = desk.get(url).content.decode()
    assert first.full_name in page and second.full_name in page

    desk.post(reverse("staff:check_in", args=[facility.pk]), {"reference": bookings[1].reference})
    desk.post(reverse("staff:no_show", args=[facility.pk, bookings[0].pk]))
    for booking in bookings:
        booking.refresh_from_db()
    assert bookings[1].checked_in_at is not None and bookings[1].checked_in_channel == Channel.COUNTER
    assert bookings[0].no_show_at is not None and bookings[0].state == ReservationState.CONFIRMED
    page = desk.get(url).content.decode()
    assert "受付済" in page and "不来館" in page
