"""Cached groups (reservations/forms.resident_groups) are dropped when any group or its member
list changes: saved, deleted, members added, removed or cleared. Writes that bypass the signals
(`QuerySet.update`) call `groups_changed` themselves; `bulk_create` (demo and benchmark data only)
does not, and its effect shows once the entries expire (availability_cache.ENTRY_SECONDS).

Inside a transaction the version is bumped at once and again after the commit: a reader between
the two would have cached the list as it was before the commit.

A resident's groups are put in the cache when they log in. Residents log in just before the 09:00
opening, so their first booking page reads the groups from the cache rather than PostgreSQL, at the
minute when the database has the most to do.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import availability_cache
from .forms import resident_groups
from .models import Group

MEMBER_CHANGES = frozenset({"post_add", "post_remove", "post_clear"})


def groups_changed() -> None:
    availability_cache.bump_groups()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(availability_cache.bump_groups)


@receiver(post_save, sender=Group, dispatch_uid="group_cache_saved")
@receiver(post_delete, sender=Group, dispatch_uid="group_cache_deleted")
def _group_written(**_kwargs: Any) -> None:
    groups_changed()


@receiver(m2m_changed, sender=Group.members.through, dispatch_uid="group_cache_members")
def _members_changed(action: str, **_kwargs: Any) -> None:
    if action in MEMBER_CHANGES:
        groups_changed()


@receiver(user_logged_in, dispatch_uid="group_cache_login")
def _warm_on_login(user: Any, **_kwargs: Any) -> None:
    resident = getattr(user, "resident", None)  # staff have none
    if resident is not None:
        resident_groups(resident)
