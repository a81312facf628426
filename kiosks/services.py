"""Every write of the kiosks app: provisioning (and a fresh code), activation, revocation, access
counting.

One-time codes and device keys are shown or handed out once and stored only as hashes. Activation
and revocation are conditional UPDATEs, so two tablets racing for one code activate once, and a
revocation takes effect on the very next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from reservations.models import Facility, User

from . import live
from .models import Kiosk, KioskAccess

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen, typed on a tablet
CODE_LENGTH = 10  # 50 bits: short-lived and single-use, so enough
CODE_VALID_FOR = dt.timedelta(hours=24)


class ActivationRefused(Exception):
    """The code is unknown, used, expired or its kiosk revoked (one answer for all: no oracle)."""


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    # Keyed: a 50-bit code could be brute-forced from an unkeyed hash in a leaked database.
    return hmac.new(settings.SECRET_KEY.encode(), b"kiosk-code:" + code.encode(), hashlib.sha256).hexdigest()


def key_hash(key: str) -> str:
    # The key has 256 random bits; a plain hash cannot be reversed and survives a SECRET_KEY rotation.
    return hashlib.sha256(key.encode()).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def kiosk_create(*, facility: Facility, name: str, created_by: User, now: dt.datetime) -> tuple[Kiosk, str]:
    """Register a kiosk for `facility`; return it with its one-time activation code (shown once)."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    kiosk = Kiosk.objects.create(
        facility=facility,
        name=name,
        code_hash=code_hash(code),
        code_expires_at=now + CODE_VALID_FOR,
        created_at=now,
        created_by=created_by,
    )
    return kiosk, format_code(code)


def kiosk_reissue_code(*, kiosk_id: int, now: dt.datetime) -> str:
    """Give a kiosk that is not revoked a fresh one-time code (the last one expired, or the tablet is
    replaced): its current device key stops working at once and the kiosk waits for activation
    again. A conditional UPDATE; raises Kiosk.DoesNotExist for an unknown or revoked kiosk."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    changed = Kiosk.objects.filter(pk=kiosk_id, revoked_at__isnull=True).update(
        code_hash=code_hash(code), code_expires_at=now + CODE_VALID_FOR, key_hash="", activated_at=None
    )
    if changed != 1:
        raise Kiosk.DoesNotExist
    transaction.on_commit(lambda: live.close_kiosk(kiosk_id))  # its old key's live sockets too
    return format_code(code)


def kiosk_activate(*, code: str, now: dt.datetime) -> tuple[Kiosk, str]:
    """Exchange a one-time code for a long-lived device key. The code is used up by a conditional
    UPDATE (code hash cleared), so it activates one tablet only, however many try at once."""
    hashed = code_hash(normalise_code(code))
    device_key = secrets.token_urlsafe(32)
    with transaction.atomic():
        changed = Kiosk.objects.filter(
            code_hash=hashed, code_expires_at__gt=now, revoked_at__isnull=True, activated_at__isnull=True
        ).update(code_hash="", code_expires_at=None, key_hash=key_hash(device_key), activated_at=now)
        if changed != 1:
            raise ActivationRefused
        kiosk = Kiosk.objects.select_related("facility").get(key_hash=key_hash(device_key))
    return kiosk, device_key


def kiosk_revoke(*, kiosk_id: int, now: dt.datetime) -> bool:
    """Revoke a kiosk at once: its key and any unused code stop working, and its open live
    availability sockets are closed after commit. False if already revoked."""
    revoked = bool(
        Kiosk.objects.filter(pk=kiosk_id, revoked_at__isnull=True).update(
            revoked_at=now, code_hash="", code_expires_at=None
        )
    )
    if revoked:
        transaction.on_commit(lambda: live.close_kiosk(kiosk_id))
    return revoked


def kiosk_access_record(*, kiosk_id: int, date: dt.date) -> None:
    """Count one access of the kiosk on `date`: an F() increment of the day's row, created on the
    day's first access (a racing creator loses on the UNIQUE constraint and increments instead)."""
    if KioskAccess.objects.filter(kiosk_id=kiosk_id, date=date).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            KioskAccess.objects.create(kiosk_id=kiosk_id, date=date, count=1)
    except IntegrityError:
        KioskAccess.objects.filter(kiosk_id=kiosk_id, date=date).update(count=F("count") + 1)
