"""The waiting room for the opening minute of first-come booking (see domain.WaitingRoomRules).

State lives in Redis, per opening instant:
`wr:<opening>:tickets`, a sorted set: resident user id → their place (score), set once (ZADD NX),
so refreshing, hammering or opening more tabs changes nothing. A resident is let through when
their rank among all places is below the number admitted so far (`domain.admitted_by`); ranks of
drawn places are final when the arrival window ends, which is when admission starts, so each
resident is told the second they will be let in. With Redis unreachable the room fails open: booking stays correct (the
database decides every slot), only the ordering is lost, and that is logged.

Each answer also hands the browser a signed ticket cookie (`Ticket`), bound to its session cookie:
"queued until <second>" or "admitted". Until that second a refresh is answered from the ticket
alone, before the session, the user or Redis is touched, so a bot refreshing ten times a second
costs the server next to nothing; an admitted resident's requests skip Redis. A ticket can only
hold its holder back: being let in is always decided here, from Redis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.core import signing

from . import domain
from .models import FacilityGroup, booking_rules

logger = logging.getLogger(__name__)

KEY_SECONDS = 3 * 3600
OPENINGS_CACHE_SECONDS = 30


TICKET_COOKIE = "wr_ticket"
TICKET_SALT = "reservations.waiting_room.ticket"


@dataclass(frozen=True)
class Ticket:
    """What a browser carries between refreshes (signed, so it cannot be forged or edited)."""

    session: str  # a digest of the session cookie it was issued to
    user_id: int  # whose place it is: asking Redis again needs no session read
    opens_at: int  # the opening, epoch seconds
    rank: int  # the place (0 = first); final once the arrival window has ended
    not_before: float  # epoch seconds: queued for certain until then; 0 = admitted

    @property
    def admitted(self) -> bool:
        return self.not_before == 0


@dataclass(frozen=True)
class Verdict:
    """Whether to let a request through and, if not, what to tell the resident."""

    admitted: bool
    opens_at: dt.datetime | None = None
    position: int = 0
    wait_seconds: int = 0
    admit_at: float = 0.0  # epoch seconds: when this place is let in, if the rate holds
    ticket: Ticket | None = None  # to hand to the browser (None: nothing to remember)


ADMITTED = Verdict(admitted=True)


def session_digest(session_cookie: str) -> str:
    return hashlib.sha256(session_cookie.encode()).hexdigest()[:16]


def sign_ticket(ticket: Ticket) -> str:
    return signing.Signer(salt=TICKET_SALT).sign(
        f"{ticket.session}:{ticket.user_id}:{ticket.opens_at}:{ticket.rank}:{ticket.not_before:.3f}"
    )


def read_ticket(value: str) -> Ticket | None:
    try:
        session, user_id, opens_at, rank, not_before = signing.Signer(salt=TICKET_SALT).unsign(value).split(":")
        return Ticket(session, int(user_id), int(opens_at), int(rank), float(not_before))
    except (signing.BadSignature, ValueError):
        return None


def _gating_opening(now: dt.datetime, lead_seconds: int) -> dt.datetime | None:
    """The latest opening whose room has opened its doors (None: no room is open)."""
    started = [o for o in _opening_instants(now) if now >= o - dt.timedelta(seconds=lead_seconds)]
    return started[-1] if started else None


def may_gate(now: dt.datetime) -> bool:
    """Whether the room may be holding the booking step back now: it is on and an opening's doors
    opened within the last KEY_SECONDS (how long its places are kept). Conservative: the room
    itself decides per resident; this only tells what never needs asking."""
    if not enabled():
        return False
    opening = _gating_opening(now, rules().lead_seconds)
    return opening is not None and now < opening + dt.timedelta(seconds=KEY_SECONDS)


def ticket_verdict(*, ticket_cookie: str, session_cookie: str, now: dt.datetime) -> Verdict | None:
    """The verdict for a request carrying a ticket: until its second comes, from the ticket alone
    (queued, or admitted), at the cost of a signature check and, every 30 s per process, one
    query; once it has come, from Redis for the ticket's holder, without reading the session.
    None when the ticket says nothing (none, or not for this session or this opening)."""
    if not enabled() or not ticket_cookie or not session_cookie:
        return None
    ticket = read_ticket(ticket_cookie)
    if ticket is None or ticket.session != session_digest(session_cookie):
        return None
    room_rules = rules()
    opening = _gating_opening(now, room_rules.lead_seconds)
    if opening is None or int(opening.timestamp()) != ticket.opens_at:
        return None
    if ticket.admitted:
        return ADMITTED
    if now.timestamp() >= ticket.not_before:
        return check(user_id=ticket.user_id, now=now, session_cookie=session_cookie)
    return _queued(opens_at=opening, rank=ticket.rank, now=now, room_rules=room_rules)


def _queued(
    *,
    opens_at: dt.datetime,
    rank: int,
    now: dt.datetime,
    room_rules: domain.WaitingRoomRules,
    ticket: Ticket | None = None,
) -> Verdict:
    let_in = domain.admitted_by(now=now, opens_at=opens_at, rules=room_rules)
    admission = domain.admission_at(rank=rank, opens_at=opens_at, rules=room_rules)
    return Verdict(
        admitted=False,
        opens_at=opens_at,
        position=max(1, rank - let_in + 1),
        wait_seconds=max(1, math.ceil((admission - now).total_seconds())),
        admit_at=admission.timestamp(),
        ticket=ticket,
    )


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
    timeout = settings.WAITING_ROOM_REDIS_TIMEOUT
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


_openings: tuple[float, list[dt.datetime]] = (0.0, [])
# Other openings the room guards and the steps it gates there, registered by the apps that own
# them (the lottery: its intake opening and the apply step, in lottery/apps.py).
_opening_sources: list[Callable[[dt.datetime], Iterable[dt.datetime]]] = []
_gated_views: frozenset[str] = frozenset({"reservations:book"})


def register_opening_source(source: Callable[[dt.datetime], Iterable[dt.datetime]], *, gated_view: str) -> None:
    """Guard the instants `source(now)` names too, and gate `gated_view` (a URL name) at them."""
    global _gated_views
    if source not in _opening_sources:
        _opening_sources.append(source)
    _gated_views = _gated_views | {gated_view}
    forget_openings()


def gated_views() -> frozenset[str]:
    """The steps the room gates: the first-come booking step and those registered."""
    return _gated_views


def _opening_instants(now: dt.datetime) -> list[dt.datetime]:
    """Every facility group's next first-come openings (this month's and next month's use
    months) and the registered sources' (the lottery's intake openings), re-read at most every
    30 s per process."""
    global _openings
    read_at, instants = _openings
    if time.monotonic() - read_at > OPENINGS_CACHE_SECONDS:
        month = domain.month_start(now.astimezone(domain.TOKYO).date())
        found = set()
        for group in FacilityGroup.objects.all():
            group_rules = booking_rules(group)
            for ahead in range(group_rules.opens_months_before, group_rules.opens_months_before + 2):
                found.add(domain.first_come_opens_at(domain.add_months(month, ahead), group_rules))
        for source in _opening_sources:
            found.update(source(now))
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


def check(*, user_id: int, now: dt.datetime, session_cookie: str = "") -> Verdict:
    """Let the resident through, or tell them their place and when they will be let in. Cheap: a
    few Redis commands, no SQL except the 30-second memo of opening instants. With
    `session_cookie`, the verdict carries a ticket for that session."""
    if not enabled():
        return ADMITTED
    room_rules = rules()
    try:
        for opens_at in _opening_instants(now):
            verdict = _check_opening(
                user_id=user_id, now=now, opens_at=opens_at, room_rules=room_rules, session_cookie=session_cookie
            )
            if verdict is not None:
                return verdict
    except redis.RedisError:
        logger.warning("waiting room: Redis unreachable, letting requests through", exc_info=True)
    return ADMITTED


def _check_opening(
    *, user_id: int, now: dt.datetime, opens_at: dt.datetime, room_rules: domain.WaitingRoomRules, session_cookie: str
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
    digest = session_digest(session_cookie) if session_cookie else ""
    opening = int(opens_at.timestamp())
    if rank < let_in:
        return Verdict(admitted=True, ticket=Ticket(digest, user_id, opening, rank, 0.0) if digest else None)
    if domain.waiting_room_arriving(now=now, opens_at=opens_at, rules=room_rules):
        not_before = domain.arrivals_end(opens_at, room_rules)  # places are still being drawn
    else:
        not_before = domain.admission_at(rank=rank, opens_at=opens_at, rules=room_rules)
    held = Ticket(digest, user_id, opening, rank, not_before.timestamp()) if digest else None
    return _queued(opens_at=opens_at, rank=rank, now=now, room_rules=room_rules, ticket=held)
