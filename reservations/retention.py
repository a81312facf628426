"""Retention: residents inactive for RETENTION_INACTIVE_DAYS have their personal data anonymised.

"Inactive" means, since the cutoff (now minus the period): no login, no registration or activation,
no booking made, no booking used (date of use), no booking still ahead, nothing the resident
represents a group in that was booked or used, and nothing another app still holds open for them
(lottery entries, open payments and refunds: those apps register an *activity source* at start-up,
since this app imports none of them). Staff logins are never touched.

Anonymising replaces the name, address, postcode and e-mail, keeps only the year of birth (age
statistics), clears the kiosk PIN, booking notes and the calendar feed, and disables the login. The
bookings stay (the room, date, fee and residency category make the ward's statistics), as does the
user number, which identifies nobody once the name and address are gone. Groups the resident
represents lose their contact person's name and e-mail. One transaction per resident, each
re-checked under its row lock, so a resident who logs in meanwhile is left alone; running it again
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import group_cache
from .models import Group, Reservation, Resident, ResidentPreference

logger = logging.getLogger(__name__)

ANONYMISED_NAME = "（匿名化済み）"

# A source gets the cutoff and returns a query of one column: the ids of the residents (people, not
# groups) it still needs, e.g. `Entry.objects.filter(created_at__gte=cutoff).values("person_id")`.
# It stays a subquery: nothing is loaded into Python. It must not return NULL (NOT IN with a NULL
# would keep everybody).
ActivitySource = Callable[[dt.datetime], QuerySet[Any]]
_sources: list[ActivitySource] = []


def register_activity_source(source: ActivitySource) -> None:
    if source not in _sources:
        _sources.append(source)


@dataclass
class RetentionResult:
    cutoff: dt.datetime
    candidates: int = 0
    anonymised: list[int] = field(default_factory=list)


def cutoff_for(*, now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


def _recent_reservations(cutoff: dt.datetime) -> QuerySet[Reservation]:
    """Booked, cancelled or used since the cutoff (which includes every booking still ahead)."""
    return Reservation.objects.filter(
        Q(created_at__gte=cutoff) | Q(date__gte=cutoff.date()) | Q(cancelled_at__gte=cutoff)
    )


def inactive_residents(*, now: dt.datetime, days: int) -> QuerySet[Resident]:
    """Residents not yet anonymised with no activity since the cutoff (see the module docstring)."""
    cutoff = cutoff_for(now=now, days=days)
    recent = _recent_reservations(cutoff)
    busy_groups = Group.objects.filter(
        Q(pk__in=recent.filter(group__isnull=False).values("group_id")) | Q(registered_at__gte=cutoff)
    )
    candidates = (
        Resident.objects.filter(anonymised_at__isnull=True, registered_at__lt=cutoff, user__is_staff=False)
        .exclude(user__last_login__gte=cutoff)
        .exclude(user__date_joined__gte=cutoff)
        .exclude(activated_at__gte=cutoff)
        .exclude(pk__in=recent.filter(resident__isnull=False).values("resident_id"))
        .exclude(represented_groups__in=busy_groups)
    )
    for source in _sources:
        candidates = candidates.exclude(pk__in=source(cutoff))
    return candidates.order_by("pk")


def resident_anonymise(*, resident_id: int, now: dt.datetime, days: int) -> bool:
    """Anonymise one resident if still inactive. Locks the resident's row (then their user's and
    groups' rows), re-checks inactivity under the lock, replaces the personal data. False when the
    resident became active meanwhile or was already anonymised."""
    with transaction.atomic():
        resident = Resident.objects.select_for_update().select_related("user").filter(pk=resident_id).first()
        if resident is None or not inactive_residents(now=now, days=days).filter(pk=resident_id).exists():
            return False
        user = resident.user
        resident.full_name = ANONYMISED_NAME
        resident.date_of_birth = resident.date_of_birth.replace(month=1, day=1)
        resident.postcode = ""
        resident.address = ""
        resident.kiosk_pin = ""
        resident.anonymised_at = now
        resident.save(update_fields=["full_name", "date_of_birth", "postcode", "address", "kiosk_pin", "anonymised_at"])
        user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["email", "is_active", "password"])
        if Group.objects.filter(representative=resident).update(contact_name=ANONYMISED_NAME, contact_email=""):
            group_cache.groups_changed()  # an update() sends no post_save
        Reservation.objects.filter(resident=resident).exclude(note="").update(note="")
        ResidentPreference.objects.filter(resident=resident).update(calendar_token=None, calendar_token_created_at=None)
    return True


def residents_anonymise(*, now: dt.datetime, days: int | None = None, dry_run: bool = False) -> RetentionResult:
    """Anonymise every inactive resident (RETENTION_INACTIVE_DAYS unless `days`); 0 days: off."""
    days = settings.RETENTION_INACTIVE_DAYS if days is None else days
    result = RetentionResult(cutoff=cutoff_for(now=now, days=max(days, 0)))
    if days <= 0:
        return result
    ids = list(inactive_residents(now=now, days=days).values_list("pk", flat=True))
    result.candidates = len(ids)
    if dry_run:
        return result
    for resident_id in ids:
        if resident_anonymise(resident_id=resident_id, now=now, days=days):
            result.anonymised.append(resident_id)
    if result.anonymised:
        logger.info("retention: anonymised %s inactive residents (cutoff %s)", len(result.anonymised), result.cutoff)
    return result


@shared_task(name="reservations.retention.anonymise_task", ignore_result=True)
def anonymise_task() -> int:
    """Daily (CELERY_BEAT_SCHEDULE "retention-anonymise"); idempotent."""
    return len(residents_anonymise(now=timezone.now()).anonymised)
