"""Schemathesis against the published OpenAPI schema (/api/v1/openapi.json), through the Django
WSGI application, logged in as resident A (session cookie and CSRF token, like the browser):
generated requests to every operation must never get a server error, and what the API answers
must be what the schema says (status codes, content types, bodies).

Bounded (a few dozen examples per operation) so the whole module runs in a minute or two."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import World, build_world

pytestmark = pytest.mark.django_db

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def resident(db: Any, clock: Any) -> Iterator[dict[str, Any]]:
    """Resident A's browser: the session and CSRF cookies, and the token header."""
    world: World = build_world()
    client = Client()
    client.force_login(world.resident_a.user)
    client.get(reverse("login"))
    session, token = client.cookies["sessionid"].value, client.cookies["csrftoken"].value
    # Keep the test's database connection (and its transaction) across the WSGI requests, as
    # Django's test client does; otherwise request_started/finished would close it. (After the
    # test client's last request: it connects them again when it is done.)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"cookies": {"sessionid": session, "csrftoken": token}, "headers": {"X-CSRFToken": token}}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_as_a_logged_in_resident(case: Any, resident: dict[str, Any]) -> None:
    case.call_and_validate(checks=CHECKS, **resident)
