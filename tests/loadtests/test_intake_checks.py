"""The lottery intake checks of loadtests/checks.py (scenario (b)), against the real test database.

Entries are made through lottery.services, as the app makes them; the violations are fabricated
(a success answer naming no entry, a silent entry, an applicant over the cap, an entry made after
the close) and each must be caught."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from loadtests.checks import (
    ERROR,
    REFUSED,
    SUCCESS,
    IntakeAnswer,
    check_intake_entry_cap,
    check_intake_no_silent_entries,
    check_intake_success_answers,
    check_intake_window,
    run_intake_checks,
)
from loadtests.intake_plan import lottery_use_month, make_intake_assignments, refusal_text
from lottery import services
from lottery.models import LotteryEntry, LotteryRound
from reservations.domain import TOKYO
from reservations.models import Channel, Resident, Room
from tests.factories import FacilityFactory, ResidentFactory, make_room
from tests.lottery.conftest import INTAKE_NOW, USE_DAY, USE_MONTH, apply, band_ids, put_in_lottery

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO).timestamp()  # the default calendar's intake opening
LATER = INTAKE_NOW.timestamp() + 1


@pytest.fixture
def hall() -> Room:
    room = make_room(FacilityFactory(), "hall", capacity=200)
    put_in_lottery(room)
    return room


@pytest.fixture
def lottery_round(hall: Room) -> LotteryRound:
    return services.round_create(facility_group=hall.facility.group, use_month=USE_MONTH)


@pytest.fixture
def alice() -> Resident:
    return ResidentFactory()


@pytest.fixture
def bob() -> Resident:
    return ResidentFactory()


def _answer(
    resident: Resident,
    room: Room,
    lottery_round: LotteryRound,
    kind: str = SUCCESS,
    *,
    entry: LotteryEntry | None = None,
    day: dt.date = USE_DAY,
    code: str = "ev",
    method: str = "apply",
    sent: float = LATER - 0.2,
    t: float = LATER,
    entry_id: int | None = None,
) -> IntakeAnswer:
    return IntakeAnswer(
        resident_id=resident.pk,
        user_number=resident.user.user_number,
        round_id=lottery_round.pk,
        room_id=room.pk,
        date=day.isoformat(),
        band_id=band_ids(room.facility, code)[0],
        method=method,
        kind=kind,
        status={SUCCESS: 302, ERROR: 0}.get(kind, 409),
        sent=sent,
        t=t,
        code=None if kind == SUCCESS else "duplicate_entry",
        entry_id=entry.pk if entry is not None else entry_id,
    )


def test_true_answers_pass_every_check(hall: Room, lottery_round: LotteryRound, alice: Resident, bob: Resident) -> None:
    first = apply(alice, hall)
    second = apply(alice, hall, codes=("pm",))
    theirs = apply(bob, hall)
    services.entry_withdraw(entry_id=second.pk, resident=alice, channel=Channel.WEB, now=INTAKE_NOW)
    answers = [
        _answer(alice, hall, lottery_round, entry=first),
        _answer(alice, hall, lottery_round, code="pm"),  # the page showed no id: matched by slot
        _answer(alice, hall, lottery_round, code="pm", method="withdraw", entry=second),
        _answer(bob, hall, lottery_round, entry=theirs),
        _answer(bob, hall, lottery_round, REFUSED),  # duplicate: bob holds it, with a success answer too
    ]
    with connection.cursor() as cursor:
        results = run_intake_checks(
            cursor, answers, resident_ids=[alice.pk, bob.pk], round_ids=[lottery_round.pk], t0=T0
        )
    assert [(r.key, r.passed, r.violations) for r in results] == [
        ("i1", True, 0),
        ("i2", True, 0),
        ("i3", True, 0),
        ("i4", True, 0),
    ], [r.samples for r in results]
    assert results[0].checked == 4 and results[1].checked == 3


def test_success_answer_naming_no_entry_or_someone_elses_is_caught(
    hall: Room, lottery_round: LotteryRound, alice: Resident, bob: Resident
) -> None:
    theirs = apply(bob, hall)
    answers = [
        _answer(alice, hall, lottery_round, entry=theirs),  # bob's entry
        _answer(alice, hall, lottery_round, entry_id=999_999),  # no such entry
        _answer(alice, hall, lottery_round, code="pm"),  # no entry of alice's for that slot at all
        _answer(bob, hall, lottery_round, entry=theirs),
        _answer(bob, hall, lottery_round, entry=theirs),  # named twice
        _answer(bob, hall, lottery_round, method="withdraw", entry=theirs),  # but it is still active
    ]
    with connection.cursor() as cursor:
        result = check_intake_success_answers(cursor, answers)
    problems = sorted(v["problem"] for v in result.samples)
    assert not result.passed and result.violations == 5
    assert problems == sorted(
        [
            f"entry belongs to resident {bob.pk}",
            "no such entry",
            "no such entry",
            "withdraw answered, but the entry is active",
            "one entry named by several apply answers",
        ]
    )


def test_silent_entries_and_silent_withdrawals_are_caught(
    hall: Room, lottery_round: LotteryRound, alice: Resident, bob: Resident
) -> None:
    announced = apply(alice, hall)
    silent = apply(alice, hall, codes=("pm",))  # applied, but the answer said refused (or nothing)
    withdrawn = apply(bob, hall)
    services.entry_withdraw(entry_id=withdrawn.pk, resident=bob, channel=Channel.WEB, now=INTAKE_NOW)
    answers = [
        _answer(alice, hall, lottery_round, entry=announced),
        _answer(alice, hall, lottery_round, ERROR, code="pm"),
        _answer(bob, hall, lottery_round, entry=withdrawn),  # no withdraw answer
    ]
    with connection.cursor() as cursor:
        result = check_intake_no_silent_entries(cursor, answers, [alice.pk, bob.pk])
    assert not result.passed and result.checked == 3
    assert {(v["entry_id"], v["problem"]) for v in result.samples} == {
        (silent.pk, "silent entry (no apply success answer)"),
        (withdrawn.pk, "silent withdrawal (no withdraw success answer)"),
    }


def test_an_applicant_over_the_cap_is_caught(hall: Room, lottery_round: LotteryRound, alice: Resident) -> None:
    for day in (USE_DAY, USE_DAY + dt.timedelta(days=1), USE_DAY + dt.timedelta(days=2)):
        apply(alice, hall, day)
    with connection.cursor() as cursor:
        assert check_intake_entry_cap(cursor, [lottery_round.pk]).passed
        LotteryRound.objects.filter(pk=lottery_round.pk).update(max_entries=2)  # as if the cap had not held
        result = check_intake_entry_cap(cursor, [lottery_round.pk])
    assert not result.passed and result.samples[0]["active_entries"] == 3 and result.samples[0]["cap"] == 2


def test_entries_and_successes_outside_the_intake_window_are_caught(
    hall: Room, lottery_round: LotteryRound, alice: Resident, bob: Resident
) -> None:
    inside = apply(alice, hall)
    late = apply(bob, hall)
    close = lottery_round.intake_closes_at
    LotteryEntry.objects.filter(pk=late.pk).update(created_at=close + dt.timedelta(seconds=1))
    answers = [
        _answer(alice, hall, lottery_round, entry=inside),
        _answer(bob, hall, lottery_round, entry=late, sent=close.timestamp() + 0.5, t=close.timestamp() + 0.6),
        _answer(alice, hall, lottery_round, code="pm", sent=T0 - 2, t=T0 - 1),  # a success before T0
        _answer(bob, hall, lottery_round, REFUSED, sent=close.timestamp() + 1),  # refused after the close: fine
    ]
    with connection.cursor() as cursor:
        result = check_intake_window(cursor, answers, [alice.pk, bob.pk], T0)
    assert sorted(v["problem"] for v in result.samples) == [
        "entry made outside the intake window",
        "success before T0",
        "success to a request sent after the close",
    ]


def test_assignments_and_month() -> None:
    residents = [(i, str(10_000_100 + i)) for i in range(100)]
    plan = make_intake_assignments(residents, opening_users=80, opening_s=20, last_s=15, seed=1)
    assert plan == make_intake_assignments(residents, opening_users=80, opening_s=20, last_s=15, seed=1)
    opening = [a for a in plan if a.crowd == "opening"]
    last = [a for a in plan if a.crowd == "last_hour"]
    assert len(opening) == 80 and len(last) == 20
    assert all(1 <= a.wants <= 5 for a in opening) and all(1 <= a.wants <= 3 for a in last)
    assert all(20 <= a.arrival_offset < 35 for a in last) and any(a.after_close for a in last)
    assert all(a.arrival_offset < 0 for a in opening if a.early)
    assert lottery_use_month(dt.datetime(2026, 11, 21, 21, 0, tzinfo=TOKYO)) == dt.date(2027, 1, 1)
    assert lottery_use_month(dt.datetime(2026, 12, 31, 9, 0, tzinfo=TOKYO)) == dt.date(2027, 2, 1)
    assert refusal_text("<p>この抽選の申込受付は終了しました。</p>") == ("intake_closed", "body")
    assert refusal_text("<p>ok</p>") == (None, "status")
