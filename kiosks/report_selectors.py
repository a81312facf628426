"""The monthly report's figures (docs/reports.md): the ward's four tables, each split by channel —
valid users at month end, lottery applications, reservation applications, accesses — and the
occupancy of every facility.

Every figure is an aggregate query; nothing here writes. `monthly_report` takes the facilities the
reader may see (None: the whole ward): per-facility figures are limited to them, and the figures
that belong to no facility (valid users, internet and staff-terminal accesses) are given to
ward-wide readers only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from lottery.models import EntryStatus, LotteryEntry
from reservations.domain import TOKYO, add_months, month_days
from reservations.models import (
    Channel,
    Facility,
    Group,
    Occupancy,
    Reservation,
    ReservationKind,
    Resident,
    ResidentStatus,
    RoomUnit,
    TimeBand,
)

from .models import AccessCount, KioskAccess, UserKind, ValidUserCount

CHANNELS: tuple[str, ...] = (Channel.WEB, Channel.KIOSK, Channel.COUNTER)
# Reservations made for residents and groups; staff blocks (公用) are not applications.
APPLICATION_KINDS: tuple[str, ...] = (ReservationKind.FIRST_COME, ReservationKind.LOTTERY)


class MonthRefused(ValueError):
    """The month asked for cannot be reported; `message` says why, for the reader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_month(text: str, *, now: dt.datetime) -> dt.date:
    """ "2026-10" → 2026-10-01. Refused: a malformed month, or one that has not begun."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not (2000 <= int(match[1]) <= 2100 and 1 <= int(match[2]) <= 12):
        raise MonthRefused(_("月は「2026-10」の形で指定してください。"))
    month = dt.date(int(match[1]), int(match[2]), 1)
    if month > now.astimezone(TOKYO).date():
        raise MonthRefused(_("まだ始まっていない月の報告は作成できません。"))
    return month


def default_month(now: dt.datetime) -> dt.date:
    """The month a report is usually made for: the last complete one."""
    return add_months(now.astimezone(TOKYO).date().replace(day=1), -1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's first instant and the next month's first instant, in Tokyo."""
    start = dt.datetime.combine(month, dt.time.min, tzinfo=TOKYO)
    return start, dt.datetime.combine(add_months(month, 1), dt.time.min, tzinfo=TOKYO)


@dataclass(frozen=True)
class ChannelCounts:
    web: int = 0
    kiosk: int = 0
    counter: int = 0

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> ChannelCounts:
        return cls(
            web=int(counts.get(Channel.WEB, 0)),
            kiosk=int(counts.get(Channel.KIOSK, 0)),
            counter=int(counts.get(Channel.COUNTER, 0)),
        )

    @property
    def total(self) -> int:
        return self.web + self.kiosk + self.counter

    def get(self, channel: str) -> int:
        return {Channel.WEB: self.web, Channel.KIOSK: self.kiosk, Channel.COUNTER: self.counter}[Channel(channel)]

    def values(self) -> list[int]:
        """The counts in channel order (internet, kiosk, counter), then the total."""
        return [self.web, self.kiosk, self.counter, self.total]

    def __add__(self, other: ChannelCounts) -> ChannelCounts:
        return ChannelCounts(self.web + other.web, self.kiosk + other.kiosk, self.counter + other.counter)


def _sum_counts(items: Iterable[ChannelCounts]) -> ChannelCounts:
    total = ChannelCounts()
    for item in items:
        total = total + item
    return total


@dataclass(frozen=True)
class Utilisation:
    """How much of a facility's time was booked. A slot is one unit (the smallest bookable space;
    a divisible hall's whole covers both its halves' units) for one time band of one day; slots
    held by a closure are not available and not counted. Hours weigh each slot by its band."""

    slots: int = 0  # available slots (closures excluded)
    closed: int = 0  # slots held by closures
    booked: int = 0  # slots held by residents' and groups' bookings and lottery wins
    blocked: int = 0  # slots held by staff blocks (公用・優先予約)
    hours: float = 0.0  # available hours
    used_hours: float = 0.0  # hours held by bookings, wins and blocks

    @property
    def rate(self) -> float | None:
        """Booked (and blocked) hours ÷ available hours; None when nothing was available."""
        return self.used_hours / self.hours if self.hours else None

    @property
    def rate_text(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}%"

    def __add__(self, other: Utilisation) -> Utilisation:
        return Utilisation(
            self.slots + other.slots,
            self.closed + other.closed,
            self.booked + other.booked,
            self.blocked + other.blocked,
            self.hours + other.hours,
            self.used_hours + other.used_hours,
        )


@dataclass(frozen=True)
class FacilityFigures:
    facility: Facility
    lottery: ChannelCounts
    reservations: ChannelCounts
    kiosk_accesses: int
    utilisation: Utilisation


class ValidUsersSource:
    RECORDED = "recorded"  # recorded by the reports tick right after the month ended: exact
    CURRENT = "current"  # the month is still running: as of now
    ESTIMATED = "estimated"  # a past month never recorded: worked out from today's statuses


@dataclass(frozen=True)
class ValidUsers:
    individuals: ChannelCounts
    groups: ChannelCounts
    source: str

    @property
    def total(self) -> ChannelCounts:
        return self.individuals + self.groups


@dataclass(frozen=True)
class MonthlyReport:
    month: dt.date
    as_of: dt.datetime  # the month's end, or now while the month is running
    in_progress: bool
    ward_wide: bool
    facilities: list[FacilityFigures]
    lottery: ChannelCounts
    reservations_by_kind: dict[str, ChannelCounts]
    kiosk_accesses: int
    utilisation: Utilisation
    valid_users: ValidUsers | None  # ward-wide readers only
    accesses: ChannelCounts | None  # ward-wide readers only

    @property
    def reservations(self) -> ChannelCounts:
        return _sum_counts(self.reservations_by_kind.values())


def valid_users_at(at: dt.datetime) -> dict[tuple[str, str], int]:
    """Registrations valid at `at` by (kind, registration channel), from today's statuses: active
    now, not disabled, and activated (or, for records without an activation time, registered)
    before `at`. Exact for `at` = now; for an earlier moment it misses whoever was suspended or
    disabled since (no status history is kept — hence `ValidUserCount`)."""
    before = Q(activated_at__lt=at) | Q(activated_at__isnull=True, registered_at__lt=at)
    counts: dict[tuple[str, str], int] = {}
    residents = Resident.objects.filter(before, status=ResidentStatus.ACTIVE, user__is_active=True)
    for row in residents.values("registered_channel").annotate(n=Count("pk")):
        counts[(UserKind.INDIVIDUAL, row["registered_channel"])] = row["n"]
    groups = Group.objects.filter(before, status=ResidentStatus.ACTIVE)
    for row in groups.values("registered_channel").annotate(n=Count("pk")):
        counts[(UserKind.GROUP, row["registered_channel"])] = row["n"]
    return counts


def valid_users(month: dt.date, *, now: dt.datetime) -> ValidUsers:
    _start, end = month_bounds(month)
    recorded = list(ValidUserCount.objects.filter(month=month).values_list("kind", "channel", "count"))
    if recorded:
        counts = {(kind, channel): n for kind, channel, n in recorded}
        source = ValidUsersSource.RECORDED
    elif now < end:
        counts, source = valid_users_at(now), ValidUsersSource.CURRENT
    else:
        counts, source = valid_users_at(end), ValidUsersSource.ESTIMATED
    return ValidUsers(
        individuals=ChannelCounts.of({c: counts.get((UserKind.INDIVIDUAL, c), 0) for c in CHANNELS}),
        groups=ChannelCounts.of({c: counts.get((UserKind.GROUP, c), 0) for c in CHANNELS}),
        source=source,
    )


def _per_facility_channel(rows: Iterable[Mapping[str, Any]], facility_key: str) -> dict[int, ChannelCounts]:
    grouped: dict[int, Counter[str]] = defaultdict(Counter)
    for row in rows:
        grouped[row[facility_key]][row["channel"]] += row["n"]
    return {facility_id: ChannelCounts.of(counts) for facility_id, counts in grouped.items()}


def _band_hours(band: TimeBand) -> float:
    day = dt.date(2000, 1, 1)
    length = dt.datetime.combine(day, band.ends_at) - dt.datetime.combine(day, band.starts_at)
    return length.total_seconds() / 3600


def utilisation(facility_ids: Iterable[int], month: dt.date) -> dict[int, Utilisation]:
    """Every facility's `Utilisation` in `month`, read from the Occupancy rows (one per held
    unit, day and band: bookings, lottery wins, blocks and closures alike)."""
    facility_ids = list(facility_ids)
    days = month_days(month)
    units: dict[int, set[int]] = defaultdict(set)  # units of active rooms, per facility
    for facility_id, unit_id in (
        RoomUnit.objects.filter(facility_id__in=facility_ids, rooms__is_active=True)
        .values_list("facility_id", "pk")
        .distinct()
    ):
        units[facility_id].add(unit_id)
    bands: dict[int, list[TimeBand]] = defaultdict(list)
    for band in TimeBand.objects.filter(facility_id__in=facility_ids):
        bands[band.facility_id].append(band)
    held: dict[tuple[int, int], dict[str | None, int]] = defaultdict(dict)  # (facility, band) → kind → slots
    occupied = (
        Occupancy.objects.filter(
            date__gte=days[0], date__lte=days[-1], unit_id__in=[u for s in units.values() for u in s]
        )
        .values("unit__facility_id", "band_id", "reservation__kind")
        .annotate(n=Count("pk"))
    )
    for row in occupied:
        held[(row["unit__facility_id"], row["band_id"])][row["reservation__kind"]] = row["n"]
    figures = {}
    for facility_id in facility_ids:
        total = Utilisation()
        for band in bands.get(facility_id, []):
            kinds = held.get((facility_id, band.pk), {})
            closed = kinds.get(None, 0)
            blocked = kinds.get(ReservationKind.BLOCK, 0)
            booked = sum(n for kind, n in kinds.items() if kind is not None and kind != ReservationKind.BLOCK)
            slots = len(units.get(facility_id, ())) * len(days) - closed
            hours = _band_hours(band)
            total = total + Utilisation(
                slots=slots,
                closed=closed,
                booked=booked,
                blocked=blocked,
                hours=slots * hours,
                used_hours=(booked + blocked) * hours,
            )
        figures[facility_id] = total
    return figures


def monthly_report(*, month: dt.date, facility_ids: frozenset[int] | None, now: dt.datetime) -> MonthlyReport:
    """The report of `month` for a reader who sees `facility_ids` (None: the whole ward)."""
    start, end = month_bounds(month)
    first, last = start.date(), (end - dt.timedelta(days=1)).date()
    facilities = Facility.objects.select_related("department").order_by("kind", "code")
    if facility_ids is not None:
        facilities = facilities.filter(pk__in=facility_ids)
    facility_list = list(facilities)
    ids = [f.pk for f in facility_list]

    entries = LotteryEntry.objects.filter(created_at__gte=start, created_at__lt=end, room__facility_id__in=ids).exclude(
        status=EntryStatus.WITHDRAWN
    )
    lottery = _per_facility_channel(
        entries.values("room__facility_id", "channel").annotate(n=Count("pk")), "room__facility_id"
    )

    booked = Reservation.objects.filter(
        created_at__gte=start, created_at__lt=end, kind__in=APPLICATION_KINDS, room__facility_id__in=ids
    )
    by_kind: dict[str, list[Mapping[str, Any]]] = {kind: [] for kind in APPLICATION_KINDS}
    for row in booked.values("room__facility_id", "kind", "channel").annotate(n=Count("pk")):
        by_kind[row["kind"]].append(row)
    reservations_by_kind = {kind: _per_facility_channel(rows, "room__facility_id") for kind, rows in by_kind.items()}

    kiosk = {
        row["kiosk__facility_id"]: int(row["n"] or 0)
        for row in KioskAccess.objects.filter(date__gte=first, date__lte=last, kiosk__facility_id__in=ids)
        .values("kiosk__facility_id")
        .annotate(n=Sum("count"))
    }
    used = utilisation(ids, month)

    rows = []
    for facility in facility_list:
        figures = FacilityFigures(
            facility=facility,
            lottery=lottery.get(facility.pk, ChannelCounts()),
            reservations=_sum_counts(per.get(facility.pk, ChannelCounts()) for per in reservations_by_kind.values()),
            kiosk_accesses=kiosk.get(facility.pk, 0),
            utilisation=used[facility.pk],
        )
        has_figures = figures.lottery.total or figures.reservations.total or figures.kiosk_accesses
        if facility.is_active or has_figures:  # a closed-down facility appears only if it has figures
            rows.append(figures)

    ward_wide = facility_ids is None
    kiosk_total = sum(kiosk.values())
    accesses = None
    if ward_wide:
        counted = {
            row["channel"]: int(row["n"] or 0)
            for row in AccessCount.objects.filter(date__gte=first, date__lte=last)
            .values("channel")
            .annotate(n=Sum("count"))
        }
        accesses = ChannelCounts(
            web=counted.get(Channel.WEB, 0), kiosk=kiosk_total, counter=counted.get(Channel.COUNTER, 0)
        )

    return MonthlyReport(
        month=month,
        as_of=min(now, end),
        in_progress=now < end,
        ward_wide=ward_wide,
        facilities=rows,
        lottery=_sum_counts(f.lottery for f in rows),
        reservations_by_kind={
            kind: _sum_counts(per.get(f.facility.pk, ChannelCounts()) for f in rows)
            for kind, per in reservations_by_kind.items()
        },
        kiosk_accesses=kiosk_total,
        utilisation=_sum_utilisation(f.utilisation for f in rows),
        valid_users=valid_users(month, now=now) if ward_wide else None,
        accesses=accesses,
    )


def _sum_utilisation(items: Iterable[Utilisation]) -> Utilisation:
    total = Utilisation()
    for item in items:
        total = total + item
    return total
