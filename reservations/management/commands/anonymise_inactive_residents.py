"""`manage.py anonymise_inactive_residents [--days N] [--dry-run]`: the retention rule by hand
(reservations/retention.py; the beat task runs it daily)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reservations.retention import residents_anonymise


class Command(BaseCommand):
    help = (
        "一定期間利用のない利用者の個人情報を匿名化します (anonymise residents inactive for "
        "RETENTION_INACTIVE_DAYS; bookings are kept)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"無利用の日数 (default: RETENTION_INACTIVE_DAYS = {settings.RETENTION_INACTIVE_DAYS})",
        )
        parser.add_argument("--dry-run", action="store_true", help="対象の件数だけ表示し、変更しない (count only)")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days は 1 以上にしてください (at least 1 day).")
        result = residents_anonymise(now=timezone.now(), days=days, dry_run=options["dry_run"])
        effective = settings.RETENTION_INACTIVE_DAYS if days is None else days
        if effective <= 0:
            self.stdout.write("RETENTION_INACTIVE_DAYS が 0 のため何もしません (retention is off).")
            return
        if options["dry_run"]:
            self.stdout.write(
                f"対象 {result.candidates} 人（{result.cutoff:%Y-%m-%d} 以降の利用なし）: 変更していません "
                f"(dry run: {result.candidates} residents inactive since {result.cutoff:%Y-%m-%d}; nothing changed)."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"匿名化 {len(result.anonymised)} 人 / 対象 {result.candidates} 人 "
                f"(anonymised {len(result.anonymised)} of {result.candidates} inactive since {result.cutoff:%Y-%m-%d})."
            )
        )
