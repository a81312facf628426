"""Rate limits that slow guessing down without letting anyone lock someone else out
(reservations/ratelimits.py on login, password reset and registration; kiosks/throttle.py on the
kiosk PIN), session keys rotated at every login, and the password rules at registration."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from kiosks import throttle
from kiosks.services import kiosk_create
from reservations.models import Residency, Resident, User
from reservations.ratelimits import client_ip
from tests.factories import PASSWORD, StaffFactory, verify_second_factor
from tests.security.conftest import NOW, PIN, World

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


@pytest.fixture
def tight(settings) -> dict[str, str]:
    settings.RATE_LIMITS = {
        "login_ip": "6/10m",
        "login_account": "3/10m",
        "password_reset_ip": "4/h",
        "password_reset_address": "2/h",
        "register_ip": "3/h",
    }
    return settings.RATE_LIMITS


def login(client: Client, user_number: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": user_number, "password": password})


# --- login ---------------------------------------------------------------------------------------------


def test_failing_as_someone_else_does_not_lock_them_out(world: World, tight) -> None:
    victim_number = world.resident_a.user.user_number
    attacker = Client(REMOTE_ADDR=ATTACKER)
    answers = [login(attacker, victim_number, f"guess-{n}").status_code for n in range(5)]
    assert answers[:3] == [200, 200, 200]  # the form again, with the "wrong password" message
    assert answers[3:] == [429, 429]
    # The victim, from their own address, logs in at once.
    victim = Client(REMOTE_ADDR=VICTIM)
    assert login(victim, victim_number).status_code == 302
    # Even the attacker's address may still try other user numbers (up to its own limit).
    assert login(attacker, world.resident_b.user.user_number).status_code == 302


def test_one_address_trying_many_user_numbers_is_stopped(world: World, tight) -> None:
    sweeper = Client(REMOTE_ADDR=ATTACKER)
    answers = [login(sweeper, f"9{n:07d}", "guess").status_code for n in range(7)]
    assert answers == [200] * 6 + [429]
    # Everyone else is unaffected.
    assert login(Client(REMOTE_ADDR=VICTIM), world.resident_a.user.user_number).status_code == 302


def test_the_refusal_says_how_long_to_wait_in_japanese_or_english(world: World, tight) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(3):
        login(client, world.resident_a.user.user_number, "wrong")
    refused = login(client, world.resident_a.user.user_number, "wrong")
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 600
    page = refused.content.decode()
    assert "しばらくお待ちください" in page and "分ほど待ってから" in page
    client.cookies["lang"] = "en"
    english = login(client, world.resident_a.user.user_number, "wrong").content.decode()
    assert "Please wait" in english


def test_the_limits_are_windows_that_pass(world: World, tight, clock) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    number = world.resident_a.user.user_number
    for _ in range(3):
        login(client, number, "wrong")
    assert login(client, number).status_code == 429
    clock.shift(dt.timedelta(minutes=21))  # two windows later
    assert login(client, number).status_code == 302


def test_spelling_the_user_number_differently_counts_as_the_same_account(world: World, tight) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    number = world.resident_a.user.user_number
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for spelling in (number, full_width, f" {number} "):
        assert login(client, spelling, "wrong").status_code == 200
    assert login(client, full_width, "wrong").status_code == 429


def test_showing_the_login_form_is_never_limited(world: World, tight) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    assert all(client.get(reverse("login")).status_code == 200 for _ in range(10))


def test_staff_logins_are_limited_the_same_way(world: World, tight) -> None:
    staff = StaffFactory()
    attacker = Client(REMOTE_ADDR=ATTACKER)
    answers = [login(attacker, staff.user_number, "wrong").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert login(Client(REMOTE_ADDR=VICTIM), staff.user_number).status_code == 302


def test_behind_a_load_balancer_the_forwarded_address_counts_and_cannot_be_forged(rf, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.66")
    assert client_ip(request) == "203.0.113.66"  # what our load balancer saw, not what the client wrote
    assert client_ip(rf.post("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"


def test_limits_can_be_switched_off(world: World, tight, settings) -> None:
    settings.RATELIMIT_ENABLE = False
    client = Client(REMOTE_ADDR=ATTACKER)
    assert {login(client, world.resident_a.user.user_number, "wrong").status_code for _ in range(8)} == {200}


# --- password reset and registration --------------------------------------------------------------------


def test_password_reset_is_limited_per_address_and_per_e_mail(world: World, tight) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    email = world.resident_a.user.email
    answers = [client.post(reverse("password_reset"), {"email": email}).status_code for _ in range(3)]
    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2  # no more mail than the limit allows
    # The owner asking from their own address still gets the link.
    assert Client(REMOTE_ADDR=VICTIM).post(reverse("password_reset"), {"email": email}).status_code == 302
    assert len(mail.outbox) == 3
    others = [client.post(reverse("password_reset"), {"email": f"x{n}@example.jp"}).status_code for n in range(3)]
    assert others == [302, 429, 429]  # the address's own limit (4 an hour) is used up


REGISTRATION = {
    "full_name": "文京 花子",
    "date_of_birth": "1985-06-15",
    "postcode": "112-0003",
    "address": "東京都文京区春日1-16-21",
    "residency": Residency.LIVES,
    "email": "hanako@example.jp",
    "password": "Hakusan-Hall-2026",
    "password_confirmation": "Hakusan-Hall-2026",
}


def test_registration_is_limited_per_address(world: World, tight) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    before = Resident.objects.count()
    answers = [
        client.post(reverse("accounts:register"), {**REGISTRATION, "email": f"r{n}@example.jp"}) for n in range(4)
    ]
    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    assert Resident.objects.count() == before + 3
    assert Client(REMOTE_ADDR=VICTIM).post(reverse("accounts:register"), REGISTRATION).status_code == 302


# --- the kiosk PIN (kiosks/throttle.py) ----------------------------------------------------------------


def tablet(world: World, name: str) -> Client:
    _kiosk, code = kiosk_create(facility=world.facility_x, name=name, created_by=world.kiosk_staff, now=NOW)
    client = Client()
    assert client.post(reverse("kiosks:activate"), {"code": code}).status_code == 302
    return client


def pin_login(client: Client, resident: Resident, pin: str = PIN):
    return client.post(reverse("kiosks:login"), {"user_number": resident.user.user_number, "pin": pin})


def test_pin_guessing_at_one_kiosk_cannot_be_aimed_at_the_owner_elsewhere(world: World, clock) -> None:
    lobby, hall = tablet(world, "lobby"), tablet(world, "hall")
    victim = world.resident_a
    for _ in range(throttle.FREE_FAILURES + 2):
        pin_login(lobby, victim, "0000")
    assert pin_login(lobby, victim).status_code == 429  # this card waits at this kiosk ...
    assert pin_login(hall, victim).status_code == 302  # ... and nowhere else
    # The wait decays: it is over after at most MAX_DELAY_SECONDS, and nothing locks the card for good.
    clock.shift(dt.timedelta(seconds=throttle.MAX_DELAY_SECONDS + 1))
    assert pin_login(lobby, victim).status_code == 302


def test_sweeping_cards_at_a_kiosk_stops_that_kiosk_for_a_minute_only(world: World, clock) -> None:
    lobby, hall = tablet(world, "lobby"), tablet(world, "hall")
    for n in range(throttle.KIOSK_FAILURES_PER_MINUTE):
        lobby.post(reverse("kiosks:login"), {"user_number": f"9{n:07d}", "pin": "0000"})
    assert pin_login(lobby, world.resident_b).status_code == 429
    assert pin_login(hall, world.resident_b).status_code == 302
    clock.shift(dt.timedelta(seconds=61))
    assert pin_login(lobby, world.resident_b).status_code == 302


# --- sessions ----------------------------------------------------------------------------------------------


def _anonymous_session(client: Client) -> str:
    session = client.session
    session["probe"] = "before login"
    session.save()
    return session.session_key


def test_the_session_key_changes_at_login(world: World) -> None:
    client = Client()
    before = _anonymous_session(client)
    assert login(client, world.resident_a.user.user_number).status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session.get("probe") == "before login"  # Django keeps the data, not the key


def test_the_session_key_changes_at_staff_login(world: World) -> None:
    staff = world.staff["counter_x"]
    client = Client()
    before = _anonymous_session(client)
    assert login(client, staff.user_number).status_code == 302
    assert client.session.session_key != before
    verify_second_factor(client, staff)  # the one-time code, in the session the password started
    assert client.get(reverse("staff:index")).status_code == 200


def test_the_session_is_replaced_at_kiosk_login(world: World, clock) -> None:
    client = tablet(world, "lobby")
    client.get(reverse("kiosks:login"))
    before = client.session.session_key or _anonymous_session(client)
    assert pin_login(client, world.resident_a).status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


# --- password rules at registration (AUTH_PASSWORD_VALIDATORS) ------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!x", "このパスワードは短すぎます。最低 8 文字以上必要です。"),
        ("password123", "このパスワードは一般的すぎます。"),
        ("3141592653589", "このパスワードは数字しか使われていません。"),
        ("hanako-example", "このパスワードは メールアドレス と似すぎています。"),
    ],
)
def test_registration_applies_the_password_validators(world: World, password: str, message: str) -> None:
    before = (User.objects.count(), Resident.objects.count())
    data = {
        **REGISTRATION,
        "email": "hanako-example@example.jp",
        "password": password,
        "password_confirmation": password,
    }
    response = Client().post(reverse("accounts:register"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert message in response.content.decode()
    assert (User.objects.count(), Resident.objects.count()) == before


def test_the_validators_are_configured(settings) -> None:
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }


def test_a_good_password_registers(world: World) -> None:
    assert Client().post(reverse("accounts:register"), REGISTRATION).status_code == 302
