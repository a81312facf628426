"""Django's Redis cache backend, keeping one client per connection pool, and failing fast while
Redis is unreachable.

Django's own client builds a new redis.Redis object (with its ~170 response callbacks) for every
cache call; on the 09:00 hot path that is a measurable share of a request. redis.Redis is
thread-safe, so one per pool is enough.

When a call fails to connect or times out, the process treats that Redis as down for
CACHE_REDIS_DOWN_SECONDS: every call in that window, from any thread, raises redis.ConnectionError
at once without touching the network, and then one call tries again while the others keep
bypassing it (a circuit breaker). Callers already fall back when the
cache raises (the availability cache computes from the database, sessions come from the database:
config/sessions.py), so an unreachable Redis costs one socket timeout per process every few seconds
instead of one per cache call: a Redis host that vanished without a reset (no RST) would otherwise
hold every request for several socket timeouts.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
CLEAR_BATCH = 500  # keys deleted per round trip by a prefixed clear()
GUARDED = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
    "bump",
)


class Breaker:
    """Whether one Redis location is treated as down. Shared by every thread of the process (Django
    gives each thread its own cache object, so the state cannot live there)."""

    def __init__(self, location: str, down_seconds: float) -> None:
        self.location = location
        self.down_seconds = down_seconds
        self.down_until = 0.0  # 0: up

    def before_call(self) -> bool:
        """Raise while down; True when this call is the probe after a down period (half-open: the
        window is pushed on first, so concurrent calls keep bypassing Redis while the probe waits)."""
        down_until = self.down_until
        if not down_until:
            return False
        now = time.monotonic()
        if now < down_until:
            raise redis.ConnectionError("Redis was unreachable moments ago; not retried yet")
        self.down_until = now + self.down_seconds
        return True

    def failed(self, error: BaseException) -> None:
        if not self.down_until:
            logger.warning(
                "Redis unreachable (%s: %s); cache bypassed, retried every %.0f s",
                type(error).__name__,
                error,
                self.down_seconds,
            )
        self.down_until = time.monotonic() + self.down_seconds

    def succeeded(self) -> None:
        self.down_until = 0.0
        logger.info("Redis reachable again; cache in use")


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str) -> Breaker:
    with _breakers_lock:
        found = _breakers.get(location)
        if found is None:
            found = _breakers[location] = Breaker(location, float(getattr(settings, "CACHE_REDIS_DOWN_SECONDS", 5.0)))
        return found


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(servers, *args, **kwargs)
        self._clients: dict[int, Any] = {}
        self.breaker = breaker_for(",".join(servers))

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def bump(self, keys: Sequence[str]) -> None:
        """Add one to each key, a missing key first set to 60 random bits: one round trip for all
        (Django's `incr` takes two per key, EXISTS then INCRBY)."""
        pipe = self.get_client(None, write=True).pipeline(transaction=False)
        for key in keys:
            pipe.set(key, secrets.randbits(60), nx=True)
            pipe.incr(key)
        pipe.execute()


def _guarded(name: str) -> Callable[..., Any]:
    call = getattr(ReusingRedisCacheClient, name)

    @functools.wraps(call)
    def method(self: ReusingRedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        probe = self.breaker.before_call()
        try:
            result = call(self, *args, **kwargs)
        except UNREACHABLE as error:
            self.breaker.failed(error)
            raise
        if probe:
            self.breaker.succeeded()
        return result

    return method


for _name in GUARDED:
    setattr(ReusingRedisCacheClient, _name, _guarded(_name))


class ReusingRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def bump(self, keys: Sequence[str]) -> None:
        self._cache.bump([self.make_and_validate_key(key) for key in keys])

    def clear(self) -> None:
        """With a KEY_PREFIX, only the keys under it: Django's own clear() is FLUSHDB, which would
        also wipe whoever else shares the database under another prefix (another installation, or
        the other test workers: `seed_demo`'s clear() in one worker used to delete the keys a test
        in the other was in the middle of using). Without a prefix, the whole database as before."""
        if not self.key_prefix:
            super().clear()
            return
        client = self._cache.get_client(None, write=True)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == CLEAR_BATCH:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
