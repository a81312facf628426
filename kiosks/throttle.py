"""PIN-guessing throttle for the kiosk login, in the shared cache (Redis in production).

Two limits, neither of which can lock anyone out for good:
- per (card, kiosk): after a few free failures, an exponentially growing wait (capped at
  MAX_DELAY_SECONDS) before the next try of that card at that kiosk. Someone guessing at one tablet
  delays only that card at that tablet, and only for a while; the card's owner can log in at any
  other kiosk at once, and here again when the wait is over. Nothing is ever locked permanently.
- per kiosk: at most KIOSK_FAILURES_PER_MINUTE failures a minute across all cards, so trying many
  cards at one tablet is slow too. It stops only that tablet, for the rest of the minute.
Times come from `now` (the request's clock), not from the cache's expiry, so tests can travel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from django.core.cache import cache

FREE_FAILURES = 3
FIRST_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 15 * 60
KIOSK_FAILURES_PER_MINUTE = 20
STATE_TTL_SECONDS = 60 * 60


def _card_key(kiosk_id: int, user_number: str) -> str:
    card = hashlib.sha256(user_number.encode()).hexdigest()[:32]  # no user numbers in the cache
    return f"kiosks:pin:{kiosk_id}:{card}"


def _kiosk_key(kiosk_id: int, now: dt.datetime) -> str:
    return f"kiosks:pin-minute:{kiosk_id}:{int(now.timestamp() // 60)}"


def delay_for(failures: int) -> int:
    """Seconds to wait after `failures` consecutive failures of one card at one kiosk."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES))


def wait_seconds(*, kiosk_id: int, user_number: str, now: dt.datetime) -> int:
    """How long this card must wait before it may try a PIN at this kiosk (0: may try now)."""
    if (cache.get(_kiosk_key(kiosk_id, now)) or 0) >= KIOSK_FAILURES_PER_MINUTE:
        return 60 - int(now.timestamp()) % 60
    state = cache.get(_card_key(kiosk_id, user_number))
    if not state:
        return 0
    return max(0, math.ceil(state["until"] - now.timestamp()))


def record_failure(*, kiosk_id: int, user_number: str, now: dt.datetime) -> None:
    key = _card_key(kiosk_id, user_number)
    failures = (cache.get(key) or {"failures": 0})["failures"] + 1
    until = now.timestamp() + delay_for(failures)
    cache.set(key, {"failures": failures, "until": until}, STATE_TTL_SECONDS)
    minute = _kiosk_key(kiosk_id, now)
    cache.add(minute, 0, 120)
    cache.incr(minute)


def record_success(*, kiosk_id: int, user_number: str) -> None:
    cache.delete(_card_key(kiosk_id, user_number))


ACTIVATION_FAILURES = 10
ACTIVATION_WINDOW_SECONDS = 15 * 60


def _activation_key(client: str, now: dt.datetime) -> str:
    return f"kiosks:activate:{client}:{int(now.timestamp() // ACTIVATION_WINDOW_SECONDS)}"


def activation_blocked(*, client: str, now: dt.datetime) -> bool:
    """Whether this address used up its wrong activation codes for the current window (codes are
    50-bit and short-lived, so this only keeps the page from being a guessing target)."""
    return (cache.get(_activation_key(client, now)) or 0) >= ACTIVATION_FAILURES


def record_activation_failure(*, client: str, now: dt.datetime) -> None:
    key = _activation_key(client, now)
    cache.add(key, 0, ACTIVATION_WINDOW_SECONDS * 2)
    cache.incr(key)
