"""Security headers and the strict Content-Security-Policy (config/security.py, settings), and the
pages themselves: no inline script, event handler or style attribute the policy would block."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import reverse

from config.security import form_action_sources, origin
from tests.security.conftest import (
    AUDITOR,
    COUNTER_X,
    KIOSK,
    KIOSK_A,
    RESIDENT_A,
    USE_DAY,
    World,
)
from tests.security.inline import inline_violations

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def test_the_policy_is_strict(world: World) -> None:
    response = Client().get(reverse("reservations:home"))
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    policy = response["Content-Security-Policy"]
    for loophole in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "http:", "https:"):
        assert loophole not in policy.split(), loophole


def test_form_action_allows_only_this_site_and_stripe_checkout(world: World, settings) -> None:
    # The test settings point the SDK at a (fake) Stripe on 127.0.0.1:9, like `make run` does on :12111.
    csp = directives(Client().get(reverse("login")))
    assert csp["form-action"] == ["'self'", "https://checkout.stripe.com", "http://127.0.0.1:9"]
    # With the real Stripe API nothing else is added.
    assert form_action_sources("https://api.stripe.com") == ["'self'", "https://checkout.stripe.com"]
    assert form_action_sources("http://127.0.0.1:12111/") == [
        "'self'",
        "https://checkout.stripe.com",
        "http://127.0.0.1:12111",
    ]
    assert origin("not a url") is None


def test_the_other_security_headers(world: World) -> None:
    for path in (reverse("reservations:home"), reverse("login"), "/api/v1/facilities", reverse("kiosks:activate")):
        response = Client().get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" in response, path
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        permissions = response["Permissions-Policy"]
        assert "camera=(self)" in permissions and "geolocation=()" in permissions and "microphone=()" in permissions


def test_an_extra_connect_source_is_added_for_a_separate_websocket_host(world: World) -> None:
    with override_settings(CSP_EXTRA_CONNECT_SRC=["wss://ws.example.jp"]):
        response = Client().get(reverse("reservations:home"))  # a new client builds its middleware anew
    assert directives(response)["connect-src"] == ["'self'", "wss://ws.example.jp"]
    with override_settings(LIVE_WEBSOCKET_URL="wss://yoyaku.example.jp:8443/ws/"):
        response = Client().get(reverse("reservations:home"))
    assert directives(response)["connect-src"] == ["'self'", "wss://yoyaku.example.jp:8443"]


def test_session_and_csrf_cookies_are_httponly_or_samesite(world: World) -> None:
    client = world.client(RESIDENT_A)
    session = client.cookies["sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    csrf = Client().get(reverse("login")).cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"


# --- the pages ------------------------------------------------------------------------------------------


def _main_pages(world: World) -> list[tuple[str, str]]:
    """(who, path) for the main pages of every kind of user."""
    ev = world.facility_x.time_bands.get(code="ev").pk  # free on USE_DAY (A holds am and pm)
    return [
        ("anonymous", reverse("reservations:home")),
        ("anonymous", reverse("reservations:facility_month", args=[world.facility_x.pk, USE_DAY.year, USE_DAY.month])),
        ("anonymous", reverse("reservations:facility_week", args=[world.facility_x.pk, USE_DAY])),
        ("anonymous", reverse("login")),
        ("anonymous", reverse("accounts:register")),
        ("anonymous", reverse("password_reset")),
        ("anonymous", reverse("lottery:index")),
        ("anonymous", reverse("lottery:round", args=[world.january.pk])),
        ("anonymous", reverse("lottery:round_verify", args=[world.january.pk])),
        ("anonymous", reverse("kiosks:activate")),
        (RESIDENT_A, reverse("reservations:my_bookings")),
        (RESIDENT_A, reverse("reservations:book", args=[world.room_x.pk, USE_DAY]) + f"?bands={ev}"),
        (RESIDENT_A, reverse("reservations:cancel", args=[world.booking_a.pk])),
        (RESIDENT_A, reverse("accounts:profile")),
        (RESIDENT_A, reverse("accounts:group_register")),
        (RESIDENT_A, reverse("lottery:my_entries")),
        (RESIDENT_A, reverse("payments:booking", args=[world.booking_a.pk])),
        (RESIDENT_A, reverse("kiosks:set_pin")),
        (KIOSK, reverse("kiosks:home")),
        (KIOSK, reverse("kiosks:login")),
        (KIOSK, reverse("kiosks:check_in")),
        (KIOSK_A, reverse("kiosks:home")),
        (KIOSK_A, reverse("kiosks:availability")),
        (KIOSK_A, reverse("kiosks:my_bookings")),
        (KIOSK_A, reverse("kiosks:book", args=[world.room_x.pk, USE_DAY, ev])),
        (COUNTER_X, reverse("staff:index")),
        (COUNTER_X, reverse("staff:today", args=[world.facility_x.pk])),
        (AUDITOR, reverse("staff:index")),
    ]


def test_main_pages_have_no_inline_script_handler_or_style(world: World) -> None:
    problems = []
    for who, path in _main_pages(world):
        client = Client() if who == "anonymous" else world.client(who)
        response = client.get(path)
        assert response.status_code == 200, f"{who} {path}: {response.status_code}"
        assert "Content-Security-Policy" in response
        problems += [f"{who} {path}: {found}" for found in inline_violations(response.content.decode())]
    assert not problems, "\n".join(problems)


def test_the_kiosk_scripts_are_static_files_that_exist(world: World) -> None:
    page = world.client(KIOSK_A).get(reverse("kiosks:home")).content.decode()
    assert "/static/js/kiosk-idle.js" in page
    login = world.client(KIOSK).get(reverse("kiosks:login")).content.decode()
    assert "/static/js/kiosk-keypad.js" in login
    for name in ("js/kiosk-idle.js", "js/kiosk-keypad.js"):
        assert finders.find(name), name


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ("<script>alert(1)</script>", "inline script"),
        ('<button onclick="go()">x</button>', "event handler onclick"),
        ('<p style="color:red">x</p>', "style attribute"),
        ("<style>p{}</style>", "<style> element"),
        ('<a href="javascript:go()">x</a>', "javascript: URL"),
    ],
)
def test_the_checker_finds_what_the_policy_blocks(html: str, found: str) -> None:
    assert any(found in problem for problem in inline_violations(html))


def test_the_checker_lets_external_scripts_and_data_blocks_be(world: World) -> None:
    html = '<script src="/static/js/a.js"></script><script type="application/json" id="d">{"a": 1}</script>'
    assert inline_violations(html) == []


def test_the_policy_built_once_matches_django_csp_and_views_may_still_adjust_it() -> None:
    from csp.decorators import csp_update
    from csp.utils import build_policy
    from django.http import HttpResponse
    from django.test import RequestFactory

    from config.security import CSPMiddleware, content_security_policy

    @csp_update({"img-src": ["https://maps.example"]})
    def adjusted_view(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    plain = CSPMiddleware(lambda r: HttpResponse("ok"))(request)
    adjusted = CSPMiddleware(adjusted_view)(RequestFactory().get("/"))
    assert plain["Content-Security-Policy"] == build_policy(config=dict(content_security_policy()))
    assert "https://maps.example" in adjusted["Content-Security-Policy"]
    assert "https://maps.example" not in plain["Content-Security-Policy"]
