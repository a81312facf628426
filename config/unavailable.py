"""503 "temporarily unavailable" instead of 500 when PostgreSQL or Redis cannot be reached.

While the database restarts, fails over or refuses connections, a request's query raises
OperationalError (or InterfaceError on a connection that broke mid-request). Nothing half-done is
left behind (every write is one transaction, rolled back by the failure), so the honest answer is
"try again shortly": 503 with Retry-After and a message in the person's language, JSON for the
API, a page without database access for everything else. The next request reconnects on its own
(CONN_HEALTH_CHECKS). A statement or lock timeout (an overloaded database) is answered the same way.

Three places catch it: `ServiceUnavailableMiddleware.process_exception` (views), the API's exception
handler (config/api.py calls `api_response`) and `server_error` (handler500: failures inside other
middleware, e.g. a session save while the database is down).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import pydantic_core
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext_lazy
from django.views.defaults import server_error as default_server_error

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# The API serialises query results lazily, while building the answer; pydantic then reports a
# failing query as a ValidationError carrying only the error's text, "<class name>: <message>".
_BY_NAME = {
    "OperationalError": "database",
    "InterfaceError": "database",
    "ConnectionError": "redis",
    "TimeoutError": "redis",
}
CODE = "service_unavailable"
# Not "nothing was saved": a failure after a commit (a session save in a middleware) also lands here.
MESSAGE = gettext_lazy(
    "ただいまシステムに接続しにくくなっています。しばらく待ってから、もう一度お試しください。"
    "予約や申込が済んだかどうかは「予約の確認・取消」でご確認いただけます。"
)


def kind_of(error: BaseException | None) -> str | None:
    """Which service could not answer, "database" or "redis", when that is what `error` (or the
    error it was raised from) means; None for anything else, which stays a 500."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DATABASE_ERRORS):
            return "database"
        if isinstance(error, REDIS_ERRORS):
            return "redis"
        if isinstance(error, pydantic_core.ValidationError):
            for detail in error.errors():
                if detail.get("type") == "get_attribute_error":
                    text = str((detail.get("ctx") or {}).get("error", ""))
                    found = _BY_NAME.get(text.split(":", 1)[0])
                    if found is not None:
                        return found
        error = error.__cause__
    return None


def retry_after() -> int:
    return int(getattr(settings, "SERVICE_UNAVAILABLE_RETRY_AFTER", 10))


def _log(request: HttpRequest, kind: str, error: BaseException) -> None:
    # A warning with the error's class and first line; no traceback: during an outage every
    # request lands here, and the cause is the same for all of them.
    text = str(error).strip()
    logger.warning(
        "%s unavailable on %s %s: %s: %s",
        kind,
        request.method,
        request.path,
        type(error).__name__,
        text.splitlines()[0] if text else "",
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def response(request: HttpRequest, error: BaseException, kind: str = "database") -> HttpResponse:
    _log(request, kind, error)
    seconds = retry_after()
    if _wants_json(request):
        answer: HttpResponse = JsonResponse({"code": CODE, "message": str(MESSAGE)}, status=503)
    else:
        # No context processors and no base template: rendering may not touch the database.
        html = loader.get_template("503.html").render({"message": MESSAGE, "retry_after": seconds})
        answer = HttpResponse(html, status=503)
    answer["Retry-After"] = str(seconds)
    answer["Cache-Control"] = "no-store"
    answer._has_been_logged = True  # type: ignore[attr-defined]  # logged above, as a warning
    return answer


def api_response(request: HttpRequest, error: BaseException) -> HttpResponse | None:
    """For the API's exception handlers (config/api.py): the 503, or None when `error` is not an
    outage."""
    kind = kind_of(error)
    return None if kind is None else response(request, error, kind)


class ServiceUnavailableMiddleware:
    """Turns a database or Redis outage raised by a view into 503 + Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        kind = kind_of(exception)
        return None if kind is None else response(request, exception, kind)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a 503 when what failed was the database or Redis (e.g. in a middleware, outside
    any view), Django's plain 500 page otherwise. Django calls it while the exception is handled."""
    error = sys.exc_info()[1]
    kind = kind_of(error)
    if kind is not None and error is not None:
        return response(request, error, kind)
    return default_server_error(request, template_name)
