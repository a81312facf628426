"""Closures and official blocks from the staff terminal (kiosks/counter_manage_views.py): managers of
the facility place them, counter staff and auditors only see them, other facilities' staff get 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reservations.models import Channel, Closure, Reservation, ReservationKind, ReservationState, StaffRole
from tests.factories import ResidentFactory
from tests.kiosks.conftest import USE_DAY
from tests.kiosks.counter_support import band_ids, book, counter_desk, desk, other_facility

pytestmark = pytest.mark.django_db


def test_a_manager_closes_a_day_and_blocks_a_slot_which_then_cannot_be_booked(clock, facility, room):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    closed = manager.post(
        reverse("staff:closure_create", args=[facility.pk]), {"day": USE_DAY.isoformat(), "reason": "設備点検"}
    )
    assert closed.status_code == 302
    closure = Closure.objects.get()
    assert closure.facility == facility and closure.room is None and closure.reason == "設備点検"

    next_day = USE_DAY.replace(day=USE_DAY.day + 1)
    manager.post(
        reverse("staff:block_create", args=[facility.pk]),
        {"room": room.pk, "day": next_day.isoformat(), "bands": band_ids(facility, "am", "pm"), "note": "区主催事業"},
    )
    block = Reservation.objects.get(kind=ReservationKind.BLOCK)
    assert block.booked_by == manager_user and block.channel == Channel.COUNTER and block.note == "区主催事業"
    page = manager.get(reverse("staff:closures", args=[facility.pk])).content.decode()
    assert "設備点検" in page and block.reference in page

    # Residents at the counter cannot have either slot any more.
    counter, _ = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    for day, code in ((USE_DAY, "ev"), (next_day, "am")):
        refused = counter.post(
            reverse("staff:book_slot", args=[resident.pk, room.pk, day]),
            {"bands": band_ids(facility, code), "attendees": 1},
        )
        assert refused.status_code == 409
    assert not Reservation.objects.filter(kind=ReservationKind.FIRST_COME).exists()


def test_a_day_with_bookings_is_not_closed_and_the_message_says_what_to_do(clock, facility, room):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    book(ResidentFactory(), room, USE_DAY, "am", booked_by=manager_user)
    response = manager.post(
        reverse("staff:closure_create", args=[facility.pk]), {"day": USE_DAY.isoformat(), "reason": "点検"}
    )
    assert response.status_code == 400
    assert "先に予約を取り消してから休館日にしてください" in response.content.decode()
    assert not Closure.objects.exists()


def test_counter_staff_and_auditors_see_closures_but_do_not_place_them(clock, facility, room):
    for client, _user in (counter_desk(facility), desk(StaffRole.AUDITOR)):
        page = client.get(reverse("staff:closures", args=[facility.pk]))
        assert page.status_code == 200 and "休館日にする" not in page.content.decode()
        assert (
            client.post(
                reverse("staff:closure_create", args=[facility.pk]), {"day": USE_DAY.isoformat(), "reason": "x"}
            ).status_code
            == 403
        )
        blocked = client.post(
            reverse("staff:block_create", args=[facility.pk]),
            {"room": room.pk, "day": USE_DAY.isoformat(), "bands": band_ids(facility, "am"), "note": "x"},
        )
        assert blocked.status_code == 403
    assert not Closure.objects.exists() and not Reservation.objects.exists()


def test_a_block_is_cancelled_by_a_manager_not_by_counter_staff(clock, facility, room):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    manager.post(
        reverse("staff:block_create", args=[facility.pk]),
        {"room": room.pk, "day": USE_DAY.isoformat(), "bands": band_ids(facility, "am"), "note": "選挙"},
    )
    block = Reservation.objects.get()
    counter, _ = counter_desk(facility)
    refused = counter.post(reverse("staff:booking_cancel", args=[block.pk]), follow=True)
    assert "公用・優先予約の取消は施設管理者が行います" in refused.content.decode()
    block.refresh_from_db()
    assert block.state == ReservationState.CONFIRMED
    manager.post(reverse("staff:booking_cancel", args=[block.pk]))
    block.refresh_from_db()
    assert block.state == ReservationState.CANCELLED and block.cancelled_by == manager_user


def test_managers_of_another_facility_get_404(clock, facility, room):
    theirs_manager, _ = desk(StaffRole.FACILITY_MANAGER, other_facility())
    assert theirs_manager.get(reverse("staff:closures", args=[facility.pk])).status_code == 404
    posted = theirs_manager.post(
        reverse("staff:closure_create", args=[facility.pk]), {"day": USE_DAY.isoformat(), "reason": "x"}
    )
    assert posted.status_code == 404
    blocked = theirs_manager.post(
        reverse("staff:block_create", args=[facility.pk]),
        {"room": room.pk, "day": USE_DAY.isoformat(), "bands": band_ids(facility, "am"), "note": "x"},
    )
    assert blocked.status_code == 404
    assert not Closure.objects.exists() and not Reservation.objects.exists()
