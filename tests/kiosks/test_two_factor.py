"""kiosks/two_factor.py and its pages: every staff page needs the second factor; enrolment with a QR
code; wrong codes refused and throttled; a system admin's reset ends the member's sessions at once."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reservations import demo
from reservations.domain import TOKYO
from reservations.models import AuditEntry, StaffRole, User
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    ResidentFactory,
    make_staff,
    staff_client,
    totp_code,
    totp_device,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 10, 9, 0, tzinfo=TOKYO)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def password_login(user: User, next_url: str = "") -> Client:
    """The first factor only, through the real login page."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.user_number, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:1000]
    return client


def counter_staff() -> User:
    return make_staff(StaffRole.COUNTER, facilities=[FacilityFactory()])


def staff_pages(facility_id: int) -> list[str]:
    return [
        reverse("staff:index"),
        reverse("staff:today", args=[facility_id]),
        reverse("admin:index"),
        reverse("admin:reservations_resident_changelist"),
        reverse("payments:cash_up"),
        reverse("payments:reconciliation_csv"),
    ]


def follow_to_second_factor(client: Client, url: str) -> str:
    """Follow redirects from `url`; the path the staff member ends up on."""
    response = client.get(url, follow=True)
    assert response.status_code == 200
    return response.request["PATH_INFO"]


def test_a_password_alone_opens_no_staff_page(clock):
    superuser = make_staff(StaffRole.SYSTEM_ADMIN, is_superuser=True)
    client = password_login(superuser)
    facility = FacilityFactory()
    for url in staff_pages(facility.pk):
        response = client.get(url)
        assert response.status_code == 302, url
        assert follow_to_second_factor(client, url) == reverse("staff:two_factor_setup"), url

    totp_device(superuser)  # enrolled: now the code page, and back to where they were going
    for url in staff_pages(facility.pk):
        assert follow_to_second_factor(client, url) == reverse("staff:two_factor_verify"), url
    response = client.get(reverse("staff:today", args=[facility.pk]))
    assert response["Location"] == reverse("staff:two_factor_verify") + "?next=" + reverse(
        "staff:today", args=[facility.pk]
    ).replace("/", "%2F")
    assert not AuditEntry.objects.filter(action__startswith="staff.").exists()


def test_residents_and_visitors_cannot_enrol():
    assert Client().get(reverse("staff:two_factor_setup"))["Location"].startswith(reverse("login"))
    resident = ResidentFactory()
    client = Client()
    client.force_login(resident.user)
    assert client.get(reverse("staff:two_factor_setup")).status_code == 403
    assert client.post(reverse("staff:two_factor_verify"), {"code": "123456"}).status_code == 403
    assert not TOTPDevice.objects.exists()


@pytest.mark.smoke
def test_enrolment_shows_a_qr_code_and_the_secret_and_one_code_confirms_it(clock):
    staff = counter_staff()
    client = password_login(staff)
    start = client.get(reverse("staff:index"))
    setup_url = start["Location"]
    assert setup_url.startswith(reverse("staff:two_factor_setup"))

    page = client.get(setup_url).content.decode()
    assert "<svg" in page and "</svg>" in page
    secret = re.search(r'<code class="two-factor-secret">([A-Z2-7]+)</code>', page).group(1)
    assert client.get(setup_url).content.decode().count(secret) == 1  # a reload shows the same key
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))

    wrong = client.post(setup_url, {"code": "000000" if totp(key) != 0 else "111111"})
    assert wrong.status_code == 400 and "確認コードが正しくありません" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()

    clock.shift(dt.timedelta(seconds=2))  # past the one-second lock after a wrong code
    done = client.post(setup_url, {"code": f"{totp(key):06d}"})
    assert done.status_code == 302 and done["Location"] == reverse("staff:index")
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert client.get(reverse("staff:index")).status_code == 200
    # Enrolled once: the setup page does not offer a second device.
    assert client.get(reverse("staff:two_factor_setup"))["Location"].startswith(reverse("staff:two_factor_verify"))
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[:3] == ["login", "2fa.failed", "2fa.enrolled"] and actions[-1] == "staff.view"


@pytest.mark.smoke
def test_the_code_page_refuses_wrong_codes_throttles_guessing_and_returns_to_next(clock):
    staff = counter_staff()
    device = totp_device(staff)
    client = password_login(staff)
    verify_url = client.get(reverse("staff:index"))["Location"]
    assert verify_url == reverse("staff:two_factor_verify") + "?next=%2Fstaff%2F"

    wrong = client.post(verify_url, {"code": "12345"})
    assert wrong.status_code == 400 and "6桁" in wrong.content.decode()
    right = totp_code(device)
    wrong_code = f"{(int(right) + 1) % 1_000_000:06d}"
    assert client.post(verify_url, {"code": wrong_code}).status_code == 400
    # Straight after a wrong code even the right one is refused: guessing is slowed down.
    throttled = client.post(verify_url, {"code": right})
    assert throttled.status_code == 400 and "秒間は受け付けません" in throttled.content.decode()
    assert client.get(reverse("staff:index")).status_code == 302

    clock.shift(dt.timedelta(seconds=1.5))
    assert client.post(verify_url, {"code": wrong_code}).status_code == 400  # failure 2: 2 s lock
    clock.shift(dt.timedelta(seconds=1.5))
    assert "秒間は受け付けません" in client.post(verify_url, {"code": right}).content.decode()
    clock.shift(dt.timedelta(seconds=1))
    ok = client.post(verify_url, {"code": right})
    assert ok.status_code == 302 and ok["Location"] == reverse("staff:index")
    assert client.get(reverse("staff:index")).status_code == 200

    # A code is good once: another session cannot replay it.
    other = password_login(staff)
    replay = other.post(verify_url, {"code": right})
    assert replay.status_code == 400
    failures = AuditEntry.objects.filter(action="2fa.failed", actor=staff).count()
    assert failures == 3
    assert AuditEntry.objects.filter(action="2fa.throttled", actor=staff).count() == 2


def test_next_must_stay_on_this_site(clock):
    staff = counter_staff()
    device = totp_device(staff)
    client = password_login(staff)
    url = reverse("staff:two_factor_verify") + "?next=https://evil.example/"
    response = client.post(url, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("staff:index")


def test_the_admin_asks_for_the_code_and_its_own_login_form_is_not_a_way_round(clock):
    admin = make_staff(StaffRole.SYSTEM_ADMIN, is_superuser=True)
    device = totp_device(admin)
    client = password_login(admin)
    changelist = reverse("admin:reservations_resident_changelist")
    to_login = client.get(changelist)
    assert to_login["Location"].startswith(reverse("admin:login"))
    to_code = client.get(to_login["Location"])
    assert to_code["Location"] == reverse("staff:two_factor_verify") + "?next=" + changelist.replace("/", "%2F")
    # The admin's own login form is not offered either (posting a password there verifies nothing).
    client.post(reverse("admin:login"), {"username": admin.user_number, "password": PASSWORD})
    assert client.get(changelist).status_code == 302
    back = client.post(to_code["Location"], {"code": totp_code(device)})
    assert back["Location"] == changelist
    assert client.get(changelist).status_code == 200

    anonymous = Client().get(reverse("admin:login") + "?next=/admin/")
    assert anonymous["Location"].startswith(reverse("login"))


def test_a_system_admin_resets_a_lost_authenticator_and_the_members_sessions_end_at_once(clock):
    member = counter_staff()
    desk = staff_client(member)
    laptop = staff_client(member)  # a second session somewhere else
    assert desk.get(reverse("staff:index")).status_code == 200
    someone_else = staff_client(counter_staff())

    admin = staff_client(make_staff(StaffRole.SYSTEM_ADMIN))
    accounts = admin.get(reverse("staff:two_factor_accounts")).content.decode()
    assert member.user_number in accounts
    response = admin.post(reverse("staff:two_factor_reset", args=[member.pk]), {"deactivate": "on"})
    assert response.status_code == 302
    assert "セッション 2 件を終了しました" in admin.get(response["Location"]).content.decode()

    for session in (desk, laptop):
        assert session.get(reverse("staff:index"))["Location"].startswith(reverse("login"))
    assert not any(s.get_decoded().get("_auth_user_id") == str(member.pk) for s in Session.objects.all())
    member.refresh_from_db()
    assert not member.is_active and not TOTPDevice.objects.filter(user=member).exists()
    assert someone_else.get(reverse("staff:index")).status_code == 200  # nobody else is affected
    entry = AuditEntry.objects.get(action="2fa.reset")
    assert entry.target == member.user_number and entry.details["sessions_ended"] == 2
    assert entry.details["deactivated"] is True


def test_a_reset_without_deactivation_sends_the_member_back_to_enrolment(clock):
    member = counter_staff()
    desk = staff_client(member)
    admin = staff_client(make_staff(StaffRole.SYSTEM_ADMIN))
    admin.post(reverse("staff:two_factor_reset", args=[member.pk]))  # the box left unticked
    member.refresh_from_db()
    assert member.is_active
    assert desk.get(reverse("staff:index"))["Location"].startswith(reverse("login"))
    again = password_login(member)
    assert again.get(reverse("staff:index"))["Location"].startswith(reverse("staff:two_factor_setup"))


def test_only_system_admins_reset_and_never_their_own(clock):
    member = counter_staff()
    totp_device(member)
    manager = staff_client(make_staff(StaffRole.FACILITY_MANAGER))
    assert manager.post(reverse("staff:two_factor_reset", args=[member.pk])).status_code == 403
    assert manager.get(reverse("staff:two_factor_accounts")).status_code == 403
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    assert auditor.post(reverse("staff:two_factor_reset", args=[member.pk])).status_code == 403
    member.refresh_from_db()
    assert TOTPDevice.objects.filter(user=member).exists() and member.is_active

    admin_user = make_staff(StaffRole.SYSTEM_ADMIN)
    admin = staff_client(admin_user)
    response = admin.post(reverse("staff:two_factor_reset", args=[admin_user.pk]), follow=True)
    assert "自分自身の2要素認証はリセットできません" in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin_user).exists()
    resident = ResidentFactory()
    response = admin.post(reverse("staff:two_factor_reset", args=[resident.user.pk]), follow=True)
    assert "職員のアカウントが見つかりません" in response.content.decode()


def test_demo_staff_get_past_the_second_factor_with_the_printed_code(clock):
    staff = counter_staff()
    demo.staff_second_factor()
    printed = io.StringIO()
    call_command("demo_totp", stdout=printed)
    assert f"secret={demo.DEMO_TOTP_SECRET}" in printed.getvalue()
    code = re.search(r"current code\): (\d{6})", printed.getvalue()).group(1)
    client = password_login(staff)
    verify_url = client.get(reverse("staff:index"))["Location"]
    assert verify_url.startswith(reverse("staff:two_factor_verify"))
    assert client.post(verify_url, {"code": code})["Location"] == reverse("staff:index")
