"""Payments' data: policies, payment orders with their recorded transitions, Stripe events,
refunds and exemptions. Invariants that matter are database constraints."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reservations.models import Facility, Group, Reservation, Resident, User

from .domain import CancellationPolicy, PaymentState


class PaymentPolicy(models.Model):
    """A facility's cancellation and refund rules (defaults apply when a facility has none)."""

    facility = models.OneToOneField(
        Facility, on_delete=models.CASCADE, related_name="payment_policy", verbose_name=_("施設")
    )
    free_until_days_before = models.PositiveSmallIntegerField(
        _("無料で取消できる期限（利用日の何日前まで）"), default=7
    )
    fee_percent = models.PositiveSmallIntegerField(_("期限後の取消手数料（%）"), default=50)
    approval_threshold = models.PositiveIntegerField(_("二人目の承認が必要な還付額（円を超える）"), default=10_000)
    refund_late_payments = models.BooleanField(
        _("期限切れ後の入金を自動で還付する"),
        default=True,
        help_text=_("オフにすると、職員が確認するまで還付を保留します。"),
    )

    class Meta:
        verbose_name = _("取消・還付の設定")
        verbose_name_plural = _("取消・還付の設定")
        constraints = [models.CheckConstraint(condition=Q(fee_percent__lte=100), name="paymentpolicy_fee_percent")]

    def __str__(self) -> str:
        return str(self.facility)

    def rules(self) -> CancellationPolicy:
        return CancellationPolicy(self.free_until_days_before, self.fee_percent, self.approval_threshold)


class Method(models.TextChoices):
    CARD = "card", _("クレジットカード")
    CASH = "cash", _("現金（窓口）")
    TERMINAL = "terminal", _("決済端末（窓口）")
    EXEMPT = "exempt", _("全額減免")


COUNTER_METHODS = (Method.CASH, Method.TERMINAL)


class State(models.TextChoices):
    CREATED = PaymentState.CREATED.value, _("作成")
    REQUIRES_ACTION = PaymentState.REQUIRES_ACTION.value, _("お支払い手続き中")
    FAILED = PaymentState.FAILED.value, _("失敗")
    EXPIRED = PaymentState.EXPIRED.value, _("期限切れ")
    SUCCEEDED = PaymentState.SUCCEEDED.value, _("支払済")
    PARTLY_REFUNDED = PaymentState.PARTLY_REFUNDED.value, _("一部還付済")
    REFUNDED = PaymentState.REFUNDED.value, _("還付済")


OPEN = [State.CREATED, State.REQUIRES_ACTION, State.FAILED]
PAID = [State.SUCCEEDED, State.PARTLY_REFUNDED, State.REFUNDED]


class Payment(models.Model):
    """A payment order for one reservation: a card Checkout, a counter payment or a full exemption."""

    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, related_name="payments", verbose_name=_("予約")
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+", verbose_name=_("施設"))
    method = models.CharField(_("支払方法"), max_length=10, choices=Method.choices)
    state = models.CharField(_("状態"), max_length=16, choices=State.choices, default=State.CREATED)
    amount = models.PositiveIntegerField(_("金額（円）"))
    exemption_percent = models.PositiveSmallIntegerField(_("減免率（%）"), default=0)
    refunded_amount = models.PositiveIntegerField(_("還付額（円）"), default=0)
    stripe_session_id = models.CharField(_("Stripe Checkout セッション"), max_length=100, null=True, blank=True)
    stripe_payment_intent = models.CharField(_("Stripe PaymentIntent"), max_length=100, blank=True)
    checkout_url = models.URLField(_("決済ページ"), max_length=500, blank=True)
    receipt_number = models.CharField(_("領収書番号"), max_length=30, blank=True)
    received_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("受領した職員")
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    succeeded_at = models.DateTimeField(_("入金日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("支払")
        verbose_name_plural = _("支払")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"]), models.Index(fields=["facility", "succeeded_at"])]
        constraints = [
            # One checkout in flight per booking: a double click reuses it instead of charging twice.
            models.UniqueConstraint(
                fields=["reservation"], condition=Q(state__in=OPEN), name="payment_one_open_per_reservation"
            ),
            models.UniqueConstraint(fields=["stripe_session_id"], name="payment_unique_stripe_session"),
            models.UniqueConstraint(
                fields=["facility", "receipt_number"],
                condition=~Q(receipt_number=""),
                name="payment_unique_receipt_per_facility",
            ),
            models.CheckConstraint(condition=Q(refunded_amount__lte=F("amount")), name="payment_refund_le_amount"),
            models.CheckConstraint(
                condition=~Q(method__in=COUNTER_METHODS) | ~Q(receipt_number=""), name="payment_counter_has_receipt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id}:{self.method}:{self.amount}"

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount


class PaymentTransition(models.Model):
    """Every state change of a payment: from, to, when, who (or which Stripe event)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(_("変更前"), max_length=16, blank=True)
    to_state = models.CharField(_("変更後"), max_length=16)
    at = models.DateTimeField(_("日時"))
    by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source = models.CharField(_("契機"), max_length=20)  # webhook, reconcile, checkout, counter, refund, system
    stripe_event_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("支払の状態変更")
        verbose_name_plural = _("支払の状態変更")

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_state or '-'} → {self.to_state}"


class StripeEvent(models.Model):
    """A webhook event we accepted, stored once: the UNIQUE id makes a replay a no-op."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=30, blank=True)

    class Meta:
        verbose_name = _("Stripe イベント")
        verbose_name_plural = _("Stripe イベント")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class RefundState(models.TextChoices):
    REQUESTED = "requested", _("承認待ち")
    APPROVED = "approved", _("処理中")
    SUCCEEDED = "succeeded", _("還付済")
    FAILED = "failed", _("失敗")
    REJECTED = "rejected", _("却下")


class Refund(models.Model):
    """A refund (還付) of part or all of a payment. Above the facility's threshold a second staff
    member approves it; the database refuses an approver who is the requester."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("支払"))
    amount = models.PositiveIntegerField(_("還付額（円）"))
    reason = models.CharField(_("理由"), max_length=200)
    state = models.CharField(_("状態"), max_length=10, choices=RefundState.choices, default=RefundState.REQUESTED)
    automatic = models.BooleanField(_("自動"), default=False)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("申請した職員")
    )
    requested_at = models.DateTimeField(_("申請日時"))
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("承認した職員")
    )
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    completed_at = models.DateTimeField(_("還付日時"), null=True, blank=True)
    stripe_refund_id = models.CharField(max_length=100, blank=True)
    failure = models.CharField(_("失敗の理由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("還付")
        verbose_name_plural = _("還付")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | Q(requested_by__isnull=True)
                | ~Q(approved_by=F("requested_by")),
                name="refund_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}:{self.amount}"


class ExemptionState(models.TextChoices):
    REQUESTED = "requested", _("承認待ち")
    APPROVED = "approved", _("承認済")
    REJECTED = "rejected", _("却下")


class Exemption(models.Model):
    """A fee reduction (減免) for a resident or a group, with evidence, approved by a second staff member."""

    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("利用者")
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("団体")
    )
    percent = models.PositiveSmallIntegerField(_("減免率（%）"))
    category = models.CharField(_("減免区分"), max_length=100)
    evidence = models.CharField(_("確認書類"), max_length=200)
    valid_from = models.DateField(_("適用開始日"))
    valid_until = models.DateField(_("適用終了日"))
    state = models.CharField(_("状態"), max_length=10, choices=ExemptionState.choices, default=ExemptionState.REQUESTED)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("申請した職員"))
    requested_at = models.DateTimeField(_("申請日時"))
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("承認した職員")
    )
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("減免")
        verbose_name_plural = _("減免")
        constraints = [
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="exemption_percent_range"),
            models.CheckConstraint(
                condition=Q(resident__isnull=False, group__isnull=True) | Q(resident__isnull=True, group__isnull=False),
                name="exemption_one_holder",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")), name="exemption_four_eyes"
            ),
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="exemption_valid_range"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.percent}%"
