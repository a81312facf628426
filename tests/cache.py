"""Clearing the test cache without touching other xdist workers' keys (a flush would)."""

from __future__ import annotations

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from config import refusal_replay
from reservations import availability_cache


def clear_test_cache() -> None:
    refusal_replay.forget()  # answers remembered in memory, keyed by the cache's catalogue version
    availability_cache.forget_memos()  # copies of the catalogue version whose key is deleted below
    backend = caches["default"]
    if not isinstance(backend, RedisCache):  # ReusingRedisCache is one too
        cache.clear()
        return
    client = backend._cache.get_client(None, write=True)
    for key in client.scan_iter(match=f"{backend.key_prefix}:*", count=1000):
        client.delete(key)
