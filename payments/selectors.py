"""Reads of payments that are more than a one-liner: policies, exemptions, cash-up, reconciliation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from reservations.domain import TOKYO
from reservations.models import Reservation, ReservationState

from . import domain
from .models import (
    COUNTER_METHODS,
    PAID,
    Exemption,
    ExemptionState,
    Method,
    Payment,
    PaymentPolicy,
    Refund,
    RefundState,
)


def policy_for(facility_id: int) -> PaymentPolicy:
    """The facility's policy, or the defaults (unsaved) when it has none."""
    return PaymentPolicy.objects.filter(facility_id=facility_id).first() or PaymentPolicy(facility_id=facility_id)


def exemption_percent_for(reservation: Reservation) -> int:
    """The largest approved exemption valid on the use date, of the group when booked for one,
    else of the resident."""
    holder = Q(group_id=reservation.group_id) if reservation.group_id else Q(resident_id=reservation.resident_id)
    percents = Exemption.objects.filter(
        holder,
        state=ExemptionState.APPROVED,
        valid_from__lte=reservation.date,
        valid_until__gte=reservation.date,
    ).values_list("percent", flat=True)
    return max(percents, default=0)


def payments_of(reservation_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(reservation_id=reservation_id).order_by("-created_at")


def cancelled_paid_without_refund() -> list[int]:
    """Paid payments whose booking was cancelled and that have no refund yet (the tick requests
    the policy refund of each)."""
    return list(
        Payment.objects.filter(
            state__in=PAID,
            amount__gt=0,
            refunded_amount=0,
            reservation__state=ReservationState.CANCELLED,
        )
        .exclude(refunds__isnull=False)
        .values_list("pk", flat=True)
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=TOKYO)
    return start, start + dt.timedelta(days=1)


@dataclass(frozen=True)
class CashUpReport:
    day: dt.date
    facility_id: int
    payments: list[Payment]
    refunds: list[Refund]
    totals: domain.CashUp


def cash_up(*, facility_id: int, day: dt.date) -> CashUpReport:
    """The counter day of one facility (日計): what was taken per method and what was handed back."""
    start, end = _day_bounds(day)
    payments = list(
        Payment.objects.filter(
            facility_id=facility_id, method__in=COUNTER_METHODS, succeeded_at__gte=start, succeeded_at__lt=end
        )
        .select_related("reservation", "received_by")
        .order_by("succeeded_at")
    )
    refunds = list(
        Refund.objects.filter(
            payment__facility_id=facility_id,
            payment__method__in=COUNTER_METHODS,
            state=RefundState.SUCCEEDED,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .select_related("payment")
        .order_by("completed_at")
    )
    lines = [domain.CashLine(p.method, p.amount) for p in payments]
    lines += [domain.CashLine(r.payment.method, r.amount, refund=True) for r in refunds]
    return CashUpReport(day, facility_id, payments, refunds, domain.cash_up(lines))


@dataclass(frozen=True)
class ReconciliationRow:
    reference: str
    facility: str
    use_date: dt.date
    booking_state: str
    fee: int
    method: str
    payment_state: str
    paid: int
    refunded: int
    paid_at: dt.datetime | None
    receipt_number: str
    stripe_id: str
    problem: str


def reconciliation(*, day: dt.date) -> list[ReconciliationRow]:
    """Payments received on `day` against their bookings (収納消込), with the mismatches named:
    a booking paid twice, paid but not confirmed, or paid a different amount than it owes."""
    start, end = _day_bounds(day)
    payments = list(
        Payment.objects.filter(succeeded_at__gte=start, succeeded_at__lt=end)
        .exclude(method=Method.EXEMPT)
        .select_related("reservation__room__facility")
        .order_by("succeeded_at", "pk")
    )
    paid_counts: dict[int, int] = {}
    for row in Payment.objects.filter(
        reservation_id__in={p.reservation_id for p in payments}, state__in=PAID, refunded_amount__lt=F("amount")
    ).values_list("reservation_id", flat=True):
        paid_counts[row] = paid_counts.get(row, 0) + 1
    rows = []
    for p in payments:
        r = p.reservation
        due = domain.amount_due(r.fee, p.exemption_percent)
        left = p.amount - p.refunded_amount
        if paid_counts.get(r.pk, 0) > 1 and left > 0:
            problem = "double_payment"
        elif r.state in (ReservationState.EXPIRED, ReservationState.PROVISIONAL) and left > 0:
            problem = "paid_not_booked"
        elif r.state == ReservationState.CANCELLED and p.refunded_amount == 0:
            problem = "cancelled_not_refunded"
        elif p.amount != due:
            problem = "amount_mismatch"
        else:
            problem = ""
        rows.append(
            ReconciliationRow(
                reference=r.reference,
                facility=r.room.facility.name,
                use_date=r.date,
                booking_state=r.state,
                fee=r.fee,
                method=p.method,
                payment_state=p.state,
                paid=p.amount,
                refunded=p.refunded_amount,
                paid_at=p.succeeded_at,
                receipt_number=p.receipt_number,
                stripe_id=p.stripe_payment_intent,
                problem=problem,
            )
        )
    return rows
