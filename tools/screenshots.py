"""`make screenshots`: docs/screenshots/*.png of the main pages, from a freshly seeded demo server.

Builds the demo data (`seed_demo`, `seed_lottery_demo`) in a throw-away SQLite database, starts the
app (`runserver`) and the local fake Stripe on free ports, and photographs the pages with Playwright
driving Debian's chromium (`make browser`; no browser is downloaded): desktop at 1280 px, a
smartphone at 360 px, the kiosk tablet at 1024 px, and the staff terminal after its two-factor
login. Run from the repository root: `.venv/bin/python tools/screenshots.py [--only NAME ...]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}
# Long pages are cut after this many screens (the home page lists every facility).
MAX_SCREENS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds} s")


@dataclass
class Demo:
    base: str
    resident: str
    password: str
    staff: str
    staff_password: str
    totp_key: bytes
    kiosk_path: str
    kiosk_card: str
    kiosk_pin: str
    facility_id: int
    room_id: int
    booking_id: int
    round_id: int
    lottery_room_id: int
    staff_facility_id: int
    kiosk_activated: bool = False
    staff_verified: bool = False


def seed(env: dict[str, str], port: int) -> Demo:
    """Migrate and seed the demo database in this process (the server runs in another)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kiosks import demo as kiosk_demo
    from kiosks.selectors import activation_path
    from lottery.models import LotteryRoom, LotteryRound, RoundState
    from reservations import demo
    from reservations.models import ACTIVE_STATES, Reservation, User

    call_command("migrate", verbosity=0)
    call_command("seed_demo", seed=42, residents=300, verbosity=0)
    call_command("seed_lottery_demo", seed=42, verbosity=0)
    call_command("demo_totp", verbosity=0)
    kiosk = kiosk_demo.prepare(now=timezone.now())
    assert kiosk is not None
    staff = User.objects.get(user_number=demo.STAFF_USER)
    device = TOTPDevice.objects.filter(user=staff, confirmed=True).first()
    assert device is not None
    booking = (
        Reservation.objects.filter(resident__user__user_number=demo.DEMO_RESIDENT, state__in=ACTIVE_STATES)
        .exclude(fee=0)
        .order_by("date")
        .first()
    )
    assert booking is not None, "the demo resident has no booking with a fee"
    facility = booking.room.facility
    lottery_round = LotteryRound.objects.filter(state=RoundState.OPEN).order_by("pk").first()
    assert lottery_round is not None
    lottery_room = LotteryRoom.objects.filter(room__facility__group=lottery_round.facility_group).first()
    assert lottery_room is not None
    return Demo(
        base=f"http://127.0.0.1:{port}",
        resident=demo.DEMO_RESIDENT,
        password=demo.DEMO_PASSWORD,
        staff=demo.STAFF_USER,
        staff_password=demo.STAFF_PASSWORD,
        totp_key=bytes(device.bin_key),
        kiosk_path=activation_path(kiosk.code),
        kiosk_card=kiosk.card,
        kiosk_pin=kiosk.pin,
        facility_id=facility.pk,
        room_id=booking.room_id,
        booking_id=booking.pk,
        round_id=lottery_round.pk,
        lottery_room_id=lottery_room.room_id,
        staff_facility_id=staff.staff_profile.facilities.order_by("pk").values_list("pk", flat=True)[0],
    )


@contextmanager
def servers(env: dict[str, str], port: int, stripe_port: int) -> Iterator[None]:
    python = sys.executable
    stripe = subprocess.Popen(  # noqa: S603 - our own module
        [python, "-m", "payments.fake_stripe", "--port", str(stripe_port), "--webhook-url",
         f"http://127.0.0.1:{port}/payments/webhook/"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    app = subprocess.Popen(  # noqa: S603 - our own manage.py
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/accessibility/")
        yield
    finally:
        for process in (app, stripe):
            process.terminate()
        for process in (app, stripe):
            process.wait(timeout=20)


def login(page: object, demo: Demo, user: str, password: str) -> None:
    page.goto(f"{demo.base}/accounts/login/")  # type: ignore[attr-defined]
    page.locator("#id_username").fill(user)  # type: ignore[attr-defined]
    page.locator("#id_password").fill(password)  # type: ignore[attr-defined]
    page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def totp_now(key: bytes) -> str:
    from django_otp.oath import totp

    return f"{totp(key):06d}"


def shots(demo: Demo) -> dict[str, tuple[str, Callable[[object], None]]]:
    """name → (viewport kind, what to do before the picture)."""
    base = demo.base
    today = dt.date.today()
    month = f"{base}/facilities/{demo.facility_id}/month/{today.year}/{today.month}/"
    week = f"{base}/facilities/{demo.facility_id}/week/{today.isoformat()}/"

    def go(url: str) -> Callable[[object], None]:
        return lambda page: page.goto(url)  # type: ignore[attr-defined]

    def as_resident(url: str) -> Callable[[object], None]:
        def run(page: object) -> None:
            login(page, demo, demo.resident, demo.password)
            page.goto(url)  # type: ignore[attr-defined]

        return run

    def booking_form(page: object) -> None:
        login(page, demo, demo.resident, demo.password)
        page.goto(week)  # type: ignore[attr-defined]
        link = page.locator(f'table.grid td a[href^="/book/{demo.room_id}/"]').first  # type: ignore[attr-defined]
        if link.count():
            link.click()
        else:  # nothing bookable in this week: the next one
            page.goto(week.replace(today.isoformat(), (today + dt.timedelta(days=7)).isoformat()))  # type: ignore[attr-defined]
            page.locator("table.grid td a").first.click()  # type: ignore[attr-defined]

    def kiosk(after_login: str | None) -> Callable[[object], None]:
        def run(page: object) -> None:
            # The activation code works once: every kiosk picture shares the one tablet context.
            if not demo.kiosk_activated:
                page.goto(base + demo.kiosk_path)  # type: ignore[attr-defined]
                page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
                page.wait_for_url("**/kiosk/")  # type: ignore[attr-defined]
                demo.kiosk_activated = True
            page.goto(f"{base}/kiosk/")  # type: ignore[attr-defined]
            if after_login is None:
                return
            page.goto(f"{base}/kiosk/login/")  # type: ignore[attr-defined]
            if after_login == "keypad":
                page.locator("#id_user_number").fill(demo.kiosk_card)  # type: ignore[attr-defined]
                return
            page.locator("#id_user_number").fill(demo.kiosk_card)  # type: ignore[attr-defined]
            page.locator("#id_pin").fill(demo.kiosk_pin)  # type: ignore[attr-defined]
            page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
            page.wait_for_load_state()  # type: ignore[attr-defined]
            if after_login != "home":
                page.goto(base + after_login)  # type: ignore[attr-defined]

        return run

    def staff(url: str) -> Callable[[object], None]:
        def run(page: object) -> None:
            page.goto(url)  # type: ignore[attr-defined]
            if demo.staff_verified:  # a code is accepted once: one login for every staff picture
                return
            # → the login page, then the code page, then back here.
            page.locator("#id_username").fill(demo.staff)  # type: ignore[attr-defined]
            page.locator("#id_password").fill(demo.staff_password)  # type: ignore[attr-defined]
            page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
            page.locator("#id_code").fill(totp_now(demo.totp_key))  # type: ignore[attr-defined]
            page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
            page.wait_for_url(url)  # type: ignore[attr-defined]
            demo.staff_verified = True

        return run

    return {
        "desktop-home": ("desktop", go(base + "/")),
        "desktop-month": ("desktop", go(month)),
        "desktop-week": ("desktop", go(week)),
        "desktop-booking-form": ("desktop", booking_form),
        "desktop-booking-done": ("desktop", as_resident(f"{base}/bookings/{demo.booking_id}/done/")),
        "desktop-my-bookings": ("desktop", as_resident(f"{base}/my/bookings/")),
        "desktop-payment": ("desktop", as_resident(f"{base}/payments/bookings/{demo.booking_id}/")),
        "desktop-lottery": ("desktop", go(f"{base}/lottery/rounds/{demo.round_id}/rooms/{demo.lottery_room_id}/")),
        "desktop-accessibility": ("desktop", go(base + "/accessibility/")),
        "phone-home": ("phone", go(base + "/")),
        "phone-month": ("phone", go(month)),
        "phone-week": ("phone", go(week)),
        "phone-booking-form": ("phone", booking_form),
        "phone-my-bookings": ("phone", as_resident(f"{base}/my/bookings/")),
        "kiosk-home": ("tablet", kiosk(None)),
        "kiosk-login": ("tablet", kiosk("keypad")),
        "kiosk-availability": ("tablet", kiosk("/kiosk/availability/")),
        "staff-index": ("staff", staff(f"{base}/staff/")),
        "staff-today": ("staff", staff(f"{base}/staff/facilities/{demo.staff_facility_id}/today/")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="just these pictures (names as in docs/screenshots)")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} is missing: run `make browser`.")
    sys.path.insert(0, str(ROOT))
    port, stripe_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DEBUG": "true",  # runserver serves the static files
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        print("seeding the demo data …", flush=True)
        demo = seed(env, port)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop; no ORM use follows
        with servers(env, port, stripe_port):
            take(demo, args.only)


def take(demo: Demo, only: list[str] | None) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    viewports = {"desktop": DESKTOP, "phone": PHONE, "tablet": TABLET, "staff": DESKTOP}
    shared: dict[str, object] = {}  # the kiosk tablet and the staff terminal keep their session
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for name, (kind, prepare) in shots(demo).items():
            if only and name not in only:
                continue
            if kind in shared:
                context = shared[kind]  # type: ignore[assignment]
            else:
                context = browser.new_context(
                    viewport=viewports[kind],
                    locale="ja-JP",
                    timezone_id="Asia/Tokyo",
                    is_mobile=kind == "phone",
                    has_touch=kind in ("phone", "tablet"),
                )
            page = context.new_page()
            page.set_default_timeout(20_000)
            prepare(page)
            page.wait_for_load_state("networkidle")
            path = OUT / f"{name}.png"
            size = viewports[kind]
            height = min(int(page.evaluate("document.documentElement.scrollHeight")), size["height"] * MAX_SCREENS)
            clip = {"x": 0, "y": 0, "width": size["width"], "height": height}
            page.screenshot(path=str(path), full_page=True, clip=clip)  # type: ignore[arg-type]
            print(f"  {path.relative_to(ROOT)}", flush=True)
            if kind in ("tablet", "staff"):
                shared[kind] = context
                page.close()
            else:
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
