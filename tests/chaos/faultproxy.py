"""A fault-injecting HTTP proxy in front of the fake Stripe (like toxiproxy, in fifty lines).

Modes: "pass" forwards each request; "error" answers 500 with Stripe's error body (an outage);
"hang" waits `hang_seconds` before answering 500 (a Stripe that stopped answering: the client's
timeout fires first). `seen` counts requests by (mode, method, path prefix).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FORWARDED = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "Stripe-Version",
    "User-Agent",
    "X-Stripe-Client-User-Agent",
)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"
        self.hang_seconds = 5.0
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, mode: str, method: str, prefix: str) -> int:
        with self.lock:
            return sum(
                n
                for (m, verb, path), n in self.seen.items()
                if m == mode and verb == method and path.startswith(prefix)
            )


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _outage(self) -> None:
            body = json.dumps({"error": {"type": "api_error", "message": "injected outage"}}).encode()
            self._reply(500, body, {"Content-Type": "application/json"})

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            mode = proxy.mode
            with proxy.lock:
                proxy.seen[(mode, method, self.path)] += 1
            if mode == "error":
                self._outage()
                return
            if mode == "hang":
                time.sleep(proxy.hang_seconds)
                self._outage()
                return
            request = urllib.request.Request(  # noqa: S310 - the local fake Stripe
                proxy.upstream + self.path,
                data=body,
                method=method,
                headers={k: v for k in FORWARDED if (v := self.headers.get(k)) is not None},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    status, payload, content_type = answer.status, answer.read(), answer.headers.get("Content-Type", "")
            except urllib.error.HTTPError as error:
                status, payload, content_type = error.code, error.read(), error.headers.get("Content-Type", "")
            self._reply(status, payload, {"Content-Type": content_type or "application/json"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler
