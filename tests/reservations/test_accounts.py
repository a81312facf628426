"""Resident accounts: login by user number, password reset by e-mail, registration, profile, groups."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse

from reservations.account_views import REGISTERED_KEY
from reservations.errors import BookingError
from reservations.models import Channel, Group, Residency, Resident, ResidentStatus, User
from reservations.services import reservation_create
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    GroupFactory,
    ResidentFactory,
    StaffFactory,
    UserFactory,
    make_room,
)

pytestmark = pytest.mark.django_db

WRONG_LOGIN = "利用者番号またはパスワードが正しくありません。"
NEW_PASSWORD = "Hakusan-Hall-2026"

REGISTRATION = {
    "full_name": "文京 花子",
    "date_of_birth": "1985-06-15",
    "postcode": "112-0003",
    "address": "東京都文京区春日1-16-21",
    "residency": Residency.LIVES,
    "email": "hanako@example.jp",
    "password": NEW_PASSWORD,
    "password_confirmation": NEW_PASSWORD,
}


def counts() -> tuple[int, int]:
    return User.objects.count(), Resident.objects.count()


def login(client, user_number: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": user_number, "password": password})


# --- login and logout -------------------------------------------------------------------------------


@pytest.mark.smoke
def test_login_with_user_number_rotates_the_session(client):
    resident = ResidentFactory()
    session = client.session
    session["probe"] = "before login"
    session.save()
    anonymous_key = session.session_key

    response = login(client, resident.user.user_number)

    assert response.status_code == 302
    assert response.url == reverse(settings.LOGIN_REDIRECT_URL)
    assert client.session["_auth_user_id"] == str(resident.user.pk)
    assert client.session.session_key != anonymous_key
    assert not Session.objects.filter(session_key=anonymous_key).exists()


def test_login_page_asks_for_user_number_in_japanese(client):
    page = client.get(reverse("login")).content.decode()
    assert "利用者番号" in page
    assert "パスワード" in page
    assert 'autocomplete="username"' in page
    assert 'autocomplete="current-password"' in page


def test_wrong_password_and_unknown_number_get_the_same_japanese_error(client):
    resident = ResidentFactory()

    wrong_password = login(client, resident.user.user_number, "not-the-password")
    unknown_number = login(client, "99999999", PASSWORD)

    for response in (wrong_password, unknown_number):
        assert response.status_code == 200
        assert WRONG_LOGIN in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert wrong_password.context["form"].non_field_errors() == unknown_number.context["form"].non_field_errors()


def test_full_width_user_number_is_accepted(client):
    user = UserFactory(user_number="10000123")
    full_width = "１００００１２３"
    assert login(client, full_width).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logout_is_post_only(client):
    resident = ResidentFactory()
    client.force_login(resident.user)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# --- registration (仮登録) ----------------------------------------------------------------------------


@pytest.mark.smoke
def test_registration_creates_a_pending_resident_and_shows_the_user_number(client):
    response = client.post(reverse("accounts:register"), REGISTRATION)

    assert response.status_code == 302
    assert response.url == reverse("accounts:register_done")
    resident = Resident.objects.select_related("user").get()
    assert resident.status == ResidentStatus.PENDING
    assert resident.registered_channel == Channel.WEB
    assert resident.full_name == "文京 花子"
    assert resident.date_of_birth == dt.date(1985, 6, 15)
    assert resident.residency == Residency.LIVES
    assert resident.user.email == "hanako@example.jp"
    assert resident.user.check_password(NEW_PASSWORD)

    page = client.get(response.url).content.decode()
    assert resident.user.user_number in page
    assert "本人確認書類" in page


def test_registered_resident_can_log_in_and_sees_pending_status(client):
    client.post(reverse("accounts:register"), REGISTRATION)
    user_number = client.session[REGISTERED_KEY]

    assert login(client, user_number, NEW_PASSWORD).status_code == 302
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "仮登録中です" in page
    assert "本人確認書類" in page


def test_pending_resident_cannot_book(client):
    client.post(reverse("accounts:register"), REGISTRATION)
    resident = Resident.objects.get()
    room = make_room(FacilityFactory(), "r1")
    with pytest.raises(BookingError) as info:
        reservation_create(
            resident=resident,
            room_id=room.pk,
            date=dt.date(2026, 12, 7),
            band_ids=[room.facility.time_bands.first().pk],
            channel=Channel.WEB,
            booked_by=resident.user,
            now=dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC),
        )
    assert info.value.code == "not_active"


def test_postcode_typed_full_width_or_without_hyphen_is_normalised(client):
    client.post(reverse("accounts:register"), {**REGISTRATION, "postcode": "〒１１２ー０００３"})
    assert Resident.objects.get().postcode == "112-0003"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"postcode": "12-34567"}, "postcode", "郵便番号は「123-4567」の形"),
        ({"postcode": "abc-defg"}, "postcode", "郵便番号は「123-4567」の形"),
        (
            {"password_confirmation": "Hakusan-Hall-2025"},
            "password_confirmation",
            "確認のためのパスワードが一致しません",
        ),
        ({"password": "password", "password_confirmation": "password"}, "password", None),
        ({"password": "12345678901", "password_confirmation": "12345678901"}, "password", None),
        ({"full_name": ""}, "full_name", None),
        ({"residency": ""}, "residency", None),
        ({"email": "not-an-address"}, "email", None),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "生年月日を正しく入力してください"),
    ],
)
def test_bad_registration_shows_errors_and_writes_nothing(client, change, field, message):
    before = counts()

    response = client.post(reverse("accounts:register"), {**REGISTRATION, **change})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors[field]
    page = response.content.decode()
    if message:
        assert message in page
    # The error is tied to its input for screen readers.
    assert f'id="id_{field}_error"' in page
    assert counts() == before


def test_registration_with_nothing_filled_in_lists_every_missing_field(client):
    before = counts()
    response = client.post(reverse("accounts:register"), {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) >= {"full_name", "date_of_birth", "postcode", "address", "password"}
    assert counts() == before


# --- password reset by e-mail -----------------------------------------------------------------------


def test_password_reset_by_email_lets_the_resident_set_a_new_password(client):
    resident = ResidentFactory()

    response = client.post(reverse("password_reset"), {"email": resident.user.email})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [resident.user.email]
    assert "パスワード再設定" in message.subject
    assert resident.user.user_number in message.body
    link = re.search(r"https?://testserver(/accounts/reset/\S+/\S+/)", message.body)
    assert link is not None

    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.url == reverse("password_reset_complete")

    assert login(client, resident.user.user_number, PASSWORD).status_code == 200  # the old one no longer works
    assert login(client, resident.user.user_number, NEW_PASSWORD).status_code == 302


def test_password_reset_for_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.jp"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_is_not_offered_to_staff_accounts(client):
    staff = StaffFactory()
    client.post(reverse("password_reset"), {"email": staff.email})
    assert mail.outbox == []


def test_used_reset_link_is_refused(client):
    resident = ResidentFactory()
    client.post(reverse("password_reset"), {"email": resident.user.email})
    path = re.search(r"https?://testserver(/accounts/reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(path, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(path, follow=True)
    assert again.context["validlink"] is False
    assert "このリンクは使えません" in again.content.decode()


# --- profile ----------------------------------------------------------------------------------------


def test_profile_requires_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_profile_shows_own_data_only(client):
    resident = ResidentFactory(full_name="春日 一郎", postcode="112-0003", address="東京都文京区春日9-9-9")
    other = ResidentFactory(full_name="白山 次郎", address="東京都文京区白山5-5-5")
    client.force_login(resident.user)

    page = client.get(reverse("accounts:profile")).content.decode()

    for shown in ("春日 一郎", resident.user.user_number, "112-0003", "東京都文京区春日9-9-9", "有効", "区内在住"):
        assert shown in page
    for hidden in ("白山 次郎", other.user.user_number, "東京都文京区白山5-5-5"):
        assert hidden not in page
    assert "窓口" in page  # name, birth date and residency change at a counter


def test_profile_update_changes_contact_data_through_the_service(client):
    resident = ResidentFactory()
    client.force_login(resident.user)

    response = client.post(
        reverse("accounts:profile"),
        {"postcode": "1130033", "address": "東京都文京区本郷7-3-1", "email": "new@example.jp"},
    )

    assert response.status_code == 302
    resident.refresh_from_db()
    resident.user.refresh_from_db()
    assert (resident.postcode, resident.address, resident.user.email) == (
        "113-0033",
        "東京都文京区本郷7-3-1",
        "new@example.jp",
    )
    assert "登録情報を変更しました" in client.get(reverse("accounts:profile")).content.decode()


def test_profile_update_with_bad_postcode_changes_nothing(client):
    resident = ResidentFactory(postcode="112-0003")
    client.force_login(resident.user)

    response = client.post(
        reverse("accounts:profile"), {"postcode": "1-2", "address": "東京都文京区本郷7-3-1", "email": "new@example.jp"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["postcode"]
    resident.refresh_from_db()
    assert resident.postcode == "112-0003"
    assert resident.address != "東京都文京区本郷7-3-1"


def test_profile_lists_groups_represented_and_joined(client):
    resident = ResidentFactory()
    represented = GroupFactory(representative=resident, name="春日合唱団")
    joined = GroupFactory(name="白山卓球会", status=ResidentStatus.PENDING)
    joined.members.add(resident)
    GroupFactory(name="よその団体")
    client.force_login(resident.user)

    page = client.get(reverse("accounts:profile")).content.decode()

    assert represented.name in page
    assert joined.name in page
    assert "名簿確認待ち" in page
    assert "よその団体" not in page


def test_staff_without_resident_sees_staff_page(client):
    client.force_login(StaffFactory())
    page = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("admin:index") in page


# --- group registration (団体登録) --------------------------------------------------------------------

GROUP = {
    "name": "春日バドミントンクラブ",
    "contact_name": "連絡 花子",
    "contact_email": "club@example.jp",
    "member_count": 12,
    "resident_member_count": 9,
}


def test_group_registration_creates_a_pending_group_led_by_the_resident(client):
    resident = ResidentFactory()
    client.force_login(resident.user)

    response = client.post(reverse("accounts:group_register"), GROUP)

    group = Group.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("accounts:group_registered", args=[group.pk])
    assert group.status == ResidentStatus.PENDING
    assert group.representative == resident
    assert list(group.members.all()) == [resident]
    assert "名簿" in client.get(response.url).content.decode()


def test_group_too_small_is_refused_with_the_service_message(client):
    client.force_login(ResidentFactory().user)

    response = client.post(reverse("accounts:group_register"), {**GROUP, "member_count": 3, "resident_member_count": 3})

    assert response.status_code == 200
    assert response.context["form"].errors["member_count"] == ["団体登録には構成員が5人以上必要です。"]
    assert "団体登録には構成員が5人以上必要です。" in response.content.decode()
    assert Group.objects.count() == 0


def test_group_with_more_ward_members_than_members_is_refused(client):
    client.force_login(ResidentFactory().user)
    response = client.post(reverse("accounts:group_register"), {**GROUP, "resident_member_count": 13})
    assert response.context["form"].errors["resident_member_count"]
    assert Group.objects.count() == 0


def test_pending_resident_cannot_register_a_group(client):
    client.force_login(ResidentFactory(status=ResidentStatus.PENDING).user)
    response = client.post(reverse("accounts:group_register"), GROUP)
    assert response.status_code == 403
    assert "本登録" in response.content.decode()
    assert Group.objects.count() == 0


def test_group_registration_requires_login(client):
    response = client.get(reverse("accounts:group_register"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_someone_elses_group_page_is_not_found(client):
    group = GroupFactory()
    client.force_login(ResidentFactory().user)
    assert client.get(reverse("accounts:group_registered", args=[group.pk])).status_code == 404
