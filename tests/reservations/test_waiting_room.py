"""The waiting room for the opening minute: places drawn at random within the arrival window,
arrival order after it, admission by place at a steady rate, nothing gained by hammering,
fail-open without Redis."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import signing
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


# --- The ticket: refreshes answered without the session or Redis --------------------------------

UNREACHABLE = "redis://127.0.0.1:1/0"


def logged_in(resident) -> Client:
    client = Client()
    client.force_login(resident.user)
    return client


def get(client: Client, url: str, at: dt.datetime):
    with time_machine.travel(at, tick=False):
        return client.get(url)


def test_a_queued_refresh_is_answered_from_the_ticket_alone(room, caplog):
    others = [ResidentFactory() for _ in range(3)]
    for other in others:
        visit(other, book_url(room), OPENS - dt.timedelta(seconds=20))
    client = logged_in(ResidentFactory())
    first = get(client, book_url(room), OPENS - dt.timedelta(seconds=10))
    assert queued(first) and waiting_room.TICKET_COOKIE in first.cookies

    waiting_room._client.cache_clear()
    try:
        with override_settings(REDIS_URL=UNREACHABLE):  # Redis is not even asked
            again = get(client, book_url(room), OPENS + dt.timedelta(seconds=5))
    finally:
        waiting_room._client.cache_clear()
    assert queued(again) and again["X-Queue-Position"] == first["X-Queue-Position"]
    assert int(again["Retry-After"]) <= 30 and f"{again['X-Queue-Position']}番目" in again.text
    assert f'content="{again["Retry-After"]}"' in again.text and "[[" not in again.text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = get(client, book_url(room), OPENS + dt.timedelta(seconds=6))
    assert queued(english) and english["X-Queue-Position"] in english.text and "[[" not in english.text
    assert "番目" not in english.text
    assert "Cookie" not in again.get("Vary", "")  # nor the session
    assert "Redis unreachable" not in caplog.text


def test_a_ticket_holds_only_the_session_it_was_given_to(room):
    drawn = [ResidentFactory() for _ in range(10)]
    for resident in drawn:
        visit(resident, book_url(room), OPENS + dt.timedelta(seconds=10))
    at = ARRIVALS_END + dt.timedelta(seconds=1)  # 4 places are in
    first_in = next(r for r in drawn if not queued(visit(r, book_url(room), at)))
    holder = logged_in(ResidentFactory())  # arrives late: behind all ten, queued until about +5 s
    answer = get(holder, book_url(room), at)
    assert queued(answer)
    ticket = answer.cookies[waiting_room.TICKET_COOKIE].value

    stranger = logged_in(first_in)
    stranger.cookies[waiting_room.TICKET_COOKIE] = ticket
    assert not queued(get(stranger, book_url(room), at))

    forger = logged_in(first_in)  # a "queued" ticket for their own session, signed with another key
    session = forger.cookies[settings.SESSION_COOKIE_NAME].value
    forged = waiting_room.Ticket(
        waiting_room.session_digest(session), first_in.user.pk, int(OPENS.timestamp()), 99, at.timestamp() + 60
    )
    payload = waiting_room.sign_ticket(forged).rsplit(":", 1)[0]
    forger.cookies[waiting_room.TICKET_COOKIE] = signing.Signer(
        key="not-the-secret", salt=waiting_room.TICKET_SALT
    ).sign(payload)
    assert not queued(get(forger, book_url(room), at))
    forger.cookies[waiting_room.TICKET_COOKIE] = waiting_room.sign_ticket(forged)  # the real key: held back
    assert queued(get(forger, book_url(room), at))


def follow_until_admitted(client: Client, url: str, start: dt.datetime, wait):
    """A browser that keeps its cookies and asks again after `wait(answer)` while queued: when it
    got in, when its place was due, and the queue answers it saw on the way."""
    rules = waiting_room.rules()
    at, seen = start, []
    for _ in range(20):
        answer = get(client, url, at)
        if not queued(answer):
            break
        seen.append((at, answer))
        at += wait(answer)
    assert not queued(answer)
    last_at, last = seen[-1]
    rank = int(last["X-Queue-Position"]) - 1 + domain.admitted_by(now=last_at, opens_at=OPENS, rules=rules)
    return at, domain.admission_at(rank=rank, opens_at=OPENS, rules=rules), [a for _, a in seen]


def test_following_retry_after_with_a_ticket_lets_each_place_in_on_time(room):
    clients = [logged_in(ResidentFactory()) for _ in range(8)]
    for client in clients:
        get(client, book_url(room), OPENS)
    for client in clients:
        at, due, _ = follow_until_admitted(
            client,
            book_url(room),
            OPENS + dt.timedelta(seconds=20),
            lambda a: dt.timedelta(seconds=int(a["Retry-After"])),
        )
        assert due <= at < due + dt.timedelta(seconds=1)


def test_an_admitted_ticket_skips_redis_but_not_the_next_opening(room, caplog):
    client = logged_in(ResidentFactory())
    get(client, book_url(room), OPENS - dt.timedelta(seconds=10))
    admitted = get(client, book_url(room), ARRIVALS_END)
    assert not queued(admitted) and waiting_room.TICKET_COOKIE in admitted.cookies

    waiting_room._client.cache_clear()
    try:
        with override_settings(REDIS_URL=UNREACHABLE):
            assert not queued(get(client, book_url(room), ARRIVALS_END + dt.timedelta(seconds=1)))
    finally:
        waiting_room._client.cache_clear()
    assert "Redis unreachable" not in caplog.text

    # A month later the next opening's room opens: the old ticket lets nobody skip its queue.
    next_opening = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)
    assert queued(get(client, book_url(room), next_opening - dt.timedelta(seconds=5)))


def test_following_the_page_script_lets_each_place_in_to_the_millisecond(room):
    clients = [logged_in(ResidentFactory()) for _ in range(6)]
    for client in clients:
        get(client, book_url(room), OPENS + dt.timedelta(milliseconds=300))
    for client in clients:  # a browser whose page reloads when static/js/waiting-room.js says
        at, due, answers = follow_until_admitted(
            client,
            book_url(room),
            OPENS + dt.timedelta(seconds=20, milliseconds=700),
            lambda a: dt.timedelta(milliseconds=int(a["X-Retry-After-Ms"])),
        )
        for answer in answers:
            assert f'data-refresh-ms="{answer["X-Retry-After-Ms"]}"' in answer.text
            assert int(answer["X-Retry-After-Ms"]) <= int(answer["Retry-After"]) * 1000
        assert due <= at < due + dt.timedelta(milliseconds=25)
