"""The booking hub's JSON API, mounted at /api/v1/ by config/api.py.

Thin, like the views: parse, call one selector or service, serialise. Refusals are BookingErrors
(code, HTTP status, message in the active language); config/api.py turns every error, including
validation and authentication failures, into {"code": ..., "message": ...}.

The /me endpoints use Django's session (the same login as the pages) with CSRF checks on writes.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from ninja import P, QueryEx, Router
from ninja.responses import Status
from ninja.security import django_auth

from . import selectors, services
from .errors import BookingError, NotFound
from .models import Channel, Facility, FacilityKind, Group, Purpose, Reservation, Resident
from .schemas import (
    AvailabilityOut,
    BookingIn,
    BookingOut,
    ErrorOut,
    FacilityDetail,
    FacilityDetailOut,
    FacilityListItemOut,
    RoomOut,
)

FACILITIES = "facilities"
MY_BOOKINGS = "my bookings"
PUBLIC_ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut}
ME_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}

# A purpose code as Purpose.code (a SlugField) allows: anything else is refused as invalid before it
# reaches a query (PostgreSQL refuses a NUL byte in a text parameter with an error, not "no match").
PURPOSE_CODE = r"^[-a-zA-Z0-9_]+$"
PURPOSE_CODE_MAX = Purpose._meta.get_field("code").max_length

# Outside these, date arithmetic (a month back for the opening, a month ahead) leaves the calendar.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2999, 12, 1)

router = Router()


def _facility(facility_id: int) -> Facility:
    facility = selectors.facility_get(facility_id)
    if facility is None:
        raise NotFound("unknown_facility")
    return facility


def request_resident(request: HttpRequest) -> Resident:
    """The logged-in resident; staff logins without a resident record are refused. (Shared by the
    other apps' API routers.)"""
    try:
        return request.user.resident  # type: ignore[union-attr]
    except ObjectDoesNotExist:
        raise BookingError("not_a_resident", status=403) from None


def requested_group(group_id: int | None) -> Group | None:
    """The group a request names to act for, if any; an unknown id is a 404 (membership is the
    services' to check)."""
    if group_id is None:
        return None
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound("unknown_group")
    return group


# --- facilities (public) -------------------------------------------------------------------------


@router.get(
    "/facilities",
    response={200: list[FacilityListItemOut], 400: ErrorOut},
    summary="施設を検索する",
    tags=[FACILITIES],
)
def facility_list(
    request: HttpRequest,
    kind: QueryEx[FacilityKind | None, P(description="Facility kind")] = None,
    purpose: QueryEx[
        str | None,
        P(
            pattern=PURPOSE_CODE,
            max_length=PURPOSE_CODE_MAX,
            description="Purpose code a room must allow, e.g. meeting",
        ),
    ] = None,
    min_capacity: QueryEx[int | None, P(ge=1, description="Smallest room capacity wanted")] = None,
) -> Any:
    """Active facilities with at least one active room matching the filters."""
    return selectors.facility_search(kind=kind, purpose=purpose, min_capacity=min_capacity)


@router.get(
    "/facilities/{facility_id}",
    response={200: FacilityDetailOut, **PUBLIC_ERRORS},
    summary="施設の詳細（室場・時間帯）",
    tags=[FACILITIES],
)
def facility_detail(request: HttpRequest, facility_id: int) -> Any:
    """A facility with its active rooms and its time bands."""
    facility = _facility(facility_id)
    bands = selectors.bands_by_facility([facility.pk])[facility.pk]
    return FacilityDetail(facility=facility, rooms=selectors.facility_rooms(facility), time_bands=bands)


@router.get(
    "/facilities/{facility_id}/rooms",
    response={200: list[RoomOut], **PUBLIC_ERRORS},
    summary="施設の室場一覧",
    tags=[FACILITIES],
)
def facility_room_list(request: HttpRequest, facility_id: int) -> Any:
    """The facility's active rooms with capacity, equipment, allowed purposes and units."""
    return selectors.facility_rooms(_facility(facility_id))


@router.get(
    "/facilities/{facility_id}/availability",
    response={200: AvailabilityOut, **PUBLIC_ERRORS},
    summary="空き状況",
    tags=[FACILITIES],
)
def facility_availability(
    request: HttpRequest,
    facility_id: int,
    start: QueryEx[dt.date | None, P(alias="from", description="First day, YYYY-MM-DD (default: today)")] = None,
    days: QueryEx[int, P(ge=1, le=31, description="Number of days (1–31)")] = 7,
) -> Any:
    """Every (room, day, band) slot: free, taken, closed or unavailable (past), and whether it can be
    booked first-come right now. A fixed number of queries whatever the number of rooms and days."""
    facility = _facility(facility_id)
    first = start or timezone.localdate()
    if not EARLIEST <= first <= LATEST:
        raise BookingError("bad_date", status=400)
    grid = selectors.availability(
        facility=facility, days=[first + dt.timedelta(days=i) for i in range(days)], now=timezone.now()
    )
    return AvailabilityOut.build(grid)


# --- my bookings (session login) -----------------------------------------------------------------


@router.get(
    "/me/bookings",
    auth=django_auth,
    response={200: list[BookingOut], 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    summary="自分の予約一覧",
    tags=[MY_BOOKINGS],
)
def my_booking_list(request: HttpRequest, include_past: bool = False) -> Any:
    """Your bookings and those of the groups you represent, from today on (or all with include_past)."""
    return selectors.resident_reservations(
        request_resident(request), include_past=include_past, today=timezone.localdate()
    )


@router.post(
    "/me/bookings",
    auth=django_auth,
    response={201: BookingOut, **ME_ERRORS},
    summary="予約する（随時予約）",
    tags=[MY_BOOKINGS],
)
def my_booking_create(request: HttpRequest, payload: BookingIn) -> Status[Reservation]:
    """Book consecutive bands of one room and date, first-come, through the web channel.

    Refusals: 409 slot_taken, not_yet_open, closed_for_booking, facility_closed, quota, group_quota;
    400 bad_span, past, unknown_band, over_capacity, purpose_not_allowed, unknown_equipment, invalid;
    403 not_active, not_group_member, group_not_active; 404 unknown_room, unknown_group."""
    resident = request_resident(request)
    group = requested_group(payload.group_id)
    reservation = services.reservation_create(
        resident=resident,
        room_id=payload.room_id,
        date=payload.date,
        band_ids=payload.band_ids,
        channel=Channel.WEB,
        booked_by=request.user,  # type: ignore[arg-type]
        now=timezone.now(),
        group=group,
        purpose_id=payload.purpose_id,
        attendees=payload.attendees,
        commercial=payload.commercial,
        equipment_ids=payload.equipment_ids,
    )
    return Status(201, reservation)


@router.post(
    "/me/bookings/{booking_id}/cancel",
    auth=django_auth,
    response={200: BookingOut, **ME_ERRORS},
    summary="予約を取り消す",
    tags=[MY_BOOKINGS],
)
def my_booking_cancel(request: HttpRequest, booking_id: int) -> Reservation:
    """Cancel one of your bookings (or your group's); the slot is free again at once.

    Refusals: 404 unknown_reservation (also for someone else's booking), 409 already_ended, not_cancellable."""
    return services.reservation_cancel(
        reservation_id=booking_id,
        resident=request_resident(request),
        cancelled_by=request.user,  # type: ignore[arg-type]
        channel=Channel.WEB,
        now=timezone.now(),
    )
