"""The availability cache: what the 09:00 crowd reads instead of PostgreSQL.

- A facility's occupied and closed cells over a range of days, and its rendered grid pages, are
  stored with the facility's version, which every booking, cancellation, block and closure bumps
  (inside the writing transaction and again after commit). A reader fetches the version and the
  entry in one round trip and uses the entry only if its version is current.
- The catalogue (rooms with units, purposes and tariffs; time bands) changes rarely: entries carry
  a global catalogue version that catalogue edits bump, and each process also keeps them in memory,
  re-reading that version at most every CATALOGUE_VERSION_MEMO_SECONDS, so the hot path does not
  unpickle model instances on every request.

A version starts from 60 random bits, so a key lost to eviction or a flush comes back as a value
never used before: an old entry can never pass for a current one. With the cache down,
everything is computed from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
ENTRY_SECONDS = 300
CATALOGUE_VERSION_KEY = "cat:v"

_catalogue_version_read: tuple[float, int] = (0.0, 0)
_catalogue_memo: dict[str, tuple[int, Any]] = {}


def _facility_version_key(facility_id: int) -> str:
    return f"avail:v:{facility_id}"


def _new_version(key: str) -> int:
    cache.add(key, secrets.randbits(60), timeout=None)
    return int(cache.get(key) or 0)


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing: start from a value never used before
        cache.set(key, secrets.randbits(60), timeout=None)


def bump_facility(facility_id: int) -> None:
    """Called inside the writing transaction and again after it commits: the second bump drops
    whatever a reader cached between the first and the commit."""
    try:
        _bump(_facility_version_key(facility_id))
    except Exception:
        logger.warning("availability cache: could not bump facility %s", facility_id, exc_info=True)


def bump_catalogue() -> None:
    global _catalogue_version_read
    _catalogue_version_read = (0.0, 0)
    try:
        _bump(CATALOGUE_VERSION_KEY)
    except Exception:
        logger.warning("availability cache: could not bump the catalogue", exc_info=True)


def _versioned(version_key: str, entry_key: str, compute: Callable[[], T], *, extra: object = None) -> T:
    """The entry stored under `entry_key` if it was computed at the current version (and with the
    same `extra`), else `compute()`, stored for the next reader. One round trip on a hit."""
    try:
        found = cache.get_many([version_key, entry_key])
        version = found.get(version_key) or _new_version(version_key)
    except Exception:
        logger.warning("availability cache unavailable", exc_info=True)
        return compute()
    entry = found.get(entry_key)
    if entry is not None and entry[0] == (version, extra):
        return entry[1]
    value = compute()
    try:
        cache.set(entry_key, ((version, extra), value), ENTRY_SECONDS)
    except Exception:
        logger.warning("availability cache: could not store %s", entry_key, exc_info=True)
    return value


def _catalogue_version() -> int:
    global _catalogue_version_read
    read_at, version = _catalogue_version_read
    if time.monotonic() - read_at >= settings.CATALOGUE_VERSION_MEMO_SECONDS:
        try:
            version = int(cache.get(CATALOGUE_VERSION_KEY) or _new_version(CATALOGUE_VERSION_KEY))
        except Exception:
            logger.warning("availability cache unavailable", exc_info=True)
            return -1  # never matches a memo entry: compute from the database
        _catalogue_version_read = (time.monotonic(), version)
    return version


def _catalogue_entry(key: str, compute: Callable[[], T]) -> T:
    version = _catalogue_version()
    memo = _catalogue_memo.get(key)
    if memo is not None and memo[0] == version:
        return memo[1]
    value = _versioned(CATALOGUE_VERSION_KEY, key, compute)
    if version != -1:
        _catalogue_memo[key] = (version, value)
    return value


def facility_catalogue(facility_id: int, compute: Callable[[], T]) -> T:
    return _catalogue_entry(f"cat:{facility_id}", compute)


def catalogue_item(name: str, compute: Callable[[], T]) -> T:
    return _catalogue_entry(f"cat:{name}", compute)


def room_with_bands(room_id: int, compute: Callable[[], T]) -> T:
    return _catalogue_entry(f"cat:room:{room_id}", compute)


def facility_cells(facility_id: int, first: dt.date, last: dt.date, compute: Callable[[], T]) -> T:
    return _versioned(_facility_version_key(facility_id), f"avail:{facility_id}:{first}:{last}", compute)


def facility_page(
    facility_id: int, parts: str, now: dt.datetime, render: Callable[[], str], *, opens_second: int = 0
) -> str:
    """A rendered availability page body, shared by everyone who asks in the same minute: past
    slots and the booking window move with the clock, by the minute. The minutes start at the
    second the facility's booking window opens, so a page is never cached across an opening."""
    minute = int((now.timestamp() - opens_second) // 60)
    key = f"page:{facility_id}:{minute}:{parts}"
    return _versioned(_facility_version_key(facility_id), key, render, extra=_catalogue_version())
