"""The losers' answer at 09:00, replayed: first in MIDDLEWARE.

Most of the opening crowd asks for the booking page of a slot that is already gone. `views.book`
refuses that before it reads the session (availability is public), so the answer, status, headers
and page, is the same for everyone who asks the same URL in the same language. Going through the
whole middleware stack and the URL resolver for it costs about as much again as deciding it.

So this middleware keeps, per process, the last such answer the full stack produced for each
(language, URL, catalogue version), and answers a repeat of that question with it, after deciding
afresh, with the very function the view uses (`views.early_refusal_code`), that the slot is still
refused with the same code. Anything else goes through the stack as before: another code, a slot
that has become free, a POST (the CSRF check comes first), a request while the waiting room may
be gating the booking step, or any error on the way (the stack then answers it, 503 and all).

It never answers anything the full stack did not produce for the same question; only the request
id is the request's own (config/request_id.py). Refusals are not page views, so nothing is counted
(kiosks/access_counter.py counts 2xx pages only).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from config import request_id
from reservations import availability_cache, waiting_room
from reservations.views import REFUSAL_HEADER, early_refusal_code

logger = logging.getLogger(__name__)

BOOK_VIEW = "reservations:book"
MAX_ANSWERS = 20_000  # per process; a few hundred hot slots × languages at 09:00
# Per request, or made again by the next request's own middleware.
OWN_HEADERS = frozenset({request_id.HEADER.lower(), "set-cookie", "date"})

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Answer:
    code: str
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes


_answers: dict[Key, Answer] = {}
_remembering = threading.Lock()  # gthread workers: evicting the oldest must not race another insert
replayed = 0  # answers served from memory by this process (for tests and profiling)


def _question(request: HttpRequest) -> tuple[int, dt.date] | None:
    """The slot a GET of a booking page asks about (by the URLconf's own route), or None."""
    if request.method != "GET":
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.view_name != BOOK_VIEW:
        return None
    return match.kwargs["room_id"], match.kwargs["day"]


def _key(request: HttpRequest) -> Key:
    # LocaleMiddleware's choice (language cookie, then Accept-Language) before it runs.
    language = translation.get_language_from_request(request)
    return language, request.get_full_path(), availability_cache.catalogue_version()


def _replay(request: HttpRequest, answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.content, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    response[request_id.HEADER] = request_id.accept_or_make(request.META.get(request_id.META_KEY))
    return response


class RefusalReplayMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        global replayed
        question = _question(request)
        if question is None:
            return self.get_response(request)
        key: Key | None = None
        try:
            if not waiting_room.may_gate(timezone.now()):
                key = _key(request)
                answer = _answers.get(key)
                if answer is not None and early_refusal_code(*question, request.GET.getlist("bands")) == answer.code:
                    replayed += 1
                    return _replay(request, answer)
        except Exception:  # the stack answers it, as it would without this shortcut
            logger.debug("refusal replay skipped", exc_info=True)
            key = None
        response = self.get_response(request)
        if key is not None:
            _remember(key, response)
        return response


def _remember(key: Key, response: HttpResponse) -> None:
    code = response.get(REFUSAL_HEADER)
    if not code or response.cookies or response.streaming or not 400 <= response.status_code < 500:
        return
    if "cookie" in response.get("Vary", "").lower():  # something read the session: not the same for all
        return
    headers = tuple((name, value) for name, value in response.items() if name.lower() not in OWN_HEADERS)
    answer = Answer(code=code, status=response.status_code, headers=headers, content=response.content)
    with _remembering:
        if len(_answers) >= MAX_ANSWERS:
            _answers.pop(next(iter(_answers)), None)  # the oldest
        _answers[key] = answer


def forget() -> None:
    """Drop every remembered answer (tests)."""
    _answers.clear()
