"""`manage.py monthly_report [--month 2026-10] [--csv [--output FILE] [--no-bom]]`: the ward-wide
monthly report (the four tables by channel and occupancy per facility) for the statistics office.

Without --month, the last complete month. As text by default; with --csv, the same CSV as the staff
page's download (UTF-8 with a BOM, so Excel reads the Japanese), to stdout or to --output. Counted
accesses still waiting in Redis are moved into the database first."""

from __future__ import annotations

import io
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kiosks import report_export, report_services
from kiosks.report_selectors import MonthRefused, default_month, monthly_report, parse_month


class Command(BaseCommand):
    help = "月次報告（区全体）を出力します (Print the ward-wide monthly report)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: the last complete month)")
        parser.add_argument("--csv", action="store_true", help="CSV (UTF-8 with BOM) instead of text")
        parser.add_argument("--output", type=Path, help="write to this file instead of stdout")
        parser.add_argument("--no-bom", action="store_true", help="CSV without the byte-order mark")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            month = parse_month(options["month"], now=now) if options["month"] else default_month(now)
        except MonthRefused as refused:
            raise CommandError(f"{refused.message} ({options['month']!r})") from refused
        report_services.access_counts_flush(now=now)
        report = monthly_report(month=month, facility_ids=None, now=now)
        if options["csv"]:
            buffer = io.StringIO(newline="")
            report_export.write_csv(report, buffer, bom=not options["no_bom"])
            text = buffer.getvalue()
        else:
            text = report_export.render_text(report)
        if options["output"] is not None:
            try:
                options["output"].write_text(text, encoding="utf-8", newline="")
            except OSError as error:
                raise CommandError(f"書き込めません (cannot write): {error}") from error
            self.stderr.write(f"{options['output']}: {month:%Y-%m}")
        else:
            self.stdout.write(text, ending="")
