"""A WSGI application that tests/reservations/test_abandoned_uwsgi.py runs under a real uWSGI
(config/uwsgi.ini): each request waits `wait` seconds, then goes through
reservations.abandoned's middleware, and what happened is written to PROBE_LOG, since a client that
left never reads the answer: "<id> served" or "<id> dropped". `/?environ` lists the environ's names."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402 - after django.setup()
from django.http import HttpRequest, HttpResponse  # noqa: E402

from reservations.abandoned import AbandonedRequestMiddleware  # noqa: E402


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"served", content_type="text/plain")


_middleware = AbandonedRequestMiddleware(_view)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("QUERY_STRING") == "environ":  # the names the server put in the environ
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["\n".join(sorted(environ)).encode()]
    request = WSGIRequest(environ)
    time.sleep(float(request.GET.get("wait", "0")))
    response = _middleware(request)
    outcome = "served" if response.status_code == 200 else "dropped"
    with open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{request.GET.get('id', '')} {outcome}\n")
    start_response(f"{response.status_code} X", [("Content-Type", "text/plain")])
    return [response.content]
