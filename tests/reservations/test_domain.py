"""reservations/domain.py: the pure booking rules, property-tested (no database)."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from reservations.domain import (
    TOKYO,
    BookingRules,
    Cell,
    Refusal,
    add_months,
    day_cell,
    fee_for,
    first_come_opens_at,
    is_consecutive,
    is_holiday,
    month_days,
    national_holidays,
    payment_deadline,
    window_refusal,
)

DEFAULT = BookingRules()
USE_DAY = dt.date(2026, 12, 7)  # a Monday; its month opens 2026-11-01 09:00 JST
MORNING = dt.time(9, 0)
BUNKA_NO_HI = dt.date(2026, 11, 3)  # 文化の日, a Tuesday
PLAIN_WEDNESDAY = dt.date(2026, 11, 4)


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# Fixed-offset zones a `now` may arrive in (the server may hand over UTC, the browser anything).
OFFSETS = st.sampled_from([dt.UTC, TOKYO, dt.timezone(dt.timedelta(hours=-10)), dt.timezone(dt.timedelta(hours=14))])
USE_DATES = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2039, 12, 31))
BAND_STARTS = st.times(min_value=dt.time(6, 0), max_value=dt.time(22, 0))


@st.composite
def aware_datetimes(draw: st.DrawFn, around: dt.date | None = None) -> dt.datetime:
    if around is None:
        naive = draw(st.datetimes(min_value=dt.datetime(2020, 6, 1), max_value=dt.datetime(2040, 6, 1)))
    else:
        start = dt.datetime.combine(around, dt.time(0, 0)) - dt.timedelta(days=80)
        naive = draw(st.datetimes(min_value=start, max_value=start + dt.timedelta(days=90)))
    return naive.replace(tzinfo=TOKYO).astimezone(draw(OFFSETS))


RULES = st.builds(
    BookingRules,
    opens_months_before=st.integers(1, 3),
    opens_day=st.integers(1, 28),
    opens_time=st.times(min_value=dt.time(0, 0), max_value=dt.time(23, 0)).map(lambda t: t.replace(microsecond=0)),
    closes_days_before=st.integers(1, 10),
    payment_days=st.integers(1, 30),
    outsider_surcharge_percent=st.integers(0, 100),
)


def expected_refusal(use_date: dt.date, band_start: dt.time, now: dt.datetime, rules: BookingRules) -> Refusal | None:
    """The rule in words, computed independently of the implementation's helpers."""
    slot_start = dt.datetime.combine(use_date, band_start, TOKYO)
    months = use_date.year * 12 + use_date.month - 1 - rules.opens_months_before
    opens = dt.datetime.combine(dt.date(months // 12, months % 12 + 1, rules.opens_day), rules.opens_time, TOKYO)
    # Online booking ends when the day `closes_days_before - 1` days before use begins (default: the day of use).
    closes = dt.datetime.combine(use_date, dt.time(0, 0), TOKYO) - dt.timedelta(days=rules.closes_days_before - 1)
    if now >= slot_start:
        return Refusal.PAST
    if now < opens:
        return Refusal.NOT_YET_OPEN
    if now >= closes:
        return Refusal.CLOSED_FOR_BOOKING
    return None


# --- window_refusal ---------------------------------------------------------------------------


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (jst(2026, 10, 31, 12, 0), Refusal.NOT_YET_OPEN),
        (jst(2026, 11, 1, 8, 59, 59, 999000), Refusal.NOT_YET_OPEN),
        (jst(2026, 11, 1, 8, 59, 59, 999999), Refusal.NOT_YET_OPEN),
        (jst(2026, 11, 1, 9, 0, 0), None),
        # The same instants given in UTC: the window is defined in Tokyo time, not the server's.
        (utc(2026, 10, 31, 23, 59, 59, 999000), Refusal.NOT_YET_OPEN),
        (utc(2026, 11, 1, 0, 0, 0), None),
        (utc(2026, 11, 1, 8, 59, 59), None),  # 17:59 JST, open; a UTC reading would say "not yet"
        (jst(2026, 12, 6, 23, 59, 59, 999999), None),
        (jst(2026, 12, 7, 0, 0, 0), Refusal.CLOSED_FOR_BOOKING),
        (utc(2026, 12, 6, 14, 59, 59, 999999), None),
        (utc(2026, 12, 6, 15, 0, 0), Refusal.CLOSED_FOR_BOOKING),
        (jst(2026, 12, 7, 8, 59, 59, 999999), Refusal.CLOSED_FOR_BOOKING),
        (jst(2026, 12, 7, 9, 0, 0), Refusal.PAST),
        (utc(2026, 12, 7, 0, 0, 0), Refusal.PAST),
        (jst(2027, 1, 1, 0, 0), Refusal.PAST),
    ],
)
def test_window_boundaries_for_a_december_morning(now: dt.datetime, expected: Refusal | None) -> None:
    assert window_refusal(use_date=USE_DAY, band_start=MORNING, now=now, rules=DEFAULT) is expected


@pytest.mark.smoke
def test_january_opens_on_the_first_of_december_of_the_year_before() -> None:
    use = dt.date(2027, 1, 15)
    assert first_come_opens_at(use, DEFAULT) == jst(2026, 12, 1, 9, 0)
    assert window_refusal(use_date=use, band_start=MORNING, now=jst(2026, 12, 1, 8, 59, 59, 999000), rules=DEFAULT) is (
        Refusal.NOT_YET_OPEN
    )
    assert window_refusal(use_date=use, band_start=MORNING, now=jst(2026, 12, 1, 9, 0), rules=DEFAULT) is None


@given(use_date=USE_DATES, band_start=BAND_STARTS, data=st.data())
def test_window_follows_the_default_rule(use_date: dt.date, band_start: dt.time, data: st.DataObject) -> None:
    now = data.draw(aware_datetimes(around=use_date))
    got = window_refusal(use_date=use_date, band_start=band_start, now=now, rules=DEFAULT)
    assert got is expected_refusal(use_date, band_start, now, DEFAULT)
    # Default rule in words: day 1 of the month before, 09:00 JST.
    opens = dt.datetime.combine(add_months(use_date.replace(day=1), -1), dt.time(9, 0), TOKYO)
    assert first_come_opens_at(use_date, DEFAULT) == opens
    if got is None:
        assert opens <= now < dt.datetime.combine(use_date, dt.time(0, 0), TOKYO)


@given(use_date=USE_DATES, band_start=BAND_STARTS, rules=RULES, data=st.data())
def test_window_follows_any_groups_rule(
    use_date: dt.date, band_start: dt.time, rules: BookingRules, data: st.DataObject
) -> None:
    now = data.draw(aware_datetimes(around=use_date))
    assert window_refusal(use_date=use_date, band_start=band_start, now=now, rules=rules) is expected_refusal(
        use_date, band_start, now, rules
    )


@given(use_date=USE_DATES, band_start=BAND_STARTS, data=st.data())
def test_window_depends_on_the_instant_not_its_time_zone(
    use_date: dt.date, band_start: dt.time, data: st.DataObject
) -> None:
    now = data.draw(aware_datetimes(around=use_date))
    answers = {
        window_refusal(use_date=use_date, band_start=band_start, now=now.astimezone(z), rules=DEFAULT)
        for z in (dt.UTC, TOKYO, dt.timezone(dt.timedelta(hours=-11)))
    }
    assert len(answers) == 1


PHASE = {Refusal.NOT_YET_OPEN: 0, None: 1, Refusal.CLOSED_FOR_BOOKING: 2, Refusal.PAST: 3}


@given(use_date=USE_DATES, band_start=BAND_STARTS, data=st.data())
def test_window_only_moves_forward_in_time(use_date: dt.date, band_start: dt.time, data: st.DataObject) -> None:
    """With the default rule a slot goes not-yet-open → open → closed online → past, never back."""
    nows = sorted(data.draw(st.lists(aware_datetimes(around=use_date), min_size=2, max_size=8)))
    phases = [PHASE[window_refusal(use_date=use_date, band_start=band_start, now=n, rules=DEFAULT)] for n in nows]
    assert phases == sorted(phases)


# --- add_months / month_days ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
        (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)),
        (dt.date(2026, 1, 15), -1, dt.date(2025, 12, 15)),
        (dt.date(2026, 5, 31), -13, dt.date(2025, 4, 30)),
        (dt.date(2026, 11, 1), 0, dt.date(2026, 11, 1)),
    ],
)
def test_add_months_examples(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@given(day=USE_DATES, months=st.integers(-240, 240))
def test_add_months_moves_the_month_and_clamps_the_day(day: dt.date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, calendar.monthrange(moved.year, moved.month)[1])


@given(day=USE_DATES, a=st.integers(-60, 60), b=st.integers(-60, 60))
def test_add_months_composes_and_inverts_for_days_every_month_has(day: dt.date, a: int, b: int) -> None:
    assume(day.day <= 28)
    assert add_months(add_months(day, a), b) == add_months(day, a + b)
    assert add_months(add_months(day, a), -a) == day


@given(day=USE_DATES)
def test_month_days_is_the_whole_month_in_order(day: dt.date) -> None:
    days = month_days(day)
    assert days[0] == day.replace(day=1)
    assert len(days) == calendar.monthrange(day.year, day.month)[1]
    assert all(d.month == day.month and d.year == day.year for d in days)
    assert all(b - a == dt.timedelta(days=1) for a, b in itertools.pairwise(days))
    assert days[-1] + dt.timedelta(days=1) == add_months(day.replace(day=1), 1)
    assert day in days


# --- is_consecutive ---------------------------------------------------------------------------


def consecutive_oracle(orders: list[int], all_orders: list[int]) -> bool:
    ordered = sorted(all_orders)
    n = len(orders)
    return n > 0 and any(orders == ordered[i : i + n] for i in range(len(ordered) - n + 1))


@given(all_orders=st.sets(st.integers(0, 20), min_size=1, max_size=12), data=st.data())
def test_is_consecutive_accepts_exactly_the_runs(all_orders: set[int], data: st.DataObject) -> None:
    ordered = sorted(all_orders)
    if data.draw(st.booleans()):  # a real run of the day
        start = data.draw(st.integers(0, len(ordered) - 1))
        orders = ordered[start : start + data.draw(st.integers(1, len(ordered) - start))]
        assert is_consecutive(orders, list(all_orders))
    else:  # anything: gaps, duplicates, wrong order, unknown bands
        orders = data.draw(st.lists(st.integers(-1, 21), max_size=6))
    assert is_consecutive(orders, list(all_orders)) == consecutive_oracle(orders, list(all_orders))


def test_is_consecutive_examples() -> None:
    day = [0, 1, 2]
    assert is_consecutive([0, 1], day) and is_consecutive([1, 2], day) and is_consecutive([2], day)
    assert is_consecutive([0, 1, 2], [2, 0, 1])
    assert not is_consecutive([], day)
    assert not is_consecutive([0, 2], day)
    assert not is_consecutive([1, 0], day)
    assert not is_consecutive([1, 1], day)
    assert not is_consecutive([3], day)


# --- fee_for ----------------------------------------------------------------------------------

BAND_FEES = st.lists(st.tuples(st.integers(0, 50_000), st.integers(0, 50_000)), max_size=4)


@pytest.mark.smoke
def test_holiday_tariff_on_bunka_no_hi_and_weekday_tariff_the_day_after() -> None:
    assert BUNKA_NO_HI.weekday() == 1 and is_holiday(BUNKA_NO_HI)
    assert PLAIN_WEDNESDAY.weekday() == 2 and not is_holiday(PLAIN_WEDNESDAY)
    fees = [(1200, 1500), (1800, 2200)]
    assert fee_for(band_fees=fees, use_date=BUNKA_NO_HI, outsider=False, rules=DEFAULT) == 3700
    assert fee_for(band_fees=fees, use_date=PLAIN_WEDNESDAY, outsider=False, rules=DEFAULT) == 3000
    assert fee_for(band_fees=fees, use_date=dt.date(2026, 11, 7), outsider=False, rules=DEFAULT) == 3700  # Saturday
    assert fee_for(band_fees=fees, use_date=dt.date(2026, 11, 8), outsider=False, rules=DEFAULT) == 3700  # Sunday
    assert fee_for(band_fees=fees, use_date=PLAIN_WEDNESDAY, outsider=True, rules=DEFAULT) == 3600  # +20 %
    # The surcharge is rounded down to whole yen: 1001 × 15 % = 150.15.
    rules = BookingRules(outsider_surcharge_percent=15)
    assert fee_for(band_fees=[(1001, 0)], use_date=PLAIN_WEDNESDAY, outsider=True, rules=rules) == 1151


@given(band_fees=BAND_FEES, use_date=USE_DATES, outsider=st.booleans(), percent=st.integers(0, 200))
def test_fee_is_whole_yen_from_the_right_tariff(
    band_fees: list[tuple[int, int]], use_date: dt.date, outsider: bool, percent: int
) -> None:
    rules = BookingRules(outsider_surcharge_percent=percent)
    fee = fee_for(band_fees=band_fees, use_date=use_date, outsider=outsider, rules=rules)
    assert type(fee) is int and fee >= 0
    holiday = use_date.weekday() >= 5 or use_date in national_holidays(use_date.year)
    base = sum(h if holiday else w for w, h in band_fees)
    assert fee == (base + base * percent // 100 if outsider else base)


@given(band_fees=BAND_FEES, use_date=USE_DATES, p1=st.integers(0, 200), p2=st.integers(0, 200))
def test_fee_is_monotone_in_the_outsider_surcharge(
    band_fees: list[tuple[int, int]], use_date: dt.date, p1: int, p2: int
) -> None:
    low, high = sorted((p1, p2))

    def fee(percent: int, outsider: bool) -> int:
        return fee_for(
            band_fees=band_fees,
            use_date=use_date,
            outsider=outsider,
            rules=BookingRules(outsider_surcharge_percent=percent),
        )

    assert fee(low, False) == fee(high, False)  # residents never pay the surcharge
    assert fee(low, False) <= fee(low, True) <= fee(high, True)


@given(a=BAND_FEES, b=BAND_FEES, use_date=USE_DATES)
def test_resident_fee_is_the_sum_of_its_bands(
    a: list[tuple[int, int]], b: list[tuple[int, int]], use_date: dt.date
) -> None:
    def fee(fees: list[tuple[int, int]]) -> int:
        return fee_for(band_fees=fees, use_date=use_date, outsider=False, rules=DEFAULT)

    assert fee(a + b) == fee(a) + fee(b)


EQUIPMENT_FEES = st.lists(st.integers(0, 5_000), max_size=4)


@given(
    band_fees=BAND_FEES,
    use_date=USE_DATES,
    outsider=st.booleans(),
    out=st.integers(0, 200),
    com=st.integers(0, 200),
    equipment=EQUIPMENT_FEES,
)
def test_commercial_and_equipment_add_to_the_fee(
    band_fees: list[tuple[int, int]], use_date: dt.date, outsider: bool, out: int, com: int, equipment: list[int]
) -> None:
    rules = BookingRules(outsider_surcharge_percent=out, commercial_surcharge_percent=com)

    def fee(commercial: bool, equipment_fees: list[int]) -> int:
        return fee_for(
            band_fees=band_fees,
            use_date=use_date,
            outsider=outsider,
            rules=rules,
            commercial=commercial,
            equipment_fees=equipment_fees,
        )

    plain = fee(False, [])
    assert plain == fee_for(band_fees=band_fees, use_date=use_date, outsider=outsider, rules=rules)
    base = fee_for(band_fees=band_fees, use_date=use_date, outsider=False, rules=rules)
    # The commercial surcharge is the percent of the bands' base, once (not of base + 区外).
    assert fee(True, []) - plain == base * com // 100
    # Equipment is flat: no surcharge of either kind applies to it.
    assert fee(False, equipment) - plain == sum(equipment)
    assert fee(True, equipment) == plain + base * com // 100 + sum(equipment)


def test_commercial_default_is_fifty_percent_and_equipment_is_not_surcharged() -> None:
    fees = [(1000, 1000)]
    assert fee_for(band_fees=fees, use_date=PLAIN_WEDNESDAY, outsider=False, rules=DEFAULT, commercial=True) == 1500
    together = fee_for(
        band_fees=fees, use_date=PLAIN_WEDNESDAY, outsider=True, rules=DEFAULT, commercial=True, equipment_fees=[500]
    )
    assert together == 1000 + 200 + 500 + 500


# --- payment_deadline -------------------------------------------------------------------------


def test_payment_deadline_examples() -> None:
    def deadline(booked_at: dt.datetime, use: dt.date = USE_DAY) -> dt.datetime:
        return payment_deadline(booked_at=booked_at, use_date=use, rules=DEFAULT)

    assert deadline(jst(2026, 11, 10, 10, 0)) == jst(2026, 11, 17, 23, 59, 59)
    # 16:00 UTC is already 01:00 the next day in Tokyo: the seven days count from the Tokyo date.
    assert deadline(utc(2026, 11, 10, 16, 0)) == jst(2026, 11, 18, 23, 59, 59)
    assert deadline(jst(2026, 12, 3, 10, 0)) == jst(2026, 12, 6, 23, 59, 59)  # cut to the day before use
    # Booked at the counter on the day of use: payable at once, never before the booking.
    assert deadline(jst(2026, 12, 7, 10, 0)) == jst(2026, 12, 7, 10, 0)


@given(booked_at=aware_datetimes(), days_ahead=st.integers(0, 120), payment_days=st.integers(1, 30))
@example(booked_at=jst(2026, 12, 6, 23, 59, 59, 500000), days_ahead=1, payment_days=7)
@example(booked_at=jst(2026, 11, 10, 23, 59, 59, 999999), days_ahead=27, payment_days=1)
def test_payment_deadline_bounds(booked_at: dt.datetime, days_ahead: int, payment_days: int) -> None:
    use_date = booked_at.astimezone(TOKYO).date() + dt.timedelta(days=days_ahead)
    rules = BookingRules(payment_days=payment_days)
    deadline = payment_deadline(booked_at=booked_at, use_date=use_date, rules=rules)
    end_of_day_before_use = dt.datetime.combine(use_date - dt.timedelta(days=1), dt.time(23, 59, 59), TOKYO)
    end_of_last_paying_day = dt.datetime.combine(
        booked_at.astimezone(TOKYO).date() + dt.timedelta(days=payment_days), dt.time(23, 59, 59), TOKYO
    )
    assert deadline >= booked_at, "never before the booking"
    assert deadline <= end_of_last_paying_day
    if booked_at <= end_of_day_before_use:
        assert deadline <= end_of_day_before_use, "never after the end of the day before use"
        assert deadline == min(end_of_last_paying_day, end_of_day_before_use)
    else:  # a same-day counter booking
        assert deadline == booked_at


def test_payment_deadline_not_before_booking_with_zero_payment_days() -> None:
    booked_at = jst(2026, 11, 10, 23, 59, 59, 500000)
    deadline = payment_deadline(booked_at=booked_at, use_date=USE_DAY, rules=BookingRules(payment_days=0))
    assert deadline >= booked_at


# --- day_cell ---------------------------------------------------------------------------------


@given(total=st.integers(0, 24), data=st.data(), closed=st.booleans())
def test_day_cell(total: int, data: st.DataObject, closed: bool) -> None:
    free = data.draw(st.integers(0, total))
    cell = day_cell(free_bands=free, total_bands=total, closed=closed)
    if closed:
        assert cell is Cell.CLOSED
    elif total == 0:
        assert cell is Cell.UNAVAILABLE
    elif free == total:
        assert cell is Cell.FREE
    elif free == 0:
        assert cell is Cell.TAKEN
    else:
        assert cell is Cell.PARTLY
        assert 0 < free < total
