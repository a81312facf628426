"""The idle countdown and what one resident leaves behind for the next: the page carries the
warning (60 s) and logout (90 s) times for static/js/kiosk-idle.js, the keepalive restarts the
server's clock without counting as an access, and the server's 90 s logout leaves nothing of the
last resident in the next one's pages, caches or forms."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from kiosks.auth import IDLE_LOGOUT_SECONDS
from kiosks.models import KioskAccess
from reservations.services import resident_set_pin
from tests.factories import ResidentFactory
from tests.kiosks.conftest import PIN, USE_DAY, element, login

pytestmark = pytest.mark.django_db


def test_a_residents_pages_carry_the_countdown_for_the_script(clock, tablet, resident):
    client, _kiosk = tablet
    login(client, resident)
    page = client.get(reverse("kiosks:my_bookings")).content.decode()
    warning = element(page, "idle-warning")
    assert 'data-mode="resident" data-warn-seconds="60" data-logout-seconds="90"' in warning
    assert 'data-keepalive-url="/kiosk/keepalive/"' in warning and " hidden>" in warning.split("\n")[0]
    assert '<strong id="idle-seconds">30</strong>秒で終了します' in warning
    assert 'form="idle-logout"' in warning and 'id="idle-logout" action="/kiosk/logout/"' in page
    assert '<script src="/static/js/kiosk-idle.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page


def test_the_idle_script_counts_down_and_logs_out_through_the_form(clock):
    """What static/js/kiosk-idle.js does, read from its source: the data attributes it reads, the
    seconds it writes into #idle-seconds, the form it posts and the keepalive it sends."""
    script = (Path(settings.BASE_DIR) / "static" / "js" / "kiosk-idle.js").read_text()
    for needle in (
        "dataset.warnSeconds",
        "dataset.logoutSeconds",
        "dataset.keepaliveUrl",
        'getElementById("idle-seconds")',
        "seconds.textContent",
        "form.submit()",
        'method: "POST"',
        "X-CSRFToken",
    ):
        assert needle in script, needle


def test_someone_not_logged_in_is_taken_back_to_the_start_in_japanese(clock, tablet):
    client, _kiosk = tablet
    assert 'id="idle-warning"' not in client.get(reverse("kiosks:home")).content.decode()  # nothing to reset
    availability = client.get(reverse("kiosks:availability")).content.decode()
    assert 'data-mode="guest"' in element(availability, "idle-warning")
    assert "秒で最初の画面に戻ります" in availability

    client.post(reverse("set_language"), {"language": "en", "next": reverse("kiosks:home")})
    home = client.get(reverse("kiosks:home")).content.decode()
    assert 'data-mode="guest"' in home and "Back to the start screen in" in home  # English to be reset
    response = client.post(reverse("kiosks:logout"))  # what the script posts when the time is up
    assert response.status_code == 302
    assert "施設予約 利用者端末" in client.get(reverse("kiosks:home")).content.decode()


def test_the_keepalive_restarts_the_servers_clock_and_is_not_an_access(clock, tablet, resident):
    client, kiosk = tablet
    login(client, resident)
    counted = KioskAccess.objects.get(kiosk=kiosk).count
    for _ in range(3):
        clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS - 10))
        assert client.post(reverse("kiosks:keepalive")).status_code == 204
    assert KioskAccess.objects.get(kiosk=kiosk).count == counted
    assert resident.full_name in client.get(reverse("kiosks:home")).content.decode()
    assert client.get(reverse("kiosks:keepalive")).status_code == 405

    clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS))
    late = client.post(reverse("kiosks:keepalive"))
    assert late.status_code == 302 and late["Location"] == reverse("kiosks:home") + "?timeout=1"
    assert dict(client.session.items()) == {}


def test_two_residents_in_turn_see_nothing_of_each_other(clock, tablet, room, resident):
    """Resident A books at the kiosk, switches to English and walks away; the server logs A out
    after 90 s. Resident B then uses the kiosk: nothing of A is in any page B gets, in the login
    form, or in what the browser may keep."""
    client, _kiosk = tablet
    login(client, resident)
    client.post(reverse("set_language"), {"language": "en", "next": reverse("kiosks:home")})
    am = room.facility.time_bands.get(code="am")
    booked = client.post(reverse("kiosks:book", args=[room.pk, USE_DAY, am.pk]))
    reservation = resident.reservations.get()
    a_pages = [booked["Location"], reverse("kiosks:my_bookings"), reverse("kiosks:home")]
    for url in a_pages:
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]  # no browser or proxy keeps A's pages
    a_session = client.session.session_key
    traces = [resident.full_name, resident.user.user_number, reservation.reference]

    clock.shift(dt.timedelta(seconds=IDLE_LOGOUT_SECONDS))  # A walked away
    response = client.get(booked["Location"])
    assert response.status_code == 302 and response["Location"].endswith("?timeout=1")
    assert client.session.session_key != a_session and dict(client.session.items()) == {}

    login_page = client.get(reverse("kiosks:login")).content.decode()
    assert 'lang="ja"' in login_page  # back in Japanese
    assert not any(trace in login_page for trace in traces)
    assert not re.search(r'name="(user_number|pin)"[^>]*value=', login_page)  # no prefill

    b = ResidentFactory(full_name="小石川 花子")
    resident_set_pin(resident_id=b.pk, pin=PIN)
    assert login(client, b).status_code == 302
    b_pages = {
        url: client.get(url)
        for url in (
            reverse("kiosks:home"),
            reverse("kiosks:my_bookings"),
            reverse("kiosks:lottery_my"),
            reverse("kiosks:availability") + f"?day={USE_DAY.isoformat()}",
            reverse("kiosks:availability_week") + f"?start={USE_DAY.isoformat()}",
        )
    }
    for url, response in b_pages.items():
        html = response.content.decode()
        assert response.status_code == 200, url
        assert not any(trace in html for trace in traces), url
    assert b.full_name in b_pages[reverse("kiosks:home")].content.decode()
    assert "予約済" in b_pages[reverse("kiosks:availability") + f"?day={USE_DAY.isoformat()}"].content.decode()

    for url in [a_pages[0], reverse("kiosks:cancel", args=[reservation.pk])]:
        response = client.get(url)  # "back" to A's pages: refused, and nothing of A in the answer
        assert response.status_code == 404
        assert not any(trace in response.content.decode() for trace in traces)
    assert client.post(reverse("kiosks:cancel", args=[reservation.pk])).status_code == 404
    reservation.refresh_from_db()
    assert reservation.is_active


def test_logging_out_by_hand_forgets_the_resident_too(clock, tablet, resident):
    client, _kiosk = tablet
    login(client, resident)
    session = client.session.session_key
    response = client.post(reverse("kiosks:logout"))
    assert response.status_code == 302 and client.session.session_key != session
    home = client.get(reverse("kiosks:home")).content.decode()
    assert resident.full_name not in home and "ログイン" in home
