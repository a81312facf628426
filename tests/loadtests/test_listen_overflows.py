"""loadtests/bench.py's listen_overflows(): the kernel's count of connection attempts dropped on a
full listen queue, which the reports give per run. Provoked here with a real socket that never
accepts."""

from __future__ import annotations

import socket

from loadtests.bench import listen_overflows, machine_before, machine_info
from tests.chaos.stack import wait_for


def test_a_full_listen_queue_is_counted():
    before = listen_overflows()
    assert isinstance(before, int)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # room for one or two waiting connections; nothing accepts
        clients = []
        try:
            for _ in range(8):
                client = socket.socket()
                client.setblocking(False)
                client.connect_ex(server.getsockname())
                clients.append(client)
            wait_for(lambda: listen_overflows() > before, timeout=5, what="an overflow counted")
        finally:
            for client in clients:
                client.close()


def test_the_report_gives_the_drops_since_the_run_began():
    started = machine_before()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        clients = [socket.socket() for _ in range(8)]
        try:
            for client in clients:
                client.setblocking(False)
                client.connect_ex(server.getsockname())
            wait_for(lambda: machine_info(started)["listen_overflows"] > 0, timeout=5, what="drops since the start")
        finally:
            for client in clients:
                client.close()
    info = machine_info(started, "15")
    assert info["postgres"] == "15" and len(info["loadavg_before"]) == 3
