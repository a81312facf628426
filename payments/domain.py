"""Pure payment rules: fees, exemptions, the payment state machine, the cancellation policy.

No Django here (import-linter enforces it): plain ints and dates in, frozen dataclasses out, so
hypothesis can check the properties quickly. Money is integer yen; every percentage is applied
once, to the base, and rounded down to whole yen.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FeeRequest:
    """What a fee depends on. `band_fees` is (weekday_fee, holiday_fee) per band booked."""

    band_fees: tuple[tuple[int, int], ...]
    holiday: bool  # Saturday, Sunday or a national holiday (reservations.domain.is_holiday)
    outsider: bool = False
    outsider_surcharge_percent: int = 20
    commercial: bool = False
    commercial_surcharge_percent: int = 0
    equipment_fees: tuple[int, ...] = ()  # 附属設備, flat yen each
    exemption_percent: int = 0  # 減免: 0, 50, 100 ...


@dataclass(frozen=True)
class FeeBreakdown:
    base: int
    outsider_surcharge: int
    commercial_surcharge: int
    equipment: int
    exemption: int
    total: int


def _percent(value: int, percent: int) -> int:
    return value * max(0, min(percent, 1000)) // 100


def fee_breakdown(request: FeeRequest) -> FeeBreakdown:
    """The usage fee: bands (weekday or 土日祝) + 区外 and commercial surcharges on the bands +
    equipment, less the exemption (減免) on the whole. Never negative; 100% exemption → 0."""
    base = sum(max(0, h if request.holiday else w) for w, h in request.band_fees)
    outsider = _percent(base, request.outsider_surcharge_percent) if request.outsider else 0
    commercial = _percent(base, request.commercial_surcharge_percent) if request.commercial else 0
    equipment = sum(max(0, fee) for fee in request.equipment_fees)
    subtotal = base + outsider + commercial + equipment
    exemption = exemption_amount(subtotal, request.exemption_percent)
    return FeeBreakdown(base, outsider, commercial, equipment, exemption, subtotal - exemption)


def exemption_amount(fee: int, percent: int) -> int:
    """How much of `fee` an exemption of `percent` waives (rounded down in the resident's favour:
    the waived part is rounded up so the amount due is rounded down)."""
    percent = max(0, min(percent, 100))
    return fee - (fee * (100 - percent) // 100)


def amount_due(fee: int, exemption_percent: int) -> int:
    return max(0, fee - exemption_amount(fee, exemption_percent))


class PaymentState(enum.StrEnum):
    CREATED = "created"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    EXPIRED = "expired"
    SUCCEEDED = "succeeded"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"


OPEN_STATES = frozenset({PaymentState.CREATED, PaymentState.REQUIRES_ACTION, PaymentState.FAILED})
PAID_STATES = frozenset({PaymentState.SUCCEEDED, PaymentState.PARTLY_REFUNDED, PaymentState.REFUNDED})

# Forward only. A declined card (FAILED) may still be followed by a good one in the same session;
# money that Stripe says it took always wins, even over an expiry we recorded (a late success).
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.CREATED: frozenset(
        {PaymentState.REQUIRES_ACTION, PaymentState.FAILED, PaymentState.EXPIRED, PaymentState.SUCCEEDED}
    ),
    PaymentState.REQUIRES_ACTION: frozenset({PaymentState.FAILED, PaymentState.EXPIRED, PaymentState.SUCCEEDED}),
    PaymentState.FAILED: frozenset({PaymentState.EXPIRED, PaymentState.SUCCEEDED}),
    PaymentState.EXPIRED: frozenset({PaymentState.SUCCEEDED}),
    PaymentState.SUCCEEDED: frozenset({PaymentState.PARTLY_REFUNDED, PaymentState.REFUNDED}),
    PaymentState.PARTLY_REFUNDED: frozenset({PaymentState.REFUNDED}),
    PaymentState.REFUNDED: frozenset(),
}


def may_move(current: PaymentState, target: PaymentState) -> bool:
    """Whether the state machine moves from `current` to `target` (never backwards, never in place)."""
    return target in TRANSITIONS[current]


def state_after_refund(*, amount: int, refunded: int) -> PaymentState:
    return PaymentState.REFUNDED if refunded >= amount else PaymentState.PARTLY_REFUNDED


@dataclass(frozen=True)
class CancellationPolicy:
    """Free cancellation until `free_until_days_before` days before use; after that the cancellation
    fee is `fee_percent` of what was paid. Refunds above `approval_threshold` yen need a second
    staff member's approval."""

    free_until_days_before: int = 7
    fee_percent: int = 50
    approval_threshold: int = 10_000


def refund_due(
    *, paid: int, already_refunded: int, use_date: dt.date, cancelled_on: dt.date, policy: CancellationPolicy
) -> int:
    """What a cancellation on `cancelled_on` gives back of `paid`: never negative, never more than
    is left to refund."""
    left = max(0, paid - already_refunded)
    days_before = (use_date - cancelled_on).days
    if days_before >= policy.free_until_days_before:
        due = paid
    else:
        due = paid - _percent(paid, max(0, min(policy.fee_percent, 100)))
    return max(0, min(due, left))


def needs_second_approval(amount: int, policy: CancellationPolicy) -> bool:
    return amount > policy.approval_threshold


def checkout_expires_at(*, now: dt.datetime, payment_deadline: dt.datetime) -> dt.datetime:
    """Stripe wants a Checkout Session to live 30 minutes to 24 hours. It ends at the payment
    deadline when that is in range; a payment that still lands after the deadline is refunded."""
    earliest = now + dt.timedelta(minutes=31)
    latest = now + dt.timedelta(hours=23, minutes=59)
    return max(earliest, min(payment_deadline, latest))


@dataclass(frozen=True)
class CashLine:
    method: str
    amount: int
    refund: bool = False


@dataclass(frozen=True)
class CashUp:
    count: int
    received: int
    refunded: int
    by_method: tuple[tuple[str, int], ...]

    @property
    def net(self) -> int:
        return self.received - self.refunded


def cash_up(lines: Iterable[CashLine]) -> CashUp:
    """Totals of one counter day: what was taken (per method) and what was given back."""
    count = received = refunded = 0
    by_method: dict[str, int] = {}
    for line in lines:
        if line.refund:
            refunded += line.amount
            by_method[line.method] = by_method.get(line.method, 0) - line.amount
        else:
            count += 1
            received += line.amount
            by_method[line.method] = by_method.get(line.method, 0) + line.amount
    return CashUp(count, received, refunded, tuple(sorted(by_method.items())))
