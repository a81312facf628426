"""Reads of the staff counter terminal (窓口). Every facility-bound row is read through the staff
member's scope (`StaffScope.facility_q`), so a row of a facility outside it is simply not found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from lottery import selectors as lottery_selectors
from lottery.models import EntryStatus, LotteryEntry, LotteryOutcome, LotteryRoom, LotteryRound
from payments import domain as payment_domain
from payments import selectors as payment_selectors
from payments.models import COUNTER_METHODS, PAID, Exemption, ExemptionState, Payment, Refund, RefundState
from reservations import domain, selectors
from reservations.domain import Cell
from reservations.models import (
    ACTIVE_STATES,
    Closure,
    Facility,
    Group,
    Reservation,
    ReservationKind,
    ReservationState,
    Resident,
    Room,
    RoomEquipment,
    StaffProfile,
    TimeBand,
    booking_rules,
)
from reservations.staff import StaffScope, staff_scope

# --- residents --------------------------------------------------------------------------------


def resident_get(resident_id: int) -> Resident | None:
    return Resident.objects.select_related("user", "registered_facility").filter(pk=resident_id).first()


def resident_by_number(user_number: str) -> Resident | None:
    return Resident.objects.select_related("user").filter(user__user_number=user_number.strip()).first()


def resident_groups(resident: Resident) -> list[Group]:
    """Every group the resident represents or belongs to, whatever its status."""
    found = Group.objects.filter(Q(representative=resident) | Q(members=resident)).distinct()
    return list(found.select_related("representative").order_by("name"))


@dataclass(frozen=True)
class ResidentOverview:
    bookings: list[Reservation]
    elsewhere: int  # the resident's active bookings at facilities outside the staff member's scope
    entries: list[LotteryEntry]
    payments: list[Payment]


def resident_overview(scope: StaffScope, resident: Resident, *, today: dt.date) -> ResidentOverview:
    """The resident's bookings from today on (their own and their groups'), lottery entries of
    rounds not finished, and payments, at facilities within the scope only."""
    mine = Q(resident=resident) | Q(group__representative=resident)
    bookings = (
        Reservation.objects.filter(mine, date__gte=today)
        .select_related("room__facility", "band_from", "band_to", "group")
        .order_by("date", "band_from__order")
    )
    in_scope = list(bookings.filter(scope.facility_q("room__facility")))
    elsewhere = bookings.filter(state__in=ACTIVE_STATES).exclude(pk__in=[b.pk for b in in_scope]).count()
    entries = list(
        lottery_selectors.resident_entries(resident)
        .filter(scope.facility_q("room__facility"))
        .exclude(round__state="finished")
    )
    payments = list(
        Payment.objects.filter(Q(reservation__resident=resident) | Q(reservation__group__representative=resident))
        .filter(scope.facility_q("facility"))
        .select_related("reservation")
        .order_by("-created_at")[:30]
    )
    return ResidentOverview(bookings=in_scope, elsewhere=elsewhere, entries=entries, payments=payments)


# --- facility-bound rows, within scope ----------------------------------------------------------


def booking_for_staff(scope: StaffScope, reservation_id: int) -> Reservation | None:
    return (
        Reservation.objects.filter(scope.facility_q("room__facility"), pk=reservation_id)
        .select_related(
            "room__facility__group", "band_from", "band_to", "resident__user", "group", "purpose", "booked_by"
        )
        .first()
    )


def payment_for_staff(scope: StaffScope, payment_id: int) -> Payment | None:
    return (
        Payment.objects.filter(scope.facility_q("facility"), pk=payment_id)
        .select_related("reservation__room__facility", "reservation__resident", "reservation__group")
        .first()
    )


def entry_for_staff(scope: StaffScope, entry_id: int) -> LotteryEntry | None:
    return (
        LotteryEntry.objects.filter(scope.facility_q("room__facility"), pk=entry_id)
        .select_related("resident", "round")
        .first()
    )


def outcome_for_staff(scope: StaffScope, outcome_id: int) -> LotteryOutcome | None:
    return (
        LotteryOutcome.objects.filter(scope.facility_q("entry__room__facility"), pk=outcome_id)
        .select_related("entry__resident")
        .first()
    )


def room_for_staff(scope: StaffScope, room_id: int) -> Room | None:
    """An active room of an active facility within scope, with what booking it needs."""
    return (
        Room.objects.filter(scope.facility_q("facility"), pk=room_id, is_active=True, facility__is_active=True)
        .select_related("facility__group")
        .prefetch_related("purposes", "equipment_items", "units")
        .first()
    )


def facility_rooms(facility: Facility) -> list[Room]:
    return list(Room.objects.filter(facility=facility, is_active=True).order_by("display_order", "code"))


def facility_bands(facility: Facility) -> list[TimeBand]:
    return list(TimeBand.objects.filter(facility=facility).order_by("order"))


# --- a booking's page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingMoney:
    exemption_percent: int
    amount_due: int
    payments: list[Payment]
    refunds: list[Refund]
    paid: bool  # a payment has succeeded and not been fully refunded


def booking_money(reservation: Reservation) -> BookingMoney:
    percent = payment_selectors.exemption_percent_for(reservation)
    payments = list(payment_selectors.payments_of(reservation.pk).select_related("received_by"))
    refunds = list(
        Refund.objects.filter(payment__reservation=reservation).select_related("requested_by", "approved_by")
    )
    return BookingMoney(
        exemption_percent=percent,
        amount_due=payment_domain.amount_due(reservation.fee, percent),
        payments=payments,
        refunds=refunds,
        paid=any(p.state in PAID and p.refundable > 0 for p in payments),
    )


def paid_payments_without_refund(reservation: Reservation) -> list[int]:
    """Paid payments of the booking that have no refund yet (after a counter cancellation)."""
    return list(
        Payment.objects.filter(reservation=reservation, state__in=PAID, amount__gt=0, refunds__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def next_receipt_number(facility: Facility, day: dt.date) -> str:
    """A suggestion for the next receipt number of the counter's day (YYYYMMDD-NNN); the database
    keeps receipt numbers unique per facility, so a clash is refused, never duplicated."""
    prefix = f"{day:%Y%m%d}-"
    used = set(
        Payment.objects.filter(
            facility=facility, method__in=COUNTER_METHODS, receipt_number__startswith=prefix
        ).values_list("receipt_number", flat=True)
    )
    n = len(used) + 1
    while f"{prefix}{n:03d}" in used:
        n += 1
    return f"{prefix}{n:03d}"


# --- booking on someone's behalf ---------------------------------------------------------------


@dataclass(frozen=True)
class BandSlot:
    band: TimeBand
    cell: Cell
    fee: int | None  # the band's tariff on this day, before surcharges
    free: bool  # can be booked at the counter now (free, not begun)


def day_slots(room: Room, day: dt.date, now: dt.datetime) -> list[BandSlot]:
    """The room's bands on `day` with their state, as counter staff book them: the first-come
    window's closing does not apply at the counter (the service decides for real)."""
    availability = selectors.availability(facility=room.facility, days=[day], now=now, only_room=room)
    tariffs = {t.time_band_id: t for t in room.tariffs.all()}
    holiday = domain.is_holiday(day)
    slots = []
    for band in availability.bands:
        cell = availability.slot(room, day, band)
        tariff = tariffs.get(band.pk)
        fee = (tariff.holiday_fee if holiday else tariff.weekday_fee) if tariff else None
        slots.append(BandSlot(band=band, cell=cell, fee=fee, free=cell is Cell.FREE))
    return slots


def fee_quote(
    *,
    room: Room,
    bands: Sequence[TimeBand],
    day: dt.date,
    resident: Resident,
    group: Group | None,
    commercial: bool,
    equipment: Sequence[RoomEquipment],
) -> int:
    """The fee the booking will freeze, by the same rule `reservation_create` applies: the group's
    class when booked for one, else the resident's; the surcharges; the equipment."""
    tariffs = {t.time_band_id: t for t in room.tariffs.all()}
    return domain.fee_for(
        band_fees=[(tariffs[b.pk].weekday_fee, tariffs[b.pk].holiday_fee) for b in bands if b.pk in tariffs],
        use_date=day,
        outsider=resident.is_outsider if group is None else not group.is_ward_group,
        rules=booking_rules(room.facility.group),
        commercial=commercial,
        equipment_fees=[item.fee for item in equipment],
    )


def payment_deadline(room: Room, day: dt.date, now: dt.datetime) -> dt.datetime:
    return domain.payment_deadline(booked_at=now, use_date=day, rules=booking_rules(room.facility.group))


# --- lottery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRound:
    lottery_round: LotteryRound
    rooms: list[LotteryRoom]


def open_rounds(scope: StaffScope, now: dt.datetime) -> list[OpenRound]:
    """Rounds taking entries now, with their rooms at facilities within scope."""
    found = []
    for lottery_round in lottery_selectors.rounds_in_intake(now):
        rooms = [r for r in lottery_selectors.round_rooms(lottery_round) if scope.sees_facility(r.room.facility_id)]
        if rooms:
            found.append(OpenRound(lottery_round=lottery_round, rooms=rooms))
    return found


def lottery_room_for_staff(scope: StaffScope, room_id: int) -> LotteryRoom | None:
    return (
        LotteryRoom.objects.filter(
            scope.facility_q("room__facility"),
            room_id=room_id,
            is_active=True,
            room__is_active=True,
            room__facility__is_active=True,
        )
        .select_related("room__facility__group")
        .prefetch_related("bands")
        .first()
    )


def lottery_bands(lottery_room: LotteryRoom) -> list[TimeBand]:
    """The bands of the room that go to the lottery (all when none are named)."""
    allowed = {b.pk for b in lottery_room.bands.all()}
    return [b for b in facility_bands(lottery_room.room.facility) if not allowed or b.pk in allowed]


def round_for(room: Room, day: dt.date) -> LotteryRound | None:
    return LotteryRound.objects.filter(
        facility_group_id=room.facility.group_id, use_month=domain.month_start(day)
    ).first()


def rounds_for_staff(scope: StaffScope, limit: int = 60) -> list[LotteryRound]:
    """Rounds of the facility groups that hold at least one facility within scope, newest first."""
    found = LotteryRound.objects.select_related("facility_group").order_by("-use_month", "facility_group__code")
    if not scope.ward_wide:
        found = found.filter(facility_group__facility__in=scope.facilities()).distinct()
    return list(found[:limit])


def round_for_staff(scope: StaffScope, round_id: int) -> LotteryRound | None:
    found = LotteryRound.objects.select_related("facility_group").filter(pk=round_id)
    if not scope.ward_wide:
        found = found.filter(facility_group__facility__in=scope.facilities()).distinct()
    return found.first()


def round_wholly_in_scope(scope: StaffScope, lottery_round: LotteryRound) -> bool:
    """Whether every facility of the round's group is within scope: a round is shared by the whole
    group, so only someone responsible for all of it may move its dates or draw it."""
    if scope.ward_wide:
        return True
    ids = set(Facility.objects.filter(group_id=lottery_round.facility_group_id).values_list("pk", flat=True))
    return ids <= set(scope.facility_ids or ())


@dataclass(frozen=True)
class RoundFigures:
    entries: int
    applicants: int
    withdrawn: int


def round_figures(lottery_round: LotteryRound) -> RoundFigures:
    entries = LotteryEntry.objects.filter(round=lottery_round)
    active = entries.filter(status=EntryStatus.ACTIVE)
    return RoundFigures(
        entries=active.count(),
        applicants=active.values("applicant").distinct().count(),
        withdrawn=entries.filter(status=EntryStatus.WITHDRAWN).count(),
    )


# --- closures and blocks ------------------------------------------------------------------------


def upcoming_closures(facility: Facility, today: dt.date) -> list[Closure]:
    return list(Closure.objects.filter(facility=facility, date__gte=today).select_related("room").order_by("date"))


def upcoming_blocks(facility: Facility, today: dt.date) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(
            room__facility=facility, kind=ReservationKind.BLOCK, state=ReservationState.CONFIRMED, date__gte=today
        )
        .select_related("room", "band_from", "band_to", "booked_by")
        .order_by("date", "band_from__order")
    )


# --- second-person approvals --------------------------------------------------------------------


def pending_refunds(scope: StaffScope) -> list[Refund]:
    return list(
        Refund.objects.filter(scope.facility_q("payment__facility"), state=RefundState.REQUESTED)
        .select_related("payment__reservation__room__facility", "requested_by")
        .order_by("requested_at")
    )


def refund_for_staff(scope: StaffScope, refund_id: int) -> Refund | None:
    return Refund.objects.filter(scope.facility_q("payment__facility"), pk=refund_id).first()


def _colleagues(scope: StaffScope) -> QuerySet[StaffProfile]:
    """Staff profiles sharing at least one facility with `scope` (who may have asked at its counters)."""
    facility_ids = list(scope.facility_ids or ())
    return StaffProfile.objects.filter(
        Q(facilities__in=facility_ids) | Q(departments__facility__in=facility_ids)
    ).distinct()


def pending_exemptions(scope: StaffScope) -> list[Exemption]:
    """Exemptions awaiting a decision that this staff member may decide: every one for ward-wide
    roles; otherwise those of residents (or groups whose representative is) within scope, and
    those asked for by colleagues at one of the same facilities."""
    found = Exemption.objects.filter(state=ExemptionState.REQUESTED).select_related(
        "resident__user", "group__representative", "requested_by"
    )
    if not scope.ward_wide:
        residents = scope.residents()
        found = found.filter(
            Q(resident__in=residents)
            | Q(group__representative__in=residents)
            | Q(requested_by__staff_profile__in=_colleagues(scope))
        ).distinct()
    return list(found.order_by("requested_at"))


def exemption_for_staff(scope: StaffScope, exemption_id: int) -> Exemption | None:
    return next((e for e in pending_exemptions(scope) if e.pk == exemption_id), None)


def resident_exemptions(resident: Resident) -> list[Exemption]:
    groups = Group.objects.filter(representative=resident)
    return list(
        Exemption.objects.filter(Q(resident=resident) | Q(group__in=groups))
        .select_related("group", "requested_by", "approved_by")
        .order_by("-requested_at")
    )


def requester_scope(exemption: Exemption) -> StaffScope | None:
    return staff_scope(exemption.requested_by)
