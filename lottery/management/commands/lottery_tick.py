"""`manage.py lottery_tick`: run the lottery's periodic step once (what Celery beat does every minute)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from lottery import services


class Command(BaseCommand):
    help = "抽選の定期処理を1回実行します (Run every due lottery step once: open, close, draw, expire, release)."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = services.rounds_advance(now=timezone.now())
        self.stdout.write(" ".join(f"{k}={v}" for k, v in asdict(summary).items()))
