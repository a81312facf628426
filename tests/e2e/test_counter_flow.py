"""The counter in the browser: a counter clerk logs in with the second factor → finds the resident
by card number → books on their behalf → takes the fee in cash → prints the use permit (PDF)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.models import Payment, PaymentState
from reservations.models import Channel, Reservation, ReservationState, StaffRole
from tests.e2e.world import World, bookable_day, make_world, staff_login
from tests.factories import make_staff

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def test_counter_books_takes_cash_and_prints_the_permit(live_server: Any, world: World, page: Page) -> None:
    base = live_server.url
    clerk = make_staff(StaffRole.COUNTER, facilities=[world.facility])
    resident = world.resident
    day = bookable_day()

    staff_login(page, base, clerk, next_path="/staff/")
    search = page.get_by_label("利用者の検索（利用者番号または氏名）")
    expect(search).to_be_focused()  # the counter types the card number straight away
    search.fill(resident.user.user_number)
    search.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(resident.full_name))).to_be_visible()

    page.get_by_role("link", name=re.compile("代理で予約する")).click()
    page.get_by_label("室場").select_option(str(world.room.pk))
    page.get_by_label("利用日").fill(day.isoformat())
    page.get_by_role("button", name="空き状況を見る").click()
    page.get_by_label(re.compile("^午前")).check()
    page.get_by_role("button", name="料金を確認する").click()
    expect(page.locator("#fee")).to_have_text("1,200円")
    attendees = page.get_by_label("利用人数")
    if attendees.count():
        attendees.fill("6")
    page.get_by_role("button", name="この内容で予約する").click()

    reservation = Reservation.objects.get(resident=resident)
    assert reservation.channel == Channel.COUNTER and reservation.state == ReservationState.PROVISIONAL
    expect(page.get_by_role("heading", name=f"予約 {reservation.reference}")).to_be_visible()

    page.get_by_label("支払方法").select_option(value="cash")
    page.get_by_label("領収書番号").fill("R-000123")
    page.get_by_role("button", name="1,200円を受領する").click()
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
    payment = Payment.objects.get(reservation=reservation)
    assert payment.state == PaymentState.SUCCEEDED and payment.amount == 1200

    permit = page.get_by_role("link", name=re.compile("使用許可書を印刷"))
    response = page.context.request.get(base + permit.get_attribute("href"))  # type: ignore[operator]
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
