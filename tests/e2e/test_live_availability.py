"""Live availability in the browser: pages served by a real daphne (config.asgi, HTTP and
websockets) on the test database and Redis; static/js/live.js connects, and a booking committed in
this process through the normal service reaches the open page, which swaps its grid in place and
says so in its live region. Once on a resident's month grid, once on a kiosk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kiosks.services import kiosk_create
from reservations.models import Channel
from reservations.services import reservation_create
from tests.daphne import serve_daphne
from tests.e2e.world import bookable_day, now
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, make_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UPDATED = re.compile("空き状況が更新されました")


@pytest.fixture
def daphne_url() -> Iterator[str]:
    with serve_daphne(app="tests.asgi:application") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def room() -> Any:
    return make_room(FacilityFactory(name="春日区民センター"), "r1")


def book(room: Any, day: Any, band_code: str) -> None:
    resident = ResidentFactory()
    reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[room.facility.time_bands.get(code=band_code).pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=now(),
    )


def wait_until_listening(page: Page) -> None:
    expect(page.locator("[data-live]")).to_have_attribute("data-live-state", "open")


def test_a_booking_updates_an_open_month_grid_in_place(daphne_url: str, room: Any, page: Page) -> None:
    day = bookable_day()
    page.goto(f"{daphne_url}/facilities/{room.facility_id}/month/{day.year}/{day.month}/")
    wait_until_listening(page)
    cell = page.locator("table.month tbody tr").filter(has_text=room.name).locator("td").nth(day.day - 1)
    expect(cell).to_contain_text("○")
    page.evaluate("window.__samePage = true")  # gone if the page were reloaded

    book(room, day, "am")

    expect(cell).to_contain_text("△")  # partly free now
    expect(page.locator("[data-live]")).to_have_text(UPDATED)
    assert page.evaluate("window.__samePage") is True


def test_a_booking_updates_an_open_kiosk_day_view(daphne_url: str, room: Any, new_context: Any) -> None:
    _, code = kiosk_create(facility=room.facility, name="1階ロビー", created_by=StaffFactory(), now=now())
    page = new_context().new_page()
    page.goto(f"{daphne_url}/kiosk/activate/")
    page.locator("input[name=code]").fill(code)
    page.locator("main form button[type=submit]").click()
    day = bookable_day()
    page.goto(f"{daphne_url}/kiosk/availability/?day={day.isoformat()}")
    wait_until_listening(page)
    row = page.locator("#kiosk-availability table.slots tbody tr").filter(has_text=room.name)
    expect(row.locator("td").first).to_contain_text("空き")

    book(room, day, "am")

    expect(row.locator("td").first).to_contain_text("予約済")
    expect(page.locator("[data-live]")).to_have_text(UPDATED)
