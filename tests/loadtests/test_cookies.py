"""loadtests/cookies.py: the simulated browsers send the cookies the standard library's jar would,
for a site whose cookies are all set for "/"."""

from __future__ import annotations

import time
from email.message import Message
from http.cookiejar import CookieJar
from urllib.request import Request

from loadtests.cookies import QuickCookieJar

URL = "http://127.0.0.1:8200/book/1/2027-01-06/?bands=1"


class _Response:
    def __init__(self, *set_cookies: str) -> None:
        self._headers = Message()
        for value in set_cookies:
            self._headers["Set-Cookie"] = value

    def info(self) -> Message:
        return self._headers


def _header(jar: CookieJar) -> str | None:
    request = Request(URL)
    jar.add_cookie_header(request)
    return request.get_header("Cookie")


def _both(*responses: _Response) -> tuple[str | None, str | None]:
    quick, standard = QuickCookieJar(), CookieJar()
    for jar in (quick, standard):
        for response in responses:
            jar.extract_cookies(response, Request(URL))
    return _header(quick), _header(standard)


def test_the_header_is_the_standard_jars() -> None:
    login = _Response("csrftoken=abc; Path=/; SameSite=Lax", "sessionid=s1; HttpOnly; Path=/; SameSite=Lax")
    quick, standard = _both(login)
    assert quick is not None and sorted(quick.split("; ")) == sorted(standard.split("; "))


def test_a_new_value_and_a_deleted_cookie_reach_the_next_request() -> None:
    jar = QuickCookieJar()
    jar.extract_cookies(_Response("csrftoken=abc; Path=/", "sessionid=s1; Path=/"), Request(URL))
    assert _header(jar) in ("csrftoken=abc; sessionid=s1", "sessionid=s1; csrftoken=abc")

    jar.extract_cookies(_Response("sessionid=s2; Path=/"), Request(URL))  # a rotated session
    assert "sessionid=s2" in (_header(jar) or "")

    jar.extract_cookies(  # logout: Django deletes the session cookie
        _Response('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/'), Request(URL)
    )
    assert _header(jar) == "csrftoken=abc"

    jar.extract_cookies(_Response(), Request(URL))  # no Set-Cookie: nothing changes
    assert _header(jar) == "csrftoken=abc"


def test_a_cookie_that_expires_is_no_longer_sent() -> None:
    jar = QuickCookieJar()
    jar.extract_cookies(_Response("short=1; Max-Age=1; Path=/", "long=2; Path=/"), Request(URL))
    assert _header(jar) in ("short=1; long=2", "long=2; short=1")
    time.sleep(1.1)
    assert _header(jar) == "long=2"
