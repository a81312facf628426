"""Demo lottery on top of `seed_demo`'s ward: popular halls, gyms and courts go to lottery; a round
for the month whose intake is open today (its calendar stretched, if need be, so that intake is open
now) with entries, and last month's round drawn, confirmed in part and finished, with results.

Every write goes through lottery.services (entries, draw, confirmations), with `now` set to the
moment each step would have happened."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import Q

from reservations import domain as booking_domain
from reservations.demo import DEMO_RESIDENT
from reservations.errors import BookingError
from reservations.models import (
    Channel,
    FacilityGroup,
    Group,
    Resident,
    ResidentStatus,
    Room,
    TimeBand,
    booking_rules,
)

from . import domain, services
from .models import Eligibility, LotteryPolicy, LotteryRoom, LotteryRound, OfferState, Result

LOTTERY_GROUPS = ("shukai", "sports")
HALL_CODES = ("hall", "dai-hall", "sho-hall")
ENTRIES_PER_ROUND = 160


@dataclass
class LotterySummary:
    rooms: int = 0
    open_round: LotteryRound | None = None
    open_entries: int = 0
    past_round: LotteryRound | None = None
    past_entries: int = 0
    past_won: int = 0


def has_data() -> bool:
    return LotteryRound.objects.exists()


def _lottery_rooms() -> list[LotteryRoom]:
    made = []
    rooms = Room.objects.filter(facility__group__code__in=LOTTERY_GROUPS, is_active=True).filter(
        Q(code__in=HALL_CODES) | Q(code__startswith="dai-taiiku") | Q(code__startswith="tennis-")
    )
    for room in rooms.select_related("facility"):
        if room.code == "dai-taiiku":
            eligibility = Eligibility.WARD_GROUPS  # the whole main gym: ward groups only
        elif room.code.startswith("tennis-"):
            eligibility = Eligibility.WARD
        else:
            eligibility = Eligibility.ANYONE
        lottery_room = LotteryRoom.objects.filter(room=room).first() or LotteryRoom(room=room)
        lottery_room.eligibility = eligibility
        made.append(services.lottery_room_save(lottery_room=lottery_room))
    return made


def _demo_calendar(group: FacilityGroup, use_month: dt.date, now: dt.datetime) -> domain.RoundCalendar:
    """The group's calendar, stretched so that intake is open at `now` (the demo may run any day)."""
    policy = services.policy_for(group)
    cal = domain.round_calendar(use_month, services.calendar_rules(policy))
    first_come = booking_domain.first_come_opens_at(use_month, booking_rules(group))
    hour = dt.timedelta(hours=1)
    opens = min(cal.intake_opens_at, now - hour)
    closes = min(max(cal.intake_closes_at, now + dt.timedelta(days=3)), first_come - 4 * hour)
    draw = max(cal.draw_at, closes + hour)
    confirm = min(max(cal.confirm_by, draw + dt.timedelta(days=2)), first_come - 2 * hour)
    release = min(max(cal.release_at, confirm + dt.timedelta(days=1)), first_come - hour)
    return domain.RoundCalendar(opens, closes, draw, confirm, release)


def _slots(
    rng: random.Random, lottery_rooms: list[LotteryRoom], use_month: dt.date, count: int
) -> list[tuple[Room, dt.date, list[int]]]:
    bands: dict[int, list[TimeBand]] = {}
    days = booking_domain.month_days(use_month)
    chosen = []
    # A few popular slots draw many entries (weekend evenings, the big halls); most draw one or two.
    popular = [(rng.choice(lottery_rooms), rng.choice([d for d in days if d.weekday() >= 5])) for _ in range(6)]
    for _ in range(count):
        lottery_room, day = (
            rng.choice(popular) if rng.random() < 0.35 else (rng.choice(lottery_rooms), rng.choice(days))
        )
        room = lottery_room.room
        if room.facility_id not in bands:
            bands[room.facility_id] = list(TimeBand.objects.filter(facility_id=room.facility_id).order_by("order"))
        band = rng.choice(bands[room.facility_id][-3:])
        chosen.append((room, day, [band.pk]))
    return chosen


def _fill(
    rng: random.Random,
    lottery_round: LotteryRound,
    lottery_rooms: list[LotteryRoom],
    people: list[Resident],
    groups: list[Group],
    now: dt.datetime,
    count: int,
) -> int:
    made = 0
    rooms = [lr for lr in lottery_rooms if lr.room.facility.group_id == lottery_round.facility_group_id]
    if not rooms:
        return 0
    for room, day, band_ids in _slots(rng, rooms, lottery_round.use_month, count):
        as_group = rng.random() < 0.3 and groups
        group = rng.choice(groups) if as_group else None
        resident = group.representative if group is not None else rng.choice(people)
        try:
            services.entry_apply(
                resident=resident,
                group=group,
                room_id=room.pk,
                date=day,
                band_ids=band_ids,
                channel=Channel.WEB if rng.random() < 0.9 else Channel.COUNTER,
                created_by=resident.user,
                now=now,
            )
            made += 1
        except BookingError:
            continue  # taken, closed, capped or not eligible: a real applicant would pick another
    return made


def _demo_entries(
    lottery_round: LotteryRound, lottery_rooms: list[LotteryRoom], demo: Resident, now: dt.datetime, rng: random.Random
) -> None:
    rooms = [
        lr
        for lr in lottery_rooms
        if lr.room.facility.group_id == lottery_round.facility_group_id and lr.eligibility == Eligibility.ANYONE
    ]
    if not rooms:
        return
    for lottery_room, day in [(rooms[0], 1), (rooms[-1], 2), (rng.choice(rooms), 3)]:
        room = lottery_room.room
        weekday = [d for d in booking_domain.month_days(lottery_round.use_month) if d.weekday() < 5][day * 3]
        band = TimeBand.objects.filter(facility_id=room.facility_id).order_by("-order").first()
        if band is None:
            continue
        try:
            services.entry_apply(
                resident=demo,
                room_id=room.pk,
                date=weekday,
                band_ids=[band.pk],
                channel=Channel.WEB,
                created_by=demo.user,
                now=now,
            )
        except BookingError:
            continue


def build(*, seed: int, now: dt.datetime) -> LotterySummary:
    """Set up the demo lottery (see the module docstring). Needs `seed_demo`'s ward."""
    rng = random.Random(seed)
    summary = LotterySummary()
    for code in LOTTERY_GROUPS:
        group = FacilityGroup.objects.filter(code=code).first()
        if group is not None and not LotteryPolicy.objects.filter(facility_group=group).exists():
            services.policy_save(policy=LotteryPolicy(facility_group=group))
    lottery_rooms = _lottery_rooms()
    summary.rooms = len(lottery_rooms)
    people = list(
        Resident.objects.filter(status=ResidentStatus.ACTIVE)
        .exclude(user__user_number__in=[DEMO_RESIDENT, str(int(DEMO_RESIDENT) + 1)])
        .select_related("user")[:600]
    )
    groups = list(Group.objects.filter(status=ResidentStatus.ACTIVE).select_related("representative__user")[:80])
    demo = Resident.objects.select_related("user").filter(user__user_number=DEMO_RESIDENT).first()
    this_month = booking_domain.month_start(now.astimezone(domain.TOKYO).date())

    # Last month's round: intake and draw in the past, wins partly confirmed, unclaimed ones released.
    shukai = FacilityGroup.objects.filter(code=LOTTERY_GROUPS[0]).first()
    if shukai is None:
        return summary
    past_month = booking_domain.add_months(this_month, 1)
    past = services.round_create(facility_group=shukai, use_month=past_month)
    intake = past.intake_opens_at + dt.timedelta(hours=2)
    if demo is not None:
        _demo_entries(past, lottery_rooms, demo, intake, rng)
    summary.past_entries = _fill(rng, past, lottery_rooms, people, groups, intake, ENTRIES_PER_ROUND)
    services.round_close(round_id=past.pk, now=past.intake_closes_at)
    services.round_draw(round_id=past.pk, now=past.draw_at)
    answered = past.draw_at + dt.timedelta(days=1)
    for outcome in past.outcomes.filter(result=Result.WON, offer_state=OfferState.AWAITING).select_related("entry"):
        is_demo = demo is not None and outcome.entry.person_id == demo.pk
        if is_demo or rng.random() < 0.75:
            services.win_confirm(outcome_id=outcome.pk, resident=None, now=answered)
        elif rng.random() < 0.5:
            services.win_decline(outcome_id=outcome.pk, resident=None, now=answered)
    services.offers_expire(round_id=past.pk, now=past.confirm_by + dt.timedelta(seconds=1))
    services.round_release(round_id=past.pk, now=past.release_at)
    past.refresh_from_db()
    summary.past_round = past
    summary.past_won = past.outcomes.filter(offer_state=OfferState.CONFIRMED).count()

    # The round whose intake is open now, for each lottery group.
    use_month = booking_domain.add_months(this_month, 2)
    for code in LOTTERY_GROUPS:
        group = FacilityGroup.objects.filter(code=code).first()
        if group is None:
            continue
        current = services.round_create(
            facility_group=group, use_month=use_month, calendar=_demo_calendar(group, use_month, now)
        )
        services.round_open(round_id=current.pk, now=now)
        if demo is not None:
            _demo_entries(current, lottery_rooms, demo, now, rng)
        summary.open_entries += _fill(rng, current, lottery_rooms, people, groups, now, ENTRIES_PER_ROUND)
        if code == LOTTERY_GROUPS[0]:
            current.refresh_from_db()
            summary.open_round = current
    return summary
