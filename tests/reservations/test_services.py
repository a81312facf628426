"""reservations/services.py: booking, cancelling, blocks, closures, registration."""

from __future__ import annotations

import datetime as dt

import pytest

from reservations.errors import BookingError, NotFound, SlotTaken
from reservations.models import (
    Channel,
    Occupancy,
    Reservation,
    ReservationKind,
    ReservationState,
    ResidentStatus,
    RoomEquipment,
)
from reservations.services import (
    block_create,
    closure_create,
    reservation_cancel,
    reservation_create,
    resident_activate,
    resident_register,
)
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_divisible_hall, make_room

pytestmark = pytest.mark.django_db

USE_DAY = dt.date(2026, 12, 7)  # a Monday in the month whose window opened 2026-11-01 09:00


@pytest.fixture
def facility():
    return FacilityFactory()


@pytest.fixture
def room(facility):
    return make_room(facility, "r1")


def bands(facility, *codes):
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def book(resident, room, day=USE_DAY, codes=("am",), now=None, **kwargs):
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=bands(room.facility, *codes),
        channel=kwargs.pop("channel", Channel.WEB),
        booked_by=resident.user,
        now=now or dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC),
        **kwargs,
    )


@pytest.mark.smoke
def test_booking_takes_the_slot_and_starts_provisional(room):
    resident = ResidentFactory()
    reservation = book(resident, room, codes=("am", "pm"))
    assert reservation.state == ReservationState.PROVISIONAL
    assert reservation.kind == ReservationKind.FIRST_COME
    assert reservation.channel == Channel.WEB
    assert reservation.fee == 2400
    assert reservation.payment_deadline is not None
    assert Occupancy.objects.filter(reservation=reservation).count() == 2


def test_fee_frozen_with_commercial_surcharge_and_equipment(facility):
    room = make_room(facility, "hall", equipment=[("マイク", 300), ("プロジェクター", 500), ("ピアノ", 2000)])
    mic, projector = RoomEquipment.objects.filter(room=room, name__in=["マイク", "プロジェクター"]).order_by("fee")
    outsider = ResidentFactory(residency="outsider")
    reservation = book(outsider, room, codes=("am", "pm"), commercial=True, equipment_ids=[mic.pk, projector.pk])
    # bands 2400 + 区外 20% of 2400 + 営利 50% of 2400 + equipment 800 (no surcharge on equipment)
    assert reservation.fee == 2400 + 480 + 1200 + 800
    reservation.refresh_from_db()
    assert reservation.commercial is True
    assert set(reservation.equipment_items.all()) == {mic, projector}
    assert book(ResidentFactory(), room, codes=("ev",)).fee == 1200  # the defaults change nothing


def test_unknown_or_other_rooms_equipment_is_refused_and_nothing_written(facility, room):
    other = make_room(facility, "r2", equipment=[("ピアノ", 2000)])
    piano = other.equipment_items.get()
    resident = ResidentFactory()
    for ids in ([piano.pk], [piano.pk + 1000]):
        with pytest.raises(BookingError) as refused:
            book(resident, room, equipment_ids=ids)
        assert refused.value.code == "unknown_equipment"
        assert refused.value.status == 400
        assert refused.value.message
    assert not Reservation.objects.exists()
    assert not Occupancy.objects.exists()


@pytest.mark.smoke
def test_second_booking_of_same_slot_is_refused_as_taken(room):
    book(ResidentFactory(), room)
    with pytest.raises(SlotTaken):
        book(ResidentFactory(), room)
    assert Reservation.objects.count() == 1


def test_overlapping_span_is_taken(room):
    book(ResidentFactory(), room, codes=("pm",))
    with pytest.raises(SlotTaken):
        book(ResidentFactory(), room, codes=("am", "pm"))


def test_whole_hall_and_half_exclude_each_other(facility):
    whole, half_a, half_b = make_divisible_hall(facility)
    book(ResidentFactory(), half_a)
    with pytest.raises(SlotTaken):
        book(ResidentFactory(), whole)
    book(ResidentFactory(), half_b)  # the other half is still free


def test_non_consecutive_bands_refused(room):
    with pytest.raises(BookingError) as info:
        book(ResidentFactory(), room, codes=("am", "ev"))
    assert info.value.code == "bad_span"


def test_before_window_opens_refused(room):
    with pytest.raises(BookingError) as info:
        book(
            ResidentFactory(), room, now=dt.datetime(2026, 11, 1, 8, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=9)))
        )
    assert info.value.code == "not_yet_open"
    book(ResidentFactory(), room, now=dt.datetime(2026, 11, 1, 9, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))))


def test_window_closes_day_before_use_except_at_counter(room):
    on_the_day = dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with pytest.raises(BookingError) as info:
        book(ResidentFactory(), room, now=on_the_day)
    assert info.value.code == "closed_for_booking"
    assert book(ResidentFactory(), room, now=on_the_day, channel=Channel.COUNTER).channel == Channel.COUNTER


def test_past_slot_refused(room):
    with pytest.raises(BookingError) as info:
        book(ResidentFactory(), room, day=dt.date(2026, 11, 1))
    assert info.value.code == "past"


def test_closed_day_refused(facility, room):
    closure_create(facility=facility, date=USE_DAY, reason="設備点検")
    with pytest.raises(BookingError) as info:
        book(ResidentFactory(), room)
    assert info.value.code == "facility_closed"
    assert Reservation.objects.count() == 0


def test_monthly_cap(facility, room):
    facility.group.max_active_bookings_per_month = 2
    facility.group.save()
    resident = ResidentFactory()
    book(resident, room, day=dt.date(2026, 12, 1))
    book(resident, room, day=dt.date(2026, 12, 2))
    with pytest.raises(BookingError) as info:
        book(resident, room, day=dt.date(2026, 12, 3))
    assert info.value.code == "quota"
    assert Reservation.objects.filter(resident=resident).count() == 2


def test_group_cap_counts_group_bookings(facility, room):
    facility.group.max_group_bookings_per_month = 1
    facility.group.save()
    group = GroupFactory()
    book(group.representative, room, day=dt.date(2026, 12, 1), group=group)
    with pytest.raises(BookingError) as info:
        book(group.representative, room, day=dt.date(2026, 12, 2), group=group)
    assert info.value.code == "group_quota"


def test_pending_resident_cannot_book(room):
    with pytest.raises(BookingError) as info:
        book(ResidentFactory(status=ResidentStatus.PENDING), room)
    assert info.value.code == "not_active"


def test_cancel_frees_the_slot_and_records_channel(room):
    resident = ResidentFactory()
    reservation = book(resident, room)
    reservation_cancel(
        reservation_id=reservation.pk,
        resident=resident,
        cancelled_by=resident.user,
        channel=Channel.KIOSK,
        now=dt.datetime(2026, 11, 11, tzinfo=dt.UTC),
    )
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_channel == Channel.KIOSK
    assert not Occupancy.objects.exists()
    book(ResidentFactory(), room)  # free again


def test_resident_cannot_cancel_someone_elses_booking(room):
    reservation = book(ResidentFactory(), room)
    other = ResidentFactory()
    with pytest.raises(NotFound):
        reservation_cancel(
            reservation_id=reservation.pk,
            resident=other,
            cancelled_by=other.user,
            channel=Channel.WEB,
            now=dt.datetime(2026, 11, 11, tzinfo=dt.UTC),
        )
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.PROVISIONAL


def test_block_shares_the_constraint(room):
    staff = StaffFactory()
    block_create(
        room_id=room.pk,
        date=USE_DAY,
        band_ids=bands(room.facility, "am"),
        note="区主催事業",
        staff_user=staff,
        now=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    )
    with pytest.raises(SlotTaken):
        book(ResidentFactory(), room)


def test_closure_refused_over_active_booking(facility, room):
    book(ResidentFactory(), room)
    with pytest.raises(BookingError) as info:
        closure_create(facility=facility, date=USE_DAY, reason="点検")
    assert info.value.code == "closure_has_bookings"


def test_online_registration_is_pending_until_counter_activates():
    staff = StaffFactory()
    resident = resident_register(
        full_name="文京 花子",
        date_of_birth=dt.date(1990, 1, 2),
        postcode="112-0001",
        address="東京都文京区白山1-1",
        residency="lives",
        email="hanako@example.jp",
        password="a-long-passphrase",
        channel=Channel.WEB,
        now=dt.datetime(2026, 11, 10, tzinfo=dt.UTC),
    )
    assert resident.status == ResidentStatus.PENDING
    assert len(resident.user.user_number) == 8
    resident_activate(resident_id=resident.pk, staff_user=staff, now=dt.datetime(2026, 11, 11, tzinfo=dt.UTC))
    resident.refresh_from_db()
    assert resident.status == ResidentStatus.ACTIVE and resident.activated_by == staff
    with pytest.raises(BookingError):
        resident_activate(resident_id=resident.pk, staff_user=staff, now=dt.datetime(2026, 11, 11, tzinfo=dt.UTC))
