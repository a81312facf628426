"""Requests whose client has already gone are not served.

Under overload (the 09:00 opening, the lottery intake) requests wait in the server's queue; a
browser or script that gives up closes its connection, but the server would still do the work,
including a booking or a lottery entry nobody will ever be told about, and that wasted work makes
the queue longer for everyone else. Before anything else is done for a request, this middleware
peeks at the client's socket (uWSGI gives its descriptor as `uwsgi.connection_fd()`, gunicorn
passes it as `gunicorn.socket`): if the client has closed it (end of stream, or reset), the request
is dropped with status 499 ("client closed request", as nginx logs it) and nothing of it runs.
Behind a proxy the same holds when the proxy closes the upstream connection on a client abort
(nginx's default).

A request body is read first (up to ABANDON_CHECK_MAX_BODY bytes; larger bodies are not checked),
so that only what follows the request is looked at. Servers that do not pass the socket (the test
client, runserver, ASGI) are unaffected. The views that write (booking, lottery entry) look again
right before they call their service, since the wait may also end while the request is handled.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from django.http import HttpRequest, HttpResponse

try:  # uWSGI's own module: importable only inside its workers
    import uwsgi  # type: ignore[import-not-found]
except ImportError:
    uwsgi = None

logger = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499
ABANDON_CHECK_MAX_BODY = 64 * 1024


def client_gone(request: HttpRequest) -> bool:
    """True if the client's connection is known to be closed; False if open or unknown."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if length > ABANDON_CHECK_MAX_BODY:
        return False
    held = _client_socket(request)
    if held is None:
        return False
    with held as sock:
        try:
            if length > 0:
                request.body  # noqa: B018 - read it, so that only what follows the request is peeked at
            data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False  # open, nothing more sent: the client is waiting
        except OSError:
            return True  # reset by the client
    return data == b""


def _client_socket(request: HttpRequest) -> AbstractContextManager[socket.socket] | None:
    """The client's socket, to use in a `with` (under uWSGI a duplicate of its descriptor, closed
    afterwards), or None when the server does not give it (the test client, runserver, ASGI)."""
    sock = request.META.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return nullcontext(sock)
    if uwsgi is not None and "uwsgi.version" in request.META:
        try:
            fd = os.dup(uwsgi.connection_fd())
        except OSError:
            return None
        try:
            return socket.socket(fileno=fd)
        except OSError:
            os.close(fd)  # not a socket after all: the duplicate must not leak
            return None
    return None


def dropped() -> HttpResponse:
    """The answer to a request dropped because its client left (nobody receives it)."""
    logger.info("client closed the connection before the request was served: dropped")
    return HttpResponse(status=CLIENT_CLOSED_REQUEST)


class AbandonedRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if client_gone(request):
            return dropped()
        return self.get_response(request)
