"""The losers' answer at 09:00, replayed in front of Django (config/wsgi.py wraps the application).

Most of the opening crowd asks for the booking page of a slot that is already gone. `views.book`
refuses that before it reads the session (availability is public), so the answer, status, headers
and page, is the same for everyone who asks the same URL in the same language. Building Django's
request, its signals, the middleware stack and the URL resolver cost about as much again as
deciding it.

So this WSGI layer keeps, per process, the last such answer Django produced for each question
(config/replay.py says what a question is and which answers may be kept), shares it with the other
processes through the cache, and answers a repeat of the question with it, after deciding afresh,
with the very function the view uses (`views.early_refusal_code`), that the slot is still refused
with the same code. Anything else goes to Django as before: another code, a slot that has become
free, a POST (the CSRF check comes first), a request while the waiting room may be gating the
booking step, or any error on the way (Django then answers it, 503 and all). Refusals are not page views, so nothing is counted
(kiosks/access_counter.py counts 2xx pages only).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.handlers.wsgi import get_path_info
from django.http import QueryDict
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from config import replay
from reservations import waiting_room
from reservations.views import REFUSAL_HEADER, early_refusal_code

logger = logging.getLogger(__name__)

BOOK_VIEW = "reservations:book"
MAX_ANSWERS = 20_000  # per process; a few hundred hot slots × languages at 09:00
SHARED_AS = "refusal"


@dataclass(frozen=True)
class Answer:
    code: str
    status: str
    headers: replay.Headers
    content: bytes


_answers: replay.Memory[Answer] = replay.Memory(MAX_ANSWERS)
replayed = 0  # answers served from memory by this process (for tests and profiling)


def _book_prefix() -> str:
    """The start every booking page's path shares (`/book/`), from the URLconf itself."""
    example = reverse(BOOK_VIEW, kwargs={"room_id": 1, "day": dt.date(2000, 1, 1)})
    return example[: example.index("/1/") + 1]


class RefusalReplay:
    """WSGI middleware around Django's application (config/wsgi.py)."""

    def __init__(self, app: replay.WSGIApp) -> None:
        self.app = app
        self._prefix: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: replay.StartResponse) -> Iterable[bytes]:
        global replayed
        key: replay.Key | None = None
        try:
            question = self._question(environ)
            if question is not None and not waiting_room.may_gate(timezone.now()):
                key = replay.question(environ)
                kept = _answers.get(key)
                answer = kept or _from_another_process(key)
                if answer is not None and early_refusal_code(*question) == answer.code:
                    if kept is None:
                        _answers.put(key, answer)
                    replayed += 1
                    return replay.give(environ, start_response, answer.status, answer.headers, answer.content)
        except Exception:  # Django answers it, as it would without this shortcut
            logger.debug("refusal replay skipped", exc_info=True)
            key = None
        if key is None:
            return self.app(environ, start_response)
        return _answer_and_remember(self.app, environ, start_response, key)

    def _question(self, environ: dict[str, Any]) -> tuple[int, dt.date, list[str]] | None:
        """The slot and bands a GET of a booking page asks about (by the URLconf's own route), or None."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        if self._prefix is None:
            self._prefix = _book_prefix()
        path = get_path_info(environ)
        if not path.startswith(self._prefix):
            return None
        try:
            match = resolve(path)
        except Resolver404:
            return None
        if match.view_name != BOOK_VIEW:
            return None
        bands = QueryDict(environ.get("QUERY_STRING", "")).getlist("bands")
        return match.kwargs["room_id"], match.kwargs["day"], bands


def _answer_and_remember(
    app: replay.WSGIApp, environ: dict[str, Any], start_response: replay.StartResponse, key: replay.Key
) -> Iterable[bytes]:
    """Django's answer, remembered under `key` when it is a refusal that is the same for all."""
    given = replay.ask(app, environ, start_response)
    code = dict((name.lower(), value) for name, value in given.headers).get(REFUSAL_HEADER.lower())
    headers = given.shareable_headers() if given.status[:1] == "4" and code else None
    if code is None or headers is None:
        return given.result
    content = given.content()
    answer = Answer(code=code, status=given.status, headers=headers, content=content)
    _answers.put(key, answer)
    replay.share(SHARED_AS, key, answer)
    return [content]


def _from_another_process(key: replay.Key) -> Answer | None:
    found = replay.shared(SHARED_AS, key)
    return found if isinstance(found, Answer) else None


def forget() -> None:
    """Drop every remembered answer (tests)."""
    _answers.clear()
