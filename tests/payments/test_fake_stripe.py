"""The fake Stripe keeps Stripe's promises, seen through the real SDK (payments/gateway.py):
idempotency keys, refunds never above the charge, session expiry, authentication, signatures."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
import time_machine

from payments import gateway
from payments.fake_stripe import FakeStripe
from payments.fake_stripe.server import parse_form

from .conftest import CARD_OK, NOW, WEBHOOK_SECRET, deliveries, pay_on_page


def create(key: str, amount: int = 1200, expires_in: dt.timedelta = dt.timedelta(hours=1)) -> gateway.CheckoutSession:
    return gateway.checkout_session_create(
        amount=amount,
        description="春日区民センター 室場r1",
        reference="ABCDEFGH23",
        payment_id=7,
        success_url="http://testserver/ok/",
        cancel_url="http://testserver/cancel/",
        expires_at=dt.datetime.now(dt.UTC) + expires_in,
        idempotency_key=key,
    )


@pytest.mark.smoke
def test_form_decoding_follows_stripes_brackets() -> None:
    body = "line_items[0][price_data][unit_amount]=1200&line_items[0][quantity]=1&metadata[payment_id]=7&mode=payment"
    assert parse_form(body) == {
        "line_items": [{"price_data": {"unit_amount": "1200"}, "quantity": "1"}],
        "metadata": {"payment_id": "7"},
        "mode": "payment",
    }


def test_the_same_idempotency_key_gives_the_same_session(fake: FakeStripe) -> None:
    first, again = create("checkout-7"), create("checkout-7")
    assert first == again
    other = create("checkout-8")
    assert other.id != first.id
    with pytest.raises(gateway.GatewayError):
        create("checkout-7", amount=999)  # the same key with other parameters is refused
    with fake.lock:
        assert len(fake.state.sessions) == 2


def test_refunds_never_exceed_the_charge(fake: FakeStripe) -> None:
    session = create("checkout-1")
    pay_on_page(fake, session.id, CARD_OK)
    intent = gateway.checkout_session_retrieve(session.id).payment_intent
    assert (
        gateway.refund_create(payment_intent=intent, amount=1000, refund_id=1, idempotency_key="refund-1").amount
        == 1000
    )
    # the retried call with the same key is the same refund, not a second one
    assert (
        gateway.refund_create(payment_intent=intent, amount=1000, refund_id=1, idempotency_key="refund-1").amount
        == 1000
    )
    with pytest.raises(gateway.GatewayError) as too_much:
        gateway.refund_create(payment_intent=intent, amount=201, refund_id=2, idempotency_key="refund-2")
    assert too_much.value.code == "amount_too_large"
    assert (
        gateway.refund_create(payment_intent=intent, amount=200, refund_id=3, idempotency_key="refund-3").amount == 200
    )


def test_sessions_expire_at_their_time_and_then_take_no_payment(fake: FakeStripe, clock) -> None:
    session = create("checkout-1", expires_in=dt.timedelta(minutes=40))
    clock.shift(dt.timedelta(minutes=41))
    assert gateway.checkout_session_retrieve(session.id).status == "expired"
    assert pay_on_page(fake, session.id, CARD_OK).status_code == 400
    assert [d.type for d in deliveries(fake)] == ["checkout.session.expired"]
    with pytest.raises(gateway.GatewayError):
        gateway.checkout_session_expire(session.id, idempotency_key="expire-1")


def test_expiry_outside_stripes_range_is_refused(fake: FakeStripe) -> None:
    with pytest.raises(gateway.GatewayError):
        create("checkout-1", expires_in=dt.timedelta(minutes=10))


def test_a_wrong_api_key_is_refused(fake: FakeStripe, settings) -> None:
    answer = requests.post(f"{fake.base_url}/v1/checkout/sessions", data={"mode": "payment"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "invalid_request_error"


def test_webhooks_are_signed_with_stripes_scheme(fake: FakeStripe) -> None:
    session = create("checkout-1")
    pay_on_page(fake, session.id, CARD_OK)
    for delivery in deliveries(fake):
        event = gateway.event_verify(delivery.payload.encode(), delivery.signature)
        assert event.id == delivery.event_id and event.type == delivery.type
    with pytest.raises(gateway.BadSignature):
        gateway.event_verify(b'{"id": "evt_1"}', deliveries(fake)[0].signature)
    assert WEBHOOK_SECRET not in deliveries(fake)[0].payload


def test_signatures_older_than_five_minutes_are_refused(fake: FakeStripe) -> None:
    session = create("checkout-1")
    pay_on_page(fake, session.id, CARD_OK)
    delivery = deliveries(fake)[0]
    with time_machine.travel(NOW + dt.timedelta(minutes=5, seconds=30), tick=False):
        assert time.time() > NOW.timestamp() + 300
        with pytest.raises(gateway.BadSignature):
            gateway.event_verify(delivery.payload.encode(), delivery.signature)
