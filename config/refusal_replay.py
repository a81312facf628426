"""The losers' answer at 09:00, replayed in front of Django (config/wsgi.py wraps the application).

Most of the opening crowd asks for the booking page of a slot that is already gone. `views.book`
refuses that before it reads the session (availability is public), so the answer, status, headers
and page, is the same for everyone who asks the same URL in the same language. Building Django's
request, its signals, the middleware stack and the URL resolver cost about as much again as
deciding it.

So this WSGI layer keeps, per process, the last such answer Django produced for each question, and
answers a repeat of the question with it, after deciding afresh, with the very function the view
uses (`views.early_refusal_code`), that the slot is still refused with the same code. A question is
everything in the request that could change that answer: the path and query string, the host and
scheme, the language cookie and Accept-Language (which LocaleMiddleware chooses from), and the
catalogue version. Anything else goes to Django as before: another code, a slot that has become
free, a POST (the CSRF check comes first), a request while the waiting room may be gating the
booking step, or any error on the way (Django then answers it, 503 and all).

It never answers anything Django did not produce for the same question, and never an answer that
set a cookie or varied by cookie (something read the session); only the request id is the
request's own (config/request_id.py). Refusals are not page views, so nothing is counted
(kiosks/access_counter.py counts 2xx pages only).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import get_path_info
from django.http import QueryDict
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from config import request_id
from reservations import availability_cache, waiting_room
from reservations.views import REFUSAL_HEADER, early_refusal_code

logger = logging.getLogger(__name__)

BOOK_VIEW = "reservations:book"
MAX_ANSWERS = 20_000  # per process; a few hundred hot slots × languages at 09:00
# Per request, or made again for each answer.
OWN_HEADERS = frozenset({request_id.HEADER.lower(), "set-cookie", "date"})
# What else in the request may change the answer (besides path, query and language cookie).
ASKED_WITH = ("SCRIPT_NAME", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "HTTP_ACCEPT_LANGUAGE")

Key = tuple[Any, ...]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Answer:
    code: str
    status: str
    headers: tuple[tuple[str, str], ...]
    content: bytes


_answers: dict[Key, Answer] = {}
_remembering = threading.Lock()  # threaded workers: evicting the oldest must not race another insert
replayed = 0  # answers served from memory by this process (for tests and profiling)


def _book_prefix() -> str:
    """The start every booking page's path shares (`/book/`), from the URLconf itself."""
    example = reverse(BOOK_VIEW, kwargs={"room_id": 1, "day": dt.date(2000, 1, 1)})
    return example[: example.index("/1/") + 1]


class RefusalReplay:
    """WSGI middleware around Django's application (config/wsgi.py)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._prefix: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key: Key | None = None
        try:
            question = self._question(environ)
            if question is not None and not waiting_room.may_gate(timezone.now()):
                key = _key(environ)
                answer = _answers.get(key)
                if answer is not None and early_refusal_code(*question) == answer.code:
                    return _replay(environ, start_response, answer)
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


def _key(environ: dict[str, Any]) -> Key:
    language = parse_cookie(environ.get("HTTP_COOKIE", "")).get(settings.LANGUAGE_COOKIE_NAME)
    return (
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        language,
        *(environ.get(name) for name in ASKED_WITH),
        availability_cache.catalogue_version(),
    )


def _replay(environ: dict[str, Any], start_response: StartResponse, answer: Answer) -> list[bytes]:
    global replayed
    rid = request_id.accept_or_make(environ.get(request_id.META_KEY))
    start_response(answer.status, [*answer.headers, (request_id.HEADER, rid)])
    replayed += 1
    return [answer.content]


def _answer_and_remember(
    app: WSGIApp, environ: dict[str, Any], start_response: StartResponse, key: Key
) -> Iterable[bytes]:
    """Django's answer, remembered under `key` when it is a refusal that is the same for all."""
    seen: dict[str, Any] = {}

    def noting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return start_response(status, headers, exc_info)

    result = app(environ, noting)
    remembered = _rememberable(seen.get("status", ""), seen.get("headers", []))
    if remembered is None:
        return result
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # Django's request_finished
    _remember(key, Answer(code=remembered[0], status=seen["status"], headers=remembered[1], content=content))
    return [content]


def _rememberable(status: str, headers: list[tuple[str, str]]) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """The refusal code and the headers to replay, or None if this answer is not to be replayed."""
    if status[:1] != "4":
        return None
    named = {name.lower(): value for name, value in headers}
    code = named.get(REFUSAL_HEADER.lower())
    if not code or "set-cookie" in named or "content-length" not in named:
        return None  # not a refusal; a cookie set for this client; a streamed answer
    if "cookie" in named.get("vary", "").lower():  # something read the session: not the same for all
        return None
    return code, tuple((name, value) for name, value in headers if name.lower() not in OWN_HEADERS)


def _remember(key: Key, answer: Answer) -> None:
    with _remembering:
        if len(_answers) >= MAX_ANSWERS:
            _answers.pop(next(iter(_answers)), None)  # the oldest
        _answers[key] = answer


def forget() -> None:
    """Drop every remembered answer (tests)."""
    _answers.clear()
