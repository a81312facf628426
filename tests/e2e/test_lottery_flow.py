"""The lottery in the browser: apply during intake → intake closes and the draw runs (the tick, as
Celery beat runs it) → the winner sees the result, confirms the win → pays by card."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from lottery import tasks as lottery_tasks
from lottery.models import LotteryEntry, LotteryRound, RoundState
from payments.fake_stripe import FakeStripe
from reservations import domain
from reservations.models import Reservation, ReservationState
from tests.e2e.world import World, login, make_world, now

pytestmark = pytest.mark.e2e

CARD_OK = "4242424242424242"


@pytest.fixture
def world(live_server: Any) -> World:
    return make_world()


def test_apply_draw_confirm_pay(live_server: Any, world: World, page: Page, fake_stripe: FakeStripe) -> None:
    base = live_server.url
    lottery_round = world.lottery_round
    day = lottery_round.use_month + dt.timedelta(days=9)
    while domain.is_holiday(day):  # a weekday: the hall's weekday fee
        day += dt.timedelta(days=1)

    # 1. Apply for the hall's evening during intake.
    login(page, base, world.resident.user.user_number)
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="抽選申込").click()
    expect(page.get_by_role("heading", name="申込受付中の抽選")).to_be_visible()
    page.get_by_role("link", name="対象の室場と申込数を見る").click()
    page.get_by_role("link", name="室場hall").click()
    page.get_by_role("link", name=re.compile(f"{day.month}月{day.day}日 夜間に申し込む")).click()
    expect(page.get_by_role("heading", name="抽選申込の確認")).to_be_visible()
    page.get_by_role("button", name="この枠の抽選に申し込む").click()
    expect(page.get_by_role("status").filter(has_text="抽選に申し込みました（第1希望）")).to_be_visible()
    entry = LotteryEntry.objects.get(resident=world.resident)
    assert entry.date == day

    # 2. Intake ends and the draw is due: the tick closes intake, draws and publishes.
    moment = now() - dt.timedelta(seconds=1)
    LotteryRound.objects.filter(pk=lottery_round.pk).update(intake_closes_at=moment, draw_at=moment)
    lottery_tasks.tick()
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.PUBLISHED and lottery_round.published_at is not None

    # 3. The result, the confirmation of the win, and what to do next.
    page.reload()
    expect(page.locator(".result-won")).to_have_text("当選")
    page.get_by_role("button", name="当選を確定する").click()
    reservation = Reservation.objects.get(resident=world.resident)
    assert reservation.state == ReservationState.PROVISIONAL
    expect(page.get_by_role("status").filter(has_text=f"予約番号 {reservation.reference}")).to_be_visible()

    # 4. Pay from the link the confirmation offers.
    page.get_by_role("link", name=re.compile("使用料を支払う（クレジットカード）")).click()
    page.get_by_role("button", name="クレジットカードで支払う").click()
    page.get_by_label("カード番号").fill(CARD_OK)
    page.get_by_role("button", name="支払う (Pay)").click()
    expect(page.get_by_text("3,000円のお支払いが完了しました。")).to_be_visible()
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
