"""Reads of the kiosks app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Sum
from django.urls import reverse

from lottery import selectors as lottery_selectors
from lottery.models import LotteryEntry, LotteryRoom, LotteryRound, RoundState
from reservations import domain as booking_domain
from reservations.domain import Cell
from reservations.models import ACTIVE_STATES, Facility, Reservation, Resident, ResidentStatus
from reservations.selectors import Availability
from reservations.staff import StaffScope

from .models import Kiosk, KioskAccess
from .services import key_hash


def kiosk_for_key(device_key: str) -> Kiosk | None:
    """The active (activated, not revoked) kiosk holding this device key, or None."""
    if not device_key:
        return None
    return (
        Kiosk.objects.select_related("facility__group")
        .filter(key_hash=key_hash(device_key), revoked_at__isnull=True, activated_at__isnull=False)
        .first()
    )


def resident_by_card_and_pin(user_number: str, pin: str) -> Resident | None:
    """The active resident with this user number and kiosk PIN, or None (one answer for every
    failure, so the kiosk tells nobody whether a user number exists)."""
    resident = (
        Resident.objects.select_related("user")
        .filter(user__user_number=user_number, user__is_active=True, status=ResidentStatus.ACTIVE)
        .first()
    )
    if resident is None or not resident.kiosk_pin:
        make_password(pin)  # about the same work as a real check, so timing says nothing either
        return None
    return resident if check_password(pin, resident.kiosk_pin) else None


def active_resident(resident_id: int) -> Resident | None:
    return (
        Resident.objects.select_related("user")
        .filter(pk=resident_id, status=ResidentStatus.ACTIVE, user__is_active=True)
        .first()
    )


def access_count(*, kiosk: Kiosk, first: dt.date, last: dt.date) -> int:
    """The kiosk's accesses over the days from `first` to `last` (for the reports)."""
    total = KioskAccess.objects.filter(kiosk=kiosk, date__range=(first, last)).aggregate(n=Sum("count"))["n"]
    return int(total or 0)


def resident_search(scope: StaffScope, query: str, limit: int = 50) -> list[Resident]:
    """Residents for the staff terminal's search box.

    A whole user number (the resident's card, shown at the counter) finds that resident at any
    counter; a name finds only residents within the account's scope (registered at one of its
    counters, or booked at one of its facilities)."""
    if query.isdigit():
        return list(Resident.objects.select_related("user").filter(user__user_number=query)[:1])
    found = scope.residents().select_related("user").order_by("full_name")
    return list(found.filter(full_name__icontains=query)[:limit])


def facility_bookings_on(*, facility: Facility, date: dt.date) -> list[Reservation]:
    """The facility's active bookings of `date`, in time order (staff terminal's "today")."""
    return list(
        Reservation.objects.filter(room__facility=facility, date=date, state__in=ACTIVE_STATES)
        .select_related("room", "band_from", "band_to", "resident__user", "group")
        .order_by("band_from__order", "room__display_order", "room__code")
    )


def activation_path(code: str) -> str:
    """The tablet's activation page with the one-time code filled in (what the provisioning QR holds)."""
    return reverse("kiosks:activate") + "?" + urlencode({"code": code})


# --- availability of the kiosk's facility ---------------------------------------------------------


def facility_day(grid: Availability, day: dt.date) -> Cell:
    """The whole facility's summary of one day (the month view): 休 when every room is closed, ○ when
    every open room is wholly free, × when none has a free band, △ otherwise."""
    cells = [grid.day(room, day) for room in grid.rooms]
    if not cells:
        return Cell.UNAVAILABLE
    if all(c is Cell.CLOSED for c in cells):
        return Cell.CLOSED
    open_cells = [c for c in cells if c not in (Cell.CLOSED, Cell.UNAVAILABLE)]
    if not open_cells:
        return Cell.UNAVAILABLE
    if all(c is Cell.FREE for c in open_cells):
        return Cell.FREE
    if all(c is Cell.TAKEN for c in open_cells):
        return Cell.TAKEN
    return Cell.PARTLY


# --- the lottery at a kiosk -----------------------------------------------------------------------


def facility_lottery(facility: Facility, now: dt.datetime) -> list[tuple[LotteryRound, list[LotteryRoom]]]:
    """The rounds taking entries now for the facility's group, each with this facility's rooms in
    the lottery (rounds where it has none are left out)."""
    found = []
    for lottery_round in lottery_selectors.rounds_in_intake(now):
        if lottery_round.facility_group_id != facility.group_id:
            continue
        rooms = [lr for lr in lottery_selectors.round_rooms(lottery_round) if lr.room.facility_id == facility.pk]
        if rooms:
            found.append((lottery_round, rooms))
    return found


def facility_lottery_room(
    facility: Facility, round_id: int, room_id: int, now: dt.datetime
) -> tuple[LotteryRound, LotteryRoom] | None:
    """A round taking entries now and one of this facility's rooms in it, or None."""
    for lottery_round, rooms in facility_lottery(facility, now):
        if lottery_round.pk == round_id:
            lottery_room = next((lr for lr in rooms if lr.room_id == room_id), None)
            return (lottery_round, lottery_room) if lottery_room is not None else None
    return None


def lottery_round_for(facility: Facility, day: dt.date) -> LotteryRound | None:
    """The lottery round of the facility's group for the month of `day`, if there is one."""
    return (
        LotteryRound.objects.select_related("facility_group")
        .filter(facility_group_id=facility.group_id, use_month=booking_domain.month_start(day))
        .first()
    )


@dataclass
class RoundEntries:
    lottery_round: LotteryRound
    intake_open: bool
    entries: list[LotteryEntry] = field(default_factory=list)


def resident_lottery(resident: Resident, now: dt.datetime) -> list[RoundEntries]:
    """The resident's entries (and their groups') in rounds not finished yet, by round: preferences
    while intake is open, results and wins to confirm after the draw."""
    blocks: dict[int, RoundEntries] = {}
    for entry in lottery_selectors.resident_entries(resident).exclude(round__state=RoundState.FINISHED):
        block = blocks.get(entry.round_id)
        if block is None:
            block = blocks[entry.round_id] = RoundEntries(entry.round, entry.round.intake_is_open(now))
        block.entries.append(entry)
    return list(blocks.values())
