"""The waiting-room gate in front of the booking flow (see reservations/waiting_room.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from . import waiting_room

# The booking step, page and API. Availability stays open to everyone: it is cached and cheap,
# and residents plan their choice on it before the opening.
GATED_VIEWS = frozenset({"reservations:book"})
GATED_API_PREFIX = "/api/v1/me/bookings"


class WaitingRoomMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not waiting_room.enabled():
            return None
        is_api = request.method == "POST" and request.path.startswith(GATED_API_PREFIX)
        match = request.resolver_match
        if not is_api and (match is None or match.view_name not in GATED_VIEWS):
            return None
        # The session names the user without a database query: a refresh in the queue costs Redis only.
        user_id = request.session.get(SESSION_KEY)
        if user_id is None:
            return None  # anonymous visitors only look; booking needs a login
        verdict = waiting_room.check(user_id=int(user_id), now=timezone.now())
        if verdict.admitted:
            return None
        # Come back exactly when admitted (or in 30 s to see the place move while places are drawn).
        retry = max(1, min(verdict.wait_seconds, 30))
        if is_api:
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
            context = {
                "verdict": verdict,
                "retry": retry,
                "rules": waiting_room.rules(),
                "path": request.get_full_path(),
            }
            response = render(request, "reservations/waiting_room.html", context)
        response["X-Waiting-Room"] = "queued"
        response["X-Queue-Position"] = str(verdict.position)
        response["Retry-After"] = str(retry)
        response["Cache-Control"] = "no-store"
        return response
