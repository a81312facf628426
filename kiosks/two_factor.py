"""Staff two-factor login (DOMAIN.md: "staff log in with two factors; a lost credential is
disabled at once"), on django-otp's TOTP devices.

Every staff account has one TOTP device (an authenticator app). The password login at
/accounts/login/ is the first factor; every staff page (`kiosks.staff_auth.staff_required`) and
the Django admin then ask for the second: the enrolment page when the account has no confirmed
device yet, otherwise the 6-digit code. A verified session carries the device id
(`django_otp.login`); `OTPMiddleware` checks on every request that the device still exists, so
deleting it ends the verification of every session at once.

Wrong codes are throttled per device (django-otp: 1, 2, 4, 8 ... seconds after consecutive
failures, `OTP_TOTP_THROTTLE_FACTOR`), and a code is accepted once only.

A system admin resets a member's device (`two_factor_reset`): the device is deleted, the account
is deactivated (unless told otherwise) and every session of the member is ended.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import django_otp
import segno
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from reservations.audit import record
from reservations.models import User

DEVICE_NAME = "authenticator"


class TwoFactorError(Exception):
    """A refusal, with the message to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_use_two_factor(user: Any) -> bool:
    """Staff accounts (active, is_staff) log in with two factors; nobody else has a device."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def is_verified(user: Any) -> bool:
    checker = getattr(user, "is_verified", None)
    return bool(checker is not None and checker())


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def safe_next(request: HttpRequest, fallback: str | None = None) -> str:
    """The `next` address of this request if it stays on this site, else the staff terminal."""
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    return fallback or reverse("staff:index")


def page_then(name: str, next_url: str) -> HttpResponse:
    """A redirect to the page `name` that comes back to `next_url` afterwards."""
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


def second_factor_redirect(request: HttpRequest, next_url: str | None = None) -> HttpResponse:
    """Where a staff login without a verified code goes: enrolment or the code page, then back."""
    page = "staff:two_factor_verify" if confirmed_device(request.user) is not None else "staff:two_factor_setup"  # type: ignore[arg-type]
    return page_then(page, next_url or request.get_full_path())


# --- enrolment --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps take it by hand
    uri: str  # otpauth://totp/...
    qr_svg: str  # inline <svg>


def secret_of(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def enrolment_start(user: User) -> Enrolment:
    """The pending (unconfirmed) device of a staff account, created on first visit; the same secret
    is shown until it is confirmed so that reloading the page does not invalidate the app's entry."""
    if not may_use_two_factor(user):
        raise TwoFactorError(_("2要素認証は職員のアカウントだけが登録できます。"))
    if confirmed_device(user) is not None:
        raise TwoFactorError(_("このアカウントには登録済みの認証アプリがあります。"))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    uri = device.config_url
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, dark="#000", light="#fff", title=_("認証アプリ登録用QRコード"))
    return Enrolment(device=device, secret=secret_of(device), uri=uri, qr_svg=svg)


def _throttle_message(device: TOTPDevice) -> str | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    until = (data or {}).get("locked_until")
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
    return _("確認コードの誤りが続いたため、%(seconds)s秒間は受け付けません。時間をおいて入力してください。") % {
        "seconds": seconds
    }


def _check_code(request: HttpRequest, device: TOTPDevice, code: str) -> TOTPDevice:
    """The device, re-read under a row lock, if `code` is its current code; the refusal otherwise.
    Each failure counts towards the device's throttle and goes into the audit log."""
    user = request.user
    throttled = _throttle_message(device)
    if throttled:
        record(actor=user, action="2fa.throttled", target=user.user_number, request=request)  # type: ignore[union-attr]
        raise TwoFactorError(throttled)
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        device.refresh_from_db()
        record(
            actor=user,
            action="2fa.failed",
            target=user.user_number,  # type: ignore[union-attr]
            details={"failures": device.throttling_failure_count},
            request=request,
        )
        raise TwoFactorError(_("確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"))
    return verified


def _login_device(request: HttpRequest, device: TOTPDevice) -> None:
    request.session.cycle_key()  # a fresh session id for the fully logged-in session
    django_otp.login(request, device)


def enrolment_confirm(request: HttpRequest, code: str) -> TOTPDevice:
    """Confirm the pending device with one code from the app; the session is verified with it."""
    user = request.user
    if not may_use_two_factor(user):
        raise TwoFactorError(_("2要素認証は職員のアカウントだけが登録できます。"))
    if confirmed_device(user) is not None:  # type: ignore[arg-type]
        raise TwoFactorError(_("このアカウントには登録済みの認証アプリがあります。"))
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if pending is None:
        raise TwoFactorError(_("登録の手続きが見つかりません。もう一度やり直してください。"))
    device = _check_code(request, pending, code)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    _login_device(request, device)
    record(actor=user, action="2fa.enrolled", target=user.user_number, request=request)  # type: ignore[union-attr]
    return device


def verify(request: HttpRequest, code: str) -> TOTPDevice:
    """Check the staff member's code and mark the session verified."""
    user = request.user
    device = confirmed_device(user) if may_use_two_factor(user) else None  # type: ignore[arg-type]
    if device is None:
        raise TwoFactorError(_("認証アプリが登録されていません。先に登録してください。"))
    device = _check_code(request, device, code)
    _login_device(request, device)
    record(actor=user, action="2fa.verified", target=user.user_number, request=request)  # type: ignore[union-attr]
    return device


# --- reset (a lost or stolen authenticator) ----------------------------------------------------------


def end_sessions(user_id: int) -> int:
    """Delete every stored session of the user; returns how many. Works for the database-backed
    session engines (db, cached_db: the cache entry goes too). Sessions are not indexed by user,
    so this reads the unexpired ones once — a rare, deliberate operation."""
    engine = import_module(settings.SESSION_ENGINE)
    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return 0
    wanted = str(user_id)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if str(session.get_decoded().get("_auth_user_id", "")) == wanted
    ]
    for key in keys:
        engine.SessionStore(session_key=key).delete()
    return len(keys)


@dataclass(frozen=True)
class ResetOutcome:
    user: User
    devices_removed: int
    sessions_ended: int
    deactivated: bool


def two_factor_reset(
    *, user_id: int, by: User, deactivate: bool = True, request: HttpRequest | None = None
) -> ResetOutcome:
    """A staff member lost their authenticator (or it may be in the wrong hands): delete their
    devices, deactivate the account unless told otherwise, and end all their sessions at once.
    They enrol a new device at their next login, after an admin reactivates the account
    (and sets a new password, if the password may be known too)."""
    with transaction.atomic():
        member = User.objects.select_for_update().filter(pk=user_id, is_staff=True).first()
        if member is None:
            raise TwoFactorError(_("職員のアカウントが見つかりません。"))
        if member.pk == by.pk:
            raise TwoFactorError(_("自分自身の2要素認証はリセットできません。他のシステム管理者に依頼してください。"))
        removed = 0
        for device in list(devices_for_user(member, confirmed=None)):
            device.delete()
            removed += 1
        if deactivate and member.is_active:
            member.is_active = False
            member.save(update_fields=["is_active"])
        ended = end_sessions(member.pk)
        record(
            actor=by,
            action="2fa.reset",
            target=member.user_number,
            details={"devices_removed": removed, "sessions_ended": ended, "deactivated": deactivate},
            request=request,
        )
    return ResetOutcome(user=member, devices_removed=removed, sessions_ended=ended, deactivated=deactivate)
