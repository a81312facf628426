"""lottery/domain.py: the pure draw. A χ² test of uniformity, hypothesis properties, golden results."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery import domain
from lottery.domain import Entry, Outcome, Reason, Rules

TOKYO = domain.TOKYO
SEED = bytes(range(32))
# χ² critical values at p = 0.001 (df = k - 1): a fair draw exceeds them once in a thousand runs, and
# the seeds below are fixed, so the test is deterministic.
CHI2_CRITICAL_0_001 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 6: 22.46, 9: 27.88}


def seeds(count: int, label: str = "") -> list[bytes]:
    return [hashlib.sha256(f"{label}seed-{i}".encode()).digest() for i in range(count)]


def one_slot(k: int) -> list[Entry]:
    return [Entry(a, 1, "hall/2027-01-09/ev", ("hall/2027-01-09/ev",)) for a in range(k)]


def chi_squared(observed: list[int], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def win_counts(k: int, draws: int, tickets: list[int] | None = None) -> list[int]:
    wins = [0] * k
    for seed in seeds(draws, f"k{k}"):
        result = domain.draw(seed, one_slot(k), Rules(max_wins=1, runner_ups=0), tickets)
        (winner,) = [i for i, r in enumerate(result.results) if r.outcome is Outcome.WON]
        wins[winner] += 1
    return wins


# --- uniformity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 5, 10])
def test_k_equal_applicants_for_one_slot_each_win_about_one_in_k(k: int) -> None:
    draws = 4000
    wins = win_counts(k, draws)
    assert sum(wins) == draws
    statistic = chi_squared(wins, [draws / k] * k)
    assert statistic < CHI2_CRITICAL_0_001[k - 1], (wins, statistic)


def test_the_chi_squared_check_rejects_a_biased_draw() -> None:
    """The check above can fail: the same test on a draw that favours applicant 0 a little."""
    k, draws = 5, 4000
    biased = win_counts(k, draws)
    biased[0] += 150
    biased[1] -= 150
    assert chi_squared(biased, [draws / k] * k) > CHI2_CRITICAL_0_001[k - 1]


def test_draw_positions_are_uniform_for_every_applicant() -> None:
    """Each of 4 applicants is first in the draw order about a quarter of the time."""
    first = Counter(domain.draw_order(seed, 4)[0] for seed in seeds(4000, "order"))
    observed = [first[a] for a in range(4)]
    assert chi_squared(observed, [1000.0] * 4) < CHI2_CRITICAL_0_001[3], observed


def test_two_tickets_beat_one_about_two_times_in_three() -> None:
    wins = win_counts(2, 3000, tickets=[2, 1])
    assert chi_squared(wins, [2000.0, 1000.0]) < CHI2_CRITICAL_0_001[1], wins


def test_the_optional_bonus_is_bounded() -> None:
    assert domain.loser_tickets(0) == 1
    assert domain.loser_tickets(1) == 2
    assert domain.loser_tickets(9) == 2
    assert domain.loser_tickets(9, max_bonus=2) == 3


# --- properties -----------------------------------------------------------------------------------

SLOTS: dict[str, tuple[str, ...]] = {
    # A divisible gym: the whole covers both halves' cells; spans overlap on the hall.
    "gym/am": ("gym-a/am", "gym-b/am"),
    "gym-a/am": ("gym-a/am",),
    "gym-b/am": ("gym-b/am",),
    "hall/am": ("hall/am",),
    "hall/pm": ("hall/pm",),
    "hall/am+pm": ("hall/am", "hall/pm"),
    "hall/ev": ("hall/ev",),
    "room/ev": ("room/ev",),
}


@st.composite
def draws(draw: st.DrawFn) -> tuple[bytes, list[Entry], Rules]:
    applicants = draw(st.integers(min_value=1, max_value=9))
    entries: list[Entry] = []
    for applicant in range(applicants):
        wanted = draw(st.lists(st.sampled_from(sorted(SLOTS)), min_size=1, max_size=5, unique=True))
        entries += [Entry(applicant, rank, slot, SLOTS[slot]) for rank, slot in enumerate(wanted, start=1)]
    rules = Rules(max_wins=draw(st.integers(min_value=1, max_value=3)), runner_ups=draw(st.integers(0, 3)))
    return draw(st.binary(min_size=32, max_size=32)), entries, rules


def turn(result: domain.EntryResult, stride: int) -> int:
    assert result.turn_pass is not None and result.turn_position is not None
    return result.turn_pass * stride + result.turn_position


@settings(max_examples=300)
@given(draws())
def test_caps_never_exceeded_and_no_cell_allocated_twice(case: tuple[bytes, list[Entry], Rules]) -> None:
    seed, entries, rules = case
    result = domain.draw(seed, entries, rules)
    wins: Counter[int] = Counter()
    held: set[object] = set()
    for entry, outcome in zip(entries, result.results, strict=True):
        if outcome.outcome is Outcome.WON:
            wins[entry.applicant] += 1
            assert not held & set(entry.cells), "a cell was allocated twice"
            held |= set(entry.cells)
    assert all(n <= rules.max_wins for n in wins.values())
    assert domain.draw(seed, entries, rules) == result  # deterministic


@settings(max_examples=300)
@given(draws())
def test_a_winners_better_ranked_slot_always_went_to_an_earlier_turn(case: tuple[bytes, list[Entry], Rules]) -> None:
    seed, entries, rules = case
    result = domain.draw(seed, entries, rules)
    stride = len(result.order) + 1
    taken_at: dict[object, int] = {}
    for entry, outcome in zip(entries, result.results, strict=True):
        if outcome.outcome is Outcome.WON:
            for cell in entry.cells:
                taken_at[cell] = turn(outcome, stride)
    by_applicant: dict[int, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        by_applicant[entry.applicant].append(index)
    for indices in by_applicant.values():
        for index in indices:
            won = result.results[index]
            if won.outcome is not Outcome.WON:
                continue
            for better in indices:
                if entries[better].rank >= entries[index].rank:
                    continue
                other = result.results[better]
                if other.outcome is Outcome.WON:
                    assert turn(other, stride) < turn(won, stride)
                else:
                    # Blocked: some cell of it was taken at an earlier turn, which the reason names.
                    assert other.reason is Reason.TAKEN
                    earliest = min(taken_at[c] for c in entries[better].cells if c in taken_at)
                    assert turn(other, stride) == earliest < turn(won, stride)


@settings(max_examples=300)
@given(draws())
def test_reasons_runner_ups_and_counts_are_consistent(case: tuple[bytes, list[Entry], Rules]) -> None:
    seed, entries, rules = case
    result = domain.draw(seed, entries, rules)
    wins = Counter(e.applicant for e, r in zip(entries, result.results, strict=True) if r.outcome is Outcome.WON)
    per_slot = Counter(e.slot for e in entries)
    won_slots = {e.slot for e, r in zip(entries, result.results, strict=True) if r.outcome is Outcome.WON}
    runner_ups: dict[str, list[domain.EntryResult]] = defaultdict(list)
    for entry, outcome in zip(entries, result.results, strict=True):
        assert outcome.competitors == per_slot[entry.slot]
        assert outcome.position == result.order.index(entry.applicant) + 1
        if outcome.reason is Reason.CAP:
            assert wins[entry.applicant] == rules.max_wins
        if outcome.outcome is Outcome.RUNNER_UP:
            assert entry.slot in won_slots
            runner_ups[entry.slot].append(outcome)
    for slot, listed in runner_ups.items():
        assert len(listed) <= rules.runner_ups
        assert sorted(r.runner_up_rank or 0 for r in listed) == list(range(1, len(listed) + 1))
        by_rank = sorted(listed, key=lambda r: r.runner_up_rank or 0)
        assert [r.position for r in by_rank] == sorted(r.position for r in listed), slot


@settings(max_examples=100)
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=1, max_value=30))
def test_with_one_slot_per_applicant_exactly_one_wins_each_slot(seed: bytes, k: int) -> None:
    result = domain.draw(seed, one_slot(k), Rules(max_wins=1, runner_ups=2))
    outcomes = Counter(r.outcome for r in result.results)
    assert outcomes[Outcome.WON] == 1
    assert outcomes[Outcome.RUNNER_UP] == min(2, k - 1)
    winner = next(r for r in result.results if r.outcome is Outcome.WON)
    assert winner.position == 1  # the first in the draw order takes it


# --- golden results -------------------------------------------------------------------------------

GOLDEN_ENTRIES = [
    Entry(0, 1, "hall/01-09/ev", ("hall/01-09/ev",)),
    Entry(0, 2, "hall/01-10/ev", ("hall/01-10/ev",)),
    Entry(1, 1, "hall/01-09/ev", ("hall/01-09/ev",)),
    Entry(1, 2, "gym/01-09/am", ("gym-a/01-09/am", "gym-b/01-09/am")),
    Entry(2, 1, "gym-a/01-09/am", ("gym-a/01-09/am",)),
    Entry(2, 2, "hall/01-10/ev", ("hall/01-10/ev",)),
    Entry(3, 1, "hall/01-09/ev", ("hall/01-09/ev",)),
    Entry(3, 2, "hall/01-10/ev", ("hall/01-10/ev",)),
    Entry(3, 3, "gym-a/01-09/am", ("gym-a/01-09/am",)),
]


@pytest.mark.smoke
def test_golden_result_for_a_fixed_seed() -> None:
    """A change here changes every published draw: only with a new ALGORITHM version."""
    result = domain.draw(SEED, GOLDEN_ENTRIES, Rules(max_wins=1, runner_ups=2))
    assert result.order == [1, 2, 0, 3]
    assert domain.draw_order(SEED, 6) == [5, 4, 1, 2, 0, 3]
    assert [(r.outcome.value, r.reason.value, r.position, r.competitors, r.runner_up_rank) for r in result.results] == [
        ("runner_up", "taken", 3, 3, 1),
        ("won", "won", 3, 3, None),
        ("won", "won", 1, 3, None),
        ("lost", "cap", 1, 1, None),  # applicant 1 reached its cap (1) before the gym-a half was taken
        ("won", "won", 2, 2, None),
        ("runner_up", "cap", 2, 3, 1),
        ("runner_up", "taken", 4, 3, 2),
        ("runner_up", "taken", 4, 3, 2),
        ("runner_up", "taken", 4, 2, 1),
    ]
    assert [(r.turn_pass, r.turn_position) for r in result.results if r.outcome is Outcome.WON] == [
        (1, 3),
        (1, 1),
        (1, 2),
    ]
    assert result.digest() == "549cdcab7ffcc66a155757673d0eb75357624c4a068c2ba6ebe45ca4a6b28861"
    assert domain.seed_commitment(SEED) == hashlib.sha256(SEED).hexdigest()


def test_passes_give_second_choices_after_everyone_had_a_first() -> None:
    """Two slots, two applicants wanting both: each gets one (the second pass finds one taken)."""
    entries = [
        Entry(0, 1, "a", ("a",)),
        Entry(0, 2, "b", ("b",)),
        Entry(1, 1, "a", ("a",)),
        Entry(1, 2, "b", ("b",)),
    ]
    result = domain.draw(SEED, entries, Rules(max_wins=2, runner_ups=0))
    assert Counter(r.outcome for r in result.results) == Counter({Outcome.WON: 2, Outcome.LOST: 2})
    first, second = result.order
    won_by = {e.slot: e.applicant for e, r in zip(entries, result.results, strict=True) if r.outcome is Outcome.WON}
    assert won_by == {"a": first, "b": second}
    assert result.passes == 2


# --- canonical list, documents, calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        [Entry(1, 1, "a", ("a",))],  # applicants start at 0
        [Entry(0, 2, "a", ("a",))],  # ranks start at 1
        [Entry(0, 1, "a", ("a",)), Entry(0, 2, "a", ("a",))],  # one slot twice
        [Entry(1, 1, "a", ("a",)), Entry(0, 1, "b", ("b",))],  # not sorted
        [Entry(0, 1, "a", ())],  # no cells
    ],
)
def test_a_list_that_is_not_canonical_is_refused(entries: list[Entry]) -> None:
    with pytest.raises(domain.InvalidEntries):
        domain.draw(SEED, entries, Rules())


def test_a_published_document_verifies_and_a_tampered_one_does_not() -> None:
    result = domain.draw(SEED, GOLDEN_ENTRIES, Rules(max_wins=1))
    document = domain.Document(
        seed=SEED,
        commitment=domain.seed_commitment(SEED),
        rules=Rules(max_wins=1),
        entries=GOLDEN_ENTRIES,
        results=result.results,
    )
    published = json.loads(json.dumps(document.as_json()))
    assert domain.verify_document(domain.document_from_json(published)).ok

    swapped = json.loads(json.dumps(published))
    swapped["results"][1], swapped["results"][2] = swapped["results"][2], swapped["results"][1]
    check = domain.verify_document(domain.document_from_json(swapped))
    assert not check.results_ok and check.mismatches == 2

    other_seed = json.loads(json.dumps(published))
    other_seed["seed"] = bytes(32).hex()
    assert not domain.verify_document(domain.document_from_json(other_seed)).commitment_ok


def test_default_calendar_is_the_monthly_cycle() -> None:
    cal = domain.round_calendar(dt.date(2027, 1, 1), domain.CalendarRules())
    assert cal.intake_opens_at == dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO)
    assert cal.intake_closes_at == dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=TOKYO)
    assert cal.draw_at == dt.datetime(2026, 11, 11, 9, 0, tzinfo=TOKYO)
    assert cal.confirm_by == dt.datetime(2026, 11, 17, 23, 59, 59, tzinfo=TOKYO)
    assert cal.release_at == dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=TOKYO)
    assert domain.intake_month(dt.date(2027, 2, 1), 2) == dt.date(2026, 12, 1)


def test_a_runner_up_deadline_ends_its_last_day_and_never_passes_release() -> None:
    release = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=TOKYO)
    offered = dt.datetime(2026, 11, 18, 0, 1, tzinfo=TOKYO)
    assert domain.runner_up_deadline(offered_at=offered, days=3, release_at=release) == dt.datetime(
        2026, 11, 21, 23, 59, 59, tzinfo=TOKYO
    )
    late = dt.datetime(2026, 11, 23, 12, 0, tzinfo=TOKYO)
    assert domain.runner_up_deadline(offered_at=late, days=3, release_at=release) == release
