"""The resident's payment pages, the Stripe webhook, and the staff cash-up and reconciliation.

Thin: parse, call one service or selector, render. The webhook answers 400 to anything unsigned,
tampered or stale, and 200 to every verified event, known or not, duplicate or not.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import cast

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_otp.decorators import otp_required

from reservations.audit import audited
from reservations.domain import TOKYO
from reservations.errors import MESSAGES, BookingError
from reservations.models import Reservation, ReservationState, Resident, User
from reservations.selectors import reservation_for_resident
from reservations.staff import StaffScope, staff_scope

from . import documents, domain, gateway, selectors, services
from .models import PAID, Method, Payment

NO_RESIDENT = _("このアカウントには利用者登録がないため、インターネットでのお支払いはできません。")


def _resident(request: HttpRequest) -> Resident | None:
    try:
        return cast(User, request.user).resident
    except Resident.DoesNotExist:
        return None


def _error(request: HttpRequest, message: object, status: int) -> HttpResponse:
    return render(request, "reservations/error.html", {"message": message}, status=status)


@login_required
@require_GET
def booking_payment(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """A booking's fee, exemption, amount due, payments so far, and the "pay by card" button."""
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    reservation = reservation_for_resident(resident, reservation_id)
    if reservation is None:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    now = timezone.now()
    percent = selectors.exemption_percent_for(reservation)
    deadline_passed = reservation.payment_deadline is not None and reservation.payment_deadline < now
    context = {
        "reservation": reservation,
        "exemption_percent": percent,
        "amount_due": domain.amount_due(reservation.fee, percent),
        "payments": list(selectors.payments_of(reservation.pk)),
        "payable": reservation.state == "provisional" and not deadline_passed,
        "deadline_passed": reservation.state == "provisional" and deadline_passed,
        "deadline_message": MESSAGES["payment_deadline_passed"],
        "cancelled": request.GET.get("cancelled") == "1",
        "paid_states": PAID,
    }
    return render(request, "payments/booking.html", context)


@login_required
@require_POST
def checkout(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """Start (or resume) the card payment and send the resident to the (fake) Stripe Checkout page."""
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    result_url = request.build_absolute_uri(reverse("payments:result", args=[0])).replace("/0/", "/{PAYMENT_ID}/")
    cancel_url = request.build_absolute_uri(reverse("payments:booking", args=[reservation_id])) + "?cancelled=1"
    try:
        payment = services.checkout_start(
            reservation_id=reservation_id,
            resident=resident,
            now=timezone.now(),
            success_url=result_url,
            cancel_url=cancel_url,
        )
    except BookingError as error:
        return _error(request, error.message, error.status)
    if payment.method == Method.EXEMPT or not payment.checkout_url:
        return redirect("payments:result", payment.pk)
    return redirect(payment.checkout_url)


@login_required
@require_GET
def result(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Where Checkout sends the resident back. Re-reads the session from Stripe, so the page is
    right even when the webhook has not arrived yet."""
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or reservation_for_resident(resident, payment.reservation_id) is None:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    if payment.method == Method.CARD:
        services.payment_refresh(payment_id=payment.pk, now=timezone.now())
    payment.refresh_from_db()
    reservation = reservation_for_resident(resident, payment.reservation_id)
    refunds = list(payment.refunds.all())
    return render(request, "payments/result.html", {"payment": payment, "reservation": reservation, "refunds": refunds})


def _pdf(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _verified_staff(request: HttpRequest) -> bool:
    """Staff see residents' documents once past the second factor (the view is audited), only for
    the facilities their role covers (`_staff_sees`)."""
    user = request.user
    return bool(user.is_staff and getattr(user, "is_verified", lambda: False)())


def _staff_scope(request: HttpRequest) -> StaffScope | None:
    return staff_scope(cast(User, request.user)) if _verified_staff(request) else None


def _staff_sees(request: HttpRequest, facility_id: int) -> bool:
    """A verified staff login whose role covers this facility (staff of facility B see nothing of A's)."""
    scope = _staff_scope(request)
    return scope is not None and scope.sees_facility(facility_id)


@login_required
@audited("payments")
@require_GET
def receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The receipt (領収書) of a paid payment, for its resident or for staff."""
    payment = Payment.objects.select_related("reservation__room__facility", "reservation__resident").filter(
        pk=payment_id, state__in=PAID
    )
    found = payment.first()
    resident = _resident(request)
    allowed = found is not None and (
        _staff_sees(request, found.facility_id)
        or (resident is not None and reservation_for_resident(resident, found.reservation_id) is not None)
    )
    if found is None or not allowed or found.method == Method.EXEMPT:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    return _pdf(documents.receipt_pdf(found, issued=timezone.now()), f"receipt-{found.reservation.reference}.pdf")


@login_required
@audited("payments")
@require_GET
def permit(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """The use permit (使用許可書) of a confirmed booking, for its resident or for staff."""
    resident = _resident(request)
    scope = _staff_scope(request)
    if scope is not None:
        reservation = (
            Reservation.objects.select_related("room__facility", "resident", "group")
            .filter(scope.facility_q("room__facility"), pk=reservation_id)
            .first()
        )
    else:
        reservation = reservation_for_resident(resident, reservation_id) if resident is not None else None
    if reservation is None or reservation.state != ReservationState.CONFIRMED:
        return _error(request, MESSAGES["unknown_reservation"], 404)
    return _pdf(documents.permit_pdf(reservation, issued=timezone.now()), f"permit-{reservation.reference}.pdf")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = services.webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature"), now=timezone.now()
        )
    except gateway.BadSignature:
        return JsonResponse({"error": "bad signature"}, status=400)
    return JsonResponse({"received": True, "outcome": outcome})


def _date_param(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.now().astimezone(TOKYO).date()


@staff_member_required
@otp_required  # staff pages need the second factor (kiosks/two_factor.py)
@audited("payments")
@require_GET
def cash_up(request: HttpRequest) -> HttpResponse:
    """The daily cash-up (日計表) of one facility's counter: only facilities within the staff
    member's scope (another facility's id is not found)."""
    day = _date_param(request)
    scope = _staff_scope(request)
    facilities = list(scope.facilities().order_by("code")) if scope is not None else []
    facility_id = request.GET.get("facility", "")
    facility = next((f for f in facilities if str(f.pk) == facility_id), None)
    if facility_id and facility is None:
        return _error(request, MESSAGES["unknown_facility"], 404)
    facility = facility or (facilities[0] if facilities else None)
    report = selectors.cash_up(facility_id=facility.pk, day=day) if facility else None
    context = {"facilities": facilities, "facility": facility, "day": day, "report": report}
    return render(request, "payments/cash_up.html", context)


@staff_member_required
@otp_required
@audited("payments")
@require_GET
def reconciliation_csv(request: HttpRequest) -> HttpResponse:
    """Payments received on a day against their bookings, mismatches named (収納消込), as CSV.
    Every facility's: for ward-wide roles only (system admin, auditor)."""
    scope = _staff_scope(request)
    if scope is None or not scope.ward_wide:
        return _error(request, _("この操作を行う権限がありません。"), 403)
    day = _date_param(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{day.isoformat()}.csv"'
    response.write("\ufeff")  # a BOM, so that spreadsheet software reads the Japanese correctly
    writer = csv.writer(response)
    writer.writerow(
        [
            "reference",
            "facility",
            "use_date",
            "booking_state",
            "fee",
            "method",
            "payment_state",
            "paid",
            "refunded",
            "paid_at",
            "receipt_number",
            "stripe_payment_intent",
            "problem",
        ]
    )
    for row in selectors.reconciliation(day=day):
        writer.writerow(
            [
                row.reference,
                row.facility,
                row.use_date.isoformat(),
                row.booking_state,
                row.fee,
                row.method,
                row.payment_state,
                row.paid,
                row.refunded,
                row.paid_at.astimezone(TOKYO).isoformat() if row.paid_at else "",
                row.receipt_number,
                row.stripe_id,
                row.problem,
            ]
        )
    return response
