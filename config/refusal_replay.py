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
booking step, or any error on the way (Django then answers it, 503 and all). Refusals are not
page views, so nothing is counted (kiosks/access_counter.py counts 2xx pages only).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone

from config import replay
from reservations import waiting_room
from reservations.views import REFUSAL_HEADER, early_refusal_code

BOOK_VIEW = "reservations:book"
MAX_ANSWERS = 20_000  # per process; a few hundred hot slots × languages at 09:00


@dataclass(frozen=True)
class Answer:
    code: str
    status: str
    headers: replay.Headers
    content: bytes


_answers: replay.Memory[Answer] = replay.Memory(MAX_ANSWERS)
replayed = 0  # answers served from memory by this process (for tests and profiling)


class RefusalReplay(replay.Layer[Answer]):
    """The "taken" (and other alike) refusals, given again while the slot is still refused alike."""

    shared_as = "refusal"
    memory = _answers
    route = (BOOK_VIEW, {"room_id": 1, "day": dt.date(2000, 1, 1)})

    def asked(self, environ: dict[str, Any]) -> tuple[replay.Key, Callable[[Answer], bool]] | None:
        question = self._question(environ)
        if question is None or waiting_room.may_gate(timezone.now()):
            return None
        return replay.question(environ), lambda answer: early_refusal_code(*question) == answer.code

    def keep(self, environ: dict[str, Any], given: replay.Given) -> Answer | None:
        """A refusal that is the same for all."""
        code = given.header(REFUSAL_HEADER)
        headers = given.shareable_headers() if given.status[:1] == "4" and code else None
        if code is None or headers is None:
            return None
        return Answer(code=code, status=given.status, headers=headers, content=given.content())

    def given(self, answer: Answer) -> None:
        global replayed
        replayed += 1

    def _question(self, environ: dict[str, Any]) -> tuple[int, dt.date, list[str]] | None:
        """The slot and bands a GET of a booking page asks about (by the URLconf's own route), or None."""
        path = self.path_under_route(environ)
        if path is None:
            return None
        found = _slot_asked(path, environ.get("QUERY_STRING", ""))
        return None if found is None else (found[0], found[1], list(found[2]))


@functools.lru_cache(maxsize=MAX_ANSWERS)
def _slot_asked(path: str, query: str) -> tuple[int, dt.date, tuple[str, ...]] | None:
    """What a booking page's URL asks, worked out once per URL: the URLconf and the query parser
    cost about a tenth of what replaying the answer does."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name != BOOK_VIEW:
        return None
    return match.kwargs["room_id"], match.kwargs["day"], tuple(QueryDict(query).getlist("bands"))


def forget() -> None:
    """Drop every remembered answer, and what URLs asked (tests, which may change the URLconf)."""
    _answers.clear()
    _slot_asked.cache_clear()
