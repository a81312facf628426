"""Shared set-up of the counter terminal tests (tests/kiosks/test_counter_*.py): two facilities in
different departments, staff of each role, and booking helpers that go through the services."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from reservations.models import Channel, Facility, Reservation, Resident, Room, StaffRole, User
from reservations.services import reservation_create
from tests.factories import DepartmentFactory, FacilityFactory, make_staff, staff_client
from tests.kiosks.conftest import NOW


def other_facility() -> Facility:
    """A facility of another department (and the same facility group)."""
    return FacilityFactory(
        name="向丘地域活動センター", department=DepartmentFactory(code="sports", name="スポーツ振興課")
    )


def desk(role: str, *facilities: Facility, **fields: object) -> tuple[Client, User]:
    """A logged-in staff terminal (second factor passed) of a member with `role` at `facilities`."""
    user = make_staff(role, facilities=list(facilities), **fields)
    return staff_client(user), user


def counter_desk(*facilities: Facility) -> tuple[Client, User]:
    return desk(StaffRole.COUNTER, *facilities)


def band_ids(facility: Facility, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def book(
    resident: Resident,
    room: Room,
    day: dt.date,
    *codes: str,
    booked_by: User,
    now: dt.datetime = NOW,
    channel: str = Channel.WEB,
) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=band_ids(room.facility, *(codes or ("am",))),
        channel=channel,
        booked_by=booked_by,
        now=now,
    )
