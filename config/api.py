"""The JSON API (/api/v1/). Each app contributes a router; the schema is at /api/v1/openapi.json.

Every error answer has the same shape, {"code": ..., "message": ...} (plus "detail" for invalid
input), with the message in the request's language (LocaleMiddleware: Accept-Language or the
"lang" cookie; Japanese by default).
"""

import logging
from typing import Any

import redis
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from lottery.api import router as lottery_router
from reservations.api import router as reservations_router
from reservations.errors import MESSAGES, BookingError

from . import unavailable

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="施設予約 API",
    version="1",
    description="Facilities, rooms, availability and first-come bookings. Errors carry a code and a message.",
    urls_namespace="api",
)
api.add_router("/", reservations_router)
api.add_router("/lottery/", lottery_router)

HTTP_ERRORS: dict[int, tuple[str, Promise]] = {
    400: ("bad_request", _("リクエストの形式が正しくありません。")),
    401: ("not_authenticated", _("ログインが必要です。ログインしてからもう一度お試しください。")),
    403: ("forbidden", _("この操作を行う権限がありません。")),
    404: ("not_found", _("指定されたデータが見つかりません。")),
    405: ("method_not_allowed", _("この操作はこのURLでは使えません。")),
    429: ("throttled", _("アクセスが集中しています。しばらく待ってからもう一度お試しください。")),
}
CSRF_FAILED = _("セキュリティ確認（CSRF）に失敗しました。ページを再読み込みしてからもう一度お試しください。")
INVALID = _("入力内容に誤りがあります。各項目をご確認ください。")
SERVER_ERROR = _("システムエラーが発生しました。時間をおいてもう一度お試しください。")


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(BookingError)
def booking_error(request: HttpRequest, exc: BookingError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # A malformed date anywhere gets the specific date message; anything else the generic one.
    if exc.errors and all(str(e.get("type", "")).startswith("date") for e in exc.errors):
        return _error(request, 400, "bad_date", str(MESSAGES["bad_date"]), detail=exc.errors)
    return _error(request, 400, "invalid", str(INVALID), detail=exc.errors)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's session auth raises HttpError(403, "CSRF check Failed") when the token is missing.
    if exc.status_code == 403 and "csrf" in exc.message.lower():
        return _error(request, 403, "csrf_failed", str(CSRF_FAILED))
    code, message = HTTP_ERRORS.get(exc.status_code, ("error", exc.message))
    return _error(request, exc.status_code, code, str(message))


@api.exception_handler(MultiPartParserError)
def unreadable_body(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A body that cannot be parsed as its Content-Type says (e.g. multipart without a boundary).
    code, message = HTTP_ERRORS[400]
    return _error(request, 400, code, str(message))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    code, message = HTTP_ERRORS[404]
    return _error(request, 404, code, str(message))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
@api.exception_handler(redis.ConnectionError)
@api.exception_handler(redis.TimeoutError)
def service_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database or Redis is unreachable or timed out: 503 + Retry-After (config/unavailable.py)."""
    return unavailable.api_response(request, exc) or server_error(request, exc)


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # An outage can also surface wrapped (a query failing while the answer is serialised).
    answer = unavailable.api_response(request, exc)
    if answer is not None:
        return answer
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "server_error", str(SERVER_ERROR))
