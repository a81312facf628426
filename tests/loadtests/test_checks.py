"""loadtests/checks.py and the hot-set planning of loadtests/bench.py, against the real test database.

The checks must catch what the rush benchmark exists to catch: a fabricated double answer, a silent
booking, a "taken" that was not true, a cell held twice. Bookings are made through the services,
as the app makes them."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import asdict

import pytest
from django.db import connection

from loadtests.bench import (
    ZipfPicker,
    build_hot_set,
    make_assignments,
    select_residents,
    slot_score,
    think_pause,
    use_month,
    window_settings,
)
from loadtests.checks import (
    ERROR,
    FREE,
    QUOTA,
    SUCCESS,
    TAKEN,
    Answer,
    check_failure_answers,
    check_no_double_occupancy,
    check_no_silent_bookings,
    check_opening_gate,
    check_success_answers,
    check_taken_answers,
    run_all,
)
from reservations.domain import TOKYO
from reservations.models import Channel, Facility, FacilityKind, Occupancy, Reservation, Resident, Room, TimeBand
from reservations.services import closure_create, reservation_cancel, reservation_create
from tests.factories import FacilityFactory, ResidentFactory, make_divisible_hall, make_room

USE_DAY = dt.date(2026, 12, 7)  # a Monday of the month whose window opened 2026-11-01 09:00 JST
MONTH = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)
LATER = NOW.timestamp() + 60  # when the answers arrive

pytestmark = pytest.mark.django_db


def _band(facility: Facility, code: str) -> TimeBand:
    return facility.time_bands.get(code=code)


def _book(
    resident: Resident, room: Room, code: str = "ev", day: dt.date = USE_DAY, now: dt.datetime = NOW
) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[_band(room.facility, code).pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=now,
    )


def _answer(
    resident: Resident,
    room: Room,
    kind: str,
    *,
    code: str = "ev",
    day: dt.date = USE_DAY,
    booking: Reservation | None = None,
    t: float = LATER,
    method: str = "POST",
) -> Answer:
    return Answer(
        resident_id=resident.pk,
        user_number=resident.user.user_number,
        room_id=room.pk,
        date=day.isoformat(),
        band_id=_band(room.facility, code).pk,
        method=method,
        kind=kind,
        status={SUCCESS: 302, FREE: 200, ERROR: 0}.get(kind, 409),
        t=t,
        code={TAKEN: "slot_taken", QUOTA: "quota"}.get(kind),
        booking_id=booking.pk if booking is not None else None,
    )


@pytest.fixture
def room() -> Room:
    return make_room(FacilityFactory(), "hall", capacity=80)


@pytest.fixture
def alice() -> Resident:
    return ResidentFactory()


@pytest.fixture
def bob() -> Resident:
    return ResidentFactory()


# --- Zipf picker and hot set --------------------------------------------------------------------


def test_zipf_picker_is_seeded_and_skewed_towards_the_top_ranks() -> None:
    picker = ZipfPicker(400, 1.1)
    draws = [picker.pick(random.Random(7)) for _ in range(3)]
    assert len(set(draws)) == 1  # same seed, same draw
    rng = random.Random(1)
    counts = Counter(picker.pick(rng) for _ in range(40_000))
    assert counts[0] > counts[1] > counts[9] > counts[99]
    expected_top = 40_000 * picker.weights[0] / picker.total
    assert abs(counts[0] - expected_top) < 0.1 * expected_top
    assert counts[0] / max(counts[99], 1) > 50  # 100^1.1 ≈ 158 in expectation


def test_zipf_picker_skips_excluded_ranks_and_says_when_none_is_left() -> None:
    picker = ZipfPicker(50, 1.1)
    rng = random.Random(3)
    exclude = set(range(49))
    assert {picker.pick(rng, exclude) for _ in range(20)} == {49}
    some = set(range(0, 50, 2))
    assert all(picker.pick(rng, some) % 2 == 1 for _ in range(200))
    assert picker.pick(rng, set(range(50))) is None
    assert ZipfPicker(0).pick(rng) is None


def test_slot_score_prefers_evenings_weekends_and_big_rooms() -> None:
    saturday, monday = dt.date(2026, 12, 5), dt.date(2026, 12, 7)
    evening, morning = dt.time(18, 0), dt.time(9, 0)
    assert slot_score(evening, monday, 30, holiday=False) > slot_score(morning, monday, 30, holiday=False)
    assert slot_score(morning, saturday, 30, holiday=True) > slot_score(morning, monday, 30, holiday=False)
    assert slot_score(evening, monday, 200, holiday=False) > slot_score(evening, monday, 12, holiday=False)


def test_hot_set_leaves_out_taken_closed_and_other_kinds_of_slot(alice: Resident) -> None:
    facility = FacilityFactory(kind=FacilityKind.SPORTS)
    whole, half_a, half_b = make_divisible_hall(facility)
    school = FacilityFactory(kind=FacilityKind.SCHOOL)
    make_room(school, "gym", capacity=500)
    inactive = make_room(facility, "old", capacity=300)
    inactive.is_active = False
    inactive.save()
    _book(alice, half_a, "ev")  # takes half A's cell, so the whole hall's too
    closed_day = dt.date(2026, 12, 8)
    closure_create(facility=facility, date=closed_day, reason="設備点検")

    with connection.cursor() as cursor:
        hot = build_hot_set(cursor, MONTH, size=100_000, seed=1)

    slots = {(s.room_id, s.date, s.band_id) for s in hot}
    ev = _band(facility, "ev").pk
    assert (half_a.pk, USE_DAY.isoformat(), ev) not in slots
    assert (whole.pk, USE_DAY.isoformat(), ev) not in slots
    assert (half_b.pk, USE_DAY.isoformat(), ev) in slots
    assert not any(s.date == closed_day.isoformat() for s in hot)
    assert {s.room_id for s in hot} == {whole.pk, half_a.pk, half_b.pk}  # no school, no inactive room
    assert len(hot) == 3 * 31 * 3 - 2 - 3 * 3  # rooms x days x bands, minus the taken, minus the closed day
    assert [s.rank for s in hot] == list(range(1, len(hot) + 1))
    assert hot == sorted(hot, key=lambda s: -s.score)
    top = hot[0]
    assert top.room_id == whole.pk and top.band_id == ev  # the biggest room, in the evening,
    assert dt.date.fromisoformat(top.date).weekday() >= 5  # on a weekend (no holiday in Dec 1-28)

    with connection.cursor() as cursor:
        assert build_hot_set(cursor, MONTH, size=10, seed=1) == hot[:10]
        again = build_hot_set(cursor, MONTH, size=100_000, seed=1)
    assert again == hot  # seeded


def test_residents_are_active_without_bookings_and_never_the_demo_logins(room: Room, alice: Resident) -> None:
    _book(alice, room)
    demo = ResidentFactory(user__user_number="10000001")
    pending = ResidentFactory(status="pending")
    free = [ResidentFactory() for _ in range(3)]
    with connection.cursor() as cursor:
        picked = select_residents(cursor, 3, seed=1)
        assert {p[0] for p in picked} == {r.pk for r in free}
        assert demo.pk not in {p[0] for p in picked} and pending.pk not in {p[0] for p in picked}
        with pytest.raises(SystemExit):
            select_residents(cursor, 4, seed=1)


def test_assignments_are_seeded_with_five_percent_hammerers_waiting_before_t0() -> None:
    residents = [(i, str(10_000_100 + i)) for i in range(200)]
    first = make_assignments(residents, seed=1, gated=True)
    assert first == make_assignments(residents, seed=1, gated=True)
    hammerers = [a for a in first if a.hammerer]
    assert len(hammerers) == 10
    assert all(-2.0 <= a.arrival_offset <= -1.0 for a in hammerers)
    assert all(0.0 <= a.arrival_offset <= 10.0 and a.wants in (1, 2, 3) for a in first if not a.hammerer)
    ungated = make_assignments(residents, seed=1, gated=False)
    assert all(a.arrival_offset >= 0 for a in ungated)


def test_opening_window_falls_back_after_the_28th() -> None:
    t0 = dt.datetime(2026, 11, 21, 19, 44, 17, 500_000, tzinfo=TOKYO)
    assert window_settings(t0) == (21, dt.time(19, 44, 17), True)
    assert use_month(t0) == dt.date(2026, 12, 1)
    late = dt.datetime(2026, 12, 30, 9, 0, tzinfo=TOKYO)
    assert window_settings(late) == (28, dt.time(9, 0), False)
    assert use_month(late) == dt.date(2027, 1, 1)


# --- The correctness checks ---------------------------------------------------------------------


def test_a_clean_run_passes_every_check(room: Room, alice: Resident, bob: Resident) -> None:
    won = _book(alice, room)
    answers = [
        _answer(alice, room, FREE, method="GET", t=NOW.timestamp() + 1),
        _answer(alice, room, SUCCESS, booking=won),
        _answer(bob, room, TAKEN),
        _answer(bob, room, TAKEN, method="GET"),
        _answer(bob, room, QUOTA, code="am"),
        _answer(bob, room, ERROR, code="pm"),
    ]
    with connection.cursor() as cursor:
        results = run_all(
            cursor, answers, resident_ids=[alice.pk, bob.pk], month=MONTH, t0=NOW.timestamp() - 1, gated=True
        )
    assert [r.key for r in results] == list("abcdef")
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    assert {r.key: r.checked for r in results}["b"] == 1


def test_a_fabricated_double_answer_is_detected(room: Room, alice: Resident, bob: Resident) -> None:
    won = _book(alice, room)
    double = [_answer(alice, room, SUCCESS, booking=won), _answer(alice, room, SUCCESS, booking=won)]
    with connection.cursor() as cursor:
        b = check_success_answers(cursor, double)
        c = check_no_silent_bookings(cursor, double, [alice.pk])
    assert not b.passed and "several answers" in b.samples[0]["problem"]
    assert not c.passed and c.samples[0]["success_answers"] == 2


def test_success_answers_must_name_an_active_booking_of_that_resident_for_that_slot(
    room: Room, alice: Resident, bob: Resident
) -> None:
    alices = _book(alice, room)
    other_day = _book(alice, room, day=USE_DAY + dt.timedelta(days=1))
    cancelled = _book(alice, room, "am")
    reservation_cancel(reservation_id=cancelled.pk, resident=alice, cancelled_by=alice.user, channel="web", now=NOW)
    wrong = [
        _answer(bob, room, SUCCESS, booking=alices),  # someone else's booking
        _answer(alice, room, SUCCESS, booking=cancelled, code="am"),  # not active
        _answer(alice, room, SUCCESS, booking=other_day),  # another date
        _answer(bob, room, SUCCESS, booking=Reservation(pk=999_999)),  # no such booking
    ]
    with connection.cursor() as cursor:
        result = check_success_answers(cursor, wrong)
    problems = sorted(s["problem"] for s in result.samples)
    assert result.violations == 4
    assert problems == sorted(
        [
            "booking does not cover that room/date/band",
            "booking is cancelled",
            f"booking belongs to resident {alice.pk}",
            "no such booking",
        ]
    )


def test_a_silent_booking_is_detected(room: Room, alice: Resident) -> None:
    _book(alice, room)
    with connection.cursor() as cursor:
        result = check_no_silent_bookings(cursor, [], [alice.pk])
    assert not result.passed and result.samples[0]["problem"] == "silent booking (no success answer)"


def test_a_failure_answer_for_a_slot_the_resident_holds_is_detected(room: Room, alice: Resident) -> None:
    won = _book(alice, room)
    told_taken = [_answer(alice, room, TAKEN), _answer(alice, room, ERROR)]
    with connection.cursor() as cursor:
        assert check_failure_answers(cursor, told_taken).violations == 2
        # With a success answer for the same slot, an earlier "taken" on a retry is not a lie.
        assert check_failure_answers(cursor, [*told_taken, _answer(alice, room, SUCCESS, booking=won)]).passed


def test_a_taken_answer_for_a_free_slot_or_before_the_winner_is_detected(
    room: Room, alice: Resident, bob: Resident
) -> None:
    won = _book(alice, room)
    with connection.cursor() as cursor:
        assert check_taken_answers(cursor, [_answer(bob, room, TAKEN)]).passed
        free = check_taken_answers(cursor, [_answer(bob, room, TAKEN, code="am")])
        early = check_taken_answers(cursor, [_answer(bob, room, TAKEN, t=won.created_at.timestamp() - 5)])
    assert not free.passed and not early.passed


def test_a_taken_answer_for_the_other_half_of_a_divisible_hall_is_true(alice: Resident, bob: Resident) -> None:
    whole, half_a, _half_b = make_divisible_hall(FacilityFactory())
    _book(alice, half_a)
    with connection.cursor() as cursor:
        assert check_taken_answers(cursor, [_answer(bob, whole, TAKEN)]).passed


def test_a_cell_held_twice_is_detected(room: Room, alice: Resident) -> None:
    won = _book(alice, room)
    cell = Occupancy.objects.get(reservation=won)
    with connection.cursor() as cursor:
        assert check_no_double_occupancy(cursor, MONTH).passed
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: ALTER TABLE refuses them
        cursor.execute("ALTER TABLE reservations_occupancy DROP CONSTRAINT occupancy_unique_unit_date_band")
        Occupancy.objects.create(reservation=won, unit_id=cell.unit_id, date=cell.date, band_id=cell.band_id)
        result = check_no_double_occupancy(cursor, MONTH)
    assert not result.passed
    assert any(s.get("holders") == 2 for s in result.samples)


def test_an_active_booking_missing_its_cells_is_detected(room: Room, alice: Resident) -> None:
    won = _book(alice, room)
    Occupancy.objects.filter(reservation=won).delete()
    with connection.cursor() as cursor:
        result = check_no_double_occupancy(cursor, MONTH)
    assert not result.passed and result.samples[0]["booking_id"] == won.pk


def test_the_opening_gate_catches_bookings_and_free_pages_before_t0(room: Room, alice: Resident) -> None:
    won = _book(alice, room)
    t0 = won.created_at.timestamp() + 30
    answers = [
        _answer(alice, room, SUCCESS, booking=won, t=t0 + 1),
        _answer(alice, room, FREE, method="GET", code="am", t=t0 - 2),
    ]
    with connection.cursor() as cursor:
        gated = check_opening_gate(cursor, answers, [alice.pk], t0, gated=True)
        ungated = check_opening_gate(cursor, answers, [alice.pk], t0, gated=False)
    assert sorted(s["problem"] for s in gated.samples) == ["booked before T0", "offered before T0"]
    assert ungated.passed and ungated.note


def test_answers_round_trip_through_the_results_json(room: Room, alice: Resident) -> None:
    answer = _answer(alice, room, TAKEN)
    assert Answer.from_dict({**asdict(answer), "unknown": 1}) == answer


def test_people_pause_around_the_mean_think_time():
    rng = random.Random(7)
    pauses = [think_pause(rng, 2.0) for _ in range(4000)]
    assert min(pauses) >= 1.0 and max(pauses) <= 3.0
    assert abs(sum(pauses) / len(pauses) - 2.0) < 0.05
    assert think_pause(rng, 0.0) == 0.0
