"""Reads of the booking hub. Query counts are constant in rooms and days: every grid is built
from a fixed handful of queries and assembled in Python."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.db import connection
from django.db.models import Count, Q, QuerySet

from . import availability_cache, domain
from .domain import Cell
from .models import (
    ACTIVE_STATES,
    Closure,
    Facility,
    Occupancy,
    Purpose,
    Reservation,
    ReservationKind,
    Resident,
    Room,
    TimeBand,
    booking_rules,
)


@dataclass(frozen=True)
class RoomFilter:
    purpose: str | None = None
    min_capacity: int | None = None


@dataclass
class Availability:
    """Free/taken state of every (room, day, band) of one facility over a range of days."""

    facility: Facility
    rooms: list[Room]
    bands: list[TimeBand]
    days: list[dt.date]
    now: dt.datetime
    slots: dict[tuple[int, dt.date, int], Cell] = field(default_factory=dict)
    closed_days: set[tuple[int | None, dt.date]] = field(default_factory=set)

    @cached_property
    def _band_ids(self) -> list[int]:
        return [band.pk for band in self.bands]

    @property
    def rules(self) -> domain.BookingRules:
        return booking_rules(self.facility.group)

    def slot(self, room: Room, day: dt.date, band: TimeBand) -> Cell:
        return self.slots[(room.pk, day, band.pk)]

    def bookable(self, room: Room, day: dt.date, band: TimeBand) -> bool:
        """Free now and inside the first-come window, so the resident can book it right away."""
        if self.slot(room, day, band) is not Cell.FREE:
            return False
        return domain.window_refusal(use_date=day, band_start=band.starts_at, now=self.now, rules=self.rules) is None

    def day(self, room: Room, day: dt.date) -> Cell:
        room_id = room.pk
        cells = [self.slots[(room_id, day, band_id)] for band_id in self._band_ids]
        if any(c is Cell.CLOSED for c in cells):
            return Cell.CLOSED
        if all(c is Cell.UNAVAILABLE for c in cells):
            return Cell.UNAVAILABLE
        free = sum(c is Cell.FREE for c in cells)
        open_cells = sum(c is not Cell.UNAVAILABLE for c in cells)
        return domain.day_cell(free_bands=free, total_bands=open_cells, closed=False)

    def window_opens_at(self, day: dt.date) -> dt.datetime:
        return domain.first_come_opens_at(day, self.rules)


def active_facilities() -> QuerySet[Facility]:
    return Facility.objects.filter(is_active=True).select_related("group", "department")


def all_purposes() -> list[Purpose]:
    """Every purpose, for the search filters: from the catalogue cache."""
    return availability_cache.catalogue_item("purposes", lambda: list(Purpose.objects.order_by("code")))


def facility_get(facility_id: int) -> Facility | None:
    """An active facility with its group and department, from the catalogue cache."""
    return availability_cache.catalogue_item(
        f"facility:{facility_id}", lambda: active_facilities().filter(pk=facility_id).first()
    )


def _catalogue(facility: Facility) -> tuple[list[Room], list[TimeBand]]:
    """The facility's active rooms (with units and purposes) and time bands, from the cache."""

    def load() -> tuple[list[Room], list[TimeBand]]:
        rooms = Room.objects.filter(facility=facility, is_active=True).prefetch_related("units", "purposes")
        bands = TimeBand.objects.filter(facility=facility).order_by("order")
        return list(rooms.order_by("display_order", "code")), list(bands)

    return availability_cache.facility_catalogue(facility.pk, load)


def facility_rooms(facility: Facility, room_filter: RoomFilter | None = None) -> list[Room]:
    rooms, _bands = _catalogue(facility)
    if room_filter is not None:
        if room_filter.purpose:
            rooms = [r for r in rooms if any(p.code == room_filter.purpose for p in r.purposes.all())]
        if room_filter.min_capacity:
            rooms = [r for r in rooms if r.capacity >= room_filter.min_capacity]
    return rooms


Cells = tuple[frozenset[tuple[int, dt.date, int]], frozenset[tuple[int | None, dt.date]]]


def _cells_from_db(facility_id: int, first: dt.date, last: dt.date) -> Cells:
    closed = Closure.objects.filter(facility_id=facility_id, date__range=(first, last)).values_list("room_id", "date")
    occupied = Occupancy.objects.filter(unit__facility_id=facility_id, date__range=(first, last)).values_list(
        "unit_id", "date", "band_id"
    )
    return frozenset(occupied), frozenset(closed)


def _taken_cells(facility_id: int, first: dt.date, last: dt.date) -> Cells:
    """Occupied (unit, day, band) and closed (room or None, day) over the days, from the cache."""
    return availability_cache.facility_cells(facility_id, first, last, lambda: _cells_from_db(facility_id, first, last))


def day_cells(facility_id: int, day: dt.date) -> Cells:
    """The facility's occupied (unit, day, band) and closed (room or None, day) cells of one day,
    from the cache guarded by that day's version. Inside a caller's transaction they come from the
    database: that transaction's own writes count, and being uncommitted they must not be cached
    (a rollback does not bump the version)."""
    if connection.in_atomic_block:
        return _cells_from_db(facility_id, day, day)
    return _taken_cells(facility_id, day, day)


def day_cells_warm(facility_id: int, days: list[dt.date]) -> None:
    """Compute and cache the one-day cells a write has just changed (after its commit and the
    version bump): at 09:00 the crowd asking "is this slot still free?" about that day then finds
    them current, instead of each of its requests querying PostgreSQL at once."""
    for day in days:
        _taken_cells(facility_id, day, day)


def availability(
    *,
    facility: Facility,
    days: list[dt.date],
    now: dt.datetime,
    room_filter: RoomFilter | None = None,
    only_room: Room | None = None,
) -> Availability:
    """Every slot of the facility's rooms (or of `only_room`) over `days`: a few cache reads, or
    four queries on a miss, whatever the number of rooms and days."""
    rooms = [only_room] if only_room is not None else facility_rooms(facility, room_filter)
    _rooms, bands = _catalogue(facility)
    occupied, closed = _taken_cells(facility.pk, min(days), max(days))
    result = Availability(facility=facility, rooms=rooms, bands=bands, days=days, now=now, closed_days=set(closed))
    now_tokyo = now.astimezone(domain.TOKYO)
    # Ids and start instants once, not per cell: a month grid has thousands of cells, rebuilt after
    # every booking at 09:00.
    band_ids = [band.pk for band in bands]
    started = {
        (day, band_id): dt.datetime.combine(day, band.starts_at, tzinfo=domain.TOKYO) <= now_tokyo
        for day in days
        for band_id, band in zip(band_ids, bands, strict=True)
    }
    slots = result.slots
    for room in rooms:
        room_id = room.pk
        unit_ids = [u.pk for u in room.units.all()]
        for day in days:
            room_closed = (None, day) in closed or (room_id, day) in closed
            for band_id in band_ids:
                if room_closed:
                    cell = Cell.CLOSED
                elif any((u, day, band_id) in occupied for u in unit_ids):
                    cell = Cell.TAKEN
                elif started[(day, band_id)]:
                    cell = Cell.UNAVAILABLE
                else:
                    cell = Cell.FREE
                slots[(room_id, day, band_id)] = cell
    return result


def facility_search(
    *, kind: str | None = None, purpose: str | None = None, min_capacity: int | None = None
) -> QuerySet[Facility]:
    """Facilities with at least one active room matching the filters, with the count of matches."""
    room_q = Q(rooms__is_active=True)
    if purpose:
        room_q &= Q(rooms__purposes__code=purpose)
    if min_capacity:
        room_q &= Q(rooms__capacity__gte=min_capacity)
    facilities = active_facilities().annotate(matching_rooms=Count("rooms", filter=room_q, distinct=True))
    if kind:
        facilities = facilities.filter(kind=kind)
    return facilities.filter(matching_rooms__gt=0).order_by("kind", "code")


def resident_reservations(resident: Resident, *, include_past: bool = False, today: dt.date) -> QuerySet[Reservation]:
    """The resident's own bookings and those of the groups they represent."""
    bookings = (
        Reservation.objects.filter(Q(resident=resident) | Q(group__representative=resident))
        .select_related("room__facility", "band_from", "band_to", "group", "purpose")
        .order_by("date", "band_from__order")
    )
    if not include_past:
        bookings = bookings.filter(date__gte=today)
    return bookings


def reservation_for_resident(resident: Resident, reservation_id: int) -> Reservation | None:
    return (
        Reservation.objects.filter(Q(resident=resident) | Q(group__representative=resident), pk=reservation_id)
        .select_related("room__facility", "band_from", "band_to", "group", "purpose")
        .first()
    )


def active_count_in_month(resident: Resident, month: dt.date) -> int:
    first = domain.month_start(month)
    return Reservation.objects.filter(
        resident=resident,
        group__isnull=True,
        state__in=ACTIVE_STATES,
        kind=ReservationKind.FIRST_COME,
        date__gte=first,
        date__lt=domain.add_months(first, 1),
    ).count()


def room_with_bands(room_id: int) -> tuple[Room, list[TimeBand]] | None:
    """A bookable room with its facility, rules, purposes, tariffs and units, and the facility's
    bands: from the catalogue cache, since every booking attempt at 09:00 starts here."""

    def load() -> tuple[Room, list[TimeBand]] | None:
        room = (
            Room.objects.filter(pk=room_id, is_active=True, facility__is_active=True)
            .select_related("facility__group", "facility__department")
            .prefetch_related("purposes", "tariffs", "units", "equipment_items")
            .first()
        )
        if room is None:
            return None
        return room, list(TimeBand.objects.filter(facility_id=room.facility_id).order_by("order"))

    return availability_cache.room_with_bands(room_id, load)


def bands_by_facility(facility_ids: list[int]) -> dict[int, list[TimeBand]]:
    grouped: dict[int, list[TimeBand]] = defaultdict(list)
    for band in TimeBand.objects.filter(facility_id__in=facility_ids).order_by("order"):
        grouped[band.facility_id].append(band)
    return grouped
