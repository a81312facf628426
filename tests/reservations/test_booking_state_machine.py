"""Random sequences of bookings, cancellations and staff blocks against a pure model of the slots.

The machine runs a divisible hall (whole + halves A and B) and a plain room, three bands, three
dates and a few residents. After every step the booking invariants are checked in SQL, without the
model's help, and the database's taken cells are compared with the model's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from reservations.errors import BookingError, NotFound, SlotTaken
from reservations.models import (
    ACTIVE_STATES,
    Channel,
    Occupancy,
    Reservation,
    ReservationKind,
    ReservationState,
    Resident,
    Room,
    User,
)
from reservations.services import block_create, reservation_cancel, reservation_create
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, make_divisible_hall, make_room

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC)
DATES = [dt.date(2026, 12, 5), dt.date(2026, 12, 6), dt.date(2026, 12, 7)]  # Sat, Sun, Mon
BAND_ORDER = ["am", "pm", "ev"]
SPANS = [("am",), ("pm",), ("ev",), ("am", "pm"), ("pm", "ev"), ("am", "pm", "ev"), ("am", "ev")]  # the last is bad
CAP = 3  # each resident's monthly cap; small, so the machine also exercises the quota (modelled below)

Cell = tuple[str, dt.date, str]  # (unit code, date, band code)


@dataclass
class World:
    rooms: dict[str, Room]
    units: dict[str, frozenset[str]]  # room code → unit codes
    bands: dict[str, int]  # band code → pk
    residents: list[Resident]
    stranger: Resident
    staff: User


@dataclass(frozen=True)
class Held:
    pk: int
    holder: int | None  # index into World.residents; None for a staff block
    cells: frozenset[Cell]


def is_span(span: tuple[str, ...]) -> bool:
    orders = [BAND_ORDER.index(b) for b in span]
    return orders == list(range(orders[0], orders[0] + len(orders)))


def rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


ACTIVE = [str(s) for s in ACTIVE_STATES]


class BookingMachine(RuleBasedStateMachine):
    world: ClassVar[World]

    reservations = Bundle("reservations")
    ended = Bundle("ended")

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in its own savepoint and leaves nothing behind for the next one.
        self._example = transaction.atomic()
        self._example.__enter__()
        self.taken: dict[Cell, int] = {}
        self.active: dict[int, Held] = {}
        self.ended_states: dict[int, str] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # --- the model -------------------------------------------------------------------------

    def cells(self, room: str, date: dt.date, span: tuple[str, ...]) -> frozenset[Cell]:
        return frozenset((u, date, b) for u in self.world.units[room] for b in span)

    def holding(self, resident: int) -> int:
        return sum(1 for h in self.active.values() if h.holder == resident)

    def take(self, pk: int, holder: int | None, cells: frozenset[Cell]) -> int:
        assert not cells & self.taken.keys()
        self.active[pk] = Held(pk, holder, cells)
        self.taken.update(dict.fromkeys(cells, pk))
        return pk

    # --- rules -----------------------------------------------------------------------------

    @rule(
        target=reservations,
        resident=st.integers(0, 3),
        room=st.sampled_from(["gym", "gym-a", "gym-b", "r1"]),
        date=st.sampled_from(DATES),
        span=st.sampled_from(SPANS),
    )
    def book(self, resident: int, room: str, date: dt.date, span: tuple[str, ...]) -> Any:
        who = self.world.residents[resident]
        wanted = self.cells(room, date, span)
        call = dict(
            resident=who,
            room_id=self.world.rooms[room].pk,
            date=date,
            band_ids=[self.world.bands[b] for b in span],
            channel=Channel.WEB,
            booked_by=who.user,
            now=NOW,
        )
        if not is_span(span):
            expected = "bad_span"
        elif wanted & self.taken.keys():
            expected = "slot_taken"
        elif self.holding(resident) >= CAP:
            expected = "quota"
        else:
            expected = None
        try:
            booking = reservation_create(**call)
        except BookingError as error:
            assert error.code == expected, f"refused with {error.code!r}, the model expected {expected!r}"
            if expected == "slot_taken":
                assert type(error) is SlotTaken
            return multiple()
        assert expected is None, f"booked, but the model expected {expected!r}"
        assert booking.kind == ReservationKind.FIRST_COME and booking.resident_id == who.pk
        return self.take(booking.pk, resident, wanted)

    @rule(
        target=reservations,
        room=st.sampled_from(["gym", "gym-a", "gym-b", "r1"]),
        date=st.sampled_from(DATES),
        span=st.sampled_from(SPANS),
    )
    def block(self, room: str, date: dt.date, span: tuple[str, ...]) -> Any:
        """A staff block has no free-check in front of its insert: a clash is decided by the UNIQUE
        constraint inside the test's transaction, and the savepoint must leave it usable."""
        wanted = self.cells(room, date, span)
        expected = "bad_span" if not is_span(span) else "slot_taken" if wanted & self.taken.keys() else None
        try:
            booking = block_create(
                room_id=self.world.rooms[room].pk,
                date=date,
                band_ids=[self.world.bands[b] for b in span],
                note="区主催事業",
                staff_user=self.world.staff,
                now=NOW,
            )
        except BookingError as error:
            assert error.code == expected, f"refused with {error.code!r}, the model expected {expected!r}"
            assert not connection.needs_rollback, "a lost race left the caller's transaction unusable"
            return multiple()
        assert expected is None, f"blocked, but the model expected {expected!r}"
        assert booking.kind == ReservationKind.BLOCK
        return self.take(booking.pk, None, wanted)

    @rule(target=ended, pk=consumes(reservations), by_staff=st.booleans())
    def cancel(self, pk: int, by_staff: bool) -> int:
        held = self.active[pk]
        if held.holder is None or by_staff:
            asker, user = None, self.world.staff
        else:
            asker = self.world.residents[held.holder]
            user = asker.user
        cancelled = reservation_cancel(
            reservation_id=pk, resident=asker, cancelled_by=user, channel=Channel.COUNTER, now=NOW
        )
        assert cancelled.state == ReservationState.CANCELLED
        del self.active[pk]
        for cell in held.cells:
            del self.taken[cell]
        self.ended_states[pk] = ReservationState.CANCELLED
        return pk

    @rule(pk=ended)
    def cancel_again(self, pk: int) -> None:
        try:
            reservation_cancel(
                reservation_id=pk, resident=None, cancelled_by=self.world.staff, channel=Channel.COUNTER, now=NOW
            )
        except BookingError as error:
            assert type(error) is BookingError and error.code == "already_ended"
        else:
            raise AssertionError("an ended booking was cancelled twice")

    @rule(pk=reservations)
    def stranger_cannot_cancel(self, pk: int) -> None:
        stranger = self.world.stranger
        try:
            reservation_cancel(reservation_id=pk, resident=stranger, cancelled_by=stranger.user, channel="web", now=NOW)
        except NotFound as error:
            assert error.code == "unknown_reservation"
        else:
            raise AssertionError("a stranger cancelled someone else's booking")

    # --- invariants, read from the tables without the model ---------------------------------

    @invariant()
    def no_cell_is_held_twice(self) -> None:
        assert (
            rows(
                """SELECT unit_id, date, band_id FROM reservations_occupancy
                   GROUP BY unit_id, date, band_id HAVING COUNT(*) > 1"""
            )
            == []
        )

    @invariant()
    def every_occupancy_belongs_to_an_active_reservation_on_its_room_date_and_bands(self) -> None:
        strays = rows(
            """SELECT o.id FROM reservations_occupancy o
               JOIN reservations_reservation r ON r.id = o.reservation_id
               JOIN reservations_timeband b ON b.id = o.band_id
               JOIN reservations_timeband bf ON bf.id = r.band_from_id
               JOIN reservations_timeband bt ON bt.id = r.band_to_id
               WHERE r.state <> ALL(%s)
                  OR o.date <> r.date
                  OR b."order" NOT BETWEEN bf."order" AND bt."order"
                  OR NOT EXISTS (SELECT 1 FROM reservations_room_units ru
                                 WHERE ru.room_id = r.room_id AND ru.roomunit_id = o.unit_id)""",
            [ACTIVE],
        )
        assert strays == []

    @invariant()
    def every_active_reservation_holds_units_times_bands(self) -> None:
        wrong = rows(
            """SELECT r.id,
                      (SELECT COUNT(*) FROM reservations_occupancy o WHERE o.reservation_id = r.id),
                      (SELECT COUNT(*) FROM reservations_room_units ru WHERE ru.room_id = r.room_id)
                        * (bt."order" - bf."order" + 1)
               FROM reservations_reservation r
               JOIN reservations_timeband bf ON bf.id = r.band_from_id
               JOIN reservations_timeband bt ON bt.id = r.band_to_id
               WHERE r.state = ANY(%s)""",
            [ACTIVE],
        )
        assert [w for w in wrong if w[1] != w[2]] == []

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        in_db = {
            (unit, date, band): pk
            for unit, date, band, pk in rows(
                """SELECT u.code, o.date, b.code, o.reservation_id FROM reservations_occupancy o
                   JOIN reservations_roomunit u ON u.id = o.unit_id
                   JOIN reservations_timeband b ON b.id = o.band_id"""
            )
        }
        assert in_db == self.taken
        states = dict(rows("SELECT id, state FROM reservations_reservation"))
        assert {pk for pk, s in states.items() if s in ACTIVE} == set(self.active)
        assert {pk: s for pk, s in states.items() if s not in ACTIVE} == self.ended_states


def test_random_bookings_cancellations_and_blocks_keep_the_slots_consistent() -> None:
    facility = FacilityFactory()
    facility.group.max_active_bookings_per_month = CAP
    facility.group.save()
    whole, half_a, half_b = make_divisible_hall(facility)
    room = make_room(facility, "r1")
    rooms = {r.code: r for r in (whole, half_a, half_b, room)}
    BookingMachine.world = World(
        rooms=rooms,
        units={code: frozenset(r.units.values_list("code", flat=True)) for code, r in rooms.items()},
        bands={b.code: b.pk for b in facility.time_bands.all()},
        residents=[ResidentFactory() for _ in range(4)],
        stranger=ResidentFactory(),
        staff=StaffFactory(),
    )
    assert BookingMachine.world.units["gym"] == {"gym-a", "gym-b"}

    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # Every example rolled back to the state the test set up.
    assert not Reservation.objects.exists() and not Occupancy.objects.exists()


def test_a_lost_insert_leaves_the_callers_transaction_usable() -> None:
    """block_create goes straight to the insert, so a clash fails inside the database; the service's
    savepoint keeps the surrounding (here: the test's) transaction alive and clean."""
    facility = FacilityFactory()
    room = make_room(facility, "r1")
    other = make_room(facility, "r2")
    staff = StaffFactory()
    am = [facility.time_bands.get(code="am").pk]
    resident = ResidentFactory()
    booking = reservation_create(
        resident=resident,
        room_id=room.pk,
        date=DATES[2],
        band_ids=am,
        channel=Channel.WEB,
        booked_by=resident.user,
        now=NOW,
    )

    with pytest.raises(SlotTaken) as info:
        block_create(room_id=room.pk, date=DATES[2], band_ids=am, note="点検", staff_user=staff, now=NOW)

    assert info.value.__cause__ is not None  # it failed at the constraint, not at a read
    assert not connection.needs_rollback
    assert list(Reservation.objects.values_list("pk", flat=True)) == [booking.pk]  # no orphan block row
    assert Occupancy.objects.get().reservation_id == booking.pk
    block = block_create(room_id=other.pk, date=DATES[2], band_ids=am, note="点検", staff_user=staff, now=NOW)
    assert Occupancy.objects.filter(reservation=block).count() == 1
