"""The waiting-room gate in front of the booking flow (see reservations/waiting_room.py).

It sits before the session middleware: a request that carries a ticket is judged right there,
without the session or the user: from the ticket alone until its second comes ("queued until
<second>", or "admitted"), then from Redis for the ticket's holder. Only a first visit, without a
ticket, is judged in `process_view` (after the session and CSRF middleware), which reads the
session to know who asks. Every verdict from Redis leaves with a new ticket.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.translation import gettext

from . import waiting_room

# The booking step, page and API, and the steps other apps register (waiting_room.gated_views():
# the lottery's apply step). Availability stays open to everyone: it is cached and cheap, and
# residents plan their choice on it before the opening.
GATED_API_PREFIX = "/api/v1/me/bookings"
TICKET_ATTRIBUTE = "_waiting_room_ticket"
PLACEHOLDER = re.compile(r"\[\[(position|wait|retry_ms|retry)\]\]")
MAX_RETRY_SECONDS = 30
MIN_RETRY_MS = 20
ADMITTED_ATTRIBUTE = "_waiting_room_admitted"


def _is_api(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path.startswith(GATED_API_PREFIX)


def _gated_path(request: HttpRequest) -> bool:
    if _is_api(request):
        return True
    try:
        return resolve(request.path_info).view_name in waiting_room.gated_views()
    except Resolver404:
        return False


class WaitingRoomMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        early = self._from_ticket(request)
        if early is not None:
            return early
        response = self.get_response(request)
        ticket = getattr(request, TICKET_ATTRIBUTE, None)
        if ticket is not None:
            _set_ticket(response, ticket)
        return response

    def _from_ticket(self, request: HttpRequest) -> HttpResponse | None:
        """The queue page for a request whose ticket (or, once its instant has come, Redis) says
        "queued"; None to go on, after marking an admitted request so that `process_view` lets it
        through without asking again."""
        ticket_cookie = request.COOKIES.get(waiting_room.TICKET_COOKIE, "")
        if not ticket_cookie or not waiting_room.enabled() or not _gated_path(request):
            return None
        verdict = waiting_room.ticket_verdict(
            ticket_cookie=ticket_cookie,
            session_cookie=request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""),
            now=timezone.now(),
        )
        if verdict is None:
            return None
        if verdict.admitted:
            setattr(request, ADMITTED_ATTRIBUTE, True)
            setattr(request, TICKET_ATTRIBUTE, verdict.ticket)  # goes out with the view's response
            return None
        # Before the locale middleware: the language comes from the cookie or the browser.
        with translation.override(translation.get_language_from_request(request)):
            response = _queued_response(request, verdict)
        if verdict.ticket is not None:
            _set_ticket(response, verdict.ticket)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not waiting_room.enabled() or getattr(request, ADMITTED_ATTRIBUTE, False):
            return None
        match = request.resolver_match
        if not _is_api(request) and (match is None or match.view_name not in waiting_room.gated_views()):
            return None
        # The session names the user without a database query: a refresh in the queue costs Redis only.
        user_id = request.session.get(SESSION_KEY)
        if user_id is None:
            return None  # anonymous visitors only look; booking needs a login
        verdict = waiting_room.check(
            user_id=int(user_id),
            now=timezone.now(),
            session_cookie=request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""),
        )
        if verdict.admitted:
            setattr(request, TICKET_ATTRIBUTE, verdict.ticket)  # goes out with the view's response
            return None
        response = _queued_response(request, verdict)
        if verdict.ticket is not None:
            _set_ticket(response, verdict.ticket)
        return response


def _queued_response(request: HttpRequest, verdict: waiting_room.Verdict) -> HttpResponse:
    # Come back when admitted (or in 30 s to see the place move). Retry-After and the page's meta
    # refresh count whole seconds, which would leave a resident up to a second behind a bot that
    # refreshes ten times a second; the page's script (static/js/waiting-room.js) and
    # X-Retry-After-Ms give the instant to the millisecond, so following them is as good as hammering.
    retry = max(1, min(verdict.wait_seconds, MAX_RETRY_SECONDS))
    now = timezone.now().timestamp()
    retry_ms = max(MIN_RETRY_MS, min(math.ceil((verdict.admit_at - now) * 1000), MAX_RETRY_SECONDS * 1000))
    if _is_api(request):
        response: HttpResponse = JsonResponse(
            {
                "code": "waiting_room",
                "message": gettext("ただいま順番にご案内しています。しばらくお待ちください。"),
                "position": verdict.position,
                "wait_seconds": verdict.wait_seconds,
            },
            status=429,
        )
    else:
        opens = timezone.localtime(verdict.opens_at).strftime("%H:%M") if verdict.opens_at else ""
        page = _queued_page(
            translation.get_language(), request.get_full_path(), opens, waiting_room.rules().arrival_seconds
        )
        numbers = {"position": verdict.position, "wait": verdict.wait_seconds, "retry": retry, "retry_ms": retry_ms}
        response = HttpResponse(PLACEHOLDER.sub(lambda m: str(numbers[m.group(1)]), page))
    response["X-Waiting-Room"] = "queued"
    response["X-Queue-Position"] = str(verdict.position)
    response["Retry-After"] = str(retry)
    response["X-Retry-After-Ms"] = str(retry_ms)
    response["Cache-Control"] = "no-store"
    return response


@lru_cache(maxsize=4096)
def _queued_page(language: str, path: str, opens: str, arrival: int) -> str:
    """The queue page, rendered without the request (base_public.html) once per process for each
    language and URL, with placeholders for the resident's own numbers (filled in per answer)."""
    context = {name: f"[[{name}]]" for name in ("position", "wait", "retry", "retry_ms")}
    context.update(opens=opens, arrival=arrival, path=path)
    return render_to_string("reservations/waiting_room.html", context)


def _set_ticket(response: HttpResponse, ticket: waiting_room.Ticket) -> None:
    response.set_cookie(
        waiting_room.TICKET_COOKIE,
        waiting_room.sign_ticket(ticket),
        max_age=waiting_room.KEY_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
