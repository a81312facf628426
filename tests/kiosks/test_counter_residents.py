"""The counter terminal's residents (kiosks/counter_views.py): registration after an ID check,
activation of online pre-registrations, kiosk PINs, and the resident page within scope."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kiosks.selectors import resident_by_card_and_pin
from lottery.models import LotteryEntry
from reservations.models import Channel, Group, Residency, Resident, ResidentStatus, StaffRole
from tests.factories import ResidentFactory, make_room
from tests.kiosks.conftest import USE_DAY
from tests.kiosks.counter_support import book, counter_desk, desk, other_facility

pytestmark = pytest.mark.django_db

FORM = {
    "id_checked": "license",
    "full_name": "窓口  花子",
    "date_of_birth": "1975-05-05",
    "postcode": "１１２－０００３",
    "address": "東京都文京区春日1-2-3",
    "residency": Residency.LIVES,
    "email": "",
    "password": "",
    "password_confirmation": "",
}


def test_a_resident_registered_at_the_counter_is_active_at_once_with_a_printed_slip(clock, facility):
    client, staff = counter_desk(facility)
    page = client.get(reverse("staff:resident_register"))
    assert page.status_code == 200 and "autofocus" in page.content.decode()

    response = client.post(reverse("staff:resident_register"), FORM)

    assert response.status_code == 200
    resident = Resident.objects.select_related("user").get(full_name="窓口 花子")
    assert resident.status == ResidentStatus.ACTIVE
    assert resident.registered_channel == Channel.COUNTER
    assert resident.registered_facility == facility
    assert resident.activated_by == staff and resident.postcode == "112-0003"
    slip = response.content.decode()
    assert resident.user.user_number in slip and "利用者登録票" in slip
    # No password chosen: a first one is printed once, and it logs the resident in.
    password = re.search(r"初期パスワード</dt><dd><strong class=\"reference\">([a-z0-9-]+)<", slip).group(1)
    assert Client().login(username=resident.user.user_number, password=password)
    # The counter that registered them serves them without the card from now on.
    assert counter_desk(facility)[0].get(reverse("staff:resident", args=[resident.pk])).status_code == 200


def test_registration_needs_the_id_check_and_the_residents_own_password_is_kept(clock, facility):
    client, _staff = counter_desk(facility)
    refused = client.post(reverse("staff:resident_register"), {**FORM, "id_checked": ""})
    assert refused.status_code == 200 and "本人確認書類を確認して" in refused.content.decode()
    assert not Resident.objects.exists()

    unconfirmed = client.post(reverse("staff:resident_register"), {**FORM, "password": "kasuga-hanako-2026"})
    assert "確認のためのパスワードが一致しません" in unconfirmed.content.decode()
    assert not Resident.objects.exists()

    chosen = {**FORM, "password": "kasuga-hanako-2026", "password_confirmation": "kasuga-hanako-2026"}
    slip = client.post(reverse("staff:resident_register"), chosen).content.decode()
    resident = Resident.objects.get()
    assert "初期パスワード" not in slip
    assert Client().login(username=resident.user.user_number, password="kasuga-hanako-2026")


def test_a_pre_registered_resident_is_found_by_card_and_activated_after_an_id_check(clock, facility):
    client, staff = counter_desk(facility)
    pending = ResidentFactory(status=ResidentStatus.PENDING, full_name="仮登録 太郎")
    # Not in scope by name (registered online, nothing booked here) ...
    assert pending.full_name not in client.get(reverse("staff:index"), {"q": "仮登録"}).content.decode()
    assert client.get(reverse("staff:resident", args=[pending.pk])).status_code == 404
    # ... but the card's whole number opens their page (full-width digits typed on a Japanese keyboard too).
    number = pending.user.user_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    found = client.get(reverse("staff:index"), {"q": number})
    assert found.status_code == 302 and found["Location"] == reverse("staff:resident", args=[pending.pk])
    page = client.get(found["Location"]).content.decode()
    assert "本人確認済みとして本登録する" in page

    without_check = client.post(reverse("staff:resident_activate", args=[pending.pk]), {"id_checked": ""}, follow=True)
    assert "本人確認書類を確認して" in without_check.content.decode()
    pending.refresh_from_db()
    assert pending.status == ResidentStatus.PENDING

    done = client.post(reverse("staff:resident_activate", args=[pending.pk]), {"id_checked": "mynumber"}, follow=True)
    assert "本登録しました" in done.content.decode()
    pending.refresh_from_db()
    assert pending.status == ResidentStatus.ACTIVE
    assert pending.activated_by == staff and pending.registered_facility == facility
    again = client.post(reverse("staff:resident_activate", args=[pending.pk]), {"id_checked": "mynumber"}, follow=True)
    assert "すでに本登録済み" in again.content.decode()


def test_staff_set_a_kiosk_pin_that_the_kiosk_then_accepts(clock, facility):
    client, _staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    url = reverse("staff:resident_pin", args=[resident.pk])
    mismatch = client.post(url, {"pin": "2468", "pin_again": "2469"})
    assert mismatch.status_code == 200 and "一致しません" in mismatch.content.decode()
    assert client.post(url, {"pin": "2468", "pin_again": "2468"}).status_code == 302
    assert resident_by_card_and_pin(resident.user.user_number, "2468") == resident
    assert resident_by_card_and_pin(resident.user.user_number, "2469") is None


def test_the_resident_page_shows_bookings_entries_and_payments_of_facilities_in_scope_only(clock, facility, room):
    theirs = other_facility()
    their_room = make_room(theirs, "theirs")
    client, staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility, full_name="春日 二郎")
    ours = book(resident, room, USE_DAY, "am", booked_by=staff)
    elsewhere = book(resident, their_room, USE_DAY, "pm", booked_by=staff)

    page = client.get(reverse("staff:resident", args=[resident.pk])).content.decode()

    assert ours.reference in page and elsewhere.reference not in page
    assert "担当外の施設の予約が1件" in page
    assert resident.address in page  # personal data for the counter that serves them
    assert not LotteryEntry.objects.exists()


def test_staff_of_one_facility_get_404_for_a_resident_of_another_until_the_card_is_shown(clock, facility):
    theirs = other_facility()
    their_resident = ResidentFactory(registered_facility=theirs)
    ours_client, _ = counter_desk(facility)
    theirs_client, _ = counter_desk(theirs)
    url = reverse("staff:resident", args=[their_resident.pk])
    assert theirs_client.get(url).status_code == 200
    for path in (
        url,
        reverse("staff:resident_pin", args=[their_resident.pk]),
        reverse("staff:book_start", args=[their_resident.pk]),
    ):
        assert ours_client.get(path).status_code == 404
    assert (
        ours_client.post(
            reverse("staff:resident_activate", args=[their_resident.pk]), {"id_checked": "license"}
        ).status_code
        == 404
    )
    # The card presented at our counter: now we may serve them.
    ours_client.get(reverse("staff:index"), {"q": their_resident.user.user_number})
    assert ours_client.get(url).status_code == 200


def test_an_auditor_reads_every_resident_but_changes_nothing(clock, facility):
    client, _auditor = desk(StaffRole.AUDITOR)
    pending = ResidentFactory(status=ResidentStatus.PENDING)
    page = client.get(reverse("staff:resident", args=[pending.pk]))
    assert page.status_code == 200 and "本人確認済みとして本登録する" not in page.content.decode()
    assert (
        client.post(reverse("staff:resident_activate", args=[pending.pk]), {"id_checked": "license"}).status_code == 403
    )
    assert client.get(reverse("staff:resident_register")).status_code == 403
    assert client.post(reverse("staff:resident_register"), FORM).status_code == 403
    assert (
        client.post(reverse("staff:resident_pin", args=[pending.pk]), {"pin": "1234", "pin_again": "1234"}).status_code
        == 403
    )
    pending.refresh_from_db()
    assert pending.status == ResidentStatus.PENDING and not pending.kiosk_pin
    assert not Resident.objects.filter(full_name="窓口 花子").exists()


def test_a_pending_group_is_activated_with_its_representative_at_the_counter(clock, facility):
    client, _staff = counter_desk(facility)
    representative = ResidentFactory(registered_facility=facility)
    member = ResidentFactory(registered_facility=facility)
    group = Group.objects.create(
        name="春日合唱団",
        representative=representative,
        contact_name="代表",
        contact_email="choir@example.jp",
        member_count=12,
        resident_member_count=10,
        status=ResidentStatus.PENDING,
    )
    group.members.add(member)
    # Only through its representative's page.
    assert client.post(reverse("staff:group_activate", args=[member.pk, group.pk])).status_code == 404
    page = client.get(reverse("staff:resident", args=[representative.pk])).content.decode()
    assert "構成員名簿を確認して本登録する" in page
    done = client.post(reverse("staff:group_activate", args=[representative.pk, group.pk]), follow=True)
    assert "団体「春日合唱団」を本登録しました" in done.content.decode()
    group.refresh_from_db()
    assert group.status == ResidentStatus.ACTIVE and group.activated_at is not None
