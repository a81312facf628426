"""The availability cache: what the 09:00 crowd reads instead of PostgreSQL.

Two kinds of entries, both under versioned keys so that invalidating is one INCR and a stale entry
is never read again (it just expires):
- a facility's occupied and closed cells over a range of days, keyed by the facility's version,
  which every booking, cancellation, block and closure bumps;
- a facility's catalogue (rooms with units and purposes, time bands), keyed by a global catalogue
  version that catalogue edits bump.

A version is created from the clock in nanoseconds, so a key lost to eviction or a flush comes
back as a value never used before: an old entry can never be mistaken for a current one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
ENTRY_SECONDS = 300
CATALOGUE_VERSION_KEY = "cat:v"


def _facility_version_key(facility_id: int) -> str:
    return f"avail:v:{facility_id}"


def _version(key: str) -> int:
    value = cache.get(key)
    if value is None:
        cache.add(key, time.time_ns(), timeout=None)
        value = cache.get(key)
    return int(value or 0)


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing: start from a value never used before
        cache.set(key, time.time_ns(), timeout=None)


def bump_facility(facility_id: int) -> None:
    """Called inside the writing transaction and again after it commits: the second bump drops
    whatever a reader cached between the first and the commit."""
    try:
        _bump(_facility_version_key(facility_id))
    except Exception:
        logger.warning("availability cache: could not bump facility %s", facility_id, exc_info=True)


def bump_catalogue() -> None:
    try:
        _bump(CATALOGUE_VERSION_KEY)
    except Exception:
        logger.warning("availability cache: could not bump the catalogue", exc_info=True)


def _cached(key_for: Callable[[], str], compute: Callable[[], T]) -> T:
    """The cached value, or `compute()` stored for next time. With the cache down, just compute."""
    try:
        key = key_for()
        value = cache.get(key)
    except Exception:
        logger.warning("availability cache unavailable", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, ENTRY_SECONDS)
        except Exception:
            logger.warning("availability cache: could not store %s", key, exc_info=True)
    return value


def facility_cells(facility_id: int, first: dt.date, last: dt.date, compute: Callable[[], T]) -> T:
    return _cached(
        lambda: f"avail:{facility_id}:{_version(_facility_version_key(facility_id))}:{first}:{last}", compute
    )


def facility_catalogue(facility_id: int, compute: Callable[[], T]) -> T:
    return _cached(lambda: f"cat:{facility_id}:{_version(CATALOGUE_VERSION_KEY)}", compute)
