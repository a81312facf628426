"""A new resident, end to end in the browser: register online (仮登録) → staff activate them after the
ID check (admin) → find a free slot and book it → pay by card on the (fake) Stripe page → cancel →
the cancellation refund reaches the card."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments import tasks as payment_tasks
from payments.fake_stripe import FakeStripe
from payments.models import Payment, PaymentState
from reservations.models import Reservation, ReservationState, Resident, ResidentStatus
from tests.e2e.world import World, bookable_day, day_label, login, make_world, staff_login

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "kasuga-hanako-2026"
CARD_OK = "4242424242424242"


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def test_register_activate_book_pay_cancel_refund(
    live_server: Any, world: World, page: Page, new_context: Any, fake_stripe: FakeStripe
) -> None:
    base = live_server.url

    # 1. Registration (仮登録) through the public form.
    page.goto(base + "/")
    page.get_by_role("link", name="利用者登録").first.click()
    page.get_by_label("氏名").fill("春日 花子")
    page.get_by_label("生年月日").fill("1985-04-01")
    page.get_by_label("郵便番号").fill("１１２ー０００３")
    page.get_by_label("住所").fill("東京都文京区春日1-2-3")
    page.get_by_label("区内在住").check()
    page.get_by_label("メールアドレス").fill("hanako@example.jp")
    page.get_by_label("パスワード", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("パスワード（確認のためもう一度）").fill(NEW_PASSWORD)
    page.get_by_role("button", name="仮登録する").click()
    expect(page.get_by_role("heading", name="仮登録を受け付けました")).to_be_visible()
    user_number = page.locator(".user-number strong").inner_text().strip()
    resident = Resident.objects.get(user__user_number=user_number)
    assert resident.status == ResidentStatus.PENDING

    # 2. Staff check the ID at the counter and activate the registration in the admin.
    staff_page = new_context().new_page()
    staff_login(staff_page, base, world.staff, next_path="/admin/reservations/resident/")
    staff_page.get_by_role("searchbox").fill(user_number)
    staff_page.get_by_role("searchbox").press("Enter")
    staff_page.locator("input[name=_selected_action]").first.check()
    staff_page.locator("select[name=action]").select_option(label="本人確認済みとして本登録")
    staff_page.locator("button[name=index]").click()
    expect(staff_page.get_by_text("1人を本登録しました。")).to_be_visible()
    resident.refresh_from_db()
    assert resident.status == ResidentStatus.ACTIVE

    # 3. The resident logs in, finds a free morning and books it.
    login(page, base, user_number, NEW_PASSWORD)
    day = bookable_day()
    page.get_by_role("link", name="空き状況・施設検索").click()
    page.get_by_label("利用したい日").fill(day.isoformat())
    page.get_by_role("button", name="検索する").click()
    page.get_by_role("link", name=re.compile("春日区民センターの.*からの1週間")).click()
    page.get_by_role("link", name=re.compile(f"^{day_label(day)} 室場r1 午前 ")).click()
    expect(page.get_by_role("heading", name="予約内容の確認")).to_be_visible()
    expect(page.locator(".fee")).to_have_text("1,200円")
    page.get_by_label("利用人数").fill("12")
    page.get_by_role("button", name="この内容で予約する").click()

    expect(page.get_by_role("heading", name="予約を受け付けました")).to_be_visible()
    expect(page.get_by_role("heading", name="このあとの流れ")).to_be_visible()
    reservation = Reservation.objects.get(resident=resident)
    assert reservation.state == ReservationState.PROVISIONAL and reservation.date == day
    expect(page.locator(".reference").first).to_have_text(reservation.reference)

    # 4. Pay by card: our page → the (fake) hosted Stripe checkout → back to the result page.
    page.get_by_role("link", name="使用料を支払う（クレジットカード）").click()
    page.get_by_role("button", name="クレジットカードで支払う").click()
    expect(page).to_have_url(re.compile(re.escape(fake_stripe.base_url) + "/pay/"))
    page.get_by_label("カード番号").fill(CARD_OK)
    page.get_by_role("button", name="支払う (Pay)").click()
    expect(page.get_by_role("heading", name="お支払いの結果")).to_be_visible()
    expect(page.get_by_text("1,200円のお支払いが完了しました。")).to_be_visible()
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED

    # 5. Cancel from "my bookings"; the next payments tick refunds the card in full (free until 7
    #    days before use).
    page.get_by_role("link", name="予約の確認・取消へ").click()
    page.get_by_role("link", name=re.compile("この予約を取り消す")).click()
    page.get_by_role("button", name="取り消す", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="取り消しました")).to_be_visible()
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED

    payment_tasks.tick()  # what Celery beat runs every minute
    payment = Payment.objects.get(reservation=reservation)
    assert payment.state == PaymentState.REFUNDED and payment.refunded_amount == 1200
    with fake_stripe.lock:
        refunds = list(fake_stripe.state.refunds.values())
    assert [r["amount"] for r in refunds] == [1200]

    page.goto(f"{base}/payments/bookings/{reservation.pk}/")
    expect(page.get_by_role("cell", name=re.compile("還付 1,200円"))).to_be_visible()
