"""A demo kiosk for `make run`: a tablet registered at a demo facility (one with rooms in a lottery
taking entries, when there is one), a fresh one-time code for it each time, and a kiosk PIN for the
demo resident, so a browser can be turned into a kiosk and used at once.

Every write goes through the services (kiosks' and reservations')."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from lottery import selectors as lottery_selectors
from lottery.models import Eligibility
from reservations import demo as booking_demo
from reservations import services as booking_services
from reservations.models import Facility, Resident, User

from . import services
from .models import Kiosk

KIOSK_NAME = "デモ端末"
PIN = "2026"


@dataclass(frozen=True)
class DemoKiosk:
    kiosk: Kiosk
    code: str
    card: str
    pin: str


def _facility(now: dt.datetime) -> Facility | None:
    """A facility with rooms anyone may enter in a round taking entries now; else the first
    active facility with rooms."""
    for lottery_round in lottery_selectors.rounds_in_intake(now):
        for lottery_room in lottery_selectors.round_rooms(lottery_round):
            if lottery_room.eligibility == Eligibility.ANYONE:
                return lottery_room.room.facility
    return (
        Facility.objects.filter(is_active=True)
        .annotate(rooms_active=Count("rooms", filter=Q(rooms__is_active=True)))
        .filter(rooms_active__gt=0)
        .order_by("kind", "code")
        .first()
    )


def prepare(*, now: dt.datetime) -> DemoKiosk | None:
    """Register (or re-key) the demo kiosk and give the demo resident the demo PIN. None without
    the demo data (`seed_demo`)."""
    resident = Resident.objects.select_related("user").filter(user__user_number=booking_demo.DEMO_RESIDENT).first()
    staff = (
        User.objects.filter(user_number=booking_demo.ADMIN_USER).first()
        or User.objects.filter(is_superuser=True).order_by("pk").first()
    )
    facility = _facility(now)
    if resident is None or staff is None or facility is None:
        return None
    booking_services.resident_set_pin(resident_id=resident.pk, pin=PIN)
    kiosk = Kiosk.objects.filter(facility=facility, name=KIOSK_NAME, revoked_at__isnull=True).first()
    if kiosk is None:
        kiosk, code = services.kiosk_create(facility=facility, name=KIOSK_NAME, created_by=staff, now=now)
    else:
        code = services.kiosk_reissue_code(kiosk_id=kiosk.pk, now=now)
    return DemoKiosk(kiosk=kiosk, code=code, card=resident.user.user_number, pin=PIN)
