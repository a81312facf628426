"""reservations/services.py: reservation_check_in and reservation_mark_no_show."""

from __future__ import annotations

import datetime as dt

import pytest

from reservations.domain import TOKYO
from reservations.errors import BookingError, NotFound
from reservations.models import Channel
from reservations.services import reservation_cancel, reservation_check_in, reservation_create, reservation_mark_no_show
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, make_room

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def booking():
    facility = FacilityFactory()
    room = make_room(facility, "r1", weekday_fee=0, holiday_fee=0)
    resident, staff = ResidentFactory(), StaffFactory()
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=NOW.date(),
        band_ids=[facility.time_bands.get(code="pm").pk],
        channel=Channel.COUNTER,
        booked_by=staff,
        now=NOW,
    )


def test_check_in_records_the_first_arrival_only(booking):
    facility_id = booking.room.facility_id
    first = reservation_check_in(reference=booking.reference, facility_id=facility_id, channel=Channel.KIOSK, now=NOW)
    later = NOW + dt.timedelta(minutes=5)
    again = reservation_check_in(
        reference=booking.reference, facility_id=facility_id, channel=Channel.COUNTER, now=later
    )
    assert first.checked_in_at == again.checked_in_at == NOW and again.checked_in_channel == Channel.KIOSK
    assert not reservation_mark_no_show(
        reservation_id=booking.pk, facility_id=booking.room.facility_id, now=later
    )  # they came


def test_check_in_refuses_another_day_another_facility_and_cancelled_bookings(booking):
    facility_id = booking.room.facility_id
    with pytest.raises(NotFound):
        reservation_check_in(
            reference=booking.reference, facility_id=facility_id, channel=Channel.KIOSK, now=NOW + dt.timedelta(days=1)
        )
    with pytest.raises(NotFound):
        reservation_check_in(
            reference=booking.reference, facility_id=FacilityFactory().pk, channel=Channel.KIOSK, now=NOW
        )
    reservation_cancel(
        reservation_id=booking.pk, resident=None, cancelled_by=booking.booked_by, channel=Channel.COUNTER, now=NOW
    )
    with pytest.raises(BookingError) as refused:
        reservation_check_in(reference=booking.reference, facility_id=facility_id, channel=Channel.KIOSK, now=NOW)
    assert refused.value.code == "already_ended"


def test_no_show_is_recorded_once_and_not_for_future_bookings(booking):
    facility_id = booking.room.facility_id
    assert not reservation_mark_no_show(
        reservation_id=booking.pk, facility_id=facility_id, now=NOW - dt.timedelta(days=1)
    )
    assert not reservation_mark_no_show(reservation_id=booking.pk, facility_id=FacilityFactory().pk, now=NOW)
    assert reservation_mark_no_show(reservation_id=booking.pk, facility_id=booking.room.facility_id, now=NOW)
    assert not reservation_mark_no_show(reservation_id=booking.pk, facility_id=booking.room.facility_id, now=NOW)
    booking.refresh_from_db()
    assert booking.no_show_at == NOW
