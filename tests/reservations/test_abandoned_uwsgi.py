"""The production web server (uWSGI with config/uwsgi.ini), for real: a request whose client left
while it waited is dropped by reservations/abandoned.py, a waiting client is served, and SIGTERM
lets the requests in flight finish; the process environment stays out of requests. The application
is tests/reservations/uwsgi_probe.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loadtests.bench import ROOT, uwsgi_command
from tests.chaos.stack import free_port, port_open, wait_for


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def send(self, request_id: str, wait: float, *, body: bytes = b"") -> socket.socket:
        """Sends a request and returns the open connection (the answer is not read yet)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        method = "POST" if body else "GET"
        head = f"{method} /probe?id={request_id}&wait={wait} HTTP/1.1\r\nHost: probe\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"\r\n" + body)
        return sock

    def outcomes(self) -> dict[str, str]:
        if not self.log.exists():
            return {}
        return dict(line.split() for line in self.log.read_text().splitlines())

    def outcome(self, request_id: str) -> str:
        wait_for(lambda: request_id in self.outcomes(), timeout=10, what=f"request {request_id} handled")
        return self.outcomes()[request_id]


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "probe.log"
    env = {
        **os.environ,
        "PROBE_LOG": str(log),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROBE_SECRET": "must-not-reach-requests",
    }
    cmd = [
        *uwsgi_command(
            f"127.0.0.1:{port}", processes=1, threads=2, module="tests.reservations.uwsgi_probe:application"
        ),
        "--listen",
        "64",
        "--disable-logging",
    ]
    out = (tmp_path / "uwsgi.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    try:
        wait_for(lambda: port_open(port) or proc.poll() is not None, timeout=60, what="uWSGI listening")
        assert proc.poll() is None, (tmp_path / "uwsgi.log").read_text()
        ready = Server(proc, port, log)
        # uWSGI listens before its worker has loaded the application (and before the master takes
        # SIGTERM as a graceful stop): the tests start once a first request has been answered.
        assert read_all(ready.send("ready", 0)).endswith(b"served")
        yield ready
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
        out.close()


def test_a_waiting_client_is_served(server):
    sock = server.send("waiting", 0.3)
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"served")
    assert b"Connection: close" in answer
    assert server.outcome("waiting") == "served"


@pytest.mark.parametrize("body", [b"", b"bands=3&purpose=1"], ids=["GET", "POST with a body"])
def test_a_request_whose_client_left_while_it_waited_is_dropped(server, body):
    sock = server.send("left", 0.5, body=body)
    sock.close()  # the resident gave up before the server got to the request
    assert server.outcome("left") == "dropped"
    # The same server goes on serving whoever waits.
    assert read_all(server.send("next", 0)).endswith(b"served")


def test_sigterm_lets_the_requests_in_flight_finish(server):
    sock = server.send("in-flight", 1.5)
    time.sleep(0.3)  # the request is being handled
    server.proc.send_signal(signal.SIGTERM)
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"served")
    assert server.proc.wait(timeout=30) is not None
    assert not port_open(server.port)


def test_an_idle_server_stops_at_once_on_sigterm(server):
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    assert time.monotonic() - started < 10
    assert not port_open(server.port)


def test_the_process_environment_stays_out_of_the_request(server):
    """Settings such as DATABASE_URL (with its password) must not reach request.META, where an error
    report would print them."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /?environ HTTP/1.1\r\nHost: probe\r\n\r\n")
    names = read_all(sock).split(b"\r\n\r\n", 1)[1].decode().split("\n")
    assert {"REQUEST_METHOD", "PATH_INFO", "wsgi.input"} <= set(names)
    assert "PROBE_SECRET" not in names and "PROBE_LOG" not in names
