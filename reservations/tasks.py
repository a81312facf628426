"""The booking hub's periodic tasks (Celery beat: CELERY_BEAT_SCHEDULE in settings)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.utils import timezone

from . import reminders


@shared_task(name="reservations.tasks.send_reminders", ignore_result=True)
def send_reminders() -> dict[str, int]:
    """Reminder e-mails for the bookings coming up (once per booking, however often this runs)."""
    return asdict(reminders.reminders_send(now=timezone.now()))
