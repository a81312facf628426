"""Reads of the kiosks app."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Sum

from reservations.models import ACTIVE_STATES, Facility, Reservation, Resident, ResidentStatus
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
