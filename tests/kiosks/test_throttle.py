"""kiosks/throttle.py through the keypad login: per (card, kiosk) delays and a per-kiosk cap that
slow guessing down without locking the card's owner out, here for long or elsewhere at all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kiosks import throttle
from tests.factories import ResidentFactory
from tests.kiosks.conftest import PIN, activated_client, login

pytestmark = pytest.mark.django_db


def test_delays_grow_exponentially_and_are_capped():
    assert [throttle.delay_for(n) for n in range(1, 5)] == [0, 0, 30, 60]
    assert throttle.delay_for(50) == throttle.MAX_DELAY_SECONDS


@pytest.mark.smoke
def test_keypad_login_with_the_right_pin_and_refusal_of_a_wrong_one(clock, tablet, resident):
    client, _kiosk = tablet
    page = client.get(reverse("kiosks:login")).content.decode()
    assert page.count("data-key=") == 12 and 'inputmode="none"' in page
    wrong = login(client, resident, pin="0000")
    assert wrong.status_code == 403 and "利用者番号または暗証番号が違います" in wrong.content.decode()
    unknown = client.post(reverse("kiosks:login"), {"user_number": "99999999", "pin": PIN})
    assert unknown.content.decode().count("利用者番号または暗証番号が違います") == 1  # the same answer
    assert login(client, resident).status_code == 302
    assert resident.full_name in client.get(reverse("kiosks:home")).content.decode()


def test_a_resident_without_a_pin_or_not_active_cannot_log_in(clock, tablet):
    client, _kiosk = tablet
    no_pin = ResidentFactory()
    assert login(client, no_pin).status_code == 403


def test_guessing_delays_the_card_at_this_kiosk_only_and_only_for_a_while(clock, tablet, facility, staff, resident):
    client, kiosk = tablet
    for _ in range(throttle.FREE_FAILURES):
        assert login(client, resident, pin="0000").status_code == 403
    # The right PIN holder at the same tablet waits 30 s ...
    waiting = login(client, resident)
    assert waiting.status_code == 429 and "30" in waiting.content.decode()
    # ... but is not locked out at another tablet ...
    other_client, _other = activated_client(facility, staff, name="2階")
    assert login(other_client, resident).status_code == 302
    # ... nor here, once the wait is over; success clears the count.
    clock.shift(dt.timedelta(seconds=throttle.FIRST_DELAY_SECONDS + 1))
    assert login(client, resident).status_code == 302
    assert (
        throttle.wait_seconds(kiosk_id=kiosk.pk, user_number=resident.user.user_number, now=dt.datetime.now(dt.UTC))
        == 0
    )


def test_another_card_at_the_same_kiosk_is_not_delayed_by_one_cards_failures(clock, tablet, resident):
    client, _kiosk = tablet
    victim = ResidentFactory()
    for _ in range(throttle.FREE_FAILURES + 1):
        client.post(reverse("kiosks:login"), {"user_number": victim.user.user_number, "pin": "0000"})
    assert login(client, resident).status_code == 302


def test_the_per_kiosk_cap_stops_card_sweeping_for_the_rest_of_the_minute(clock, tablet, facility, staff, resident):
    client, _kiosk = tablet
    clock.move_to(dt.datetime(2026, 11, 10, 10, 0, 5, tzinfo=dt.UTC))
    for n in range(throttle.KIOSK_FAILURES_PER_MINUTE):
        client.post(reverse("kiosks:login"), {"user_number": f"9{n:07d}", "pin": "0000"})
    assert login(client, resident).status_code == 429
    other_client, _other = activated_client(facility, staff, name="2階")
    assert login(other_client, resident).status_code == 302
    clock.shift(dt.timedelta(seconds=60))
    assert login(client, resident).status_code == 302
