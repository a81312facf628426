"""The monthly report as sections of rows: written as CSV (UTF-8 with a BOM, so Excel reads the
Japanese) by the staff page and `manage.py monthly_report --csv`, and as aligned text by the
command. One layout for both, so the statistics office gets the same figures either way."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from reservations.models import Channel, ReservationKind

from .report_selectors import ChannelCounts, MonthlyReport, Utilisation, ValidUsersSource

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

BOM = "\ufeff"

Cell = str | int


@dataclass(frozen=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""


def month_label(report: MonthlyReport) -> str:
    return formats.date_format(report.month, "YEAR_MONTH_FORMAT")


def channel_header(first: str) -> list[str]:
    return [first, *[str(label) for label in Channel.labels], _("計")]


def valid_users_note(source: str) -> str:
    return {
        ValidUsersSource.RECORDED: _("月末に記録した数値です。"),
        ValidUsersSource.CURRENT: _("月の途中のため、現在の数値です。"),
        ValidUsersSource.ESTIMATED: _(
            "この月の月末の記録がないため、現在の登録状態から算出した概算です（その後に利用停止となった方は含まれません）。"
        ),
    }[source]


def hours(value: float) -> str:
    return f"{value:.1f}"


def rate(value: Utilisation) -> str:
    return "" if value.rate is None else f"{value.rate * 100:.1f}"


def _row(*cells: Cell) -> list[Cell]:
    return list(cells)


def _counts_row(label: str, counts: ChannelCounts) -> list[Cell]:
    return [label, *counts.values()]


def _facility_counts(report: MonthlyReport, pick: str) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for f in report.facilities:
        counts: ChannelCounts = getattr(f, pick)
        rows.append([f.facility.code, f.facility.name, *counts.values()])
    total: ChannelCounts = getattr(report, pick)
    rows.append(["", _("計"), *total.values()])
    return rows


def report_sections(report: MonthlyReport) -> list[Section]:
    scope = _("区全体") if report.ward_wide else _("担当施設（%(n)d施設）") % {"n": len(report.facilities)}
    sections = [
        Section(
            title=_("月次報告"),
            header=[_("項目"), _("内容")],
            rows=[
                [_("対象月"), month_label(report)],
                [_("集計時点"), formats.date_format(timezone.localtime(report.as_of), "Y-m-d H:i")],
                [_("範囲"), scope],
            ],
        )
    ]
    if report.valid_users is not None:
        users = report.valid_users
        sections.append(
            Section(
                title=_("有効登録者数（月末現在）"),
                header=channel_header(_("分類")),
                rows=[
                    [_("個人"), *users.individuals.values()],
                    [_("団体"), *users.groups.values()],
                    [_("計"), *users.total.values()],
                ],
                note=valid_users_note(users.source),
            )
        )
    sections.append(
        Section(
            title=_("抽選申込件数"),
            header=[_("施設コード"), _("施設名"), *channel_header("")[1:]],
            rows=_facility_counts(report, "lottery"),
        )
    )
    sections.append(
        Section(
            title=_("予約申込件数"),
            header=channel_header(_("種類")),
            rows=[
                *[_counts_row(str(ReservationKind(kind).label), c) for kind, c in report.reservations_by_kind.items()],
                _counts_row(_("計"), report.reservations),
            ],
        )
    )
    sections.append(
        Section(
            title=_("予約申込件数（施設別）"),
            header=[_("施設コード"), _("施設名"), *channel_header("")[1:]],
            rows=_facility_counts(report, "reservations"),
        )
    )
    if report.accesses is not None:
        sections.append(
            Section(
                title=_("アクセス件数"),
                header=channel_header(_("分類")),
                rows=[[_("アクセス件数"), *report.accesses.values()]],
                note=_("インターネットと窓口（職員端末）は表示したページ数、利用者端末は端末への要求数です。"),
            )
        )
    sections.append(
        Section(
            title=_("利用者端末のアクセス件数（施設別）"),
            header=[_("施設コード"), _("施設名"), _("件数")],
            rows=[
                *[_row(f.facility.code, f.facility.name, f.kiosk_accesses) for f in report.facilities],
                _row("", _("計"), report.kiosk_accesses),
            ],
        )
    )
    sections.append(
        Section(
            title=_("施設別稼働率"),
            header=[
                _("施設コード"),
                _("施設名"),
                _("利用可能コマ数"),
                _("予約コマ数"),
                _("公用コマ数"),
                _("休館コマ数"),
                _("利用可能時間"),
                _("利用時間"),
                _("稼働率（%）"),
            ],
            rows=[
                *[_utilisation_row(f.facility.code, f.facility.name, f.utilisation) for f in report.facilities],
                _utilisation_row("", _("計"), report.utilisation),
            ],
            note=_(
                "コマ＝区画×時間帯×日。休館日のコマは利用可能コマに含めません。稼働率＝利用時間÷利用可能時間（公用を含む）。"
            ),
        )
    )
    return sections


def _utilisation_row(code: str, name: str, u: Utilisation) -> list[Cell]:
    return [code, name, u.slots, u.booked, u.blocked, u.closed, hours(u.hours), hours(u.used_hours), rate(u)]


def write_csv(report: MonthlyReport, out: SupportsWrite[str], *, bom: bool = True) -> None:
    """The report as CSV: each section is its title, its header, its rows, an optional note, and a
    blank line."""
    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    for section in report_sections(report):
        writer.writerow([section.title])
        writer.writerow(section.header)
        writer.writerows(section.rows)
        if section.note:
            writer.writerow([section.note])
        writer.writerow([])


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    cells = [[str(c) for c in header], *[[f"{c:,}" if isinstance(c, int) else str(c) for c in r] for r in rows]]
    widths = [max(_width(row[i]) for row in cells if i < len(row)) for i in range(len(header))]
    numeric = [
        all(isinstance(r[i], int) or str(r[i]).replace(".", "").isdigit() for r in rows) for i in range(len(header))
    ]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(_pad(c, widths[i], numeric[i] and index > 0) for i, c in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render_text(report: MonthlyReport) -> str:
    """The report as aligned plain text (for a terminal)."""
    lines: list[str] = []
    for section in report_sections(report):
        lines.append(f"■ {section.title}")
        lines.extend(_table(section.header, section.rows))
        if section.note:
            lines.append(f"※ {section.note}")
        lines.append("")
    return "\n".join(lines)
