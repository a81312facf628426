"""Display filters for the booking pages: 和暦 dates and availability cells (symbol + text)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from reservations.domain import WEEKDAYS_JA, Cell, date_with_era, era_year

register = template.Library()


CELL_SYMBOLS: dict[Cell, str] = {
    Cell.FREE: "○",
    Cell.PARTLY: "△",
    Cell.TAKEN: "×",
    Cell.CLOSED: "休",
    Cell.UNAVAILABLE: "－",
}
CELL_TEXTS = {
    Cell.FREE: _("空きあり"),
    Cell.PARTLY: _("一部空き"),
    Cell.TAKEN: _("空きなし"),
    Cell.CLOSED: _("休館"),
    Cell.UNAVAILABLE: _("受付対象外"),
}


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    return None


@register.filter
def wareki(value: object, style: str = "") -> str:
    """A date in the Japanese era calendar: 令和8年12月7日(月); with "month": 令和8年12月;
    with "year": 令和8年. The first year of an era is 元年. Empty for anything that is not a date."""
    day = _as_date(value)
    if day is None:
        return ""
    era = era_year(day)
    if era is None:
        return day.isoformat()
    if style == "year":
        return era.japanese
    if style == "month":
        return f"{era.japanese}{day.month}月"
    return f"{era.japanese}{day.month}月{day.day}日({WEEKDAYS_JA[day.weekday()]})"


@register.filter
def with_era(value: object, style: str = "") -> str:
    """The Gregorian date with the era year beside it: 2026年12月7日(月)（令和8年）; "short" leaves
    out the weekday. In English: Mon 7 Dec 2026 (Reiwa 8)."""
    day = _as_date(value)
    if day is None:
        return ""
    weekday = style != "short"
    if not (get_language() or "ja").startswith("en"):
        return date_with_era(day, weekday=weekday)
    text = date_format(day, "D j M Y" if weekday else "j M Y")
    era = era_year(day)
    return f"{text} ({era.english})" if era else text


@register.filter
def cell_symbol(cell: Cell) -> str:
    return CELL_SYMBOLS.get(cell, "")


@register.filter
def cell_text(cell: Cell) -> str:
    text = CELL_TEXTS.get(cell)
    return str(text) if text is not None else ""


@register.filter
def cell_class(cell: Cell) -> str:
    return f"c-{cell.value}" if isinstance(cell, Cell) else ""


@register.filter
def cell(value: Cell, style: str = "") -> SafeString:
    """The symbol for sighted users and its meaning as text, so the symbol never stands alone.

    By default the text is visually hidden (the grid has a legend); with "visible" it is shown."""
    if not isinstance(value, Cell):
        return mark_safe("")
    text_class = "cell-text" if style == "visible" else "visually-hidden"
    return format_html(
        '<span class="sym" aria-hidden="true">{}</span><span class="{}">{}</span>',
        CELL_SYMBOLS[value],
        text_class,
        CELL_TEXTS[value],
    )


class _GridCell(Protocol):
    day: dt.date
    cell: Cell
    url: str | None


@lru_cache(maxsize=1024)
def _day_label(language: str, day: dt.date) -> str:
    return escape(date_format(day, gettext("n月j日")))


@lru_cache(maxsize=64)
def _cell_html(language: str, value: Cell) -> str:
    return str(cell(value))


@register.simple_tag
def grid_cells(cells: Iterable[_GridCell], *names: object, link_text: str = "") -> SafeString:
    """One grid row's cells, built in one pass rather than by template loops: a month page has
    hundreds of cells, which as loops of tags and filters were three quarters of its rendering
    (re-rendered after every booking at 09:00). Each cell shows its symbol and meaning (`cell`);
    a bookable one links to `url`, its hidden label naming the day and `names` (room, band) and
    ending with `link_text`."""
    language = get_language() or ""
    label_names = "".join(f" {escape(name)}" for name in names)
    tail = f'<span class="visually-hidden"> {escape(link_text)}</span>' if link_text else ""
    parts = []
    for c in cells:
        symbol = _cell_html(language, c.cell)
        css = cell_class(c.cell)
        if c.url:
            label = f'<span class="visually-hidden">{_day_label(language, c.day)}{label_names} </span>'
            parts.append(f'<td class="{css}"><a href="{escape(c.url)}">{label}{symbol}{tail}</a></td>')
        else:
            parts.append(f'<td class="{css}">{symbol}</td>')
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped or built from escaped parts


class _Band(Protocol):
    pk: int
    label: str
    starts_at: dt.time
    ends_at: dt.time


class _BandChoice(Protocol):
    band: _Band
    cell: Cell
    bookable: bool
    fee: int | None
    chosen: bool


@register.simple_tag
def band_choices(choices: Iterable[_BandChoice]) -> SafeString:
    """The booking page's time-band checkboxes, one <li> each, built in one pass: as a template loop
    of tags and filters they were a sixth of the free booking page's rendering, the page that the
    09:00 crowd's first clicks ask for. A band that cannot be booked is disabled unless chosen;
    each shows its cell (`cell`, with visible text) and its fee."""
    parts = []
    for c in choices:
        band = c.band
        flags = (" checked" if c.chosen else "") + (" disabled" if not c.bookable and not c.chosen else "")
        fee = f" {escape(yen(c.fee))}" if c.fee is not None else ""
        parts.append(
            f'<li><input type="checkbox" name="bands" value="{band.pk}" id="band-{band.pk}"{flags}>'
            f'<label for="band-{band.pk}">{escape(band.label)} '
            f"{band.starts_at:%H:%M}–{band.ends_at:%H:%M} "
            f'<span class="{cell_class(c.cell)} chip">{cell(c.cell, "visible")}</span>{fee}</label></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped, a number or built by `cell`


@register.filter
def yen(value: object) -> str:
    """Integer yen with thousands separators: 1,200円."""
    if not isinstance(value, int):
        return ""
    return gettext("%(amount)s円") % {"amount": f"{value:,}"}
