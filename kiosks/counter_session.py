"""What a staff terminal remembers between pages, in the staff member's own session.

- The counter (窓口) they work at: one of the facilities in their scope. Registration records it,
  the menu's "today", closures and cash-up open it, booking starts there.
- The residents who presented their card (利用者カード) at this counter: a resident found by their
  whole user number may be served here even when not registered at, nor booked at, one of the
  staff member's facilities. Residents found by name are only those in scope already.

Every resident page checks one or the other (`resident_or_404`), so a resident id typed into the
address bar shows nothing of someone outside the scope.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from reservations.models import Facility, Resident
from reservations.staff import StaffScope

from . import counter_selectors

COUNTER_KEY = "staff.counter_facility"
CARDS_KEY = "staff.presented_cards"
CARDS_KEPT = 50  # a busy day's cards; older ones need the card again


def scope(request: HttpRequest) -> StaffScope:
    return request.staff  # type: ignore[attr-defined]


def counter_facility(request: HttpRequest) -> Facility | None:
    """The counter this staff member works at now: the one chosen, or the first of their scope."""
    staff = scope(request)
    chosen = request.session.get(COUNTER_KEY)
    facilities = staff.facilities().filter(is_active=True).order_by("kind", "code")
    if isinstance(chosen, int) and staff.sees_facility(chosen):
        found = facilities.filter(pk=chosen).first()
        if found is not None:
            return found
    return facilities.first()


def set_counter_facility(request: HttpRequest, facility: Facility) -> None:
    request.session[COUNTER_KEY] = facility.pk


def remember_card(request: HttpRequest, resident: Resident) -> None:
    """The resident showed their card here: this session may serve them."""
    cards = [pk for pk in request.session.get(CARDS_KEY, []) if pk != resident.pk]
    request.session[CARDS_KEY] = [resident.pk, *cards][:CARDS_KEPT]


def may_serve(request: HttpRequest, resident_id: int) -> bool:
    return resident_id in request.session.get(CARDS_KEY, []) or scope(request).sees_resident(resident_id)


def resident_or_404(request: HttpRequest, resident_id: int) -> Resident:
    """The resident, if this staff member may serve them (in scope, or their card shown here)."""
    resident = counter_selectors.resident_get(resident_id)
    if resident is None or not may_serve(request, resident_id):
        raise Http404
    return resident


def render_staff(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a staff terminal page with the menu's context (the counter, the role)."""
    base = {"counter_facility": counter_facility(request), "staff": scope(request)}
    return render(request, template, {**base, **context}, status=status)
