"""Staff administration of payments (Django admin at /admin/).

As in reservations/admin.py, every write goes through `payments.services`: an add form calls the
service as the last step of validation (`_post_clean`), turns a refusal into a form error and hands
the created object to the admin, whose `save_model` has nothing left to do. Approvals are actions,
refused by the service when the approver is the requester (誰が申請し誰が承認したか).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reservations.errors import BookingError
from reservations.models import Reservation, User

from . import services
from .models import COUNTER_METHODS, Exemption, Payment, PaymentPolicy, PaymentTransition, Refund


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ServiceFormMixin:
    """An add form whose `_post_clean` calls a service; `staff_user` is set per request."""

    staff_user: User | None = None

    def call_service(self) -> Model:
        raise NotImplementedError

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors:  # type: ignore[attr-defined]
            return
        try:
            self.instance = self.call_service()
        except BookingError as error:
            self.add_error(None, error.message)  # type: ignore[attr-defined]


class ServiceAdmin(admin.ModelAdmin):
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return type(form_class.__name__, (form_class,), {"staff_user": _staff(request)})
        return form_class

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        """Nothing to do: the service saved it while the form was validated."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def run_each(self, request: HttpRequest, queryset: QuerySet[Any], call: Callable[[Any], object], done: str) -> None:
        count = 0
        for obj in queryset.order_by("pk"):
            try:
                call(obj)
            except BookingError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done}: {count}", messages.SUCCESS)


@admin.register(PaymentPolicy)
class PaymentPolicyAdmin(admin.ModelAdmin):
    list_display = ("facility", "free_until_days_before", "fee_percent", "approval_threshold", "refund_late_payments")


class TransitionInline(admin.TabularInline):
    model = PaymentTransition
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "source", "by", "stripe_event_id")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class CounterPaymentForm(ServiceFormMixin, forms.ModelForm):
    """A counter payment (窓口収納): the booking by its reference, the method and the receipt number."""

    reference = forms.CharField(label=_("予約番号"), max_length=12)
    method = forms.ChoiceField(label=_("支払方法"), choices=[(m.value, m.label) for m in COUNTER_METHODS])

    class Meta:
        model = Payment
        fields = ["receipt_number"]

    def clean_reference(self) -> int:
        reference = self.cleaned_data["reference"].strip().upper()
        reservation_id = Reservation.objects.filter(reference=reference).values_list("pk", flat=True).first()
        if reservation_id is None:
            raise forms.ValidationError(_("この予約番号の予約はありません。"))
        return reservation_id

    def call_service(self) -> Model:
        assert self.staff_user is not None
        return services.counter_payment_record(
            reservation_id=self.cleaned_data["reference"],
            method=self.cleaned_data["method"],
            receipt_number=self.cleaned_data["receipt_number"],
            staff_user=self.staff_user,
            now=timezone.now(),
        )


@admin.register(Payment)
class PaymentAdmin(ServiceAdmin):
    form = CounterPaymentForm
    list_display = (
        "created_at",
        "reference",
        "facility",
        "method",
        "amount",
        "refunded_amount",
        "state",
        "receipt_number",
    )
    list_filter = ("state", "method", "facility")
    list_select_related = ("reservation", "facility")
    search_fields = ("reservation__reference", "receipt_number", "stripe_payment_intent")
    date_hierarchy = "created_at"
    inlines = [TransitionInline]
    actions = ["refund_by_policy", "refund_in_full"]

    @admin.display(description=_("予約番号"), ordering="reservation__reference")
    def reference(self, payment: Payment) -> str:
        return payment.reservation.reference

    def get_fields(self, request: HttpRequest, obj: Payment | None = None) -> Any:
        if obj is None:
            return ["reference", "method", "receipt_number"]
        return [
            "reservation_link",
            "facility",
            "method",
            "state",
            "amount",
            "exemption_percent",
            "refunded_amount",
            "receipt_number",
            "received_by",
            "stripe_session_id",
            "stripe_payment_intent",
            "created_at",
            "succeeded_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Payment | None = None) -> Any:
        return [] if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Payment | None) -> Any:
        return [] if obj is None else self.inlines

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm("payments.view_payment") or request.user.has_perm("payments.add_payment")

    @admin.display(description=_("予約"))
    def reservation_link(self, payment: Payment) -> str:
        url = reverse("admin:reservations_reservation_change", args=[payment.reservation_id])
        return format_html('<a href="{}">{}</a>', url, payment.reservation.reference)

    @admin.action(description=_("取消規定による還付を申請"))
    def refund_by_policy(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        def call(payment: Payment) -> object:
            refund = services.refund_for_cancellation(
                payment_id=payment.pk, requested_by=_staff(request), now=timezone.now()
            )
            if refund is None:
                raise BookingError("not_refundable")
            return refund

        self.run_each(request, queryset, call, str(_("還付を申請しました")))

    @admin.action(description=_("全額の還付を申請"))
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        self.run_each(
            request,
            queryset,
            lambda p: services.refund_request(
                payment_id=p.pk,
                amount=p.amount - p.refunded_amount,
                reason=str(_("全額還付（窓口）")),
                requested_by=_staff(request),
                now=timezone.now(),
            ),
            str(_("還付を申請しました")),
        )


@admin.register(Refund)
class RefundAdmin(ServiceAdmin):
    list_display = ("requested_at", "payment", "amount", "state", "automatic", "requested_by", "approved_by")
    list_filter = ("state", "automatic")
    list_select_related = ("payment", "requested_by", "approved_by")
    actions = ["approve", "reject"]
    readonly_fields = (
        "payment",
        "amount",
        "reason",
        "state",
        "automatic",
        "requested_by",
        "requested_at",
        "approved_by",
        "approved_at",
        "completed_at",
        "stripe_refund_id",
        "failure",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # refunds are requested from a payment (actions on 支払)

    @admin.action(description=_("承認する（申請者以外）"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        self.run_each(
            request,
            queryset,
            lambda r: services.refund_approve(refund_id=r.pk, approver=_staff(request), now=timezone.now()),
            str(_("承認しました")),
        )

    @admin.action(description=_("却下する（申請者以外）"))
    def reject(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        self.run_each(
            request,
            queryset,
            lambda r: services.refund_reject(refund_id=r.pk, approver=_staff(request), now=timezone.now()),
            str(_("却下しました")),
        )


class ExemptionForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = Exemption
        fields = ["resident", "group", "percent", "category", "evidence", "valid_from", "valid_until"]

    def call_service(self) -> Model:
        assert self.staff_user is not None
        data = self.cleaned_data
        group = data.get("group")
        return services.exemption_request(
            resident=data.get("resident"),
            group_id=group.pk if group is not None else None,
            percent=data["percent"],
            category=data["category"],
            evidence=data["evidence"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            requested_by=self.staff_user,
            now=timezone.now(),
        )


@admin.register(Exemption)
class ExemptionAdmin(ServiceAdmin):
    form = ExemptionForm
    list_display = (
        "category",
        "resident",
        "group",
        "percent",
        "valid_from",
        "valid_until",
        "state",
        "requested_by",
        "approved_by",
    )
    list_filter = ("state",)
    raw_id_fields = ("resident", "group")
    actions = ["approve", "reject"]

    @admin.action(description=_("承認する（申請者以外）"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Exemption]) -> None:
        self.run_each(
            request,
            queryset,
            lambda e: services.exemption_decide(
                exemption_id=e.pk, approver=_staff(request), approve=True, now=timezone.now()
            ),
            str(_("承認しました")),
        )

    @admin.action(description=_("却下する（申請者以外）"))
    def reject(self, request: HttpRequest, queryset: QuerySet[Exemption]) -> None:
        self.run_each(
            request,
            queryset,
            lambda e: services.exemption_decide(
                exemption_id=e.pk, approver=_staff(request), approve=False, now=timezone.now()
            ),
            str(_("却下しました")),
        )
