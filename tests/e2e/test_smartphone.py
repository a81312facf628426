"""Smartphone first, checked at 360 × 740 CSS pixels (the narrowest common Android width): no page
scrolls sideways; the availability grids scroll inside their own box with the room column fixed;
every cell says what it means in text, not by symbol or colour alone; free cells are big enough to
tap; and a booking can be made by tapping through."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from reservations.models import Channel, Reservation
from reservations.services import reservation_create
from tests.e2e.conftest import PHONE
from tests.e2e.test_accessibility import AxeAudit
from tests.e2e.world import World, bookable_day, day_label, login, make_world, now

pytestmark = pytest.mark.e2e

CELL_TEXTS = ("空きあり", "一部空き", "空きなし", "休館", "受付対象外")
TAP_TARGET = 44  # CSS pixels (WCAG 2.5.5; Apple and Android guidance)


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


@pytest.fixture
def phone(new_context: Any) -> Page:
    return new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2).new_page()


def page_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0: no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def assert_grid_scrolls_inside(page: Page) -> None:
    wrap = page.locator(".grid-wrap").first
    assert page_overflow(page) == 0
    widths = wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
    assert widths[0] > widths[1], "the grid is wider than the phone, so it must scroll in its own box"
    first_column = wrap.locator("tbody th[scope=row]").first
    before = first_column.bounding_box()
    wrap.evaluate("w => { w.scrollLeft = 400; }")
    page.wait_for_function("() => document.querySelector('.grid-wrap').scrollLeft > 0")
    after = first_column.bounding_box()
    assert before is not None and after is not None
    assert abs(after["x"] - before["x"]) < 1, "the room column stays in place while the days scroll"
    assert page_overflow(page) == 0


def assert_cells_speak(page: Page) -> None:
    texts = page.locator("table.grid tbody td").all_text_contents()
    assert texts
    missing = [t for t in texts if not any(word in t for word in CELL_TEXTS)]
    assert not missing, f"cells with a symbol but no text: {missing[:5]}"


def test_month_and_week_grids_at_360px(live_server: Any, world: World, phone: Page) -> None:
    base = live_server.url
    day = bookable_day()
    reservation_create(  # one taken slot, so the grids show more than one kind of cell
        resident=world.resident,
        room_id=world.room.pk,
        date=day,
        band_ids=[world.facility.time_bands.get(code="am").pk],
        channel=Channel.WEB,
        booked_by=world.resident.user,
        now=now(),
    )
    phone.goto(base + reverse("reservations:facility_month", args=[world.facility.pk, day.year, day.month]))
    assert_grid_scrolls_inside(phone)
    assert_cells_speak(phone)
    expect(phone.locator("table.grid td.c-partly").first).to_contain_text("一部空き")
    audit = AxeAudit()
    audit.check(phone, "month grid on a phone")

    phone.goto(base + reverse("reservations:facility_week", args=[world.facility.pk, day]))
    assert_grid_scrolls_inside(phone)
    assert_cells_speak(phone)
    expect(phone.locator("table.grid td.c-taken").first).to_contain_text("空きなし")
    links = phone.locator("table.grid td a")
    assert links.count() > 0
    for index in range(min(links.count(), 6)):
        box = links.nth(index).bounding_box()
        assert box is not None and box["width"] >= TAP_TARGET and box["height"] >= TAP_TARGET, box
    audit.check(phone, "week grid on a phone")
    audit.assert_clean(2)


def test_book_by_tapping_at_360px(live_server: Any, world: World, phone: Page) -> None:
    base = live_server.url
    day = bookable_day()
    login(phone, base, world.resident.user.user_number)
    assert page_overflow(phone) == 0
    phone.goto(base + reverse("reservations:facility_week", args=[world.facility.pk, day]))
    link = phone.get_by_role("link", name=re.compile(f"^{day_label(day)} 室場r1 夜間 "))
    link.scroll_into_view_if_needed()
    link.tap()
    expect(phone.get_by_role("heading", name="予約内容の確認")).to_be_visible()
    assert page_overflow(phone) == 0
    phone.get_by_label("利用人数").fill("8")
    phone.get_by_role("button", name="この内容で予約する").tap()
    expect(phone.get_by_role("heading", name="予約を受け付けました")).to_be_visible()
    assert page_overflow(phone) == 0
    assert Reservation.objects.filter(resident=world.resident, date=day).count() == 1

    for url in (
        reverse("reservations:my_bookings"),
        reverse("reservations:home"),
        reverse("lottery:round_room", args=[world.lottery_round.pk, world.hall.pk]),
        reverse("reservations:accessibility"),
    ):
        phone.goto(base + url)
        assert page_overflow(phone) == 0, url
