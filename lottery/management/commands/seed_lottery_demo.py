"""`manage.py seed_lottery_demo`: the demo lottery on top of `seed_demo`'s ward (see lottery/demo.py)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from lottery import demo
from reservations.models import Facility


class Command(BaseCommand):
    help = "デモ用の抽選（受付中の抽選と結果公開済みの抽選）を投入します (Seed the demo lottery)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="乱数の種 (random seed for the demo entries)")
        parser.add_argument("--if-empty", action="store_true", help="抽選が既にあれば何もしない (skip if seeded)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and demo.has_data():
            self.stdout.write("抽選データが既にあるため、投入を省略しました (lottery already seeded; skipped).")
            return
        if demo.has_data():
            raise CommandError("抽選データが既にあります (the lottery is already seeded).")
        if not Facility.objects.exists():
            raise CommandError("先に seed_demo を実行してください (run seed_demo first).")
        began = time.perf_counter()
        # The demo's e-mails (results, confirmations) would flood the console: they go nowhere.
        # One transaction: thousands of small commits are slow on SQLite, and a failure leaves nothing.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
            summary = demo.build(seed=options["seed"], now=timezone.now())
        cache.clear()  # cached availability changed by the demo wins (a demo command, never production)
        lines = [f"抽選のデモデータを投入しました (lottery demo seeded) in {time.perf_counter() - began:.1f} s"]
        lines.append(f"  抽選対象の室場 lottery rooms {summary.rooms}")
        if summary.open_round is not None:
            lines.append(
                f"  受付中 open: {summary.open_round} → /lottery/rounds/{summary.open_round.pk}/ "
                f"(entries {summary.open_entries})"
            )
        if summary.past_round is not None:
            lines.append(
                f"  結果公開済み published: {summary.past_round} → /lottery/rounds/{summary.past_round.pk}/ "
                f"(entries {summary.past_entries}, confirmed wins {summary.past_won})"
            )
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
