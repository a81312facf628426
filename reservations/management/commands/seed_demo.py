"""`manage.py seed_demo`: fill the database with a demo ward (see reservations/demo.py)."""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser
from typing import Any

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reservations import demo
from reservations.domain import TOKYO
from reservations.models import Facility


def parse_month(value: str | dt.date | None) -> dt.date:
    if value is None:
        return timezone.now().astimezone(TOKYO).date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise CommandError(f"--start-month は YYYY-MM 形式で指定してください（例: 2026-04）: {value!r}") from error


class Command(BaseCommand):
    help = "デモ用の施設・室場・利用者・予約を投入します (Seed a demo ward: facilities, rooms, residents, bookings)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="乱数の種 (random seed); same seed, same data")
        parser.add_argument("--residents", type=int, default=3000, help="利用者数 (number of residents)")
        parser.add_argument("--start-month", default=None, help="YYYY-MM; default: this month (Asia/Tokyo)")
        parser.add_argument("--if-empty", action="store_true", help="施設が既にあれば何もしない (skip if seeded)")
        parser.add_argument("--reset", action="store_true", help="既存のデモデータを削除してから投入 (delete first)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Facility.objects.exists():
            self.stdout.write("施設データが既にあるため、デモデータの投入を省略しました (already seeded; skipped).")
            return
        if options["residents"] < 2:
            raise CommandError("--residents は 2 以上にしてください (at least the two demo residents).")
        start_month = parse_month(options["start_month"])
        if demo.has_data():
            if not options["reset"]:
                raise CommandError(
                    "データベースに既にデータがあります。削除して入れ直すには --reset を付けてください "
                    "(the database is not empty; pass --reset to delete the demo data and seed again)."
                )
            demo.reset()
        began = time.perf_counter()
        summary = demo.build_ward(
            seed=options["seed"], residents=options["residents"], start_month=start_month, now=timezone.now()
        )
        cache.clear()  # cached availability of the data just replaced (a demo command, never production)
        kinds = " / ".join(f"{kind} {count}" for kind, count in sorted(summary.kinds.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"デモデータを投入しました (seeded, seed={options['seed']}, from {start_month:%Y-%m}) "
                f"in {time.perf_counter() - began:.1f} s\n"
                f"  施設 facilities {summary.facilities} ({kinds})\n"
                f"  室場 rooms {summary.rooms} / 使用料 tariffs {summary.tariffs} / 休館日 closures {summary.closures}\n"
                f"  利用者 residents {summary.residents} (有効 active {summary.active_residents}) / "
                f"団体 groups {summary.groups}\n"
                f"  予約 bookings {summary.bookings} / 公用 blocks {summary.blocks}"
            )
        )
