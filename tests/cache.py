"""Clearing the test cache between tests. The Redis backend clears only its own KEY_PREFIX (one per
xdist worker: config/redis_cache.py), so the other workers' keys stay."""

from __future__ import annotations

from django.core.cache import cache

from config import refusal_replay


def clear_test_cache() -> None:
    refusal_replay.forget()  # answers remembered in memory, keyed by the cache's catalogue version
    cache.clear()
