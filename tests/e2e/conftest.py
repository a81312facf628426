"""End-to-end tests: residents' flows in a real browser against a live server.

Playwright for Python drives Debian's chromium (`make browser` installs it; nothing here downloads a
browser). The server is pytest-django's threaded live server on the PostgreSQL test database, with
the local fake Stripe in a thread beside it (its webhooks go to the live server, as Stripe's would).
Every page the tests open is watched: a JavaScript error or a Content-Security-Policy refusal fails
the test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from payments.fake_stripe import FakeStripe, serve_in_thread
from payments.fake_stripe.server import State

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WEBHOOK_SECRET = "whsec_e2e"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Module-scoped, not session-scoped: Playwright's sync API keeps an
    asyncio loop running in the test thread while it is open, which would break other tests'
    async_to_sync if the whole suite runs in one process (pytest -n 2 without -m)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium and fonts-noto-cjk).")
    # While that loop runs, Django's guard would refuse the synchronous ORM calls the tests make
    # between browser steps (they are safe: nothing else runs in this thread).
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-dev-shm-usage"])
            yield chromium
            chromium.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


class PageProblems:
    """JavaScript errors and CSP refusals seen on the pages of one test."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.items.append(f"{page.url}: {error}"))
        page.on("console", self._console(page))

    def _console(self, page: Page) -> Callable[[Any], None]:
        def seen(message: Any) -> None:
            text = message.text
            if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
                self.items.append(f"{page.url}: {text}")

        return seen


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Open a browser context (a fresh profile: no cookies); closed at the end of the test, which
    fails on any JavaScript error or CSP refusal seen on its pages."""
    contexts: list[BrowserContext] = []
    problems = PageProblems()

    def open_context(*, viewport: dict[str, int] | None = None, locale: str = "ja-JP", **kwargs: Any) -> BrowserContext:
        context = browser.new_context(viewport=viewport or DESKTOP, locale=locale, timezone_id="Asia/Tokyo", **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", problems.watch)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert not problems.items, "\n".join(problems.items)


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


@pytest.fixture(scope="session", autouse=True)
def _stripe_server() -> Iterator[FakeStripe]:
    """The fake Stripe for the whole session, and the app's Stripe settings pointed at it before the
    live server starts (its Content-Security-Policy names the checkout origin from these settings)."""
    from django.conf import settings

    fake = serve_in_thread(webhook_secret=WEBHOOK_SECRET)
    saved = {name: getattr(settings, name) for name in STRIPE_SETTINGS}
    for name, value in _stripe_settings(fake).items():
        setattr(settings, name, value)
    yield fake
    for name, value in saved.items():
        setattr(settings, name, value)
    fake.shutdown()


STRIPE_SETTINGS = ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")


def _stripe_settings(fake: FakeStripe) -> dict[str, str]:
    return {
        "STRIPE_API_BASE": fake.base_url,
        "STRIPE_SECRET_KEY": "sk_test_e2e",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@pytest.fixture
def fake_stripe(_stripe_server: FakeStripe, live_server: Any, settings: Any) -> Iterator[FakeStripe]:
    """The local fake Stripe, emptied, sending its webhooks to the live server as Stripe would.
    At the end it waits for the webhooks still in flight, so none lands on the next test's data."""
    with _stripe_server.lock:
        _stripe_server.state = State()
    _stripe_server.webhook_url = f"{live_server.url}/payments/webhook/"
    for name, value in _stripe_settings(_stripe_server).items():
        setattr(settings, name, value)
    yield _stripe_server
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with _stripe_server.lock:
            if all(d.status is not None for d in _stripe_server.state.deliveries):
                break
        time.sleep(0.05)
