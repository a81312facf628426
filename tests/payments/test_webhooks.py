"""The webhook matrix: valid, unsigned, tampered, wrong secret, stale, replayed, out of order,
unknown type, and a success for a booking that expired meanwhile (refunded automatically)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.core import mail
from django.test import Client

from payments import services
from payments.fake_stripe import FakeStripe
from payments.models import Payment, PaymentPolicy, PaymentTransition, Refund, RefundState, State, StripeEvent
from reservations.models import Occupancy, Reservation, ReservationState, Resident
from reservations.services import reservation_expire_unpaid

from .conftest import CARD_DECLINED, CARD_OK, NOW, deliver_all, deliveries, pay_on_page, post_event, signed_event

pytestmark = pytest.mark.django_db


def start(booking: Reservation, resident: Resident) -> Payment:
    return services.checkout_start(
        reservation_id=booking.pk,
        resident=resident,
        now=NOW,
        success_url="http://testserver/payments/result/{PAYMENT_ID}/",
        cancel_url="http://testserver/payments/bookings/1/?cancelled=1",
    )


def completed_event(fake: FakeStripe):
    [delivery] = deliveries(fake, "checkout.session.completed")
    return delivery


def test_valid_completed_event_confirms_the_booking(client: Client, fake: FakeStripe, booking, resident) -> None:
    payment = start(booking, resident)
    assert payment.state == State.REQUIRES_ACTION and payment.amount == 1200
    assert pay_on_page(fake, payment.stripe_session_id, CARD_OK).status_code == 303
    delivery = completed_event(fake)

    response = post_event(client, delivery.payload, delivery.signature)

    assert response.status_code == 200 and response.json()["outcome"] == "succeeded"
    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.state == State.SUCCEEDED and payment.stripe_payment_intent.startswith("pi_")
    assert booking.state == ReservationState.CONFIRMED
    assert list(payment.transitions.values_list("from_state", "to_state", "source")) == [
        ("", "created", "checkout"),
        ("created", "requires_action", "checkout"),
        ("requires_action", "succeeded", "webhook"),
    ]


@pytest.mark.parametrize("case", ["unsigned", "tampered", "wrong_secret", "stale", "garbage_header"])
def test_unverified_events_are_refused_and_change_nothing(client: Client, fake, booking, resident, case: str) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    delivery = completed_event(fake)
    payload, signature = delivery.payload, delivery.signature
    if case == "unsigned":
        signature = None
    elif case == "tampered":
        payload = payload.replace('"amount_total": 1200', '"amount_total": 1')
        assert payload != delivery.payload
    elif case == "wrong_secret":
        from payments.fake_stripe.server import sign

        signature = sign(payload, "whsec_someone_else", int(time.time()))
    elif case == "stale":
        from payments.fake_stripe.server import sign

        signature = sign(payload, "whsec_suite", int(time.time()) - 301)
    else:
        signature = "t=abc,v1=xyz"

    response = post_event(client, payload, signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.state == State.REQUIRES_ACTION
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.PROVISIONAL


def test_an_event_almost_five_minutes_old_is_still_accepted(client: Client, fake, booking, resident) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    from payments.fake_stripe.server import sign

    delivery = completed_event(fake)
    response = post_event(client, delivery.payload, sign(delivery.payload, "whsec_suite", int(time.time()) - 240))
    assert response.status_code == 200 and response.json()["outcome"] == "succeeded"


def test_replay_and_duplicates_get_200_and_no_second_effect(client: Client, fake, booking, resident) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    delivery = completed_event(fake)

    first = post_event(client, delivery.payload, delivery.signature)
    again = [post_event(client, delivery.payload, delivery.signature) for _ in range(3)]

    assert first.json()["outcome"] == "succeeded"
    assert [r.status_code for r in again] == [200, 200, 200]
    assert {r.json()["outcome"] for r in again} == {"duplicate"}
    assert StripeEvent.objects.filter(event_id=delivery.event_id).count() == 1
    assert PaymentTransition.objects.filter(payment=payment, to_state=State.SUCCEEDED).count() == 1


def test_every_event_of_a_payment_in_any_order_ends_succeeded(client: Client, fake, booking, resident) -> None:
    """A decline, then a good card: the fake emits failed, succeeded, completed. Delivered in
    reverse, the late 'failed' must not move a succeeded payment back."""
    payment = start(booking, resident)
    assert pay_on_page(fake, payment.stripe_session_id, CARD_DECLINED).status_code == 402
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    events = deliveries(fake)
    assert [d.type for d in events] == [
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]

    outcomes = [post_event(client, d.payload, d.signature).json()["outcome"] for d in reversed(events)]

    assert outcomes == ["succeeded", "no_change", "no_change"]
    payment.refresh_from_db()
    assert payment.state == State.SUCCEEDED
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED


def test_a_late_expired_event_does_not_undo_a_success(client: Client, fake, booking, resident) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    post_event(client, completed_event(fake).payload, completed_event(fake).signature)
    session = {
        "id": payment.stripe_session_id,
        "status": "expired",
        "payment_status": "unpaid",
        "metadata": {"payment_id": str(payment.pk)},
    }
    payload, signature = signed_event("checkout.session.expired", session, event_id="evt_late_expiry")

    response = post_event(client, payload, signature)

    assert response.status_code == 200 and response.json()["outcome"] == "no_change"
    payment.refresh_from_db()
    assert payment.state == State.SUCCEEDED


def test_declined_card_marks_the_payment_failed_and_the_booking_stays_provisional(
    client, fake, booking, resident
) -> None:
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_DECLINED)
    assert deliver_all(client, fake) == [200]
    payment.refresh_from_db()
    assert payment.state == State.FAILED
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.PROVISIONAL


def test_unknown_event_types_are_stored_and_acknowledged(client: Client, fake) -> None:
    payload, signature = signed_event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_unknown")
    response = post_event(client, payload, signature)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert StripeEvent.objects.get(event_id="evt_unknown").type == "customer.created"


def test_success_after_the_booking_expired_is_refunded_and_the_resident_told(
    client, fake, booking, resident, django_capture_on_commit_callbacks
) -> None:
    payment = start(booking, resident)
    # The deadline passes while the resident is still on the checkout page: the tick expires the
    # booking and frees the slot, but the session closes only after the payment went through.
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    after_deadline = booking.payment_deadline + dt.timedelta(seconds=1)
    assert reservation_expire_unpaid(now=after_deadline) == [booking.pk]
    assert not Occupancy.objects.filter(reservation=booking).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, completed_event(fake).payload, completed_event(fake).signature)
    assert response.json()["outcome"] == "succeeded"

    payment.refresh_from_db()
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.EXPIRED
    refund = Refund.objects.get(payment=payment)
    assert refund.automatic and refund.amount == 1200
    assert refund.state == RefundState.SUCCEEDED and refund.stripe_refund_id.startswith("re_")
    assert payment.state == State.REFUNDED and payment.refunded_amount == 1200
    with fake.lock:
        assert fake.state.intents[payment.stripe_payment_intent]["_refunded"] == 1200
    assert [m.to for m in mail.outbox] == [[resident.user.email]]
    assert booking.reference in mail.outbox[0].subject


def test_late_success_waits_for_staff_where_the_facility_says_so(client, fake, booking, resident) -> None:
    PaymentPolicy.objects.create(facility=booking.room.facility, refund_late_payments=False)
    payment = start(booking, resident)
    pay_on_page(fake, payment.stripe_session_id, CARD_OK)
    reservation_expire_unpaid(now=booking.payment_deadline + dt.timedelta(seconds=1))
    post_event(client, completed_event(fake).payload, completed_event(fake).signature)
    services.payments_tick(now=booking.payment_deadline + dt.timedelta(minutes=1))
    refund = Refund.objects.get(payment=payment)
    assert refund.state == RefundState.REQUESTED and refund.amount == 1200


def test_payload_that_is_not_json_but_signed_is_refused(client: Client, fake) -> None:
    from payments.fake_stripe.server import sign

    payload = "not json"
    assert post_event(client, payload, sign(payload, "whsec_suite", int(time.time()))).status_code == 400
    assert json.loads(post_event(client, "{}", None).content)["error"] == "bad signature"
