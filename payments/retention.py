"""What payments still need of a resident, for the retention rule (reservations/retention.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from reservations.models import ReservationState

from .models import OPEN, Payment, Refund, RefundState

UNSETTLED_REFUNDS = (RefundState.REQUESTED, RefundState.APPROVED, RefundState.FAILED)


def people_owed_refunds(cutoff: dt.datetime) -> QuerySet[Any]:
    """Residents owed a refund that is not settled, however old (money outlives the retention period)."""
    return Refund.objects.filter(state__in=UNSETTLED_REFUNDS, payment__reservation__resident__isnull=False).values(
        "payment__reservation__resident_id"
    )


def people_with_open_payments(cutoff: dt.datetime) -> QuerySet[Any]:
    """Residents with a payment open on a booking that can still be paid."""
    return Payment.objects.filter(
        state__in=OPEN, reservation__state=ReservationState.PROVISIONAL, reservation__resident__isnull=False
    ).values("reservation__resident_id")
