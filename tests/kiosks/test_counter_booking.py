"""Booking on a resident's behalf at the counter (kiosks/counter_views.py): facility → room → day →
bands, the fee before confirming, channel 窓口, until the day itself; cancelling for them; scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reservations.models import Channel, Reservation, ReservationState, Residency, StaffRole
from tests.factories import GroupFactory, ResidentFactory, make_room
from tests.kiosks.conftest import NOW, USE_DAY
from tests.kiosks.counter_support import band_ids, book, counter_desk, desk, other_facility

pytestmark = pytest.mark.django_db


def slot_url(resident, room, day) -> str:
    return reverse("staff:book_slot", args=[resident.pk, room.pk, day])


def test_a_counter_booking_shows_the_fee_first_and_records_channel_counter(clock, facility, room):
    client, staff = counter_desk(facility)
    outsider = ResidentFactory(residency=Residency.OUTSIDER, registered_facility=facility)
    start = client.get(reverse("staff:book_start", args=[outsider.pk]), {"room": room.pk, "day": USE_DAY.isoformat()})
    assert start.status_code == 302 and start["Location"] == slot_url(outsider, room, USE_DAY)

    bands = band_ids(facility, "am", "pm")
    page = client.get(slot_url(outsider, room, USE_DAY), {"bands": bands})
    text = page.content.decode()
    # Two weekday bands at ¥1,200 plus the 20% outsider surcharge, shown before anything is booked.
    assert page.status_code == 200 and '<strong class="fee" id="fee">2,880円</strong>' in text
    assert not Reservation.objects.exists()

    response = client.post(slot_url(outsider, room, USE_DAY), {"bands": bands, "attendees": 12})

    reservation = Reservation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("staff:booking", args=[reservation.pk])
    assert reservation.channel == Channel.COUNTER and reservation.booked_by == staff
    assert reservation.resident == outsider and reservation.fee == 2880
    assert reservation.state == ReservationState.PROVISIONAL and reservation.attendees == 12
    booking_page = client.get(response["Location"]).content.decode()
    assert reservation.reference in booking_page and "窓口で支払を受ける" in booking_page


def test_the_counter_books_the_same_day_which_the_web_no_longer_takes(clock, facility, room):
    client, _staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    today = NOW.date()
    response = client.post(slot_url(resident, room, today), {"bands": band_ids(facility, "ev"), "attendees": 3})
    assert response.status_code == 302
    assert Reservation.objects.get().date == today
    # The morning band has begun: not even the counter books the past.
    past = client.post(slot_url(resident, room, today), {"bands": band_ids(facility, "am"), "attendees": 3})
    assert past.status_code == 400 and "過ぎた日時の枠は予約できません" in past.content.decode()
    assert Reservation.objects.count() == 1


def test_a_group_booking_takes_the_groups_class_and_a_taken_slot_is_refused_clearly(clock, facility, room):
    client, _staff = counter_desk(facility)
    member = ResidentFactory(residency=Residency.OUTSIDER, registered_facility=facility)
    group = GroupFactory(representative=member, resident_member_count=8, member_count=10)  # a ward group
    bands = band_ids(facility, "pm")
    page = client.get(slot_url(member, room, USE_DAY), {"bands": bands, "group": group.pk}).content.decode()
    assert '<strong class="fee" id="fee">1,200円</strong>' in page  # no outsider surcharge for a ward group

    client.post(slot_url(member, room, USE_DAY), {"bands": bands, "group": group.pk, "attendees": 8})
    booking = Reservation.objects.get()
    assert booking.group == group and booking.fee == 1200 and booking.channel == Channel.COUNTER

    someone = ResidentFactory(registered_facility=facility)
    taken = client.post(slot_url(someone, room, USE_DAY), {"bands": bands, "attendees": 2})
    assert taken.status_code == 409 and "ほかの方が予約しました" in taken.content.decode()
    assert Reservation.objects.count() == 1


def test_staff_cancel_a_booking_for_its_holder_with_channel_counter(clock, facility, room):
    client, staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    reservation = book(resident, room, USE_DAY, "am", booked_by=resident.user)
    response = client.post(
        reverse("staff:booking_cancel", args=[reservation.pk]),
        {"next": reverse("staff:resident", args=[resident.pk])},
        follow=True,
    )
    assert "を取り消しました" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_channel == Channel.COUNTER and reservation.cancelled_by == staff


def test_staff_of_facility_a_get_404_for_facility_bs_rooms_and_bookings(clock, facility, room):
    theirs = other_facility()
    their_room = make_room(theirs, "theirs")
    client, _staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    their_booking = book(resident, their_room, USE_DAY, "am", booked_by=resident.user)

    assert client.get(slot_url(resident, their_room, USE_DAY)).status_code == 404
    assert client.post(slot_url(resident, their_room, USE_DAY), {"bands": band_ids(theirs, "pm")}).status_code == 404
    assert client.get(reverse("staff:book_start", args=[resident.pk]), {"facility": theirs.pk}).status_code == 404
    for name in ("staff:booking", "staff:booking_permit"):
        assert client.get(reverse(name, args=[their_booking.pk])).status_code == 404
    for name in ("staff:booking_cancel", "staff:booking_pay"):
        assert (
            client.post(reverse(name, args=[their_booking.pk]), {"receipt_number": "1", "method": "cash"}).status_code
            == 404
        )
    their_booking.refresh_from_db()
    assert their_booking.state == ReservationState.PROVISIONAL
    assert Reservation.objects.count() == 1
    # A department admin of the other facility's department does see it.
    admin, _ = desk(StaffRole.DEPARTMENT_ADMIN, departments=[theirs.department])
    assert admin.get(reverse("staff:booking", args=[their_booking.pk])).status_code == 200


def test_an_auditor_sees_a_booking_but_neither_books_nor_cancels(clock, facility, room):
    auditor, _ = desk(StaffRole.AUDITOR)
    resident = ResidentFactory(registered_facility=facility)
    reservation = book(resident, room, USE_DAY, "am", booked_by=resident.user)
    page = auditor.get(reverse("staff:booking", args=[reservation.pk]))
    assert page.status_code == 200 and "この予約を取り消す" not in page.content.decode()
    assert auditor.post(reverse("staff:booking_cancel", args=[reservation.pk])).status_code == 403
    assert auditor.get(slot_url(resident, room, USE_DAY)).status_code == 403
    assert auditor.post(slot_url(resident, room, USE_DAY), {"bands": band_ids(facility, "pm")}).status_code == 403
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.PROVISIONAL and Reservation.objects.count() == 1
