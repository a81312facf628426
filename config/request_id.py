"""One id per request, in every log line it causes (docs/deployment.md: logs).

The load balancer's `X-Request-ID` is kept when it is well-formed (so its access log and ours
share the id), otherwise a fresh one is made; the response echoes it. The id lives in a
contextvar, which `RequestIdFilter` copies onto every log record; Celery tasks published while a
request is handled carry it in their headers, and a task without one logs under its own task id.

Hot path: a regular expression match and a contextvar; no database, no Redis.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Letters, digits and a few separators, at most 64 characters (the audit log stores it): UUIDs, nginx's $request_id, AWS's
# "Root=1-…" trace ids. Anything else (spaces, newlines, quotes) could forge or garble log lines.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=+/-]{0,63}")
NO_REQUEST = "-"

request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current() -> str:
    """The id of the request (or task) being handled, or "-" outside one."""
    return request_id.get()


def accept_or_make(value: str | None) -> str:
    if value and WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every other middleware's log lines carry the id too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accept_or_make(request.META.get(META_KEY))
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = rid
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (the formatters print it); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


# --- Celery: carry the id from the publisher to the task ---------------------------------------------


def _before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    rid = request_id.get()
    if headers is not None and rid != NO_REQUEST:
        headers.setdefault("request_id", rid)


_task_tokens: dict[str, Any] = {}


def _task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    sent = getattr(getattr(task, "request", None), "request_id", None)
    rid = sent if isinstance(sent, str) and WELL_FORMED.fullmatch(sent) else f"task-{task_id}"
    _task_tokens[task_id or ""] = request_id.set(rid)


def _task_postrun(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        request_id.reset(token)


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_before_task_publish, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
