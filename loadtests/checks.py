"""The rush benchmark's correctness checks: SQL on the run database after the run (see RUSH.md).

Every answer the simulated residents got is an `Answer`. The checks compare those answers with
what the database committed:

a. no (unit, date, band) is occupied twice, and every active booking of the month under test holds
   all of its cells (a booking holding no cell could be double-booked);
b. every success answer names exactly one committed, active booking of that resident that covers
   that room, date and band and holds its cells; no two success answers name the same booking;
c. every booking a simulated resident holds has exactly one success answer (no silent bookings);
d. every failure answer (taken, quota, other refusals, errors) for (resident, room, date, band) has
   no booking of that resident for that slot, unless the same resident also has a success answer
   for it;
e. every "taken" answer is true: the slot is held by a booking (or a closure) committed
   before the answer arrived;
f. the opening gate: no simulated resident holds a booking made before T0, and no request before
   T0 got a success or a free page (only when the server itself gates the opening at T0).

No Django and no locust here: the functions take a DB-API cursor (psycopg's, or Django's
`connection.cursor()` in the tests) and plain data, so they run the same in the orchestrator, from
the command line against a kept database (`python -m loadtests.checks results.json`) and in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Answer kinds. A GET of the booking page answers "free" (200) or a refusal; a POST answers
# "success" (302 to /bookings/<id>/done/) or a refusal. Errors are failures too.
FREE = "free"
SUCCESS = "success"
TAKEN = "taken"
QUOTA = "quota"
REFUSED = "refused"  # any other refusal code (not_yet_open, facility_closed, ...)
ERROR = "error"  # 5xx, timeout, connection error, unexpected status
FAILURE_KINDS = frozenset({TAKEN, QUOTA, REFUSED, ERROR})
ACTIVE_STATES = ("provisional", "confirmed")
SAMPLES = 10  # violations listed per check in the report
CLOCK_TOLERANCE_S = 1.0  # server and harness share one clock; this only absorbs rounding


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@dataclass
class Answer:
    """One answer a simulated resident got about one slot."""

    resident_id: int
    user_number: str
    room_id: int
    date: str  # ISO date of use
    band_id: int
    method: str  # GET (the booking page) or POST (the booking)
    kind: str  # FREE, SUCCESS, TAKEN, QUOTA, REFUSED, ERROR
    status: int  # HTTP status, 0 when no response
    t: float  # epoch seconds when the answer arrived
    code: str | None = None  # refusal code (X-Refusal, else inferred), or the error kind
    code_source: str = ""  # header | body | status | client
    booking_id: int | None = None
    error: str | None = None
    phase: str = "rush"  # rush | ceiling
    hammerer: bool = False
    rank: int | None = None  # the slot's rank in the hot set (1 = hottest)

    @property
    def slot(self) -> tuple[int, str, int]:
        return (self.room_id, self.date, self.band_id)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class CheckResult:
    key: str
    title: str
    passed: bool
    checked: int
    violations: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _result(key: str, title: str, checked: int, bad: list[dict[str, Any]], note: str = "") -> CheckResult:
    return CheckResult(key, title, not bad, checked, len(bad), bad[:SAMPLES], note)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


@dataclass(frozen=True)
class _Booking:
    id: int
    resident_id: int | None
    room_id: int
    date: str
    state: str
    order_from: int
    order_to: int
    facility_id: int
    created_at: float

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


_BOOKING_SQL = """
SELECT r.id, r.resident_id, r.room_id, r.date, r.state, bf."order", bt."order", rm.facility_id,
       extract(epoch FROM r.created_at)::float8
FROM reservations_reservation r
JOIN reservations_timeband bf ON bf.id = r.band_from_id
JOIN reservations_timeband bt ON bt.id = r.band_to_id
JOIN reservations_room rm ON rm.id = r.room_id
"""


def _bookings(cursor: Cursor, where: str, params: Sequence[Any]) -> list[_Booking]:
    cursor.execute(_BOOKING_SQL + " WHERE " + where, list(params))
    return [
        _Booking(row[0], row[1], row[2], _iso(row[3]), row[4], row[5], row[6], row[7], float(row[8]))
        for row in cursor.fetchall()
    ]


def _band_orders(cursor: Cursor, band_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """band id: (facility id, order)."""
    ids = sorted(set(band_ids))
    if not ids:
        return {}
    cursor.execute('SELECT id, facility_id, "order" FROM reservations_timeband WHERE id = ANY(%s)', [ids])
    return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _room_units(cursor: Cursor, room_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = sorted(set(room_ids))
    units: dict[int, list[int]] = defaultdict(list)
    if ids:
        cursor.execute("SELECT room_id, roomunit_id FROM reservations_room_units WHERE room_id = ANY(%s)", [ids])
        for room_id, unit_id in cursor.fetchall():
            units[room_id].append(unit_id)
    return units


def _covers(booking: _Booking, answer: Answer, bands: dict[int, tuple[int, int]]) -> bool:
    band = bands.get(answer.band_id)
    return (
        band is not None
        and booking.room_id == answer.room_id
        and booking.date == answer.date
        and band[0] == booking.facility_id
        and booking.order_from <= band[1] <= booking.order_to
    )


def check_no_double_occupancy(cursor: Cursor, month: dt.date | None = None) -> CheckResult:
    """(a) No cell held twice; every active booking of `month` holds every cell it covers."""
    cursor.execute("SELECT count(*) FROM reservations_occupancy")
    checked = int(cursor.fetchall()[0][0])
    cursor.execute(
        "SELECT unit_id, date, band_id, count(*) FROM reservations_occupancy "
        "GROUP BY unit_id, date, band_id HAVING count(*) > 1 ORDER BY 4 DESC LIMIT 1000"
    )
    bad = [
        {"unit_id": u, "date": _iso(d), "band_id": b, "holders": int(n), "problem": "cell held more than once"}
        for u, d, b, n in cursor.fetchall()
    ]
    if month is not None:
        first = month.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        # Expected cells of each active booking: every unit of its room x every band of its span.
        cursor.execute(
            """
            SELECT r.id, count(DISTINCT (ru.roomunit_id, b.id)) AS expected,
                   (SELECT count(*) FROM reservations_occupancy o WHERE o.reservation_id = r.id) AS held
            FROM reservations_reservation r
            JOIN reservations_room_units ru ON ru.room_id = r.room_id
            JOIN reservations_timeband bf ON bf.id = r.band_from_id
            JOIN reservations_timeband bt ON bt.id = r.band_to_id
            JOIN reservations_timeband b ON b.facility_id = bf.facility_id
                 AND b."order" BETWEEN bf."order" AND bt."order"
            WHERE r.state = ANY(%s) AND r.date >= %s AND r.date < %s
            GROUP BY r.id
            """,
            [list(ACTIVE_STATES), first, after],
        )
        for booking_id, expected, held in cursor.fetchall():
            if int(expected) != int(held):
                bad.append(
                    {
                        "booking_id": booking_id,
                        "expected_cells": int(expected),
                        "held_cells": int(held),
                        "problem": "active booking does not hold exactly its cells",
                    }
                )
    return _result("a", "No (unit, date, band) occupied twice; active bookings hold their cells", checked, bad)


def check_success_answers(cursor: Cursor, answers: Sequence[Answer]) -> CheckResult:
    """(b) Every success answer names one active booking of that resident covering that slot."""
    successes = [a for a in answers if a.kind == SUCCESS]
    bad: list[dict[str, Any]] = []
    named = Counter(a.booking_id for a in successes if a.booking_id is not None)
    for booking_id, n in named.items():
        if n > 1:
            bad.append({"booking_id": booking_id, "answers": n, "problem": "one booking named by several answers"})
    ids = sorted(named)
    bookings = {b.id: b for b in _bookings(cursor, "r.id = ANY(%s)", [ids])} if ids else {}
    bands = _band_orders(cursor, (a.band_id for a in successes))
    units = _room_units(cursor, (a.room_id for a in successes))
    held: set[tuple[int, int, str, int]] = set()
    if ids:
        cursor.execute(
            "SELECT reservation_id, unit_id, date, band_id FROM reservations_occupancy WHERE reservation_id = ANY(%s)",
            [ids],
        )
        held = {(r, u, _iso(d), b) for r, u, d, b in cursor.fetchall()}
    for a in successes:
        where = {"user_number": a.user_number, "room_id": a.room_id, "date": a.date, "band_id": a.band_id}
        booking = bookings.get(a.booking_id) if a.booking_id is not None else None
        problem = None
        if booking is None:
            problem = "no such booking"
        elif not booking.active:
            problem = f"booking is {booking.state}"
        elif booking.resident_id != a.resident_id:
            problem = f"booking belongs to resident {booking.resident_id}"
        elif not _covers(booking, a, bands):
            problem = "booking does not cover that room/date/band"
        elif not units.get(a.room_id) or any(
            (booking.id, u, a.date, a.band_id) not in held for u in units.get(a.room_id, [])
        ):
            problem = "booking does not hold the slot's cells"
        if problem:
            bad.append({**where, "booking_id": a.booking_id, "problem": problem})
    return _result(
        "b", "Every success answer names exactly one active booking of that resident for that slot", len(successes), bad
    )


def check_no_silent_bookings(cursor: Cursor, answers: Sequence[Answer], resident_ids: Sequence[int]) -> CheckResult:
    """(c) Every booking a simulated resident holds was announced by exactly one success answer.

    The simulated residents had no bookings before the run, so every booking they hold is the
    harness's doing, whenever it was made."""
    ids = sorted(set(resident_ids))
    bookings = _bookings(cursor, "r.resident_id = ANY(%s)", [ids]) if ids else []
    named = Counter(a.booking_id for a in answers if a.kind == SUCCESS and a.booking_id is not None)
    bad = [
        {
            "booking_id": b.id,
            "resident_id": b.resident_id,
            "room_id": b.room_id,
            "date": b.date,
            "state": b.state,
            "success_answers": named.get(b.id, 0),
            "problem": "silent booking (no success answer)" if not named.get(b.id) else "several success answers",
        }
        for b in bookings
        if named.get(b.id, 0) != 1
    ]
    return _result("c", "Every booking of a simulated resident has exactly one success answer", len(bookings), bad)


def check_failure_answers(cursor: Cursor, answers: Sequence[Answer]) -> CheckResult:
    """(d) No failure answer hides a booking the same resident holds for that slot."""
    failures = [a for a in answers if a.kind in FAILURE_KINDS]
    won = {(a.resident_id, *a.slot) for a in answers if a.kind == SUCCESS}
    residents = sorted({a.resident_id for a in failures})
    bookings = (
        _bookings(cursor, "r.resident_id = ANY(%s) AND r.state = ANY(%s)", [residents, list(ACTIVE_STATES)])
        if residents
        else []
    )
    by_resident: dict[int, list[_Booking]] = defaultdict(list)
    for b in bookings:
        if b.resident_id is not None:
            by_resident[b.resident_id].append(b)
    bands = _band_orders(cursor, (a.band_id for a in failures))
    bad = []
    for a in failures:
        if (a.resident_id, *a.slot) in won:
            continue
        held = [b for b in by_resident.get(a.resident_id, []) if _covers(b, a, bands)]
        if held:
            bad.append(
                {
                    "user_number": a.user_number,
                    "method": a.method,
                    "kind": a.kind,
                    "code": a.code,
                    "status": a.status,
                    "room_id": a.room_id,
                    "date": a.date,
                    "band_id": a.band_id,
                    "booking_id": held[0].id,
                    "problem": "failure answer, but the resident holds a booking for that slot",
                }
            )
    return _result(
        "d", "No failure answer for a slot the same resident holds (without a success answer)", len(failures), bad
    )


def check_taken_answers(cursor: Cursor, answers: Sequence[Answer]) -> CheckResult:
    """(e) Every "taken" answer is true: a cell of the slot was held (by a booking made before the
    answer arrived, or by a closure). Nobody cancels during the run, so holders seen now were there."""
    taken = [a for a in answers if a.kind == TAKEN]
    bad: list[dict[str, Any]] = []
    if taken:
        units = _room_units(cursor, (a.room_id for a in taken))
        all_units = sorted({u for us in units.values() for u in us})
        dates = sorted({a.date for a in taken})
        cursor.execute(
            """
            SELECT o.unit_id, o.date, o.band_id, o.closure_id, r.resident_id,
                   extract(epoch FROM r.created_at)::float8
            FROM reservations_occupancy o
            LEFT JOIN reservations_reservation r ON r.id = o.reservation_id
            WHERE o.unit_id = ANY(%s) AND o.date = ANY(%s::date[])
            """,
            [all_units, dates],
        )
        # cell: (held by a closure?, holder resident, when the holding booking was made)
        cells: dict[tuple[int, str, int], tuple[bool, int | None, float]] = {}
        for unit_id, day, band_id, closure_id, resident_id, created in cursor.fetchall():
            cells[(unit_id, _iso(day), band_id)] = (
                closure_id is not None,
                resident_id,
                float(created) if created is not None else 0.0,
            )
        for a in taken:
            holders = [cells.get((u, a.date, a.band_id)) for u in units.get(a.room_id, [])]
            ok = any(h is not None and (h[0] or h[2] <= a.t + CLOCK_TOLERANCE_S) for h in holders)
            if not ok:
                bad.append(
                    {
                        "user_number": a.user_number,
                        "method": a.method,
                        "code_source": a.code_source,
                        "room_id": a.room_id,
                        "date": a.date,
                        "band_id": a.band_id,
                        "problem": "answered taken, but nothing held the slot by then",
                    }
                )
    return _result("e", "Every taken answer is true (the slot was held before the answer)", len(taken), bad)


def check_opening_gate(
    cursor: Cursor, answers: Sequence[Answer], resident_ids: Sequence[int], t0: float, *, gated: bool
) -> CheckResult:
    """(f) Nothing is booked, or offered as free, before T0 (when the server gates the opening)."""
    if not gated:
        return CheckResult(
            "f", "Opening gate (nothing booked or offered before T0)", True, 0, 0, [], "not gated: skipped"
        )
    ids = sorted(set(resident_ids))
    early = _bookings(cursor, "r.resident_id = ANY(%s) AND r.created_at < to_timestamp(%s)", [ids, t0]) if ids else []
    bad: list[dict[str, Any]] = [
        {
            "booking_id": b.id,
            "resident_id": b.resident_id,
            "created_before_t0_s": round(t0 - b.created_at, 3),
            "problem": "booked before T0",
        }
        for b in early
    ]
    # An answer that arrived before T0 was necessarily computed before T0.
    before = [a for a in answers if a.t < t0]
    for a in before:
        if a.kind in (SUCCESS, FREE):
            bad.append(
                {
                    "user_number": a.user_number,
                    "method": a.method,
                    "kind": a.kind,
                    "early_s": round(t0 - a.t, 3),
                    "problem": "offered before T0",
                }
            )
    return _result("f", "Opening gate (nothing booked or offered before T0)", len(before) + len(early), bad)


def run_all(
    cursor: Cursor,
    answers: Sequence[Answer],
    *,
    resident_ids: Sequence[int],
    month: dt.date,
    t0: float,
    gated: bool,
) -> list[CheckResult]:
    return [
        check_no_double_occupancy(cursor, month),
        check_success_answers(cursor, answers),
        check_no_silent_bookings(cursor, answers, resident_ids),
        check_failure_answers(cursor, answers),
        check_taken_answers(cursor, answers),
        check_opening_gate(cursor, answers, resident_ids, t0, gated=gated),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Re-run the checks from a results JSON against a database kept with --keep-db."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", help="loadtests/results/<...>.json written by loadtests.bench")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/shisetsu_bench"),
    )
    args = parser.parse_args(argv)
    import psycopg

    with open(args.results, encoding="utf-8") as fh:
        data = json.load(fh)
    answers = [Answer.from_dict(a) for a in data["answers"]]
    run = data["run"]
    with psycopg.connect(args.database_url) as conn, conn.cursor() as cursor:
        results = run_all(
            cursor,
            answers,
            resident_ids=run["resident_ids"],
            month=dt.date.fromisoformat(run["month"]),
            t0=run["t0_epoch"],
            gated=run["server_gated"],
        )
    for r in results:
        print(f"({r.key}) {'PASS' if r.passed else 'FAIL'} {r.title}: checked {r.checked}, violations {r.violations}")
        for sample in r.samples:
            print("     ", sample)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())


# --- Scenario (b): the lottery intake (loadtests/intake.py) -------------------------------------------
#
# i1. every success answer names exactly one entry of that resident in the database (by its id when
#     the page showed it, else by the resident's entry for that round, room, date and band): an apply
#     success an entry for that slot, a withdraw success a withdrawn entry; no entry named by two
#     apply successes;
# i2. every entry a simulated resident holds (active or withdrawn) has exactly one apply success
#     answer, and every withdrawn one a withdraw success answer (no silent entries or withdrawals);
# i3. no applicant over its round's entry cap (active entries <= max_entries);
# i4. the intake window: no entry of a simulated resident created (or withdrawn) before the round's
#     opening or at/after its close; no success answer that arrived before T0, none to a request
#     sent at or after the close.

INTAKE_APPLY = "apply"
INTAKE_WITHDRAW = "withdraw"
INTAKE_RANK = "rank"


@dataclass
class IntakeAnswer:
    """One answer a simulated resident got from the lottery pages (apply, withdraw, rank change)."""

    resident_id: int
    user_number: str
    round_id: int
    room_id: int
    date: str  # ISO date of use
    band_id: int
    method: str  # apply | withdraw | rank
    kind: str  # SUCCESS, QUOTA (entry_cap), REFUSED, ERROR
    status: int
    sent: float  # epoch seconds when the request was sent
    t: float  # epoch seconds when the answer arrived
    code: str | None = None
    code_source: str = ""  # body | status | client | page
    entry_id: int | None = None
    error: str | None = None
    phase: str = "opening"  # opening | last_hour | after_close
    hammerer: bool = False  # "early": on the page before T0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntakeAnswer:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class _Entry:
    id: int
    round_id: int
    resident_id: int
    applicant: str
    room_id: int
    date: str
    band_from_id: int
    band_to_id: int
    status: str
    created_at: float
    withdrawn_at: float | None


_ENTRY_SQL = """
SELECT e.id, e.round_id, e.resident_id, e.applicant, e.room_id, e.date, e.band_from_id, e.band_to_id, e.status,
       extract(epoch FROM e.created_at)::float8, extract(epoch FROM e.withdrawn_at)::float8
FROM lottery_lotteryentry e
"""


def _entries(cursor: Cursor, where: str, params: Sequence[Any]) -> list[_Entry]:
    cursor.execute(_ENTRY_SQL + " WHERE " + where, list(params))
    return [
        _Entry(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            _iso(r[5]),
            r[6],
            r[7],
            r[8],
            float(r[9]),
            None if r[10] is None else float(r[10]),
        )
        for r in cursor.fetchall()
    ]


def _entry_covers(entry: _Entry, a: IntakeAnswer, orders: dict[int, tuple[int, int]]) -> bool:
    band, first, last = orders.get(a.band_id), orders.get(entry.band_from_id), orders.get(entry.band_to_id)
    return (
        entry.round_id == a.round_id
        and entry.room_id == a.room_id
        and entry.date == a.date
        and band is not None
        and first is not None
        and last is not None
        and first[1] <= band[1] <= last[1]
    )


def check_intake_success_answers(cursor: Cursor, answers: Sequence[IntakeAnswer]) -> CheckResult:
    """(i1) Every success answer names exactly one entry of that resident."""
    successes = [a for a in answers if a.kind == SUCCESS and a.method in (INTAKE_APPLY, INTAKE_WITHDRAW)]
    residents = sorted({a.resident_id for a in successes})
    entries = _entries(cursor, "e.resident_id = ANY(%s)", [residents]) if residents else []
    by_id = {e.id: e for e in entries}
    mine: dict[int, list[_Entry]] = defaultdict(list)
    for e in entries:
        mine[e.resident_id].append(e)
    orders = _band_orders(
        cursor, [a.band_id for a in successes] + [x for e in entries for x in (e.band_from_id, e.band_to_id)]
    )
    bad: list[dict[str, Any]] = []
    named: Counter[int] = Counter()
    for a in successes:
        where = {
            "user_number": a.user_number,
            "method": a.method,
            "room_id": a.room_id,
            "date": a.date,
            "band_id": a.band_id,
        }
        if a.entry_id is not None:
            entry = by_id.get(a.entry_id)
            candidates = [entry] if entry is not None and entry.resident_id == a.resident_id else []
            if entry is not None and entry.resident_id != a.resident_id:
                bad.append(
                    {**where, "entry_id": a.entry_id, "problem": f"entry belongs to resident {entry.resident_id}"}
                )
                continue
        else:
            candidates = [e for e in mine.get(a.resident_id, []) if _entry_covers(e, a, orders)]
            if a.method == INTAKE_APPLY:
                # the resident's entries for that slot that no other success answer names already
                candidates = [e for e in candidates if e.status == "active"] or candidates
        problem = None
        if len(candidates) != 1:
            problem = "no such entry" if not candidates else f"{len(candidates)} entries match"
        elif not _entry_covers(candidates[0], a, orders):
            problem = "entry does not cover that round/room/date/band"
        elif a.method == INTAKE_WITHDRAW and candidates[0].status != "withdrawn":
            problem = f"withdraw answered, but the entry is {candidates[0].status}"
        if problem:
            bad.append({**where, "entry_id": a.entry_id, "problem": problem})
            continue
        if a.method == INTAKE_APPLY:
            named[candidates[0].id] += 1
    for entry_id, n in named.items():
        if n > 1:
            bad.append({"entry_id": entry_id, "answers": n, "problem": "one entry named by several apply answers"})
    return _result("i1", "Every success answer names exactly one entry of that resident", len(successes), bad)


def _named_entries(
    answers: Sequence[IntakeAnswer], entries: Sequence[_Entry], orders: dict[int, tuple[int, int]], method: str
) -> Counter[int]:
    """entry id: how many `method` success answers name it (by id, else by resident and slot)."""
    by_resident: dict[int, list[_Entry]] = defaultdict(list)
    for e in entries:
        by_resident[e.resident_id].append(e)
    named: Counter[int] = Counter()
    for a in answers:
        if a.kind != SUCCESS or a.method != method:
            continue
        if a.entry_id is not None:
            named[a.entry_id] += 1
            continue
        found = [e for e in by_resident.get(a.resident_id, []) if _entry_covers(e, a, orders)]
        if method == INTAKE_APPLY:
            found = [e for e in found if e.status == "active"] or found
        if len(found) == 1:
            named[found[0].id] += 1
    return named


def check_intake_no_silent_entries(
    cursor: Cursor, answers: Sequence[IntakeAnswer], resident_ids: Sequence[int]
) -> CheckResult:
    """(i2) Every entry of a simulated resident was announced by exactly one apply success answer,
    and every withdrawn one by a withdraw success answer. The simulated residents had no entries
    before the run, so every entry they hold is the harness's doing."""
    ids = sorted(set(resident_ids))
    entries = _entries(cursor, "e.resident_id = ANY(%s)", [ids]) if ids else []
    orders = _band_orders(
        cursor, [a.band_id for a in answers] + [x for e in entries for x in (e.band_from_id, e.band_to_id)]
    )
    applied = _named_entries(answers, entries, orders, INTAKE_APPLY)
    withdrawn = _named_entries(answers, entries, orders, INTAKE_WITHDRAW)
    bad: list[dict[str, Any]] = []
    for e in entries:
        row = {"entry_id": e.id, "resident_id": e.resident_id, "room_id": e.room_id, "date": e.date, "status": e.status}
        if applied.get(e.id, 0) != 1:
            problem = "silent entry (no apply success answer)" if not applied.get(e.id) else "several apply answers"
            bad.append({**row, "problem": problem})
        elif e.status == "withdrawn" and not withdrawn.get(e.id):
            bad.append({**row, "problem": "silent withdrawal (no withdraw success answer)"})
    return _result(
        "i2",
        "Every entry of a simulated resident has exactly one apply success answer (no silent entries)",
        len(entries),
        bad,
    )


def check_intake_entry_cap(cursor: Cursor, round_ids: Sequence[int]) -> CheckResult:
    """(i3) No applicant holds more active entries in a round than its cap."""
    ids = sorted(set(round_ids))
    if not ids:
        return _result("i3", "No applicant over the per-round entry cap", 0, [])
    cursor.execute(
        """
        SELECT e.round_id, e.applicant, count(*), max(r.max_entries)
        FROM lottery_lotteryentry e JOIN lottery_lotteryround r ON r.id = e.round_id
        WHERE e.round_id = ANY(%s) AND e.status = 'active'
        GROUP BY e.round_id, e.applicant
        """,
        [ids],
    )
    rows = cursor.fetchall()
    bad = [
        {"round_id": r, "applicant": who, "active_entries": int(n), "cap": int(cap), "problem": "over the entry cap"}
        for r, who, n, cap in rows
        if int(n) > int(cap)
    ]
    return _result("i3", "No applicant over the per-round entry cap", len(rows), bad)


def check_intake_window(
    cursor: Cursor, answers: Sequence[IntakeAnswer], resident_ids: Sequence[int], t0: float
) -> CheckResult:
    """(i4) Nothing accepted before T0 (the opening) or after the close, in the database and in the answers."""
    ids = sorted(set(resident_ids))
    bad: list[dict[str, Any]] = []
    checked = 0
    closes: dict[int, float] = {}
    if ids:
        cursor.execute(
            """
            SELECT extract(epoch FROM r.intake_opens_at)::float8, extract(epoch FROM r.intake_closes_at)::float8,
                   e.id, extract(epoch FROM e.created_at)::float8, extract(epoch FROM e.withdrawn_at)::float8
            FROM lottery_lotteryentry e JOIN lottery_lotteryround r ON r.id = e.round_id
            WHERE e.resident_id = ANY(%s)
            """,
            [ids],
        )
        for row in cursor.fetchall():
            opens, close = float(row[0]), float(row[1])
            entry_id, created, withdrawn = row[2], float(row[3]), row[4]
            checked += 1
            if created < opens or created >= close:
                bad.append(
                    {
                        "entry_id": entry_id,
                        "created_rel_open_s": round(created - opens, 3),
                        "created_rel_close_s": round(created - close, 3),
                        "problem": "entry made outside the intake window",
                    }
                )
            if withdrawn is not None and float(withdrawn) >= close:
                bad.append(
                    {
                        "entry_id": entry_id,
                        "withdrawn_rel_close_s": round(float(withdrawn) - close, 3),
                        "problem": "entry withdrawn after the close",
                    }
                )
    round_ids = sorted({a.round_id for a in answers})
    if round_ids:
        cursor.execute(
            "SELECT id, extract(epoch FROM intake_closes_at)::float8 FROM lottery_lotteryround WHERE id = ANY(%s)",
            [round_ids],
        )
        closes = {r[0]: float(r[1]) for r in cursor.fetchall()}
    for a in answers:
        if a.kind != SUCCESS:
            continue
        checked += 1
        closed_at = closes.get(a.round_id)
        if a.t < t0:
            bad.append(
                {
                    "user_number": a.user_number,
                    "method": a.method,
                    "early_s": round(t0 - a.t, 3),
                    "problem": "success before T0",
                }
            )
        elif closed_at is not None and a.sent >= closed_at:
            bad.append(
                {
                    "user_number": a.user_number,
                    "method": a.method,
                    "late_s": round(a.sent - closed_at, 3),
                    "problem": "success to a request sent after the close",
                }
            )
    return _result("i4", "Intake window (nothing accepted before T0 or after the close)", checked, bad)


def run_intake_checks(
    cursor: Cursor, answers: Sequence[IntakeAnswer], *, resident_ids: Sequence[int], round_ids: Sequence[int], t0: float
) -> list[CheckResult]:
    return [
        check_intake_success_answers(cursor, answers),
        check_intake_no_silent_entries(cursor, answers, resident_ids),
        check_intake_entry_cap(cursor, round_ids),
        check_intake_window(cursor, answers, resident_ids, t0),
    ]
