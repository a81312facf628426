"""Pure booking rules: no Django, `now` passed in, so they are fast to property-test.

Everything here works on plain values (dates, aware datetimes, ints) and frozen dataclasses.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TOKYO = ZoneInfo("Asia/Tokyo")


class Refusal(enum.Enum):
    """Why a booking cannot be made. Each maps to one clear message for the resident."""

    PAST = "past"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED_FOR_BOOKING = "closed_for_booking"
    FACILITY_CLOSED = "facility_closed"
    QUOTA = "quota"
    GROUP_QUOTA = "group_quota"
    BAD_SPAN = "bad_span"


@dataclass(frozen=True)
class BookingRules:
    """A facility group's first-come rules (see FacilityGroup)."""

    opens_months_before: int = 1
    opens_day: int = 1
    opens_time: dt.time = dt.time(9, 0)
    closes_days_before: int = 1
    max_active_per_month: int = 8
    max_group_active_per_month: int = 8
    payment_days: int = 7
    outsider_surcharge_percent: int = 20
    commercial_surcharge_percent: int = 50


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later (clamped to the month's last day)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def month_days(month: dt.date) -> list[dt.date]:
    first = month_start(month)
    last = calendar.monthrange(first.year, first.month)[1]
    return [first + dt.timedelta(days=i) for i in range(last)]


def first_come_opens_at(use_date: dt.date, rules: BookingRules) -> dt.datetime:
    """When first-come booking opens for the month of `use_date` (default: day 1 of M-1, 09:00 JST)."""
    opening_month = add_months(month_start(use_date), -rules.opens_months_before)
    return dt.datetime.combine(opening_month.replace(day=rules.opens_day), rules.opens_time, tzinfo=TOKYO)


def first_come_closes_at(use_date: dt.date, rules: BookingRules) -> dt.datetime:
    """The end of online first-come booking: midnight starting the day `closes_days_before` use."""
    last_day = use_date - dt.timedelta(days=rules.closes_days_before - 1)
    return dt.datetime.combine(last_day, dt.time(0, 0), tzinfo=TOKYO)


def window_refusal(*, use_date: dt.date, band_start: dt.time, now: dt.datetime, rules: BookingRules) -> Refusal | None:
    """Whether first-come booking of a slot is allowed at `now` (an aware datetime)."""
    slot_start = dt.datetime.combine(use_date, band_start, tzinfo=TOKYO)
    if slot_start <= now:
        return Refusal.PAST
    if now < first_come_opens_at(use_date, rules):
        return Refusal.NOT_YET_OPEN
    if now >= first_come_closes_at(use_date, rules):
        return Refusal.CLOSED_FOR_BOOKING
    return None


def is_consecutive(orders: Sequence[int], all_orders: Sequence[int]) -> bool:
    """True when `orders` is a non-empty run of neighbouring bands of the facility's day."""
    if not orders:
        return False
    ordered = sorted(all_orders)
    try:
        start = ordered.index(orders[0])
    except ValueError:
        return False
    return list(orders) == ordered[start : start + len(orders)]


def quota_refusal(*, active_this_month: int, cap: int, group: bool = False) -> Refusal | None:
    if active_this_month >= cap:
        return Refusal.GROUP_QUOTA if group else Refusal.QUOTA
    return None


_JP_HOLIDAYS = holidays.country_holidays("JP", years=range(2020, 2041))


def is_holiday(day: dt.date) -> bool:
    """Saturday, Sunday or a Japanese national holiday (for fees and the 土日祝 tariff)."""
    return day.weekday() >= 5 or day in _JP_HOLIDAYS


@lru_cache(maxsize=16)
def _national_holidays(year: int) -> tuple[tuple[dt.date, str], ...]:
    return tuple(holidays.country_holidays("JP", years=year, language="ja").items())


def national_holidays(year: int) -> dict[dt.date, str]:
    """The year's national holidays by date (built once per process and year: every grid asks)."""
    return dict(_national_holidays(year))


def fee_for(
    *,
    band_fees: Iterable[tuple[int, int]],
    use_date: dt.date,
    outsider: bool,
    rules: BookingRules,
    commercial: bool = False,
    equipment_fees: Sequence[int] = (),
) -> int:
    """Usage fee in integer yen: the sum of the bands' weekday or 土日祝 fees (the base), plus the
    outsider and commercial (営利目的) surcharges, each a percentage of the base rounded down to
    whole yen, plus the equipment (附属設備) flat fees. `band_fees` is (weekday_fee, holiday_fee)
    per band. Same semantics as payments.domain.fee_breakdown without an exemption."""
    holiday = is_holiday(use_date)
    base = sum(h if holiday else w for w, h in band_fees)
    total = base
    if outsider:
        total += base * rules.outsider_surcharge_percent // 100
    if commercial:
        total += base * rules.commercial_surcharge_percent // 100
    return total + sum(equipment_fees)


def payment_deadline(*, booked_at: dt.datetime, use_date: dt.date, rules: BookingRules) -> dt.datetime:
    """Pay within `payment_days` of booking, and never later than the end of the day before use."""
    by_days = (booked_at.astimezone(TOKYO) + dt.timedelta(days=rules.payment_days)).replace(
        hour=23, minute=59, second=59, microsecond=0
    )
    before_use = dt.datetime.combine(use_date - dt.timedelta(days=1), dt.time(23, 59, 59), tzinfo=TOKYO)
    return max(min(by_days, before_use), booked_at.astimezone(TOKYO))


class Cell(enum.Enum):
    """One cell of the availability grid. The symbol is never shown without its text."""

    FREE = "free"  # ○
    PARTLY = "partly"  # △
    TAKEN = "taken"  # ×
    CLOSED = "closed"  # 休
    UNAVAILABLE = "unavailable"  # － (past, or outside the booking window)


def day_cell(*, free_bands: int, total_bands: int, closed: bool) -> Cell:
    """A room's summary for a whole day in the month grid."""
    if closed:
        return Cell.CLOSED
    if total_bands == 0:
        return Cell.UNAVAILABLE
    if free_bands == total_bands:
        return Cell.FREE
    if free_bands == 0:
        return Cell.TAKEN
    return Cell.PARTLY


@dataclass(frozen=True)
class WaitingRoomRules:
    """The fair opening. Who reaches the booking step from `lead_seconds` before the opening to
    `arrival_seconds` after it draws a random place; later arrivals queue behind every drawn place
    in arrival order. Admission starts when the arrival window ends, in place order, at
    `admit_per_second`: by then no place can change, so how often someone refreshes is irrelevant."""

    arrival_seconds: int = 60
    admit_per_second: float = 10.0
    lead_seconds: int = 1800


def arrivals_end(opens_at: dt.datetime, rules: WaitingRoomRules) -> dt.datetime:
    return opens_at + dt.timedelta(seconds=rules.arrival_seconds)


def waiting_room_arriving(*, now: dt.datetime, opens_at: dt.datetime, rules: WaitingRoomRules) -> bool:
    """Whether places are being drawn now (from `lead_seconds` before the opening to the end of
    arrivals). After that the room stays only while places still wait (see `admitted_by`)."""
    return opens_at - dt.timedelta(seconds=rules.lead_seconds) <= now <= arrivals_end(opens_at, rules)


def admitted_by(*, now: dt.datetime, opens_at: dt.datetime, rules: WaitingRoomRules) -> int:
    """How many places are admitted by `now`: none while places are drawn, then a steady rate.
    Exactly the places whose `admission_at` has come (floating point never lets the two disagree)."""
    end = arrivals_end(opens_at, rules)
    if now < end:
        return 0
    count = int((now - end).total_seconds() * rules.admit_per_second) + max(1, int(rules.admit_per_second))
    while admission_at(rank=count, opens_at=opens_at, rules=rules) <= now:
        count += 1
    while count > 0 and admission_at(rank=count - 1, opens_at=opens_at, rules=rules) > now:
        count -= 1
    return count


def waiting_ticket(*, now: dt.datetime, opens_at: dt.datetime, rules: WaitingRoomRules, draw: float) -> float:
    """A resident's place in line, fixed at their first arrival: a random draw in [0, 1) within the
    arrival window, so arriving at 09:00:00.1 beats 09:00:59 by nothing; later, 1 + seconds since
    the opening, so later arrivals queue in order behind every drawn place."""
    if now <= arrivals_end(opens_at, rules):
        return draw
    return 1.0 + (now - opens_at).total_seconds()


def admission_at(*, rank: int, opens_at: dt.datetime, rules: WaitingRoomRules) -> dt.datetime:
    """When place `rank` (0 = first) is admitted, if the rate holds."""
    burst = max(1, int(rules.admit_per_second))
    # Rounded up to the microsecond, so that at the instant returned the place is surely in.
    micros = math.ceil(max(0, rank + 1 - burst) / rules.admit_per_second * 1_000_000)
    return arrivals_end(opens_at, rules) + dt.timedelta(microseconds=micros)


# --- 和暦 (the Japanese era calendar) ------------------------------------------------------------

# (first day of the era, its name, its romanised name), newest first. Dates before Meiji 6 (1873,
# when Japan adopted the Gregorian calendar) have no era year here.
ERAS: tuple[tuple[dt.date, str, str], ...] = (
    (dt.date(2019, 5, 1), "令和", "Reiwa"),
    (dt.date(1989, 1, 8), "平成", "Heisei"),
    (dt.date(1926, 12, 25), "昭和", "Showa"),
    (dt.date(1912, 7, 30), "大正", "Taisho"),
    (dt.date(1873, 1, 1), "明治", "Meiji"),
)
MEIJI_FIRST_YEAR = 1868
WEEKDAYS_JA = "月火水木金土日"


@dataclass(frozen=True)
class EraYear:
    name: str  # 令和
    romanised: str  # Reiwa
    year: int  # 1 for the first year (元年)

    @property
    def japanese(self) -> str:
        """令和8年; the first year of an era is 元年 (令和元年)."""
        return f"{self.name}{'元' if self.year == 1 else self.year}年"

    @property
    def english(self) -> str:
        return f"{self.romanised} {self.year}"


def era_year(day: dt.date) -> EraYear | None:
    """The era and year of the era of a Gregorian date (2026-12-07 → 令和8年); None before 1873."""
    for first_day, name, romanised in ERAS:
        if day >= first_day:
            start_year = MEIJI_FIRST_YEAR if name == "明治" else first_day.year
            return EraYear(name, romanised, day.year - start_year + 1)
    return None


def date_with_era(day: dt.date, *, weekday: bool = False) -> str:
    """The Gregorian date with its era year beside it, as residents expect on confirmations:
    2026年12月7日（令和8年）, or 2026年12月7日(月)（令和8年） with the weekday."""
    text = f"{day.year}年{day.month}月{day.day}日"
    if weekday:
        text += f"({WEEKDAYS_JA[day.weekday()]})"
    era = era_year(day)
    return f"{text}（{era.japanese}）" if era else text
