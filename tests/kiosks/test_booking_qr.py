"""QR codes on the booking pages: the booking reference (web and kiosk), read back by the kiosk's
check-in; and on the kiosk, the resident's own payment page to open on their phone (no card data
on the tablet). The check-in page offers the camera where BarcodeDetector exists (kiosk-scan.js)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reservations.models import Channel
from reservations.services import reservation_create
from tests.factories import PASSWORD, ResidentFactory, make_room
from tests.kiosks.conftest import NOW, USE_DAY, element, login, qr_of

pytestmark = pytest.mark.django_db


def booking(resident, room, day=USE_DAY, code="am", channel=Channel.WEB, booked_by=None):
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=[room.facility.time_bands.get(code=code).pk],
        channel=channel,
        booked_by=booked_by or resident.user,
        now=NOW,
    )


def test_the_web_confirmation_page_shows_the_reference_as_a_qr_code(clock, room, resident):
    reservation = booking(resident, room)
    web = Client()
    assert web.login(user_number=resident.user.user_number, password=PASSWORD)
    page = web.get(reverse("reservations:booking_done", args=[reservation.pk])).content.decode()
    assert qr_of(reservation.reference, "予約番号のQRコード") in page
    assert "来館受付" in page


def test_the_kiosk_shows_the_reference_and_the_payment_page_as_qr_codes_and_no_card_form(clock, tablet, room, resident):
    client, _kiosk = tablet
    login(client, resident)
    am = room.facility.time_bands.get(code="am")
    response = client.post(reverse("kiosks:book", args=[room.pk, USE_DAY, am.pk]))
    assert response["Location"].endswith("?from=book")
    page = client.get(response["Location"]).content.decode()
    main = element(page, "main")
    reservation = resident.reservations.get()
    pay_url = "http://testserver" + reverse("payments:booking", args=[reservation.pk])
    assert "予約しました" in main
    assert qr_of(reservation.reference, "予約番号のQRコード") in main
    assert qr_of(pay_url, "お支払いページのQRコード") in main and pay_url in main
    assert "窓口で支払う場合は" in main
    for card_field in ("card", "cvc", "checkout"):
        assert f'name="{card_field}' not in main
    assert reverse("payments:checkout", args=[reservation.pk]) not in main

    listed = client.get(reverse("kiosks:my_bookings")).content.decode()
    detail = reverse("kiosks:booking_done", args=[reservation.pk])
    assert f'href="{detail}"' in listed and "詳細・お支払い方法" in listed
    again = client.get(detail).content.decode()
    assert "予約の内容" in again and qr_of(pay_url, "お支払いページのQRコード") in again


def test_a_free_booking_shows_no_payment_qr(clock, tablet, facility, resident):
    client, _kiosk = tablet
    free_room = make_room(facility, "free", weekday_fee=0, holiday_fee=0)
    reservation = booking(resident, free_room)
    login(client, resident)
    page = client.get(reverse("kiosks:booking_done", args=[reservation.pk])).content.decode()
    assert qr_of(reservation.reference, "予約番号のQRコード") in page
    assert (
        "お支払いページのQRコード" not in page
        and "詳細・QRコード" in client.get(reverse("kiosks:my_bookings")).content.decode()
    )


def test_the_check_in_page_reads_the_qr_code_where_the_browser_can_and_takes_the_reference(
    clock, tablet, facility, staff
):
    client, _kiosk = tablet
    free_room = make_room(facility, "free", weekday_fee=0, holiday_fee=0)
    reservation = booking(
        ResidentFactory(), free_room, day=NOW.date(), code="pm", channel=Channel.COUNTER, booked_by=staff
    )
    page = client.get(reverse("kiosks:check_in")).content.decode()
    scan = element(page, "scan")
    assert " hidden>" in scan.split("\n")[0]  # shown only by the script, where BarcodeDetector exists
    assert 'data-field="id_reference"' in scan and 'data-form="check-in-form"' in scan
    assert '<script src="/static/js/kiosk-scan.js" defer></script>' in page and "<script>" not in page
    # What the script sends when it reads the QR code: the reference, as typed.
    response = client.post(reverse("kiosks:check_in"), {"reference": reservation.reference})
    assert response.status_code == 200 and "受付しました" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.checked_in_channel == Channel.KIOSK
