"""What residents expect around the booking itself, in the browser: the language they chose stays
chosen; a calendar app can subscribe to their bookings without a login; the confirmation prints
cleanly with 和暦 beside the date."""

from __future__ import annotations

import re
from typing import Any

import icalendar
import pytest
from playwright.sync_api import Page, expect

from reservations.models import Channel, ResidentPreference
from reservations.services import reservation_create
from tests.e2e.world import World, bookable_day, login, make_world, now

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def test_language_choice_is_remembered(live_server: Any, world: World, new_context: Any) -> None:
    base = live_server.url
    context = new_context()  # a Japanese browser
    page = context.new_page()
    login(page, base, world.resident.user.user_number)
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.locator("h1")).to_have_text("My bookings")

    # Another page, then another tab later: still English (the lang cookie, kept for a year).
    page.goto(base + "/lottery/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    other_tab = context.new_page()
    other_tab.goto(base + "/")
    expect(other_tab.locator("html")).to_have_attribute("lang", "en")
    cookie = next(c for c in context.cookies() if c["name"] == "lang")
    assert cookie["value"] == "en" and cookie["expires"] > 0
    # ... and remembered for the e-mails sent to this resident.
    assert ResidentPreference.objects.get(resident=world.resident).language == "en"

    # The public availability pages switch back with a plain link.
    day = bookable_day()
    other_tab.goto(f"{base}/facilities/{world.facility.pk}/month/{day.year}/{day.month}/")
    other_tab.get_by_role("link", name="日本語").click()
    expect(other_tab.locator("html")).to_have_attribute("lang", "ja")


def test_calendar_subscription_without_login(live_server: Any, world: World, page: Page, new_context: Any) -> None:
    base = live_server.url
    booking = reservation_create(
        resident=world.resident,
        room_id=world.room.pk,
        date=bookable_day(),
        band_ids=[world.facility.time_bands.get(code="ev").pk],
        channel=Channel.WEB,
        booked_by=world.resident.user,
        now=now(),
    )
    login(page, base, world.resident.user.user_number)
    page.get_by_role("link", name="予約をスマートフォンなどのカレンダーに表示する").click()
    page.get_by_role("button", name="配信URLを発行する").click()
    expect(page.get_by_role("status")).to_contain_text("配信のURLを発行しました")
    feed_url = page.get_by_label(re.compile("^配信URL")).input_value()
    assert feed_url.startswith(base + "/calendar/") and feed_url.endswith(".ics")

    # A calendar app: no cookies, no login.
    app = new_context().request
    response = app.get(feed_url)
    assert response.ok and response.headers["content-type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(response.body()).walk("VEVENT")
    assert str(event["uid"]).startswith(booking.reference)

    # Reset: the old URL stops working at once.
    page.get_by_role("button", name="URLを再発行する").click()
    expect(page.get_by_role("status")).to_contain_text("以前のURLは使えなくなりました")
    assert app.get(feed_url).status == 404
    assert app.get(page.get_by_label(re.compile("^配信URL")).input_value()).ok


def test_confirmation_prints_cleanly(live_server: Any, world: World, page: Page) -> None:
    base = live_server.url
    day = bookable_day()
    booking = reservation_create(
        resident=world.resident,
        room_id=world.room.pk,
        date=day,
        band_ids=[world.facility.time_bands.get(code="am").pk],
        channel=Channel.WEB,
        booked_by=world.resident.user,
        now=now(),
    )
    login(page, base, world.resident.user.user_number)
    page.goto(f"{base}/bookings/{booking.pk}/done/")
    expect(page.get_by_role("button", name="この画面を印刷する")).to_be_visible()
    era = f"（令和{day.year - 2018}年）"
    expect(page.locator("dl.kv")).to_contain_text(f"{day.year}年{day.month}月{day.day}日")
    expect(page.locator("dl.kv")).to_contain_text(era)

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="メインメニュー")).to_be_hidden()
    expect(page.get_by_role("button", name="この画面を印刷する")).to_be_hidden()
    expect(page.locator("footer")).to_be_hidden()
    expect(page.get_by_role("heading", name="予約の内容")).to_be_visible()
    expect(page.locator("dl.kv").first).to_contain_text(booking.reference)
    assert page.pdf(format="A4").startswith(b"%PDF")  # what the printer gets
