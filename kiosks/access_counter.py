"""Counting internet and staff-terminal accesses for the ward's monthly access table, at a cost the
09:00 rush does not notice.

One access is one page shown: a GET answered with a 2xx HTML page (not a redirect, an error, a
file, JSON or a page fragment). The channel comes from the path alone, so counting never loads the
user or the session:

- staff terminal (窓口): /staff/…, /admin/…, /payments/staff/…
- internet (インターネット): every other page of the site
- not counted here: /kiosk/… (kiosks count themselves per tablet in `KioskAccess`), static files,
  the JSON API (/api/…, which our own pages poll), the Stripe webhook, /i18n/ and the waiting
  room's self-refreshing page.

Cost per request: a dict increment under a lock in the process (`Tally`). At most once a second
the process adds its tally to Redis (one pipeline of INCRBY per day and channel); the reports tick
(`kiosks.report_services.access_counts_flush`) moves Redis's counts into `AccessCount` rows. No
database write ever happens on a resident's request.

Fail open: if Redis is unreachable the counts stay in the process and are retried after a pause;
the request never waits for more than the client's short socket timeout and never fails. Without
REDIS_URL (`make run`) the counts stay in the process until the report (same process) flushes them.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from reservations.domain import TOKYO
from reservations.models import Channel

logger = logging.getLogger(__name__)

PUSH_SECONDS = 1.0  # how often a process adds its tally to Redis
RETRY_SECONDS = 30.0  # the pause after Redis failed, before the next try
KEY_DAYS = 35  # Redis keeps a day's count this long; the tick flushes every day of that window

COUNTER_PREFIXES = ("/staff/", "/admin/", "/payments/staff/")
IGNORED_PREFIXES = ("/kiosk/", "/api/", "/i18n/", "/payments/webhook/", "/bench/", "/healthz")

Key = tuple[dt.date, str]


def channel_for_path(path: str) -> str | None:
    """The channel a page at `path` is counted in, or None if it is not counted here."""
    if path.startswith(_ignored_prefixes()):
        return None
    if path.startswith(COUNTER_PREFIXES):
        return Channel.COUNTER
    return Channel.WEB


@lru_cache(maxsize=1)
def _ignored_prefixes() -> tuple[str, ...]:
    found = list(IGNORED_PREFIXES)
    for url in (settings.STATIC_URL, getattr(settings, "MEDIA_URL", "")):
        # Django turns an unset MEDIA_URL into "/": that prefix would match every page.
        if url and url != "/" and not url.startswith(("http://", "https://")):
            found.append("/" + url.lstrip("/"))
    return tuple(found)


def is_page_view(request: HttpRequest, response: HttpResponse) -> bool:
    """A GET answered with a whole HTML page, not an error, redirect or fragment."""
    # META rather than request.headers, which would parse every header.
    return counts_as_page_view(
        method=request.method or "",
        status=response.status_code,
        fragment="HTTP_HX_REQUEST" in request.META,  # a fragment one of our own pages asked for
        content_type=response.get("Content-Type", ""),
        waiting_room="X-Waiting-Room" in response,  # the waiting room refreshes itself while queued
    )


def counts_as_page_view(*, method: str, status: int, fragment: bool, content_type: str, waiting_room: bool) -> bool:
    """The rule of `is_page_view`, for answers given in front of Django too (config/page_replay.py)."""
    return (
        method == "GET"
        and 200 <= status < 300
        and not fragment
        and content_type.startswith("text/html")
        and not waiting_room
    )


def redis_key(day: dt.date, channel: str) -> str:
    """The Redis key of one day's count of one channel (under the cache's key prefix, if any)."""
    prefix = settings.CACHES.get("default", {}).get("KEY_PREFIX", "")
    return f"{prefix}:access:{day.isoformat()}:{channel}" if prefix else f"access:{day.isoformat()}:{channel}"


@lru_cache(maxsize=1)
def _client() -> redis.Redis | None:
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25)


def redis_client() -> redis.Redis | None:
    """The Redis the counts go to; None without REDIS_URL (embedded `make run`)."""
    return _client()


class Tally:
    """One process's uncounted accesses per (day, channel), pushed to Redis now and then."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._clock = clock
        self._next_push = clock() + PUSH_SECONDS

    def add(self, day: dt.date, channel: str) -> None:
        with self._lock:
            self._counts[(day, channel)] += 1
            due = self._clock() >= self._next_push
        if due:
            self.push()

    def take(self) -> Counter[Key]:
        """Everything counted so far, leaving the tally empty."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def give_back(self, counts: Counter[Key]) -> None:
        with self._lock:
            self._counts.update(counts)

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def push(self) -> bool:
        """Add the tally to Redis. On failure the counts are kept and Redis is left alone for
        RETRY_SECONDS. False if nothing could be pushed (no Redis, or it failed)."""
        client = redis_client()
        with self._lock:
            self._next_push = self._clock() + PUSH_SECONDS
        if client is None:
            return False
        counts = self.take()
        if not counts:
            return True
        try:
            add_to_redis(client, counts)
        except (redis.RedisError, OSError):
            self.give_back(counts)
            with self._lock:
                self._next_push = self._clock() + RETRY_SECONDS
            logger.warning("access counts: Redis unreachable, keeping %d counts in the process", counts.total())
            return False
        return True


def add_to_redis(client: redis.Redis, counts: Counter[Key]) -> None:
    pipe = client.pipeline(transaction=False)
    for (day, channel), n in counts.items():
        key = redis_key(day, channel)
        pipe.incrby(key, n)
        pipe.expire(key, KEY_DAYS * 86400)
    pipe.execute()


def take_from_redis(client: redis.Redis, days: Iterable[dt.date], channels: Iterable[str]) -> Counter[Key]:
    """Take (read and delete, atomically) the counts of these days and channels from Redis, so two
    flushes running at once never both take the same count."""
    keys = [(day, channel) for day in days for channel in channels]
    pipe = client.pipeline(transaction=True)
    for day, channel in keys:
        pipe.get(redis_key(day, channel))
        pipe.delete(redis_key(day, channel))
    answers = pipe.execute()
    taken: Counter[Key] = Counter()
    for (day, channel), value in zip(keys, answers[::2], strict=True):
        if value is not None and int(value) > 0:
            taken[(day, channel)] = int(value)
    return taken


tally = Tally()


@atexit.register
def _push_at_exit() -> None:  # a worker that stops cleanly hands over what it counted
    if tally.pending():
        tally.push()


class _Today:
    """Today's date in Tokyo, recomputed only when the day changes."""

    def __init__(self) -> None:
        self._until = 0.0
        self._date = dt.date.min

    def get(self) -> dt.date:
        stamp = time.time()
        if stamp >= self._until or stamp < self._until - 86400:
            self._date = timezone.now().astimezone(TOKYO).date()
            midnight = dt.datetime.combine(self._date + dt.timedelta(days=1), dt.time.min, tzinfo=TOKYO)
            self._until = midnight.timestamp()
        return self._date


_today = _Today()


def count_page(channel: str) -> None:
    """One page view today in `channel`."""
    tally.add(_today.get(), channel)


class AccessCountMiddleware:
    """Counts page views per day and channel (see the module docstring for what counts)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            if is_page_view(request, response):
                channel = channel_for_path(request.path_info)
                if channel is not None:
                    count_page(channel)
        except Exception:  # counting must never fail a request (logged, not raised)
            logger.exception("access counting failed")
        return response
