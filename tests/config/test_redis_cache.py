"""config/redis_cache.py: a Redis that stopped answering costs one socket timeout per process and
window, not one per cache call; the first call after the window probes, and a success ends it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from config import redis_cache


@pytest.fixture
def frozen_redis() -> Iterator[str]:
    """A server that accepts connections and never answers (a hung Redis, a black-holed route)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()


def _cache(settings: Any, location: str) -> Any:
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.ReusingRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "test-breaker",
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    settings.CACHE_REDIS_DOWN_SECONDS = 0.5
    return caches["default"]


def test_after_one_timeout_calls_fail_fast_until_the_window_ends(settings: Any, frozen_redis: str) -> None:
    cache = _cache(settings, frozen_redis)
    began = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        cache.get("k")
    assert time.monotonic() - began >= 0.25  # the socket timeout was paid once

    began = time.monotonic()
    for _ in range(20):
        with pytest.raises(redis.ConnectionError):
            cache.get("k")
    assert time.monotonic() - began < 0.1  # then nothing touches the network

    time.sleep(0.55)
    began = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        cache.set("k", 1)  # the probe after the window, still failing
    assert time.monotonic() - began >= 0.25


def test_every_thread_of_the_process_shares_the_verdict(settings: Any, frozen_redis: str) -> None:
    import threading

    cache = _cache(settings, frozen_redis)
    with pytest.raises(redis.TimeoutError):
        cache.get("k")
    took: list[float] = []

    def other_thread() -> None:
        # Django gives each thread its own cache object; the breaker is per location.
        began = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            caches["default"].get("k")
        took.append(time.monotonic() - began)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert took and took[0] < 0.1


def test_a_successful_probe_puts_redis_back_in_use(settings: Any) -> None:
    # A location of its own (another database number of the suite's Redis), so that marking it down
    # cannot disturb the rest of the suite.
    location = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"
    cache = _cache(settings, location)
    breaker = redis_cache.breaker_for(location)
    breaker.failed(redis.ConnectionError("simulated earlier failure"))
    with pytest.raises(redis.ConnectionError):
        cache.set("breaker-probe", 1)
    time.sleep(0.55)
    cache.set("breaker-probe", 1)  # the probe: Redis answers
    assert breaker.down_until == 0.0
    assert cache.get("breaker-probe") == 1
    cache.delete("breaker-probe")


def test_clear_with_a_prefix_leaves_the_other_prefixes_keys(settings: Any) -> None:
    """Django's RedisCache.clear() is FLUSHDB; ours deletes only its own prefix (seed_demo clears the
    cache: in one test worker it must not wipe the keys a test of the other is using)."""
    mine = redis_cache.ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-clear-mine"})
    theirs = redis_cache.ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-clear-theirs"})
    for i in range(redis_cache.CLEAR_BATCH + 3):  # more than one batch of deletes
        mine.set(f"k{i}", i)
    theirs.set("k0", "kept")

    mine.clear()

    assert mine.get_many([f"k{i}" for i in range(redis_cache.CLEAR_BATCH + 3)]) == {}
    assert theirs.get("k0") == "kept"
    theirs.clear()


def test_replies_are_parsed_by_hiredis() -> None:
    """Every request reads the cache or a session: redis-py parses the replies in C (hiredis), about
    an eighth less CPU a call than its pure-Python parser (docs/performance.md, session 10)."""
    client = caches["default"]._cache.get_client()
    connection = client.connection_pool.get_connection()
    try:
        assert type(connection._parser).__name__ == "_HiredisParser"
    finally:
        client.connection_pool.release(connection)


def test_bump_adds_one_and_starts_a_missing_key_from_random_bits(settings: Any) -> None:
    """Versions (reservations/availability_cache.py): each bump adds one, and a key lost to eviction
    comes back as a value never used before; all keys in one pipeline."""
    cache = redis_cache.ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-bump"})
    cache.set("a", 41, timeout=None)
    cache.delete("b")

    cache.bump(["a", "b"])

    assert cache.get("a") == 42
    started = cache.get("b")
    assert isinstance(started, int) and started > 1_000  # 60 random bits (plus one), not 1
    cache.bump(["b"])
    assert cache.get("b") == started + 1
    client = cache._cache.get_client(None, write=True)
    assert client.ttl(cache.make_key("b")) == -1  # a version never expires
    cache.clear()


def test_bump_is_guarded_by_the_breaker(settings: Any, frozen_redis: str) -> None:
    cache = _cache(settings, frozen_redis)
    with pytest.raises(redis.TimeoutError):
        cache.bump(["v"])
    began = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        cache.bump(["v"])
    assert time.monotonic() - began < 0.1
