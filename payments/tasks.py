"""Payments' periodic tick (Celery beat, every minute: CELERY_BEAT_SCHEDULE in settings)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="payments.tasks.tick", ignore_result=True)
def tick() -> dict[str, int]:
    """Expire unpaid bookings, reconcile open card payments, request and execute due refunds.
    Every step is idempotent, so a missed or doubled tick is harmless."""
    result = services.payments_tick(now=timezone.now())
    return {
        "expired": len(result.expired),
        "reconciled": result.reconciled,
        "cancellation_refunds": result.cancellation_refunds,
        "refunds_executed": result.refunds_executed,
    }
