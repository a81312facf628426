"""The writes behind the monthly reports: access counts moved from Redis into `AccessCount`, and
the month-end record of valid users. Both are run by the reports tick (Celery beat,
`kiosks.report_tasks.tick`); the access flush also by the report itself, so today is included.
Both are idempotent: a doubled or missed tick does no harm.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

import redis
from django.db import IntegrityError, transaction
from django.db.models import F

from reservations.domain import TOKYO, add_months
from reservations.models import Channel

from . import access_counter
from .models import AccessCount, UserKind, ValidUserCount
from .report_selectors import CHANNELS, month_bounds, valid_users_at

logger = logging.getLogger(__name__)

COUNTED_CHANNELS = (Channel.WEB, Channel.COUNTER)  # kiosks are counted per tablet in KioskAccess


def _add(day: dt.date, channel: str, n: int) -> None:
    """Add `n` to the day's row: an F() increment, or the row created (a racing creator loses on
    the UNIQUE constraint and increments instead)."""
    if AccessCount.objects.filter(date=day, channel=channel).update(count=F("count") + n):
        return
    try:
        with transaction.atomic():
            AccessCount.objects.create(date=day, channel=channel, count=n)
    except IntegrityError:
        AccessCount.objects.filter(date=day, channel=channel).update(count=F("count") + n)


def access_counts_flush(*, now: dt.datetime) -> int:
    """Move the counted accesses into `AccessCount`; return how many were moved.

    This process's tally goes to Redis first; then the counts of the last KEY_DAYS days are taken
    from Redis in one MULTI (read and delete), so each count is taken by exactly one flush however
    many run at once, and added to the database in one transaction. If that transaction fails the
    counts are put back in Redis. With Redis unreachable nothing is moved (the report shows what
    the database has) and the counts wait in Redis or in the processes."""
    client = access_counter.redis_client()
    if client is None:  # embedded `make run`: the counts are in this process only
        taken = access_counter.tally.take()
    else:
        access_counter.tally.push()
        today = now.astimezone(TOKYO).date()
        days = [today - dt.timedelta(days=i) for i in range(access_counter.KEY_DAYS + 1)]
        try:
            taken = access_counter.take_from_redis(client, days, COUNTED_CHANNELS)
        except (redis.RedisError, OSError):
            logger.warning("access counts: Redis unreachable, nothing flushed")
            return 0
    if not taken:
        return 0
    try:
        with transaction.atomic():
            for (day, channel), n in sorted(taken.items()):
                _add(day, channel, n)
    except Exception:
        _put_back(client, taken)
        raise
    return taken.total()


def _put_back(client: redis.Redis | None, taken: Counter[access_counter.Key]) -> None:
    if client is None:
        access_counter.tally.give_back(taken)
        return
    try:
        access_counter.add_to_redis(client, taken)
    except (redis.RedisError, OSError):
        logger.error("access counts: %d counts lost (database and Redis both failed)", taken.total())


def valid_users_record(*, month: dt.date, now: dt.datetime) -> bool:
    """Record the valid registrations at the end of `month` (which must have ended), once: False
    if they were recorded already. Two ticks racing record the same figures; the UNIQUE constraint
    keeps one."""
    if month.day != 1:
        raise ValueError(f"{month} is not the first day of a month")
    _start, end = month_bounds(month)
    if now < end:
        raise ValueError(f"{month:%Y-%m} has not ended")
    if ValidUserCount.objects.filter(month=month).exists():
        return False
    counts = valid_users_at(end)
    ValidUserCount.objects.bulk_create(
        [
            ValidUserCount(
                month=month, kind=kind, channel=channel, count=counts.get((kind, channel), 0), recorded_at=now
            )
            for kind in UserKind.values
            for channel in CHANNELS
        ],
        ignore_conflicts=True,
    )
    return True


@dataclass(frozen=True)
class TickSummary:
    accesses_flushed: int
    recorded_month: dt.date | None


def reports_tick(*, now: dt.datetime) -> TickSummary:
    """Flush the access counts; record last month's valid users if that is not done yet."""
    flushed = access_counts_flush(now=now)
    last_month = add_months(now.astimezone(TOKYO).date().replace(day=1), -1)
    recorded = valid_users_record(month=last_month, now=now)
    return TickSummary(accesses_flushed=flushed, recorded_month=last_month if recorded else None)
