"""manage.py seed_demo / demo_logins: a Bunkyo-sized demo ward, deterministic from its seed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Exists, F, OuterRef
from django.test import Client
from django.utils import timezone

from reservations import demo, domain
from reservations.models import (
    Closure,
    Department,
    Facility,
    FacilityGroup,
    Group,
    Occupancy,
    Reservation,
    ReservationKind,
    ReservationState,
    Residency,
    Resident,
    ResidentStatus,
    Room,
    Tariff,
    TimeBand,
    User,
    booking_rules,
)

pytestmark = pytest.mark.django_db

# Nov 2026 – Feb 2027: 文化の日 (11/3), 年末年始 and 成人の日 (2027-01-11) fall inside.
START = "2026-11"


def seed_demo(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def ward() -> None:
    seed_demo(seed=7, residents=300, start_month=START)


def counts() -> dict[str, int]:
    return {
        "facilities": Facility.objects.count(),
        "rooms": Room.objects.count(),
        "residents": Resident.objects.count(),
        "reservations": Reservation.objects.count(),
    }


def snapshot() -> dict[str, list[tuple[object, ...]]]:
    return {
        "facilities": list(Facility.objects.order_by("code").values_list("code", "name", "address", "accessibility")),
        "rooms": list(
            Room.objects.order_by("facility__code", "code").values_list("facility__code", "code", "name", "capacity")
        ),
        "residents": list(
            Resident.objects.order_by("user__user_number").values_list("user__user_number", "full_name", "address")
        ),
        "reservations": list(
            Reservation.objects.order_by("reference").values_list("reference", "room__code", "date", "fee")
        ),
    }


def test_facilities_match_the_wards_figures(ward: None) -> None:
    kinds = Counter(Facility.objects.values_list("kind", flat=True))
    assert kinds == {"community": 27, "academy": 6, "cultural": 1, "sports": 7, "school": 30}
    assert Department.objects.count() == 9
    assert FacilityGroup.objects.get(code="school").first_come_opens_day == 5
    assert Facility.objects.get(code="kasuga-center").name == "春日区民センター"
    assert not Facility.objects.exclude(address__startswith="東京都文京区").exists()
    assert 230 <= Room.objects.count() <= 270


def test_divisible_halls_share_their_units(ward: None) -> None:
    wholes = list(Room.objects.annotate(n=Count("units")).filter(n__gte=2))
    assert wholes
    for whole in wholes:
        units = set(whole.units.values_list("pk", flat=True))
        halves = Room.objects.filter(units__in=units).exclude(pk=whole.pk).distinct()
        assert halves.count() == 2, whole
        assert {h.units.get().pk for h in halves} == units
        assert "全面" in whole.name


def test_every_room_has_a_fee_for_every_band(ward: None) -> None:
    bands = dict(TimeBand.objects.values("facility").annotate(n=Count("pk")).values_list("facility", "n"))
    for room_id, facility_id, tariffs in Room.objects.annotate(n=Count("tariffs")).values_list("pk", "facility", "n"):
        assert tariffs == bands[facility_id], room_id
    assert not Tariff.objects.filter(weekday_fee__lte=0).exists()
    assert not Tariff.objects.filter(holiday_fee__lt=F("weekday_fee")).exists()
    sports = Facility.objects.filter(kind="sports").first()
    assert sports.time_bands.count() == 12


def test_closures_cover_holidays_year_end_and_maintenance(ward: None) -> None:
    culture_day = dt.date(2026, 11, 3)
    assert domain.national_holidays(2026)[culture_day] == "文化の日"
    assert Closure.objects.get(facility__code="kasuga-center", date=culture_day, room=None).reason == "文化の日"
    # Schools and sports stay open on national holidays.
    assert not Closure.objects.filter(facility__kind="school", reason="文化の日").exists()
    assert Closure.objects.filter(date=dt.date(2026, 12, 31), reason="年末年始").count() == 71
    assert Closure.objects.filter(reason="設備点検").values("facility").distinct().count() == 71
    assert not Closure.objects.filter(room__isnull=False).exists()


def test_residents_groups_and_demo_logins(ward: None) -> None:
    assert Resident.objects.count() == 300
    statuses = Counter(Resident.objects.values_list("status", flat=True))
    assert statuses[ResidentStatus.ACTIVE] > 250
    assert statuses[ResidentStatus.PENDING] > 0
    channels = Counter(Resident.objects.values_list("registered_channel", flat=True))
    assert channels["web"] > channels["counter"] > 0
    residency = Counter(Resident.objects.values_list("residency", flat=True))
    assert residency[Residency.LIVES] > residency[Residency.OUTSIDER] > 0
    numbers = sorted(User.objects.filter(resident__isnull=False).values_list("user_number", flat=True))
    assert numbers[0] == "10000001"
    assert numbers[-1] == "10000300"

    resident = Resident.objects.get(user__user_number=demo.DEMO_RESIDENT)
    assert (resident.status, resident.residency, resident.user.email) == ("active", "lives", "demo@example.jp")
    assert not resident.reservations.exists()
    outsider = Resident.objects.get(user__user_number=demo.DEMO_OUTSIDER)
    assert outsider.status == ResidentStatus.ACTIVE
    assert outsider.is_outsider
    assert Client().login(username=demo.DEMO_RESIDENT, password=demo.DEMO_PASSWORD)
    assert Client().login(username=demo.DEMO_OUTSIDER, password=demo.DEMO_PASSWORD)
    assert Client().login(username=demo.STAFF_USER, password=demo.STAFF_PASSWORD)
    admin = User.objects.get(user_number=demo.ADMIN_USER)
    assert admin.is_superuser
    assert admin.check_password(demo.ADMIN_PASSWORD)

    assert Group.objects.count() == 15
    assert not Group.objects.filter(member_count__lt=5).exists()
    ward_groups = [g.is_ward_group for g in Group.objects.all()]
    assert sum(ward_groups) > len(ward_groups) / 2
    assert Group.objects.filter(representative=resident, status="active").exists()


def test_bookings_never_overlap_and_skip_closed_days(ward: None) -> None:
    reservations = Reservation.objects.all()
    assert 300 <= reservations.count() <= 424
    assert reservations.filter(kind=ReservationKind.BLOCK, resident=None, state="confirmed").exists()
    assert reservations.filter(state=ReservationState.PROVISIONAL).exists()
    occupied = Occupancy.objects.values_list("unit", "date", "band")
    assert occupied.count() == len(set(occupied))
    closed = Closure.objects.filter(facility=OuterRef("room__facility"), date=OuterRef("date"), room=None)
    assert not reservations.filter(Exists(closed)).exists()
    assert len({r.reference for r in reservations}) == reservations.count()

    fees = {(t.room_id, t.time_band_id): (t.weekday_fee, t.holiday_fee) for t in Tariff.objects.all()}
    bands = {}
    for band in TimeBand.objects.all():
        bands.setdefault(band.facility_id, []).append(band)
    units = Counter(Room.units.through.objects.values_list("room_id", flat=True))
    booked = (
        reservations.filter(kind=ReservationKind.FIRST_COME)
        .annotate(occupied=Count("occupancies"))
        .select_related("room__facility__group", "resident", "group", "band_from", "band_to")
    )
    for r in booked:
        span = [b for b in bands[r.room.facility_id] if r.band_from.order <= b.order <= r.band_to.order]
        assert r.occupied == units[r.room_id] * len(span)
        outsider = r.resident.is_outsider if r.group is None else not r.group.is_ward_group
        expected = domain.fee_for(
            band_fees=[fees[(r.room_id, b.pk)] for b in span],
            use_date=r.date,
            outsider=outsider,
            rules=booking_rules(r.room.facility.group),
        )
        assert r.fee == expected, r.reference


def test_unpaid_demo_bookings_can_still_be_paid(ward: None) -> None:
    unpaid = Reservation.objects.filter(state=ReservationState.PROVISIONAL)
    assert unpaid.exists()
    assert not unpaid.filter(payment_deadline__lt=timezone.now()).exists()


def test_same_seed_gives_the_same_ward() -> None:
    seed_demo(seed=7, residents=300, start_month=START)
    first = snapshot()
    seed_demo(seed=7, residents=300, start_month=START, reset=True)
    assert snapshot() == first
    seed_demo(seed=8, residents=300, start_month=START, reset=True)
    assert snapshot()["residents"] != first["residents"]


def test_if_empty_leaves_a_seeded_database_alone(ward: None) -> None:
    before = counts()
    out = seed_demo(seed=99, residents=50, if_empty=True)
    assert "省略" in out
    assert counts() == before


def test_refuses_to_seed_over_data_without_reset(ward: None) -> None:
    with pytest.raises(CommandError, match="--reset"):
        seed_demo(seed=7, residents=300)


def test_bad_start_month_is_refused() -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        seed_demo(seed=7, residents=10, start_month="11/2026")


def test_demo_logins_prints_every_account() -> None:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for expected in ["10000001", "10000002", "demo-pass-2026", "staff01", "staff-demo-2026", "admin-demo-2026"]:
        assert expected in text
    assert "http://127.0.0.1:8000/" in text


@pytest.mark.smoke
def test_small_demo_ward_seeds_and_logs_in() -> None:
    out = seed_demo(seed=1, residents=40)
    assert "71" in out
    assert Facility.objects.count() == 71
    assert Resident.objects.count() == 40
    assert Client().login(username=demo.DEMO_RESIDENT, password=demo.DEMO_PASSWORD)
