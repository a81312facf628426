"""Counter payments, receipts and permits, the cash-up, and refunds and exemptions that a second
staff member approves (kiosks/counter_views.py, kiosks/counter_manage_views.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.models import Exemption, ExemptionState, Method, Payment, Refund, RefundState, State
from reservations.models import Channel, ReservationState, StaffRole
from tests.factories import ResidentFactory, make_room
from tests.kiosks.conftest import USE_DAY
from tests.kiosks.counter_support import book, counter_desk, desk, other_facility

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(facility):
    return make_room(facility, "hall", capacity=200, weekday_fee=6000, holiday_fee=8000)


def pay(client, reservation, number="R-0001"):
    return client.post(
        reverse("staff:booking_pay", args=[reservation.pk]),
        {"method": Method.CASH, "receipt_number": number},
        follow=True,
    )


def test_cash_at_the_counter_confirms_the_booking_and_prints_receipt_and_permit(clock, facility, room):
    client, staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    reservation = book(resident, room, USE_DAY, "am", booked_by=staff, channel=Channel.COUNTER)
    page = client.get(reverse("staff:booking", args=[reservation.pk])).content.decode()
    assert 'value="20261110-001"' in page  # the receipt number suggested for the day's first slip

    response = pay(client, reservation, "20261110-001")

    assert "1,200円を受領しました" in response.content.decode()
    payment = Payment.objects.get()
    assert payment.method == Method.CASH and payment.state == State.SUCCEEDED and payment.received_by == staff
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
    receipt = client.get(reverse("staff:payment_receipt", args=[payment.pk]))
    permit = client.get(reverse("staff:booking_permit", args=[reservation.pk]))
    for pdf in (receipt, permit):
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    cash_up = client.get(reverse("staff:cash_up", args=[facility.pk]), {"date": "2026-11-10"}).content.decode()
    assert "20261110-001" in cash_up and '<strong id="net">1,200円</strong>' in cash_up


def test_a_receipt_number_is_used_once_per_facility_and_a_paid_booking_is_not_paid_again(clock, facility, room):
    client, staff = counter_desk(facility)
    first = book(ResidentFactory(), room, USE_DAY, "am", booked_by=staff)
    second = book(ResidentFactory(), room, USE_DAY, "pm", booked_by=staff)
    pay(client, first, "A-1")
    assert "この領収書番号はこの施設ですでに使われています" in pay(client, second, "A-1").content.decode()
    assert "お支払いの対象ではありません" in pay(client, first, "A-2").content.decode()
    assert Payment.objects.count() == 1


def test_receipts_and_permits_of_another_facility_are_404(clock, facility, room):
    theirs = other_facility()
    their_client, their_staff = counter_desk(theirs)
    reservation = book(ResidentFactory(), make_room(theirs, "theirs"), USE_DAY, "am", booked_by=their_staff)
    pay(their_client, reservation)
    payment = Payment.objects.get()
    ours, _ = counter_desk(facility)
    assert ours.get(reverse("staff:payment_receipt", args=[payment.pk])).status_code == 404
    assert ours.get(reverse("staff:booking_permit", args=[reservation.pk])).status_code == 404
    assert (
        ours.post(reverse("staff:payment_refund", args=[payment.pk]), {"amount": 100, "reason": "x"}).status_code == 404
    )
    assert ours.get(reverse("staff:cash_up", args=[theirs.pk])).status_code == 404
    assert not Refund.objects.exists()


def test_a_large_refund_waits_for_a_second_person_and_the_requester_cannot_approve_it(
    clock, facility, hall, django_capture_on_commit_callbacks
):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    colleague, _ = desk(StaffRole.FACILITY_MANAGER, facility)
    counter, _ = counter_desk(facility)
    reservation = book(ResidentFactory(), hall, USE_DAY, "am", "pm", booked_by=manager_user)
    pay(counter, reservation)
    payment = Payment.objects.get()
    assert payment.amount == 12000

    asked = manager.post(
        reverse("staff:payment_refund", args=[payment.pk]), {"amount": 12000, "reason": "施設の不具合"}, follow=True
    )
    assert "別の職員の承認後に還付します" in asked.content.decode()
    refund = Refund.objects.get()
    assert refund.state == RefundState.REQUESTED and refund.requested_by == manager_user

    # The requester sees it waiting, but may not approve it: refused, and nothing changes.
    assert "ご自身の申請です" in manager.get(reverse("staff:approvals")).content.decode()
    decide = reverse("staff:refund_decide", args=[refund.pk])
    own = manager.post(decide, {"decision": "approve"}, follow=True)
    assert "申請した職員とは別の職員が承認してください" in own.content.decode()
    refund.refresh_from_db()
    assert refund.state == RefundState.REQUESTED and refund.approved_by is None
    # Counter staff ask, they do not decide.
    assert counter.post(decide, {"decision": "approve"}).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        colleague.post(decide, {"decision": "approve"})
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED and refund.approved_by != manager_user
    assert payment.state == State.REFUNDED and payment.refunded_amount == 12000


def test_a_refund_can_be_rejected_and_staff_of_another_facility_do_not_see_it(clock, facility, hall):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    reservation = book(ResidentFactory(), hall, USE_DAY, "am", "pm", booked_by=manager_user)
    pay(manager, reservation)
    manager.post(
        reverse("staff:payment_refund", args=[Payment.objects.get().pk]), {"amount": 11000, "reason": "誤徴収"}
    )
    refund = Refund.objects.get()
    elsewhere, _ = desk(StaffRole.FACILITY_MANAGER, other_facility())
    assert "誤徴収" not in elsewhere.get(reverse("staff:approvals")).content.decode()
    assert elsewhere.post(reverse("staff:refund_decide", args=[refund.pk]), {"decision": "approve"}).status_code == 404

    admin, _ = desk(StaffRole.SYSTEM_ADMIN)
    assert "誤徴収" in admin.get(reverse("staff:approvals")).content.decode()
    admin.post(reverse("staff:refund_decide", args=[refund.pk]), {"decision": "reject"})
    refund.refresh_from_db()
    assert refund.state == RefundState.REJECTED


def test_cancelling_a_paid_booking_at_the_counter_refunds_it_by_the_policy(
    clock, facility, room, django_capture_on_commit_callbacks
):
    client, staff = counter_desk(facility)
    reservation = book(ResidentFactory(), room, USE_DAY, "am", booked_by=staff)
    pay(client, reservation)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:booking_cancel", args=[reservation.pk]), follow=True)
    assert "還付 1,200円 を処理します" in response.content.decode()  # 27 days ahead: free cancellation
    refund = Refund.objects.get()
    assert refund.state == RefundState.SUCCEEDED and refund.requested_by == staff and refund.amount == 1200


def test_an_exemption_asked_at_the_counter_applies_once_another_staff_member_approves_it(clock, facility, room):
    counter, counter_user = counter_desk(facility)
    manager, _ = desk(StaffRole.FACILITY_MANAGER, facility)
    resident = ResidentFactory()
    counter.get(reverse("staff:index"), {"q": resident.user.user_number})  # the card is shown
    form = {
        "holder": "",
        "percent": 50,
        "category": "障害者手帳",
        "evidence": "身体障害者手帳 第123号",
        "valid_from": "2026-11-01",
        "valid_until": "2027-03-31",
    }
    counter.post(reverse("staff:resident_exemption", args=[resident.pk]), form)
    exemption = Exemption.objects.get()
    assert exemption.state == ExemptionState.REQUESTED and exemption.requested_by == counter_user
    reservation = book(resident, room, USE_DAY, "am", booked_by=counter_user)
    assert (
        '<strong class="fee" id="amount-due">1,200円</strong>'
        in counter.get(reverse("staff:booking", args=[reservation.pk])).content.decode()
    )

    # The facility's manager sees the colleague's request although the resident is not registered there.
    assert "身体障害者手帳 第123号" in manager.get(reverse("staff:approvals")).content.decode()
    assert (
        counter.post(reverse("staff:exemption_decide", args=[exemption.pk]), {"decision": "approve"}).status_code == 403
    )
    manager.post(reverse("staff:exemption_decide", args=[exemption.pk]), {"decision": "approve"})
    exemption.refresh_from_db()
    assert exemption.state == ExemptionState.APPROVED
    page = counter.get(reverse("staff:booking", args=[reservation.pk])).content.decode()
    assert '<strong class="fee" id="amount-due">600円</strong>' in page
    assert "600円を受領しました" in pay(counter, reservation).content.decode()
