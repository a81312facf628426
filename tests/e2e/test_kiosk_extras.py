"""More of the kiosk tablet in the browser: the idle countdown's seconds and "続ける", someone not
logged in taken back to the start page in Japanese, and check-in by holding a booking's QR code up
to the camera (kiosk-scan.js). The camera and the BarcodeDetector are the browser's; this headless
browser has neither, so the test gives it stand-ins through an init script: a canvas stream as the
camera and a detector that "reads" the booking's reference. The page's own script runs as is."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from reservations.models import Channel
from reservations.services import reservation_create
from tests.e2e.test_kiosk_flow import activated_tablet, keypad_login
from tests.e2e.world import PIN, World, make_world, now
from tests.factories import make_room

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def test_the_countdown_shows_the_seconds_left_and_continue_starts_over(
    live_server: Any, world: World, new_context: Any
) -> None:
    _, page = activated_tablet(new_context, live_server.url, world)
    page.clock.install()
    keypad_login(page, world.resident.user.user_number, PIN)
    expect(page.get_by_role("heading", name=f"{world.resident.full_name} 様")).to_be_visible()
    page.wait_for_load_state("load")
    warning = page.get_by_role("alertdialog")
    page.clock.fast_forward("01:05")
    expect(warning).to_be_visible()
    expect(page.locator("#idle-seconds")).to_have_text("25")
    with page.expect_response(lambda r: r.url.endswith("/kiosk/keepalive/")) as keepalive:
        page.get_by_role("button", name="続ける").click()
    assert keepalive.value.status == 204
    expect(warning).to_be_hidden()
    page.clock.fast_forward("00:50")
    expect(warning).to_be_hidden()  # the count started over at "続ける"
    page.clock.fast_forward("00:15")
    expect(warning).to_be_visible()
    expect(page.get_by_role("heading", name=f"{world.resident.full_name} 様")).to_be_visible()


def test_someone_not_logged_in_is_taken_back_to_the_start_in_japanese(
    live_server: Any, world: World, new_context: Any
) -> None:
    _, page = activated_tablet(new_context, live_server.url, world)
    page.clock.install()
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="See availability").click()
    expect(page.get_by_role("heading", name="Availability")).to_be_visible()
    page.wait_for_load_state("load")  # the idle script (deferred) has started its count
    page.clock.fast_forward("01:01")
    expect(page.get_by_role("alertdialog")).to_contain_text("Back to the start screen in")
    page.clock.fast_forward("00:30")
    expect(page.get_by_role("heading", name="施設予約 利用者端末")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def fake_camera_and_detector(page: Page, reference: str) -> None:
    page.add_init_script(
        f"""
        window.BarcodeDetector = class {{
          static getSupportedFormats() {{ return Promise.resolve(["qr_code"]); }}
          detect() {{ return Promise.resolve([{{ rawValue: {json.dumps(reference.lower())} }}]); }}
        }};
        navigator.mediaDevices.getUserMedia = () => {{
          const canvas = document.createElement("canvas");
          canvas.getContext("2d").fillRect(0, 0, 10, 10);
          return Promise.resolve(canvas.captureStream());
        }};
        """
    )


def test_check_in_by_holding_the_qr_code_up_to_the_camera(live_server: Any, world: World, new_context: Any) -> None:
    free_room = make_room(world.facility, "free", weekday_fee=0, holiday_fee=0)
    today = now().date()
    start_of_day = dt.datetime.combine(today, dt.time(0, 1), tzinfo=now().tzinfo)
    reservation = reservation_create(
        resident=world.resident,
        room_id=free_room.pk,
        date=today,
        band_ids=[world.facility.time_bands.order_by("-order").first().pk],
        channel=Channel.COUNTER,
        booked_by=world.staff,
        now=start_of_day,
    )
    context, page = activated_tablet(new_context, live_server.url, world)
    scanning = context.new_page()
    fake_camera_and_detector(scanning, reservation.reference)
    page.close()
    scanning.goto(f"{live_server.url}/kiosk/check-in/")
    scanning.get_by_role("button", name="QRコードをカメラで読み取る").click()
    expect(scanning.get_by_role("status").filter(has_text="受付しました")).to_be_visible()
    reservation.refresh_from_db()
    assert reservation.checked_in_channel == Channel.KIOSK


def test_without_barcode_detector_the_reference_is_typed(live_server: Any, world: World, new_context: Any) -> None:
    _, page = activated_tablet(new_context, live_server.url, world)
    page.goto(f"{live_server.url}/kiosk/check-in/")
    expect(page.get_by_role("button", name="QRコードをカメラで読み取る")).to_be_hidden()
    expect(page.get_by_label("予約番号")).to_be_visible()
