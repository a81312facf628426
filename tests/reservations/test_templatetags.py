"""reservations/templatetags/reservation_tags.py: 和暦 dates, availability cells, yen."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

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


def _choice(pk: int, label: str, cell_value: Cell, *, bookable: bool, chosen: bool, fee: int | None):
    band = SimpleNamespace(pk=pk, label=label, starts_at=dt.time(9, 0), ends_at=dt.time(12, 0))
    return SimpleNamespace(band=band, cell=cell_value, bookable=bookable, fee=fee, chosen=chosen)


@pytest.mark.smoke
def test_band_choices_one_checkbox_per_band_with_its_state_cell_and_fee():
    choices = [
        _choice(1, "午前", Cell.FREE, bookable=True, chosen=True, fee=1200),
        _choice(2, "午後", Cell.TAKEN, bookable=False, chosen=False, fee=1500),
        _choice(3, "<夜間>", Cell.UNAVAILABLE, bookable=False, chosen=True, fee=None),
    ]

    html = Template("{% load reservation_tags %}{% band_choices choices %}").render(Context({"choices": choices}))

    items = html.split("</li>")[:-1]
    assert len(items) == 3
    assert 'value="1" id="band-1" checked>' in items[0] and "disabled" not in items[0]
    assert 'value="2" id="band-2" disabled>' in items[1]  # taken: cannot be ticked
    assert 'id="band-3" checked>' in items[2]  # chosen stays tickable off, even if not bookable
    assert '<label for="band-1">午前 09:00–12:00 ' in items[0]
    assert str(cell(Cell.TAKEN, "visible")) in items[1] and 'class="c-taken chip"' in items[1]
    assert "1,200円" in items[0] and "1,500円" in items[1] and "円" not in items[2]
    assert "&lt;夜間&gt;" in items[2] and "<夜間>" not in html
