"""Every endpoint of the site, from Django's URL resolver and the API's OpenAPI schema, and how to
build a concrete path to each one (shared by the authorization matrix and the CSRF test)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from tests.security.conftest import USE_DAY, World


@dataclass(frozen=True)
class Endpoint:
    key: str  # the rule key: URL name, "ns:<route>", or "METHOD /path" for API operations
    route: str  # the path with its placeholders, e.g. "lottery/rounds/<int:round_id>/"
    methods: tuple[str, ...] | None = None  # API operations: the one method


def _namespaced(namespace: str | None, name: str) -> str:
    return f"{namespace}:{name}" if namespace else name


def _walk(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, Any, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = _namespaced(namespace, pattern.namespace) if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + _route(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + _route(pattern.pattern)
            key = (
                _namespaced(namespace, pattern.name)
                if pattern.name
                else _namespaced(namespace, _route(pattern.pattern))
            )
            yield key, pattern, route


def _route(pattern: Any) -> str:
    text = str(pattern)
    if isinstance(pattern, RegexPattern):
        return "re:" + text
    return text


def api_operations() -> list[Endpoint]:
    from config.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return [
        Endpoint(f"{method.upper()} {path}", path, (method.upper(),))
        for path, operations in schema["paths"].items()
        for method in operations
    ]


def page_endpoints() -> list[Endpoint]:
    """Every URL pattern except the API's operations that the schema lists (those come from the
    schema, one per method; an operation left out of the schema stays here, so it needs a rule too)."""
    documented = {e.route for e in api_operations()}
    return [
        Endpoint(key, route)
        for key, pattern, route in _walk(get_resolver().url_patterns)
        if not (pattern.callback.__module__ == "ninja.operation" and _as_api_path(route) in documented)
    ]


def _as_api_path(route: str) -> str:
    return "/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route)


def all_endpoints() -> list[Endpoint]:
    return page_endpoints() + api_operations()


def sample_kwargs(world: World) -> dict[str, str]:
    """URL arguments by name: A's objects at facility X."""
    return {
        "facility_id": str(world.facility_x.pk),
        "year": str(USE_DAY.year),
        "month": str(USE_DAY.month),
        "start": USE_DAY.isoformat(),
        "day": USE_DAY.isoformat(),
        "room_id": str(world.room_x.pk),
        "band_id": str(world.room_x.facility.time_bands.get(code="am").pk),
        "reservation_id": str(world.booking_a.pk),
        "booking_id": str(world.booking_a.pk),
        "payment_id": str(world.payment_a.pk),
        "round_id": str(world.january.pk),
        "entry_id": str(world.entry_a.pk),
        "outcome_id": str(world.outcome_a.pk),
        "group_id": str(world.group.pk),
        "resident_id": str(world.resident_a.pk),
        "user_id": str(world.resident_a.user.pk),
        "code": "en",
        "uidb64": "MQ",
        "token": "abc-123",
        "object_id": str(world.resident_a.pk),
        "content_type_id": "1",
        "app_label": "reservations",
        "url": "no-such-page/",
    }


def named_objects(world: World) -> dict[str, str]:
    """Names a rule may use instead of an id ("hall", "paid_a", ...)."""
    return {
        "hall": str(world.hall.pk),
        "paid_a": str(world.paid_a.pk),
        "february": str(world.february.pk),
        "today_a": str(world.today_a.pk),
        "today_a_reference": world.today_a.reference,
        "facility_x": str(world.facility_x.pk),
        "room_x": str(world.room_x.pk),
        "band_am": str(world.facility_x.time_bands.get(code="am").pk),
        "band_ev": str(world.facility_x.time_bands.get(code="ev").pk),
    }


_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>|\{(?P<api>[^}]+)\}")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>")


def build_path(endpoint: Endpoint, world: World, kwargs: dict[str, str] | None = None, query: str = "") -> str:
    """The endpoint's path with its arguments filled in: `kwargs` (values may name objects, see
    `named_objects`), else A's objects at facility X."""
    values = {**sample_kwargs(world), **(kwargs or {})}
    named = named_objects(world)
    values = {k: named.get(v, v) for k, v in values.items()}
    route = endpoint.route
    if "re:" in route:
        route = _fill_regex(route, values)

    def fill(match: re.Match[str]) -> str:
        name = match.group("name") or match.group("api")
        return values.get(name, "1")

    path = _PLACEHOLDER.sub(fill, route)
    path = path if path.startswith("/") else "/" + path
    return path + query.format(**named)


def _fill_regex(route: str, values: dict[str, str]) -> str:
    """'admin/re:^(?P<app_label>auth|reservations)/$' → 'admin/reservations/' (groups filled in)."""
    out, i = "", 0
    while i < len(route):
        match = _REGEX_GROUP.match(route, i)
        if match is None:
            out += route[i]
            i += 1
            continue
        depth, j = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(route[j], 0)
            j += 1
        out += values.get(match.group("name"), "1")
        i = j
    return out.replace("re:", "").replace("^", "").replace("$", "").replace("\\", "")
