"""kiosks/auth.py: the device cookie, revocation, access counting and the idle logout."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from kiosks.auth import DEVICE_COOKIE, IDLE_LOGOUT_SECONDS
from kiosks.models import KioskAccess
from kiosks.services import kiosk_revoke
from tests.factories import ResidentFactory
from tests.kiosks.conftest import NOW, PIN, login

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_a_browser_without_a_device_key_is_refused(clock, facility):
    for name in ("kiosks:home", "kiosks:availability", "kiosks:login", "kiosks:my_bookings"):
        response = Client().get(reverse(name))
        assert response.status_code == 403, name
        assert "この端末は利用できません" in response.content.decode()


def test_activation_sets_a_signed_httponly_cookie_and_the_kiosk_is_known(clock, facility, tablet):
    client, _kiosk = tablet
    cookie = client.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    response = client.get(reverse("kiosks:home"))
    assert response.status_code == 200
    assert facility.name in response.content.decode()


def test_a_forged_or_unsigned_key_is_refused(clock, tablet):
    client, _kiosk = tablet
    raw_value = client.cookies[DEVICE_COOKIE].value
    key = raw_value.split(":")[0]
    forged = Client()
    forged.cookies[DEVICE_COOKIE] = key  # the key itself without the signature
    assert forged.get(reverse("kiosks:home")).status_code == 403
    forged.cookies[DEVICE_COOKIE] = raw_value[:-2] + "xx"
    assert forged.get(reverse("kiosks:home")).status_code == 403


def test_a_revoked_kiosk_is_refused_on_its_next_request_even_mid_session(clock, tablet, resident):
    client, kiosk = tablet
    assert login(client, resident).status_code == 302
    assert client.get(reverse("kiosks:my_bookings")).status_code == 200
    kiosk_revoke(kiosk_id=kiosk.pk, now=NOW)
    response = client.get(reverse("kiosks:my_bookings"))
    assert response.status_code == 403
    assert resident.full_name not in response.content.decode()
    assert "kiosk.resident_id" not in client.session


def test_every_authenticated_request_is_counted_for_its_kiosk_and_day(clock, tablet):
    client, kiosk = tablet
    for _ in range(3):
        client.get(reverse("kiosks:home"))
    Client().get(reverse("kiosks:home"))  # refused: counted nowhere
    assert KioskAccess.objects.get(kiosk=kiosk, date=dt.date(2026, 11, 10)).count == 3
    clock.shift(dt.timedelta(days=1))
    client.get(reverse("kiosks:home"))
    assert KioskAccess.objects.get(kiosk=kiosk, date=dt.date(2026, 11, 11)).count == 1


def test_the_server_logs_out_after_90_idle_seconds_and_forgets_everything(clock, tablet, resident):
    client, _kiosk = tablet
    login(client, resident)
    clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS - 1))
    assert resident.full_name in client.get(reverse("kiosks:home")).content.decode()  # activity: timer restarts
    clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS - 1))
    page = client.get(reverse("kiosks:my_bookings"))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert 'data-mode="resident" data-warn-seconds="60" data-logout-seconds="90"' in html
    assert '<script src="/static/js/kiosk-idle.js" defer></script>' in html and "<script>" not in html
    session_key = client.session.session_key

    clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS))
    response = client.get(reverse("kiosks:my_bookings"))
    assert response.status_code == 302 and response["Location"].endswith("?timeout=1")
    assert client.session.session_key != session_key
    assert dict(client.session.items()) == {}
    home = client.get(response["Location"]).content.decode()
    assert "一定時間操作がなかったため" in home and resident.full_name not in home
    assert client.get(reverse("kiosks:my_bookings"))["Location"] == reverse("kiosks:login")


def test_two_residents_in_turn_see_nothing_of_each_other(clock, tablet, resident, room):
    from reservations.models import Channel
    from reservations.services import reservation_create, resident_set_pin

    client, _kiosk = tablet
    first = reservation_create(
        resident=resident,
        room_id=room.pk,
        date=dt.date(2026, 12, 7),
        band_ids=[room.facility.time_bands.get(code="am").pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=NOW,
    )
    login(client, resident)
    assert first.reference in client.get(reverse("kiosks:my_bookings")).content.decode()
    client.post(reverse("kiosks:logout"))

    second = ResidentFactory(full_name="小石川 花子")
    resident_set_pin(resident_id=second.pk, pin=PIN)
    assert login(client, second).status_code == 302
    page = client.get(reverse("kiosks:my_bookings")).content.decode()
    assert second.full_name in client.get(reverse("kiosks:home")).content.decode()
    assert first.reference not in page and resident.full_name not in page


def test_a_session_from_another_kiosk_does_not_carry_over(clock, tablet, facility, staff, resident):
    from tests.kiosks.conftest import activated_client

    client, _kiosk = tablet
    login(client, resident)
    other_client, _other = activated_client(facility, staff, name="2階")
    # The same browser session presented by another tablet (a copied session cookie) is ended.
    other_client.cookies["sessionid"] = client.cookies["sessionid"].value
    response = other_client.get(reverse("kiosks:my_bookings"))
    assert response.status_code == 302 and "timeout" in response["Location"]


def test_language_buttons_switch_to_english_and_logout_returns_to_japanese(clock, tablet, resident):
    client, _kiosk = tablet
    login(client, resident)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("kiosks:home")})
    assert response.status_code == 302
    page = client.get(reverse("kiosks:home")).content.decode()
    assert "Finish (log out)" in page and "Availability and booking" in page
    client.post(reverse("kiosks:logout"))
    assert "施設予約 利用者端末" in client.get(reverse("kiosks:home")).content.decode()
