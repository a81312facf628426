"""payments/domain.py: fees, exemptions, the state machine, the cancellation policy, cash-up."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments import domain
from payments.domain import CancellationPolicy, FeeRequest, PaymentState
from reservations.domain import BookingRules, fee_for

fees = st.integers(min_value=0, max_value=200_000)
band_fees = st.lists(st.tuples(fees, fees), min_size=0, max_size=6).map(tuple)
percents = st.integers(min_value=0, max_value=100)


fee_requests = st.builds(
    FeeRequest,
    band_fees=band_fees,
    holiday=st.booleans(),
    outsider=st.booleans(),
    outsider_surcharge_percent=percents,
    commercial=st.booleans(),
    commercial_surcharge_percent=percents,
    equipment_fees=st.lists(st.integers(min_value=0, max_value=20_000), max_size=4).map(tuple),
    exemption_percent=percents,
)


@pytest.mark.smoke
@given(fee_requests)
def test_fee_is_never_negative_and_adds_up(request: FeeRequest) -> None:
    fee = domain.fee_breakdown(request)
    assert fee.total >= 0
    assert fee.exemption >= 0
    assert fee.total == fee.base + fee.outsider_surcharge + fee.commercial_surcharge + fee.equipment - fee.exemption


@pytest.mark.smoke
@given(fee_requests)
def test_full_exemption_is_free_and_none_changes_nothing(request: FeeRequest) -> None:
    free = domain.fee_breakdown(FeeRequest(**{**request.__dict__, "exemption_percent": 100}))
    assert free.total == 0
    full = domain.fee_breakdown(FeeRequest(**{**request.__dict__, "exemption_percent": 0}))
    assert full.exemption == 0
    half = domain.fee_breakdown(FeeRequest(**{**request.__dict__, "exemption_percent": 50}))
    assert full.total // 2 <= half.total <= full.total // 2 + 1


@given(band_fees, st.booleans(), percents, percents)
def test_surcharges_apply_once_to_the_base(
    bands: tuple[tuple[int, int], ...], holiday: bool, out: int, com: int
) -> None:
    both = domain.fee_breakdown(FeeRequest(bands, holiday, True, out, True, com))
    base = sum(h if holiday else w for w, h in bands)
    assert both.base == base
    assert both.outsider_surcharge == base * out // 100
    assert both.commercial_surcharge == base * com // 100  # on the base, not on the base plus the other surcharge
    assert both.total == base + base * out // 100 + base * com // 100


@given(
    band_fees,
    st.booleans(),
    percents,
    st.booleans(),
    percents,
    st.lists(st.integers(min_value=0, max_value=20_000), max_size=4).map(tuple),
)
def test_agrees_with_the_fee_frozen_on_bookings(
    bands: tuple[tuple[int, int], ...],
    outsider: bool,
    out: int,
    commercial: bool,
    com: int,
    equipment: tuple[int, ...],
) -> None:
    monday, sunday = dt.date(2026, 12, 7), dt.date(2026, 12, 6)
    rules = BookingRules(outsider_surcharge_percent=out, commercial_surcharge_percent=com)
    for day, holiday in ((monday, False), (sunday, True)):
        ours = domain.fee_breakdown(FeeRequest(bands, holiday, outsider, out, commercial, com, equipment))
        frozen = fee_for(
            band_fees=bands,
            use_date=day,
            outsider=outsider,
            rules=rules,
            commercial=commercial,
            equipment_fees=equipment,
        )
        assert ours.total == frozen


@given(st.integers(min_value=0, max_value=10**7), percents)
def test_amount_due_after_exemption(fee: int, percent: int) -> None:
    due = domain.amount_due(fee, percent)
    assert 0 <= due <= fee
    assert due + domain.exemption_amount(fee, percent) == fee
    assert domain.amount_due(fee, 100) == 0 and domain.amount_due(fee, 0) == fee


@pytest.mark.smoke
def test_state_machine_moves_forward_only() -> None:
    order = list(PaymentState)
    assert domain.may_move(PaymentState.CREATED, PaymentState.SUCCEEDED)
    assert domain.may_move(PaymentState.FAILED, PaymentState.SUCCEEDED)  # a second card in the same session
    assert domain.may_move(PaymentState.EXPIRED, PaymentState.SUCCEEDED)  # a late success is recorded
    assert not domain.may_move(PaymentState.SUCCEEDED, PaymentState.EXPIRED)
    assert not domain.may_move(PaymentState.SUCCEEDED, PaymentState.FAILED)
    assert not domain.may_move(PaymentState.REFUNDED, PaymentState.SUCCEEDED)
    for state in order:
        assert not domain.may_move(state, state)
        assert not domain.may_move(state, PaymentState.CREATED)
    # no cycles: following transitions always ends
    for start in order:
        seen, frontier = {start}, {start}
        while frontier:
            frontier = {t for s in frontier for t in domain.TRANSITIONS[s]} - seen
            assert start not in frontier
            seen |= frontier


@given(
    paid=st.integers(min_value=0, max_value=10**6),
    refunded=st.integers(min_value=0, max_value=10**6),
    days=st.integers(min_value=-5, max_value=60),
    free=st.integers(min_value=0, max_value=30),
    percent=percents,
)
def test_refund_due_is_within_what_is_left(paid: int, refunded: int, days: int, free: int, percent: int) -> None:
    use = dt.date(2026, 12, 7)
    policy = CancellationPolicy(free_until_days_before=free, fee_percent=percent)
    due = domain.refund_due(
        paid=paid, already_refunded=refunded, use_date=use, cancelled_on=use - dt.timedelta(days=days), policy=policy
    )
    assert 0 <= due <= max(0, paid - refunded)
    if days >= free and refunded == 0:
        assert due == paid


def test_refund_policy_examples() -> None:
    policy = CancellationPolicy(free_until_days_before=7, fee_percent=50, approval_threshold=10_000)
    use = dt.date(2026, 12, 7)
    full = domain.refund_due(
        paid=3000, already_refunded=0, use_date=use, cancelled_on=dt.date(2026, 11, 30), policy=policy
    )
    late = domain.refund_due(
        paid=3000, already_refunded=0, use_date=use, cancelled_on=dt.date(2026, 12, 1), policy=policy
    )
    assert (full, late) == (3000, 1500)
    assert not domain.needs_second_approval(10_000, policy) and domain.needs_second_approval(10_001, policy)


def test_checkout_expiry_stays_in_stripes_range() -> None:
    now = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC)
    assert domain.checkout_expires_at(now=now, payment_deadline=now + dt.timedelta(days=7)) < now + dt.timedelta(
        hours=24
    )
    assert domain.checkout_expires_at(now=now, payment_deadline=now) > now + dt.timedelta(minutes=30)
    soon = now + dt.timedelta(hours=3)
    assert domain.checkout_expires_at(now=now, payment_deadline=soon) == soon


def test_cash_up_totals() -> None:
    totals = domain.cash_up(
        [
            domain.CashLine("cash", 1200),
            domain.CashLine("cash", 3000),
            domain.CashLine("terminal", 1500),
            domain.CashLine("cash", 600, refund=True),
        ]
    )
    assert (totals.count, totals.received, totals.refunded, totals.net) == (3, 5700, 600, 5100)
    assert dict(totals.by_method) == {"cash": 3600, "terminal": 1500}
