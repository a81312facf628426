"""The kiosk tablet in the browser: staff activate it with the one-time code → a resident logs in
on the keypad → books a free slot → walks away: the page warns at 60 idle seconds and logs out at
90 (the browser's clock is moved on with Playwright's clock; the server's own 90-second rule has
its tests in tests/kiosks)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from reservations.models import Channel, Reservation, ReservationState
from tests.e2e.conftest import TABLET
from tests.e2e.world import PIN, World, bookable_day, make_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def activated_tablet(new_context: Any, base: str, world: World) -> tuple[BrowserContext, Page]:
    context: BrowserContext = new_context(viewport=TABLET, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/kiosk/activate/")
    page.get_by_label("アクティベーションコード").fill(world.kiosk_code)
    page.get_by_role("button", name="有効にする").click()
    expect(page.get_by_role("link", name=world.facility.name)).to_be_visible()
    return context, page


def keypad_login(page: Page, user_number: str, pin: str) -> None:
    page.get_by_role("link", name="ログイン（利用者番号と暗証番号）").click()
    page.get_by_label("利用者番号").fill(user_number)
    page.get_by_label("暗証番号").fill(pin)
    page.get_by_role("button", name="ログイン", exact=True).click()


def test_kiosk_login_book_idle_logout(live_server: Any, world: World, new_context: Any) -> None:
    base = live_server.url
    _, page = activated_tablet(new_context, base, world)
    page.clock.install()  # the idle timers run on a clock the test moves

    keypad_login(page, world.resident.user.user_number, PIN)
    expect(page.get_by_role("heading", name=f"{world.resident.full_name} 様")).to_be_visible()

    day = bookable_day()
    page.goto(f"{base}/kiosk/availability/?day={day.isoformat()}")
    page.locator(f'a[href^="/kiosk/book/{world.room.pk}/{day.isoformat()}/"]').first.click()
    page.get_by_role("button", name="予約する").click()
    expect(page.get_by_role("heading", name="予約しました")).to_be_visible()
    reservation = Reservation.objects.get(resident=world.resident)
    assert reservation.channel == Channel.KIOSK and reservation.state == ReservationState.PROVISIONAL
    expect(page.get_by_text(reservation.reference).first).to_be_visible()

    # Walk away: a warning at 60 s that "続ける" would dismiss, then the logout at 90 s.
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("01:01")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("まもなく自動的に終了します")
    page.clock.fast_forward("00:30")
    expect(page.get_by_role("link", name="ログイン（利用者番号と暗証番号）")).to_be_visible()
    expect(page.get_by_role("button", name="終了する（ログアウト）")).to_have_count(0)

    # The session is gone on the server too: "my bookings" asks for the keypad again.
    page.goto(f"{base}/kiosk/bookings/")
    expect(page.get_by_label("暗証番号")).to_be_visible()
