"""kiosks/views.py: activation page, availability, booking and cancelling with channel kiosk,
the resident's PIN page, and the admin's provisioning and revocation."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from reservations.models import Channel, Reservation, ReservationState, Resident
from reservations.services import reservation_create
from tests.factories import PASSWORD, FacilityFactory, ResidentFactory, make_room, staff_client
from tests.kiosks.conftest import NOW, USE_DAY, activated_client, login

pytestmark = pytest.mark.django_db


def test_a_wrong_code_is_refused_on_the_activation_page(clock):
    response = Client().post(reverse("kiosks:activate"), {"code": "AAAAA-BBBBB"})
    assert response.status_code == 400
    assert "このコードは使えません" in response.content.decode()


def test_wrong_activation_codes_are_throttled_per_address(clock, facility, staff):
    from kiosks import throttle
    from kiosks.services import kiosk_create

    _kiosk, code = kiosk_create(facility=facility, name="a", created_by=staff, now=NOW)
    guesser = Client()
    for _ in range(throttle.ACTIVATION_FAILURES):
        assert guesser.post(reverse("kiosks:activate"), {"code": "AAAAA-BBBBB"}).status_code == 400
    assert guesser.post(reverse("kiosks:activate"), {"code": code}).status_code == 429
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    assert other_address.post(reverse("kiosks:activate"), {"code": code}).status_code == 302


def test_availability_shows_bookable_slots_only_to_a_logged_in_resident(clock, tablet, room, resident):
    client, _kiosk = tablet
    url = reverse("kiosks:availability") + f"?day={USE_DAY.isoformat()}"
    anonymous = client.get(url).content.decode()
    assert room.name in anonymous and "空き・予約する" not in anonymous
    assert anonymous.count('<td class="c-free">') == 3  # the room's three bands, free
    login(client, resident)
    page = client.get(url).content.decode()
    am = room.facility.time_bands.get(code="am")
    assert reverse("kiosks:book", args=[room.pk, USE_DAY, am.pk]) in page
    today = client.get(reverse("kiosks:availability")).content.decode()
    assert "今日" in today and "空き・予約する" not in today  # same-day booking is at the counter


def test_booking_and_cancelling_on_a_kiosk_use_channel_kiosk(clock, tablet, room, resident):
    client, _kiosk = tablet
    login(client, resident)
    am = room.facility.time_bands.get(code="am")
    url = reverse("kiosks:book", args=[room.pk, USE_DAY, am.pk])
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    reservation = Reservation.objects.get(resident=resident)
    assert reservation.channel == Channel.KIOSK and reservation.state == ReservationState.PROVISIONAL

    done = client.get(response["Location"]).content.decode()
    assert reservation.reference in done
    assert "http://testserver" + reverse("payments:booking", args=[reservation.pk]) in done
    assert "窓口でお支払いください" in done

    again = client.post(url)  # the slot is now taken
    assert again.status_code == 409 and "たった今ほかの方が予約しました" in again.content.decode()

    cancelled = client.post(reverse("kiosks:cancel", args=[reservation.pk]))
    assert cancelled.status_code == 302
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED and reservation.cancel_channel == Channel.KIOSK
    assert reservation.reference in client.get(cancelled["Location"]).content.decode()


def test_a_kiosk_books_only_its_own_facility_and_cancels_only_ones_own(clock, tablet, room, resident):
    client, _kiosk = tablet
    elsewhere = make_room(FacilityFactory(), "x1")
    band = elsewhere.facility.time_bands.get(code="am")
    login(client, resident)
    assert client.post(reverse("kiosks:book", args=[elsewhere.pk, USE_DAY, band.pk])).status_code == 404
    assert not Reservation.objects.exists()

    other = ResidentFactory()
    theirs = reservation_create(
        resident=other,
        room_id=room.pk,
        date=USE_DAY,
        band_ids=[room.facility.time_bands.get(code="pm").pk],
        channel=Channel.WEB,
        booked_by=other.user,
        now=NOW,
    )
    assert client.post(reverse("kiosks:cancel", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state != ReservationState.CANCELLED


def test_booking_pages_need_a_resident_login(clock, tablet, room):
    client, _kiosk = tablet
    band = room.facility.time_bands.get(code="am")
    response = client.post(reverse("kiosks:book", args=[room.pk, USE_DAY, band.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("kiosks:login")
    assert not Reservation.objects.exists()


def test_a_resident_sets_their_kiosk_pin_on_the_website(clock):
    resident = ResidentFactory()
    client = Client()
    assert client.login(user_number=resident.user.user_number, password=PASSWORD)
    assert "暗証番号を設定する" in client.get(reverse("accounts:profile")).content.decode()
    mismatch = client.post(reverse("kiosks:set_pin"), {"pin": "2580", "pin_again": "2581"})
    assert mismatch.status_code == 400
    response = client.post(reverse("kiosks:set_pin"), {"pin": "2580", "pin_again": "2580"})
    assert response.status_code == 302
    assert check_password("2580", Resident.objects.get(pk=resident.pk).kiosk_pin)


def test_staff_revoke_a_kiosk_in_the_admin(clock, facility, staff):
    admin = staff_client(staff)
    tablet, kiosk = activated_client(facility, staff, name="ロビー")
    assert tablet.get(reverse("kiosks:home")).status_code == 200
    admin.post(
        reverse("admin:kiosks_kiosk_changelist"), {"action": "revoke", "_selected_action": [kiosk.pk]}, follow=True
    )
    assert tablet.get(reverse("kiosks:home")).status_code == 403


def test_staff_set_a_residents_pin_at_the_counter_in_the_admin(clock, staff):
    resident = ResidentFactory()
    admin = staff_client(staff)
    url = reverse("admin:kiosks_kioskpin_change", args=[resident.pk])
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"pin": "7391", "pin_again": "7391"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert check_password("7391", Resident.objects.get(pk=resident.pk).kiosk_pin)


def test_check_in_for_todays_booking_by_reference_at_this_facility_only(clock, tablet, facility, staff):
    client, _kiosk = tablet
    free_room = make_room(facility, "free", weekday_fee=0, holiday_fee=0)
    paid_room = make_room(facility, "paid")
    pm = facility.time_bands.get(code="pm")
    holder = ResidentFactory(full_name="来館 太郎")
    today = NOW.date()

    def counter_booking(room):
        return reservation_create(
            resident=holder,
            room_id=room.pk,
            date=today,
            band_ids=[pm.pk],
            channel=Channel.COUNTER,
            booked_by=staff,
            now=NOW,
        )

    confirmed, unpaid = counter_booking(free_room), counter_booking(paid_room)
    url = reverse("kiosks:check_in")
    response = client.post(url, {"reference": confirmed.reference.lower()})
    assert response.status_code == 200
    page = response.content.decode()
    assert "受付しました" in page and free_room.name in page and holder.full_name not in page
    confirmed.refresh_from_db()
    assert confirmed.checked_in_at == NOW and confirmed.checked_in_channel == Channel.KIOSK

    refused = client.post(url, {"reference": unpaid.reference})
    assert refused.status_code == 409 and "窓口でお支払い" in refused.content.decode()
    unpaid.refresh_from_db()
    assert unpaid.checked_in_at is None

    elsewhere_client, _other = activated_client(FacilityFactory(), staff)
    assert elsewhere_client.post(url, {"reference": confirmed.reference}).status_code == 404
