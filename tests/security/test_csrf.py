"""CSRF on every state change: every route, found through the URL resolver, refuses a POST that
carries the session and CSRF cookies but not the token (what a forged cross-site form sends); every
API operation that changes something refuses it too. The only exemption is the Stripe webhook,
which Stripe signs instead (tests/payments/test_webhooks.py)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from tests.security.conftest import NOW, PIN, World
from tests.security.endpoints import _walk, api_operations, build_path, page_endpoints

pytestmark = pytest.mark.django_db

# Routes that may take a POST without a CSRF token, and why.
CSRF_EXEMPT = {
    "payments:webhook": "called by Stripe, authenticated by the Stripe-Signature header",
}


def csrf_client(world: World) -> Client:
    """Resident A, logged in, holding a CSRF cookie: a browser a forged form would use."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.resident_a.user)
    client.get(reverse("login"))
    assert "csrftoken" in client.cookies
    return client


def test_no_view_is_csrf_exempt_except_the_listed_ones() -> None:
    exempt = [
        key
        for key, pattern, _route in _walk(get_resolver().url_patterns)
        if getattr(pattern.callback, "csrf_exempt", False)
        and pattern.callback.__module__ != "ninja.operation"  # the API checks CSRF itself (below)
        and key not in CSRF_EXEMPT
    ]
    assert not exempt, f"csrf_exempt views not in CSRF_EXEMPT: {exempt}"


def test_every_route_refuses_a_post_without_the_token(world: World) -> None:
    client = csrf_client(world)
    accepted = []
    for endpoint in page_endpoints():
        if endpoint.key in CSRF_EXEMPT:
            continue
        path = build_path(endpoint, world)
        response = client.post(path, {"x": "1"})
        if response.status_code != 403 or "CSRF" not in response.content.decode():
            accepted.append(f"{path} [{endpoint.key}]: {response.status_code}")
    assert not accepted, "POST without a CSRF token was not refused:\n" + "\n".join(accepted)


def test_the_refusal_is_a_clear_page_in_japanese_or_english(world: World) -> None:
    client = csrf_client(world)
    response = client.post(reverse("accounts:profile"), {"postcode": "112-0003"})
    assert response.status_code == 403
    assert "セキュリティ確認（CSRF）に失敗しました" in response.content.decode()
    client.cookies["lang"] = "en"
    english = client.post(reverse("accounts:profile"), {"postcode": "112-0003"}).content.decode()
    assert "The security check (CSRF) failed" in english


def test_with_the_token_the_same_post_gets_through(world: World) -> None:
    """The refusals above are the missing token's doing, not the client's."""
    client = csrf_client(world)
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_kiosk_and_staff_forms_need_the_token_too(world: World) -> None:
    from kiosks.services import kiosk_create

    _kiosk, code = kiosk_create(facility=world.facility_x, name="csrf", created_by=world.kiosk_staff, now=NOW)
    tablet = Client(enforce_csrf_checks=True)
    tablet.get(reverse("kiosks:activate"))
    assert tablet.post(reverse("kiosks:activate"), {"code": code}).status_code == 403
    token = tablet.cookies["csrftoken"].value
    assert tablet.post(reverse("kiosks:activate"), {"code": code, "csrfmiddlewaretoken": token}).status_code == 302
    login = {"user_number": world.resident_a.user.user_number, "pin": PIN}
    assert tablet.post(reverse("kiosks:login"), login).status_code == 403


def test_every_api_change_refuses_a_session_without_the_token(world: World) -> None:
    client = csrf_client(world)
    changes = [op for op in api_operations() if op.methods != ("GET",)]
    assert changes, "the API has operations that change things"
    accepted = []
    for operation in changes:
        path = build_path(operation, world)
        (method,) = operation.methods or ("POST",)
        response = client.generic(method, path, json.dumps({}), content_type="application/json")
        body = response.json() if response.get("Content-Type", "").startswith("application/json") else {}
        if response.status_code != 403 or body.get("code") != "csrf_failed":
            accepted.append(f"{method} {path}: {response.status_code} {body}")
    assert not accepted, "API writes without a CSRF token were not refused:\n" + "\n".join(accepted)
    # With the token the check passes (and the request is judged on its merits).
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/me/bookings", json.dumps({}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
