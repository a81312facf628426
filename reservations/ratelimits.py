"""Rate limits on the pages people could use to guess or to flood: login, password reset,
registration (django-ratelimit's counters, in the shared cache).

Every limit is keyed by the client's address, alone or together with what was typed (the user
number, the e-mail address) — never by the user number or address alone, so nobody can lock a
resident out by failing to log in as them on purpose: the failures count against the attacker's
own address. Counting is per fixed window (django-ratelimit's), and a refused attempt is answered
with 429, a Japanese page saying how long to wait, and Retry-After.

    @limit_posts("login", per_ip("login_ip"), per_ip_and_field("login_account", "username"))

The rates are settings.RATE_LIMITS (env-configurable); settings.RATELIMIT_ENABLE switches all off.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

View = Callable[..., HttpResponse]


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the
    outermost trusted proxy saw (counted from the right of X-Forwarded-For, since anything further
    left was written by the client and can be forged). (settings.RATELIMIT_IP_META_KEY)"""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 - a key, not a bind address
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


def _normalise(value: str) -> str:
    """What two spellings of one user number or address have in common (full-width digits, case)."""
    return unicodedata.normalize("NFKC", value).strip().casefold()[:254]


@dataclass(frozen=True)
class Limit:
    rate_name: str  # the key in settings.RATE_LIMITS
    key: Callable[[HttpRequest], str]

    @property
    def rate(self) -> str:
        rate: str = settings.RATE_LIMITS[self.rate_name]
        return rate


def per_ip(rate_name: str) -> Limit:
    return Limit(rate_name, client_ip)


def per_ip_and_field(rate_name: str, field: str) -> Limit:
    """Keyed by the address together with a posted field (never by the field alone)."""
    return Limit(rate_name, lambda request: f"{client_ip(request)}|{_normalise(request.POST.get(field, ''))}")


def rate_limited(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = max(1, math.ceil(retry_after / 60))
    response = render(request, "429.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def over_limit(request: HttpRequest, group: str, limits: tuple[Limit, ...]) -> int:
    """Count this POST against every limit; the seconds to wait if any is exceeded, else 0."""
    wait = 0
    for limit in limits:
        usage = get_usage(
            request,
            group=f"{group}:{limit.rate_name}",
            key=lambda _group, req, limit=limit: limit.key(req),
            rate=limit.rate,
            method="POST",
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            wait = max(wait, int(usage["time_left"]), 1)
    return wait


def limit_posts(group: str, *limits: Limit) -> Callable[[View], View]:
    """Limit a view's POSTs; GETs (showing the form) are never limited."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                wait = over_limit(request, group, limits)
                if wait:
                    return rate_limited(request, wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
