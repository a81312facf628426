"""Real races on PostgreSQL (threads, each with its own connection): webhooks for one payment
arriving at once, and a payment racing the expiry tick. One effect each, never two."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection

from payments import services
from payments.models import Payment, PaymentTransition, Refund, State, StripeEvent
from reservations.models import Reservation, ReservationState

from .conftest import CARD_OK, NOW, deliveries, pay_on_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]


def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - the test asserts on every racer's outcome
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results


def paid_session(fake, booking, resident) -> Payment:
    payment = services.checkout_start(
        reservation_id=booking.pk,
        resident=resident,
        now=NOW,
        success_url="http://testserver/r/{PAYMENT_ID}/",
        cancel_url="http://testserver/c/",
    )
    assert pay_on_page(fake, payment.stripe_session_id, CARD_OK).status_code == 303
    return payment


def test_the_same_and_related_webhooks_at_once_have_one_effect(fake, booking, resident) -> None:
    payment = paid_session(fake, booking, resident)
    events = deliveries(fake)  # payment_intent.succeeded and checkout.session.completed
    calls = [
        (lambda d=d: services.webhook_receive(payload=d.payload.encode(), signature=d.signature, now=NOW))
        for d in events
        for _ in range(4)
    ]

    outcomes = race(calls)

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert outcomes.count("succeeded") == 1
    assert outcomes.count("duplicate") == 6
    assert StripeEvent.objects.count() == 2
    assert PaymentTransition.objects.filter(payment=payment, to_state=State.SUCCEEDED).count() == 1
    assert Reservation.objects.get(pk=booking.pk).state == ReservationState.CONFIRMED


def test_payment_racing_the_expiry_tick_is_either_booked_or_refunded(fake, booking, resident) -> None:
    payment = paid_session(fake, booking, resident)
    [completed] = deliveries(fake, "checkout.session.completed")
    after = booking.payment_deadline + dt.timedelta(seconds=1)

    outcomes = race(
        [
            lambda: services.webhook_receive(
                payload=completed.payload.encode(), signature=completed.signature, now=after
            ),
            lambda: services.unpaid_expire(now=after),
        ]
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    state = Reservation.objects.get(pk=booking.pk).state
    payment.refresh_from_db()
    assert payment.state in (State.SUCCEEDED, State.REFUNDED)
    refunds = Refund.objects.filter(payment=payment).count()
    # Never "paid but not booked" without a refund, and never a refund of a confirmed booking.
    assert (state, refunds) in ((ReservationState.CONFIRMED, 0), (ReservationState.EXPIRED, 1))
