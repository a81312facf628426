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
