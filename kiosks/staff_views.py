"""Staff counter terminal basics under /staff/ (namespace "staff"): find a resident, today's
bookings of a facility with check-in and no-show. Staff only (login + is_staff).

Not yet here (see the README): roles and scoping of staff to facilities and departments, TOTP
two-factor login, and the rest of the counter work (booking on a resident's behalf and so on).
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from reservations import selectors as booking_selectors
from reservations import services as booking_services
from reservations.domain import TOKYO
from reservations.errors import BookingError
from reservations.models import Channel, Facility

from . import selectors

STAFF_LOGIN = "login"


@require_GET
@staff_member_required(login_url=STAFF_LOGIN)
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    residents = selectors.resident_search(query) if query else []
    context = {"query": query, "residents": residents, "facilities": booking_selectors.active_facilities()}
    return render(request, "kiosks/staff/index.html", context)


@require_GET
@staff_member_required(login_url=STAFF_LOGIN)
def today(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = get_object_or_404(Facility, pk=facility_id)
    day = timezone.now().astimezone(TOKYO).date()
    bookings = selectors.facility_bookings_on(facility=facility, date=day)
    context = {"facility": facility, "day": day, "bookings": bookings}
    return render(request, "kiosks/staff/today.html", context)


@require_POST
@staff_member_required(login_url=STAFF_LOGIN)
def check_in(request: HttpRequest, facility_id: int) -> HttpResponse:
    try:
        booking_services.reservation_check_in(
            reference=request.POST.get("reference", ""),
            facility_id=facility_id,
            channel=Channel.COUNTER,
            now=timezone.now(),
        )
    except BookingError as error:
        return render(
            request,
            "kiosks/staff/refused.html",
            {"message": error.message, "facility_id": facility_id},
            status=error.status,
        )
    return redirect("staff:today", facility_id=facility_id)


@require_POST
@staff_member_required(login_url=STAFF_LOGIN)
def no_show(request: HttpRequest, facility_id: int, reservation_id: int) -> HttpResponse:
    booking_services.reservation_mark_no_show(reservation_id=reservation_id, now=timezone.now())
    return redirect("staff:today", facility_id=facility_id)
