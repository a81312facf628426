"""Who is asking at a kiosk: the device (a signed, HttpOnly cookie holding the device key) and,
after a keypad login, the resident (in the session, with a server-enforced idle timeout).

`kiosk_required` wraps every kiosk view except activation: without an active device key the
request is refused; a revoked kiosk is refused on its very next request. A resident session idle
for IDLE_LOGOUT_SECONDS is flushed completely (session data, new session key, language reset), so
the next person at the tablet sees nothing of the last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from reservations.domain import TOKYO
from reservations.models import Resident

from . import live, selectors, services
from .models import Kiosk

DEVICE_COOKIE = "kiosk_device"
DEVICE_COOKIE_SALT = "kiosks.device"
DEVICE_COOKIE_AGE = 60 * 60 * 24 * 365 * 5
IDLE_WARNING_SECONDS = 60
IDLE_LOGOUT_SECONDS = 90

SESSION_RESIDENT = "kiosk.resident_id"
SESSION_KIOSK = "kiosk.kiosk_id"
SESSION_SEEN = "kiosk.last_activity"
LIVE_REFRESH_HEADER = "X-Live-Refresh"


class KioskRequest(HttpRequest):
    kiosk: Kiosk
    kiosk_resident: Resident | None


def set_device_cookie(request: HttpRequest, response: HttpResponse, device_key: str) -> None:
    response.set_signed_cookie(
        DEVICE_COOKIE,
        device_key,
        salt=DEVICE_COOKIE_SALT,
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        secure=request.is_secure(),
        samesite="Strict",
    )


def device_kiosk(request: HttpRequest) -> Kiosk | None:
    key = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=DEVICE_COOKIE_SALT) or ""
    return selectors.kiosk_for_key(key)


def is_live_refresh(request: HttpRequest) -> bool:
    """static/js/live.js re-reading the page after a change: neither activity nor an access."""
    return request.headers.get(LIVE_REFRESH_HEADER) == "1"


def start_resident_session(request: HttpRequest, kiosk: Kiosk, resident: Resident, now: dt.datetime) -> None:
    request.session.flush()  # nothing of the anonymous session (or anyone before) carries over
    request.session[SESSION_RESIDENT] = resident.pk
    request.session[SESSION_KIOSK] = kiosk.pk
    request.session[SESSION_SEEN] = now.timestamp()


def end_session(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    live.close_session(request.session.session_key)  # its live availability sockets too
    request.session.flush()
    response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)  # the next person starts in Japanese
    return response


def _session_resident(request: HttpRequest, kiosk: Kiosk, now: dt.datetime) -> tuple[Resident | None, bool]:
    """The logged-in resident (touching the last-activity time), and whether a session just expired."""
    resident_id = request.session.get(SESSION_RESIDENT)
    if resident_id is None:
        return None, False
    seen = request.session.get(SESSION_SEEN, 0.0)
    if request.session.get(SESSION_KIOSK) != kiosk.pk or now.timestamp() - seen >= IDLE_LOGOUT_SECONDS:
        return None, True
    resident = selectors.active_resident(resident_id)
    if resident is None:
        return None, True
    if not is_live_refresh(request):  # a grid re-read by live.js is not the resident doing something
        request.session[SESSION_SEEN] = now.timestamp()
    return resident, False


def _kiosk_gate(*, count: bool) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            kiosk = device_kiosk(request)
            if kiosk is None:
                if SESSION_RESIDENT in request.session:
                    request.session.flush()  # a kiosk revoked mid-session keeps nothing of its resident
                return render(request, "kiosks/not_activated.html", status=403)
            now = timezone.now()
            if count and not is_live_refresh(request):
                services.kiosk_access_record(kiosk_id=kiosk.pk, date=now.astimezone(TOKYO).date())
            resident, expired = _session_resident(request, kiosk, now)
            if expired:
                response = end_session(request, redirect(reverse("kiosks:home") + "?timeout=1"))
                add_never_cache_headers(response)
                return response
            request.kiosk = kiosk  # type: ignore[attr-defined]
            request.kiosk_resident = resident  # type: ignore[attr-defined]
            request.kiosk_idle = (  # type: ignore[attr-defined]
                IDLE_WARNING_SECONDS,
                IDLE_LOGOUT_SECONDS,
                IDLE_LOGOUT_SECONDS - IDLE_WARNING_SECONDS,
            )
            response = view(request, *args, **kwargs)
            # Never kept by the tablet's browser: "back" after a logout must not show the last resident's page.
            add_never_cache_headers(response)
            return response

        return wrapper

    return decorate


kiosk_required = _kiosk_gate(count=True)
"""Every kiosk page: an active device key, the resident's idle timeout, counted in KioskAccess."""

kiosk_keepalive = _kiosk_gate(count=False)
"""The idle script's "still here" request: the same checks, but not counted as an access."""


def resident_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Behind kiosk_required: pages that need a logged-in resident send others to the keypad."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "kiosk_resident", None) is None:
            return redirect("kiosks:login")
        return view(request, *args, **kwargs)

    return wrapper
