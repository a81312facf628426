"""Live availability: tell the browsers watching a facility's month that its availability changed.

How a change travels:
1. A booking, cancellation, expiry, lottery win or release, staff block or closure commits;
   reservations/services.py `_notify_after_commit` calls reservations.notifications
   `availability_changed` from `transaction.on_commit`, so rolled-back changes are never announced.
2. `availability_changed` below (registered as a listener in kiosks/apps.py) notes the changed days
   per (facility, month) group and, for the first change of a coalescing window, schedules one send
   LIVE_COALESCE_SECONDS later. However many bookings land in the window, the group gets one
   message naming the facility, the month and the changed days, never who booked.
3. The send is a `group_send` on the channel layer (Redis in production: the web workers and the
   ASGI websocket process are different processes); kiosks/consumers.py forwards it to each socket
   and static/js/live.js re-fetches the grid.

The cost on the booking path is one Redis round trip per change: a small Lua script adds the days
to the group's pending set and takes the window with SET NX PX. Whoever takes the window sends,
after the window, everything pending (the script's pending set), so a change made during the window
is never lost: its days are in the set before the window key expires, and the send runs after that.
With Redis down nothing is sent and bookings go on (fail open): the failure is logged once and
Redis is not tried again for REDIS_RETRY_SECONDS. Browsers fall back to a periodic refresh while
their socket is down.

`make run` has no Redis: Channels' in-memory layer only works inside the one process, on the event
loop its consumers run on, so there the pending days are kept in memory and sends run on that loop.

Logging out closes the sockets of that session (`close_session`, connected to `user_logged_out`),
and revoking a kiosk closes the kiosk's sockets (`close_kiosk`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import redis
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.http import HttpRequest

from reservations import availability_cache

logger = logging.getLogger(__name__)

CHANGED = "availability.changed"  # handled by AvailabilityConsumer.availability_changed
CLOSE = "live.close"  # handled by AvailabilityConsumer.live_close
REDIS_RETRY_SECONDS = 10.0

# KEYS: the window key, the pending-days set. ARGV: the window in ms, then the changed days.
# Returns 1 when this call took the window (the caller schedules the send), else 0.
_ADD_SCRIPT = """
redis.call('SADD', KEYS[2], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[2], ARGV[1] * 20)
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
"""
# KEYS: the pending-days set. Returns and removes its members atomically.
_TAKE_SCRIPT = """
local days = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return days
"""


# --- Group names (channel-layer groups: ASCII letters, digits, '-', '_', '.') --------------------


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def availability_group(facility_id: int, month: str) -> str:
    """Everyone watching `facility_id` in `month` ("2026-12")."""
    return f"avail.{facility_id}.{month}"


def session_group(session_key: str) -> str:
    """The sockets opened with one login session (hashed: session keys never reach Redis)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def kiosk_group(kiosk_id: int) -> str:
    return f"kiosk.{kiosk_id}"


# --- Where sends run --------------------------------------------------------------------------


class _BackgroundLoop:
    """An event loop in a daemon thread for channel-layer sends from sync code (web workers),
    started on first use and again in a forked child (a server that loads the application before it
    forks its workers: uWSGI without lazy-apps, gunicorn --preload)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="live-availability", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_background = _BackgroundLoop()
_consumer_loop: asyncio.AbstractEventLoop | None = None


def consumer_started(loop: asyncio.AbstractEventLoop) -> None:
    """Called by each consumer on connect: with the in-memory layer, sends must run on its loop."""
    global _consumer_loop
    _consumer_loop = loop


def _layer() -> BaseChannelLayer | None:
    return get_channel_layer()


def _in_memory(layer: BaseChannelLayer | None) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def _send_loop() -> asyncio.AbstractEventLoop | None:
    """The loop sends run on, or None when nobody in this process could be listening."""
    layer = _layer()
    if layer is None:
        return None
    if _in_memory(layer):
        loop = _consumer_loop
        return loop if loop is not None and loop.is_running() else None
    return _background.get()


async def _logged(send: Callable[[], Awaitable[None]]) -> None:
    try:
        await send()
    except Exception:  # noqa: BLE001 (fail open: logged once by _failure, with the traceback)
        _failure("live availability: a channel-layer send failed")
    else:
        _recovered()


def _run(send: Callable[[], Awaitable[None]], *, delay: float = 0.0) -> bool:
    """Run `send()` on the send loop after `delay` seconds; False if there is no loop to run it."""
    loop = _send_loop()
    if loop is None:
        return False

    def start() -> None:
        loop.create_task(_logged(send))

    try:
        if delay > 0:
            loop.call_soon_threadsafe(loop.call_later, delay, start)
        else:
            loop.call_soon_threadsafe(start)
    except RuntimeError:  # the loop was closed meanwhile (e.g. the test that owned it ended)
        return False
    return True


# --- Failing open, logged once ------------------------------------------------------------------

_down_since: float | None = None
_retry_at = 0.0


def _failure(message: str) -> None:
    global _down_since, _retry_at
    _retry_at = time.monotonic() + REDIS_RETRY_SECONDS
    if _down_since is None:
        _down_since = time.monotonic()
        logger.warning("%s; bookings go on, live updates pause (logged once until it recovers)", message, exc_info=True)


def _recovered() -> None:
    global _down_since
    if _down_since is not None:
        logger.info("live availability: sending again after %.0f s", time.monotonic() - _down_since)
        _down_since = None


def _paused() -> bool:
    return time.monotonic() < _retry_at


def reset_failures() -> None:
    """Forget a past failure (tests)."""
    global _down_since, _retry_at
    _down_since, _retry_at = None, 0.0


# --- Coalescing -------------------------------------------------------------------------------


class _Coalescer(Protocol):
    def add(self, group: str, days: Iterable[str]) -> bool: ...

    def take(self, group: str) -> set[str]: ...


class MemoryCoalescer:
    """Pending days per group in this process (the in-memory layer reaches this process only).
    A window whose send never ran (its loop stopped) is taken over after a while, as in Redis."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    def add(self, group: str, days: Iterable[str]) -> bool:
        now = time.monotonic()
        with self._lock:
            pending = self._pending.get(group)
            if pending is not None and now - pending[0] < 20 * settings.LIVE_COALESCE_SECONDS:
                pending[1].update(days)
                return False
            self._pending[group] = (now, set(days) | (pending[1] if pending is not None else set()))
            return True

    def take(self, group: str) -> set[str]:
        with self._lock:
            return self._pending.pop(group, (0.0, set()))[1]


class RedisCoalescer:
    """Pending days and the window per group in Redis, shared by every web worker."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._add = self._client.register_script(_ADD_SCRIPT)
        self._take = self._client.register_script(_TAKE_SCRIPT)
        self._prefix = prefix

    def _keys(self, group: str) -> tuple[str, str]:
        base = f"{self._prefix}live:{{{group}}}"  # one hash slot per group (Redis Cluster)
        return f"{base}:window", f"{base}:days"

    def add(self, group: str, days: Iterable[str]) -> bool:
        window_ms = max(1, int(settings.LIVE_COALESCE_SECONDS * 1000))
        return bool(self._add(keys=list(self._keys(group)), args=[window_ms, *days]))

    def take(self, group: str) -> set[str]:
        return {d.decode() for d in self._take(keys=[self._keys(group)[1]])}


_memory = MemoryCoalescer()
_redis: tuple[tuple[str, str], RedisCoalescer] | None = None


def _coalescer(layer: BaseChannelLayer | None) -> _Coalescer:
    global _redis
    if _in_memory(layer) or not settings.REDIS_URL:
        return _memory
    config = (settings.REDIS_URL, settings.LIVE_KEY_PREFIX)
    if _redis is None or _redis[0] != config:
        _redis = (config, RedisCoalescer(*config))
    return _redis[1]


# --- What the rest of the project calls --------------------------------------------------------


def availability_changed(facility_id: int, dates: Iterable[dt.date]) -> None:
    """The listener reservations.notifications calls after a commit that changed occupancy."""
    layer = _layer()
    if layer is None or _paused():
        return
    if _in_memory(layer) and _send_loop() is None:
        return  # nobody has connected in this process: nobody to tell
    by_month: dict[str, set[str]] = defaultdict(set)
    for day in dates:
        by_month[month_key(day)].add(day.isoformat())
    coalescer = _coalescer(layer)
    for month, days in sorted(by_month.items()):
        group = availability_group(facility_id, month)
        try:
            first = coalescer.add(group, sorted(days))
        except Exception:  # noqa: BLE001 (fail open: logged once by _failure, with the traceback)
            _failure("live availability: Redis unreachable")
            return
        if first and not _run(_flush_later(coalescer, group, facility_id, month), delay=settings.LIVE_COALESCE_SECONDS):
            coalescer.take(group)  # no loop to send from: do not leave the window claimed


def _flush_later(coalescer: _Coalescer, group: str, facility_id: int, month: str) -> Callable[[], Awaitable[None]]:
    async def flush() -> None:
        days = coalescer.take(group)
        if not days:
            return
        layer = _layer()
        if layer is None:
            return
        await layer.group_send(group, changed_message(facility_id, month, days))

    return flush


def changed_message(facility_id: int, month: str, days: Iterable[str]) -> dict[str, Any]:
    """What a group hears: the facility, the month, the changed days and the facility's cache
    version at the time of sending (live.js re-fetches until the page is at least that recent)."""
    version = availability_cache.facility_version(facility_id)
    return {
        "type": CHANGED,
        "facility": facility_id,
        "month": month,
        "dates": sorted(days),
        "version": str(version) if version is not None else "",
    }


def _close_group(group: str, reason: str) -> None:
    layer = _layer()
    if layer is None:
        return

    async def send() -> None:
        await layer.group_send(group, {"type": CLOSE, "reason": reason})

    _run(send)


def close_session(session_key: str | None) -> None:
    """Close every socket opened with this session (logout, a kiosk session ending)."""
    if session_key:
        _close_group(session_group(session_key), "logged_out")


def close_kiosk(kiosk_id: int) -> None:
    """Close every socket of a kiosk (it was revoked)."""
    _close_group(kiosk_group(kiosk_id), "revoked")


def on_user_logged_out(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """`user_logged_out` receiver: Django sends it before flushing the session, so the key is the
    one the sockets were opened with."""
    if request is not None and hasattr(request, "session"):
        close_session(request.session.session_key)
