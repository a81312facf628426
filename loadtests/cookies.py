"""A cookie jar for the simulated browsers: the standard library's, with the Cookie header kept.

Locust's FastHttpSession asks its jar for the Cookie header before every request, and
http.cookiejar works it out afresh each time (expiry sweep, domain and path policy for every
cookie): about a tenth of a millisecond of the load generator's CPU per request, on the same two
cores as the server under test. Our simulated residents talk to one site, whose cookies (session,
CSRF, language) are all set for "/", so every cookie they hold goes with every request. This jar
builds that header once and again only when its cookies change (set, extracted from a response,
cleared) or one of them expires; parsing Set-Cookie stays the standard library's.
"""

from __future__ import annotations

import time
from http.cookiejar import Cookie, CookieJar
from typing import Any


class QuickCookieJar(CookieJar):
    def __init__(self) -> None:
        super().__init__()
        self._header: str | None = None
        self._expires = float("inf")  # the earliest expiry among the cookies in the header

    def set_cookie(self, cookie: Cookie) -> None:
        super().set_cookie(cookie)
        self._header = None

    def clear(self, domain: str | None = None, path: str | None = None, name: str | None = None) -> None:
        super().clear(domain, path, name)
        self._header = None

    def extract_cookies(self, response: Any, request: Any) -> None:
        if response.info().get_all("Set-Cookie"):
            super().extract_cookies(response, request)
            self._header = None

    def add_cookie_header(self, request: Any) -> None:
        if self._header is None or time.time() >= self._expires:
            self.clear_expired_cookies()
            cookies = list(self)
            self._header = "; ".join(f"{c.name}={c.value}" if c.value is not None else c.name for c in cookies)
            self._expires = min((c.expires for c in cookies if c.expires is not None), default=float("inf"))
        if self._header:
            request.add_unredirected_header("Cookie", self._header)
