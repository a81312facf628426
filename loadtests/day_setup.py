"""Set-up of scenario (c), an ordinary day, run by the orchestrator in a child process under
`config.settings.bench` against the run database (the same environment as the servers, so the
kiosk codes are hashed with the servers' SECRET_KEY):

    python -m loadtests.day_setup --kiosks 4 --staff 6 --cards 40 --seed 1   # prints JSON

It uses the real services: `kiosks.services.kiosk_create` (one-time activation codes),
`reservations.services.resident_set_pin` (kiosk PINs). Staff accounts get a COUNTER StaffProfile
for one facility and a confirmed TOTPDevice with a key the harness knows (as the demo staff do).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from collections.abc import Sequence
from typing import Any

STAFF_PASSWORD = "bench-staff-2026"  # the bench's throwaway staff accounts
KIOSK_PIN = "2468"
TOTP_KEY_HEX = "62656e63682d746f74702d6b65792d3230323621"  # b"bench-totp-key-2026!"
STAFF_PREFIX = "benchstaff"


def setup(*, kiosks: int, staff: int, cards: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kiosks.services import kiosk_create
    from reservations.models import Facility, Resident, ResidentStatus, StaffProfile, StaffRole, User
    from reservations.services import resident_set_pin

    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate(now)
    facilities = list(
        Facility.objects.filter(is_active=True, rooms__is_active=True, kind__in=["community", "sports"])
        .distinct()
        .order_by("id")
    )
    if not facilities:
        raise SystemExit("no active facility with rooms in the run database")
    creator = (
        User.objects.filter(is_superuser=True).order_by("id").first() or User.objects.filter(is_staff=True).first()
    )
    if creator is None:
        raise SystemExit("no staff user to register the kiosks")

    kiosk_rows = []
    for i in range(kiosks):
        facility = facilities[i % len(facilities)]
        kiosk, code = kiosk_create(facility=facility, name=f"bench-kiosk-{i + 1:03d}", created_by=creator, now=now)
        kiosk_rows.append({"kiosk_id": kiosk.pk, "facility_id": facility.pk, "code": code})

    residents = list(
        Resident.objects.filter(status=ResidentStatus.ACTIVE)
        .exclude(user__user_number__in=["10000001", "10000002"])
        .order_by("id")
        .values_list("id", "user__user_number", "full_name")[:5000]
    )
    rng.shuffle(residents)
    chosen = residents[:cards]
    for resident_id, _number, _name in chosen:
        resident_set_pin(resident_id=resident_id, pin=KIOSK_PIN)

    staff_rows = []
    for i in range(staff):
        facility = facilities[i % len(facilities)]
        user_number = f"{STAFF_PREFIX}{i + 1:03d}"
        user, _ = User.objects.update_or_create(
            user_number=user_number,
            defaults={"email": f"{user_number}@example.jp", "is_staff": True, "is_superuser": False, "is_active": True},
        )
        user.set_password(STAFF_PASSWORD)
        user.save(update_fields=["password"])
        profile, _ = StaffProfile.objects.update_or_create(user=user, defaults={"role": StaffRole.COUNTER})
        profile.facilities.set([facility])
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(user=user, name="bench", key=TOTP_KEY_HEX, confirmed=True)
        staff_rows.append({"user_number": user_number, "facility_id": facility.pk})

    # Free slots of the staff's facilities, 2..20 days ahead, for the occasional counter booking.
    staff_facilities = sorted({row["facility_id"] for row in staff_rows})
    free: dict[str, list[list[Any]]] = {}
    if staff_facilities:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH days AS (SELECT d::date AS day FROM generate_series(%s::date, %s::date, interval '1 day') d)
                SELECT r.facility_id, r.id, days.day, b.id
                FROM reservations_room r
                JOIN reservations_timeband b ON b.facility_id = r.facility_id
                CROSS JOIN days
                WHERE r.is_active AND r.facility_id = ANY(%s)
                  AND EXISTS (SELECT 1 FROM reservations_room_units ru0 WHERE ru0.room_id = r.id)
                  AND NOT EXISTS (
                      SELECT 1 FROM reservations_room_units ru
                      JOIN reservations_occupancy o ON o.unit_id = ru.roomunit_id
                      WHERE ru.room_id = r.id AND o.date = days.day AND o.band_id = b.id)
                  AND NOT EXISTS (
                      SELECT 1 FROM reservations_closure c WHERE c.facility_id = r.facility_id
                      AND c.date = days.day AND (c.room_id IS NULL OR c.room_id = r.id))
                """,
                [today + dt.timedelta(days=2), today + dt.timedelta(days=20), staff_facilities],
            )
            for facility_id, room_id, day, band_id in cursor.fetchall():
                free.setdefault(str(facility_id), []).append([room_id, day.isoformat(), band_id])
    for slots in free.values():
        rng.shuffle(slots)
        del slots[200:]

    browse = list(
        Facility.objects.filter(is_active=True, rooms__is_active=True)
        .distinct()
        .order_by("id")
        .values_list("id", flat=True)
    )
    return {
        "kiosks": kiosk_rows,
        "cards": [{"resident_id": r, "user_number": n, "name": name} for r, n, name in chosen],
        "pin": KIOSK_PIN,
        "staff": staff_rows,
        "staff_password": STAFF_PASSWORD,
        "totp_key_hex": TOTP_KEY_HEX,
        "free_slots": free,
        "browse_facilities": browse,
        "today": today.isoformat(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up scenario (c) in the run database (prints JSON).")
    parser.add_argument("--kiosks", type=int, required=True)
    parser.add_argument("--staff", type=int, required=True)
    parser.add_argument("--cards", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    data = setup(kiosks=args.kiosks, staff=args.staff, cards=args.cards, seed=args.seed)
    sys.stdout.write(json.dumps(data, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
