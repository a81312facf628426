"""`manage.py kiosk_demo` (called by `demo_logins`, so `make run` prints it): a one-time activation
URL for a demo kiosk at a demo facility, and the demo resident's card number and a PIN that works
on it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from kiosks.models import Kiosk
from lottery import services as lottery_services
from lottery.models import LotteryRound
from reservations import demo as booking_demo
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, UserFactory, make_room
from tests.lottery.conftest import USE_MONTH, put_in_lottery

pytestmark = pytest.mark.django_db

URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/kiosk/activate/\?code=[A-Z0-9]{5}-[A-Z0-9]{5})")
LOGIN = re.compile(r"利用者番号 \(card\) (\d+) / 暗証番号 \(PIN\) (\d+)")


@pytest.fixture
def demo_ward(clock):
    """The parts of seed_demo's ward the demo kiosk needs: the demo resident, the admin, and a
    facility with a hall in a lottery round taking entries (listed after a plain one)."""
    FacilityFactory(code="aaa-plain", name="ふつうの会館")
    hall = make_room(FacilityFactory(code="zzz-hall", name="抽選のある会館"), "hall")
    put_in_lottery(hall)
    lottery_services.round_create(facility_group=hall.facility.group, use_month=USE_MONTH)
    ResidentFactory(user=UserFactory(user_number=booking_demo.DEMO_RESIDENT), full_name="デモ 太郎")
    StaffFactory(user_number=booking_demo.ADMIN_USER, is_superuser=True)
    return hall


def run(port: int = 8000) -> str:
    out = StringIO()
    call_command("kiosk_demo", port=port, stdout=out)
    return out.getvalue()


def test_the_printed_url_turns_a_browser_into_the_demo_kiosk_where_the_printed_pin_logs_in(demo_ward):
    text = run(port=8123)
    port, path = URL.search(text).groups()
    card, pin = LOGIN.search(text).groups()
    assert port == "8123" and card == booking_demo.DEMO_RESIDENT
    kiosk = Kiosk.objects.get()
    assert kiosk.facility == demo_ward.facility and "抽選のある会館" in text  # the lottery works there too

    browser = Client()
    code = path.split("=")[1]
    assert f'value="{code}"' in browser.get(path).content.decode()
    assert browser.post(reverse("kiosks:activate"), {"code": code}).status_code == 302
    assert browser.post(reverse("kiosks:login"), {"user_number": card, "pin": pin}).status_code == 302
    assert "デモ 太郎" in browser.get(reverse("kiosks:home")).content.decode()
    open_round = LotteryRound.objects.get()
    lottery_page = browser.get(reverse("kiosks:lottery")).content.decode()
    assert reverse("kiosks:lottery_room", args=[open_round.pk, demo_ward.pk]) in lottery_page


def test_each_run_issues_a_new_code_for_the_same_kiosk(demo_ward):
    first = URL.search(run()).group(2).split("=")[1]
    tablet = Client()
    assert tablet.post(reverse("kiosks:activate"), {"code": first}).status_code == 302
    second = URL.search(run()).group(2).split("=")[1]
    assert first != second and Kiosk.objects.count() == 1
    assert tablet.get(reverse("kiosks:home")).status_code == 403  # activate again with the new code
    assert Client().post(reverse("kiosks:activate"), {"code": first}).status_code == 400
    assert Client().post(reverse("kiosks:activate"), {"code": second}).status_code == 302


def test_demo_logins_prints_the_demo_kiosk(demo_ward):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert URL.search(out.getvalue()) and LOGIN.search(out.getvalue())


def test_without_the_demo_data_it_says_what_to_run(clock):
    assert "seed_demo" in run() and not Kiosk.objects.exists()
