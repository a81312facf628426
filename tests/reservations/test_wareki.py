"""和暦 beside Gregorian dates: reservations.domain's era functions and the `with_era` filter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from reservations.domain import date_with_era, era_year
from reservations.templatetags.reservation_tags import with_era


@pytest.mark.parametrize(
    ("day", "japanese", "english"),
    [
        (dt.date(2026, 12, 7), "令和8年", "Reiwa 8"),
        (dt.date(2019, 5, 1), "令和元年", "Reiwa 1"),
        (dt.date(2019, 4, 30), "平成31年", "Heisei 31"),
        (dt.date(1989, 1, 8), "平成元年", "Heisei 1"),
        (dt.date(1989, 1, 7), "昭和64年", "Showa 64"),
        (dt.date(1926, 12, 25), "昭和元年", "Showa 1"),
        (dt.date(1926, 12, 24), "大正15年", "Taisho 15"),
        (dt.date(1912, 7, 30), "大正元年", "Taisho 1"),
        (dt.date(1912, 7, 29), "明治45年", "Meiji 45"),
        (dt.date(1873, 1, 1), "明治6年", "Meiji 6"),
    ],
)
def test_era_year_at_the_boundaries(day: dt.date, japanese: str, english: str) -> None:
    era = era_year(day)
    assert era is not None
    assert era.japanese == japanese
    assert era.english == english


def test_no_era_year_before_the_gregorian_calendar() -> None:
    assert era_year(dt.date(1872, 12, 31)) is None
    assert date_with_era(dt.date(1872, 12, 31)) == "1872年12月31日"


def test_date_with_era() -> None:
    assert date_with_era(dt.date(2026, 12, 7)) == "2026年12月7日（令和8年）"
    assert date_with_era(dt.date(2026, 12, 7), weekday=True) == "2026年12月7日(月)（令和8年）"
    assert date_with_era(dt.date(2019, 5, 1)) == "2019年5月1日（令和元年）"


@given(st.dates(min_value=dt.date(1873, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_era_year_counts_from_the_era_start(day: dt.date) -> None:
    era = era_year(day)
    assert era is not None and era.year >= 1
    # The era's first year is the Gregorian year it began in (Meiji counts from 1868).
    first = {"令和": 2019, "平成": 1989, "昭和": 1926, "大正": 1912, "明治": 1868}[era.name]
    assert day.year == first + era.year - 1


def test_filter_in_both_languages() -> None:
    day = dt.date(2026, 12, 7)
    with translation.override("ja"):
        assert with_era(day) == "2026年12月7日(月)（令和8年）"
        assert with_era(day, "short") == "2026年12月7日（令和8年）"
    with translation.override("en"):
        assert with_era(day) == "Mon 7 Dec 2026 (Reiwa 8)"
        assert with_era(day, "short") == "7 Dec 2026 (Reiwa 8)"
    assert with_era("not a date") == ""
