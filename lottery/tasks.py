"""The lottery's periodic tick (Celery beat, every minute: CELERY_BEAT_SCHEDULE in settings)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="lottery.tasks.tick", ignore_result=True)
def tick() -> dict[str, int]:
    """Perform every lottery step that is due; each is idempotent, so a missed or doubled tick is harmless."""
    return asdict(services.rounds_advance(now=timezone.now()))
