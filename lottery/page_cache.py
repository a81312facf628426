"""The lottery's public pages and rounds from the cache: what the intake crowd reads instead of
PostgreSQL (the same idea as reservations/availability_cache.py, whose versions it reuses).

- Every round has a version, bumped by each entry made, withdrawn or moved (inside the writing
  transaction and again after commit) and by every change of the round itself (opening, closing,
  draw, publication, new dates). A global "rounds" version is bumped by the round changes alone.
- A public page (the index, a round's page, a room's entries per day and band) is rendered once,
  without the request, and served to everyone while the versions it depends on are those it was
  rendered at and the clock has not passed one of the instants it names (intake opening and close:
  the page flips at that second, not when the tick runs).
- Entry counts may be a few seconds old: when only the round's version moved (an entry made or
  withdrawn), a rendering younger than LOTTERY_COUNTS_STALE_SECONDS is still served, and the page
  says so. At the 09:00 opening every entry changes the counts, so without this each request would
  re-render. An out-of-date page is re-rendered by one request while the others get the previous
  rendering.
- The round of a facility group and use month (which the apply form and its early refusals need)
  is cached under the global rounds version.

With the cache down, everything is computed from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from reservations import availability_cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
ENTRY_SECONDS = 300
RENDER_LOCK_SECONDS = 5
# How long a request waits for a page another request is rendering (none may be shown meanwhile).
RENDER_WAIT_SECONDS = 3.0
RENDER_POLL_SECONDS = 0.02
ROUNDS_VERSION_KEY = "lottery:rounds:v"


def round_version_key(round_id: int) -> str:
    return f"lottery:v:{round_id}"


def stale_seconds() -> float:
    return float(settings.LOTTERY_COUNTS_STALE_SECONDS)


def _bump_all(keys: Sequence[str]) -> None:
    try:
        availability_cache.bump_versions(keys)
    except Exception:
        logger.warning("lottery cache: could not bump %s", keys, exc_info=True)


def _bump_now_and_after_commit(keys: Sequence[str]) -> None:
    """Inside the writing transaction and again after it commits: the second bump drops whatever a
    reader cached between the first and the commit."""
    _bump_all(keys)
    transaction.on_commit(lambda: _bump_all(keys))


def entries_changed(round_id: int) -> None:
    """An entry of the round was made, withdrawn or moved: its counts changed."""
    _bump_now_and_after_commit([round_version_key(round_id)])


def round_changed(round_id: int) -> None:
    """The round itself changed (state, dates, seed, results)."""
    _bump_now_and_after_commit([round_version_key(round_id), ROUNDS_VERSION_KEY])


def _new_version(key: str) -> int:
    cache.add(key, secrets.randbits(60), timeout=None)
    return int(cache.get(key) or 0)


@dataclass(frozen=True)
class Rendered:
    """A rendered page and when the clock makes it out of date (intake opening and close)."""

    html: str
    status: int = 200
    changes_at: tuple[float, ...] = field(default=())  # epoch seconds

    @staticmethod
    def instants(*moments: dt.datetime | None) -> tuple[float, ...]:
        return tuple(m.timestamp() for m in moments if m is not None)


def _crossed(rendered: Rendered, rendered_at: float, now: float) -> bool:
    return any(rendered_at < t <= now for t in rendered.changes_at)


def page(
    key: str,
    now: dt.datetime,
    render: Callable[[], Rendered],
    *,
    counts_key: str | None = None,
    version_keys: Sequence[str] = (),
) -> Rendered:
    """The page cached under `key` (see the module docstring). A change of `counts_key`'s version
    (the round's entry counts) is served up to LOTTERY_COUNTS_STALE_SECONDS late; `version_keys`
    and the catalogue's version must match exactly."""
    at = now.timestamp()
    keys = [counts_key] if counts_key else []
    keys += version_keys
    try:
        found = cache.get_many([*keys, key])
        versions = [found.get(k) or _new_version(k) for k in keys]
    except Exception:
        logger.warning("lottery cache unavailable", exc_info=True)
        return render()
    counts = versions[0] if counts_key else None
    others = (*versions[1 if counts_key else 0 :], availability_cache.catalogue_version())
    entry = found.get(key)
    if entry is not None and _serves(entry, counts, others, at):
        return entry[2]
    lock_key = f"{key}:rendering"
    try:
        rendering = cache.add(lock_key, 1, timeout=RENDER_LOCK_SECONDS)
    except Exception:  # noqa: BLE001
        rendering = True
    if not rendering:
        if entry is not None and not _crossed(entry[2], entry[1], at):
            return entry[2]  # someone is re-rendering it: the previous rendering meanwhile
        # No rendering that may be shown (none yet, or the clock passed the intake's opening or
        # close): wait for the one being made rather than all render it at once (the opening second).
        awaited = _await_rendering(key, lock_key, counts, others, at)
        if awaited is not None:
            return awaited
    rendered = render()
    try:
        cache.set(key, ((counts, others), at, rendered), ENTRY_SECONDS)
        cache.delete(lock_key)
    except Exception:
        logger.warning("lottery cache: could not store %s", key, exc_info=True)
    return rendered


def _serves(entry: Any, counts: Any, others: tuple[Any, ...], at: float) -> bool:
    """Whether a cached rendering may be served at `at`: rendered at the same versions (the entry
    counts may be a moment behind) and since the last instant the page names."""
    (old_counts, old_others), rendered_at, rendered = entry
    if _crossed(rendered, rendered_at, at) or old_others != others:
        return False
    return bool(old_counts == counts or at - rendered_at < stale_seconds())


def _await_rendering(key: str, lock_key: str, counts: Any, others: tuple[Any, ...], at: float) -> Rendered | None:
    """The rendering another request is making, once stored; None when it gave up (its lock is
    gone without a usable rendering) or RENDER_WAIT_SECONDS passed: then render it yourself."""
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(RENDER_POLL_SECONDS)
        try:
            found = cache.get_many([key, lock_key])
        except Exception:  # noqa: BLE001
            return None
        entry = found.get(key)
        if entry is not None and _serves(entry, counts, others, at):
            return cast(Rendered, entry[2])
        if lock_key not in found:
            return None
    return None


def value(key: str, compute: Callable[[], T]) -> T:
    """A value computed from the rounds (e.g. the round of a group and month), current while the
    global rounds version is. One round trip on a hit."""
    try:
        found: dict[str, Any] = cache.get_many([ROUNDS_VERSION_KEY, key])
        version = found.get(ROUNDS_VERSION_KEY) or _new_version(ROUNDS_VERSION_KEY)
    except Exception:
        logger.warning("lottery cache unavailable", exc_info=True)
        return compute()
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return entry[1]
    result = compute()
    try:
        cache.set(key, (version, result), ENTRY_SECONDS)
    except Exception:
        logger.warning("lottery cache: could not store %s", key, exc_info=True)
    return result
