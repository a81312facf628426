"""kiosks/staff_views.py: the staff terminal basics (staff only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reservations.models import Channel, ReservationState, StaffRole
from reservations.services import reservation_create
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    ResidentFactory,
    StaffFactory,
    make_room,
    make_staff,
    staff_client,
)
from tests.kiosks.conftest import NOW

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    """Logged in, second factor verified (tests/kiosks/test_two_factor.py tests the factor itself)."""
    return staff_client(user)


@pytest.fixture
def desk(clock, facility):
    return logged_in(make_staff(StaffRole.COUNTER, facilities=[facility]))


def test_residents_anonymous_visitors_and_staff_without_a_role_are_kept_out(clock):
    resident = ResidentFactory()
    client = Client()
    assert client.get(reverse("staff:index"))["Location"].startswith(reverse("login"))
    client.login(user_number=resident.user.user_number, password=PASSWORD)
    assert client.get(reverse("staff:index")).status_code == 403
    assert logged_in(StaffFactory()).get(reverse("staff:index")).status_code == 403


def test_staff_of_one_facility_see_neither_the_residents_nor_the_day_of_another(clock, facility, staff):
    other_facility = FacilityFactory(name="向丘地域活動センター")
    ours, theirs = make_room(facility, "ours"), make_room(other_facility, "theirs")
    our_resident = ResidentFactory(full_name="白山 我々")
    their_resident = ResidentFactory(full_name="白山 彼ら")
    for who, room in ((our_resident, ours), (their_resident, theirs)):
        reservation_create(
            resident=who,
            room_id=room.pk,
            date=NOW.date(),
            band_ids=[room.facility.time_bands.get(code="am").pk],
            channel=Channel.COUNTER,
            booked_by=staff,
            now=NOW.replace(hour=8),
        )
    desk = logged_in(make_staff(StaffRole.COUNTER, facilities=[facility]))
    found = desk.get(reverse("staff:index"), {"q": "白山"}).content.decode()
    assert our_resident.full_name in found and their_resident.full_name not in found
    assert desk.get(reverse("staff:today", args=[other_facility.pk])).status_code == 404
    # A department admin sees every facility of the department; an auditor sees all but changes nothing.
    admin = logged_in(make_staff(StaffRole.DEPARTMENT_ADMIN, departments=[other_facility.department]))
    assert admin.get(reverse("staff:today", args=[other_facility.pk])).status_code == 200
    auditor = logged_in(make_staff(StaffRole.AUDITOR))
    assert auditor.get(reverse("staff:today", args=[other_facility.pk])).status_code == 200
    assert auditor.post(reverse("staff:check_in", args=[facility.pk]), {"reference": "x"}).status_code == 403


def test_staff_find_a_resident_by_user_number_or_name(desk, facility):
    wanted = ResidentFactory(full_name="白山 次郎", registered_facility=facility)
    other = ResidentFactory(full_name="本郷 三郎", registered_facility=facility)
    # A whole user number opens that resident's page at once (the card shown at the counter).
    by_number = desk.get(reverse("staff:index"), {"q": wanted.user.user_number}, follow=True)
    assert by_number.redirect_chain == [(reverse("staff:resident", args=[wanted.pk]), 302)]
    page = by_number.content.decode()
    assert wanted.full_name in page and other.full_name not in page
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
