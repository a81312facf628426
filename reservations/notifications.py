"""How the booking hub tells the outside world that a slot changed, without importing it.

Apps further out (kiosks' websocket push, the availability cache) register a listener at
start-up; services call `availability_changed` inside `transaction.on_commit`, so listeners
only ever hear about committed changes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

AvailabilityListener = Callable[[int, frozenset[dt.date]], None]
_listeners: list[AvailabilityListener] = []


def register_availability_listener(listener: AvailabilityListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def availability_changed(facility_id: int, dates: Iterable[dt.date]) -> None:
    """Tell every listener; one failing listener never breaks a booking or the others."""
    days = frozenset(dates)
    for listener in list(_listeners):
        try:
            listener(facility_id, days)
        except Exception:
            logger.exception("availability listener %r failed", listener)
