"""The authorization matrix: every URL pattern (Django's resolver) and every API operation (ninja's
OpenAPI schema) × every kind of caller → allowed or denied, from the rule table below.

- A route or operation without a rule fails `test_every_endpoint_has_a_rule`: whoever adds an
  endpoint decides here who may use it. Rules are by exact name ("lottery:apply"), by exact API
  operation ("POST /api/v1/me/bookings"), or by name prefix ("staff:*", "admin:*").
- Objects in URLs belong to resident A and facility X (tests/security/conftest.py); so resident B,
  staff of facility Y, and kiosks logged in as B are the IDOR probes. Changing an id in the URL must
  get them nothing (404/403/login), and their requests must not change a guarded row either, even
  when the view answers with a polite redirect (`fingerprint()` before and after each request).
- Denied means 401, 403, 404, or a redirect to a login or second-factor page. Allowed means any
  other answer below 500 (a 400 or 409 for an invalid request is still "got through"). A 5xx, a
  405 (the rule names a method the route does not take) or a 429 is always a failure.
- Every HTML answer is also checked for what the strict CSP would block (tests/security/inline.py).

Each request runs in a savepoint that is rolled back, so every role meets the same world.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.security.conftest import (
    AUDITOR,
    COUNTER_X,
    DEPARTMENT_ADMIN,
    FEBRUARY_DAY,
    KIOSK,
    KIOSK_A,
    KIOSK_B,
    MEMBER,
    RESIDENT_A,
    RESIDENT_B,
    ROLES,
    STAFF_ROLES,
    USE_DAY,
    World,
    changed_tables,
    fingerprint,
)
from tests.security.endpoints import all_endpoints, build_path, named_objects
from tests.security.inline import inline_violations

pytestmark = pytest.mark.django_db

# --- who ---------------------------------------------------------------------------------------------

EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
WEB_RESIDENTS = frozenset({RESIDENT_A, RESIDENT_B, MEMBER})
KIOSK_DEVICES = frozenset({KIOSK, KIOSK_A, KIOSK_B})
KIOSK_RESIDENTS = frozenset({KIOSK_A, KIOSK_B})
STAFF = frozenset(STAFF_ROLES)
STAFF_OF_X = frozenset({COUNTER_X, DEPARTMENT_ADMIN, AUDITOR})  # the auditor is ward-wide
WRITERS_OF_X = frozenset({COUNTER_X, DEPARTMENT_ADMIN})
# Logged in on the web (Django's session): residents and staff.
LOGGED_IN = WEB_RESIDENTS | STAFF


@dataclass(frozen=True)
class Rule:
    """Who gets through. `methods`: the methods to try (each route is tried with those it serves).
    `writes`: who may change guarded rows with it (default: nobody on GET, `allow` on other methods).
    `unchecked`: roles whose answer is not asserted (only that it is no server error), e.g. staff on
    admin pages, which depend on Django model permissions. `kwargs`/`query`/`data`/`json`: how to
    call it; URL arguments default to A's and facility X's objects (`sample_kwargs`)."""

    allow: frozenset[str]
    methods: tuple[str, ...] = ("GET",)
    writes: frozenset[str] | None = None
    unchecked: frozenset[str] = NOBODY
    kwargs: dict[str, str] = field(default_factory=dict)
    query: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    # Prefix rules: try GET and POST and skip a 405 (the route does not take that method).
    any_method: bool = False

    def may_write(self, method: str) -> frozenset[str]:
        if method == "GET":
            return NOBODY
        return self.allow if self.writes is None else self.writes


def public(**kw: Any) -> Rule:
    return Rule(EVERYONE, **kw)


OWNER_A = frozenset({RESIDENT_A})

# Which callers get through, per route or API operation. Keys: URL name, "ns:<route>" for unnamed
# routes, "METHOD /path" for API operations, or a prefix ending in "*".
RULES: dict[str, Rule] = {
    # --- public pages ------------------------------------------------------------------------------
    "reservations:home": public(),
    "reservations:facility_month": public(),
    "reservations:facility_week": public(),
    "reservations:facilities/<int:facility_id>/week/<str:start>/": public(kwargs={"start": "2026-02-30"}),
    "reservations:book/<int:room_id>/<str:day>/": public(kwargs={"day": "2026-02-30"}),
    "reservations:switch_language": public(),
    "reservations:set_language": public(methods=("POST",), data={"language": "en"}),
    "reservations:accessibility": public(),
    # A calendar feed is a capability URL: a guessed token gets nobody anything.
    "reservations:calendar_feed": Rule(NOBODY, kwargs={"token": "not-a-real-token"}),
    "lottery:index": public(),
    "lottery:round": public(),
    "lottery:round_room": public(kwargs={"room_id": "hall"}),
    "lottery:round_download": public(),
    "lottery:round_verify": public(),
    "login": public(methods=("GET", "POST"), writes=NOBODY),
    "password_reset": public(methods=("GET", "POST"), writes=NOBODY),
    "password_reset_done": public(),
    "password_reset_confirm": public(),
    "password_reset_complete": public(),
    "accounts:register": public(methods=("GET", "POST"), writes=NOBODY),  # an empty form registers nobody
    "accounts:register_done": public(),
    "set_language": public(methods=("POST",), data={"language": "en"}, writes=NOBODY),
    "healthz": public(),
    "api:openapi-json": public(),
    "api:openapi-view": public(),
    "api:api-root": Rule(NOBODY),  # only there for reversing: 404
    # Signed by Stripe, not by a session: unsigned posts are refused (400), see tests/payments.
    "payments:webhook": public(methods=("POST",), writes=NOBODY),
    # --- a resident's own things on the web ------------------------------------------------------------
    # Booking pages: any logged-in resident may open a slot; staff logins have no resident record.
    "reservations:book": Rule(WEB_RESIDENTS, methods=("GET", "POST"), writes=WEB_RESIDENTS),
    "reservations:booking_done": Rule(OWNER_A),
    "reservations:my_bookings": Rule(WEB_RESIDENTS),
    "reservations:cancel": Rule(OWNER_A, methods=("GET", "POST")),
    "reservations:calendar": Rule(WEB_RESIDENTS),
    "accounts:profile": Rule(LOGGED_IN, methods=("GET", "POST"), writes=NOBODY),  # an empty form changes nothing
    "accounts:group_register": Rule(WEB_RESIDENTS, methods=("GET",)),
    "accounts:group_registered": Rule(OWNER_A),
    "lottery:apply": Rule(
        WEB_RESIDENTS, kwargs={"room_id": "hall", "day": FEBRUARY_DAY.isoformat()}, query="?bands={band_ev}"
    ),
    "lottery:my_entries": Rule(WEB_RESIDENTS),
    # These answer a stranger's id with a redirect and a message: they get through, change nothing.
    "lottery:entry_withdraw": Rule(WEB_RESIDENTS, methods=("POST",), writes=OWNER_A),
    "lottery:entry_rank": Rule(WEB_RESIDENTS, methods=("POST",), writes=OWNER_A, data={"rank": "1"}),
    "lottery:outcome_confirm": Rule(WEB_RESIDENTS, methods=("POST",), writes=OWNER_A),
    "lottery:outcome_decline": Rule(WEB_RESIDENTS, methods=("POST",), writes=OWNER_A),
    "payments:booking": Rule(OWNER_A),
    # A paid booking: the owner is told it needs no payment before anyone would call Stripe.
    "payments:checkout": Rule(OWNER_A, methods=("POST",), writes=NOBODY, kwargs={"reservation_id": "paid_a"}),
    "payments:result": Rule(OWNER_A),
    "payments:receipt": Rule(OWNER_A | STAFF_OF_X, methods=("GET",)),
    "payments:permit": Rule(OWNER_A | STAFF_OF_X, kwargs={"reservation_id": "paid_a"}),
    "logout": Rule(EVERYONE, methods=("POST",)),
    # --- kiosk tablets -----------------------------------------------------------------------------------
    "kiosks:activate": public(),
    "kiosks:home": Rule(KIOSK_DEVICES),
    "kiosks:login": Rule(KIOSK_DEVICES),
    "kiosks:logout": Rule(KIOSK_DEVICES, methods=("POST",)),
    "kiosks:keepalive": Rule(KIOSK_RESIDENTS, methods=("POST",), unchecked=frozenset({KIOSK})),
    "kiosks:availability": Rule(KIOSK_DEVICES),
    "kiosks:availability_week": Rule(KIOSK_DEVICES),
    "kiosks:availability_month": Rule(KIOSK_DEVICES),
    "kiosks:check_in": Rule(KIOSK_DEVICES),
    "kiosks:book": Rule(KIOSK_RESIDENTS, methods=("GET",)),
    "kiosks:my_bookings": Rule(KIOSK_RESIDENTS),
    "kiosks:booking_done": Rule(frozenset({KIOSK_A})),
    "kiosks:cancel": Rule(frozenset({KIOSK_A}), methods=("GET", "POST")),
    "kiosks:lottery": Rule(KIOSK_DEVICES),
    "kiosks:lottery_room": Rule(KIOSK_DEVICES, kwargs={"round_id": "february", "room_id": "hall"}),
    "kiosks:lottery_apply": Rule(KIOSK_RESIDENTS, kwargs={"room_id": "hall", "day": FEBRUARY_DAY.isoformat()}),
    "kiosks:lottery_my": Rule(KIOSK_RESIDENTS),
    "kiosks:lottery_confirm": Rule(frozenset({KIOSK_A}), methods=("POST",)),
    "kiosks:lottery_withdraw": Rule(frozenset({KIOSK_A}), methods=("POST",)),
    # The resident's own PIN page, on the web site (not the tablet).
    "kiosks:set_pin": Rule(WEB_RESIDENTS, methods=("GET",)),
    # --- staff terminal ------------------------------------------------------------------------------------
    # Every staff page refuses everyone who is not staff; which staff may use it is per page below
    # (new pages get this rule until someone writes theirs).
    "staff:*": Rule(NOBODY, methods=("GET", "POST"), unchecked=STAFF, writes=STAFF, any_method=True),
    "staff:index": Rule(STAFF),
    "staff:today": Rule(STAFF_OF_X),
    "staff:check_in": Rule(WRITERS_OF_X, methods=("POST",), data={"reference": "today_a_reference"}),
    "staff:no_show": Rule(WRITERS_OF_X, methods=("POST",), kwargs={"reservation_id": "today_a"}),
    # Counter pages of A's things at facility X: staff of facility Y are the IDOR probe.
    "staff:resident": Rule(STAFF_OF_X),
    "staff:booking": Rule(STAFF_OF_X),
    "staff:booking_permit": Rule(STAFF_OF_X, kwargs={"reservation_id": "paid_a"}),
    "staff:payment_receipt": Rule(STAFF_OF_X),
    "staff:book_start": Rule(WRITERS_OF_X),
    "staff:lottery_start": Rule(WRITERS_OF_X),
    "staff:resident_pin": Rule(WRITERS_OF_X),
    "staff:cash_up": Rule(STAFF_OF_X),
    "staff:closures": Rule(STAFF_OF_X),
    # Reports: managers and ward-wide roles; the audit log: auditors (and system admins).
    "staff:reports": Rule(frozenset({DEPARTMENT_ADMIN, AUDITOR})),
    "staff:reports_csv": Rule(frozenset({DEPARTMENT_ADMIN, AUDITOR})),
    "staff:audit": Rule(frozenset({AUDITOR})),
    "staff:audit_export": Rule(frozenset({AUDITOR})),
    "staff:two_factor_accounts": Rule(NOBODY),  # system admins only
    # The second-factor pages are for staff logins only.
    "staff:two_factor_setup": Rule(NOBODY, unchecked=STAFF),
    "staff:two_factor_verify": Rule(NOBODY, unchecked=STAFF),
    "payments:cash_up": Rule(STAFF_OF_X, query="?facility={facility_x}"),
    "payments:reconciliation_csv": Rule(frozenset({AUDITOR})),  # every facility's: ward-wide roles only
    # --- the Django admin: staff only; which pages depends on model permissions --------------------
    "admin:*": Rule(NOBODY, methods=("GET", "POST"), unchecked=STAFF, writes=STAFF, any_method=True),
    "admin:login": Rule(NOBODY, unchecked=STAFF),  # sends everyone to the one login page
    "admin:logout": Rule(EVERYONE, methods=("POST",), unchecked=STAFF),
    # --- the JSON API ------------------------------------------------------------------------------------
    "GET /api/v1/facilities": public(),
    "GET /api/v1/facilities/{facility_id}": public(),
    "GET /api/v1/facilities/{facility_id}/rooms": public(),
    "GET /api/v1/facilities/{facility_id}/availability": public(),
    "GET /api/v1/lottery/rounds": public(),
    "GET /api/v1/lottery/rounds/{round_id}": public(),
    "GET /api/v1/lottery/rounds/{round_id}/counts": public(),
    "GET /api/v1/lottery/rounds/{round_id}/document": public(),
    "GET /api/v1/lottery/rounds/{round_id}/verify": public(),
    "GET /api/v1/me/bookings": Rule(WEB_RESIDENTS),
    "POST /api/v1/me/bookings": Rule(
        WEB_RESIDENTS, json={"room_id": "room_x", "date": USE_DAY.isoformat(), "band_ids": ["band_ev"]}
    ),
    "POST /api/v1/me/bookings/{booking_id}/cancel": Rule(OWNER_A),
    "GET /api/v1/lottery/me/entries": Rule(WEB_RESIDENTS),
    "POST /api/v1/lottery/me/entries": Rule(
        WEB_RESIDENTS, json={"room_id": "hall", "date": FEBRUARY_DAY.isoformat(), "band_ids": ["band_am"]}
    ),
    "PATCH /api/v1/lottery/me/entries/{entry_id}": Rule(OWNER_A, json={"rank": 1}),
    "POST /api/v1/lottery/me/entries/{entry_id}/withdraw": Rule(OWNER_A),
    "POST /api/v1/lottery/me/outcomes/{outcome_id}/confirm": Rule(OWNER_A),
    "POST /api/v1/lottery/me/outcomes/{outcome_id}/decline": Rule(OWNER_A),
}


def rule_for(key: str) -> Rule | None:
    if key in RULES:
        return RULES[key]
    prefixes = [k for k in RULES if k.endswith("*") and key.startswith(k[:-1])]
    return RULES[max(prefixes, key=len)] if prefixes else None


def test_every_endpoint_has_a_rule() -> None:
    missing = [f"{e.key}  ({e.route})" for e in all_endpoints() if rule_for(e.key) is None]
    assert not missing, "Endpoints without an authorization rule (add them to RULES):\n" + "\n".join(missing)


def test_every_exact_rule_names_an_endpoint() -> None:
    keys = {e.key for e in all_endpoints()}
    stale = [k for k in RULES if not k.endswith("*") and k not in keys]
    assert not stale, f"Rules for endpoints that no longer exist: {stale}"


# --- calling them ---------------------------------------------------------------------------------------


DENIAL_PAGES = ("login", "admin:login", "kiosks:login", "staff:two_factor_verify", "staff:two_factor_setup")


def verdict(response: Any) -> str:
    """'allowed', 'denied', or what went wrong."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status in (405, 429):
        return f"unexpected {status}"
    if status in (401, 403, 404):
        return "denied"
    if status in (301, 302, 303, 307):
        target = urlsplit(response["Location"]).path
        denial_paths = {reverse(name) for name in DENIAL_PAGES if _reversible(name)}
        return "denied" if target in denial_paths else "allowed"
    return "allowed"


def _reversible(name: str) -> bool:
    try:
        reverse(name)
    except Exception:  # noqa: BLE001 - a late-arriving page may not exist yet
        return False
    return True


def call(client: Client, method: str, path: str, rule: Rule, world: World) -> Any:
    named = named_objects(world)
    data = {k: named.get(v, v) if isinstance(v, str) else v for k, v in rule.data.items()}
    if rule.json is not None or path.startswith("/api/"):
        body = json.dumps(_substitute(rule.json or {}, named))
        return client.generic(method, path, body, content_type="application/json")
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, _encode(data), content_type="application/x-www-form-urlencoded")


def _substitute(value: Any, named: dict[str, str]) -> Any:
    """Named objects in a JSON body: "room_x" → its id (as a number)."""
    if isinstance(value, dict):
        return {k: _substitute(v, named) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, named) for v in value]
    if isinstance(value, str) and value in named and named[value].isdigit():
        return int(named[value])
    return value


def _encode(data: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


def check_role(world: World, role: str) -> list[str]:
    client = world.client(role)
    problems: list[str] = []
    for endpoint in all_endpoints():
        rule = rule_for(endpoint.key)
        if rule is None:
            continue  # reported by test_every_endpoint_has_a_rule
        path = build_path(endpoint, world, rule.kwargs, rule.query)
        for method in endpoint.methods or rule.methods:
            cookies = client.cookies
            client.cookies = type(cookies)(cookies)  # a logout here must not end the session of the next call
            with transaction.atomic():
                before = fingerprint()
                response = call(client, method, path, rule, world)
                after = fingerprint()
                transaction.set_rollback(True)
            client.cookies = cookies
            if rule.any_method and response.status_code == 405:
                continue
            got = verdict(response)
            label = f"{method} {path} [{endpoint.key}]"
            if got.startswith(("server", "unexpected")):
                problems.append(f"{label}: {got}")
                continue
            if role not in rule.unchecked:
                wanted = "allowed" if role in rule.allow else "denied"
                if got != wanted:
                    location = response.get("Location", "")
                    problems.append(f"{label}: expected {wanted}, got {response.status_code} {location}")
            changed = changed_tables(before, after)
            if changed and (got == "denied" or role not in rule.may_write(method)):
                problems.append(f"{label}: {got} but changed {changed}")
            if response.get("Content-Type", "").startswith("text/html") and response.status_code == 200:
                found = inline_violations(response.content.decode())
                if found:
                    problems.append(f"{label}: inline code the CSP would block: {found[:3]}")
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(world: World, role: str) -> None:
    problems = check_role(world, role)
    assert not problems, f"{role}:\n" + "\n".join(problems)


# --- IDOR through the request body --------------------------------------------------------------------
# The matrix changes ids in URLs; these change them in what is posted.


def _api(client: Client, method: str, path: str, payload: Any) -> Any:
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    return client.generic(method, path, json.dumps(payload), content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_b_cannot_book_or_apply_for_a_group_b_is_not_in(world: World) -> None:
    b = world.client(RESIDENT_B)
    before = fingerprint()
    ev = world.facility_x.time_bands.get(code="ev").pk
    booking = _api(
        b,
        "POST",
        "/api/v1/me/bookings",
        {"room_id": world.room_x.pk, "date": USE_DAY.isoformat(), "band_ids": [ev], "group_id": world.group.pk},
    )
    assert booking.status_code == 403 and booking.json()["code"] == "not_group_member"
    entry = _api(
        b,
        "POST",
        "/api/v1/lottery/me/entries",
        {"room_id": world.hall.pk, "date": FEBRUARY_DAY.isoformat(), "band_ids": [ev], "group_id": world.group.pk},
    )
    assert entry.status_code == 403
    page = b.post(
        reverse("lottery:apply", args=[world.hall.pk, FEBRUARY_DAY]), {"bands": [ev], "group": world.group.pk}
    )
    assert page.status_code == 403
    form = b.post(
        reverse("reservations:book", args=[world.room_x.pk, USE_DAY]),
        {"bands": [ev], "group": world.group.pk, "attendees": "5"},
    )
    assert form.status_code == 400
    assert fingerprint() == before


def test_b_cannot_move_a_s_lottery_entry_or_pay_for_a_s_booking(world: World) -> None:
    b = world.client(RESIDENT_B)
    before = fingerprint()
    moved = _api(b, "PATCH", f"/api/v1/lottery/me/entries/{world.entry_a.pk}", {"rank": 1, "room_id": world.hall.pk})
    assert moved.status_code == 404
    checkout = b.post(reverse("payments:checkout", args=[world.booking_a.pk]))
    assert checkout.status_code == 404
    assert fingerprint() == before


def test_the_profile_form_changes_only_the_logged_in_resident(world: World) -> None:
    b = world.client(RESIDENT_B)
    a_before = (world.resident_a.address, world.resident_a.user.email)
    response = b.post(
        reverse("accounts:profile"),
        {
            "postcode": "113-0033",
            "address": "東京都文京区本郷7-3-1",
            "email": "b-new@example.jp",
            "user": world.resident_a.user.pk,
            "resident": world.resident_a.pk,
            "user_number": world.resident_a.user.user_number,
        },
    )
    assert response.status_code == 302
    world.resident_a.refresh_from_db()
    world.resident_a.user.refresh_from_db()
    assert (world.resident_a.address, world.resident_a.user.email) == a_before
    world.resident_b.refresh_from_db()
    assert world.resident_b.address == "東京都文京区本郷7-3-1"


def test_a_kiosk_logged_in_as_b_cannot_cancel_a_s_booking(world: World) -> None:
    tablet = world.client(KIOSK_B)
    before = fingerprint()
    response = tablet.post(reverse("kiosks:cancel", args=[world.booking_a.pk]))
    assert response.status_code == 404
    assert fingerprint() == before
