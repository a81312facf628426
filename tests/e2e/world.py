"""The data the browser tests start from, made with the suite's factories and services, and the few
steps every flow shares (logging in through the real form). Dates are computed from the real clock:
the live server and the browser both run on it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from playwright.sync_api import Page, expect

from kiosks.models import Kiosk
from kiosks.services import kiosk_create
from lottery import domain as lottery_domain
from lottery import services as lottery_services
from lottery.models import Eligibility, LotteryRoom, LotteryRound
from reservations import domain
from reservations.models import Facility, Resident, Room, StaffRole, User
from reservations.services import resident_set_pin
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    ResidentFactory,
    make_room,
    make_staff,
    totp_code,
    totp_device,
)

PIN = "4821"


def now() -> dt.datetime:
    return timezone.now().astimezone(domain.TOKYO)


def bookable_day(*, at_least_days: int = 10, rules: domain.BookingRules | None = None) -> dt.date:
    """The first weekday at least `at_least_days` ahead whose first-come window is open now (so a
    cancellation is free and refunded in full: the default policy charges from 7 days before)."""
    rules = rules or domain.BookingRules()
    moment = now()
    day = moment.date() + dt.timedelta(days=at_least_days)
    while domain.is_holiday(day) or domain.window_refusal(
        use_date=day, band_start=dt.time(9, 0), now=moment, rules=rules
    ):
        day -= dt.timedelta(days=1)  # the month after next is not open yet: come back towards today
        assert day > moment.date(), "no bookable weekday ahead"
    return day


def day_label(day: dt.date) -> str:
    """How the grids name a day to screen readers ("12月7日")."""
    return f"{day.month}月{day.day}日"


@dataclass
class World:
    facility: Facility
    room: Room
    hall: Room
    resident: Resident
    staff: User
    kiosk_code: str
    kiosk: Kiosk
    lottery_round: LotteryRound


def make_world() -> World:
    facility = FacilityFactory(name="春日区民センター", address="東京都文京区春日1-16-21")
    room = make_room(facility, "r1", capacity=30, weekday_fee=1200, holiday_fee=1500)
    hall = make_room(facility, "hall", capacity=200, weekday_fee=3000, holiday_fee=3600)
    lottery_services.lottery_room_save(lottery_room=LotteryRoom(room=hall, eligibility=Eligibility.ANYONE))
    resident = ResidentFactory(full_name="春日 一郎")
    resident_set_pin(resident_id=resident.pk, pin=PIN)
    staff = make_staff(StaffRole.SYSTEM_ADMIN, is_superuser=True)
    kiosk, code = kiosk_create(facility=facility, name="1階ロビー", created_by=staff, now=now())
    return World(
        facility=facility,
        room=room,
        hall=hall,
        resident=resident,
        staff=staff,
        kiosk_code=code,
        kiosk=kiosk,
        lottery_round=open_round(facility),
    )


def open_round(facility: Facility) -> LotteryRound:
    """A lottery round for the month after next-but-one whose intake is open now (set by hand, as
    staff may: the default calendar's intake is only the first ten days of a month)."""
    moment = now()
    use_month = domain.add_months(domain.month_start(moment.date()), 3)
    calendar = lottery_domain.RoundCalendar(
        intake_opens_at=moment - dt.timedelta(hours=1),
        intake_closes_at=moment + dt.timedelta(days=1),
        draw_at=moment + dt.timedelta(days=1, hours=1),
        confirm_by=moment + dt.timedelta(days=5),
        release_at=moment + dt.timedelta(days=6),
    )
    lottery_round = lottery_services.round_create(facility_group=facility.group, use_month=use_month, calendar=calendar)
    lottery_services.round_open(round_id=lottery_round.pk, now=moment)
    lottery_round.refresh_from_db()
    return lottery_round


def login(page: Page, base_url: str, user_number: str, password: str = PASSWORD, next_path: str = "") -> None:
    """Log in through the resident login form (in whichever language the page is shown)."""
    page.goto(f"{base_url}/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.locator("#id_username").fill(user_number)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header form[action$='/logout/'] button")).to_be_visible()


def staff_login(page: Page, base_url: str, user: User, next_path: str = "/staff/") -> None:
    """A staff login as a person does it: user number and password, then the 6-digit code of the
    authenticator app (the staff member's TOTP device, enrolled beforehand) on the code page."""
    device = totp_device(user)
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("利用者番号").fill(user.user_number)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("確認コード（6桁）").fill(totp_code(device))
    page.get_by_role("button", name="確認する").click()
    expect(page).to_have_url(re.compile(re.escape(next_path.split("?")[0]) + r"(\?.*)?$"))
