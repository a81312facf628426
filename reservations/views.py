"""The public booking pages: facility search, availability grids, booking, my bookings.

Thin: each view parses its input, calls selectors or one service, and renders. Query counts of the
grids are constant in rooms and days (the selectors build them from a fixed handful of queries);
the grid rows are assembled here in Python, only for presentation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import urlencode
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from . import availability_cache, domain, page_memo, selectors, services
from .abandoned import client_gone, dropped
from .domain import Cell
from .errors import MESSAGES, BookingError
from .forms import (
    FIRST_YEAR,
    LAST_YEAR,
    BookingForm,
    FacilitySearchForm,
    RoomFilterForm,
    is_supported_date,
    parse_band_ids,
    resident_groups,
)
from .models import (
    Channel,
    Facility,
    Group,
    Reservation,
    Resident,
    ResidentStatus,
    Room,
    RoomEquipment,
    TimeBand,
    User,
    booking_rules,
)
from .selectors import Availability
from .templatetags.reservation_tags import band_choices

BAD_MONTH = _("年月の指定が正しくありません。月は1から12、年は%(first)sから%(last)sの範囲で指定してください。")
BAD_FILTER = _("検索条件が正しくありません。入力内容をご確認ください。")
NO_RESIDENT = _(
    "このアカウントには利用者登録がないため、インターネットでの予約・取消はできません。"
    "職員の方は窓口の職員端末をご利用ください。"
)
SLOT_NOT_FREE = _("選択した時間帯には、すでに予約済みの枠が含まれています。別の時間帯をお選びください。")
PAST_PAGE_SIZE = 50
WEEK_LEGEND = [Cell.FREE, Cell.TAKEN, Cell.CLOSED, Cell.UNAVAILABLE]


def _now() -> dt.datetime:
    return timezone.now()


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(domain.TOKYO).date()


REFUSAL_HEADER = "X-Refusal"
# The facility version a cached availability page was rendered at (see _cached_page).
AVAILABILITY_VERSION_HEADER = "X-Availability-Version"
# Refusals about the state of the world, not the input: after a POST they get the short page (the
# crowd at 09:00 is mostly told "taken", and that answer must be cheap); input errors re-show the form.
STATE_REFUSALS = frozenset({"slot_taken", "quota", "group_quota", "not_yet_open", "closed_for_booking", "past"})


def _error(
    request: HttpRequest, message: str | Promise, status: int, *, code: str = "", **context: object
) -> HttpResponse:
    """A page that says in plain words what went wrong and where to go next. `code` goes into the
    X-Refusal header, so scripts (and the load tests) can tell refusals apart without the wording."""
    if code:  # a refusal about the state of things: the same page for everyone, without a session
        back_url = str(context.get("back_url") or "")
        page = _refusal_page(get_language(), str(message), back_url)
        # What `{{ path|urlencode }}` would have drawn (autoescaped) where the stand-in stands.
        html = page.replace(PATH_STAND_IN, escape(urlencode(request.get_full_path())))
        response = HttpResponse(html, status=status)
        response[REFUSAL_HEADER] = code
        return response
    return render(request, "reservations/error.html", {"message": message, **context}, status=status)


# Stands in for the request's path (the language links' `next`) in a remembered refusal page. Only
# [a-z0-9-], which neither urlencode nor HTML escaping changes, and nothing a page could contain.
PATH_STAND_IN = "path-stand-in-5d1e9b04"


@lru_cache(maxsize=4096)
def _refusal_page(language: str, message: str, back_url: str) -> str:
    """The refusal page, rendered once per process for each language, message and way back (a
    facility's week): at 09:00 most of the crowd is told, again and again, that the same few
    hundred slots are taken, and the slots of one week share their page but for its language links."""
    context = {"message": message, "back_url": back_url, "path": PATH_STAND_IN}
    return render_to_string("reservations/refused.html", context)


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views that call this are behind login_required)."""
    return cast(User, request.user)


def _resident(user: User) -> Resident | None:
    try:
        return user.resident
    except Resident.DoesNotExist:
        return None


# --- Search -----------------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Facility search (public). The chosen date is where the availability links start."""
    today = _today(_now())
    form = FacilitySearchForm(request.GET or None, initial={"date": today}, purposes=selectors.all_purposes())
    if form.is_bound and not form.is_valid():
        return render(request, "reservations/home.html", {"form": form, "facilities": [], "day": today}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    facilities = list(
        selectors.facility_search(
            kind=data.get("kind") or None,
            purpose=data.get("purpose") or None,
            min_capacity=data.get("min_capacity") or None,
        )
    )
    context = {
        "form": form,
        "facilities": facilities,
        "day": data.get("date") or today,
        "query": form.querystring(),
    }
    return render(request, "reservations/home.html", context)


# --- Availability grids -----------------------------------------------------------------------


@dataclass(frozen=True)
class DayColumn:
    day: dt.date
    holiday: str  # the national holiday's name, or ""

    @property
    def css(self) -> str:
        if self.holiday:
            return "hol"
        return {5: "sat", 6: "sun"}.get(self.day.weekday(), "")


@dataclass(frozen=True)
class GridCell:
    day: dt.date
    cell: Cell
    url: str | None = None


@dataclass(frozen=True)
class GridRow:
    room: Room
    cells: list[GridCell]
    band: TimeBand | None = None


def _day_columns(days: list[dt.date]) -> list[DayColumn]:
    names: dict[dt.date, str] = {}
    for year in sorted({d.year for d in days}):
        names.update(domain.national_holidays(year))
    return [DayColumn(day=d, holiday=names.get(d, "")) for d in days]


def _grid_request(request: HttpRequest, facility_id: int) -> tuple[Facility, RoomFilterForm | None] | HttpResponse:
    """The facility and the room filters shared by both grids (None without any: the form is
    then only built if the page has to be rendered), or the error page to show."""
    facility = selectors.facility_get(facility_id)
    if facility is None:
        return _error(request, MESSAGES["unknown_facility"], 404)
    if not request.GET:
        return facility, None
    form = RoomFilterForm(request.GET, purposes=selectors.all_purposes())
    if not form.is_valid():
        return _error(request, BAD_FILTER, 400, form=form)
    return facility, form


def _filter_form(form: RoomFilterForm | None) -> RoomFilterForm:
    return form if form is not None else RoomFilterForm(purposes=selectors.all_purposes())


def _window_state(opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> str:
    if now < opens_at:
        return "before"
    if now < closes_at:
        return "open"
    return "ended"


def _cached_page(
    request: HttpRequest, facility: Facility, kind: str, now: dt.datetime, render_page: Callable[[], str]
) -> HttpResponse:
    """An availability page, rendered once per facility version, language, URL and minute and then
    served to everyone from the cache: the 09:00 crowd costs one cache read each. It is rendered
    without the request (base_public.html), so nothing of whoever happened to render it (login,
    CSRF token, messages) can reach anyone else."""
    parts = f"{kind}:{get_language()}:{request.get_full_path()}"
    opens_second = facility.group.first_come_opens_time.second
    page = availability_cache.facility_page_versioned(facility.pk, parts, now, render_page, opens_second=opens_second)
    response = HttpResponse(page.html)
    if page.version is not None:
        # static/js/live.js compares it with the version a live update announced (kiosks/live.py).
        response[AVAILABILITY_VERSION_HEADER] = str(page.version)
        # In front of Django, config/page_replay.py answers the same question with this very
        # response while the rendering is still the one served.
        response.shared_page = page  # type: ignore[attr-defined]
    return response


def _month_context(
    request: HttpRequest, facility: Facility, bound: RoomFilterForm | None, first: dt.date, now: dt.datetime
) -> dict[str, object]:
    form = _filter_form(bound)
    days = domain.month_days(first)
    room_filter = form.room_filter()
    availability = selectors.availability(facility=facility, days=days, now=now, room_filter=room_filter)
    query = form.querystring()

    week_urls = {day: reverse("reservations:facility_week", args=[facility.pk, day]) + query for day in days}
    rows = []
    for room in availability.rooms:
        cells = []
        for day in days:
            cell = availability.day(room, day)
            url = week_urls[day] if cell in (Cell.FREE, Cell.PARTLY) else None
            cells.append(GridCell(day=day, cell=cell, url=url))
        rows.append(GridRow(room=room, cells=cells))

    filtered = bool(room_filter.purpose or room_filter.min_capacity)
    all_rooms = selectors.facility_rooms(facility) if filtered else availability.rooms
    opens_at = availability.window_opens_at(first)
    closes_at = domain.first_come_closes_at(days[-1], availability.rules)
    prev_month, next_month = domain.add_months(first, -1), domain.add_months(first, 1)
    return {
        "facility": facility,
        "form": form,
        "query": query,
        "month": first,
        "columns": _day_columns(days),
        "rows": rows,
        "bands": availability.bands,
        "legend": list(Cell),
        "all_rooms": all_rooms,
        "filtered": filtered,
        "opens_at": opens_at,
        "window_state": _window_state(opens_at, closes_at, now),
        "prev_month": prev_month if is_supported_date(prev_month) else None,
        "next_month": next_month if is_supported_date(next_month) else None,
        "week_start": _today(now) if first <= _today(now) <= days[-1] else first,
        "path": request.path,
    }


@require_GET
def facility_month(request: HttpRequest, facility_id: int, year: int, month: int) -> HttpResponse:
    """The ○△× grid of one month: a row per room, a column per day."""
    if not (1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR):
        return _error(request, BAD_MONTH % {"first": FIRST_YEAR, "last": LAST_YEAR}, 400)
    found = _grid_request(request, facility_id)
    if isinstance(found, HttpResponse):
        return found
    facility, form = found
    now = _now()
    first = dt.date(year, month, 1)

    def page() -> str:
        context = {**_month_context(request, facility, form, first, now), "facility": facility, "month": first}
        return render_to_string("reservations/facility_month.html", context)

    return _cached_page(request, facility, "month", now, page)


def _week_context(
    request: HttpRequest, facility: Facility, bound: RoomFilterForm | None, start: dt.date, now: dt.datetime
) -> dict[str, object]:
    form = _filter_form(bound)
    days = [start + dt.timedelta(days=i) for i in range(7)]
    room_filter = form.room_filter()
    availability = selectors.availability(facility=facility, days=days, now=now, room_filter=room_filter)

    rows = []
    for room in availability.rooms:
        book_urls = {day: reverse("reservations:book", args=[room.pk, day]) for day in days}
        for band in availability.bands:
            cells = []
            for day in days:
                url = None
                if availability.bookable(room, day, band):
                    url = f"{book_urls[day]}?bands={band.pk}"
                cells.append(GridCell(day=day, cell=availability.slot(room, day, band), url=url))
            rows.append(GridRow(room=room, band=band, cells=cells))

    prev_week, next_week = start - dt.timedelta(days=7), start + dt.timedelta(days=7)
    return {
        "facility": facility,
        "form": form,
        "query": form.querystring(),
        "start": start,
        "end": days[-1],
        "columns": _day_columns(days),
        "rows": rows,
        "has_rooms": bool(availability.rooms),
        "legend": WEEK_LEGEND,
        "filtered": bool(room_filter.purpose or room_filter.min_capacity),
        "opens_at": availability.window_opens_at(start),
        "prev_week": prev_week if is_supported_date(prev_week) else None,
        "next_week": next_week if is_supported_date(days[-1] + dt.timedelta(days=7)) else None,
        "path": request.path,
    }


@require_GET
def facility_week(request: HttpRequest, facility_id: int, start: dt.date) -> HttpResponse:
    """Seven days from `start`: a row per room and time band; free cells bookable now link to booking."""
    if not is_supported_date(start):
        return _error(request, MESSAGES["bad_date"], 400)
    found = _grid_request(request, facility_id)
    if isinstance(found, HttpResponse):
        return found
    facility, form = found
    now = _now()

    def page() -> str:
        context = {**_week_context(request, facility, form, start, now), "facility": facility, "start": start}
        return render_to_string("reservations/facility_week.html", context)

    return _cached_page(request, facility, "week", now, page)


@require_GET
def bad_date(request: HttpRequest, **kwargs: object) -> HttpResponse:
    """A path whose date is not a real date (2026-02-30, 2026-1-5, ...)."""
    return _error(request, MESSAGES["bad_date"], 400)


# --- Booking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandChoice:
    band: TimeBand
    cell: Cell
    bookable: bool
    fee: int | None
    chosen: bool


@dataclass
class BookingTarget:
    """Who books which room on which day (the parsed path of the booking page)."""

    resident: Resident
    room: Room
    bands: list[TimeBand]
    day: dt.date

    @cached_property
    def groups(self) -> list[Group]:
        return resident_groups(self.resident)

    @cached_property
    def equipment(self) -> list[RoomEquipment]:
        return list(self.room.equipment_items.all())

    def extras(self, data: QueryDict) -> tuple[bool, list[RoomEquipment]]:
        """The commercial flag and the room's equipment items named in `data` (others are ignored
        here; the form and the service refuse them)."""
        commercial = data.get("commercial", "").lower() in {"1", "on", "true"}
        wanted = set(data.getlist("equipment"))
        return commercial, [e for e in self.equipment if str(e.pk) in wanted]

    def form(
        self,
        data: QueryDict | None = None,
        chosen: list[TimeBand] | None = None,
        commercial: bool = False,
        equipment: list[RoomEquipment] | None = None,
        groups: list[Group] | None = None,
    ) -> BookingForm:
        """The booking form; `groups` in place of the resident's own (the page memo's stand-in)."""
        return BookingForm(
            data,
            initial={
                "bands": [b.pk for b in chosen or []],
                "commercial": commercial,
                "equipment": [e.pk for e in equipment or []],
            },
            bands=self.bands,
            purposes=list(self.room.purposes.all()),
            groups=self.groups if groups is None else groups,
            capacity=self.room.capacity,
            equipment=self.equipment,
        )


def _booking_page(
    request: HttpRequest,
    target: BookingTarget,
    form: BookingForm | None,
    chosen: list[TimeBand],
    *,
    commercial: bool = False,
    equipment: list[RoomEquipment] | None = None,
    error: str | None = None,
    refusal_code: str = "",
    status: int = 200,
    availability: Availability | None = None,
) -> HttpResponse:
    """The confirmation page: the slot, the fee before booking, and what stops it if anything does.
    `form`: the resident's answers, or None for a blank form (drawn only if the page is, see below).
    `availability`: the day's, if this request has already read it."""
    resident, room, bands, day = target.resident, target.room, target.bands, target.day
    if availability is None:
        availability = _day_availability(room, day, _now())
    now = availability.now
    rules = booking_rules(room.facility.group)
    tariffs = {t.time_band_id: t for t in room.tariffs.all()}
    holiday = domain.is_holiday(day)
    chosen_ids = {b.pk for b in chosen}

    choices = []
    for band in bands:
        tariff = tariffs.get(band.pk)
        choices.append(
            BandChoice(
                band=band,
                cell=availability.slots.get((room.pk, day, band.pk), Cell.UNAVAILABLE),
                bookable=(room.pk, day, band.pk) in availability.slots and availability.bookable(room, day, band),
                fee=(tariff.holiday_fee if holiday else tariff.weekday_fee) if tariff else None,
                chosen=band.pk in chosen_ids,
            )
        )
    fee = None
    if chosen:
        fee = domain.fee_for(
            band_fees=[(tariffs[b.pk].weekday_fee, tariffs[b.pk].holiday_fee) for b in chosen if b.pk in tariffs],
            use_date=day,
            outsider=resident.is_outsider,
            rules=rules,
            commercial=commercial,
            equipment_fees=[e.fee for e in equipment or []],
        )

    blocker: str | None = None
    code = ""
    if error is None and chosen:
        found = _blocker(resident, [c for c in choices if c.chosen], day, now, rules)
        if found is not None:
            code, status = found
            blocker = str(SLOT_NOT_FREE if code == "slot_taken" else MESSAGES[code])
    context = {
        "resident": resident,
        "room": room,
        "facility": room.facility,
        "day": day,
        "holiday": holiday,
        "form": form,
        "band_choices": band_choices(choices),
        "chosen": chosen,
        "fee": fee,
        "commercial": commercial,
        "equipment": equipment or [],
        "equipment_choices": [(e, e in (equipment or [])) for e in target.equipment],
        "rules": rules,
        "error": error,
        "blocker": blocker,
        "deadline": domain.payment_deadline(booked_at=now, use_date=day, rules=rules) if fee else None,
        "week_url": reverse("reservations:facility_week", args=[room.facility_id, day]),
    }
    if form is not None:  # the resident's own answers, and errors
        response = render(request, "reservations/book.html", context, status=status)
    else:
        # Drawn once for everyone it looks alike to (reservations/page_memo.py). The band choices
        # (which change with every booking of the day) and the resident's groups are each
        # request's own: the drawing holds stand-ins for them.
        groups = target.groups
        page = {
            **context,
            "band_choices": mark_safe(BAND_CHOICES_STAND_IN),  # noqa: S308 - a constant
            "form": SimpleLazyObject(
                lambda: target.form(
                    chosen=chosen, commercial=commercial, equipment=equipment, groups=[GROUP_STAND_IN] if groups else []
                )
            ),
        }
        response = page_memo.render_alike(
            request,
            "reservations/book.html",
            page,
            status=status,
            # Besides the URL (the slot, the bands, the commercial flag and the equipment asked
            # for) and the catalogue's version: what differs from one resident or moment to the next.
            inputs=(
                resident.is_outsider,
                resident.status,
                bool(groups),
                tuple((c.band.pk, c.cell, c.bookable, c.fee) for c in choices if c.chosen),
                fee,
                blocker,
                context["deadline"],
            ),
            finish=lambda html: _with_groups(html.replace(BAND_CHOICES_STAND_IN, context["band_choices"], 1), groups),
        )
    if refusal_code or blocker:
        response[REFUSAL_HEADER] = refusal_code or code
    return response


# Stand-ins in the booking page drawn for everyone alike: only [a-z0-9-] (nothing escaping changes),
# and nothing a page could contain.
BAND_CHOICES_STAND_IN = "band-choices-stand-in-3b7c10e2"
GROUP_STAND_IN = Group(pk=0, name="group-stand-in-9a4f62d1")


def _with_groups(html: str, groups: list[Group]) -> str:
    """The page with the resident's groups where the drawing has the stand-in group's option: each
    a copy of that option (and of the white space before it) with the group's value and name."""
    found = html.find(GROUP_STAND_IN.name)
    if found == -1:
        return html
    start = html.rindex("<option", 0, found)
    end = html.index("</option>", found) + len("</option>")
    previous_end = html.rindex("</option>", 0, start) + len("</option>")
    option = html[previous_end:end]
    stand_in_value = f'value="{GROUP_STAND_IN.pk}"'
    options = "".join(
        option.replace(stand_in_value, f'value="{g.pk}"', 1).replace(GROUP_STAND_IN.name, escape(g.name), 1)
        for g in groups
    )
    return html[:previous_end] + options + html[end:]


def _blocker(
    resident: Resident | None, chosen: list[BandChoice], day: dt.date, now: dt.datetime, rules: domain.BookingRules
) -> tuple[str, int] | None:
    """Why the chosen span cannot be booked right now, if the page can already tell: the refusal
    code and the status the service would answer (it decides for real on POST). Without a
    resident, only what holds for everyone (window, closure, taken)."""
    if resident is not None and resident.status != ResidentStatus.ACTIVE:
        return "not_active", 403
    refusal = domain.window_refusal(use_date=day, band_start=chosen[0].band.starts_at, now=now, rules=rules)
    if refusal is not None:
        return refusal.value, 400 if refusal is domain.Refusal.PAST else 409
    if any(c.cell is Cell.CLOSED for c in chosen):
        return domain.Refusal.FACILITY_CLOSED.value, 409
    if any(c.cell is Cell.TAKEN for c in chosen):
        return "slot_taken", 409
    return None


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, room_id: int, day: dt.date) -> HttpResponse:
    """GET: confirm a slot and see its fee. POST: book it first-come (随時予約)."""
    found = selectors.room_with_bands(room_id)
    if found is None:
        return _error(request, MESSAGES["unknown_room"], 404)
    room, bands = found
    if not is_supported_date(day):
        return _error(request, MESSAGES["bad_date"], 400)
    raw_bands = request.GET.getlist("bands") if request.method == "GET" else request.POST.getlist("bands")
    # Most of the 09:00 crowd asks for a slot that is already gone. That answer is the same for
    # whoever asks (availability is public), so it comes from the cached availability before the
    # session or the user is even loaded: one cache read (the service would refuse it all the same).
    # A free slot's booking page shows the same day's availability: read once for both.
    now = _now()
    early_chosen = _chosen_or_empty(raw_bands, bands)
    availability = _day_availability(room, day, now) if early_chosen else None
    refused = _state_refusal(None, room, day, early_chosen, now, availability)
    if refused is not None:
        return _state_refusal_page(request, refused, room, day)
    if not request.user.is_authenticated:  # anonymous, or a user who may no longer log in
        return redirect_to_login(request.get_full_path())
    resident = _resident(_user(request))
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    target = BookingTarget(resident=resident, room=room, bands=bands, day=day)

    if request.method == "GET":
        try:
            chosen = parse_band_ids(raw_bands, bands)
        except BookingError as error:
            return _error(request, error.message, error.status, back_url=_week_url(room, day))
        commercial, equipment = target.extras(request.GET)
        return _booking_page(
            request,
            target,
            None,
            chosen,
            commercial=commercial,
            equipment=equipment,
            availability=availability,
        )

    form = target.form(request.POST)
    commercial, equipment = target.extras(request.POST)
    if not form.is_valid():
        chosen = _chosen_or_empty(request.POST.getlist("bands"), bands)
        return _booking_page(request, target, form, chosen, commercial=commercial, equipment=equipment, status=400)
    data = form.cleaned_data
    by_id = {b.pk: b for b in bands}
    chosen = [by_id[i] for i in data["bands"]]
    if client_gone(request):  # the resident gave up waiting: book nothing nobody will be told of
        return dropped()
    try:
        reservation = services.reservation_create(
            resident=resident,
            room_id=room.pk,
            date=day,
            band_ids=data["bands"],
            channel=Channel.WEB,
            booked_by=_user(request),
            now=_now(),
            group=next((g for g in target.groups if g.pk == data["group"]), None),
            purpose_id=data["purpose"],
            attendees=data["attendees"],
            commercial=data["commercial"],
            equipment_ids=data["equipment"],
        )
    except BookingError as error:
        if error.code in STATE_REFUSALS:
            return _error(request, error.message, error.status, code=error.code, back_url=_week_url(room, day))
        return _booking_page(
            request,
            target,
            form,
            chosen,
            commercial=commercial,
            equipment=equipment,
            error=error.message,
            refusal_code=error.code,
            status=error.status,
        )
    return redirect("reservations:booking_done", reservation_id=reservation.pk)


def _state_refusal_page(request: HttpRequest, found: tuple[str, int], room: Room, day: dt.date) -> HttpResponse:
    """The short answer for a slot that cannot be booked because of the state of things (taken,
    closed, outside the window: `_state_refusal`)."""
    code, status = found
    message = MESSAGES[code] if request.method == "POST" or code != "slot_taken" else SLOT_NOT_FREE
    return _error(request, message, status, code=code, back_url=_week_url(room, day))


def _day_availability(room: Room, day: dt.date, now: dt.datetime) -> Availability:
    """One room's availability on one day (the booking step's question: one cache read)."""
    return selectors.availability(facility=room.facility, days=[day], now=now, only_room=room)


def _state_refusal(
    resident: Resident | None,
    room: Room,
    day: dt.date,
    chosen: list[TimeBand],
    now: dt.datetime,
    availability: Availability | None = None,
) -> tuple[str, int] | None:
    if not chosen:
        return None
    if availability is None:
        availability = _day_availability(room, day, now)
    cells = [
        BandChoice(band=b, cell=availability.slot(room, day, b), bookable=False, fee=None, chosen=True) for b in chosen
    ]
    found = _blocker(resident, cells, day, now, booking_rules(room.facility.group))
    if found is None or found[0] not in STATE_REFUSALS | {domain.Refusal.FACILITY_CLOSED.value}:
        return None
    return found


def early_refusal_code(room_id: int, day: dt.date, raw_bands: list[str]) -> str | None:
    """The refusal code `book` answers a request for this slot with before it reads the session
    (taken, closed, outside the window: the same for whoever asks), or None if it would go on.
    For config/refusal_replay.py, which replays that answer without the rest of the stack."""
    found = selectors.room_with_bands(room_id)
    if found is None or not is_supported_date(day):
        return None
    room, bands = found
    refusal = _state_refusal(None, room, day, _chosen_or_empty(raw_bands, bands), _now())
    return refusal[0] if refusal is not None else None


def _chosen_or_empty(raw: list[str], bands: list[TimeBand]) -> list[TimeBand]:
    try:
        return parse_band_ids(raw, bands)
    except BookingError:
        return []


def _week_url(room: Room, day: dt.date) -> str:
    return reverse("reservations:facility_week", args=[room.facility_id, day])


@login_required
@require_GET
def booking_done(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """What happens next: reference, fee, payment deadline, how to pay and cancel."""
    resident = _resident(_user(request))
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    reservation = selectors.reservation_for_resident(resident, reservation_id)
    if reservation is None:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    return render(request, "reservations/booking_done.html", {"reservation": reservation})


# --- My bookings ------------------------------------------------------------------------------


@login_required
@require_GET
def my_bookings(request: HttpRequest) -> HttpResponse:
    """The resident's bookings (and their groups'): upcoming by default, past ones on request."""
    resident = _resident(_user(request))
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    today = _today(_now())
    include_past = request.GET.get("past") == "1"
    bookings = selectors.resident_reservations(resident, include_past=include_past, today=today)
    page = None
    if include_past:
        page = Paginator(bookings, PAST_PAGE_SIZE).get_page(request.GET.get("page"))
        rows: list[Reservation] = list(page.object_list)
    else:
        rows = list(bookings)
    context = {
        "bookings": rows,
        "page": page,
        "include_past": include_past,
        "today": today,
        "resident": resident,
    }
    return render(request, "reservations/my_bookings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels and frees the slot at once."""
    resident = _resident(_user(request))
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    now = _now()
    if request.method == "POST":
        try:
            reservation = services.reservation_cancel(
                reservation_id=reservation_id,
                resident=resident,
                cancelled_by=_user(request),
                channel=Channel.WEB,
                now=now,
            )
        except BookingError as error:
            if error.status == 404:
                return _error(request, error.message, 404)
            return _cancel_page(request, resident, reservation_id, now, error=error.message, status=error.status)
        messages.success(
            request, gettext("予約（予約番号 %(reference)s）を取り消しました。") % {"reference": reservation.reference}
        )
        return redirect("reservations:my_bookings")
    return _cancel_page(request, resident, reservation_id, now)


def _cancel_page(
    request: HttpRequest,
    resident: Resident,
    reservation_id: int,
    now: dt.datetime,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    reservation = selectors.reservation_for_resident(resident, reservation_id)
    if reservation is None:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    if error is None:
        if not reservation.is_active:
            error, status = str(MESSAGES["already_ended"]), 409
        elif reservation.date < _today(now):
            error, status = str(MESSAGES["not_cancellable"]), 409
    context = {"reservation": reservation, "error": error, "cancellable": error is None}
    return render(request, "reservations/cancel.html", context, status=status)


@require_GET
def switch_language(request: HttpRequest, code: str) -> HttpResponse:
    """The language links of the public layout: remember the choice in the language cookie and go
    back. A preference, not a state change worth a CSRF token, so the pages stay cacheable."""
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = redirect(next_url)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax")
    return response
