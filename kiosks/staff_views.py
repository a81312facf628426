"""Staff counter terminal under /staff/ (namespace "staff"): find a resident, today's bookings of
a facility with check-in and no-show. Every view is gated by `staff_required` (role and scope)."""

from __future__ import annotations

import unicodedata

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from reservations import services as booking_services
from reservations.domain import TOKYO
from reservations.errors import BookingError
from reservations.models import Channel

from . import selectors
from .counter_forms import CounterFacilityForm
from .counter_session import counter_facility, remember_card, render_staff
from .staff_auth import staff_facility_or_404, staff_required


@require_GET
@staff_required()
def index(request: HttpRequest) -> HttpResponse:
    """The search box. A whole user number (the card shown at the counter) opens that resident's
    page at once; a name lists the residents within scope."""
    query = unicodedata.normalize("NFKC", request.GET.get("q", "")).strip()
    residents = selectors.resident_search(request.staff, query) if query else []
    if query.isdigit() and len(residents) == 1:
        remember_card(request, residents[0])
        return redirect("staff:resident", resident_id=residents[0].pk)
    facilities = request.staff.facilities().filter(is_active=True).order_by("kind", "code")
    counter_form = None
    if facilities.count() > 1:
        current = counter_facility(request)
        counter_form = CounterFacilityForm(facilities=facilities, initial={"facility": current.pk if current else None})
    context = {"query": query, "residents": residents, "facilities": facilities, "counter_form": counter_form}
    return render_staff(request, "kiosks/staff/index.html", context)


@require_GET
@staff_required()
def today(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = staff_facility_or_404(request.staff, facility_id)
    day = timezone.now().astimezone(TOKYO).date()
    bookings = selectors.facility_bookings_on(facility=facility, date=day)
    context = {"facility": facility, "day": day, "bookings": bookings}
    return render_staff(request, "kiosks/staff/today.html", context)


@require_POST
@staff_required(write=True)
def check_in(request: HttpRequest, facility_id: int) -> HttpResponse:
    staff_facility_or_404(request.staff, facility_id)
    try:
        booking_services.reservation_check_in(
            reference=request.POST.get("reference", ""),
            facility_id=facility_id,
            channel=Channel.COUNTER,
            now=timezone.now(),
        )
    except BookingError as error:
        return render_staff(
            request,
            "kiosks/staff/refused.html",
            {"message": error.message, "facility_id": facility_id},
            status=error.status,
        )
    return redirect("staff:today", facility_id=facility_id)


@require_POST
@staff_required(write=True)
def no_show(request: HttpRequest, facility_id: int, reservation_id: int) -> HttpResponse:
    staff_facility_or_404(request.staff, facility_id)
    booking_services.reservation_mark_no_show(
        reservation_id=reservation_id, facility_id=facility_id, now=timezone.now()
    )
    return redirect("staff:today", facility_id=facility_id)
