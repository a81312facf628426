"""The waiting room for the opening minute of first-come booking (see domain.WaitingRoomRules).

State lives in Redis, per opening instant:
`wr:<opening>:tickets`, a sorted set: resident user id → their place (score), set once (ZADD NX),
so refreshing, hammering or opening more tabs changes nothing. A resident is let through when
their rank among all places is below the number admitted so far (`domain.admitted_by`); ranks of
drawn places are final when the arrival window ends, which is when admission starts, so each
resident is told the second they will be let in. With Redis unreachable the room fails open: booking stays correct (the
database decides every slot), only the ordering is lost, and that is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from . import domain
from .models import FacilityGroup, booking_rules

logger = logging.getLogger(__name__)

KEY_SECONDS = 3 * 3600
OPENINGS_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Verdict:
    """Whether to let a request through and, if not, what to tell the resident."""

    admitted: bool
    opens_at: dt.datetime | None = None
    position: int = 0
    wait_seconds: int = 0


ADMITTED = Verdict(admitted=True)


def rules() -> domain.WaitingRoomRules:
    return domain.WaitingRoomRules(
        arrival_seconds=settings.WAITING_ROOM_ARRIVAL_SECONDS,
        admit_per_second=settings.WAITING_ROOM_ADMIT_PER_SECOND,
        lead_seconds=settings.WAITING_ROOM_LEAD_SECONDS,
    )


def enabled() -> bool:
    return bool(settings.WAITING_ROOM_ENABLED and settings.REDIS_URL)


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


_openings: tuple[float, list[dt.datetime]] = (0.0, [])


def _opening_instants(now: dt.datetime) -> list[dt.datetime]:
    """Every facility group's next first-come openings (this month's and next month's use
    months), re-read from the database at most every 30 s per process."""
    global _openings
    read_at, instants = _openings
    if time.monotonic() - read_at > OPENINGS_CACHE_SECONDS:
        month = domain.month_start(now.astimezone(domain.TOKYO).date())
        found = set()
        for group in FacilityGroup.objects.all():
            group_rules = booking_rules(group)
            for ahead in range(group_rules.opens_months_before, group_rules.opens_months_before + 2):
                found.add(domain.first_come_opens_at(domain.add_months(month, ahead), group_rules))
        instants = sorted(found)
        _openings = (time.monotonic(), instants)
    return instants


def forget_openings() -> None:
    """Re-read the opening instants on the next request (tests and staff edits)."""
    global _openings
    _openings = (0.0, [])


def _tickets_key(opens_at: dt.datetime) -> str:
    # Under the cache's key prefix, so installations (and test workers) sharing a Redis never mix.
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:wr:{int(opens_at.timestamp())}:tickets"


def check(*, user_id: int, now: dt.datetime) -> Verdict:
    """Let the resident through, or tell them their place and when they will be let in. Cheap: a
    few Redis commands, no SQL except the 30-second memo of opening instants."""
    if not enabled():
        return ADMITTED
    room_rules = rules()
    try:
        for opens_at in _opening_instants(now):
            verdict = _check_opening(user_id=user_id, now=now, opens_at=opens_at, room_rules=room_rules)
            if verdict is not None:
                return verdict
    except redis.RedisError:
        logger.warning("waiting room: Redis unreachable, letting requests through", exc_info=True)
    return ADMITTED


def _check_opening(
    *, user_id: int, now: dt.datetime, opens_at: dt.datetime, room_rules: domain.WaitingRoomRules
) -> Verdict | None:
    """The verdict for one opening, or None when its room is not open (so it does not gate)."""
    if now < opens_at - dt.timedelta(seconds=room_rules.lead_seconds):
        return None
    tickets = _tickets_key(opens_at)
    client = _client()
    let_in = domain.admitted_by(now=now, opens_at=opens_at, rules=room_rules)
    if not domain.waiting_room_arriving(now=now, opens_at=opens_at, rules=room_rules):
        # After the arrival window the room stays only while places still wait.
        if client.zcard(tickets) <= let_in:
            return None
    draw = secrets.randbelow(2**53) / 2**53
    ticket = domain.waiting_ticket(now=now, opens_at=opens_at, rules=room_rules, draw=draw)
    pipe = client.pipeline()
    pipe.zadd(tickets, {str(user_id): ticket}, nx=True)
    pipe.expire(tickets, KEY_SECONDS)
    pipe.zrank(tickets, str(user_id))
    _added, _expiry, rank = pipe.execute()
    if rank < let_in:
        return ADMITTED
    admission = domain.admission_at(rank=rank, opens_at=opens_at, rules=room_rules)
    return Verdict(
        admitted=False,
        opens_at=opens_at,
        position=rank - let_in + 1,
        wait_seconds=max(1, math.ceil((admission - now).total_seconds())),
    )
