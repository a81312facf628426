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
from typing import Any, Generic, Protocol, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import get_path_info
from django.http.cookie import parse_cookie
from django.urls import reverse

from config import release, request_id
from reservations import availability_cache

Key = tuple[Any, ...]
Headers = tuple[tuple[str, str], ...]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
T = TypeVar("T")
A = TypeVar("A", bound="Kept")
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
    _body: bytes | None = None

    def header(self, name: str) -> str | None:
        """The value of a header Django set (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def shareable_headers(self) -> Headers | None:
        """The headers to give again with this answer, or None if it may not be shared."""
        if self.header("set-cookie") is not None or self.header("content-length") is None:
            return None
        if "cookie" in (self.header("vary") or "").lower():
            return None
        return tuple((name, value) for name, value in self.headers if name.lower() not in OWN_HEADERS)

    def body_left(self) -> bool:
        """Whether the body is still to be read from `result`."""
        return self._body is None

    def content(self) -> bytes:
        """The whole body, read once, the response closed afterwards (Django's request_finished)."""
        if self._body is None:
            try:
                self._body = b"".join(self.result)
            finally:
                close = getattr(self.result, "close", None)
                if close is not None:
                    close()
        return self._body


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


class Kept(Protocol):
    """What a layer keeps of an answer: enough to give it again."""

    @property
    def status(self) -> str: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def content(self) -> bytes: ...


class Layer(Generic[A]):
    """A WSGI layer in front of Django that gives again the answers it kept (config/wsgi.py).

    A subclass says which requests it may answer and how to tell that a kept answer still stands
    (`asked`), which of Django's answers it keeps (`keep`), and what giving one again does besides
    (`given`). The rest is the same for all: this process's memory first, then what another
    process shared, else Django, whose answer is kept and shared when the subclass says so. Any
    error on the way leaves the request to Django, as it would be without the layer."""

    shared_as: str  # what its answers are filed as among those shared through the cache
    memory: Memory[A]
    # A view and the arguments of an example path, the first of them 1: the layer only ever looks
    # at GETs under the example's path up to that argument (`/book/`, `/facilities/`).
    route: tuple[str, dict[str, Any]]

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._prefix: str | None = None

    def path_under_route(self, environ: dict[str, Any]) -> str | None:
        """The path of a GET under the route's start (from the URLconf itself), else None."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        if self._prefix is None:
            example = reverse(self.route[0], kwargs=self.route[1])
            self._prefix = example[: example.index("/1/") + 1]
        path = get_path_info(environ)
        return path if path.startswith(self._prefix) else None

    def asked(self, environ: dict[str, Any]) -> tuple[Key, Callable[[A], bool]] | None:
        """The question and the check a kept answer must pass, or None for Django alone."""
        raise NotImplementedError

    def keep(self, environ: dict[str, Any], given: Given) -> A | None:
        """What to keep of Django's answer, or None (`given.content()` reads the body)."""
        raise NotImplementedError

    def given(self, answer: A) -> None:
        """Called each time a kept answer is given again."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key: Key | None = None
        try:
            asked = self.asked(environ)
            if asked is not None:
                key, stands = asked
                kept = self.memory.get(key)
                answer = kept if kept is not None else self._from_another_process(key)
                if answer is not None and stands(answer):
                    if kept is None:
                        self.memory.put(key, answer)
                    self.given(answer)
                    return give(environ, start_response, answer.status, answer.headers, answer.content)
        except Exception:  # Django answers it, as it would without this layer
            logger.debug("%s replay skipped", self.shared_as, exc_info=True)
            key = None
        if key is None:
            return self.app(environ, start_response)
        answered = ask(self.app, environ, start_response)
        answer = self.keep(environ, answered)
        if answer is None:
            return answered.result if answered.body_left() else [answered.content()]
        self.memory.put(key, answer)
        share(self.shared_as, key, answer)
        return [answered.content()]

    def _from_another_process(self, key: Key) -> A | None:
        # Filed under this kind and this code's fingerprint: only this layer, running this code,
        # shares there. Anything else would fail `stands` and leave the request to Django.
        return shared(self.shared_as, key)  # type: ignore[no-any-return]
