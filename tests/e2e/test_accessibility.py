"""axe-core (bundled with axe-playwright-python, nothing downloaded) on every main page, in the real
browser: no violation of impact "serious" or "critical" may remain. Each test covers one audience
(anyone, a logged-in resident, English readers, the kiosk, staff), so a failure names its pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from lottery import services as lottery_services
from reservations.models import Channel, Reservation
from reservations.services import reservation_create
from tests.e2e.conftest import TABLET
from tests.e2e.test_kiosk_flow import activated_tablet, keypad_login
from tests.e2e.world import PIN, World, bookable_day, login, make_world, now, staff_login

pytestmark = pytest.mark.e2e

BLOCKING = ("serious", "critical")
AXE = Axe()


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


class AxeAudit:
    """Runs axe on pages and keeps what must be fixed, to report every page at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.pages = 0

    def check(self, page: Page, label: str) -> None:
        expect(page.locator("main")).to_be_visible()
        results = AXE.run(page)
        self.pages += 1
        for violation in results.response["violations"]:
            if violation["impact"] not in BLOCKING:
                continue
            nodes = "; ".join(
                f"{' '.join(map(str, node['target']))} — {node.get('failureSummary', '').splitlines()[-1].strip()}"
                for node in violation["nodes"][:4]
            )
            self.problems.append(
                f"[{label}] {page.url}\n  {violation['impact']} {violation['id']}: {violation['help']}\n  {nodes}"
            )

    def visit(self, page: Page, url: str, label: str) -> None:
        page.goto(url)
        self.check(page, label)

    def assert_clean(self, expected_pages: int) -> None:
        assert self.pages == expected_pages
        assert not self.problems, "axe found serious or critical problems:\n" + "\n".join(self.problems)


def _booking(world: World) -> Reservation:
    day = bookable_day()
    return reservation_create(
        resident=world.resident,
        room_id=world.room.pk,
        date=day,
        band_ids=[world.facility.time_bands.get(code="pm").pk],
        channel=Channel.WEB,
        booked_by=world.resident.user,
        now=now(),
    )


def test_public_pages(live_server: Any, world: World, page: Page) -> None:
    base, audit = live_server.url, AxeAudit()
    day = bookable_day()
    lottery_round = world.lottery_round
    audit.visit(page, base + "/", "home")
    audit.visit(
        page, base + reverse("reservations:facility_month", args=[world.facility.pk, day.year, day.month]), "month grid"
    )
    audit.visit(page, base + reverse("reservations:facility_week", args=[world.facility.pk, day]), "week grid")
    audit.visit(page, base + reverse("login"), "login")
    audit.visit(page, base + reverse("accounts:register"), "registration")
    page.get_by_role("button", name="仮登録する").click()  # the same form with every error shown
    audit.check(page, "registration errors")
    audit.visit(page, base + reverse("password_reset"), "password reset")
    audit.visit(page, base + reverse("lottery:index"), "lottery index")
    audit.visit(page, base + reverse("lottery:round", args=[lottery_round.pk]), "lottery round")
    audit.visit(page, base + reverse("lottery:round_room", args=[lottery_round.pk, world.hall.pk]), "lottery room")
    audit.visit(page, base + reverse("reservations:accessibility"), "accessibility statement")
    audit.assert_clean(11)


def test_resident_pages(live_server: Any, world: World, page: Page, fake_stripe: Any) -> None:
    base, audit = live_server.url, AxeAudit()
    booking = _booking(world)
    login(page, base, world.resident.user.user_number)
    audit.check(page, "my bookings")
    day = bookable_day(at_least_days=12)
    am = world.facility.time_bands.get(code="am")
    audit.visit(page, f"{base}{reverse('reservations:book', args=[world.room.pk, day])}?bands={am.pk}", "booking form")
    page.get_by_label("利用人数").fill("0")
    page.get_by_role("button", name="この内容で予約する").click()
    audit.check(page, "booking form with an error")
    page.get_by_label("利用人数").fill("5")
    page.get_by_role("button", name="この内容で予約する").click()
    audit.check(page, "booking done")
    audit.visit(page, base + reverse("reservations:cancel", args=[booking.pk]), "cancel")
    audit.visit(page, base + reverse("payments:booking", args=[booking.pk]), "payment")
    page.get_by_role("button", name="クレジットカードで支払う").click()
    page.get_by_label("カード番号").fill("4242424242424242")
    page.get_by_role("button", name="支払う (Pay)").click()
    audit.check(page, "payment result")
    hall_day = world.lottery_round.use_month + dt.timedelta(days=14)
    ev = world.facility.time_bands.get(code="ev")
    apply_url = f"{base}{reverse('lottery:apply', args=[world.hall.pk, hall_day])}?bands={ev.pk}"
    audit.visit(page, apply_url, "lottery apply")
    page.get_by_role("button", name="この枠の抽選に申し込む").click()
    audit.check(page, "lottery entries")
    audit.visit(page, base + reverse("accounts:profile"), "profile")
    audit.visit(page, base + reverse("reservations:calendar"), "calendar feed")
    page.get_by_role("button", name="配信URLを発行する").click()
    audit.check(page, "calendar feed issued")
    audit.assert_clean(12)


def test_pages_in_english(live_server: Any, world: World, new_context: Any) -> None:
    base, audit = live_server.url, AxeAudit()
    page = new_context().new_page()  # a Japanese browser: the reader picks English on the page
    page.goto(base + "/")
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    audit.check(page, "home (en)")
    day = bookable_day()
    audit.visit(page, base + reverse("reservations:facility_week", args=[world.facility.pk, day]), "week grid (en)")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    login(page, base, world.resident.user.user_number)
    expect(page.locator("h1")).to_have_text("My bookings")
    audit.check(page, "my bookings (en)")
    audit.assert_clean(3)


def test_kiosk_pages(live_server: Any, world: World, new_context: Any) -> None:
    base, audit = live_server.url, AxeAudit()
    _booking(world)
    page = new_context(viewport=TABLET).new_page()
    audit.visit(page, base + reverse("kiosks:activate"), "kiosk activation")
    _, page = activated_tablet(new_context, base, world)
    audit.check(page, "kiosk home")
    page.get_by_role("link", name="ログイン（利用者番号と暗証番号）").click()
    audit.check(page, "kiosk login")
    page.goto(base + reverse("kiosks:home"))
    keypad_login(page, world.resident.user.user_number, PIN)
    audit.check(page, "kiosk home (resident)")
    audit.visit(page, base + reverse("kiosks:availability"), "kiosk availability")
    audit.visit(page, base + reverse("kiosks:my_bookings"), "kiosk my bookings")
    audit.visit(page, base + reverse("kiosks:check_in"), "kiosk check-in")
    audit.assert_clean(7)


def test_staff_pages(live_server: Any, world: World, page: Page) -> None:
    base, audit = live_server.url, AxeAudit()
    booking = _booking(world)
    staff_login(page, base, world.staff, next_path="/staff/")
    audit.check(page, "staff index")
    audit.visit(page, base + reverse("staff:today", args=[world.facility.pk]), "staff today")
    audit.visit(page, base + reverse("staff:resident", args=[world.resident.pk]), "staff resident")
    audit.visit(page, base + reverse("staff:book_start", args=[world.resident.pk]), "staff booking on behalf")
    audit.visit(page, base + reverse("staff:booking", args=[booking.pk]), "staff booking and payment")
    audit.visit(page, base + reverse("staff:cash_up", args=[world.facility.pk]), "staff cash-up")
    audit.assert_clean(6)


def test_lottery_results_page(live_server: Any, world: World, page: Page) -> None:
    """After the draw: results, the win to confirm, and the verify page."""
    base, audit = live_server.url, AxeAudit()
    lottery_round = world.lottery_round
    hall_day = lottery_round.use_month + dt.timedelta(days=14)
    lottery_services.entry_apply(
        resident=world.resident,
        group=None,
        room_id=world.hall.pk,
        date=hall_day,
        band_ids=[world.facility.time_bands.get(code="ev").pk],
        channel=Channel.WEB,
        created_by=world.resident.user,
        now=now(),
    )
    moment = now() - dt.timedelta(seconds=1)
    type(lottery_round).objects.filter(pk=lottery_round.pk).update(intake_closes_at=moment, draw_at=moment)
    lottery_services.rounds_advance(now=now())
    login(page, base, world.resident.user.user_number)
    audit.visit(page, base + reverse("lottery:my_entries"), "lottery results")
    audit.visit(page, base + reverse("lottery:round", args=[lottery_round.pk]), "lottery round (published)")
    audit.visit(page, base + reverse("lottery:round_verify", args=[lottery_round.pk]), "lottery verify")
    audit.assert_clean(3)


def test_the_audit_catches_problems(page: Page) -> None:
    """The check itself can fail: an unlabelled field and an image without text are reported."""
    page.set_content(
        '<!doctype html><html lang="ja"><title>t</title><main><img src="data:,"><input type="text"></main></html>'
    )
    audit = AxeAudit()
    audit.check(page, "broken page")
    assert any("image-alt" in p for p in audit.problems) and any("label" in p for p in audit.problems)
