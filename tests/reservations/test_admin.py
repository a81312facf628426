"""The staff admin: every page loads, and every write it makes goes through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from reservations.domain import TOKYO
from reservations.errors import SlotTaken
from reservations.models import (
    Channel,
    Closure,
    Facility,
    Group,
    Occupancy,
    Reservation,
    ReservationKind,
    ReservationState,
    ResidentStatus,
    Room,
    RoomUnit,
    Tariff,
    TimeBand,
    User,
)
from reservations.services import block_create, closure_create, reservation_create
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_room, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def use_day() -> dt.date:
    """A day safely in the future, so counter cancellations (refused for past days) are allowed."""
    return timezone.localdate() + dt.timedelta(days=40)


@pytest.fixture
def facility() -> Facility:
    return FacilityFactory()


@pytest.fixture
def room(facility: Facility) -> Room:
    return make_room(facility, "r1")


def band(facility: Facility, code: str) -> TimeBand:
    return facility.time_bands.get(code=code)


def book(room: Room, day: dt.date, *codes: str) -> Reservation:
    resident = ResidentFactory()
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[band(room.facility, c).pk for c in codes],
        channel=Channel.WEB,
        booked_by=resident.user,
        # ten days before use: inside the first-come window, which opened on day 1 of the month before
        now=dt.datetime.combine(day - dt.timedelta(days=10), dt.time(10, 0), tzinfo=TOKYO),
    )


def changelist(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def add_url(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def run_action(client, model: type, action: str, objects: list) -> object:
    return client.post(changelist(model), {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True)


@pytest.mark.smoke
def test_every_registered_changelist_loads(admin_client, room, use_day):
    book(room, use_day, "am")
    GroupFactory(status=ResidentStatus.PENDING)
    closure_create(facility=room.facility, date=use_day + dt.timedelta(days=1), reason="設備点検")

    for model in admin.site._registry:
        response = admin_client.get(changelist(model))
        assert response.status_code == 200, model


def test_change_and_add_pages_load(admin_client, room, use_day):
    reservation = book(room, use_day, "am")
    resident = reservation.resident
    pages = [
        reverse("admin:reservations_facility_change", args=[room.facility.pk]),
        reverse("admin:reservations_room_change", args=[room.pk]),
        reverse("admin:reservations_resident_change", args=[resident.pk]),
        reverse("admin:reservations_reservation_change", args=[reservation.pk]),
        reverse("admin:reservations_user_change", args=[resident.user.pk]),
        reverse("admin:auth_user_password_change", args=[resident.user.pk]),
        *(add_url(m) for m in (Facility, Room, Closure, Reservation, User, Tariff)),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


def test_user_admin_offers_a_password_change_link(admin_client):
    user = ResidentFactory().user
    page = admin_client.get(reverse("admin:reservations_user_change", args=[user.pk])).content.decode()
    assert "../password/" in page
    assert user.user_number in page


def test_staff_account_created_in_the_user_admin_can_log_in(admin_client, client):
    response = admin_client.post(
        add_url(User),
        {
            "user_number": "staff99",
            "email": "staff99@example.jp",
            "usable_password": "true",
            "password1": "Counter-Desk-2026",
            "password2": "Counter-Desk-2026",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(user_number="staff99").check_password("Counter-Desk-2026")


def test_change_form_of_a_room_shows_its_unit_codes(admin_client, facility):
    whole = make_room(facility, "gym", unit_codes=["gym-a", "gym-b"])
    page = admin_client.get(reverse("admin:reservations_room_change", args=[whole.pk])).content.decode()
    assert 'value="gym-a, gym-b"' in page


# --- residents and groups ---------------------------------------------------------------------------


def test_activation_action_activates_pending_residents_only(admin_client, admin_user):
    pending = ResidentFactory(status=ResidentStatus.PENDING)
    active = ResidentFactory(status=ResidentStatus.ACTIVE)

    response = run_action(admin_client, pending.__class__, "activate", [pending, active])

    pending.refresh_from_db()
    assert pending.status == ResidentStatus.ACTIVE
    assert pending.activated_by == admin_user
    assert pending.activated_at is not None
    active.refresh_from_db()
    assert active.activated_by is None  # untouched
    page = response.content.decode()
    assert "1人を本登録しました。" in page
    assert "1人は仮登録ではないため" in page


def test_residents_are_read_only_in_the_admin(admin_client):
    resident = ResidentFactory(full_name="春日 一郎")
    url = reverse("admin:reservations_resident_change", args=[resident.pk])
    admin_client.post(url, {"full_name": "書き換え", "postcode": "000-0000"})
    resident.refresh_from_db()
    assert resident.full_name == "春日 一郎"
    assert admin_client.get(reverse("admin:reservations_resident_delete", args=[resident.pk])).status_code == 403


def test_residents_can_be_found_by_user_number(admin_client):
    wanted, other = ResidentFactory(), ResidentFactory()
    page = admin_client.get(changelist(wanted.__class__), {"q": wanted.user.user_number}).content.decode()
    assert wanted.full_name in page
    assert other.full_name not in page


def test_group_activation_action(admin_client):
    group = GroupFactory(status=ResidentStatus.PENDING)
    run_action(admin_client, Group, "activate", [group])
    group.refresh_from_db()
    assert group.status == ResidentStatus.ACTIVE


# --- catalogue ---------------------------------------------------------------------------------------


def room_form(facility: Facility, code: str, unit_codes: str = "") -> dict[str, object]:
    return {
        "facility": facility.pk,
        "code": code,
        "name": "第1会議室",
        "capacity": 24,
        "area_m2": "",
        "equipment": "[]",
        "display_order": 0,
        "is_active": "on",
        "unit_codes": unit_codes,
        "equipment_items-TOTAL_FORMS": 0,
        "equipment_items-INITIAL_FORMS": 0,
        "equipment_items-MIN_NUM_FORMS": 0,
        "equipment_items-MAX_NUM_FORMS": 1000,
    }


def test_adding_a_room_creates_its_unit(admin_client, facility):
    response = admin_client.post(add_url(Room), room_form(facility, "k1"))

    assert response.status_code == 302
    room = Room.objects.get(code="k1")
    assert [u.code for u in room.units.all()] == ["k1"]


def test_editing_a_rooms_unit_codes_goes_through_room_save(admin_client, facility):
    room = make_room(facility, "k2")
    data = {**room_form(facility, "k2", "k2, k2-annex"), "name": "第2会議室"}
    del data["facility"]  # read-only once the room exists
    data |= {"equipment_items-TOTAL_FORMS": 1, "equipment_items-0-name": "プロジェクター", "equipment_items-0-fee": 500}

    response = admin_client.post(reverse("admin:reservations_room_change", args=[room.pk]), data)

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.name == "第2会議室"
    assert sorted(u.code for u in room.units.all()) == ["k2", "k2-annex"]
    assert list(room.equipment_items.values_list("name", "fee")) == [("プロジェクター", 500)]


def test_adding_a_divisible_hall_shares_named_units(admin_client, facility):
    admin_client.post(add_url(Room), room_form(facility, "hall", "hall-a, hall-b"))
    admin_client.post(add_url(Room), room_form(facility, "hall-a", "hall-a"))

    whole, half = Room.objects.get(code="hall"), Room.objects.get(code="hall-a")
    assert sorted(u.code for u in whole.units.all()) == ["hall-a", "hall-b"]
    assert list(half.units.all()) == [RoomUnit.objects.get(facility=facility, code="hall-a")]


def test_adding_a_facility_with_time_bands(admin_client, facility):
    data = {
        "code": "fac-new",
        "name": "新しい区民センター",
        "kind": "community",
        "department": facility.department.pk,
        "group": facility.group.pk,
        "postcode": "",
        "address": "東京都文京区本郷1-1-1",
        "opens_at": "09:00",
        "closes_at": "21:30",
        "accessibility": "",
        "is_active": "on",
        "time_bands-TOTAL_FORMS": 2,
        "time_bands-INITIAL_FORMS": 0,
        "time_bands-MIN_NUM_FORMS": 0,
        "time_bands-MAX_NUM_FORMS": 1000,
        "time_bands-0-order": 0,
        "time_bands-0-code": "am",
        "time_bands-0-label": "午前",
        "time_bands-0-starts_at": "09:00",
        "time_bands-0-ends_at": "12:00",
        "time_bands-1-order": 1,
        "time_bands-1-code": "pm",
        "time_bands-1-label": "午後",
        "time_bands-1-starts_at": "13:00",
        "time_bands-1-ends_at": "17:00",
    }

    response = admin_client.post(add_url(Facility), data)

    assert response.status_code == 302
    new = Facility.objects.get(code="fac-new")
    assert list(new.time_bands.values_list("code", flat=True)) == ["am", "pm"]


def test_facilities_and_rooms_cannot_be_deleted_from_the_admin(admin_client, room):
    assert admin_client.get(reverse("admin:reservations_room_delete", args=[room.pk])).status_code == 403
    assert admin_client.get(reverse("admin:reservations_facility_delete", args=[room.facility.pk])).status_code == 403


# --- closures ----------------------------------------------------------------------------------------


def test_closure_on_a_day_with_an_active_booking_is_refused_on_the_form(admin_client, room, use_day):
    book(room, use_day, "pm")

    response = admin_client.post(
        add_url(Closure), {"facility": room.facility.pk, "room": "", "date": use_day.isoformat(), "reason": "設備点検"}
    )

    assert response.status_code == 200
    assert "この日には有効な予約があります。" in response.content.decode()
    assert Closure.objects.count() == 0


def test_closure_on_a_free_day_is_created_through_the_service(admin_client, room, use_day):
    response = admin_client.post(
        add_url(Closure), {"facility": room.facility.pk, "room": "", "date": use_day.isoformat(), "reason": "設備点検"}
    )

    assert response.status_code == 302
    closure = Closure.objects.get()
    assert (closure.facility, closure.date, closure.reason) == (room.facility, use_day, "設備点検")


def test_second_closure_of_the_same_day_is_refused(admin_client, room, use_day):
    closure_create(facility=room.facility, date=use_day, reason="設備点検")
    response = admin_client.post(
        add_url(Closure), {"facility": room.facility.pk, "room": "", "date": use_day.isoformat(), "reason": "別の理由"}
    )
    assert response.status_code == 200
    assert Closure.objects.get().reason == "設備点検"


# --- reservations: counter cancellation and staff blocks ---------------------------------------------


def test_cancel_action_cancels_and_frees_the_slot(admin_client, admin_user, room, use_day):
    reservation = book(room, use_day, "am", "pm")

    response = run_action(admin_client, Reservation, "cancel_at_counter", [reservation])

    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_channel == Channel.COUNTER
    assert reservation.cancelled_by == admin_user
    assert not Occupancy.objects.filter(reservation=reservation).exists()
    assert "1件の予約を取り消しました。" in response.content.decode()
    # The slot is free again.
    block_create(
        room_id=room.pk,
        date=use_day,
        band_ids=[band(room.facility, "am").pk],
        note="",
        staff_user=admin_user,
        now=timezone.now(),
    )


def test_cancel_action_reports_what_the_service_refuses(admin_client, room, use_day):
    reservation = book(room, use_day, "am")
    run_action(admin_client, Reservation, "cancel_at_counter", [reservation])

    response = run_action(admin_client, Reservation, "cancel_at_counter", [reservation])

    assert "この予約はすでに取り消されています。" in response.content.decode()


def block_form(room: Room, day: dt.date, first: str, last: str) -> dict[str, object]:
    return {
        "room": room.pk,
        "date": day.isoformat(),
        "band_from": band(room.facility, first).pk,
        "band_to": band(room.facility, last).pk,
        "note": "区主催講座",
    }


def test_block_created_in_the_admin_takes_the_slot(admin_client, admin_user, room, use_day):
    response = admin_client.post(add_url(Reservation), block_form(room, use_day, "am", "pm"))

    assert response.status_code == 302
    block = Reservation.objects.get()
    assert block.kind == ReservationKind.BLOCK
    assert block.state == ReservationState.CONFIRMED
    assert block.booked_by == admin_user
    assert block.note == "区主催講座"
    assert Occupancy.objects.filter(reservation=block).count() == 2
    with pytest.raises(SlotTaken):
        book(room, use_day, "pm")


def test_block_on_a_taken_slot_is_refused_on_the_form(admin_client, room, use_day):
    book(room, use_day, "pm")

    response = admin_client.post(add_url(Reservation), block_form(room, use_day, "am", "pm"))

    assert response.status_code == 200
    assert "この枠にはすでに予約または公用の登録があります。" in response.content.decode()
    assert Reservation.objects.filter(kind=ReservationKind.BLOCK).count() == 0


def test_block_with_bands_of_another_facility_is_refused(admin_client, room, use_day):
    other = FacilityFactory()
    data = {**block_form(room, use_day, "am", "am"), "band_to": band(other, "pm").pk}
    response = admin_client.post(add_url(Reservation), data)
    assert response.status_code == 200
    assert "時間帯は室場と同じ施設のものを選んでください。" in response.content.decode()
    assert Reservation.objects.count() == 0


def test_reservations_cannot_be_deleted_or_edited(admin_client, room, use_day):
    reservation = book(room, use_day, "am")
    assert admin_client.get(reverse("admin:reservations_reservation_delete", args=[reservation.pk])).status_code == 403
    admin_client.post(reverse("admin:reservations_reservation_change", args=[reservation.pk]), {"note": "x"})
    reservation.refresh_from_db()
    assert reservation.note == ""


def test_staff_without_permissions_cannot_open_the_admin(client):
    staff_client(StaffFactory(), client)
    assert client.get(changelist(Reservation)).status_code == 403
