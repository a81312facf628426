"""Kiosk tablet pages (利用者端末) and the resident's own "set my kiosk PIN" page.

Thin: parse, call one selector or service (this app's or reservations'), render. Every tablet page
is behind `kiosk_required` (device key) and, where it acts for someone, `resident_required`.
Nothing here uses Django's messages or auth login: what a resident sees lives in their kiosk
session only, which ends completely at logout or after 90 idle seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reservations import selectors as booking_selectors
from reservations import services as booking_services
from reservations.domain import TOKYO, Cell
from reservations.errors import MESSAGES, BookingError
from reservations.models import Channel, Resident, Room, TimeBand, User

from . import auth, selectors, services, throttle
from .auth import KioskRequest, kiosk_required, resident_required
from .forms import ActivationForm, CheckInForm, KioskLoginForm, PinForm

DAYS_AHEAD = 92  # how far the availability pages go
BAD_LOGIN = _("利用者番号または暗証番号が違います。暗証番号は登録情報のページまたは窓口で設定できます。")
WAIT = _("入力の誤りが続いたため、しばらくお待ちください（あと%(seconds)s秒）。")
ACTIVATION_REFUSED = _("このコードは使えません。コードが正しいか、有効期限内か、職員にご確認ください。")


def _now() -> dt.datetime:
    return timezone.now()


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(TOKYO).date()


def _k(request: HttpRequest) -> KioskRequest:
    return cast(KioskRequest, request)


def _resident(request: HttpRequest) -> Resident:
    resident = _k(request).kiosk_resident
    assert resident is not None  # behind resident_required
    return resident


# --- device ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    """The tablet's first page: exchange the one-time code for the device key (a signed cookie)."""
    form = ActivationForm(request.POST or None)
    client, now = request.META.get("REMOTE_ADDR", ""), _now()
    if request.method == "POST" and throttle.activation_blocked(client=client, now=now):
        form = ActivationForm()
        return render(request, "kiosks/activate.html", {"form": form, "blocked": True}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            _kiosk, device_key = services.kiosk_activate(code=form.cleaned_data["code"], now=now)
        except services.ActivationRefused:
            throttle.record_activation_failure(client=client, now=now)
            form.add_error("code", ACTIVATION_REFUSED)
        else:
            response = redirect("kiosks:home")
            auth.set_device_cookie(request, response, device_key)
            request.session.flush()
            return response
    status = 400 if form.errors else 200
    return render(request, "kiosks/activate.html", {"form": form}, status=status)


# --- session --------------------------------------------------------------------------------


@require_GET
@kiosk_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "kiosks/home.html", {"timed_out": request.GET.get("timeout") == "1"})


@require_http_methods(["GET", "POST"])
@kiosk_required
def login(request: HttpRequest) -> HttpResponse:
    """User number and PIN on the on-screen keypad, throttled per (card, kiosk) and per kiosk."""
    kiosk = _k(request).kiosk
    if _k(request).kiosk_resident is not None:
        return redirect("kiosks:home")
    form = KioskLoginForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        now = _now()
        card, pin = form.cleaned_data["user_number"], form.cleaned_data["pin"]
        wait = throttle.wait_seconds(kiosk_id=kiosk.pk, user_number=card, now=now)
        if wait:
            error = WAIT % {"seconds": wait}
            return render(request, "kiosks/login.html", {"form": KioskLoginForm(), "error": error}, status=429)
        resident = selectors.resident_by_card_and_pin(card, pin)
        if resident is None:
            throttle.record_failure(kiosk_id=kiosk.pk, user_number=card, now=now)
            return render(request, "kiosks/login.html", {"form": KioskLoginForm(), "error": BAD_LOGIN}, status=403)
        throttle.record_success(kiosk_id=kiosk.pk, user_number=card)
        auth.start_resident_session(request, kiosk, resident, now)
        return redirect("kiosks:home")
    return render(request, "kiosks/login.html", {"form": form, "error": error}, status=400 if form.errors else 200)


@require_POST
@kiosk_required
def logout(request: HttpRequest) -> HttpResponse:
    return auth.end_session(request, redirect("kiosks:home"))


# --- availability and booking ---------------------------------------------------------------


@dataclass(frozen=True)
class SlotCell:
    band: TimeBand
    cell: Cell
    bookable: bool


@require_GET
@kiosk_required
def availability(request: HttpRequest) -> HttpResponse:
    """One day of this facility (rooms × bands), with the week's days as big tabs."""
    kiosk = _k(request).kiosk
    now = _now()
    today = _today(now)
    try:
        day = dt.date.fromisoformat(request.GET.get("day") or today.isoformat())
    except ValueError:
        day = today
    day = min(max(day, today), today + dt.timedelta(days=DAYS_AHEAD))
    week_start = day - dt.timedelta(days=(day - today).days % 7)
    week = [week_start + dt.timedelta(days=i) for i in range(7)]
    grid = booking_selectors.availability(facility=kiosk.facility, days=week, now=now)
    week_rows = [(room, [(d, grid.day(room, d)) for d in week]) for room in grid.rooms]
    rows = [
        (room, [SlotCell(band, grid.slot(room, day, band), grid.bookable(room, day, band)) for band in grid.bands])
        for room in grid.rooms
    ]
    previous_week = week_start - dt.timedelta(days=7) if week_start > today else None
    next_week = week_start + dt.timedelta(days=7)
    if next_week > today + dt.timedelta(days=DAYS_AHEAD):
        next_week = None
    context = {
        "day": day,
        "today": today,
        "week": week,
        "bands": grid.bands,
        "rows": rows,
        "week_rows": week_rows,
        "previous_week": previous_week,
        "next_week": next_week,
        "logged_in": _k(request).kiosk_resident is not None,
    }
    return render(request, "kiosks/availability.html", context)


def _slot(request: HttpRequest, room_id: int, band_id: int) -> tuple[Room, TimeBand] | None:
    found = booking_selectors.room_with_bands(room_id)
    if found is None or found[0].facility_id != _k(request).kiosk.facility_id:
        return None  # a kiosk books only its own facility
    room, bands = found
    band = next((b for b in bands if b.pk == band_id), None)
    return (room, band) if band is not None else None


@require_http_methods(["GET", "POST"])
@kiosk_required
@resident_required
def book(request: HttpRequest, room_id: int, day: dt.date, band_id: int) -> HttpResponse:
    """GET: confirm the slot; POST: book it first-come with channel kiosk."""
    slot = _slot(request, room_id, band_id)
    if slot is None:
        return render(request, "kiosks/error.html", {"message": MESSAGES["unknown_room"]}, status=404)
    room, band = slot
    context = {"room": room, "band": band, "day": day}
    if request.method == "POST":
        resident = _resident(request)
        try:
            reservation = booking_services.reservation_create(
                resident=resident,
                room_id=room.pk,
                date=day,
                band_ids=[band.pk],
                channel=Channel.KIOSK,
                booked_by=resident.user,
                now=_now(),
            )
        except BookingError as error:
            return render(request, "kiosks/book.html", {**context, "error": error.message}, status=error.status)
        return redirect("kiosks:booking_done", reservation_id=reservation.pk)
    return render(request, "kiosks/book.html", context)


@require_GET
@kiosk_required
@resident_required
def booking_done(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = booking_selectors.reservation_for_resident(_resident(request), reservation_id)
    if reservation is None:
        return render(request, "kiosks/error.html", {"message": MESSAGES["unknown_reservation"]}, status=404)
    # No card data on a shared tablet: the resident pays on their own phone or at the counter.
    pay_url = request.build_absolute_uri(reverse("payments:booking", args=[reservation.pk]))
    return render(request, "kiosks/booking_done.html", {"reservation": reservation, "pay_url": pay_url})


@require_GET
@kiosk_required
@resident_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    today = _today(_now())
    bookings = booking_selectors.resident_reservations(_resident(request), today=today)
    return render(request, "kiosks/my_bookings.html", {"bookings": bookings, "today": today})


@require_http_methods(["GET", "POST"])
@kiosk_required
@resident_required
def cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    resident = _resident(request)
    reservation = booking_selectors.reservation_for_resident(resident, reservation_id)
    if reservation is None:
        return render(request, "kiosks/error.html", {"message": MESSAGES["unknown_reservation"]}, status=404)
    if request.method == "POST":
        try:
            booking_services.reservation_cancel(
                reservation_id=reservation.pk,
                resident=resident,
                cancelled_by=resident.user,
                channel=Channel.KIOSK,
                now=_now(),
            )
        except BookingError as error:
            context = {"reservation": reservation, "error": error.message}
            return render(request, "kiosks/cancel.html", context, status=error.status)
        return redirect(reverse("kiosks:my_bookings") + "?cancelled=" + reservation.reference)
    return render(request, "kiosks/cancel.html", {"reservation": reservation})


@require_http_methods(["GET", "POST"])
@kiosk_required
def check_in(request: HttpRequest) -> HttpResponse:
    """Arrival for today's booking at this facility by its booking reference (no login needed;
    the page shows the room and time only, never whose booking it is)."""
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reservation = booking_services.reservation_check_in(
                reference=form.cleaned_data["reference"],
                facility_id=_k(request).kiosk.facility_id,
                channel=Channel.KIOSK,
                now=_now(),
            )
        except BookingError as error:
            return render(request, "kiosks/check_in.html", {"form": form, "error": error.message}, status=error.status)
        return render(request, "kiosks/check_in.html", {"form": CheckInForm(), "done": reservation})
    return render(request, "kiosks/check_in.html", {"form": form}, status=400 if form.errors else 200)


# --- the resident's PIN, on the public site ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def set_pin(request: HttpRequest) -> HttpResponse:
    """The resident sets their kiosk PIN (linked from the profile page)."""
    resident = Resident.objects.filter(user_id=cast(User, request.user).pk).first()
    if resident is None:
        return render(request, "accounts/no_resident.html", status=403)
    form = PinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        booking_services.resident_set_pin(resident_id=resident.pk, pin=form.cleaned_data["pin"])
        messages.success(request, gettext("利用者端末の暗証番号を設定しました。"))
        return redirect("accounts:profile")
    return render(request, "kiosks/set_pin.html", {"form": form}, status=400 if form.errors else 200)
