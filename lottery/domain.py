"""The draw: a pure, deterministic function of (seed, canonical entry list, rules). No Django.

Anyone can recompute a published draw with this module alone (`verify_document`), so it imports
only the standard library.

**Canonical entry list.** Applicants are numbered 0..n-1 in a fixed order decided before the seed is
known (the service sorts them by kind and database id, individuals before groups); each entry names
its applicant by that number. Entries are listed sorted by (applicant, rank), rank 1 being the
applicant's first choice and ranks numbered 1..k without gaps. Each entry names its `slot` (room,
date and band span: what competitors and runner-ups are counted over) and the `cells` it occupies
((unit, date, band) keys: a whole hall's cells include its halves', so overlapping requests
conflict). `canonical_entries` checks all of this.

**Draw order.** Each applicant's draw key is the smallest of SHA-256(seed ‖ applicant ‖ ticket) over
its tickets (one ticket by default), read as a 256-bit integer; applicants are drawn in ascending
key order (ties, which never happen in practice, by applicant number). Sorting by independent
uniform keys is a uniformly random permutation, and with t tickets an applicant beats one with u
tickets with probability t/(t+u). The hash stream is portable: it needs nothing of Python's own
random generator. O(n log n) in all.

**Random serial dictatorship in passes.** In each pass, every applicant in draw order that is under
its win cap gets its best-ranked entry whose cells are all still free. Passes repeat until one
changes nothing. With one entry per applicant this is a uniform draw per slot. Cells are only ever
taken, never freed, so an entry found blocked stays blocked: each applicant's list is walked once,
and the whole draw is O(n log n) (the sorts) plus O(total cells) (the walk).

**Outcomes.** Every entry is won, runner-up or lost. A lost or runner-up entry says why: its slot
(or an overlapping one) was allocated at an earlier turn of the draw (`TAKEN`, with that turn's pass
and position), or the applicant reached its win cap first (`CAP`). For each won slot, the other
entries for that same slot, in draw order, are its runner-ups (次点) 1..`runner_ups`.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
ALGORITHM = "rsd-passes-sha256/1"
SEED_BYTES = 32


class Outcome(enum.Enum):
    WON = "won"
    RUNNER_UP = "runner_up"
    LOST = "lost"


class Reason(enum.Enum):
    WON = "won"
    TAKEN = "taken"  # the slot (or an overlapping one) went to an earlier turn of the draw
    CAP = "cap"  # the applicant had reached its win cap


@dataclass(frozen=True)
class Entry:
    applicant: int
    rank: int
    slot: str
    cells: tuple[Hashable, ...]


@dataclass(frozen=True)
class Rules:
    max_wins: int = 4
    runner_ups: int = 2


@dataclass(frozen=True)
class EntryResult:
    outcome: Outcome
    reason: Reason
    position: int  # the applicant's place in the draw order, 1-based
    competitors: int  # applicants who entered the same slot (including this one)
    turn_pass: int | None = None  # won: the pass it was allocated in; taken: the blocking turn's pass
    turn_position: int | None = None  # ... and that turn's applicant position
    runner_up_rank: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "reason": self.reason.value,
            "position": self.position,
            "competitors": self.competitors,
            "turn_pass": self.turn_pass,
            "turn_position": self.turn_position,
            "runner_up_rank": self.runner_up_rank,
        }


@dataclass(frozen=True)
class DrawResult:
    order: list[int]  # applicants in draw order
    results: list[EntryResult]  # aligned with the canonical entries
    passes: int

    def digest(self) -> str:
        return results_digest(self.results)


class InvalidEntries(ValueError):
    """The entry list is not canonical (order, ranks, applicants or duplicates)."""


def seed_commitment(seed: bytes) -> str:
    """The SHA-256 commitment published at close, before the draw: hex of SHA-256(seed)."""
    return hashlib.sha256(seed).hexdigest()


def results_digest(results: Iterable[EntryResult]) -> str:
    body = json.dumps([r.as_json() for r in results], separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def canonical_entries(entries: Iterable[Entry]) -> list[Entry]:
    """Check that `entries` is a canonical list (see the module docstring) and return it as a list."""
    listed = list(entries)
    expected_rank: dict[int, int] = {}
    slots: set[tuple[int, str]] = set()
    previous = -1
    for entry in listed:
        if entry.applicant < previous:
            raise InvalidEntries("entries must be sorted by applicant")
        if entry.applicant > previous + 1:
            raise InvalidEntries("applicants must be numbered 0..n-1 without gaps")
        if entry.rank != expected_rank.get(entry.applicant, 0) + 1:
            raise InvalidEntries("ranks must run 1..k in order for each applicant")
        if (entry.applicant, entry.slot) in slots:
            raise InvalidEntries("an applicant enters a slot at most once")
        if not entry.cells:
            raise InvalidEntries("an entry occupies at least one cell")
        slots.add((entry.applicant, entry.slot))
        expected_rank[entry.applicant] = entry.rank
        previous = entry.applicant
    return listed


def draw_order(seed: bytes, applicants: int, tickets: Sequence[int] | None = None) -> list[int]:
    """Applicants 0..applicants-1 in draw order (see the module docstring)."""
    if len(seed) != SEED_BYTES:
        raise ValueError("the seed is 256 bits")
    keyed: list[tuple[bytes, int]] = []
    for applicant in range(applicants):
        count = tickets[applicant] if tickets is not None else 1
        if count < 1:
            raise ValueError("every applicant holds at least one ticket")
        prefix = seed + applicant.to_bytes(4, "big")
        key = min(hashlib.sha256(prefix + t.to_bytes(2, "big")).digest() for t in range(count))
        keyed.append((key, applicant))
    keyed.sort()
    return [applicant for _key, applicant in keyed]


def draw(seed: bytes, entries: Sequence[Entry], rules: Rules, tickets: Sequence[int] | None = None) -> DrawResult:
    """Run the draw over a canonical entry list (see the module docstring)."""
    entries = canonical_entries(entries)
    applicants = entries[-1].applicant + 1 if entries else 0
    if tickets is not None and len(tickets) != applicants:
        raise ValueError("one ticket count per applicant")
    order = draw_order(seed, applicants, tickets)
    position = [0] * applicants
    for place, applicant in enumerate(order, start=1):
        position[applicant] = place

    lists: list[list[int]] = [[] for _ in range(applicants)]
    for index, entry in enumerate(entries):
        lists[entry.applicant].append(index)

    # turn = (pass, position) of each allocation, as one sortable integer: pass * (n+1) + position.
    stride = applicants + 1
    taken: dict[Hashable, int] = {}  # cell -> turn that took it
    won_turn: dict[int, int] = {}  # entry index -> its turn
    blocked_turn: dict[int, int] = {}  # entry index -> the earliest turn holding one of its cells
    capped_turn: dict[int, int] = {}  # applicant -> the turn its cap was reached
    wins = [0] * applicants
    pointer = [0] * applicants
    active = [a for a in order if lists[a]] if rules.max_wins > 0 else []
    passes = 0
    while active:
        passes += 1
        still: list[int] = []
        for applicant in active:
            mine, at = lists[applicant], pointer[applicant]
            while at < len(mine):
                cells = entries[mine[at]].cells
                holders = [taken[c] for c in cells if c in taken]
                if not holders:
                    break
                blocked_turn[mine[at]] = min(holders)
                at += 1
            if at == len(mine):
                pointer[applicant] = at
                continue
            index = mine[at]
            turn = passes * stride + position[applicant]
            for cell in entries[index].cells:
                taken[cell] = turn
            won_turn[index] = turn
            wins[applicant] += 1
            pointer[applicant] = at + 1
            if wins[applicant] >= rules.max_wins:
                capped_turn[applicant] = turn
            elif at + 1 < len(mine):
                still.append(applicant)
        active = still

    competitors = Counter(entry.slot for entry in entries)
    results: list[EntryResult] = []
    for index, entry in enumerate(entries):
        place = position[entry.applicant]
        if index in won_turn:
            turn = won_turn[index]
            results.append(
                EntryResult(Outcome.WON, Reason.WON, place, competitors[entry.slot], turn // stride, turn % stride)
            )
            continue
        block = blocked_turn.get(index)
        if block is None:
            # Never reached: the cap stopped the applicant; was the slot gone before that already?
            holders = [taken[c] for c in entry.cells if c in taken]
            cap = capped_turn.get(entry.applicant)
            if holders and (cap is None or min(holders) < cap):
                block = min(holders)
        if block is not None:
            results.append(
                EntryResult(Outcome.LOST, Reason.TAKEN, place, competitors[entry.slot], block // stride, block % stride)
            )
        else:
            results.append(EntryResult(Outcome.LOST, Reason.CAP, place, competitors[entry.slot]))

    if rules.runner_ups > 0:
        won_slots = {entries[i].slot for i in won_turn}
        waiting: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(entries):
            if entry.slot in won_slots and index not in won_turn:
                waiting[entry.slot].append(index)
        for indices in waiting.values():
            indices.sort(key=lambda i: position[entries[i].applicant])
            for rank, index in enumerate(indices[: rules.runner_ups], start=1):
                old = results[index]
                results[index] = EntryResult(
                    Outcome.RUNNER_UP,
                    old.reason,
                    old.position,
                    old.competitors,
                    old.turn_pass,
                    old.turn_position,
                    rank,
                )
    return DrawResult(order=order, results=results, passes=passes)


# --- the published document ------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """What is published with the results: enough to recompute the draw anywhere."""

    seed: bytes
    commitment: str
    rules: Rules
    entries: list[Entry]
    tickets: list[int] | None = None
    results: list[EntryResult] = field(default_factory=list)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "algorithm": ALGORITHM,
            "seed": self.seed.hex(),
            "commitment": self.commitment,
            "rules": {"max_wins": self.rules.max_wins, "runner_ups": self.rules.runner_ups},
            "tickets": self.tickets,
            "entries": [
                {"applicant": e.applicant, "rank": e.rank, "slot": e.slot, "cells": [str(c) for c in e.cells]}
                for e in self.entries
            ],
            "results": [r.as_json() for r in self.results],
            "results_digest": results_digest(self.results),
        }


def _result_from_json(raw: Mapping[str, Any]) -> EntryResult:
    return EntryResult(
        outcome=Outcome(raw["outcome"]),
        reason=Reason(raw["reason"]),
        position=int(raw["position"]),
        competitors=int(raw["competitors"]),
        turn_pass=raw.get("turn_pass"),
        turn_position=raw.get("turn_position"),
        runner_up_rank=raw.get("runner_up_rank"),
    )


def document_from_json(raw: Mapping[str, Any]) -> Document:
    if raw.get("algorithm") != ALGORITHM:
        raise ValueError(f"unknown algorithm {raw.get('algorithm')!r}")
    rules = Rules(max_wins=int(raw["rules"]["max_wins"]), runner_ups=int(raw["rules"]["runner_ups"]))
    entries = [Entry(int(e["applicant"]), int(e["rank"]), str(e["slot"]), tuple(e["cells"])) for e in raw["entries"]]
    return Document(
        seed=bytes.fromhex(raw["seed"]),
        commitment=str(raw["commitment"]),
        rules=rules,
        entries=entries,
        tickets=raw.get("tickets"),
        results=[_result_from_json(r) for r in raw.get("results", [])],
        meta={
            k: v for k, v in raw.items() if k not in {"seed", "commitment", "rules", "entries", "results", "tickets"}
        },
    )


@dataclass(frozen=True)
class Verification:
    commitment_ok: bool
    results_ok: bool
    entries: int
    mismatches: int
    recomputed_digest: str

    @property
    def ok(self) -> bool:
        return self.commitment_ok and self.results_ok


def verify_document(document: Document) -> Verification:
    """Recompute the draw from a published document and compare with its results."""
    recomputed = draw(document.seed, document.entries, document.rules, document.tickets)
    mismatches = sum(1 for a, b in zip(recomputed.results, document.results, strict=False) if a != b) + abs(
        len(recomputed.results) - len(document.results)
    )
    return Verification(
        commitment_ok=seed_commitment(document.seed) == document.commitment,
        results_ok=mismatches == 0,
        entries=len(document.entries),
        mismatches=mismatches,
        recomputed_digest=recomputed.digest(),
    )


def loser_tickets(rounds_lost_everything: int, *, max_bonus: int = 1) -> int:
    """Optional weighting (off by default): one extra ticket per recent round in which the applicant
    lost everything, at most `max_bonus` extra, so the advantage stays bounded (2:1 at most by default)."""
    return 1 + min(max(rounds_lost_everything, 0), max_bonus)


# --- the calendar of a round ------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRules:
    """A facility group's lottery calendar: days of the intake month (`months_before` the use month)."""

    months_before: int = 2
    intake_opens: tuple[int, dt.time] = (1, dt.time(9, 0))
    intake_closes: tuple[int, dt.time] = (10, dt.time(23, 59))
    draw: tuple[int, dt.time] = (11, dt.time(9, 0))
    confirm_by: tuple[int, dt.time] = (17, dt.time(23, 59))
    release: tuple[int, dt.time] = (24, dt.time(23, 59))


@dataclass(frozen=True)
class RoundCalendar:
    intake_opens_at: dt.datetime
    intake_closes_at: dt.datetime
    draw_at: dt.datetime
    confirm_by: dt.datetime
    release_at: dt.datetime


def intake_month(use_month: dt.date, months_before: int) -> dt.date:
    index = use_month.year * 12 + use_month.month - 1 - months_before
    return dt.date(index // 12, index % 12 + 1, 1)


def round_calendar(use_month: dt.date, rules: CalendarRules) -> RoundCalendar:
    """The round's moments in Asia/Tokyo (the seconds of a closing minute included: 23:59 means
    until 23:59:59)."""
    month = intake_month(use_month, rules.months_before)

    def at(day_time: tuple[int, dt.time], *, end_of_minute: bool = False) -> dt.datetime:
        day, time = day_time
        moment = dt.datetime.combine(month.replace(day=day), time, tzinfo=TOKYO)
        return moment + dt.timedelta(seconds=59) if end_of_minute else moment

    return RoundCalendar(
        intake_opens_at=at(rules.intake_opens),
        intake_closes_at=at(rules.intake_closes, end_of_minute=True),
        draw_at=at(rules.draw),
        confirm_by=at(rules.confirm_by, end_of_minute=True),
        release_at=at(rules.release, end_of_minute=True),
    )


def runner_up_deadline(*, offered_at: dt.datetime, days: int, release_at: dt.datetime) -> dt.datetime:
    """A runner-up moved up has `days` days, to the end of the last one, but never past release."""
    local = offered_at.astimezone(TOKYO) + dt.timedelta(days=days)
    end_of_day = dt.datetime.combine(local.date(), dt.time(23, 59, 59), tzinfo=TOKYO)
    return min(end_of_day, release_at)
