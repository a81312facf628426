"""reservations/api.py (mounted at /api/v1/ by config/api.py): facilities, availability, my bookings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import translation

from reservations.domain import TOKYO
from reservations.errors import MESSAGES
from reservations.models import (
    Channel,
    Closure,
    Facility,
    FacilityKind,
    Occupancy,
    Purpose,
    Reservation,
    ReservationState,
    Resident,
    Room,
)
from reservations.services import reservation_create
from tests.cache import clear_test_cache
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_room

pytestmark = pytest.mark.django_db

API = "/api/v1"
USE_DAY = dt.date(2026, 12, 7)  # a Monday of December, whose first-come window opened 2026-11-01 09:00
SERVER_NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)


@pytest.fixture(autouse=True)
def server_clock() -> Iterator[None]:
    with time_machine.travel(SERVER_NOW, tick=False):
        yield


@pytest.fixture
def facility() -> Facility:
    return FacilityFactory(name="春日区民センター")


@pytest.fixture
def room(facility: Facility) -> Room:
    return make_room(facility, "r1")


@pytest.fixture
def resident() -> Resident:
    return ResidentFactory()


@pytest.fixture
def resident_client(client: Client, resident: Resident) -> Client:
    client.force_login(resident.user)
    return client


def band_ids(facility: Facility, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def book_directly(
    resident: Resident, room: Room, day: dt.date = USE_DAY, codes: tuple[str, ...] = ("am",)
) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=band_ids(room.facility, *codes),
        channel=Channel.WEB,
        booked_by=resident.user,
        now=SERVER_NOW,
    )


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def assert_error(response: Any, status: int | tuple[int, ...], code: str | None = None) -> dict[str, Any]:
    """Every error is JSON with a code and a non-empty human message."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content
    body = response.json()
    assert body["code"]
    assert body["message"].strip()
    if code is not None:
        assert body["code"] == code, body
    return body


# --- the schema ----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_openapi_schema_documents_every_endpoint(client: Client) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    expected = {
        ("/api/v1/facilities", "get"),
        ("/api/v1/facilities/{facility_id}", "get"),
        ("/api/v1/facilities/{facility_id}/rooms", "get"),
        ("/api/v1/facilities/{facility_id}/availability", "get"),
        ("/api/v1/me/bookings", "get"),
        ("/api/v1/me/bookings", "post"),
        ("/api/v1/me/bookings/{booking_id}/cancel", "post"),
    }
    assert {(p, m) for p, ops in paths.items() for m in ops} >= expected
    error_ref = "#/components/schemas/ErrorOut"
    for path, method in expected:
        operation = paths[path][method]
        assert operation["summary"] and operation["tags"], (path, method)
        responses = operation["responses"]
        assert responses["400"]["content"]["application/json"]["schema"]["$ref"] == error_ref
        if path.startswith("/api/v1/me/"):
            assert operation["security"] == [{"SessionAuth": []}]
            for status in ("401", "403"):
                assert responses[status]["content"]["application/json"]["schema"]["$ref"] == error_ref
    create = paths["/api/v1/me/bookings"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(create)
    assert set(schema["components"]["schemas"]["ErrorOut"]["required"]) == {"code", "message"}


# --- facilities ----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_facility_list_and_filters(client: Client) -> None:
    meeting = Purpose.objects.create(code="meeting", name="会議")
    table_tennis = Purpose.objects.create(code="table-tennis", name="卓球")
    hall = FacilityFactory(kind=FacilityKind.COMMUNITY)
    make_room(hall, "small", capacity=20, purposes=[meeting])
    make_room(hall, "large", capacity=80, purposes=[meeting])
    gym = FacilityFactory(kind=FacilityKind.SPORTS)
    make_room(gym, "arena", capacity=200, purposes=[table_tennis])
    FacilityFactory(kind=FacilityKind.COMMUNITY, is_active=False)

    everything = client.get(f"{API}/facilities").json()
    assert [f["id"] for f in everything] == [hall.pk, gym.pk]
    first = everything[0]
    assert first["kind"] == "community" and first["kind_label"] == "集会施設"
    assert first["department"] == hall.department.name and first["matching_rooms"] == 2
    assert {"code", "name", "address", "accessibility"} <= set(first)

    assert [f["id"] for f in client.get(f"{API}/facilities", {"kind": "sports"}).json()] == [gym.pk]
    assert [f["id"] for f in client.get(f"{API}/facilities", {"purpose": "table-tennis"}).json()] == [gym.pk]
    by_capacity = client.get(f"{API}/facilities", {"purpose": "meeting", "min_capacity": 50}).json()
    assert [(f["id"], f["matching_rooms"]) for f in by_capacity] == [(hall.pk, 1)]
    assert_error(client.get(f"{API}/facilities", {"kind": "casino"}), 400, "invalid")
    # Not a purpose code at all (a NUL byte would otherwise reach PostgreSQL, which refuses it: 500).
    for junk in ["\x00", "meeting\x00", "会議", "a b", "x" * 51]:
        assert_error(client.get(f"{API}/facilities", {"purpose": junk}), 400, "invalid")


def test_facility_detail_and_rooms(client: Client, facility: Facility) -> None:
    meeting = Purpose.objects.create(code="meeting", name="会議")
    room = make_room(facility, "r1", capacity=24, purposes=[meeting])
    Room.objects.filter(pk=room.pk).update(equipment=["ホワイトボード"])
    Room.objects.filter(pk=make_room(facility, "closed-for-good").pk).update(is_active=False)

    detail = client.get(f"{API}/facilities/{facility.pk}").json()
    assert detail["id"] == facility.pk and detail["name"] == "春日区民センター"
    assert detail["opens_at"] == "09:00:00"
    assert [r["code"] for r in detail["rooms"]] == ["r1"]
    assert detail["rooms"][0] == {
        "id": room.pk,
        "code": "r1",
        "name": "室場r1",
        "capacity": 24,
        "area_m2": None,
        "equipment": ["ホワイトボード"],
        "purposes": [{"id": meeting.pk, "code": "meeting", "name": "会議"}],
        "units": ["r1"],
    }
    assert [(b["code"], b["starts_at"], b["ends_at"]) for b in detail["time_bands"]] == [
        ("am", "09:00:00", "12:00:00"),
        ("pm", "13:00:00", "17:00:00"),
        ("ev", "18:00:00", "21:30:00"),
    ]
    rooms = client.get(f"{API}/facilities/{facility.pk}/rooms").json()
    assert rooms == detail["rooms"]
    assert_error(client.get(f"{API}/facilities/999999"), 404, "unknown_facility")
    assert_error(client.get(f"{API}/facilities/999999/rooms"), 404, "unknown_facility")


# --- availability --------------------------------------------------------------------------------


def test_availability_shows_taken_closed_and_bookable(client: Client, facility: Facility, room: Room) -> None:
    book_directly(ResidentFactory(), room, codes=("am",))
    closed_day = USE_DAY + dt.timedelta(days=1)
    Closure.objects.create(facility=facility, date=closed_day, reason="設備点検")

    response = client.get(f"{API}/facilities/{facility.pk}/availability", {"from": "2026-12-07", "days": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["facility_id"] == facility.pk and body["start"] == "2026-12-07" and body["days"] == 2
    assert body["first_come_opens_at"] == {"2026-12": "2026-11-01T09:00:00+09:00"}
    bands = {b["code"]: b["id"] for b in body["time_bands"]}
    slots = {(s["room_id"], s["date"], s["band_id"]): (s["state"], s["bookable"]) for s in body["slots"]}
    assert len(slots) == 1 * 2 * 3
    assert slots[(room.pk, "2026-12-07", bands["am"])] == ("taken", False)
    assert slots[(room.pk, "2026-12-07", bands["pm"])] == ("free", True)
    assert {slots[(room.pk, "2026-12-08", b)] for b in bands.values()} == {("closed", False)}


def test_availability_free_but_not_yet_open_is_not_bookable(client: Client, facility: Facility, room: Room) -> None:
    body = client.get(f"{API}/facilities/{facility.pk}/availability", {"from": "2027-01-12", "days": 1}).json()
    assert body["first_come_opens_at"] == {"2027-01": "2026-12-01T09:00:00+09:00"}
    assert {(s["state"], s["bookable"]) for s in body["slots"]} == {("free", False)}


def test_availability_defaults_to_a_week_from_today_and_marks_the_past(
    client: Client, facility: Facility, room: Room
) -> None:
    body = client.get(f"{API}/facilities/{facility.pk}/availability").json()
    assert body["start"] == "2026-11-10" and body["days"] == 7
    today = [s["state"] for s in body["slots"] if s["date"] == "2026-11-10"]
    assert today == ["unavailable", "free", "free"]  # 09:00 has started at 10:00


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "bad_date"),
        ({"from": "tomorrow"}, "bad_date"),
        ({"from": "0001-01-01"}, "bad_date"),
        ({"from": "9999-12-31", "days": 2}, "bad_date"),
        ({"days": 0}, "invalid"),
        ({"days": 32}, "invalid"),
        ({"days": "a week"}, "invalid"),
    ],
)
def test_availability_bad_parameters_are_400_with_a_code(
    client: Client, facility: Facility, room: Room, params: dict[str, Any], code: str
) -> None:
    assert_error(client.get(f"{API}/facilities/{facility.pk}/availability", params), 400, code)


def test_invalid_parameters_list_the_fields_in_detail(client: Client, facility: Facility) -> None:
    response = client.get(f"{API}/facilities/{facility.pk}/availability", {"from": "2026-13-01", "days": 0})
    body = assert_error(response, 400, "invalid")  # several problems: the generic code, each one in detail
    assert {tuple(problem["loc"]) for problem in body["detail"]} == {("query", "from"), ("query", "days")}


def test_availability_unknown_facility_is_404(client: Client) -> None:
    assert_error(client.get(f"{API}/facilities/999999/availability"), 404, "unknown_facility")


def test_availability_query_count_is_constant_in_rooms_and_days(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    small = FacilityFactory()
    make_room(small, "only")
    large = FacilityFactory()
    for i in range(10):
        make_room(large, f"r{i}")
    for i in range(5):
        book_directly(ResidentFactory(), large.rooms.get(code=f"r{i}"), day=USE_DAY + dt.timedelta(days=i))
    Closure.objects.create(facility=large, date=USE_DAY + dt.timedelta(days=10), reason="点検")

    counts = []
    for facility, days in [(small, 1), (large, 1), (small, 31), (large, 31)]:
        clear_test_cache()  # count the cold path, the worst case
        with django_assert_max_num_queries(7) as captured:
            response = client.get(f"{API}/facilities/{facility.pk}/availability", {"from": "2026-12-01", "days": days})
        assert response.status_code == 200
        assert len(response.json()["slots"]) == facility.rooms.count() * days * 3
        counts.append(len(captured))
    assert len(set(counts)) == 1, counts


def test_error_messages_follow_the_request_language(client: Client) -> None:
    japanese = client.get(f"{API}/facilities/999999")
    assert japanese["Content-Language"] == "ja"
    assert japanese.json()["message"] == "指定された施設が見つかりません。"
    english = client.get(f"{API}/facilities/999999", headers={"Accept-Language": "en"})
    assert english["Content-Language"] == "en"
    with translation.override("en"):
        assert english.json()["message"] == str(MESSAGES["unknown_facility"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.get(f"{API}/facilities/999999")["Content-Language"] == "en"


# --- creating bookings ---------------------------------------------------------------------------


def booking_body(room: Room, day: str = "2026-12-07", codes: tuple[str, ...] = ("am", "pm")) -> dict[str, Any]:
    return {"room_id": room.pk, "date": day, "band_ids": band_ids(room.facility, *codes)}


def test_create_booking(resident_client: Client, resident: Resident, room: Room) -> None:
    response = post_json(resident_client, f"{API}/me/bookings", {**booking_body(room), "attendees": 12})
    assert response.status_code == 201, response.content
    body = response.json()
    reservation = Reservation.objects.get()
    assert body["id"] == reservation.pk and body["reference"] == reservation.reference
    assert reservation.resident == resident and reservation.booked_by == resident.user
    assert reservation.channel == Channel.WEB and body["channel"] == "web"
    assert body["state"] == ReservationState.PROVISIONAL and body["state_label"]
    assert body["kind"] == "first_come" and body["fee"] == 2400
    assert body["created_at"] == "2026-11-10T10:00:00+09:00"
    assert body["payment_deadline"] == "2026-11-17T23:59:59+09:00"
    assert body["facility"] == {"id": room.facility_id, "name": "春日区民センター"}
    assert body["room"]["id"] == room.pk and body["date"] == "2026-12-07" and body["attendees"] == 12
    assert (body["band_from"]["code"], body["band_to"]["code"]) == ("am", "pm")
    assert body["group"] is None and body["cancelled_at"] is None and body["commercial"] is False
    assert Occupancy.objects.filter(reservation=reservation).count() == 2


def test_create_booking_with_commercial_use_and_equipment(resident_client: Client, facility: Facility) -> None:
    hall = make_room(facility, "hall", equipment=[("マイク", 300), ("プロジェクター", 500)])
    ids = list(hall.equipment_items.order_by("pk").values_list("pk", flat=True))
    body = {**booking_body(hall), "commercial": True, "equipment_ids": ids}
    response = post_json(resident_client, f"{API}/me/bookings", body)
    assert response.status_code == 201, response.content
    assert response.json()["fee"] == 2400 + 1200 + 800 and response.json()["commercial"] is True
    reservation = Reservation.objects.get()
    assert reservation.commercial is True
    assert sorted(reservation.equipment_items.values_list("pk", flat=True)) == ids


def test_create_booking_with_another_rooms_equipment_is_400(
    resident_client: Client, facility: Facility, room: Room
) -> None:
    other = make_room(facility, "r2", equipment=[("ピアノ", 2000)])
    for ids in ([other.equipment_items.get().pk], [999999]):
        body = {**booking_body(room), "equipment_ids": ids}
        assert_error(post_json(resident_client, f"{API}/me/bookings", body), 400, "unknown_equipment")
    assert Reservation.objects.count() == 0 and Occupancy.objects.count() == 0


@pytest.mark.smoke
def test_same_slot_again_is_409_slot_taken(client: Client, room: Room) -> None:
    first, second = ResidentFactory(), ResidentFactory()
    client.force_login(first.user)
    assert post_json(client, f"{API}/me/bookings", booking_body(room)).status_code == 201
    client.force_login(second.user)
    assert_error(post_json(client, f"{API}/me/bookings", booking_body(room, codes=("pm",))), 409, "slot_taken")
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize(
    ("body_changes", "status", "code"),
    [
        ({"date": "2027-01-12"}, 409, "not_yet_open"),  # January opens 2026-12-01 09:00
        ({"date": "2026-11-01"}, 400, "past"),
        ({"band_codes": ("am", "ev")}, 400, "bad_span"),
        ({"room_id": 999999}, 404, "unknown_room"),
        ({"band_ids": [999999]}, 400, "unknown_band"),
        ({"attendees": 31}, 400, "over_capacity"),
        ({"group_id": 999999}, 404, "unknown_group"),
        ({"date": "2026-13-01"}, 400, "bad_date"),
        ({"band_ids": "x"}, 400, "invalid"),
        ({"band_ids": ["x"]}, 400, "invalid"),
        ({"band_ids": []}, 400, "invalid"),
        ({"room_id": "one"}, 400, "invalid"),
        ({"attendees": 0}, 400, "invalid"),
    ],
)
def test_refused_or_malformed_bookings_answer_with_a_code_and_write_nothing(
    resident_client: Client, room: Room, body_changes: dict[str, Any], status: int, code: str
) -> None:
    changes = dict(body_changes)
    body = booking_body(room, codes=changes.pop("band_codes", ("am", "pm")))
    body.update(changes)
    assert_error(post_json(resident_client, f"{API}/me/bookings", body), status, code)
    assert Reservation.objects.count() == 0 and Occupancy.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        "{}",
        '{"room_id": 1}',
        "not json at all",
        "[1, 2, 3]",
        "",
    ],
)
def test_missing_fields_and_broken_json_are_4xx_with_a_code(resident_client: Client, room: Room, raw: str) -> None:
    response = resident_client.post(f"{API}/me/bookings", data=raw, content_type="application/json")
    assert_error(response, (400, 422))
    assert Reservation.objects.count() == 0


def test_group_booking_needs_membership(client: Client, room: Room) -> None:
    group = GroupFactory()
    outsider = ResidentFactory()
    client.force_login(outsider.user)
    assert_error(
        post_json(client, f"{API}/me/bookings", {**booking_body(room), "group_id": group.pk}), 403, "not_group_member"
    )
    assert Reservation.objects.count() == 0

    client.force_login(group.representative.user)
    response = post_json(client, f"{API}/me/bookings", {**booking_body(room), "group_id": group.pk})
    assert response.status_code == 201
    assert response.json()["group"] == {"id": group.pk, "name": group.name}


# --- authentication and CSRF ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/me/bookings"), ("post", "/me/bookings"), ("post", "/me/bookings/1/cancel")],
)
def test_anonymous_is_401(client: Client, room: Room, method: str, path: str) -> None:
    if method == "get":
        response = client.get(f"{API}{path}")
    else:
        response = post_json(client, f"{API}{path}", booking_body(room))
    assert_error(response, 401, "not_authenticated")
    assert Reservation.objects.count() == 0


def test_post_without_csrf_token_is_403(resident: Resident, room: Room) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident.user)
    assert_error(post_json(client, f"{API}/me/bookings", booking_body(room)), 403, "csrf_failed")
    assert Reservation.objects.count() == 0

    # The same request with a token goes through, so the 403 above was the CSRF check.
    token = "A" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    response = client.post(
        f"{API}/me/bookings",
        data=json.dumps(booking_body(room)),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.content


def test_staff_without_a_resident_record_get_403(client: Client, room: Room) -> None:
    client.force_login(StaffFactory())
    assert_error(client.get(f"{API}/me/bookings"), 403, "not_a_resident")
    assert_error(post_json(client, f"{API}/me/bookings", booking_body(room)), 403, "not_a_resident")
    assert Reservation.objects.count() == 0


# --- my bookings and cancelling ------------------------------------------------------------------


def test_my_bookings_lists_only_mine(resident_client: Client, resident: Resident, room: Room) -> None:
    mine = book_directly(resident, room, codes=("am",))
    book_directly(ResidentFactory(), room, codes=("pm",))
    past = Reservation.objects.create(
        reference="PAST000001",
        kind=mine.kind,
        state=ReservationState.CONFIRMED,
        resident=resident,
        room=room,
        date=dt.date(2026, 10, 5),
        band_from=mine.band_from,
        band_to=mine.band_to,
        channel=Channel.COUNTER,
        booked_by=resident.user,
    )

    upcoming = resident_client.get(f"{API}/me/bookings").json()
    assert [b["id"] for b in upcoming] == [mine.pk]
    assert upcoming[0]["reference"] == mine.reference and upcoming[0]["room"]["id"] == room.pk
    assert upcoming[0]["created_at"] == "2026-11-10T10:00:00+09:00"  # read back from the database in UTC
    everything = resident_client.get(f"{API}/me/bookings", {"include_past": "true"}).json()
    assert [b["id"] for b in everything] == [past.pk, mine.pk]


def test_cancel_my_booking(resident_client: Client, resident: Resident, room: Room) -> None:
    reservation = book_directly(resident, room)
    response = resident_client.post(f"{API}/me/bookings/{reservation.pk}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == ReservationState.CANCELLED
    assert response.json()["cancelled_at"] == "2026-11-10T10:00:00+09:00"
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED and reservation.cancel_channel == Channel.WEB
    assert not Occupancy.objects.exists()
    assert_error(resident_client.post(f"{API}/me/bookings/{reservation.pk}/cancel"), 409, "already_ended")


def test_cancelling_someone_elses_booking_is_404_and_changes_nothing(resident_client: Client, room: Room) -> None:
    theirs = book_directly(ResidentFactory(), room)
    assert_error(resident_client.post(f"{API}/me/bookings/{theirs.pk}/cancel"), 404, "unknown_reservation")
    assert_error(resident_client.post(f"{API}/me/bookings/999999/cancel"), 404, "unknown_reservation")
    theirs.refresh_from_db()
    assert theirs.state == ReservationState.PROVISIONAL
    assert Occupancy.objects.filter(reservation=theirs).count() == 1


def test_malformed_path_parameter_is_400_with_a_code(client: Client) -> None:
    assert_error(client.get(f"{API}/facilities/not-a-number"), 400, "invalid")
    assert_error(client.post(f"{API}/me/bookings/abc/cancel"), 401)  # authentication comes first
