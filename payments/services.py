"""Every write of payments. One transaction each; side effects (Stripe calls, e-mail) outside them.

Locking contract: rows are locked in one global order — Reservation, then Payment, then Refund —
and never while calling Stripe. A call out happens between two short transactions: the first
records our intent (and gives the idempotency key its id), the second records Stripe's answer
after re-checking the state under lock. Webhook events are stored under a UNIQUE id, so a
replay or a parallel duplicate has no second effect; the state machine only moves forward.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from django.core.mail import send_mail
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext

from reservations.domain import TOKYO
from reservations.errors import BookingError, NotFound
from reservations.models import Reservation, ReservationState, Resident, User
from reservations.services import reservation_expire_unpaid, reservation_mark_paid

from . import domain, gateway, selectors
from .domain import PaymentState
from .models import (
    OPEN,
    PAID,
    Exemption,
    ExemptionState,
    Method,
    Payment,
    PaymentTransition,
    Refund,
    RefundState,
    State,
    StripeEvent,
)

logger = logging.getLogger(__name__)

LATE_REFUND_REASON = "期限切れ後の入金の自動還付"
DOUBLE_PAYMENT_REASON = "二重入金の自動還付"


# --- the state machine ---------------------------------------------------------------------------


def _move(
    payment: Payment,
    target: str,
    *,
    now: dt.datetime,
    source: str,
    by: User | None = None,
    event_id: str = "",
) -> bool:
    """Move a locked payment forward and record the transition; False (and no change) otherwise."""
    if not domain.may_move(PaymentState(payment.state), PaymentState(target)):
        return False
    PaymentTransition.objects.create(
        payment=payment,
        from_state=payment.state,
        to_state=target,
        at=now,
        by=by,
        source=source,
        stripe_event_id=event_id,
    )
    payment.state = target
    fields = ["state"]
    if target == State.SUCCEEDED:
        payment.succeeded_at = now
        fields.append("succeeded_at")
    payment.save(update_fields=fields)
    return True


def _lock_reservation(reservation_id: int) -> Reservation:
    reservation = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("room__facility", "resident__user")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        raise NotFound("unknown_reservation")
    return reservation


def _lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def _after_success(payment: Payment, *, now: dt.datetime) -> None:
    """Money arrived: confirm the booking, or — when the booking ended meanwhile or was already
    paid — refund it (automatically, or queued for staff where the facility says so) and tell the
    resident. Never a silent "paid but not booked". Runs under the reservation and payment locks."""
    already_paid = (
        Payment.objects.filter(reservation_id=payment.reservation_id, state__in=PAID).exclude(pk=payment.pk).exists()
    )
    if not already_paid and reservation_mark_paid(reservation_id=payment.reservation_id, now=now):
        return
    if payment.amount == 0:
        return
    policy = selectors.policy_for(payment.facility_id)
    refund = Refund.objects.create(
        payment=payment,
        amount=payment.amount - payment.refunded_amount,
        reason=DOUBLE_PAYMENT_REASON if already_paid else LATE_REFUND_REASON,
        automatic=True,
        requested_at=now,
        state=RefundState.APPROVED if policy.refund_late_payments else RefundState.REQUESTED,
        approved_at=now if policy.refund_late_payments else None,
    )
    reservation = Reservation.objects.select_related("resident__user").get(pk=payment.reservation_id)
    transaction.on_commit(lambda: _tell_late_payment(reservation, refund.amount))
    if refund.state == RefundState.APPROVED:
        transaction.on_commit(lambda: _execute_quietly(refund.pk))


def _tell_late_payment(reservation: Reservation, amount: int) -> None:
    email = reservation.resident.user.email if reservation.resident else ""
    if not email:
        return
    with translation.override("ja"):
        send_mail(
            gettext("【施設予約】お支払いを還付します（予約番号 %(reference)s）")
            % {"reference": reservation.reference},
            gettext(
                "予約番号 %(reference)s のお支払い（%(amount)s円）は、予約の期限切れ・取消またはお支払い済みの後に"
                "確認されたため、予約は成立していません。お支払いいただいた金額は全額還付します。"
            )
            % {"reference": reservation.reference, "amount": f"{amount:,}"},
            None,
            [email],
        )


def _execute_quietly(refund_id: int) -> None:
    try:
        refund_execute(refund_id=refund_id, now=_now())
    except Exception:
        # The tick retries approved refunds with the same idempotency key.
        logger.exception("refund %s could not be executed now", refund_id)


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


# --- card payments through Stripe Checkout -----------------------------------------------------------


def checkout_start(
    *, reservation_id: int, resident: Resident, now: dt.datetime, success_url: str, cancel_url: str
) -> Payment:
    """Open (or reuse) the card payment of a provisional booking and its Stripe Checkout Session.

    Transaction 1 locks the reservation, checks it can be paid and creates the payment order (a
    UNIQUE constraint keeps one open order per booking). Stripe is called with no lock held, with
    the idempotency key `checkout-<payment id>`; transaction 2 stores the session. A fully exempt
    booking is confirmed at once with a zero payment. `success_url` may contain `{PAYMENT_ID}`."""
    # A session that ended in Stripe (expired, or paid while we missed the webhook) is read first,
    # with no lock held, so that it is never handed out again.
    for open_id in Payment.objects.filter(
        reservation_id=reservation_id, method=Method.CARD, state__in=OPEN, stripe_session_id__isnull=False
    ).values_list("pk", flat=True):
        payment_refresh(payment_id=open_id, now=now)
    with transaction.atomic():
        reservation = _lock_reservation(reservation_id)
        if reservation.resident_id != resident.pk and not (
            reservation.group is not None and reservation.group.representative_id == resident.pk
        ):
            raise NotFound("unknown_reservation")
        if reservation.state != ReservationState.PROVISIONAL:
            raise BookingError("not_payable")
        if reservation.payment_deadline is not None and reservation.payment_deadline < now:
            raise BookingError("payment_deadline_passed")
        percent = selectors.exemption_percent_for(reservation)
        amount = domain.amount_due(reservation.fee, percent)
        if amount == 0:
            payment = Payment.objects.create(
                reservation=reservation,
                facility_id=reservation.room.facility_id,
                method=Method.EXEMPT,
                amount=0,
                exemption_percent=percent,
                created_at=now,
            )
            _move(payment, State.SUCCEEDED, now=now, source="exemption", by=resident.user)
            _after_success(payment, now=now)
            return payment
        existing = Payment.objects.filter(reservation=reservation, state__in=OPEN, method=Method.CARD).first()
        if existing is None:
            payment = Payment.objects.create(
                reservation=reservation,
                facility_id=reservation.room.facility_id,
                method=Method.CARD,
                amount=amount,
                exemption_percent=percent,
                created_at=now,
            )
            PaymentTransition.objects.create(
                payment=payment, to_state=State.CREATED, at=now, by=resident.user, source="checkout"
            )
        elif existing.checkout_url:
            return existing  # the same session: a declined card may be retried on its page
        else:
            payment = existing
        deadline = reservation.payment_deadline or now
        description = f"{reservation.room} {reservation.date:%Y-%m-%d} ({reservation.reference})"
        reference = reservation.reference

    try:
        session = gateway.checkout_session_create(
            amount=payment.amount,
            description=description,
            reference=reference,
            payment_id=payment.pk,
            success_url=success_url.replace("{PAYMENT_ID}", str(payment.pk)),
            cancel_url=cancel_url.replace("{PAYMENT_ID}", str(payment.pk)),
            expires_at=domain.checkout_expires_at(now=now, payment_deadline=deadline),
            idempotency_key=f"checkout-{payment.pk}",
        )
    except gateway.GatewayError as error:
        logger.warning("checkout for payment %s failed: %s", payment.pk, error)
        raise BookingError("payment_unavailable", status=503) from error

    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if payment.stripe_session_id in (None, session.id):
            payment.stripe_session_id = session.id
            payment.checkout_url = session.url
            payment.save(update_fields=["stripe_session_id", "checkout_url"])
            _move(payment, State.REQUIRES_ACTION, now=now, source="checkout", by=resident.user)
    return payment


def _apply_session(
    *, payment_id: int, session: gateway.CheckoutSession, now: dt.datetime, source: str, event_id: str = ""
) -> str:
    """Bring a payment in line with what Stripe says of its session. Locks reservation, then payment."""
    reservation_id = Payment.objects.filter(pk=payment_id).values_list("reservation_id", flat=True).first()
    if reservation_id is None:
        return "unknown_payment"
    with transaction.atomic():
        _lock_reservation(reservation_id)
        payment = _lock_payment(payment_id)
        if payment.stripe_session_id and payment.stripe_session_id != session.id:
            return "other_session"
        if not payment.stripe_session_id:  # the session was created but storing it did not commit
            payment.stripe_session_id = session.id
            payment.save(update_fields=["stripe_session_id"])
        if session.status == "complete" and session.payment_status == "paid":
            if session.amount_total != payment.amount:
                logger.error(
                    "payment %s: Stripe took %s, we asked %s", payment.pk, session.amount_total, payment.amount
                )
            if session.payment_intent and not payment.stripe_payment_intent:
                payment.stripe_payment_intent = session.payment_intent
                payment.save(update_fields=["stripe_payment_intent"])
            if _move(payment, State.SUCCEEDED, now=now, source=source, event_id=event_id):
                _after_success(payment, now=now)
                return "succeeded"
            return "no_change"
        if session.status == "expired":
            return (
                "expired" if _move(payment, State.EXPIRED, now=now, source=source, event_id=event_id) else "no_change"
            )
    return "no_change"


def _apply_intent_failed(*, payment_id: int, intent_id: str, now: dt.datetime, event_id: str) -> str:
    reservation_id = Payment.objects.filter(pk=payment_id).values_list("reservation_id", flat=True).first()
    if reservation_id is None:
        return "unknown_payment"
    with transaction.atomic():
        _lock_reservation(reservation_id)
        payment = _lock_payment(payment_id)
        if not payment.stripe_payment_intent:
            payment.stripe_payment_intent = intent_id
            payment.save(update_fields=["stripe_payment_intent"])
        moved = _move(payment, State.FAILED, now=now, source="webhook", event_id=event_id)
    return "failed" if moved else "no_change"


def _payment_id_of(obj: dict[str, object]) -> int | None:
    metadata = obj.get("metadata")
    raw = metadata.get("payment_id") if isinstance(metadata, dict) else None
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    session_id = obj.get("id")
    if isinstance(session_id, str):
        return Payment.objects.filter(stripe_session_id=session_id).values_list("pk", flat=True).first()
    return None


DEADLOCK_RETRIES = 3
T = TypeVar("T")


def _retry_on_deadlock(step: Callable[[], T]) -> T:
    """Run a whole transaction again when PostgreSQL aborted it as a deadlock victim (40P01).
    Every step retried this way is idempotent; the retry is PostgreSQL's documented remedy."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return step()
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES - 1:
                raise
            logger.warning("deadlock, retrying (attempt %s)", attempt + 2)
    raise AssertionError("unreachable")


def webhook_receive(*, payload: bytes, signature: str | None, now: dt.datetime) -> str:
    """Handle one Stripe webhook (retried whole if chosen as a deadlock victim): see `_webhook_receive`."""
    event = gateway.event_verify(payload, signature)
    return _retry_on_deadlock(lambda: _webhook_receive(event=event, now=now))


def _webhook_receive(*, event: gateway.Event, now: dt.datetime) -> str:
    """Handle one Stripe webhook. Raises gateway.BadSignature for what must be refused (400).

    The event id is inserted under UNIQUE first, in the same transaction as its effect: a replay,
    or the same event delivered twice at once, finds the id taken (the second insert waits for the
    first to commit) and has no effect. Events for one payment in any order only move it forward.
    Unknown types are stored and acknowledged."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = StripeEvent.objects.create(event_id=event.id, type=event.type, received_at=now)
        except IntegrityError:
            return "duplicate"
        payment_id = _payment_id_of(event.object)
        outcome = "ignored"
        if payment_id is not None and event.type.startswith("checkout.session."):
            session = gateway.CheckoutSession(
                id=str(event.object.get("id", "")),
                status=str(event.object.get("status") or ""),
                payment_status=str(event.object.get("payment_status") or ""),
                amount_total=int(str(event.object.get("amount_total") or 0)),
                payment_intent=str(event.object.get("payment_intent") or ""),
                url="",
                metadata={},
            )
            outcome = _apply_session(
                payment_id=payment_id, session=session, now=now, source="webhook", event_id=event.id
            )
        elif payment_id is not None and event.type == "payment_intent.payment_failed":
            outcome = _apply_intent_failed(
                payment_id=payment_id, intent_id=str(event.object.get("id", "")), now=now, event_id=event.id
            )
        elif payment_id is not None and event.type == "payment_intent.succeeded":
            # The session event carries the same news; re-read the session to apply it once.
            outcome = "deferred"
        known = payment_id is not None and Payment.objects.filter(pk=payment_id).exists()
        stored.payment_id = payment_id if known else None
        stored.outcome = outcome
        stored.save(update_fields=["payment", "outcome"])
    if outcome == "deferred" and payment_id is not None:
        outcome = payment_refresh(payment_id=payment_id, now=now)
    return outcome


def payment_refresh(*, payment_id: int, now: dt.datetime) -> str:
    """Re-read a card payment's session from Stripe (no lock held) and apply it: the return page
    and the periodic reconcile use this to catch a missed or late webhook."""
    payment = Payment.objects.filter(pk=payment_id, method=Method.CARD).first()
    if payment is None or not payment.stripe_session_id:
        return "no_change"
    try:
        session = gateway.checkout_session_retrieve(payment.stripe_session_id)
    except gateway.GatewayError:
        logger.warning("could not re-read session of payment %s", payment_id)
        return "unreachable"
    # Retried as a deadlock victim like the webhook: the expiry tick lands here when the session it
    # wanted to expire has just completed, racing that session's own webhook.
    return _retry_on_deadlock(
        partial(_apply_session, payment_id=payment_id, session=session, now=now, source="reconcile")
    )


def payments_reconcile(*, now: dt.datetime) -> int:
    """Re-read every card payment still open in our books; returns how many changed."""
    changed = 0
    ids = Payment.objects.filter(method=Method.CARD, state__in=OPEN, stripe_session_id__isnull=False).values_list(
        "pk", flat=True
    )
    for payment_id in list(ids):
        if payment_refresh(payment_id=payment_id, now=now) in ("succeeded", "expired"):
            changed += 1
    return changed


def unpaid_expire(*, now: dt.datetime) -> list[int]:
    """Expire unpaid provisional bookings past their deadline (their slots are free at once), then
    close their open Checkout Sessions. A session that completed meanwhile is applied as a late
    success, which refunds it."""
    expired = reservation_expire_unpaid(now=now)
    open_payments = Payment.objects.filter(
        reservation_id__in=expired, method=Method.CARD, state__in=OPEN, stripe_session_id__isnull=False
    ).values_list("pk", "stripe_session_id")
    for payment_id, session_id in list(open_payments):
        if session_id is None:
            continue
        try:
            session = gateway.checkout_session_expire(session_id, idempotency_key=f"expire-{payment_id}")
        except gateway.GatewayError:
            payment_refresh(payment_id=payment_id, now=now)
            continue
        _retry_on_deadlock(partial(_apply_session, payment_id=payment_id, session=session, now=now, source="system"))
    return expired


# --- counter payments -------------------------------------------------------------------------------


def counter_payment_record(
    *, reservation_id: int, method: str, receipt_number: str, staff_user: User, now: dt.datetime
) -> Payment:
    """Staff take cash or a terminal payment at the counter for a provisional booking, with the
    receipt number of the slip handed over (unique per facility). Locks the reservation row."""
    if method not in (Method.CASH, Method.TERMINAL) or not receipt_number.strip():
        raise BookingError("not_payable", status=400)
    with transaction.atomic():
        reservation = _lock_reservation(reservation_id)
        if reservation.state != ReservationState.PROVISIONAL:
            raise BookingError("not_payable")
        percent = selectors.exemption_percent_for(reservation)
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    reservation=reservation,
                    facility_id=reservation.room.facility_id,
                    method=method,
                    amount=domain.amount_due(reservation.fee, percent),
                    exemption_percent=percent,
                    receipt_number=receipt_number.strip(),
                    received_by=staff_user,
                    created_at=now,
                    # Paid on the spot: never "open", so a card checkout in flight is no conflict.
                    state=State.SUCCEEDED,
                    succeeded_at=now,
                )
        except IntegrityError as error:
            if "receipt" in str(error).lower():
                raise BookingError("receipt_number_used") from error
            raise
        PaymentTransition.objects.create(
            payment=payment, to_state=State.SUCCEEDED, at=now, by=staff_user, source="counter"
        )
        _after_success(payment, now=now)
    return payment


# --- refunds ----------------------------------------------------------------------------------------


def refund_request(*, payment_id: int, amount: int, reason: str, requested_by: User | None, now: dt.datetime) -> Refund:
    """Ask to refund `amount` of a payment. Up to the facility's threshold it is approved at once
    and executed after commit; above it a different staff member approves (`refund_approve`), as
    for a counter payment's refund that the system (`requested_by` None) asks for.
    Locks the payment row so that refunds together never exceed what was paid."""
    with transaction.atomic():
        payment = _lock_payment(payment_id)
        if payment.state not in (State.SUCCEEDED, State.PARTLY_REFUNDED) or payment.amount == 0:
            raise BookingError("not_refundable")
        pending = (
            Refund.objects.filter(
                payment=payment, state__in=[RefundState.REQUESTED, RefundState.APPROVED, RefundState.SUCCEEDED]
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        if amount <= 0 or pending + amount > payment.amount:
            raise BookingError("refund_too_large", status=400)
        policy = selectors.policy_for(payment.facility_id)
        # Cash goes back by hand: a refund the system asks for waits for a staff member at the
        # counter; a card refund, or one a staff member asks for, goes ahead up to the threshold.
        auto = not domain.needs_second_approval(amount, policy.rules()) and (
            requested_by is not None or payment.method == Method.CARD
        )
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            reason=reason,
            requested_by=requested_by,
            requested_at=now,
            state=RefundState.APPROVED if auto else RefundState.REQUESTED,
            approved_at=now if auto else None,
        )
        if auto:
            transaction.on_commit(lambda: _execute_quietly(refund.pk))
    return refund


def refund_for_cancellation(*, payment_id: int, requested_by: User | None, now: dt.datetime) -> Refund | None:
    """Refund what the facility's cancellation policy gives back for a cancelled booking (None when
    nothing is due)."""
    payment = Payment.objects.select_related("reservation").get(pk=payment_id)
    reservation = payment.reservation
    cancelled = reservation.cancelled_at or now
    due = domain.refund_due(
        paid=payment.amount,
        already_refunded=payment.refunded_amount,
        use_date=reservation.date,
        cancelled_on=cancelled.astimezone(TOKYO).date(),
        policy=selectors.policy_for(payment.facility_id).rules(),
    )
    if due == 0:
        return None
    return refund_request(
        payment_id=payment_id, amount=due, reason="取消による還付（取消規定による）", requested_by=requested_by, now=now
    )


def refund_approve(*, refund_id: int, approver: User, now: dt.datetime) -> Refund:
    """A second staff member approves a refund; the requester cannot (the database refuses it too)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.state != RefundState.REQUESTED:
            raise BookingError("not_requested")
        if refund.requested_by_id == approver.pk:
            raise BookingError("same_approver", status=403)
        refund.state = RefundState.APPROVED
        refund.approved_by = approver
        refund.approved_at = now
        refund.save(update_fields=["state", "approved_by", "approved_at"])
        transaction.on_commit(lambda: _execute_quietly(refund.pk))
    return refund


def refund_reject(*, refund_id: int, approver: User, now: dt.datetime) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.state != RefundState.REQUESTED:
            raise BookingError("not_requested")
        if refund.requested_by_id == approver.pk:
            raise BookingError("same_approver", status=403)
        refund.state = RefundState.REJECTED
        refund.approved_by = approver
        refund.approved_at = now
        refund.save(update_fields=["state", "approved_by", "approved_at"])
    return refund


def refund_execute(*, refund_id: int, now: dt.datetime) -> Refund:
    """Pay back an approved refund: a card refund through Stripe (idempotency key `refund-<id>`,
    no lock held while calling), a counter refund recorded as handed over. Then, under the payment
    and refund locks, record it once. Safe to call again (the tick retries approved refunds)."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.state != RefundState.APPROVED:
        return refund
    stripe_refund_id = ""
    if refund.payment.method == Method.CARD:
        try:
            result = gateway.refund_create(
                payment_intent=refund.payment.stripe_payment_intent,
                amount=refund.amount,
                refund_id=refund.pk,
                idempotency_key=f"refund-{refund.pk}",
            )
        except gateway.GatewayError as error:
            if error.code in ("amount_too_large", "charge_already_refunded", "resource_missing"):
                Refund.objects.filter(pk=refund.pk, state=RefundState.APPROVED).update(
                    state=RefundState.FAILED, failure=str(error)[:200]
                )
                return Refund.objects.get(pk=refund.pk)
            raise
        stripe_refund_id = result.id
    with transaction.atomic():
        payment = _lock_payment(refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.state != RefundState.APPROVED:
            return refund
        refund.state = RefundState.SUCCEEDED
        refund.completed_at = now
        refund.stripe_refund_id = stripe_refund_id
        refund.save(update_fields=["state", "completed_at", "stripe_refund_id"])
        payment.refunded_amount += refund.amount
        payment.save(update_fields=["refunded_amount"])
        _move(
            payment,
            domain.state_after_refund(amount=payment.amount, refunded=payment.refunded_amount),
            now=now,
            source="refund",
            by=refund.approved_by or refund.requested_by,
        )
    return refund


# --- exemptions (減免) ---------------------------------------------------------------------------------


def exemption_request(
    *,
    percent: int,
    category: str,
    evidence: str,
    valid_from: dt.date,
    valid_until: dt.date,
    requested_by: User,
    now: dt.datetime,
    resident: Resident | None = None,
    group_id: int | None = None,
) -> Exemption:
    """Staff record an exemption with its evidence; it applies once another staff member approves it."""
    if not 0 < percent <= 100:
        raise BookingError("bad_percent", status=400)
    if (resident is None) == (group_id is None):
        raise BookingError("unknown_resident", status=400)
    with transaction.atomic():
        return Exemption.objects.create(
            resident=resident,
            group_id=group_id,
            percent=percent,
            category=category,
            evidence=evidence,
            valid_from=valid_from,
            valid_until=valid_until,
            requested_by=requested_by,
            requested_at=now,
        )


def exemption_decide(*, exemption_id: int, approver: User, approve: bool, now: dt.datetime) -> Exemption:
    """Approve or reject an exemption: never by the staff member who requested it."""
    with transaction.atomic():
        exemption = Exemption.objects.select_for_update().get(pk=exemption_id)
        if exemption.state != ExemptionState.REQUESTED:
            raise BookingError("not_requested")
        if exemption.requested_by_id == approver.pk:
            raise BookingError("same_approver", status=403)
        exemption.state = ExemptionState.APPROVED if approve else ExemptionState.REJECTED
        exemption.approved_by = approver
        exemption.approved_at = now
        exemption.save(update_fields=["state", "approved_by", "approved_at"])
    return exemption


# --- the periodic tick -------------------------------------------------------------------------------


@dataclass
class TickResult:
    expired: list[int] = field(default_factory=list)
    reconciled: int = 0
    cancellation_refunds: int = 0
    refunds_executed: int = 0


def payments_tick(*, now: dt.datetime) -> TickResult:
    """Everything due, each step idempotent: expire unpaid bookings, re-read open card payments,
    request the policy refund of paid bookings that were cancelled, execute approved card refunds
    (cash is handed back, and recorded, by staff)."""
    result = TickResult()
    result.expired = unpaid_expire(now=now)
    result.reconciled = payments_reconcile(now=now)
    for payment_id in selectors.cancelled_paid_without_refund():
        if refund_for_cancellation(payment_id=payment_id, requested_by=None, now=now) is not None:
            result.cancellation_refunds += 1
    approved = Refund.objects.filter(state=RefundState.APPROVED, payment__method=Method.CARD)
    for refund_id in list(approved.values_list("pk", flat=True)):
        try:
            if refund_execute(refund_id=refund_id, now=now).state == RefundState.SUCCEEDED:
                result.refunds_executed += 1
        except gateway.GatewayError:
            logger.warning("refund %s: Stripe unreachable, retried next tick", refund_id)
    return result
