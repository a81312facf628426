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
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from config import replay
from kiosks import access_counter
from reservations import availability_cache, waiting_room

MONTH_VIEW = "reservations:facility_month"
# Per process: the opening month and its weeks of 71 facilities, in two languages, with room to
# spare. A grid page is tens of kilobytes, so this bounds a process's memory to tens of megabytes.
MAX_ANSWERS = 1_000


@dataclasses.dataclass(frozen=True)
class Answer:
    page: availability_cache.Page  # its stamp (the HTML is `content`, not kept twice)
    status: str
    headers: replay.Headers
    content: bytes
    channel: str | None  # where a page view of it is counted (None: not counted)


_answers: replay.Memory[Answer] = replay.Memory(MAX_ANSWERS)
replayed = 0  # answers given from memory by this process (for tests and profiling)


class PageReplay(replay.Layer[Answer]):
    """The month and week grids, given again while Django would still serve their rendering."""

    shared_as = "page"
    memory = _answers
    # Only a grid's own answer, marked by the view, is ever kept.
    route = (MONTH_VIEW, {"facility_id": 1, "year": 2000, "month": 1})

    def asked(self, environ: dict[str, Any]) -> tuple[replay.Key, Callable[[Answer], bool]] | None:
        if self.path_under_route(environ) is None:
            return None
        now = timezone.now()
        if waiting_room.may_gate(now):
            return None
        key = replay.question(environ, "HTTP_HX_REQUEST" in environ)
        return key, lambda answer: availability_cache.still_served(answer.page, now)

    def keep(self, environ: dict[str, Any], given: replay.Given) -> Answer | None:
        """A shared availability page: the view marks the response with the rendering it shows
        (`views._cached_page`), and Django's WSGI handler hands that response on as the body."""
        page = getattr(given.result, "shared_page", None)
        headers = given.shareable_headers() if given.status[:1] == "2" else None
        if not isinstance(page, availability_cache.Page) or headers is None:
            return None
        return Answer(
            page=dataclasses.replace(page, html=""),
            status=given.status,
            headers=headers,
            content=given.content(),
            channel=_counted_in(environ, given),
        )

    def given(self, answer: Answer) -> None:
        global replayed
        if answer.channel is not None:
            access_counter.count_page(answer.channel)
        replayed += 1


def _counted_in(environ: dict[str, Any], given: replay.Given) -> str | None:
    """The channel AccessCountMiddleware counted this answer in (None if it did not count it)."""
    if not access_counter.counts_as_page_view(
        method="GET",
        status=200,
        fragment="HTTP_HX_REQUEST" in environ,
        content_type=given.header("content-type") or "",
        waiting_room=given.header("x-waiting-room") is not None,
    ):
        return None
    return access_counter.channel_for_path(str(environ.get("PATH_INFO", "")))


def forget() -> None:
    """Drop every remembered answer (tests)."""
    _answers.clear()
