"""Geometry of the report's bar charts, drawn by the server as inline SVG (templates/kiosks/staff/
_report_*_chart.html). No JavaScript, no inline style: colours come from CSS classes in
static/css/reports.css; every figure is also in a table beside the chart.

Plain Python on plain values: the caller passes labels already translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
LABEL_WIDTH = 230
RIGHT_MARGIN = 70  # room for the value printed after a bar
ROW_HEIGHT = 26
ROW_GAP = 10
LEGEND_HEIGHT = 30
AXIS_HEIGHT = 22
LABEL_CHARS = 16  # longer labels are cut (the full label is the row's SVG <title>)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    value: int
    share: float
    x: float
    width: float
    text: str  # the share, printed inside the segment when it fits, else ""
    text_x: float


@dataclass(frozen=True)
class StackedRow:
    label: str
    short_label: str
    total: int
    y: float
    text_y: float
    segments: list[Segment]


@dataclass(frozen=True)
class LegendItem:
    key: str
    label: str
    x: float
    text_x: float


@dataclass(frozen=True)
class StackedChart:
    width: int
    height: float
    label_width: int
    bar_width: int
    bar_height: int
    legend: list[LegendItem]
    rows: list[StackedRow]


def stacked_shares(rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[tuple[str, str]]) -> StackedChart:
    """One 100% bar per row, cut into the shares of each series (key, label) — e.g. each of the
    ward's tables split by channel. A row with a zero total gets an empty bar."""
    bar_width = WIDTH - LABEL_WIDTH - RIGHT_MARGIN
    legend = [
        LegendItem(key=key, label=label, x=LABEL_WIDTH + i * 150, text_x=LABEL_WIDTH + i * 150 + 22)
        for i, (key, label) in enumerate(series)
    ]
    out = []
    for index, (label, values) in enumerate(rows):
        total = sum(values)
        y = LEGEND_HEIGHT + index * (ROW_HEIGHT + ROW_GAP)
        x = float(LABEL_WIDTH)
        segments = []
        for (key, series_label), value in zip(series, values, strict=True):
            share = value / total if total else 0.0
            width = share * bar_width
            text = percent(share) if width >= 46 else ""
            segments.append(
                Segment(
                    key=key,
                    label=series_label,
                    value=value,
                    share=share,
                    x=round(x, 2),
                    width=round(width, 2),
                    text=text,
                    text_x=round(x + width / 2, 2),
                )
            )
            x += width
        out.append(
            StackedRow(
                label=label,
                short_label=_short(label),
                total=total,
                y=y,
                text_y=y + ROW_HEIGHT / 2,
                segments=segments,
            )
        )
    height = LEGEND_HEIGHT + len(rows) * (ROW_HEIGHT + ROW_GAP)
    return StackedChart(
        width=WIDTH,
        height=height,
        label_width=LABEL_WIDTH,
        bar_width=bar_width,
        bar_height=ROW_HEIGHT,
        legend=legend,
        rows=out,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    value: float | None
    y: float
    text_y: float
    width: float
    text: str
    text_x: float


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: float
    label_width: int
    bar_width: int
    bar_height: int
    top: int
    bottom: float
    bars: list[Bar]
    ticks: list[Tick]


def rate_bars(items: Sequence[tuple[str, float | None]]) -> BarChart:
    """One horizontal bar per item for a rate between 0 and 1 (more than 1 is drawn as full),
    with gridlines at every 25%. An item without a rate (None) gets no bar and "—"."""
    bar_width = WIDTH - LABEL_WIDTH - RIGHT_MARGIN
    top = AXIS_HEIGHT
    bars = []
    for index, (label, value) in enumerate(items):
        y = top + index * (ROW_HEIGHT + ROW_GAP) + ROW_GAP / 2
        width = 0.0 if value is None else max(0.0, min(value, 1.0)) * bar_width
        bars.append(
            Bar(
                label=label,
                short_label=_short(label),
                value=value,
                y=y,
                text_y=y + ROW_HEIGHT / 2,
                width=round(width, 2),
                text="—" if value is None else percent(value),
                text_x=round(LABEL_WIDTH + width + 6, 2),
            )
        )
    bottom = top + len(items) * (ROW_HEIGHT + ROW_GAP)
    ticks = [Tick(x=LABEL_WIDTH + bar_width * q / 4, text=f"{q * 25}%") for q in range(5)]
    return BarChart(
        width=WIDTH,
        height=bottom + 4,
        label_width=LABEL_WIDTH,
        bar_width=bar_width,
        bar_height=ROW_HEIGHT,
        top=top,
        bottom=bottom,
        bars=bars,
        ticks=ticks,
    )
