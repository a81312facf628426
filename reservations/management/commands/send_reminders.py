"""python manage.py send_reminders — the reminder e-mails that are due, once (what Celery beat runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reservations import reminders


class Command(BaseCommand):
    help = "Send the reminder e-mails that are due (each booking gets at most one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days-before", type=int, default=None, help="override REMINDER_DAYS_BEFORE")

    def handle(self, *args: Any, **options: Any) -> None:
        run = reminders.reminders_send(now=timezone.now(), days_before=options["days_before"])
        self.stdout.write(f"due {run.due}, sent {run.sent}, failed {run.failed}")
