"""The reports' periodic tick (Celery beat, every 5 minutes: CELERY_BEAT_SCHEDULE in settings;
imported by the worker through CELERY_IMPORTS)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import report_services


@shared_task(name="kiosks.report_tasks.tick", ignore_result=True)
def tick() -> dict[str, object]:
    """Move counted accesses into the database; record last month's valid users once. Both are
    idempotent, so a missed or doubled tick is harmless."""
    summary = report_services.reports_tick(now=timezone.now())
    recorded = summary.recorded_month.isoformat() if summary.recorded_month else None
    return {"accesses_flushed": summary.accesses_flushed, "recorded_month": recorded}
