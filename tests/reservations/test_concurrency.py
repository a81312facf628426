"""Real races against PostgreSQL: many threads (each with its own database connection) or processes
call the booking services at the same moment. No mocks. psycopg releases the GIL while it waits on
the server, so the transactions really overlap inside PostgreSQL.

Every racer opens its connection before the start barrier, so the race is over the queries, not
over connection set-up, and closes it when done.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import IntegrityError, connection, transaction

from reservations.errors import BookingError, SlotTaken
from reservations.models import (
    ACTIVE_STATES,
    Channel,
    Closure,
    Occupancy,
    Reservation,
    ReservationKind,
    ReservationState,
    Resident,
    ResidentStatus,
    Room,
)
from reservations.services import block_create, closure_create, reservation_cancel, reservation_create
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_divisible_hall, make_room

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC)
USE_DAY = dt.date(2026, 12, 7)  # a Monday; its month's first-come window opened 2026-11-01 09:00 JST
RACERS = 40
JOIN_TIMEOUT = 60.0


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def won(self) -> bool:
        return self.error is None


def race(calls: Sequence[Callable[[], Any]]) -> list[Outcome]:
    """Run every call in its own thread, all released at once by a barrier; return what each got."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcomes[i].value = call()
        except BaseException as error:  # noqa: BLE001 - the test asserts on every racer's outcome
            outcomes[i].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c), name=f"racer-{i}") for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"racers still running after {JOIN_TIMEOUT}s (a deadlock?): {stuck}"
    return outcomes


def winners(outcomes: Sequence[Outcome]) -> list[Any]:
    return [o.value for o in outcomes if o.won]


def errors(outcomes: Sequence[Outcome]) -> list[BaseException]:
    return [o.error for o in outcomes if o.error is not None]


def assert_all_slot_taken(outcomes: Sequence[Outcome]) -> None:
    other = [repr(e) for e in errors(outcomes) if type(e) is not SlotTaken]
    assert not other, f"losers must get SlotTaken and nothing else, got {other}"


def band_ids(facility: Any, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def booker(
    resident: Resident, room: Room, codes: Sequence[str] = ("am",), day: dt.date = USE_DAY, **kwargs: Any
) -> Callable[[], Reservation]:
    ids = band_ids(room.facility, *codes)

    def call() -> Reservation:
        return reservation_create(
            resident=resident,
            room_id=room.pk,
            date=day,
            band_ids=ids,
            channel=Channel.WEB,
            booked_by=resident.user,
            now=NOW,
            **kwargs,
        )

    return call


def cells(reservation: Reservation) -> set[tuple[int, dt.date, int]]:
    """The (unit, date, band) cells a reservation must hold, from its room and band span."""
    units = reservation.room.units.values_list("pk", flat=True)
    bands = reservation.room.facility.time_bands.filter(
        order__gte=reservation.band_from.order, order__lte=reservation.band_to.order
    ).values_list("pk", flat=True)
    return {(u, reservation.date, b) for u in units for b in bands}


def assert_database_consistent() -> None:
    """The booking invariants, read straight from the tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT unit_id, date, band_id FROM reservations_occupancy
               GROUP BY unit_id, date, band_id HAVING COUNT(*) > 1"""
        )
        assert cursor.fetchall() == []
    assert not Occupancy.objects.exclude(reservation__state__in=ACTIVE_STATES).exists()
    for reservation in Reservation.objects.filter(state__in=ACTIVE_STATES).select_related(
        "room__facility", "band_from", "band_to"
    ):
        held = set(reservation.occupancies.values_list("unit_id", "date", "band_id"))
        assert held == cells(reservation), f"{reservation} holds {held}"


def backend_pid() -> int:
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def wait_until_blocked_on_a_lock(pid: int, timeout: float = 20.0) -> None:
    """Poll (with a deadline, no fixed sleep) until backend `pid` waits on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.01)
    pytest.fail(f"backend {pid} never blocked on a lock")


@pytest.fixture
def facility() -> Any:
    return FacilityFactory()


@pytest.fixture
def room(facility: Any) -> Room:
    return make_room(facility, "r1")


# --- one slot, many bookers -------------------------------------------------------------------


def test_forty_residents_racing_for_one_slot_exactly_one_wins(room: Room) -> None:
    residents = [ResidentFactory() for _ in range(RACERS)]

    outcomes = race([booker(r, room) for r in residents])

    won = winners(outcomes)
    assert len(won) == 1, f"{len(won)} bookings of one slot succeeded"
    assert_all_slot_taken(outcomes)
    assert len(errors(outcomes)) == RACERS - 1
    # Nothing of the losers' is left behind: one reservation row in all, holding one cell.
    booking = Reservation.objects.get()
    assert booking.state in ACTIVE_STATES
    assert list(Occupancy.objects.values_list("reservation_id", "unit_id", "date", "band_id")) == [
        (booking.pk, room.units.get().pk, USE_DAY, band_ids(room.facility, "am")[0])
    ]
    answer = won[0]
    assert (answer.pk, answer.reference, answer.resident_id, answer.state, answer.fee) == (
        booking.pk,
        booking.reference,
        booking.resident_id,
        booking.state,
        booking.fee,
    )
    assert_database_consistent()


def book_while_parked(
    hold: Callable[[], object],
    book: Callable[[], Reservation],
    meanwhile: Callable[[], object] = lambda: None,
    *,
    commit: bool = True,
) -> Outcome:
    """Force an interleaving: run `hold` in a transaction of its own and keep it open; start `book`,
    wait (polling, with a deadline) until it blocks on a lock `hold` took, run `meanwhile`, then
    commit (or roll back) `hold` and let the booking finish. Returns what `book` got."""
    holding, release = threading.Event(), threading.Event()
    held, outcome = Outcome(), Outcome()
    pid: list[int] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                held.value = hold()
                holding.set()
                if not release.wait(timeout=30):
                    raise TimeoutError("never released")
                transaction.set_rollback(not commit)
        except BaseException as error:  # noqa: BLE001
            held.error = error
        finally:
            holding.set()
            connection.close()

    def booking() -> None:
        try:
            pid.append(backend_pid())
            outcome.value = book()
        except BaseException as error:  # noqa: BLE001
            outcome.error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=holder, name="holder")]
    threads[0].start()
    try:
        assert holding.wait(timeout=30) and held.won, repr(held.error)
        threads.append(threading.Thread(target=booking, name="parked-booking"))
        threads[1].start()
        deadline = time.monotonic() + 20
        while not pid and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pid, "the booking never connected"
        wait_until_blocked_on_a_lock(pid[0])
        meanwhile()
    finally:
        release.set()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert held.won, repr(held.error)
    return outcome


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_a_racer_past_the_free_check_waits_on_the_constraint(room: Room, first_commits: bool) -> None:
    """The interleaving the cheap free-check cannot catch: the first booking is inserted but not yet
    committed when the second checks. The second then waits on the UNIQUE index, and gets SlotTaken
    if the first commits, or the slot if the first rolls back."""
    first, second = ResidentFactory(), ResidentFactory()
    first_booking: list[Reservation] = []

    outcome = book_while_parked(
        lambda: first_booking.append(booker(first, room)()), booker(second, room), commit=first_commits
    )

    assert first_booking, "the first booking failed"
    if first_commits:
        assert type(outcome.error) is SlotTaken
        assert isinstance(outcome.error.__cause__, IntegrityError)  # it lost at the constraint
        assert Reservation.objects.get().pk == first_booking[0].pk
    else:
        assert outcome.won, repr(outcome.error)
        assert Reservation.objects.get().pk == outcome.value.pk
    assert Occupancy.objects.count() == 1
    assert_database_consistent()


# --- divisible halls and band spans ------------------------------------------------------------


def test_whole_hall_racing_its_half_exactly_one_wins(facility: Any) -> None:
    whole, half_a, _half_b = make_divisible_hall(facility)
    rooms = [whole, half_a] * (RACERS // 2)

    outcomes = race([booker(ResidentFactory(), r, ("pm",)) for r in rooms])

    won = winners(outcomes)
    assert len(won) == 1, [w.room_id for w in won]
    assert_all_slot_taken(outcomes)
    booking = Reservation.objects.get(state__in=ACTIVE_STATES)
    assert booking.pk == won[0].pk
    expected_units = {"gym-a", "gym-b"} if booking.room_id == whole.pk else {"gym-a"}
    assert set(Occupancy.objects.values_list("unit__code", flat=True)) == expected_units
    assert set(Occupancy.objects.values_list("reservation_id", flat=True)) == {booking.pk}
    assert_database_consistent()


def test_whole_hall_racing_both_halves_gives_the_whole_or_one_of_each_half(facility: Any) -> None:
    whole, half_a, half_b = make_divisible_hall(facility)
    rooms = [whole, half_a, half_b] * 12

    outcomes = race([booker(ResidentFactory(), r, ("ev",)) for r in rooms])

    won = sorted(w.room_id for w in winners(outcomes))
    assert won in ([whole.pk], sorted([half_a.pk, half_b.pk])), won
    assert_all_slot_taken(outcomes)
    assert Occupancy.objects.count() == 2  # both units are taken either way
    assert_database_consistent()


def test_overlapping_band_spans_exactly_one_wins(room: Room) -> None:
    spans = [("am", "pm"), ("pm", "ev"), ("pm",)] * 10

    outcomes = race([booker(ResidentFactory(), room, span) for span in spans])

    won = winners(outcomes)
    assert len(won) == 1
    assert_all_slot_taken(outcomes)
    booking = Reservation.objects.get()
    span = spans[next(i for i, o in enumerate(outcomes) if o.won)]
    assert set(Occupancy.objects.values_list("band__code", flat=True)) == set(span)
    assert set(Occupancy.objects.filter(reservation=booking).values_list("band_id", flat=True)) == set(
        band_ids(room.facility, *span)
    )
    assert_database_consistent()


def test_mixed_race_over_hall_halves_and_spans_gives_disjoint_winners_and_only_justified_losers(
    facility: Any,
) -> None:
    """Random rooms and spans of one day. Whatever the interleaving: the winners never share a cell,
    and every loser lost to a winner (it needed a cell that some winner holds)."""
    whole, half_a, half_b = make_divisible_hall(facility)
    spans = [("am",), ("pm",), ("ev",), ("am", "pm"), ("pm", "ev"), ("am", "pm", "ev")]
    rng = random.Random(20261207)
    requests = [(rng.choice([whole, half_a, half_b]), rng.choice(spans)) for _ in range(RACERS)]

    outcomes = race([booker(ResidentFactory(), r, span) for r, span in requests])

    assert_all_slot_taken(outcomes)
    units = {r.pk: {u.code for u in r.units.all()} for r in (whole, half_a, half_b)}

    def wanted(i: int) -> set[tuple[str, str]]:
        r, span = requests[i]
        return {(u, b) for u in units[r.pk] for b in span}

    won = [i for i, o in enumerate(outcomes) if o.won]
    assert won
    held: set[tuple[str, str]] = set()
    for i in won:
        assert not held & wanted(i), "two winners share a cell"
        held |= wanted(i)
    for i, o in enumerate(outcomes):
        if not o.won:
            assert wanted(i) & held, f"request {i} lost although all its cells stayed free"
    assert set(Occupancy.objects.values_list("unit__code", "band__code")) == held
    assert_database_consistent()


# --- quotas -----------------------------------------------------------------------------------


def test_one_resident_firing_twenty_bookings_gets_exactly_the_monthly_cap(facility: Any, room: Room) -> None:
    facility.group.max_active_bookings_per_month = 3
    facility.group.save()
    other_room = make_room(facility, "r2")
    resident = ResidentFactory()
    slots = [(r, day) for day in range(1, 11) for r in (room, other_room)]  # 20 different December slots

    outcomes = race([booker(resident, r, day=dt.date(2026, 12, d)) for r, d in slots])

    assert len(winners(outcomes)) == 3
    codes = [getattr(e, "code", repr(e)) for e in errors(outcomes)]
    assert codes == ["quota"] * 17
    assert all(type(e) is BookingError for e in errors(outcomes))
    assert Reservation.objects.filter(resident=resident, state__in=ACTIVE_STATES).count() == 3
    assert Occupancy.objects.count() == 3
    assert_database_consistent()


def test_group_members_racing_get_exactly_the_groups_monthly_cap(facility: Any, room: Room) -> None:
    facility.group.max_group_bookings_per_month = 3
    facility.group.save()
    group = GroupFactory()
    members = [ResidentFactory() for _ in range(11)]
    group.members.add(*members)
    bookers = [group.representative, *members]
    days = range(1, len(bookers) + 1)

    outcomes = race(
        [booker(m, room, day=dt.date(2026, 12, d), group=group) for m, d in zip(bookers, days, strict=True)]
    )

    assert len(winners(outcomes)) == 3
    assert [getattr(e, "code", repr(e)) for e in errors(outcomes)] == ["group_quota"] * (len(bookers) - 3)
    assert Reservation.objects.filter(group=group, state__in=ACTIVE_STATES).count() == 3
    assert_database_consistent()


# --- cancelling -------------------------------------------------------------------------------


def test_ten_concurrent_cancels_of_one_booking_exactly_one_succeeds(room: Room) -> None:
    owner = ResidentFactory()
    booking = booker(owner, room)()

    def cancel() -> Reservation:
        return reservation_cancel(
            reservation_id=booking.pk, resident=owner, cancelled_by=owner.user, channel=Channel.WEB, now=NOW
        )

    outcomes = race([cancel] * 10)

    assert len(winners(outcomes)) == 1
    assert [(type(e), getattr(e, "code", None)) for e in errors(outcomes)] == [(BookingError, "already_ended")] * 9
    booking.refresh_from_db()
    assert booking.state == ReservationState.CANCELLED
    assert booking.cancelled_at == NOW
    assert not Occupancy.objects.exists()
    rebooked = booker(ResidentFactory(), room)()
    assert rebooked.state in ACTIVE_STATES
    assert Occupancy.objects.get().reservation_id == rebooked.pk
    assert_database_consistent()


def test_a_cancelled_slot_goes_to_at_most_one_of_those_racing_for_it(room: Room) -> None:
    owner = ResidentFactory()
    booking = booker(owner, room, ("am", "pm"))()

    def cancel() -> Reservation:
        return reservation_cancel(
            reservation_id=booking.pk, resident=owner, cancelled_by=owner.user, channel=Channel.KIOSK, now=NOW
        )

    outcomes = race([cancel] + [booker(ResidentFactory(), room, ("pm",)) for _ in range(RACERS - 1)])

    assert outcomes[0].won, repr(outcomes[0].error)
    assert len(winners(outcomes[1:])) <= 1
    assert_all_slot_taken(outcomes)
    active = Reservation.objects.filter(state__in=ACTIVE_STATES)
    assert active.count() == len(winners(outcomes[1:]))
    assert_database_consistent()


# --- staff blocks -----------------------------------------------------------------------------


def test_bookings_and_staff_blocks_racing_for_one_slot_exactly_one_wins(room: Room) -> None:
    staff = StaffFactory()
    ids = band_ids(room.facility, "am", "pm")

    def block() -> Reservation:
        return block_create(room_id=room.pk, date=USE_DAY, band_ids=ids, note="区主催事業", staff_user=staff, now=NOW)

    calls = [booker(ResidentFactory(), room, ("pm",)) for _ in range(RACERS // 2)] + [block] * (RACERS // 2)
    random.Random(7).shuffle(calls)

    outcomes = race(calls)

    won = winners(outcomes)
    assert len(won) == 1
    assert_all_slot_taken(outcomes)
    booking = Reservation.objects.get()  # the losing blocks left no reservation row behind
    assert booking.pk == won[0].pk
    expected_bands = 2 if booking.kind == ReservationKind.BLOCK else 1
    assert Occupancy.objects.filter(reservation=booking).count() == expected_bands == Occupancy.objects.count()
    assert_database_consistent()


# --- bookings in flight ----------------------------------------------------------------------


def test_a_booking_in_flight_cannot_land_on_a_day_closed_meanwhile(facility: Any, room: Room) -> None:
    resident = ResidentFactory()
    closure_errors: list[BookingError] = []

    def hold_resident_row() -> None:  # e.g. the same resident's booking from another tab
        Resident.objects.select_for_update().get(pk=resident.pk)

    def close_the_day() -> None:  # while the booking is past its closure check, waiting for the row
        try:
            closure_create(facility=facility, date=USE_DAY, reason="設備点検")
        except BookingError as error:
            closure_errors.append(error)

    book_while_parked(hold_resident_row, booker(resident, room), close_the_day)

    closed = Closure.objects.filter(facility=facility, date=USE_DAY).exists()
    booked = Reservation.objects.filter(room=room, date=USE_DAY, state__in=ACTIVE_STATES).exists()
    assert closed or booked
    assert not (closed and booked), "an active booking on a closed day"
    assert closed == (not closure_errors)


def test_a_resident_suspended_while_their_booking_is_in_flight_cannot_book(room: Room) -> None:
    resident = ResidentFactory()  # the view loaded an active resident

    def suspend() -> None:  # staff suspend them; the UPDATE holds the row until it commits
        Resident.objects.filter(pk=resident.pk).update(status=ResidentStatus.SUSPENDED)

    outcome = book_while_parked(suspend, booker(resident, room))

    assert getattr(outcome.error, "code", None) == "not_active", repr(outcome.value or outcome.error)
    assert not Reservation.objects.exists()


# --- processes --------------------------------------------------------------------------------

PROCESS_RACER = r"""
import datetime as dt
import json
import sys

import django

django.setup()

from django.db import connection

from reservations.errors import BookingError
from reservations.models import Resident
from reservations.services import reservation_create

args = json.loads(sys.argv[1])
resident = Resident.objects.select_related("user").get(pk=args["resident"])
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
try:
    booking = reservation_create(
        resident=resident,
        room_id=args["room"],
        date=dt.date.fromisoformat(args["date"]),
        band_ids=args["bands"],
        channel="web",
        booked_by=resident.user,
        now=dt.datetime.fromisoformat(args["now"]),
    )
    result = {"won": booking.pk, "reference": booking.reference}
except BookingError as error:
    result = {"error": type(error).__name__, "code": error.code}
finally:
    connection.close()
print(json.dumps(result), flush=True)
"""
PROCESSES = 6  # each start-up (django.setup) costs ~2.5 s of CPU


def test_separate_processes_racing_for_one_slot_exactly_one_wins(room: Room) -> None:
    """The same race between operating-system processes, as between N ASGI workers."""
    db = connection.settings_dict
    url = "postgres://{user}:{password}@{host}:{port}/{name}".format(
        user=quote(db["USER"] or "", safe=""),
        password=quote(db["PASSWORD"] or "", safe=""),
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        name=quote(db["NAME"], safe=""),
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
    residents = [ResidentFactory() for _ in range(PROCESSES)]
    args = {
        "room": room.pk,
        "date": USE_DAY.isoformat(),
        "bands": band_ids(room.facility, "am"),
        "now": NOW.isoformat(),
    }
    root = Path(__file__).resolve().parents[2]

    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter running our own script
            [sys.executable, "-c", PROCESS_RACER, json.dumps({**args, "resident": r.pk})],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in residents
    ]
    watchdog = threading.Timer(JOIN_TIMEOUT, lambda: [p.kill() for p in processes])
    watchdog.start()
    try:
        for p in processes:  # a barrier: every process is set up and connected before any starts
            assert p.stdout is not None
            line = p.stdout.readline()
            if line.strip() != "ready":
                p.kill()
                pytest.fail(f"a racer failed to start: {line!r}\n{p.communicate()[1]}")
        for p in processes:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in processes:
            out, err = p.communicate(timeout=JOIN_TIMEOUT)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        watchdog.cancel()
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()

    won = [r for r in results if "won" in r]
    assert len(won) == 1, results
    assert [r for r in results if "won" not in r] == [{"error": "SlotTaken", "code": "slot_taken"}] * (PROCESSES - 1)
    booking = Reservation.objects.get()
    assert (booking.pk, booking.reference) == (won[0]["won"], won[0]["reference"])
    assert Occupancy.objects.get().reservation_id == booking.pk
    assert_database_consistent()
