"""reservations/abandoned.py: a request whose client closed its connection is dropped (499) before any
work is done for it; a waiting client is served. Real sockets (socketpair), as gunicorn passes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from reservations.abandoned import AbandonedRequestMiddleware, client_gone


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def served(calls: list[HttpRequest]):
    def view(request: HttpRequest) -> HttpResponse:
        calls.append(request)
        return HttpResponse("ok")

    return view


def test_a_waiting_client_is_served(pair):
    server, _client = pair
    calls: list[HttpRequest] = []
    request = RequestFactory().get("/lottery/", **{"gunicorn.socket": server})
    response = AbandonedRequestMiddleware(served(calls))(request)
    assert response.status_code == 200 and calls == [request]


def test_a_client_that_closed_the_connection_is_dropped_before_the_view(pair):
    server, client = pair
    client.close()
    calls: list[HttpRequest] = []
    request = RequestFactory().get("/lottery/", **{"gunicorn.socket": server})
    response = AbandonedRequestMiddleware(served(calls))(request)
    assert response.status_code == 499 and calls == []


def test_a_post_is_judged_by_what_follows_its_body(pair):
    server, client = pair
    request = RequestFactory().post("/lottery/apply/1/2027-01-09/", {"bands": "3"}, **{"gunicorn.socket": server})
    assert not client_gone(request)
    client.close()
    assert client_gone(request)
    assert request.POST["bands"] == "3"  # the body read for the check is still there for the view


def test_a_pipelined_next_request_means_the_client_is_there(pair):
    server, client = pair
    client.sendall(b"GET /next HTTP/1.1\r\n\r\n")
    client.close()
    request = RequestFactory().get("/lottery/", **{"gunicorn.socket": server})
    assert not client_gone(request)


def test_servers_that_pass_no_socket_are_unaffected():
    calls: list[HttpRequest] = []
    request = RequestFactory().get("/lottery/")
    assert AbandonedRequestMiddleware(served(calls))(request).status_code == 200 and calls
