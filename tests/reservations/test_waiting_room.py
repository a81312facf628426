"""The waiting room for the opening minute: places drawn at random within the arrival window,
arrival order after it, admission by place at a steady rate, nothing gained by hammering,
fail-open without Redis."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from reservations import domain, waiting_room
from tests.factories import FacilityFactory, ResidentFactory, make_room

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
OPENS = dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO)  # first-come for December 2026
ARRIVALS_END = OPENS + dt.timedelta(seconds=60)
ROOM_SETTINGS = {
    "WAITING_ROOM_ENABLED": True,
    "WAITING_ROOM_ARRIVAL_SECONDS": 60,
    "WAITING_ROOM_ADMIT_PER_SECOND": 2.0,
    "WAITING_ROOM_LEAD_SECONDS": 600,
}


@pytest.fixture(autouse=True)
def _room_on():
    waiting_room.forget_openings()
    with override_settings(**ROOM_SETTINGS):
        yield
    waiting_room.forget_openings()


@pytest.fixture
def room():
    return make_room(FacilityFactory(), "r1")


def book_url(room) -> str:
    band = room.facility.time_bands.get(code="am")
    return reverse("reservations:book", args=[room.pk, dt.date(2026, 12, 7)]) + f"?bands={band.pk}"


def visit(resident, url: str, at: dt.datetime):
    client = Client()
    client.force_login(resident.user)
    with time_machine.travel(at, tick=False):
        return client.get(url)


def queued(response) -> bool:
    return response.get("X-Waiting-Room") == "queued"


def test_before_opening_a_resident_draws_a_place_and_is_told_when(room):
    response = visit(ResidentFactory(), book_url(room), OPENS - dt.timedelta(seconds=30))
    assert response.status_code == 200 and queued(response)
    assert response["X-Queue-Position"] == "1"
    assert 1 <= int(response["Retry-After"]) <= 30
    assert "1番目" in response.text


def test_availability_stays_open_and_far_from_the_opening_nobody_waits(room):
    month = reverse("reservations:facility_month", args=[room.facility_id, 2026, 12])
    assert not queued(visit(ResidentFactory(), month, OPENS))
    assert not queued(visit(ResidentFactory(), book_url(room), OPENS - dt.timedelta(hours=2)))


def test_places_are_random_in_the_window_and_hammering_gains_nothing(room):
    residents = [ResidentFactory() for _ in range(30)]
    for i, resident in enumerate(residents):  # arriving over the first 50 seconds
        visit(resident, book_url(room), OPENS - dt.timedelta(seconds=5) + dt.timedelta(seconds=i * 50 / 30))

    hammerer = residents[-1]
    last_moment = ARRIVALS_END - dt.timedelta(milliseconds=1)  # everyone has arrived; nobody is in yet
    place = int(visit(hammerer, book_url(room), last_moment)["X-Queue-Position"])
    for _ in range(20):
        assert int(visit(hammerer, book_url(room), last_moment)["X-Queue-Position"]) == place

    # 2 places at the window's end, then 2 a second: at +5 s the 12 lowest places are in.
    at = ARRIVALS_END + dt.timedelta(seconds=5)
    admitted = [i for i, r in enumerate(residents) if not queued(visit(r, book_url(room), at))]
    assert len(admitted) == 12
    assert admitted != list(range(12)), "admitted in arrival order, not at random"


def test_following_retry_after_lets_each_place_in_on_time(room):
    residents = [ResidentFactory() for _ in range(8)]
    for resident in residents:
        visit(resident, book_url(room), OPENS)
    rules = waiting_room.rules()
    for resident in residents:
        at, rank = OPENS + dt.timedelta(seconds=20), None
        for _ in range(10):  # a browser that just follows the page's refresh
            answer = visit(resident, book_url(room), at)
            if not queued(answer):
                break
            rank = int(answer["X-Queue-Position"]) - 1 + domain.admitted_by(now=at, opens_at=OPENS, rules=rules)
            at += dt.timedelta(seconds=int(answer["Retry-After"]))
        assert not queued(answer)
        due = domain.admission_at(rank=rank, opens_at=OPENS, rules=rules)
        assert due <= at < due + dt.timedelta(seconds=1)  # let in within a second of its due time


def test_late_arrivals_queue_behind_every_drawn_place(room):
    drawn = [ResidentFactory() for _ in range(6)]
    for resident in drawn:
        visit(resident, book_url(room), OPENS + dt.timedelta(seconds=10))
    late = ResidentFactory()
    at = ARRIVALS_END + dt.timedelta(seconds=1)  # 2 + 1 x 2 = 4 admitted: 2 drawn places still wait
    response = visit(late, book_url(room), at)
    assert queued(response) and response["X-Queue-Position"] == "3"


def test_the_room_closes_when_every_place_is_in(room):
    resident = ResidentFactory()
    assert queued(visit(resident, book_url(room), OPENS - dt.timedelta(seconds=10)))
    assert not queued(visit(resident, book_url(room), ARRIVALS_END))
    assert not queued(visit(ResidentFactory(), book_url(room), ARRIVALS_END + dt.timedelta(minutes=5)))


def test_the_booking_api_is_gated_too(room):
    band = room.facility.time_bands.get(code="am")
    client = Client()
    client.force_login(ResidentFactory().user)
    with time_machine.travel(OPENS, tick=False):
        api = client.post(
            "/api/v1/me/bookings",
            {"room_id": room.pk, "date": "2026-12-07", "band_ids": [band.pk]},
            content_type="application/json",
        )
    assert api.status_code == 429 and queued(api)
    assert api.json()["code"] == "waiting_room" and api.json()["position"] == 1


def test_without_redis_the_room_fails_open(room):
    waiting_room._client.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
            response = visit(ResidentFactory(), book_url(room), OPENS - dt.timedelta(seconds=10))
    finally:
        waiting_room._client.cache_clear()
    assert not queued(response)


def test_turned_off_nobody_waits(room):
    with override_settings(WAITING_ROOM_ENABLED=False):
        assert not queued(visit(ResidentFactory(), book_url(room), OPENS - dt.timedelta(seconds=10)))


@given(
    rank=st.integers(min_value=0, max_value=100_000),
    rate=st.floats(min_value=0.5, max_value=500),
    arrival=st.integers(min_value=0, max_value=600),
)
def test_admission_time_and_admitted_count_agree(rank, rate, arrival):
    rules = domain.WaitingRoomRules(arrival_seconds=arrival, admit_per_second=rate)
    due = domain.admission_at(rank=rank, opens_at=OPENS, rules=rules)
    assert due >= domain.arrivals_end(OPENS, rules)
    assert domain.admitted_by(now=due, opens_at=OPENS, rules=rules) > rank
    assert domain.admission_at(rank=rank + 1, opens_at=OPENS, rules=rules) >= due
    late = domain.waiting_ticket(
        now=domain.arrivals_end(OPENS, rules) + dt.timedelta(seconds=1), opens_at=OPENS, rules=rules, draw=0.5
    )
    assert late > 1.0  # behind every drawn place
