"""What the WSGI layers in front of Django share (config/refusal_replay.py, config/page_replay.py):
the question a request asks, Django's answer kept per process, and that answer given again.

A question is everything in the request that could change an answer that reads no session: the
path and query string, the host and scheme, the language cookie and Accept-Language (which
LocaleMiddleware chooses from), and the catalogue version. An answer is only ever kept if Django
gave it to the same question, set no cookie, did not vary by cookie (nothing read the session) and
said its length (it was not streamed). Only the request id (config/request_id.py) and the date are
the request's own.

A process may also share what it kept with the others through the cache (`share`, `shared`), filed
under the question and the code's fingerprint (config/release.py): at 09:00 each of the web
processes would otherwise ask Django once for every answer another process already has.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http.cookie import parse_cookie

from config import release, request_id
from reservations import availability_cache

Key = tuple[Any, ...]
Headers = tuple[tuple[str, str], ...]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
T = TypeVar("T")
SHARED_SECONDS = 300
logger = logging.getLogger(__name__)

# Per request, or made again for each answer.
OWN_HEADERS = frozenset({request_id.HEADER.lower(), "set-cookie", "date"})
# What else in the request may change the answer (besides path, query and language cookie).
ASKED_WITH = ("SCRIPT_NAME", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "HTTP_ACCEPT_LANGUAGE")


def question(environ: dict[str, Any], *more: object) -> Key:
    """The question a request asks (see the module docstring), with `more` that the caller adds."""
    language = parse_cookie(environ.get("HTTP_COOKIE", "")).get(settings.LANGUAGE_COOKIE_NAME)
    return (
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        language,
        *(environ.get(name) for name in ASKED_WITH),
        availability_cache.catalogue_version(),
        *more,
    )


@dataclass
class Memory(Generic[T]):
    """Answers kept by one process, the oldest forgotten first once `size` are kept."""

    size: int
    _kept: dict[Key, T] = field(default_factory=dict)
    _writing: threading.Lock = field(default_factory=threading.Lock)  # threaded workers

    def get(self, key: Key) -> T | None:
        return self._kept.get(key)

    def put(self, key: Key, answer: T) -> None:
        with self._writing:
            if len(self._kept) >= self.size and key not in self._kept:
                self._kept.pop(next(iter(self._kept)), None)
            self._kept[key] = answer

    def clear(self) -> None:
        with self._writing:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


@dataclass
class Given:
    """What Django answered: its status and headers, and the body still to be read."""

    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    result: Iterable[bytes] = ()

    def shareable_headers(self) -> Headers | None:
        """The headers to give again with this answer, or None if it may not be shared."""
        named = {name.lower(): value for name, value in self.headers}
        if "set-cookie" in named or "content-length" not in named or "cookie" in named.get("vary", "").lower():
            return None
        return tuple((name, value) for name, value in self.headers if name.lower() not in OWN_HEADERS)

    def content(self) -> bytes:
        """The whole body, the response closed afterwards (Django's request_finished)."""
        try:
            return b"".join(self.result)
        finally:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()


def ask(app: WSGIApp, environ: dict[str, Any], start_response: StartResponse) -> Given:
    """Django's answer to the request, its status and headers noted on the way to the client."""
    given = Given()

    def noting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        given.status, given.headers = status, headers
        return start_response(status, headers, exc_info)

    given.result = app(environ, noting)
    return given


def give(
    environ: dict[str, Any], start_response: StartResponse, status: str, headers: Headers, content: bytes
) -> list[bytes]:
    """A kept answer given again, with the request's own id."""
    rid = request_id.accept_or_make(environ.get(request_id.META_KEY))
    start_response(status, [*headers, (request_id.HEADER, rid)])
    return [content]


def _shared_key(kind: str, key: Key) -> str:
    question_digest = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    return f"replay:{kind}:{release.fingerprint()}:{question_digest}"


def share(kind: str, key: Key, answer: object) -> None:
    """Offer an answer kept under `key` to the other processes (for SHARED_SECONDS)."""
    try:
        cache.set(_shared_key(kind, key), answer, SHARED_SECONDS)
    except Exception:  # noqa: BLE001 - the outage is logged by config/redis_cache.py
        logger.debug("replay: could not share %s", kind)


def shared(kind: str, key: Key) -> Any:
    """What another process shared under `key`, or None (also with the cache down)."""
    try:
        return cache.get(_shared_key(kind, key))
    except Exception:  # noqa: BLE001
        return None
