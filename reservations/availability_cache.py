"""The availability cache: what the 09:00 crowd reads instead of PostgreSQL.

- A facility's occupied and closed cells over a range of days, and its rendered grid pages, are
  stored with the facility's version, which every booking, cancellation, block and closure bumps
  (inside the writing transaction and again after commit). A reader fetches the version and the
  entry in one round trip and uses the entry only if its version is current. One day's cells (what
  the booking step asks) carry that day's own version, bumped by the same writes, so at 09:00 a
  booking does not send the crowd asking about the facility's other days back to PostgreSQL.
- The catalogue (rooms with units, purposes and tariffs; time bands) changes rarely: entries carry
  a global catalogue version that catalogue edits bump, and each process also keeps them in memory,
  re-reading that version at most every CATALOGUE_VERSION_MEMO_SECONDS, so the hot path does not
  unpickle model instances on every request.
- The groups each resident may book for (the booking page's group choice) sit under one global
  version that any change to a group or its members bumps (reservations/group_cache.py).

A version starts from 60 random bits, so a key lost to eviction or a flush comes back as a value
never used before: an old entry can never pass for a current one. With the cache down,
everything is computed from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
ENTRY_SECONDS = 300
RENDER_LOCK_SECONDS = 5
CATALOGUE_VERSION_KEY = "cat:v"
GROUPS_VERSION_KEY = "groups:v"

_catalogue_version_read: tuple[float, int] = (0.0, 0)
_catalogue_memo: dict[str, tuple[int, Any]] = {}


def _facility_version_key(facility_id: int) -> str:
    return f"avail:v:{facility_id}"


def facility_version_key(facility_id: int) -> str:
    """The cache key of a facility's version, for pages elsewhere that depend on its availability."""
    return _facility_version_key(facility_id)


def _new_version(key: str) -> int:
    cache.add(key, secrets.randbits(60), timeout=None)
    return int(cache.get(key) or 0)


def bump_versions(keys: Sequence[str]) -> None:
    """Bump version keys: each goes up by one, and a key lost to eviction or a flush comes back as
    60 random bits, a value never used before. In one round trip with Redis (config/redis_cache.py's
    `bump`); key by key with another backend (`make run`'s local memory)."""
    bump = getattr(cache, "bump", None)
    if bump is not None:
        bump(keys)
        return
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:  # missing
            cache.set(key, secrets.randbits(60), timeout=None)


def _day_version_key(facility_id: int, day: dt.date) -> str:
    return f"avail:v:{facility_id}:{day.isoformat()}"


def bump_facility(facility_id: int, days: Iterable[dt.date] = ()) -> None:
    """Called inside the writing transaction and again after it commits: the second bump drops
    whatever a reader cached between the first and the commit. `days` are the days the write
    touched: their own versions guard the one-day entries the booking step reads, so a booking on
    one day leaves the cached answers about the facility's other days current."""
    try:
        # INCR, not a new random value: live.js compares versions to tell a page older than a change.
        bump_versions([_facility_version_key(facility_id), *(_day_version_key(facility_id, day) for day in days)])
    except Exception:
        logger.warning("availability cache: could not bump facility %s", facility_id, exc_info=True)


def facility_version(facility_id: int) -> int | None:
    """The facility's current version (None with the cache down). Live availability sends it with
    each change, and the cached pages carry the version they were rendered at, so a browser can
    tell a page that is older than the change it was told about."""
    try:
        value = cache.get(_facility_version_key(facility_id))
    except Exception:
        logger.warning("availability cache unavailable", exc_info=True)
        return None
    return int(value) if value is not None else None


def bump_catalogue() -> None:
    global _catalogue_version_read
    _catalogue_version_read = (0.0, 0)
    try:
        bump_versions([CATALOGUE_VERSION_KEY])
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


def catalogue_version() -> int:
    """The catalogue's version as this process last read it (re-read at most every
    CATALOGUE_VERSION_MEMO_SECONDS; -1 with the cache down)."""
    return _catalogue_version()


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
    """The facility's occupied and closed cells over the days. One day (the booking step's question)
    is guarded by that day's version, longer ranges by the facility's: at 09:00 the crowd's
    "is this slot still free?" is recomputed only when that very day changed."""
    version_key = _day_version_key(facility_id, first) if first == last else _facility_version_key(facility_id)
    return _versioned(version_key, f"avail:{facility_id}:{first}:{last}", compute)


def resident_groups(resident_id: int, compute: Callable[[], T]) -> T:
    """The groups a resident may book for (reservations/forms.resident_groups), guarded by one
    version that any change to any group or its member list bumps: groups change rarely
    (registrations, activations, member lists), while every booking page asks for them."""
    return _versioned(GROUPS_VERSION_KEY, f"groups:{resident_id}", compute)


def bump_groups() -> None:
    try:
        bump_versions([GROUPS_VERSION_KEY])
    except Exception:
        logger.warning("availability cache: could not bump the groups", exc_info=True)


Stamp = tuple[int, int, int]  # (facility version, catalogue version, minute) a page was rendered at


@dataclass(frozen=True)
class Page:
    """A rendered availability page of a facility and what it was rendered at (`stamp` is None with
    the cache down: then it was rendered just now and is not shared)."""

    facility_id: int
    opens_second: int  # the minutes of its stamp start at this second
    html: str
    stamp: Stamp | None
    rendered_at: float

    @property
    def version(self) -> int | None:
        """The facility version the page shows."""
        return self.stamp[0] if self.stamp is not None else None


def _minute(now: dt.datetime, opens_second: int) -> int:
    return int((now.timestamp() - opens_second) // 60)


def _recently_rendered(rendered: Stamp, rendered_at: float, stamp: Stamp) -> bool:
    """Outdated by bookings only (the catalogue and the minute are the same) and rendered less than
    AVAILABILITY_RERENDER_SECONDS ago."""
    return rendered[1:] == stamp[1:] and time.time() - rendered_at < settings.AVAILABILITY_RERENDER_SECONDS


def facility_page_versioned(
    facility_id: int, parts: str, now: dt.datetime, render: Callable[[], str], *, opens_second: int = 0
) -> Page:
    """A rendered availability page, shared by everyone who asks for it, with the stamp it was
    rendered at.

    It is current while the facility's version, the catalogue version and the minute are those it
    was rendered at (past slots and the booking window move with the clock, by the minute; the
    minutes start at the second the facility's booking window opens). At 09:00 every booking makes
    the page out of date: then one request re-renders it while the others are served the previous
    rendering (at most one render old) instead of all rendering at once. And a page outdated by
    bookings alone (same catalogue, same minute) is re-rendered at most once every
    AVAILABILITY_RERENDER_SECONDS: in the rush a hot facility's page would otherwise be rendered
    again after each of its bookings. Availability pages only inform, and say which version they
    show (live.js re-reads one older than a change it was told of); the booking itself is decided
    by the database. `still_served` gives the same verdict on a rendering kept elsewhere
    (config/page_replay.py)."""
    version_key = _facility_version_key(facility_id)
    key = f"page:{facility_id}:{parts}"
    try:
        found = cache.get_many([version_key, key])
        stamp = (found.get(version_key) or _new_version(version_key), _catalogue_version(), _minute(now, opens_second))
    except Exception:
        logger.warning("availability cache unavailable", exc_info=True)
        return Page(facility_id, opens_second, render(), None, time.time())
    entry, kept = found.get(key), None
    if entry is not None and len(entry) == 3:
        kept = Page(facility_id, opens_second, str(entry[1]), entry[0], float(entry[2]))
        if entry[0] == stamp or _recently_rendered(entry[0], kept.rendered_at, stamp):
            return kept
    try:
        rendering = cache.add(f"{key}:rendering", 1, timeout=RENDER_LOCK_SECONDS)
    except Exception:  # noqa: BLE001
        rendering = True
    if not rendering and kept is not None:
        # Someone is re-rendering it: the previous rendering meanwhile, with its older version.
        return kept
    page = Page(facility_id, opens_second, render(), stamp, time.time())
    try:
        cache.set(key, (stamp, page.html, page.rendered_at), ENTRY_SECONDS)
        cache.delete(f"{key}:rendering")
    except Exception:
        logger.warning("availability cache: could not store %s", key, exc_info=True)
    return page


def still_served(page: Page, now: dt.datetime) -> bool:
    """Whether `facility_page_versioned` would serve this rendering as it is now: rendered at the
    current stamp, or outdated by bookings alone and rendered less than
    AVAILABILITY_RERENDER_SECONDS ago. The second needs no round trip to the cache (the catalogue
    version is the process's); the first reads the facility's version. False with the cache down."""
    catalogue = _catalogue_version()
    if page.stamp is None or catalogue == -1:
        return False
    minute = _minute(now, page.opens_second)
    if _recently_rendered(page.stamp, page.rendered_at, (page.stamp[0], catalogue, minute)):
        return True
    try:
        version = cache.get(_facility_version_key(page.facility_id))
    except Exception:
        logger.warning("availability cache unavailable", exc_info=True)
        return False
    return version is not None and (int(version), catalogue, minute) == page.stamp
