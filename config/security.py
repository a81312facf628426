"""Security headers Django does not set itself, and the Content-Security-Policy's parts that depend
on settings (Stripe's checkout origins for form redirects, an extra websocket origin).

The CSP itself is django-csp's (`csp.middleware.CSPMiddleware`, configured in
config/settings/base.py). Pages carry no inline script, event-handler attribute or style attribute:
JavaScript lives in static/js/, CSS in static/css/ (tests/security/test_headers.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from csp.utils import build_policy, default_config
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

# Features no page uses are switched off for this origin and anything it might embed. The camera
# stays available to our own pages (the kiosk's check-in scans a booking's QR code).
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "bluetooth=()",
        "midi=()",
        "magnetometer=()",
        "gyroscope=()",
        "accelerometer=()",
        "browsing-topics=()",
    ]
)

# Where Stripe Checkout lives: the checkout view answers a form POST with a redirect there, and
# browsers apply form-action to that redirect.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def origin(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """'http://127.0.0.1:12111/v1' → 'http://127.0.0.1:12111'; None for anything that is not a URL
    of one of `schemes`."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def form_action_sources(stripe_api_base: str) -> list[str]:
    """'self', Stripe's hosted checkout, and the configured Stripe API's origin when it is not
    Stripe's own (the local fake Stripe serves its checkout page from there)."""
    sources = ["'self'", STRIPE_CHECKOUT_ORIGIN]
    api = origin(stripe_api_base)
    if api is not None and api != "https://api.stripe.com":
        sources.append(api)
    return sources


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def content_security_policy() -> dict[str, object]:
    """settings.CONTENT_SECURITY_POLICY's directives with the origins that depend on other settings
    added: Stripe's (form-action), the live-availability websocket's when it is on another host or
    port (LIVE_WEBSOCKET_URL) and CSP_EXTRA_CONNECT_SRC (connect-src). Built when the middleware
    starts, so each settings file's values count."""
    directives = default_config(dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])) or {}
    form_action = list(directives.get("form-action") or [])
    directives["form-action"] = list(dict.fromkeys([*form_action, *form_action_sources(settings.STRIPE_API_BASE)]))
    extra = list(getattr(settings, "CSP_EXTRA_CONNECT_SRC", []))
    live = origin(getattr(settings, "LIVE_WEBSOCKET_URL", "") or "", schemes=("ws", "wss", "http", "https"))
    if live is not None:
        extra.append(live)
    if extra:
        directives["connect-src"] = [*(directives.get("connect-src") or ["'self'"]), *extra]
    return directives


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware with the policy of `content_security_policy()`. A view may still
    adjust it with django-csp's decorators (csp_update, csp_replace, csp_exempt)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.policy = content_security_policy()
        self.header = build_policy(config=dict(self.policy))

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """The policy header is the same for every response that no view adjusted and that used no
        nonce: it is built once, not per response (the 09:00 crowd gets thousands a second)."""
        adjusted = any(
            getattr(response, name, None) is not None
            for name in ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt")
        )
        if adjusted or getattr(request, "_csp_nonce", None) is not None or settings.DEBUG:
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = self.header
        return response

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None:
            parts.config = dict(self.policy)
        return parts


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a refused form post (no or a stale CSRF token), in the page's
    language with a way back, instead of Django's English technical page."""
    from django.shortcuts import render

    return render(request, "403_csrf.html", {"reason": reason}, status=403)
