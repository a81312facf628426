"""payments/services.py: counter payments and cash-up, expiry, reconcile, refunds with a second
approver, exemptions, and the policy refund of cancelled bookings."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from payments import selectors, services
from payments.fake_stripe import FakeStripe
from payments.models import Exemption, ExemptionState, Method, Payment, PaymentPolicy, Refund, RefundState, State
from reservations.errors import BookingError
from reservations.models import Channel, Occupancy, Reservation, ReservationState
from reservations.services import reservation_cancel
from tests.factories import ResidentFactory

from .conftest import CARD_OK, NOW, USE_DAY, book, pay_on_page

pytestmark = pytest.mark.django_db


def start(booking, resident, now=NOW):
    return services.checkout_start(
        reservation_id=booking.pk,
        resident=resident,
        now=now,
        success_url="http://testserver/payments/result/{PAYMENT_ID}/",
        cancel_url="http://testserver/x/",
    )


def paid_by_card(fake: FakeStripe, booking, resident) -> Payment:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    assert services.payment_refresh(payment_id=payment.pk, now=NOW) == "succeeded"
    payment.refresh_from_db()
    return payment


# --- counter payments and cash-up -------------------------------------------------------------------


@pytest.mark.smoke
def test_counter_payment_confirms_the_booking_and_shows_in_the_cash_up(booking, staff) -> None:
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="R-0001", staff_user=staff, now=NOW
    )
    assert payment.state == State.SUCCEEDED and payment.amount == 1200 and payment.received_by == staff
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED

    report = selectors.cash_up(facility_id=booking.room.facility_id, day=NOW.date())
    assert [p.receipt_number for p in report.payments] == ["R-0001"]
    assert (report.totals.count, report.totals.received, report.totals.net) == (1, 1200, 1200)
    assert (
        selectors.cash_up(facility_id=booking.room.facility_id, day=NOW.date() + dt.timedelta(days=1)).totals.count == 0
    )


@pytest.mark.smoke
def test_a_receipt_number_is_used_once_per_facility_and_a_paid_booking_is_not_paid_again(room, staff) -> None:
    first, second = book(ResidentFactory(), room, ("am",)), book(ResidentFactory(), room, ("pm",))
    services.counter_payment_record(
        reservation_id=first.pk, method=Method.CASH, receipt_number="R-9", staff_user=staff, now=NOW
    )
    with pytest.raises(BookingError) as used:
        services.counter_payment_record(
            reservation_id=second.pk, method=Method.TERMINAL, receipt_number="R-9", staff_user=staff, now=NOW
        )
    assert used.value.code == "receipt_number_used"
    with pytest.raises(BookingError) as again:
        services.counter_payment_record(
            reservation_id=first.pk, method=Method.CASH, receipt_number="R-10", staff_user=staff, now=NOW
        )
    assert again.value.code == "not_payable"
    assert Payment.objects.count() == 1


def test_paying_by_card_after_paying_at_the_counter_is_refunded(fake, booking, resident, staff) -> None:
    payment = start(booking, resident)
    services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="R-1", staff_user=staff, now=NOW
    )
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    services.payment_refresh(payment_id=payment.pk, now=NOW)
    services.payments_tick(now=NOW)
    payment.refresh_from_db()
    assert payment.state == State.REFUNDED
    assert Refund.objects.get(payment=payment).reason == services.DOUBLE_PAYMENT_REASON


# --- deadlines ---------------------------------------------------------------------------------------


def test_unpaid_booking_expires_at_its_deadline_and_frees_the_slot(fake, room, booking, resident) -> None:
    payment = start(booking, resident)
    before = booking.payment_deadline - dt.timedelta(seconds=1)
    after = booking.payment_deadline + dt.timedelta(seconds=1)

    assert services.payments_tick(now=before).expired == []
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.PROVISIONAL

    assert services.payments_tick(now=after).expired == [booking.pk]
    assert services.payments_tick(now=after).expired == []  # a doubled tick does nothing more

    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.state == ReservationState.EXPIRED and booking.cancelled_at == after
    assert not Occupancy.objects.filter(reservation=booking).exists()
    assert payment.state == State.EXPIRED  # the session was closed in Stripe too
    with fake.lock:
        assert fake.state.sessions[payment.stripe_session_id]["status"] == "expired"
    # and the slot can be booked again (by someone else, before the window closes)
    again = book(ResidentFactory(), room, now=NOW)
    assert again.state == ReservationState.PROVISIONAL


def test_a_paid_booking_does_not_expire(fake, booking, resident) -> None:
    paid_by_card(fake, booking, resident)
    assert services.payments_tick(now=booking.payment_deadline + dt.timedelta(days=1)).expired == []
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED


def test_checkout_after_the_deadline_is_refused(fake, booking, resident) -> None:
    with pytest.raises(BookingError) as info:
        start(booking, resident, now=booking.payment_deadline + dt.timedelta(seconds=1))
    assert info.value.code == "payment_deadline_passed"


# --- reconcile ---------------------------------------------------------------------------------------


def test_reconcile_catches_a_missed_webhook(fake, booking, resident) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)  # no webhook is delivered
    assert services.payments_reconcile(now=NOW) == 1
    assert services.payments_reconcile(now=NOW) == 0
    payment.refresh_from_db()
    assert payment.state == State.SUCCEEDED
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED
    assert payment.transitions.last().source == "reconcile"


def test_starting_checkout_twice_reuses_the_open_session(fake, booking, resident) -> None:
    first = start(booking, resident)
    second = start(booking, resident)
    assert first.pk == second.pk and first.stripe_session_id == second.stripe_session_id
    with fake.lock:
        assert len(fake.state.sessions) == 1


# --- refunds -----------------------------------------------------------------------------------------


def test_small_refund_is_executed_through_stripe_and_never_above_the_charge(
    fake, booking, resident, staff, django_capture_on_commit_callbacks
) -> None:
    payment = paid_by_card(fake, booking, resident)
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_request(payment_id=payment.pk, amount=500, reason="一部", requested_by=staff, now=NOW)
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED and refund.approved_by is None
    assert (payment.state, payment.refunded_amount) == (State.PARTLY_REFUNDED, 500)
    with pytest.raises(BookingError) as info:
        services.refund_request(payment_id=payment.pk, amount=701, reason="超過", requested_by=staff, now=NOW)
    assert info.value.code == "refund_too_large"
    with fake.lock:
        assert fake.state.intents[payment.stripe_payment_intent]["_refunded"] == 500


def test_executing_a_refund_twice_refunds_once(fake, booking, resident, staff) -> None:
    payment = paid_by_card(fake, booking, resident)
    refund = services.refund_request(payment_id=payment.pk, amount=1200, reason="全額", requested_by=staff, now=NOW)
    services.refund_execute(refund_id=refund.pk, now=NOW)
    services.refund_execute(refund_id=refund.pk, now=NOW)
    services.payments_tick(now=NOW)
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (State.REFUNDED, 1200)
    with fake.lock:
        assert len(fake.state.refunds) == 1


def test_large_refund_needs_a_second_staff_member(fake, room, resident, staff, other_staff) -> None:
    PaymentPolicy.objects.create(facility=room.facility, approval_threshold=1000)
    booking = book(resident, room, ("am",))
    payment = paid_by_card(fake, booking, resident)
    refund = services.refund_request(payment_id=payment.pk, amount=1200, reason="取消", requested_by=staff, now=NOW)
    assert refund.state == RefundState.REQUESTED

    with pytest.raises(BookingError) as same:
        services.refund_approve(refund_id=refund.pk, approver=staff, now=NOW)
    assert same.value.code == "same_approver"
    # the database refuses it too, whatever path writes it
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(approved_by=staff)

    services.refund_approve(refund_id=refund.pk, approver=other_staff, now=NOW)
    services.refund_execute(refund_id=refund.pk, now=NOW)
    refund.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED and refund.approved_by == other_staff


def test_counter_refund_is_recorded_and_shows_in_the_cash_up(booking, staff) -> None:
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="R-2", staff_user=staff, now=NOW
    )
    refund = services.refund_request(payment_id=payment.pk, amount=600, reason="一部", requested_by=staff, now=NOW)
    services.refund_execute(refund_id=refund.pk, now=NOW)
    report = selectors.cash_up(facility_id=booking.room.facility_id, day=NOW.date())
    assert (report.totals.received, report.totals.refunded, report.totals.net) == (1200, 600, 600)


@pytest.mark.parametrize(("cancel_on", "expected"), [(dt.date(2026, 11, 20), 1200), (dt.date(2026, 12, 3), 600)])
def test_cancelled_paid_booking_is_refunded_by_the_policy(fake, booking, resident, cancel_on, expected) -> None:
    payment = paid_by_card(fake, booking, resident)
    when = dt.datetime.combine(cancel_on, dt.time(12, 0), tzinfo=NOW.tzinfo)
    reservation_cancel(
        reservation_id=booking.pk, resident=resident, cancelled_by=resident.user, channel=Channel.WEB, now=when
    )
    result = services.payments_tick(now=when)
    assert (result.cancellation_refunds, result.refunds_executed) == (1, 1)
    assert services.payments_tick(now=when).cancellation_refunds == 0
    payment.refresh_from_db()
    assert payment.refunded_amount == expected


# --- exemptions (減免) ---------------------------------------------------------------------------------


def exemption(resident, staff, percent):
    return services.exemption_request(
        resident=resident,
        percent=percent,
        category="障害者手帳",
        evidence="手帳番号 確認済",
        valid_from=dt.date(2026, 4, 1),
        valid_until=dt.date(2027, 3, 31),
        requested_by=staff,
        now=NOW,
    )


@pytest.mark.smoke
def test_an_exemption_is_approved_by_another_staff_member_only(resident, staff, other_staff) -> None:
    requested = exemption(resident, staff, 100)
    with pytest.raises(BookingError) as same:
        services.exemption_decide(exemption_id=requested.pk, approver=staff, approve=True, now=NOW)
    assert same.value.code == "same_approver"
    assert Exemption.objects.get(pk=requested.pk).state == ExemptionState.REQUESTED
    approved = services.exemption_decide(exemption_id=requested.pk, approver=other_staff, approve=True, now=NOW)
    assert approved.state == ExemptionState.APPROVED and approved.approved_by == other_staff


def test_a_full_exemption_confirms_without_payment_and_half_halves_the_charge(
    fake, room, resident, staff, other_staff
) -> None:
    full = book(resident, room, ("am",))
    pending = exemption(resident, staff, 100)
    assert selectors.exemption_percent_for(full) == 0  # not approved yet: nothing waived
    services.exemption_decide(exemption_id=pending.pk, approver=other_staff, approve=True, now=NOW)

    payment = start(full, resident)
    assert (payment.method, payment.amount, payment.state) == (Method.EXEMPT, 0, State.SUCCEEDED)
    assert Reservation.objects.get(pk=full.pk).state == ReservationState.CONFIRMED

    other = ResidentFactory()
    half = book(other, room, ("pm",))
    services.exemption_decide(exemption_id=exemption(other, staff, 50).pk, approver=other_staff, approve=True, now=NOW)
    card = start(half, other)
    assert (card.method, card.amount, card.exemption_percent) == (Method.CARD, 600, 50)
    with fake.lock:
        assert fake.state.sessions[card.stripe_session_id]["amount_total"] == 600


def test_exemptions_apply_only_within_their_dates(room, resident, staff, other_staff) -> None:
    booking = book(resident, room)
    late = services.exemption_request(
        resident=resident,
        percent=100,
        category="区主催事業",
        evidence="依頼文書",
        valid_from=USE_DAY + dt.timedelta(days=1),
        valid_until=USE_DAY + dt.timedelta(days=30),
        requested_by=staff,
        now=NOW,
    )
    services.exemption_decide(exemption_id=late.pk, approver=other_staff, approve=True, now=NOW)
    assert selectors.exemption_percent_for(booking) == 0


# --- reconciliation (収納消込) ------------------------------------------------------------------------


def test_reconciliation_names_a_double_payment_until_it_is_refunded(fake, booking, resident, staff) -> None:
    card = start(booking, resident)
    services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="R-5", staff_user=staff, now=NOW
    )
    pay_on_page(fake, card.stripe_session_id, CARD_OK)
    services.payment_refresh(payment_id=card.pk, now=NOW)

    rows = {row.method: row for row in selectors.reconciliation(day=NOW.date())}
    assert rows[Method.CARD].problem == "double_payment" and rows[Method.CASH].problem == "double_payment"

    services.payments_tick(now=NOW)  # executes the automatic refund of the card payment
    rows = {row.method: row for row in selectors.reconciliation(day=NOW.date())}
    assert (rows[Method.CARD].problem, rows[Method.CARD].refunded) == ("", 1200)
    assert rows[Method.CASH].problem == ""


def test_payments_tick_command_runs_the_tick(fake, booking) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with time_machine.travel(booking.payment_deadline + dt.timedelta(minutes=1), tick=False):
        call_command("payments_tick", stdout=out)
    assert "expired=1" in out.getvalue()
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.EXPIRED


def test_cash_refund_of_a_cancelled_booking_waits_for_staff_at_the_counter(booking, resident, staff) -> None:
    payment = services.counter_payment_record(
        reservation_id=booking.pk, method=Method.CASH, receipt_number="R-7", staff_user=staff, now=NOW
    )
    reservation_cancel(
        reservation_id=booking.pk, resident=resident, cancelled_by=resident.user, channel=Channel.WEB, now=NOW
    )
    result = services.payments_tick(now=NOW)
    refund = Refund.objects.get(payment=payment)
    assert (result.cancellation_refunds, result.refunds_executed) == (1, 0)
    assert refund.state == RefundState.REQUESTED and refund.amount == 1200  # nobody handed the cash back yet

    services.refund_approve(refund_id=refund.pk, approver=staff, now=NOW)  # the system asked; staff may approve
    services.refund_execute(refund_id=refund.pk, now=NOW)
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (State.REFUNDED, 1200)
