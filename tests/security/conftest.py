"""A small ward for the security tests: two facilities in two departments, residents A and B, a
group A represents with member M, A's bookings (provisional and paid), lottery entries and a win
awaiting confirmation, a kiosk tablet at facility X, and staff of every kind — each with a logged-in
client (`World.client(role)`).

The clock is 2026-11-12 10:00 (Asia/Tokyo): December's first-come window is open, January's lottery
has been drawn (A's win awaits confirmation until 11-17), February's lottery takes entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from lottery import domain as lottery_domain
from lottery import services as lottery_services
from lottery.models import Eligibility, LotteryEntry, LotteryOutcome, LotteryRoom, LotteryRound
from payments import services as payment_services
from payments.models import Method, Payment
from reservations.domain import TOKYO
from reservations.models import Channel, Department, Facility, Group, Reservation, Resident, Room, StaffRole, User
from reservations.services import reservation_create, resident_set_pin
from tests.factories import (
    PASSWORD,
    DepartmentFactory,
    FacilityFactory,
    GroupFactory,
    ResidentFactory,
    StaffFactory,
    make_room,
    make_staff,
    staff_client,
)

NOW = dt.datetime(2026, 11, 12, 10, 0, tzinfo=TOKYO)
USE_DAY = dt.date(2026, 12, 7)  # a Monday in December: first-come open since 2026-11-01 09:00
JANUARY, JANUARY_DAY = dt.date(2027, 1, 1), dt.date(2027, 1, 9)
FEBRUARY, FEBRUARY_DAY = dt.date(2027, 2, 1), dt.date(2027, 2, 6)
PIN = "4821"

ANONYMOUS = "anonymous"
RESIDENT_A = "resident_a"
RESIDENT_B = "resident_b"
MEMBER = "group_member"
KIOSK = "kiosk"
KIOSK_A = "kiosk_resident_a"
KIOSK_B = "kiosk_resident_b"
COUNTER_X = "counter_x"
STAFF_Y = "staff_y"
DEPARTMENT_ADMIN = "department_admin"
AUDITOR = "auditor"
ROLES = (
    ANONYMOUS,
    RESIDENT_A,
    RESIDENT_B,
    MEMBER,
    KIOSK,
    KIOSK_A,
    KIOSK_B,
    COUNTER_X,
    STAFF_Y,
    DEPARTMENT_ADMIN,
    AUDITOR,
)
STAFF_ROLES = (COUNTER_X, STAFF_Y, DEPARTMENT_ADMIN, AUDITOR)


@dataclass
class World:
    department_x: Department
    department_y: Department
    facility_x: Facility
    facility_y: Facility
    room_x: Room
    room_y: Room
    hall: Room  # in the lottery, at facility X
    resident_a: Resident
    resident_b: Resident
    member: Resident
    group: Group  # represented by A, M is a member
    booking_a: Reservation  # provisional, with a fee
    paid_a: Reservation  # confirmed: paid at the counter
    payment_a: Payment
    booking_b: Reservation
    today_a: Reservation  # paid, for today at facility X (check-in, no-show)
    january: LotteryRound  # drawn: A's win awaits confirmation
    outcome_a: LotteryOutcome
    february: LotteryRound  # intake open
    entry_a: LotteryEntry  # active, in February's round
    staff: dict[str, User]
    kiosk_staff: User
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        if role not in self.clients:
            self.clients[role] = _login(self, role)
        return self.clients[role]

    def band_ids(self, room: Room, *codes: str) -> list[int]:
        return [b.pk for b in room.facility.time_bands.filter(code__in=codes).order_by("order")]


def _login(world: World, role: str) -> Client:
    if role == ANONYMOUS:
        return Client()
    if role in (RESIDENT_A, RESIDENT_B, MEMBER):
        resident = {RESIDENT_A: world.resident_a, RESIDENT_B: world.resident_b, MEMBER: world.member}[role]
        client = Client()
        response = client.post("/accounts/login/", {"username": resident.user.user_number, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]
        return client
    if role in (KIOSK, KIOSK_A, KIOSK_B):
        from kiosks.services import kiosk_create

        _kiosk, code = kiosk_create(
            facility=world.facility_x, name=f"tablet-{role}", created_by=world.kiosk_staff, now=NOW
        )
        client = Client()
        response = client.post("/kiosk/activate/", {"code": code})
        assert response.status_code == 302, response.content.decode()[:500]
        if role != KIOSK:
            resident = world.resident_a if role == KIOSK_A else world.resident_b
            response = client.post("/kiosk/login/", {"user_number": resident.user.user_number, "pin": PIN})
            assert response.status_code == 302, response.content.decode()[:500]
        return client
    return staff_client(world.staff[role])  # logged in with the second factor verified


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _book(
    resident: Resident, room: Room, codes: tuple[str, ...], day: dt.date = USE_DAY, now: dt.datetime = NOW
) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[b.pk for b in room.facility.time_bands.filter(code__in=codes).order_by("order")],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=now,
    )


def build_world() -> World:
    department_x = DepartmentFactory(code="dept-x", name="地域振興課")
    department_y = DepartmentFactory(code="dept-y", name="スポーツ振興課")
    facility_x = FacilityFactory(name="春日区民センター", department=department_x)
    facility_y = FacilityFactory(name="本駒込体育館", department=department_y)
    room_x = make_room(facility_x, "x1")
    room_y = make_room(facility_y, "y1")
    hall = make_room(facility_x, "hall", capacity=200)
    lottery_services.lottery_room_save(lottery_room=LotteryRoom(room=hall, eligibility=Eligibility.ANYONE))

    resident_a = ResidentFactory(full_name="春日 一郎")
    resident_b = ResidentFactory(full_name="本郷 二郎")
    member = ResidentFactory(full_name="小石川 三子")
    for person in (resident_a, resident_b):
        resident_set_pin(resident_id=person.pk, pin=PIN)
    group = GroupFactory(name="春日卓球クラブ", representative=resident_a)
    group.members.add(member)

    booking_a = _book(resident_a, room_x, ("am",))
    paid_a = _book(resident_a, room_x, ("pm",))
    kiosk_staff = StaffFactory(is_superuser=True)
    payment_a = payment_services.counter_payment_record(
        reservation_id=paid_a.pk, method=Method.CASH, receipt_number="R-0001", staff_user=kiosk_staff, now=NOW
    )
    paid_a.refresh_from_db()
    booking_b = _book(resident_b, room_y, ("am",))
    yesterday = NOW - dt.timedelta(days=1)
    today_a = _book(resident_a, room_x, ("ev",), day=NOW.date(), now=yesterday)
    payment_services.counter_payment_record(
        reservation_id=today_a.pk, method=Method.CASH, receipt_number="R-0002", staff_user=kiosk_staff, now=yesterday
    )
    today_a.refresh_from_db()

    # January: applied during intake, drawn on 11-11; A's win awaits confirmation until 11-17.
    january = lottery_services.round_create(facility_group=facility_x.group, use_month=JANUARY)
    intake = dt.datetime(2026, 11, 5, 10, 0, tzinfo=TOKYO)
    lottery_services.round_open(round_id=january.pk, now=intake)
    jan_entry = lottery_services.entry_apply(
        resident=resident_a,
        group=None,
        room_id=hall.pk,
        date=JANUARY_DAY,
        band_ids=[b.pk for b in facility_x.time_bands.filter(code="ev")],
        channel=Channel.WEB,
        created_by=resident_a.user,
        now=intake,
    )
    assert lottery_services.round_close(round_id=january.pk, now=dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=TOKYO))
    lottery_services.round_draw(round_id=january.pk, now=dt.datetime(2026, 11, 11, 9, 0, tzinfo=TOKYO))
    outcome_a = LotteryOutcome.objects.get(entry=jan_entry)
    january.refresh_from_db()

    # February: a round whose intake runs through November, so A's entry can still be changed.
    february = lottery_services.round_create(
        facility_group=facility_x.group,
        use_month=FEBRUARY,
        calendar=lottery_domain.RoundCalendar(
            intake_opens_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO),
            intake_closes_at=dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=TOKYO),
            draw_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO),
            confirm_by=dt.datetime(2026, 12, 7, 23, 59, 59, tzinfo=TOKYO),
            release_at=dt.datetime(2026, 12, 24, 23, 59, 59, tzinfo=TOKYO),
        ),
    )
    lottery_services.round_open(round_id=february.pk, now=NOW)
    entry_a = lottery_services.entry_apply(
        resident=resident_a,
        group=None,
        room_id=hall.pk,
        date=FEBRUARY_DAY,
        band_ids=[b.pk for b in facility_x.time_bands.filter(code="ev")],
        channel=Channel.WEB,
        created_by=resident_a.user,
        now=NOW,
    )

    staff = {
        COUNTER_X: make_staff(StaffRole.COUNTER, facilities=[facility_x]),
        STAFF_Y: make_staff(StaffRole.COUNTER, facilities=[facility_y]),
        DEPARTMENT_ADMIN: make_staff(StaffRole.DEPARTMENT_ADMIN, departments=[department_x]),
        AUDITOR: make_staff(StaffRole.AUDITOR),
    }
    return World(
        department_x=department_x,
        department_y=department_y,
        facility_x=facility_x,
        facility_y=facility_y,
        room_x=room_x,
        room_y=room_y,
        hall=hall,
        resident_a=resident_a,
        resident_b=resident_b,
        member=member,
        group=group,
        booking_a=booking_a,
        paid_a=paid_a,
        payment_a=payment_a,
        booking_b=booking_b,
        today_a=today_a,
        january=january,
        outcome_a=outcome_a,
        february=february,
        entry_a=entry_a,
        staff=staff,
        kiosk_staff=kiosk_staff,
    )


@pytest.fixture
def world(db: Any, clock: time_machine.Traveller) -> World:
    return build_world()


# Tables whose rows a refused request must leave exactly as they were.
GUARDED_TABLES = (
    "reservations_user",
    "reservations_resident",
    "reservations_group",
    "reservations_reservation",
    "reservations_occupancy",
    "lottery_lotteryentry",
    "lottery_lotteryoutcome",
    "payments_payment",
    "payments_refund",
)


def _digest_sql(table: str) -> str:
    digest = "count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '')"
    return f"SELECT '{table}', {digest} FROM {table} t"  # noqa: S608 - the table names are the constants above


def fingerprint() -> dict[str, str]:
    """A digest of every row of the guarded tables (PostgreSQL), to compare before and after a request."""
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(_digest_sql(table) for table in GUARDED_TABLES))
        return dict(cursor.fetchall())


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [table for table in before if before[table] != after[table]]
