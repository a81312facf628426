"""The one module that talks to Stripe (the official SDK, a pinned API version).

Everything returned is a small frozen dataclass of plain values, so the rest of the app never
touches SDK objects. Every POST carries an idempotency key the caller derives from our own row ids,
so a retried call (ours or the SDK's network retries) never charges, expires or refunds twice.
JPY is a zero-decimal currency: amounts are integer yen, as Stripe expects them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

API_VERSION = "2026-10-28.endive"  # pinned: upgrade deliberately, with the SDK, after reading the changelog
CURRENCY = "jpy"
SIGNATURE_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """Stripe refused or could not be reached; `code` is Stripe's error code when there is one."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class BadSignature(Exception):
    """A webhook that is unsigned, tampered with, signed with another secret or too old."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    amount_total: int
    payment_intent: str
    url: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object: dict[str, Any]


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=API_VERSION,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        # The SDK's default waits 80 s per attempt; a slow Stripe must not hold a web worker.
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _session(resource: Any) -> CheckoutSession:
    obj = resource.to_dict()
    intent = obj.get("payment_intent") or ""
    if not isinstance(intent, str):
        intent = intent.get("id", "")
    return CheckoutSession(
        id=obj["id"],
        status=obj.get("status") or "",
        payment_status=obj.get("payment_status") or "",
        amount_total=int(obj.get("amount_total") or 0),
        payment_intent=intent,
        url=obj.get("url") or "",
        metadata=dict(obj.get("metadata") or {}),
    )


def checkout_session_create(
    *,
    amount: int,
    description: str,
    reference: str,
    payment_id: int,
    success_url: str,
    cancel_url: str,
    expires_at: dt.datetime,
    idempotency_key: str,
) -> CheckoutSession:
    metadata = {"payment_id": str(payment_id), "reservation_reference": reference}
    try:
        obj = _client().v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": CURRENCY,
                            "unit_amount": amount,
                            "product_data": {"name": description},
                        },
                    }
                ],
                "client_reference_id": reference,
                "metadata": metadata,
                "payment_intent_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
                "expires_at": int(expires_at.timestamp()),
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error), getattr(error, "code", "") or "") from error
    return _session(obj)


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    try:
        return _session(_client().v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error), getattr(error, "code", "") or "") from error


def checkout_session_expire(session_id: str, *, idempotency_key: str) -> CheckoutSession:
    """Close an open session (its booking expired). A session that is already complete cannot be
    expired: Stripe refuses and the caller re-reads it (the payment then counts as a late success)."""
    try:
        return _session(_client().v1.checkout.sessions.expire(session_id, options={"idempotency_key": idempotency_key}))
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error), getattr(error, "code", "") or "") from error


def refund_create(*, payment_intent: str, amount: int, refund_id: int, idempotency_key: str) -> RefundResult:
    try:
        obj = _client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount, "metadata": {"refund_id": str(refund_id)}},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error), getattr(error, "code", "") or "") from error
    return RefundResult(id=obj.id, status=obj.status or "", amount=int(obj.amount or 0))


def event_verify(payload: bytes, signature: str | None) -> Event:
    """Check a webhook's Stripe-Signature with the SDK (HMAC-SHA256, at most 5 minutes old)."""
    if not signature:
        raise BadSignature("no Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, settings.STRIPE_WEBHOOK_SECRET, SIGNATURE_TOLERANCE_SECONDS
        )
        data = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise BadSignature(str(error)) from error
    obj = (data.get("data") or {}).get("object") or {}
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str) or not isinstance(obj, dict):
        raise BadSignature("not a Stripe event")
    return Event(id=data["id"], type=data["type"], object=obj)
