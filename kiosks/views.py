"""Kiosk tablet pages (利用者端末) and the resident's own "set my kiosk PIN" page.

Thin: parse, call one selector or service (this app's or reservations'), render. Every tablet page
is behind `kiosk_required` (device key) and, where it acts for someone, `resident_required`.
Nothing here uses Django's messages or auth login: what a resident sees lives in their kiosk
session only, which ends completely at logout or after 90 idle seconds.
"""

from __future__ import annotations

import calendar
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

from reservations import domain as booking_domain
from reservations import selectors as booking_selectors
from reservations import services as booking_services
from reservations.domain import TOKYO, Cell
from reservations.errors import MESSAGES, BookingError
from reservations.models import Channel, Resident, Room, TimeBand, User
from reservations.ratelimits import client_ip

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
    """The tablet's first page: exchange the one-time code for the device key (a signed cookie).
    The provisioning QR opens it with ?code= filled in; activating still takes a tap (a POST)."""
    form = ActivationForm(request.POST or None, initial={"code": request.GET.get("code", "")[:20]})
    client, now = client_ip(request), _now()  # the tablet's address, also behind a load balancer
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
    """Log out (or, for nobody logged in, just start over): the session and the language are reset."""
    return auth.end_session(request, redirect("kiosks:home"))


@require_POST
@auth.kiosk_keepalive
def keepalive(request: HttpRequest) -> HttpResponse:
    """The idle script's "still here" (a touch, or "続ける" on the warning): the session's idle time
    restarts, as on any kiosk request. An expired session gets the redirect to the start page."""
    return HttpResponse(status=204)


# --- availability and booking ---------------------------------------------------------------


@dataclass(frozen=True)
class SlotCell:
    band: TimeBand
    cell: Cell
    bookable: bool


@dataclass(frozen=True)
class MonthCell:
    day: dt.date | None  # None: a day of the neighbouring month, left blank
    cell: Cell | None = None  # None: beyond what the kiosk shows
    linked: bool = False  # today up to the horizon: opens that day's slots
    holiday: str = ""


def _parse_day(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _horizon(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=DAYS_AHEAD)


def _render_availability(request: HttpRequest, context: dict[str, object]) -> HttpResponse:
    """The whole page, or with ?fragment=1 only the grid's element (#kiosk-availability), so a
    script can reload the grid in place when slots change."""
    query = request.GET.copy()
    query["fragment"] = "1"
    context = {
        **context,
        "facility": _k(request).kiosk.facility,
        "logged_in": _k(request).kiosk_resident is not None,
        "fragment_url": f"{request.path}?{query.urlencode()}",
    }
    fragment = request.GET.get("fragment") == "1"
    return render(request, "kiosks/_availability_grid.html" if fragment else "kiosks/availability.html", context)


@require_GET
@kiosk_required
def availability(request: HttpRequest) -> HttpResponse:
    """One day of this facility (rooms × bands; today unless ?day=), the days of its week as big
    tabs, and a free slot opens the booking page for a logged-in resident."""
    kiosk = _k(request).kiosk
    now = _now()
    today = _today(now)
    last = _horizon(today)
    day = min(max(_parse_day(request.GET.get("day"), today), today), last)
    week_start = day - dt.timedelta(days=(day - today).days % 7)
    week = [d for d in (week_start + dt.timedelta(days=i) for i in range(7)) if d <= last]
    grid = booking_selectors.availability(facility=kiosk.facility, days=[day], now=now)
    rows = [
        (room, [SlotCell(band, grid.slot(room, day, band), grid.bookable(room, day, band)) for band in grid.bands])
        for room in grid.rooms
    ]
    context = {
        "view": "day",
        "day": day,
        "today": today,
        "week": week,
        "bands": grid.bands,
        "rows": rows,
        "previous_week": max(today, week_start - dt.timedelta(days=7)) if week_start > today else None,
        "next_week": week_start + dt.timedelta(days=7) if week_start + dt.timedelta(days=7) <= last else None,
        "previous_day": day - dt.timedelta(days=1) if day > today else None,
        "next_day": day + dt.timedelta(days=1) if day < last else None,
        "holiday": booking_domain.national_holidays(day.year).get(day, ""),
        "lottery_open": bool(selectors.facility_lottery(kiosk.facility, now)),
    }
    return _render_availability(request, context)


@require_GET
@kiosk_required
def availability_week(request: HttpRequest) -> HttpResponse:
    """Seven days from ?start= (today by default): each room's ○△×休 summary per day, each day a
    button to its slots."""
    kiosk = _k(request).kiosk
    now = _now()
    today = _today(now)
    last = _horizon(today)
    start = min(max(_parse_day(request.GET.get("start"), today), today), last)
    days = [d for d in (start + dt.timedelta(days=i) for i in range(7)) if d <= last]
    grid = booking_selectors.availability(facility=kiosk.facility, days=days, now=now)
    context = {
        "view": "week",
        "day": start,
        "today": today,
        "days": days,
        "week_rows": [(room, [(d, grid.day(room, d)) for d in days]) for room in grid.rooms],
        "previous_week": max(today, start - dt.timedelta(days=7)) if start > today else None,
        "next_week": start + dt.timedelta(days=7) if start + dt.timedelta(days=7) <= last else None,
    }
    return _render_availability(request, context)


@require_GET
@kiosk_required
def availability_month(request: HttpRequest) -> HttpResponse:
    """A month's calendar (?month=YYYY-MM, this month by default) with the facility's summary per
    day, or one room's with ?room=; each day from today up to the horizon opens its slots."""
    kiosk = _k(request).kiosk
    now = _now()
    today = _today(now)
    last = _horizon(today)
    first_month, last_month = booking_domain.month_start(today), booking_domain.month_start(last)
    month = _parse_day((request.GET.get("month") or "") + "-01", first_month)
    month = min(max(booking_domain.month_start(month), first_month), last_month)
    rooms = booking_selectors.facility_rooms(kiosk.facility)
    room = next((r for r in rooms if str(r.pk) == request.GET.get("room")), None)
    shown = [d for d in booking_domain.month_days(month) if today <= d <= last]
    grid = booking_selectors.availability(facility=kiosk.facility, days=shown, now=now, only_room=room)
    holidays = booking_domain.national_holidays(month.year)

    def month_cell(d: dt.date) -> MonthCell:
        if d.month != month.month:
            return MonthCell(None)
        if d not in shown:
            return MonthCell(d, Cell.UNAVAILABLE, holiday=holidays.get(d, ""))
        cell = grid.day(room, d) if room is not None else selectors.facility_day(grid, d)
        return MonthCell(d, cell, linked=True, holiday=holidays.get(d, ""))

    calendar_weeks = calendar.Calendar(firstweekday=6).monthdatescalendar(month.year, month.month)  # from Sunday
    weeks = [[month_cell(d) for d in week] for week in calendar_weeks]
    context = {
        "view": "month",
        "day": max(month, today),
        "today": today,
        "month": month,
        "weeks": weeks,
        "weekdays": calendar_weeks[0],
        "rooms": rooms,
        "room": room,
        "previous_month": booking_domain.add_months(month, -1) if month > first_month else None,
        "next_month": booking_domain.add_months(month, 1) if month < last_month else None,
    }
    return _render_availability(request, context)


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
        return redirect(reverse("kiosks:booking_done", args=[reservation.pk]) + "?from=book")
    return render(request, "kiosks/book.html", context)


@require_GET
@kiosk_required
@resident_required
def booking_done(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """One booking of the resident: its reference as text and as a QR code (for check-in), and, while
    it awaits payment, a QR code of the payment page to open on one's own phone. ?from=book after
    booking, ?from=lottery after confirming a win."""
    reservation = booking_selectors.reservation_for_resident(_resident(request), reservation_id)
    if reservation is None:
        return render(request, "kiosks/error.html", {"message": MESSAGES["unknown_reservation"]}, status=404)
    # No card data on a shared tablet: the resident pays on their own phone or at the counter.
    pay_url = request.build_absolute_uri(reverse("payments:booking", args=[reservation.pk]))
    context = {"reservation": reservation, "pay_url": pay_url, "came_from": request.GET.get("from", "")}
    return render(request, "kiosks/booking_done.html", context)


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
