"""Every write of the lottery. One transaction each; e-mails only after commit.

Locking contract (the global order): LotteryRound row, then the person's Resident row, then the
Group row, then LotteryOutcome rows, then Reservation rows (through reservations' services).

- Entries lock the person's Resident row (the resident, or a group's representative), so the
  per-round entry cap and the one-person-one-slot rule are exact under concurrency.
- Round steps are conditional UPDATEs on the round's state (SCHEDULED → OPEN → CLOSED → DRAWING →
  PUBLISHED → FINISHED): two workers, a beat tick and a staff click may race, and exactly one moves
  it. The draw claims the round (CLOSED → DRAWING) and draws and publishes in the same transaction,
  so a crash rolls back to CLOSED and nothing half-drawn is ever visible; a racer's UPDATE waits
  for that transaction and then finds the round no longer CLOSED.
- Offers (confirm, decline, expiry, runner-ups, release) lock the round row first, so the win cap is
  exact when runner-ups move up.
- Slots are never decided by locks: wins become reservations through reservations' services and
  the Occupancy UNIQUE constraint.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import translation

from reservations import availability_cache
from reservations import domain as booking_domain
from reservations import selectors as booking_selectors
from reservations import services as booking_services
from reservations.errors import BookingError, SlotTaken
from reservations.models import (
    FacilityGroup,
    Group,
    Occupancy,
    ReservationState,
    Residency,
    Resident,
    ResidentStatus,
    Room,
    TimeBand,
    User,
    booking_rules,
)

from . import domain, page_cache, selectors
from .errors import LotteryError, LotteryNotFound
from .models import (
    Eligibility,
    EntryStatus,
    LotteryEntry,
    LotteryMail,
    LotteryOutcome,
    LotteryPolicy,
    LotteryRoom,
    LotteryRound,
    OfferState,
    Result,
    RoundState,
)

logger = logging.getLogger(__name__)

OPEN_STATES = (RoundState.SCHEDULED, RoundState.OPEN)


# --- policy and rounds --------------------------------------------------------------------------


def policy_for(facility_group: FacilityGroup) -> LotteryPolicy:
    """The group's lottery policy, or the defaults (unsaved) when staff have set none."""
    policy = LotteryPolicy.objects.filter(facility_group=facility_group).first()
    return policy or LotteryPolicy(facility_group=facility_group)


def calendar_rules(policy: LotteryPolicy) -> domain.CalendarRules:
    return domain.CalendarRules(
        months_before=policy.months_before,
        intake_opens=(policy.intake_opens_day, policy.intake_opens_time),
        intake_closes=(policy.intake_closes_day, policy.intake_closes_time),
        draw=(policy.draw_day, policy.draw_time),
        confirm_by=(policy.confirm_by_day, policy.confirm_by_time),
        release=(policy.release_day, policy.release_time),
    )


def _check_calendar(facility_group: FacilityGroup, use_month: dt.date, cal: domain.RoundCalendar) -> None:
    first_come = booking_domain.first_come_opens_at(use_month, booking_rules(facility_group))
    in_order = cal.intake_opens_at < cal.intake_closes_at <= cal.draw_at < cal.confirm_by <= cal.release_at < first_come
    if not in_order:
        raise LotteryError("bad_calendar", status=400)


def policy_save(*, policy: LotteryPolicy) -> LotteryPolicy:
    """Validate and save a facility group's lottery policy (admin edits go through here)."""
    with transaction.atomic():
        policy.full_clean()
        month = booking_domain.add_months(dt.date(2027, 1, 1), policy.months_before)
        _check_calendar(policy.facility_group, month, domain.round_calendar(month, calendar_rules(policy)))
        policy.save()
    return policy


def lottery_room_save(*, lottery_room: LotteryRoom, band_ids: Sequence[int] | None = None) -> LotteryRoom:
    """Put a room into the lottery (or change which bands and who may apply)."""
    with transaction.atomic():
        lottery_room.full_clean(exclude=["bands"])
        lottery_room.save()
        if band_ids is not None:
            bands = TimeBand.objects.filter(pk__in=band_ids, facility_id=lottery_room.room.facility_id)
            lottery_room.bands.set(bands)
        # Which rooms and bands are in the lottery is catalogue: cached pages and forms depend on it.
        availability_cache.bump_catalogue()
        transaction.on_commit(availability_cache.bump_catalogue)
    return lottery_room


def lottery_rooms_delete(*, ids: Sequence[int]) -> None:
    """Take rooms out of the lottery for good (admin delete); cached pages and forms follow."""
    with transaction.atomic():
        LotteryRoom.objects.filter(pk__in=ids).delete()
        availability_cache.bump_catalogue()
        transaction.on_commit(availability_cache.bump_catalogue)


def round_create(
    *, facility_group: FacilityGroup, use_month: dt.date, calendar: domain.RoundCalendar | None = None
) -> LotteryRound:
    """Create the round of a facility group for a use month, on the group's calendar (or `calendar`,
    for a round whose dates staff set by hand). Refuses a calendar that is out of order or that
    would release after first-come booking opens."""
    month = booking_domain.month_start(use_month)
    policy = policy_for(facility_group)
    cal = calendar or domain.round_calendar(month, calendar_rules(policy))
    _check_calendar(facility_group, month, cal)
    try:
        with transaction.atomic():
            created = LotteryRound.objects.create(
                facility_group=facility_group,
                use_month=month,
                intake_opens_at=cal.intake_opens_at,
                intake_closes_at=cal.intake_closes_at,
                draw_at=cal.draw_at,
                confirm_by=cal.confirm_by,
                release_at=cal.release_at,
                runner_up_days=policy.runner_up_days,
                max_entries=policy.max_entries,
                max_wins=policy.max_wins,
                runner_ups=policy.runner_ups,
                loser_bonus=policy.loser_bonus,
            )
            page_cache.round_changed(created.pk)
            return created
    except IntegrityError as error:
        raise LotteryError("round_exists") from error


def round_reschedule(*, round_id: int, calendar: domain.RoundCalendar, now: dt.datetime) -> LotteryRound:
    """Staff move a round's dates before its intake opens (a holiday, a facility's works). The new
    calendar is checked like a new round's, and its opening may not lie in the past: once residents
    can apply, the dates they were told hold.

    Locks the round row; a round that opened meanwhile (tick or clock) raises `round_started`."""
    with transaction.atomic():
        lottery_round = (
            LotteryRound.objects.select_for_update().select_related("facility_group").filter(pk=round_id).first()
        )
        if lottery_round is None:
            raise LotteryNotFound("unknown_round")
        if lottery_round.state != RoundState.SCHEDULED or lottery_round.intake_opens_at <= now:
            raise LotteryError("round_started")
        if calendar.intake_opens_at <= now:
            raise LotteryError("opening_in_past", status=400)
        _check_calendar(lottery_round.facility_group, lottery_round.use_month, calendar)
        lottery_round.intake_opens_at = calendar.intake_opens_at
        lottery_round.intake_closes_at = calendar.intake_closes_at
        lottery_round.draw_at = calendar.draw_at
        lottery_round.confirm_by = calendar.confirm_by
        lottery_round.release_at = calendar.release_at
        lottery_round.save(update_fields=["intake_opens_at", "intake_closes_at", "draw_at", "confirm_by", "release_at"])
        page_cache.round_changed(lottery_round.pk)
    return lottery_round


def rounds_schedule(*, now: dt.datetime) -> list[LotteryRound]:
    """Create the rounds whose intake month is this month or next, for every facility group with
    rooms in the lottery. Idempotent (one round per group and month, under a unique constraint)."""
    created = []
    groups = FacilityGroup.objects.filter(facility__rooms__lottery__is_active=True).distinct()
    today = now.astimezone(domain.TOKYO).date()
    for group in groups:
        policy = policy_for(group)
        for ahead in (0, 1):
            use_month = booking_domain.add_months(booking_domain.month_start(today), policy.months_before + ahead)
            if LotteryRound.objects.filter(facility_group=group, use_month=use_month).exists():
                continue
            try:
                created.append(round_create(facility_group=group, use_month=use_month))
            except LotteryError:
                logger.warning("lottery round for %s %s not created", group, use_month, exc_info=True)
    return created


def round_open(*, round_id: int, now: dt.datetime) -> bool:
    """SCHEDULED → OPEN once intake has begun (a conditional UPDATE; True if this call moved it)."""
    moved = LotteryRound.objects.filter(
        pk=round_id, state=RoundState.SCHEDULED, intake_opens_at__lte=now, intake_closes_at__gt=now
    ).update(state=RoundState.OPEN)
    if moved:
        page_cache.round_changed(round_id)
    return bool(moved)


def round_close(*, round_id: int, now: dt.datetime) -> bool:
    """Close intake and commit to the seed: a fresh 256-bit seed from `secrets`, kept secret until
    publication; its SHA-256 is shown on the public page from now on. A conditional UPDATE, so the
    seed is made exactly once."""
    seed = secrets.token_bytes(domain.SEED_BYTES)
    moved = LotteryRound.objects.filter(pk=round_id, state__in=OPEN_STATES, intake_closes_at__lte=now).update(
        state=RoundState.CLOSED, seed=seed.hex(), seed_commitment=domain.seed_commitment(seed), closed_at=now
    )
    if moved:
        page_cache.round_changed(round_id)
    return bool(moved)


@dataclass
class DrawSummary:
    round_id: int
    entries: int = 0
    excluded: int = 0
    applicants: int = 0
    won: int = 0
    runner_ups: int = 0
    unavailable: int = 0
    digest: str = ""


@dataclass
class _Canonical:
    """The canonical entry list of a round, with the database rows behind it."""

    entries: list[LotteryEntry] = field(default_factory=list)
    domain_entries: list[domain.Entry] = field(default_factory=list)
    applicant_numbers: dict[str, int] = field(default_factory=dict)
    ranks: list[int] = field(default_factory=list)


def _applicant_sort_key(applicant: str) -> tuple[int, int]:
    return (0 if applicant.startswith("r") else 1, int(applicant[1:]))


def slot_label(room: Room, date: dt.date, band_codes: Sequence[str]) -> str:
    return f"{room.facility.code}/{room.code}/{date.isoformat()}/{'+'.join(band_codes)}"


def _span(bands: Sequence[TimeBand], first: TimeBand, last: TimeBand) -> list[TimeBand]:
    return [b for b in bands if first.order <= b.order <= last.order]


def _canonical(entries: list[LotteryEntry]) -> _Canonical:
    """Applicants numbered by (individuals first, then groups; by database id), entries by
    (applicant, rank, id), ranks renumbered 1..k: decided by the data alone, before the seed."""
    facility_ids = {e.room.facility_id for e in entries}
    bands: dict[int, list[TimeBand]] = defaultdict(list)
    for band in TimeBand.objects.filter(facility_id__in=facility_ids).order_by("order"):
        bands[band.facility_id].append(band)
    canonical = _Canonical()
    applicants = sorted({e.applicant for e in entries}, key=_applicant_sort_key)
    canonical.applicant_numbers = {a: i for i, a in enumerate(applicants)}
    ordered = sorted(entries, key=lambda e: (canonical.applicant_numbers[e.applicant], e.rank, e.pk))
    rank: dict[str, int] = defaultdict(int)
    for entry in ordered:
        rank[entry.applicant] += 1
        span = _span(bands[entry.room.facility_id], entry.band_from, entry.band_to)
        units = sorted(u.code for u in entry.room.units.all())
        cells = tuple(f"{entry.room.facility.code}/{u}/{entry.date.isoformat()}/{b.code}" for u in units for b in span)
        canonical.entries.append(entry)
        canonical.ranks.append(rank[entry.applicant])
        canonical.domain_entries.append(
            domain.Entry(
                applicant=canonical.applicant_numbers[entry.applicant],
                rank=rank[entry.applicant],
                slot=slot_label(entry.room, entry.date, [b.code for b in span]),
                cells=cells,
            )
        )
    return canonical


def _entry_cells(entry: LotteryEntry, bands: Sequence[TimeBand]) -> list[tuple[int, dt.date, int]]:
    span = _span(bands, entry.band_from, entry.band_to)
    return [(u.pk, entry.date, b.pk) for u in entry.room.units.all() for b in span]


def _tickets(lottery_round: LotteryRound, applicants: dict[str, int]) -> list[int] | None:
    """Optional weighting: one extra ticket for an applicant who entered the group's previous drawn
    round and won nothing there."""
    if not lottery_round.loser_bonus:
        return None
    previous = (
        LotteryRound.objects.filter(
            facility_group=lottery_round.facility_group,
            use_month__lt=lottery_round.use_month,
            state__in=[RoundState.PUBLISHED, RoundState.FINISHED],
        )
        .order_by("-use_month")
        .first()
    )
    losers: set[str] = set()
    if previous is not None:
        entered = set(previous.outcomes.values_list("entry__applicant", flat=True))
        won = set(previous.outcomes.filter(result=Result.WON).values_list("entry__applicant", flat=True))
        losers = entered - won
    tickets = [1] * len(applicants)
    for applicant, number in applicants.items():
        tickets[number] = domain.loser_tickets(1 if applicant in losers else 0)
    return tickets


def round_draw(*, round_id: int, now: dt.datetime, staff_user: User | None = None) -> DrawSummary | None:
    """Draw a closed round and publish it, exactly once. Returns None when the round was not CLOSED
    (not yet closed, or already drawn by someone else: a published round is never drawn again).

    Claims the round with a conditional UPDATE (CLOSED → DRAWING) and, in the same transaction:
    excludes entries whose slot became occupied (a block or closure placed after intake), draws over
    the canonical list, stores one outcome per entry (unique), creates each win as a reservation
    awaiting confirmation through reservations' services, publishes the seed, and queues the
    results e-mail for each person (sent after commit, at most once)."""
    with transaction.atomic():
        claimed = LotteryRound.objects.filter(pk=round_id, state=RoundState.CLOSED).update(
            state=RoundState.DRAWING, drawn_by=staff_user
        )
        if not claimed:
            return None
        page_cache.round_changed(round_id)
        lottery_round = LotteryRound.objects.select_for_update().select_related("facility_group").get(pk=round_id)
        summary = DrawSummary(round_id=round_id)
        entries = list(
            LotteryEntry.objects.filter(round=lottery_round, status=EntryStatus.ACTIVE)
            .select_related(
                "room__facility", "band_from", "band_to", "resident__user", "group", "person__user", "created_by"
            )
            .prefetch_related("room__units")
        )
        facility_ids = {e.room.facility_id for e in entries}
        bands: dict[int, list[TimeBand]] = defaultdict(list)
        for band in TimeBand.objects.filter(facility_id__in=facility_ids).order_by("order"):
            bands[band.facility_id].append(band)
        cells = {e.pk: _entry_cells(e, bands[e.room.facility_id]) for e in entries}
        dates = {e.date for e in entries}
        unit_ids = {c[0] for cs in cells.values() for c in cs}
        occupied = set(
            Occupancy.objects.filter(unit_id__in=unit_ids, date__in=dates).values_list("unit_id", "date", "band_id")
        )
        excluded = [e for e in entries if any(c in occupied for c in cells[e.pk])]
        if excluded:
            LotteryEntry.objects.filter(pk__in=[e.pk for e in excluded]).update(status=EntryStatus.EXCLUDED)
        excluded_ids = {e.pk for e in excluded}
        entries = [e for e in entries if e.pk not in excluded_ids]
        summary.excluded = len(excluded)

        canonical = _canonical(entries)
        seed = bytes.fromhex(lottery_round.seed)
        rules = domain.Rules(max_wins=lottery_round.max_wins, runner_ups=lottery_round.runner_ups)
        tickets = _tickets(lottery_round, canonical.applicant_numbers)
        result = domain.draw(seed, canonical.domain_entries, rules, tickets)

        outcomes = []
        for index, (entry, rank, drawn) in enumerate(
            zip(canonical.entries, canonical.ranks, result.results, strict=True)
        ):
            outcomes.append(
                LotteryOutcome(
                    entry=entry,
                    round=lottery_round,
                    canonical_index=index,
                    applicant_number=canonical.applicant_numbers[entry.applicant],
                    canonical_rank=rank,
                    tickets=tickets[canonical.applicant_numbers[entry.applicant]] if tickets else 1,
                    result=drawn.outcome.value,
                    reason=drawn.reason.value,
                    position=drawn.position,
                    competitors=drawn.competitors,
                    turn_pass=drawn.turn_pass,
                    turn_position=drawn.turn_position,
                    runner_up_rank=drawn.runner_up_rank,
                )
            )
        LotteryOutcome.objects.bulk_create(outcomes, batch_size=1000)

        won = [o for o in outcomes if o.result == Result.WON]
        for outcome in won:
            if _offer(outcome, bands[outcome.entry.room.facility_id], now=now, deadline=lottery_round.confirm_by):
                summary.won += 1
            else:
                summary.unavailable += 1
        LotteryOutcome.objects.bulk_update(
            won, ["offer_state", "reservation", "offered_at", "deadline"], batch_size=1000
        )

        lottery_round.state = RoundState.PUBLISHED
        lottery_round.algorithm = domain.ALGORITHM
        lottery_round.results_digest = result.digest()
        lottery_round.entry_count = len(entries)
        lottery_round.applicant_count = len(canonical.applicant_numbers)
        lottery_round.published_at = now
        lottery_round.save(
            update_fields=["state", "algorithm", "results_digest", "entry_count", "applicant_count", "published_at"]
        )
        _mail_results(lottery_round, canonical.entries + excluded, outcomes, now=now)

        summary.entries = len(entries)
        summary.applicants = len(canonical.applicant_numbers)
        summary.runner_ups = sum(1 for o in outcomes if o.result == Result.RUNNER_UP)
        summary.digest = lottery_round.results_digest
    return summary


def _offer(outcome: LotteryOutcome, bands: Sequence[TimeBand], *, now: dt.datetime, deadline: dt.datetime) -> bool:
    """Hold the entry's slot for its applicant as a reservation awaiting confirmation. Sets the
    outcome's offer fields (the caller saves them); False when the slot is no longer free."""
    entry = outcome.entry
    try:
        reservation = booking_services.lottery_win_create(
            resident=entry.resident,
            group=entry.group,
            room_id=entry.room_id,
            date=entry.date,
            band_ids=[b.pk for b in _span(bands, entry.band_from, entry.band_to)],
            channel=entry.channel,
            booked_by=entry.created_by,
            now=now,
        )
    except SlotTaken:
        outcome.offer_state = OfferState.UNAVAILABLE
        return False
    outcome.offer_state = OfferState.AWAITING
    outcome.reservation = reservation
    outcome.offered_at = now
    outcome.deadline = deadline
    return True


# --- entries ------------------------------------------------------------------------------------


def _resolve_bands(room: Room, band_ids: Sequence[int], bands: list[TimeBand] | None = None) -> list[TimeBand]:
    """The chosen bands of the room's facility, in order and consecutive; `bands` are the facility's
    bands in order when the caller has them (from the catalogue cache)."""
    if bands is None:
        bands = list(TimeBand.objects.filter(facility_id=room.facility_id).order_by("order"))
    by_id = {b.pk: b for b in bands}
    if not band_ids or any(b not in by_id for b in band_ids) or len(set(band_ids)) != len(band_ids):
        raise BookingError("unknown_band", status=400)
    chosen = sorted((by_id[b] for b in band_ids), key=lambda b: b.order)
    if not booking_domain.is_consecutive([b.order for b in chosen], [b.order for b in bands]):
        raise BookingError(booking_domain.Refusal.BAD_SPAN.value, status=400)
    return chosen


@dataclass(frozen=True)
class _Slot:
    room: Room
    date: dt.date
    bands: list[TimeBand]
    lottery_round: LotteryRound


def _check_slot(*, room_id: int, date: dt.date, band_ids: Sequence[int], now: dt.datetime) -> tuple[_Slot, LotteryRoom]:
    """The room, its bands, its place in the lottery and the round from the caches the pages use
    (current with every catalogue and round change; PostgreSQL with the cache down), then whether
    the slot is held, from PostgreSQL."""
    found = selectors.slot_room(room_id)
    if found is None:
        raise LotteryNotFound("unknown_room")
    room, facility_bands, lottery_room = found
    if lottery_room is None:
        raise LotteryError("not_in_lottery")
    bands = _resolve_bands(room, band_ids, facility_bands)
    allowed = {b.pk for b in lottery_room.bands.all()}
    if allowed and any(b.pk not in allowed for b in bands):
        raise LotteryError("not_in_lottery")
    lottery_round = selectors.round_for(room.facility.group_id, booking_domain.month_start(date))
    if lottery_round is None:
        raise LotteryNotFound("no_round")
    _check_intake(lottery_round, now)
    unit_ids = [u.pk for u in room.units.all()]
    if Occupancy.objects.filter(unit_id__in=unit_ids, date=date, band__in=bands).exists():
        raise LotteryError("slot_unavailable")
    return _Slot(room=room, date=date, bands=bands, lottery_round=lottery_round), lottery_room


def _check_intake(lottery_round: LotteryRound, now: dt.datetime) -> None:
    if lottery_round.intake_is_open(now):
        return
    if lottery_round.state in OPEN_STATES and now < lottery_round.intake_opens_at:
        raise LotteryError("intake_not_open")
    raise LotteryError("intake_closed")


def _check_applicant(resident: Resident, group: Group | None, lottery_room: LotteryRoom) -> None:
    if resident.status != ResidentStatus.ACTIVE:
        raise BookingError("not_active", status=403)
    if group is not None:
        if group.status != ResidentStatus.ACTIVE:
            raise BookingError("group_not_active", status=403)
        if group.representative_id != resident.pk and not group.members.filter(pk=resident.pk).exists():
            raise BookingError("not_group_member", status=403)
    if lottery_room.eligibility == Eligibility.WARD_GROUPS and (group is None or not group.is_ward_group):
        raise LotteryError("not_eligible_ward_groups", status=403)
    if lottery_room.eligibility == Eligibility.WARD:
        ward = group.is_ward_group if group is not None else resident.residency != Residency.OUTSIDER
        if not ward:
            raise LotteryError("not_eligible_ward", status=403)


def _lock_person(person_id: int) -> None:
    status = Resident.objects.select_for_update().values_list("status", flat=True).get(pk=person_id)
    if status != ResidentStatus.ACTIVE:
        raise BookingError("not_active", status=403)


def _unit_ids(room_id: int) -> set[int]:
    """The units a room covers, from the catalogue cache while it is bookable."""
    found = booking_selectors.room_with_bands(room_id)
    if found is not None:
        return {u.pk for u in found[0].units.all()}
    return set(Room.units.through.objects.filter(room_id=room_id).values_list("roomunit_id", flat=True))


def _check_same_person(*, slot: _Slot, person_id: int, applicant: str, exclude_entry_id: int | None = None) -> None:
    """One person, one chance per slot: refuse an entry overlapping (same date, a shared unit, a
    shared band) another active entry of the same person, whether individual or through a group.
    Runs under the person's row lock."""
    unit_ids = {u.pk for u in slot.room.units.all()}
    orders = {b.order for b in slot.bands}
    others = (
        LotteryEntry.objects.filter(
            round=slot.lottery_round, person_id=person_id, date=slot.date, status=EntryStatus.ACTIVE
        )
        .exclude(pk=exclude_entry_id or 0)
        .values_list("room_id", "band_from__order", "band_to__order", "applicant")
    )
    for room_id, first, last, other_applicant in others:
        if not orders & set(range(first, last + 1)):
            continue
        if not unit_ids & _unit_ids(room_id):
            continue
        raise LotteryError("duplicate_entry" if other_applicant == applicant else "same_person")


def entry_apply(
    *,
    resident: Resident,
    room_id: int,
    date: dt.date,
    band_ids: Sequence[int],
    channel: str,
    created_by: User,
    now: dt.datetime,
    group: Group | None = None,
) -> LotteryEntry:
    """Apply to the lottery (抽選申込) for a room, date and band span, as `resident` or for `group`
    (which `resident` represents or belongs to). The new entry is the applicant's last preference.

    Locks the person's Resident row (the group's representative for a group entry), so the entry
    cap and the one-person-one-slot rule hold under concurrency."""
    slot, lottery_room = _check_slot(room_id=room_id, date=date, band_ids=band_ids, now=now)
    _check_applicant(resident, group, lottery_room)
    person_id = group.representative_id if group is not None else resident.pk
    applicant = f"g{group.pk}" if group is not None else f"r{resident.pk}"
    lottery_round = slot.lottery_round
    with transaction.atomic():
        _lock_person(person_id)
        if group is not None and Group.objects.select_for_update().values_list("status", flat=True).get(
            pk=group.pk
        ) != (ResidentStatus.ACTIVE):
            raise BookingError("group_not_active", status=403)
        mine = LotteryEntry.objects.filter(round=lottery_round, applicant=applicant, status=EntryStatus.ACTIVE)
        if mine.count() >= lottery_round.max_entries:
            raise LotteryError("entry_cap")
        _check_same_person(slot=slot, person_id=person_id, applicant=applicant)
        last = mine.aggregate(last=Max("rank"))["last"] or 0
        try:
            with transaction.atomic():
                entry = LotteryEntry.objects.create(
                    round=lottery_round,
                    applicant=applicant,
                    resident=resident,
                    group=group,
                    person_id=person_id,
                    room=slot.room,
                    date=date,
                    band_from=slot.bands[0],
                    band_to=slot.bands[-1],
                    rank=last + 1,
                    channel=channel,
                    created_by=created_by,
                    created_at=now,
                )
        except IntegrityError as error:
            raise LotteryError("same_person") from error
        page_cache.entries_changed(lottery_round.pk)
    return entry


def _may_act_for(resident: Resident | None, entry: LotteryEntry) -> bool:
    """The applicant themselves, or the representative of the group; staff (None) act for anyone."""
    return resident is None or entry.resident_id == resident.pk or entry.person_id == resident.pk


def _locked_entry(entry_id: int, resident: Resident | None, now: dt.datetime) -> LotteryEntry:
    entry = (
        LotteryEntry.objects.select_related("round", "room__facility", "band_from", "band_to", "group")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or not _may_act_for(resident, entry):
        raise LotteryNotFound("unknown_entry")
    _lock_person(entry.person_id)
    entry = LotteryEntry.objects.select_related("round", "room__facility", "band_from", "band_to", "group").get(
        pk=entry_id
    )
    if entry.status != EntryStatus.ACTIVE:
        raise LotteryNotFound("unknown_entry")
    _check_intake(entry.round, now)
    return entry


def _renumber(ordered: Sequence[LotteryEntry]) -> None:
    for rank, entry in enumerate(ordered, start=1):
        entry.rank = rank
    LotteryEntry.objects.bulk_update(list(ordered), ["rank"])


def entry_change(
    *,
    entry_id: int,
    resident: Resident | None,
    now: dt.datetime,
    rank: int | None = None,
    room_id: int | None = None,
    date: dt.date | None = None,
    band_ids: Sequence[int] | None = None,
) -> LotteryEntry:
    """Change an entry until intake closes: move it to preference `rank` (1 = first; the others
    shift), and/or change its slot (room, date, bands: checked like a new entry). `resident` is who
    asks (None for counter staff). Locks the person's row, as entry_apply does."""
    with transaction.atomic():
        entry = _locked_entry(entry_id, resident, now)
        if room_id is not None or date is not None or band_ids is not None:
            bands = band_ids if band_ids is not None else _span_ids(entry)
            slot, lottery_room = _check_slot(
                room_id=room_id if room_id is not None else entry.room_id,
                date=date if date is not None else entry.date,
                band_ids=bands,
                now=now,
            )
            if slot.lottery_round.pk != entry.round_id:
                raise LotteryError("no_round", status=400)
            _check_applicant(entry.resident, entry.group, lottery_room)
            _check_same_person(
                slot=slot, person_id=entry.person_id, applicant=entry.applicant, exclude_entry_id=entry.pk
            )
            entry.room, entry.date, entry.band_from, entry.band_to = slot.room, slot.date, slot.bands[0], slot.bands[-1]
            entry.changed_at = now
            try:
                with transaction.atomic():
                    entry.save(update_fields=["room", "date", "band_from", "band_to", "changed_at"])
            except IntegrityError as error:
                raise LotteryError("same_person") from error
        if rank is not None:
            ordered = list(
                LotteryEntry.objects.filter(
                    round_id=entry.round_id, applicant=entry.applicant, status=EntryStatus.ACTIVE
                ).order_by("rank", "pk")
            )
            if not 1 <= rank <= len(ordered):
                raise LotteryError("bad_rank", status=400)
            moved = next(e for e in ordered if e.pk == entry.pk)
            ordered.remove(moved)
            ordered.insert(rank - 1, moved)
            _renumber(ordered)
            LotteryEntry.objects.filter(pk=entry.pk).update(changed_at=now)
        entry.refresh_from_db()
        page_cache.entries_changed(entry.round_id)
    return entry


def _span_ids(entry: LotteryEntry) -> list[int]:
    return list(
        TimeBand.objects.filter(
            facility_id=entry.room.facility_id, order__gte=entry.band_from.order, order__lte=entry.band_to.order
        )
        .order_by("order")
        .values_list("pk", flat=True)
    )


def entry_withdraw(*, entry_id: int, resident: Resident | None, channel: str, now: dt.datetime) -> LotteryEntry:
    """Withdraw an entry until intake closes; the applicant's other preferences close ranks."""
    with transaction.atomic():
        entry = _locked_entry(entry_id, resident, now)
        entry.status = EntryStatus.WITHDRAWN
        entry.withdrawn_at = now
        entry.withdraw_channel = channel
        entry.save(update_fields=["status", "withdrawn_at", "withdraw_channel"])
        rest = LotteryEntry.objects.filter(
            round_id=entry.round_id, applicant=entry.applicant, status=EntryStatus.ACTIVE
        ).order_by("rank", "pk")
        _renumber(list(rest))
        page_cache.entries_changed(entry.round_id)
    return entry


# --- confirmation, runner-ups, release ----------------------------------------------------------


def _locked_outcome(outcome_id: int, resident: Resident | None) -> tuple[LotteryRound, LotteryOutcome]:
    found = LotteryOutcome.objects.filter(pk=outcome_id).values_list("round_id", flat=True).first()
    if found is None:
        raise LotteryNotFound("unknown_outcome")
    lottery_round = LotteryRound.objects.select_for_update().get(pk=found)
    outcome = (
        LotteryOutcome.objects.select_for_update(of=("self",))
        .select_related("entry__room__facility", "entry__band_from", "entry__band_to", "entry__person__user")
        .get(pk=outcome_id)
    )
    if not _may_act_for(resident, outcome.entry):
        raise LotteryNotFound("unknown_outcome")
    return lottery_round, outcome


def win_confirm(*, outcome_id: int, resident: Resident | None, now: dt.datetime) -> LotteryOutcome:
    """The winner (or a runner-up moved up) confirms (当選確定) before the deadline: the reservation
    becomes a provisional booking with a payment deadline. Locks the round, then the outcome."""
    with transaction.atomic():
        lottery_round, outcome = _locked_outcome(outcome_id, resident)
        if outcome.offer_state != OfferState.AWAITING or outcome.reservation_id is None:
            raise LotteryError("not_offered")
        if outcome.deadline is not None and outcome.deadline <= now:
            raise LotteryError("offer_expired")
        try:
            booking_services.lottery_win_confirm(reservation_id=outcome.reservation_id, now=now)
        except BookingError as error:
            if error.code != "not_awaiting":
                raise
            # Cancelled meanwhile as an ordinary booking: the win was given up (the tick moves the
            # runner-up up).
            raise LotteryError("not_offered") from error
        outcome.offer_state = OfferState.CONFIRMED
        outcome.responded_at = now
        outcome.save(update_fields=["offer_state", "responded_at"])
        _mail(lottery_round, outcome.entry.person, f"confirmed-{outcome.pk}", "confirmed", {"outcome": outcome})
    return outcome


def win_decline(
    *, outcome_id: int, resident: Resident | None, now: dt.datetime, declined_by: User | None = None, channel: str = ""
) -> LotteryOutcome:
    """Decline a win: the slot goes to the next runner-up at once (or is free when none is left)."""
    with transaction.atomic():
        lottery_round, outcome = _locked_outcome(outcome_id, resident)
        if outcome.offer_state != OfferState.AWAITING:
            raise LotteryError("not_offered")
        _end_offer(lottery_round, outcome, OfferState.DECLINED, now=now, released_by=declined_by, channel=channel)
    return outcome


def _end_offer(
    lottery_round: LotteryRound,
    outcome: LotteryOutcome,
    state: str,
    *,
    now: dt.datetime,
    release: bool = True,
    released_by: User | None = None,
    channel: str = "",
) -> None:
    """End an awaiting offer (declined or expired), free its slot, and offer it to the next
    runner-up. Runs under the round's lock."""
    if release and outcome.reservation_id is not None:
        try:
            booking_services.lottery_win_release(
                reservation_id=outcome.reservation_id,
                state=ReservationState.CANCELLED if state == OfferState.DECLINED else ReservationState.EXPIRED,
                now=now,
                released_by=released_by,
                channel=channel,
            )
        except BookingError as error:
            if error.code != "not_awaiting":
                raise
    outcome.offer_state = state
    outcome.responded_at = now
    outcome.save(update_fields=["offer_state", "responded_at"])
    if state == OfferState.EXPIRED:
        _mail(lottery_round, outcome.entry.person, f"expired-{outcome.pk}", "expired", {"outcome": outcome})
    _offer_next(lottery_round, outcome.entry, now=now)


def _offer_next(lottery_round: LotteryRound, entry: LotteryEntry, *, now: dt.datetime) -> None:
    """Offer the entry's slot to its runner-ups in order: the first still under the win cap gets a
    reservation awaiting confirmation with a deadline of its own (never past release)."""
    if now >= lottery_round.release_at:
        return
    candidates = (
        LotteryOutcome.objects.select_for_update(of=("self",))
        .filter(
            round=lottery_round,
            result=Result.RUNNER_UP,
            offer_state=OfferState.NONE,
            entry__room_id=entry.room_id,
            entry__date=entry.date,
            entry__band_from_id=entry.band_from_id,
            entry__band_to_id=entry.band_to_id,
        )
        .select_related("entry__room__facility", "entry__band_from", "entry__band_to", "entry__resident__user")
        .select_related("entry__group", "entry__created_by", "entry__person__user")
        .order_by("runner_up_rank")
    )
    bands = list(TimeBand.objects.filter(facility_id=entry.room.facility_id).order_by("order"))
    for candidate in candidates:
        holding = LotteryOutcome.objects.filter(
            round=lottery_round,
            entry__applicant=candidate.entry.applicant,
            offer_state__in=[OfferState.AWAITING, OfferState.CONFIRMED],
        ).count()
        if holding >= lottery_round.max_wins:
            continue
        deadline = domain.runner_up_deadline(
            offered_at=now, days=lottery_round.runner_up_days, release_at=lottery_round.release_at
        )
        offered = _offer(candidate, bands, now=now, deadline=deadline)
        candidate.save(update_fields=["offer_state", "reservation", "offered_at", "deadline"])
        if offered:
            _mail(
                lottery_round,
                candidate.entry.person,
                f"offer-{candidate.pk}",
                "runner_up_offer",
                {"outcome": candidate},
            )
        return


def offers_expire(*, round_id: int, now: dt.datetime) -> int:
    """End every offer of a published round whose deadline has passed (and every offer whose
    reservation was cancelled as an ordinary booking), moving runner-ups up. Idempotent."""
    ended = 0
    with transaction.atomic():
        lottery_round = LotteryRound.objects.select_for_update().get(pk=round_id)
        if lottery_round.state != RoundState.PUBLISHED:
            return 0
        due = (
            LotteryOutcome.objects.select_for_update(of=("self",))
            .filter(round=lottery_round, offer_state=OfferState.AWAITING)
            .filter(Q(deadline__lte=now) | ~Q(reservation__state=ReservationState.AWAITING))
            .select_related("entry__room__facility", "entry__person__user", "reservation")
            .order_by("pk")
        )
        for outcome in due:
            cancelled = outcome.reservation is not None and outcome.reservation.state != ReservationState.AWAITING
            state = OfferState.DECLINED if cancelled else OfferState.EXPIRED
            _end_offer(lottery_round, outcome, state, now=now, release=not cancelled)
            ended += 1
    return ended


def round_release(*, round_id: int, now: dt.datetime) -> bool:
    """At release time, end every offer still awaiting (their slots join first-come) and finish the
    round. A conditional state change under the round's lock; True if this call finished it."""
    with transaction.atomic():
        lottery_round = LotteryRound.objects.select_for_update().get(pk=round_id)
        if lottery_round.state != RoundState.PUBLISHED or now < lottery_round.release_at:
            return False
        awaiting = (
            LotteryOutcome.objects.select_for_update(of=("self",))
            .filter(round=lottery_round, offer_state=OfferState.AWAITING)
            .select_related("entry__room__facility", "entry__person__user")
        )
        for outcome in awaiting:
            _end_offer(lottery_round, outcome, OfferState.EXPIRED, now=now)
        lottery_round.state = RoundState.FINISHED
        lottery_round.finished_at = now
        lottery_round.save(update_fields=["state", "finished_at"])
        page_cache.round_changed(round_id)
    return True


@dataclass
class TickSummary:
    scheduled: int = 0
    opened: int = 0
    closed: int = 0
    drawn: int = 0
    expired: int = 0
    finished: int = 0


def rounds_advance(*, now: dt.datetime) -> TickSummary:
    """The periodic tick: perform every step that is due, each in its own transaction and each
    idempotent (a missed or doubled tick does no harm): create upcoming rounds, open intake, close
    it (seed and commitment), draw and publish, expire lapsed offers (runner-ups move up), release
    what is still unclaimed and finish the round."""
    summary = TickSummary(scheduled=len(rounds_schedule(now=now)))
    for lottery_round in LotteryRound.objects.exclude(state=RoundState.FINISHED).order_by("pk"):
        if lottery_round.state == RoundState.SCHEDULED and lottery_round.intake_opens_at <= now:
            summary.opened += round_open(round_id=lottery_round.pk, now=now)
        if lottery_round.state in OPEN_STATES and lottery_round.intake_closes_at <= now:
            summary.closed += round_close(round_id=lottery_round.pk, now=now)
        if lottery_round.intake_closes_at <= now and lottery_round.draw_at <= now:
            summary.drawn += round_draw(round_id=lottery_round.pk, now=now) is not None
        if lottery_round.draw_at <= now:
            summary.expired += offers_expire(round_id=lottery_round.pk, now=now)
        if lottery_round.release_at <= now:
            summary.finished += round_release(round_id=lottery_round.pk, now=now)
    return summary


# --- e-mail -------------------------------------------------------------------------------------


def _mark(lottery_round: LotteryRound, person: Resident, event: str) -> bool:
    """Insert the sent-marker; False if this person already got this event's mail."""
    try:
        with transaction.atomic():
            LotteryMail.objects.create(round=lottery_round, person=person, event=event)
    except IntegrityError:
        return False
    return True


def _message(template: str, person: Resident, context: dict[str, object]) -> mail.EmailMessage | None:
    address = person.user.email
    if not address:
        return None  # registered at a counter without e-mail: the counter tells them
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"lottery/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"lottery/email/{template}.txt", {**context, "person": person})
    return mail.EmailMessage(subject=subject, body=body, to=[address])


def _send_after_commit(messages: list[mail.EmailMessage]) -> None:
    if not messages:
        return

    def send() -> None:
        try:
            with mail.get_connection() as connection:
                connection.send_messages(messages)
        except Exception:
            logger.exception("lottery e-mail could not be sent")

    transaction.on_commit(send)


def _mail(lottery_round: LotteryRound, person: Resident, event: str, template: str, context: dict[str, object]) -> None:
    if not _mark(lottery_round, person, event):
        return
    message = _message(template, person, {"round": lottery_round, "ward_name": settings.WARD_NAME, **context})
    _send_after_commit([message] if message is not None else [])


def _mail_results(
    lottery_round: LotteryRound, entries: list[LotteryEntry], outcomes: list[LotteryOutcome], *, now: dt.datetime
) -> None:
    """One results e-mail per person (their individual and group entries together)."""
    by_entry = {o.entry_id: o for o in outcomes}
    per_person: dict[int, list[LotteryEntry]] = defaultdict(list)
    people: dict[int, Resident] = {}
    for entry in entries:
        per_person[entry.person_id].append(entry)
        people[entry.person_id] = entry.person
    already = set(LotteryMail.objects.filter(round=lottery_round, event="results").values_list("person_id", flat=True))
    fresh = [pid for pid in per_person if pid not in already]
    LotteryMail.objects.bulk_create(
        [LotteryMail(round=lottery_round, person_id=pid, event="results", created_at=now) for pid in fresh]
    )
    messages = []
    for pid in fresh:
        rows = [(e, by_entry.get(e.pk)) for e in sorted(per_person[pid], key=lambda e: (e.applicant, e.rank))]
        message = _message(
            "results",
            people[pid],
            {"round": lottery_round, "rows": rows, "ward_name": settings.WARD_NAME},
        )
        if message is not None:
            messages.append(message)
    _send_after_commit(messages)
