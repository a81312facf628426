"""Reads of the lottery: rounds, rooms in the lottery, entry counts per slot, a resident's entries and
outcomes, and the published document with its verification."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from reservations import availability_cache
from reservations import selectors as booking_selectors
from reservations.models import Closure, Facility, Occupancy, Resident, Room, TimeBand

from . import domain, page_cache
from .models import EntryStatus, LotteryEntry, LotteryOutcome, LotteryRoom, LotteryRound, RoundState

PUBLIC_STATES = (
    RoundState.SCHEDULED,
    RoundState.OPEN,
    RoundState.CLOSED,
    RoundState.DRAWING,
    RoundState.PUBLISHED,
    RoundState.FINISHED,
)


def round_get(round_id: int) -> LotteryRound | None:
    return LotteryRound.objects.select_related("facility_group").filter(pk=round_id).first()


def rounds_in_intake(now: dt.datetime) -> list[LotteryRound]:
    """Rounds taking entries now (by the clock, whatever the tick has done yet). The scheduled and
    open rounds come from the cache (current with every round change, see page_cache): the
    my-entries page shows them to everyone who has just applied."""

    return [r for r in rounds_scheduled_or_open() if r.intake_opens_at <= now < r.intake_closes_at]


def rounds_scheduled_or_open() -> list[LotteryRound]:
    """Rounds whose intake is to come or under way, from the cache (current with every round change)."""

    def load() -> list[LotteryRound]:
        return list(
            LotteryRound.objects.filter(state__in=[RoundState.SCHEDULED, RoundState.OPEN])
            .select_related("facility_group")
            .order_by("use_month", "facility_group__code")
        )

    return page_cache.value("lottery:rounds:scheduled-or-open", load)


def intake_openings(now: dt.datetime) -> list[dt.datetime]:
    """The intake openings to come or under way, for the waiting room (reservations/waiting_room.py)."""
    return sorted({r.intake_opens_at for r in rounds_scheduled_or_open() if r.intake_closes_at > now})


def rounds_recent(limit: int = 20) -> list[LotteryRound]:
    return list(
        LotteryRound.objects.select_related("facility_group").order_by("-use_month", "facility_group__code")[:limit]
    )


def round_rooms(lottery_round: LotteryRound) -> list[LotteryRoom]:
    """The rooms whose slots this round draws, by facility."""
    return list(
        LotteryRoom.objects.filter(
            is_active=True,
            room__is_active=True,
            room__facility__is_active=True,
            room__facility__group_id=lottery_round.facility_group_id,
        )
        .select_related("room__facility")
        .prefetch_related("bands")
        .order_by("room__facility__kind", "room__facility__code", "room__display_order", "room__code")
    )


def round_facilities(lottery_round: LotteryRound) -> list[tuple[Facility, list[LotteryRoom]]]:
    grouped: dict[int, list[LotteryRoom]] = defaultdict(list)
    facilities: dict[int, Facility] = {}
    for lottery_room in round_rooms(lottery_round):
        grouped[lottery_room.room.facility_id].append(lottery_room)
        facilities[lottery_room.room.facility_id] = lottery_room.room.facility
    return [(facilities[fid], rooms) for fid, rooms in grouped.items()]


def round_entry_count(lottery_round: LotteryRound) -> int:
    return LotteryEntry.objects.filter(round=lottery_round, status=EntryStatus.ACTIVE).count()


@dataclass(frozen=True)
class RoomGridCell:
    day: dt.date
    band: TimeBand
    entries: int  # active entries covering this band
    available: bool  # in the lottery and not held by a closure or block


@dataclass
class RoomGrid:
    lottery_room: LotteryRoom
    bands: list[TimeBand]
    days: list[dt.date]
    rows: list[tuple[TimeBand, list[RoomGridCell]]]


def room_grid(lottery_round: LotteryRound, lottery_room: LotteryRoom) -> RoomGrid:
    """Entries per (day, band) of one room during intake, so residents can pick less contested slots.
    A fixed handful of queries."""
    room = lottery_room.room
    bands = list(TimeBand.objects.filter(facility_id=room.facility_id).order_by("order"))
    allowed = {b.pk for b in lottery_room.bands.all()} or {b.pk for b in bands}
    days = _days(lottery_round.use_month)
    unit_ids = list(room.units.values_list("pk", flat=True))
    held = set(
        Occupancy.objects.filter(unit_id__in=unit_ids, date__range=(days[0], days[-1])).values_list("date", "band_id")
    )
    closed = set(
        Closure.objects.filter(
            Q(room__isnull=True) | Q(room=room), facility_id=room.facility_id, date__range=(days[0], days[-1])
        ).values_list("date", flat=True)
    )
    order = {b.pk: b.order for b in bands}
    counts: Counter[tuple[dt.date, int]] = Counter()
    spans = LotteryEntry.objects.filter(round=lottery_round, room=room, status=EntryStatus.ACTIVE).values_list(
        "date", "band_from_id", "band_to_id"
    )
    for day, first, last in spans:
        for band in bands:
            if order[first] <= band.order <= order[last]:
                counts[(day, band.pk)] += 1
    rows = []
    for band in bands:
        if band.pk not in allowed:
            continue
        cells = [
            RoomGridCell(
                day=day,
                band=band,
                entries=counts[(day, band.pk)],
                available=(day, band.pk) not in held and day not in closed,
            )
            for day in days
        ]
        rows.append((band, cells))
    return RoomGrid(lottery_room=lottery_room, bands=bands, days=days, rows=rows)


def slot_counts(lottery_round: LotteryRound) -> list[dict[str, object]]:
    """Active entries per slot (room, date, band span) of a round, for the API."""
    rows = (
        LotteryEntry.objects.filter(round=lottery_round, status=EntryStatus.ACTIVE)
        .values("room_id", "date", "band_from_id", "band_to_id")
        .annotate(entries=Count("pk"))
        .order_by("room_id", "date", "band_from_id", "band_to_id")
    )
    return list(rows)


def _days(month: dt.date) -> list[dt.date]:
    first = month.replace(day=1)
    days = []
    day = first
    while day.month == first.month:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def resident_entries(resident: Resident, lottery_round: LotteryRound | None = None) -> QuerySet[LotteryEntry]:
    """The resident's own entries and those of the groups they represent, with outcomes."""
    entries = (
        LotteryEntry.objects.filter(Q(resident=resident) | Q(person=resident))
        .select_related(
            "round__facility_group",
            "room__facility",
            "band_from",
            "band_to",
            "group",
            "outcome__reservation",
        )
        .order_by("-round__use_month", "round_id", "applicant", "status", "rank", "pk")
    )
    if lottery_round is not None:
        entries = entries.filter(round=lottery_round)
    return entries


def resident_rounds(resident: Resident) -> list[LotteryRound]:
    ids = set(resident_entries(resident).values_list("round_id", flat=True))
    return list(LotteryRound.objects.filter(pk__in=ids).select_related("facility_group").order_by("-use_month"))


def entry_for_resident(resident: Resident, entry_id: int) -> LotteryEntry | None:
    return resident_entries(resident).filter(pk=entry_id).first()


def slot_room(room_id: int) -> tuple[Room, list[TimeBand], LotteryRoom | None] | None:
    """The room (with its facility, group and units), its facility's bands and its place in the
    lottery: from the catalogue cache (lottery_room_save bumps it), as every apply starts here."""
    found = booking_selectors.room_with_bands(room_id)
    if found is None:
        return None
    room, bands = found
    return room, bands, lottery_room_of(room_id)


def lottery_room_of(room_id: int) -> LotteryRoom | None:
    def load() -> LotteryRoom | None:
        return LotteryRoom.objects.filter(room_id=room_id, is_active=True).prefetch_related("bands").first()

    return availability_cache.catalogue_item(f"lottery-room:{room_id}", load)


def round_for(facility_group_id: int, use_month: dt.date) -> LotteryRound | None:
    """The round of a facility group and use month, from the cache (current with every round
    change, see page_cache)."""

    def load() -> LotteryRound | None:
        return LotteryRound.objects.filter(facility_group_id=facility_group_id, use_month=use_month).first()

    return page_cache.value(f"lottery:round:{facility_group_id}:{use_month:%Y-%m}", load)


# --- the published document and its verification ------------------------------------------------


def round_document(lottery_round: LotteryRound) -> domain.Document | None:
    """The anonymised canonical entry list with the seed, rules and results, once published."""
    if lottery_round.state not in (RoundState.PUBLISHED, RoundState.FINISHED):
        return None
    outcomes = list(
        LotteryOutcome.objects.filter(round=lottery_round)
        .select_related("entry__room__facility", "entry__band_from", "entry__band_to")
        .prefetch_related("entry__room__units")
        .order_by("canonical_index")
    )
    facility_ids = {o.entry.room.facility_id for o in outcomes}
    bands: dict[int, list[TimeBand]] = defaultdict(list)
    for band in TimeBand.objects.filter(facility_id__in=facility_ids).order_by("order"):
        bands[band.facility_id].append(band)
    entries, results = [], []
    tickets: dict[int, int] = {}
    for outcome in outcomes:
        entry = outcome.entry
        span = [b for b in bands[entry.room.facility_id] if entry.band_from.order <= b.order <= entry.band_to.order]
        units = sorted(u.code for u in entry.room.units.all())
        code = entry.room.facility.code
        entries.append(
            domain.Entry(
                applicant=outcome.applicant_number,
                rank=outcome.canonical_rank,
                slot=f"{code}/{entry.room.code}/{entry.date.isoformat()}/{'+'.join(b.code for b in span)}",
                cells=tuple(f"{code}/{u}/{entry.date.isoformat()}/{b.code}" for u in units for b in span),
            )
        )
        results.append(
            domain.EntryResult(
                outcome=domain.Outcome(outcome.result),
                reason=domain.Reason(outcome.reason),
                position=outcome.position,
                competitors=outcome.competitors,
                turn_pass=outcome.turn_pass,
                turn_position=outcome.turn_position,
                runner_up_rank=outcome.runner_up_rank,
            )
        )
        tickets.setdefault(outcome.applicant_number, outcome.tickets)
    ticket_list = [tickets[n] for n in range(len(tickets))] if lottery_round.loser_bonus else None
    return domain.Document(
        seed=bytes.fromhex(lottery_round.seed),
        commitment=lottery_round.seed_commitment,
        rules=domain.Rules(max_wins=lottery_round.max_wins, runner_ups=lottery_round.runner_ups),
        entries=entries,
        tickets=ticket_list,
        results=results,
        meta={
            "round": lottery_round.pk,
            "facility_group": lottery_round.facility_group.code,
            "use_month": f"{lottery_round.use_month:%Y-%m}",
            "published_at": lottery_round.published_at.isoformat() if lottery_round.published_at else None,
        },
    )


@dataclass(frozen=True)
class RoundVerification:
    verification: domain.Verification
    digest_ok: bool  # the recomputed results match the digest stored at publication

    @property
    def ok(self) -> bool:
        return self.verification.ok and self.digest_ok


def round_verify(lottery_round: LotteryRound, document: domain.Document | None = None) -> RoundVerification | None:
    """Recompute the draw from the published seed and canonical list (or a downloaded `document`)
    and compare with the stored outcomes and the digest stored at publication."""
    stored = round_document(lottery_round)
    if stored is None:
        return None
    checked = document or stored
    verification = domain.verify_document(checked)
    same_as_stored = checked is stored or (
        domain.results_digest(checked.results) == domain.results_digest(stored.results)
        and checked.entries == stored.entries
        and checked.seed == stored.seed
    )
    digest_ok = verification.recomputed_digest == lottery_round.results_digest and same_as_stored
    return RoundVerification(verification=verification, digest_ok=digest_ok)
