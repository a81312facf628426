"""The whole flow a resident and staff see, through the pages, the fake Stripe and the real SDK:
my bookings → pay → the hosted checkout page → back to the result → webhook → cancel → refund;
the staff cash-up, the reconciliation CSV and the admin."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import requests
import time_machine
from django.test import Client
from django.urls import reverse

from payments import services
from payments.fake_stripe import FakeStripe
from payments.models import Method, Payment, Refund, RefundState, State
from reservations.models import Reservation, ReservationState
from tests.factories import ResidentFactory, staff_client

from .conftest import CARD_3DS, CARD_DECLINED, CARD_OK, NOW, book, deliver_all, pay_on_page

pytestmark = pytest.mark.django_db


def session_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_pay_by_card_end_to_end_then_cancel_and_get_refunded(
    client: Client, fake: FakeStripe, booking, resident
) -> None:
    client.force_login(resident.user)

    mine = client.get(reverse("reservations:my_bookings")).content.decode()
    pay_page_url = reverse("payments:booking", args=[booking.pk])
    assert pay_page_url in mine

    page = client.get(pay_page_url)
    assert page.status_code == 200 and "1,200円" in page.content.decode()

    to_checkout = client.post(reverse("payments:checkout", args=[booking.pk]))
    assert to_checkout.status_code == 302 and to_checkout["Location"].startswith(fake.base_url + "/pay/cs_test_")

    hosted = requests.get(to_checkout["Location"], timeout=10)
    assert hosted.status_code == 200 and "¥1,200" in hosted.text

    session_id = session_id_of(to_checkout["Location"])
    declined = pay_on_page(fake, session_id, CARD_DECLINED)
    assert declined.status_code == 402
    back = pay_on_page(fake, session_id, CARD_OK)
    assert back.status_code == 303
    payment = Payment.objects.get(reservation=booking)
    assert back.headers["Location"] == f"http://testserver/payments/result/{payment.pk}/"

    # The resident is back before the webhook arrives: the page re-reads the session from Stripe.
    result = client.get(back.headers["Location"])
    assert result.status_code == 200
    assert "本予約になりました" in result.content.decode()
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED

    # The webhooks arrive afterwards and change nothing more.
    assert deliver_all(client, fake) == [200, 200, 200]
    assert payment.transitions.filter(to_state=State.SUCCEEDED).count() == 1

    # Cancelling online more than 7 days ahead: the next tick refunds everything through Stripe.
    cancel = client.post(reverse("reservations:cancel", args=[booking.pk]))
    assert cancel.status_code == 302
    services.payments_tick(now=NOW)
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (State.REFUNDED, 1200)
    with fake.lock:
        [refund] = fake.state.refunds.values()
    assert refund["amount"] == 1200 and refund["payment_intent"] == payment.stripe_payment_intent


def test_card_needing_authentication(client: Client, fake: FakeStripe, booking, resident) -> None:
    client.force_login(resident.user)
    location = client.post(reverse("payments:checkout", args=[booking.pk]))["Location"]
    session_id = session_id_of(location)
    challenge = pay_on_page(fake, session_id, CARD_3DS)
    assert challenge.status_code == 200 and "authenticate" in challenge.text
    failed = requests.post(f"{fake.base_url}/pay/{session_id}/authenticate", data={"result": "fail"}, timeout=10)
    assert failed.status_code == 402
    pay_on_page(fake, session_id, CARD_3DS)
    done = requests.post(
        f"{fake.base_url}/pay/{session_id}/authenticate",
        data={"result": "complete"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303
    assert "本予約になりました" in client.get(done.headers["Location"]).content.decode()


def test_cancelled_checkout_comes_back_to_the_payment_page(client: Client, fake: FakeStripe, booking, resident) -> None:
    client.force_login(resident.user)
    client.post(reverse("payments:checkout", args=[booking.pk]))
    page = client.get(reverse("payments:booking", args=[booking.pk]) + "?cancelled=1").content.decode()
    assert "お支払いは完了していません" in page


def test_someone_elses_booking_is_not_found(client: Client, fake: FakeStripe, booking) -> None:
    client.force_login(ResidentFactory().user)
    assert client.get(reverse("payments:booking", args=[booking.pk])).status_code == 404
    assert client.post(reverse("payments:checkout", args=[booking.pk])).status_code == 404
    assert not Payment.objects.exists()


def test_checkout_when_stripe_is_unreachable_says_so(client: Client, settings, clock, booking, resident) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    client.force_login(resident.user)
    response = client.post(reverse("payments:checkout", args=[booking.pk]))
    assert response.status_code == 503
    assert "窓口でお支払いください" in response.content.decode()


def test_staff_cash_up_reconciliation_csv_and_admin(client: Client, clock, room, staff, other_staff) -> None:
    booking = book(ResidentFactory(), room)
    staff_client(staff, client)
    add = client.post(
        reverse("admin:payments_payment_add"),
        {"reference": booking.reference.lower(), "method": Method.CASH, "receipt_number": "A-100"},
    )
    assert add.status_code == 302, add.content.decode()[:2000]
    payment = Payment.objects.get(reservation=booking)
    assert payment.received_by == staff and payment.state == State.SUCCEEDED

    cash_up = client.get(reverse("payments:cash_up"), {"facility": room.facility_id, "date": NOW.date().isoformat()})
    assert cash_up.status_code == 200 and "A-100" in cash_up.content.decode()

    response = client.get(reverse("payments:reconciliation_csv"), {"date": NOW.date().isoformat()})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["reference"], r["method"], r["paid"], r["problem"]) for r in rows] == [
        (booking.reference, "cash", "1200", "")
    ]

    # A refund above the threshold: the requester's approval is refused, another's goes through.
    services.refund_request(payment_id=payment.pk, amount=1200, reason="取消", requested_by=staff, now=NOW)
    refund = Refund.objects.get(payment=payment)
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED  # ¥1,200 is under the default threshold of ¥10,000


def test_admin_refuses_the_requester_as_approver(client: Client, room, staff, other_staff, settings) -> None:
    from payments.models import PaymentPolicy

    PaymentPolicy.objects.create(facility=room.facility, approval_threshold=100)
    booking = book(ResidentFactory(), room)
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="B-1", staff_user=staff, now=NOW
    )
    refund = services.refund_request(payment_id=payment.pk, amount=1200, reason="取消", requested_by=staff, now=NOW)
    changelist = reverse("admin:payments_refund_changelist")

    staff_client(staff, client)
    client.post(changelist, {"action": "approve", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.state == RefundState.REQUESTED

    staff_client(other_staff, client)
    client.post(changelist, {"action": "approve", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.state in (RefundState.APPROVED, RefundState.SUCCEEDED) and refund.approved_by == other_staff


def test_non_staff_cannot_see_the_cash_up(client: Client, resident) -> None:
    client.force_login(resident.user)
    assert client.get(reverse("payments:cash_up")).status_code == 302
    assert client.get(reverse("payments:reconciliation_csv")).status_code == 302


def test_admin_pages_render(client: Client, room, staff, other_staff) -> None:
    booking = book(ResidentFactory(), room)
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="C-1", staff_user=staff, now=NOW
    )
    refund = services.refund_request(payment_id=payment.pk, amount=100, reason="一部", requested_by=staff, now=NOW)
    staff_client(staff, client)
    exemption = client.post(
        reverse("admin:payments_exemption_add"),
        {
            "resident": booking.resident_id,
            "percent": 50,
            "category": "障害者手帳",
            "evidence": "確認済",
            "valid_from": "2026-04-01",
            "valid_until": "2027-03-31",
        },
    )
    assert exemption.status_code == 302
    urls = [
        reverse("admin:payments_payment_changelist"),
        reverse("admin:payments_payment_add"),
        reverse("admin:payments_payment_change", args=[payment.pk]),
        reverse("admin:payments_refund_changelist"),
        reverse("admin:payments_refund_change", args=[refund.pk]),
        reverse("admin:payments_exemption_changelist"),
        reverse("admin:payments_exemption_add"),
        reverse("admin:payments_paymentpolicy_changelist"),
        reverse("admin:payments_paymentpolicy_add"),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url

    # the exemption waits for another staff member
    from payments.models import Exemption, ExemptionState

    pending = Exemption.objects.get()
    changelist = reverse("admin:payments_exemption_changelist")
    client.post(changelist, {"action": "approve", "_selected_action": [pending.pk]})
    assert Exemption.objects.get().state == ExemptionState.REQUESTED
    staff_client(other_staff, client)
    client.post(changelist, {"action": "approve", "_selected_action": [pending.pk]})
    assert Exemption.objects.get().state == ExemptionState.APPROVED


def test_the_payment_page_says_when_the_deadline_has_passed(client: Client, booking, resident) -> None:
    client.force_login(resident.user)
    with time_machine.travel(booking.payment_deadline + dt.timedelta(minutes=1), tick=False):
        page = client.get(reverse("payments:booking", args=[booking.pk])).content.decode()
    assert "お支払い期限を過ぎています" in page
    assert reverse("payments:checkout", args=[booking.pk]) not in page


# --- documents --------------------------------------------------------------------------------------


def test_receipt_and_permit_pdfs_for_the_resident_and_staff(client: Client, booking, resident, staff) -> None:
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="P-1", staff_user=staff, now=NOW
    )
    receipt_url = reverse("payments:receipt", args=[payment.pk])
    permit_url = reverse("payments:permit", args=[booking.pk])

    client.force_login(resident.user)
    page = client.get(reverse("payments:booking", args=[booking.pk])).content.decode()
    assert receipt_url in page and permit_url in page
    for url in (receipt_url, permit_url):
        pdf = client.get(url)
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        body = pdf.content
        assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
        assert f"({booking.reference})".encode() in body  # the reference, in the document's Subject
        # The project's Japanese font (IPAex Gothic, installed by `make fonts`) is embedded, not
        # left to the reader's fonts.
        assert b"/FontFile2" in body and b"HeiseiKakuGo" not in body

    client.force_login(ResidentFactory().user)  # someone else gets nothing
    assert client.get(receipt_url).status_code == 404
    assert client.get(permit_url).status_code == 404

    staff_client(staff, client)
    assert client.get(receipt_url).status_code == 200


def test_no_permit_for_an_unpaid_booking(client: Client, booking, resident) -> None:
    client.force_login(resident.user)
    assert client.get(reverse("payments:permit", args=[booking.pk])).status_code == 404


def test_documents_date_in_wareki_with_the_gregorian_date() -> None:
    import datetime as dt_

    from reservations.templatetags.reservation_tags import wareki

    assert wareki(dt_.date(2026, 12, 7)) == "令和8年12月7日(月)"
    from payments import documents

    assert documents._date(dt_.date(2026, 12, 7)) == "令和8年12月7日(月)（2026-12-07）"
