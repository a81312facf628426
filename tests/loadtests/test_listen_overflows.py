"""loadtests/bench.py's listen_overflows(): the kernel's count of connection attempts dropped on a
full listen queue, which the reports give per run. Provoked here with a real socket that never
accepts."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from loadtests.bench import listen_overflows, machine_before, machine_info
from tests.chaos.stack import wait_for


@contextmanager
def overflowing(backlog: int, counted: Callable[[], bool], what: str) -> Iterator[None]:
    """A listener with a queue of `backlog` that never accepts, and eight clients connecting to it,
    held until `counted()` says the kernel dropped some."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(backlog)
        clients = [socket.socket() for _ in range(8)]
        try:
            for client in clients:
                client.setblocking(False)
                client.connect_ex(server.getsockname())
            wait_for(counted, timeout=5, what=what)
            yield
        finally:
            for client in clients:
                client.close()


def test_a_full_listen_queue_is_counted():
    before = listen_overflows()
    assert isinstance(before, int)
    with overflowing(1, lambda: listen_overflows() > before, "an overflow counted"):  # room for one or two
        pass


def test_the_report_gives_the_drops_since_the_run_began():
    started = machine_before()
    with overflowing(0, lambda: machine_info(started)["listen_overflows"] > 0, "drops since the start"):
        pass
    info = machine_info(started, "15")
    assert info["postgres"] == "15" and len(info["loadavg_before"]) == 3
