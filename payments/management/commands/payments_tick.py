"""`manage.py payments_tick`: run payments' periodic step once (what Celery beat does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from payments import services


class Command(BaseCommand):
    help = (
        "支払の定期処理を1回実行します (Run payments' periodic step once: expire unpaid bookings, "
        "reconcile card payments, request and execute due refunds)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.payments_tick(now=timezone.now())
        self.stdout.write(
            f"expired={len(result.expired)} reconciled={result.reconciled} "
            f"cancellation_refunds={result.cancellation_refunds} refunds_executed={result.refunds_executed}"
        )
