"""The lottery (抽選) at a kiosk: the rounds taking entries for this facility, entries per slot of
one of its rooms, applying (channel 利用者端末), and the resident's entries and results, with
confirming a win (当選確定) and withdrawing an entry while intake is open.

Thin, like views.py: lottery's selectors and services do the work; the tablet's device key and
the resident's kiosk session gate every page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lottery import selectors as lottery_selectors
from lottery import services as lottery_services
from lottery.errors import MESSAGES as LOTTERY_MESSAGES
from reservations.errors import MESSAGES, BookingError
from reservations.forms import resident_groups
from reservations.models import Channel, TimeBand

from . import selectors
from .auth import kiosk_required, resident_required
from .views import _k, _now, _resident


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    cells: list[lottery_selectors.RoomGridCell]


def _error(request: HttpRequest, message: object, status: int) -> HttpResponse:
    return render(request, "kiosks/error.html", {"message": message}, status=status)


@require_GET
@kiosk_required
def lottery_index(request: HttpRequest) -> HttpResponse:
    """The rounds taking entries now for this facility, with its rooms in the lottery."""
    kiosk = _k(request).kiosk
    context = {"rounds": selectors.facility_lottery(kiosk.facility, _now())}
    return render(request, "kiosks/lottery_index.html", context)


@require_GET
@kiosk_required
def lottery_room(request: HttpRequest, round_id: int, room_id: int) -> HttpResponse:
    """Entries so far per day and band of one room (days down the page), each slot a button to apply."""
    found = selectors.facility_lottery_room(_k(request).kiosk.facility, round_id, room_id, _now())
    if found is None:
        return _error(request, LOTTERY_MESSAGES["not_in_lottery"], 404)
    lottery_round, lottery_room = found
    grid = lottery_selectors.room_grid(lottery_round, lottery_room)
    by_day = [DayRow(day, [cells[i] for _band, cells in grid.rows]) for i, day in enumerate(grid.days)]
    context = {
        "round": lottery_round,
        "room": lottery_room.room,
        "lottery_room": lottery_room,
        "bands": [band for band, _cells in grid.rows],
        "days": by_day,
        "logged_in": _k(request).kiosk_resident is not None,
    }
    return render(request, "kiosks/lottery_room.html", context)


@require_http_methods(["GET", "POST"])
@kiosk_required
@resident_required
def lottery_apply(request: HttpRequest, room_id: int, day: dt.date, band_id: int) -> HttpResponse:
    """GET: the slot, the round's dates and the name to apply in (oneself or a group); POST: apply."""
    facility = _k(request).kiosk.facility
    found = lottery_selectors.slot_room(room_id)
    if found is None or found[0].facility_id != facility.pk:
        return _error(request, MESSAGES["unknown_room"], 404)  # a kiosk takes entries for its own facility
    room, bands, lottery_room = found
    band: TimeBand | None = next((b for b in bands if b.pk == band_id), None)
    if lottery_room is None or band is None:
        return _error(request, LOTTERY_MESSAGES["not_in_lottery"], 404)
    resident = _resident(request)
    groups = resident_groups(resident)
    context = {
        "room": room,
        "day": day,
        "band": band,
        "groups": groups,
        "round": selectors.lottery_round_for(facility, day),
    }
    if request.method == "GET":
        return render(request, "kiosks/lottery_apply.html", context)
    group_id = request.POST.get("group") or ""
    group = next((g for g in groups if str(g.pk) == group_id), None)
    if group_id and group is None:
        context["error"] = MESSAGES["not_group_member"]
        return render(request, "kiosks/lottery_apply.html", context, status=403)
    try:
        entry = lottery_services.entry_apply(
            resident=resident,
            group=group,
            room_id=room.pk,
            date=day,
            band_ids=[band.pk],
            channel=Channel.KIOSK,
            created_by=resident.user,
            now=_now(),
        )
    except BookingError as error:
        context["error"] = error.message
        return render(request, "kiosks/lottery_apply.html", context, status=error.status)
    return redirect(reverse("kiosks:lottery_my") + f"?applied={entry.pk}")


@require_GET
@kiosk_required
@resident_required
def lottery_my(request: HttpRequest) -> HttpResponse:
    """The resident's entries and results in rounds not finished yet."""
    blocks = selectors.resident_lottery(_resident(request), _now())
    applied = None
    if (request.GET.get("applied") or "").isdigit():
        wanted = int(request.GET["applied"])  # only ever one of this resident's own entries
        applied = next((e for b in blocks for e in b.entries if e.pk == wanted), None)
    return render(request, "kiosks/lottery_my.html", {"blocks": blocks, "applied": applied})


@require_POST
@kiosk_required
@resident_required
def lottery_confirm(request: HttpRequest, outcome_id: int) -> HttpResponse:
    """Confirm a win: it becomes a provisional booking; the booking page then shows how to pay."""
    try:
        outcome = lottery_services.win_confirm(outcome_id=outcome_id, resident=_resident(request), now=_now())
    except BookingError as error:
        return _error(request, error.message, error.status)
    assert outcome.reservation_id is not None  # a confirmed win is a booking
    return redirect(reverse("kiosks:booking_done", args=[outcome.reservation_id]) + "?from=lottery")


@require_POST
@kiosk_required
@resident_required
def lottery_withdraw(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Withdraw an entry while intake is open."""
    try:
        lottery_services.entry_withdraw(
            entry_id=entry_id, resident=_resident(request), channel=Channel.KIOSK, now=_now()
        )
    except BookingError as error:
        return _error(request, error.message, error.status)
    return redirect(reverse("kiosks:lottery_my") + "?withdrawn=1")
