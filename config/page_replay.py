"""The availability pages at 09:00, given in front of Django (config/wsgi.py wraps the application).

At the opening every resident first loads their facility's month or week grid. Django serves it
from the availability cache (`availability_cache.facility_page_versioned`): rendered once per
facility version, language, URL and minute, without the request, so the same for everyone who asks
the same question. What is left of its cost is Django's own: the request object, its signals, the
middleware stack, the URL resolver, and fetching the page from Redis.

So this WSGI layer keeps, per process, the last grid answer Django gave to each question
(config/replay.py: the URL, the language, the catalogue version...; and whether htmx asked), with
the stamp of the rendering it showed, shares it with the other processes through the cache, and
gives it again for as long as `availability_cache.still_served` says Django would still serve that
rendering: it was rendered at the facility's current version in the current minute (one small read
from Redis), or it is outdated by bookings alone and younger than AVAILABILITY_RERENDER_SECONDS (no
read at all). Anything else goes to Django as before: a rendering no longer served, a question not
yet answered here, anything but a GET, a request while the waiting room may be gating, any error
on the way.

Pages given here are page views like any other: they are counted as AccessCountMiddleware counts
them (kiosks/access_counter.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone

from config import replay
from kiosks import access_counter
from reservations import availability_cache, waiting_room

logger = logging.getLogger(__name__)

MONTH_VIEW = "reservations:facility_month"
# Per process: the opening month and its weeks of 71 facilities, in two languages, with room to
# spare. A grid page is tens of kilobytes, so this bounds a process's memory to tens of megabytes.
MAX_ANSWERS = 1_000
SHARED_AS = "page"


@dataclasses.dataclass(frozen=True)
class Answer:
    page: availability_cache.Page  # its stamp (the HTML is `content`, not kept twice)
    status: str
    headers: replay.Headers
    content: bytes
    channel: str | None  # where a page view of it is counted (None: not counted)


_answers: replay.Memory[Answer] = replay.Memory(MAX_ANSWERS)
replayed = 0  # answers given from memory by this process (for tests and profiling)


def _grid_prefix() -> str:
    """The start every grid page's path shares (`/facilities/`), from the URLconf itself."""
    example = reverse(MONTH_VIEW, kwargs={"facility_id": 1, "year": 2000, "month": 1})
    return example[: example.index("/1/") + 1]


class PageReplay:
    """WSGI middleware around Django's application (config/wsgi.py)."""

    def __init__(self, app: replay.WSGIApp) -> None:
        self.app = app
        self._prefix: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: replay.StartResponse) -> Iterable[bytes]:
        global replayed
        key: replay.Key | None = None
        try:
            if self._may_be_grid(environ):
                now = timezone.now()
                if not waiting_room.may_gate(now):
                    key = replay.question(environ, "HTTP_HX_REQUEST" in environ)
                    kept = _answers.get(key)
                    answer = kept or _from_another_process(key)
                    if answer is not None and availability_cache.still_served(answer.page, now):
                        if kept is None:
                            _answers.put(key, answer)
                        if answer.channel is not None:
                            access_counter.count_page(answer.channel)
                        replayed += 1
                        return replay.give(environ, start_response, answer.status, answer.headers, answer.content)
        except Exception:  # Django answers it, as it would without this shortcut
            logger.debug("page replay skipped", exc_info=True)
            key = None
        if key is None:
            return self.app(environ, start_response)
        return _answer_and_remember(self.app, environ, start_response, key)

    def _may_be_grid(self, environ: dict[str, Any]) -> bool:
        """A GET under the grids' path (only a grid's own answer, marked by the view, is ever kept)."""
        if environ.get("REQUEST_METHOD") != "GET":
            return False
        if self._prefix is None:
            self._prefix = _grid_prefix()
        return str(environ.get("PATH_INFO", "")).startswith(self._prefix)


def _answer_and_remember(
    app: replay.WSGIApp, environ: dict[str, Any], start_response: replay.StartResponse, key: replay.Key
) -> Iterable[bytes]:
    """Django's answer, remembered under `key` when it is a shared availability page: the view
    marks the response with the rendering it shows (`views._cached_page`), and Django's WSGI
    handler hands that response on as the body."""
    given = replay.ask(app, environ, start_response)
    page = getattr(given.result, "shared_page", None)
    headers = given.shareable_headers() if given.status[:1] == "2" else None
    if not isinstance(page, availability_cache.Page) or headers is None:
        return given.result
    content = given.content()
    answer = Answer(
        page=dataclasses.replace(page, html=""),
        status=given.status,
        headers=headers,
        content=content,
        channel=_counted_in(environ, headers),
    )
    _answers.put(key, answer)
    replay.share(SHARED_AS, key, answer)
    return [content]


def _from_another_process(key: replay.Key) -> Answer | None:
    found = replay.shared(SHARED_AS, key)
    return found if isinstance(found, Answer) else None


def _counted_in(environ: dict[str, Any], headers: replay.Headers) -> str | None:
    """The channel AccessCountMiddleware counted this answer in (None if it did not count it)."""
    named = {name.lower(): value for name, value in headers}
    if not access_counter.counts_as_page_view(
        method="GET",
        status=200,
        fragment="HTTP_HX_REQUEST" in environ,
        content_type=named.get("content-type", ""),
        waiting_room="x-waiting-room" in named,
    ):
        return None
    return access_counter.channel_for_path(str(environ.get("PATH_INFO", "")))


def forget() -> None:
    """Drop every remembered answer (tests)."""
    _answers.clear()
