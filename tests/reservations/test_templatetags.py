"""reservations/templatetags/reservation_tags.py: 和暦 dates, availability cells, yen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from reservations.domain import Cell
from reservations.templatetags.reservation_tags import cell, cell_class, wareki, yen


@pytest.fixture(autouse=True)
def _japanese():
    with translation.override("ja"):
        yield


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 12, 7), "令和8年12月7日(月)"),
        (dt.date(2019, 5, 1), "令和元年5月1日(水)"),
        (dt.date(2019, 4, 30), "平成31年4月30日(火)"),
        (dt.date(2020, 1, 1), "令和2年1月1日(水)"),
        (dt.date(1989, 1, 8), "平成元年1月8日(日)"),
        (dt.date(1989, 1, 7), "昭和64年1月7日(土)"),
        (dt.date(1926, 12, 25), "昭和元年12月25日(土)"),
        (dt.date(1912, 7, 30), "大正元年7月30日(火)"),
        (dt.date(1900, 1, 1), "明治33年1月1日(月)"),
    ],
)
def test_wareki(day, expected):
    assert wareki(day) == expected


def test_wareki_styles():
    assert wareki(dt.date(2026, 12, 7), "month") == "令和8年12月"
    assert wareki(dt.date(2019, 5, 1), "year") == "令和元年"


def test_wareki_of_an_aware_datetime_uses_tokyo_time():
    just_after_midnight_in_tokyo = dt.datetime(2026, 12, 6, 15, 30, tzinfo=dt.UTC)
    assert wareki(just_after_midnight_in_tokyo) == "令和8年12月7日(月)"


def test_wareki_of_something_else_is_empty():
    assert wareki(None) == ""
    assert wareki("2026-12-07") == ""


def test_wareki_before_the_gregorian_calendar_falls_back_to_iso():
    assert wareki(dt.date(1850, 1, 1)) == "1850-01-01"


def test_wareki_in_a_template():
    rendered = Template("{% load reservation_tags %}{{ d|wareki }}").render(Context({"d": dt.date(2026, 12, 7)}))
    assert rendered == "令和8年12月7日(月)"


@pytest.mark.parametrize(
    ("value", "symbol", "text"),
    [
        (Cell.FREE, "○", "空きあり"),
        (Cell.PARTLY, "△", "一部空き"),
        (Cell.TAKEN, "×", "空きなし"),
        (Cell.CLOSED, "休", "休館"),
        (Cell.UNAVAILABLE, "－", "受付対象外"),
    ],
)
def test_cell_never_shows_the_symbol_alone(value, symbol, text):
    html = str(cell(value))
    assert f'<span class="sym" aria-hidden="true">{symbol}</span>' in html
    assert f'<span class="visually-hidden">{text}</span>' in html
    assert f'<span class="cell-text">{text}</span>' in str(cell(value, "visible"))
    assert cell_class(value) == f"c-{value.value}"


def test_cell_of_something_else_is_empty():
    assert str(cell(None)) == ""
    assert cell_class(None) == ""


def test_yen():
    assert yen(1200) == "1,200円"
    assert yen(0) == "0円"
    assert yen(None) == ""
