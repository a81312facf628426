"""The staff counter terminal (窓口): registration and activation, a resident's page, booking and
lottery entries on their behalf, cancellations, counter payments, receipts and permits.

Thin: parse, call the services of reservations, lottery and payments (never a second copy of their
rules), render. Every view is gated by `staff_required`; a facility-bound row outside the staff
member's scope is read through `counter_selectors`, which does not find it (404), and a resident
is served only when in scope or when their card was shown at this counter (`resident_or_404`).
Everything done here is recorded with channel 窓口 (counter) and the staff member's account.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.forms import HiddenInput
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lottery import services as lottery_services
from lottery.models import EntryStatus
from payments import documents
from payments import services as payment_services
from payments.models import PAID, Method, RefundState
from reservations import services as booking_services
from reservations.domain import TOKYO
from reservations.errors import BookingError
from reservations.forms import BookingForm, is_supported_date, parse_band_ids, resident_groups
from reservations.models import (
    Channel,
    Reservation,
    ReservationKind,
    ReservationState,
    ResidentStatus,
    StaffRole,
    User,
)

from . import counter_selectors as selectors
from .counter_forms import (
    ActivationForm,
    CounterPaymentForm,
    CounterRegistrationForm,
    ExemptionRequestForm,
    LotteryApplyForm,
    RefundRequestForm,
    RoomDayForm,
)
from .counter_session import counter_facility, remember_card, render_staff, resident_or_404, scope
from .forms import PinForm
from .staff_auth import staff_facility_or_404, staff_required

# Roles that run a facility rather than serve at its counter (closures, blocks, approvals, rounds).
MANAGING_ROLES = (StaffRole.FACILITY_MANAGER, StaffRole.DEPARTMENT_ADMIN, StaffRole.SYSTEM_ADMIN)


def _now() -> dt.datetime:
    return timezone.now()


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(TOKYO).date()


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _resident_url(resident_id: int) -> str:
    return reverse("staff:resident", args=[resident_id])


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the action was taken on (only a path of this site), else `default`."""
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/staff/") and "//" not in target else default)


# --- residents ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required(write=True)
def resident_register(request: HttpRequest) -> HttpResponse:
    """Register a resident after an ID check: active at once, registered at this counter. The
    answer is the registration slip (user number, and the first password when one was issued),
    shown once and printed; it is never stored in the clear."""
    facility = counter_facility(request)
    if facility is None:
        raise Http404
    form = CounterRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resident = booking_services.resident_register(
            full_name=data["full_name"],
            date_of_birth=data["date_of_birth"],
            postcode=data["postcode"],
            address=data["address"],
            residency=data["residency"],
            email=data.get("email") or "",
            password=data["password"],
            channel=Channel.COUNTER,
            now=_now(),
            activated_by=_user(request),
            facility=facility,
        )
        remember_card(request, resident)
        context = {
            "resident": resident,
            "facility": facility,
            "password": data["password"] if data.get("password_issued") else "",
        }
        return render_staff(request, "kiosks/staff/resident_registered.html", context)
    return render_staff(request, "kiosks/staff/resident_register.html", {"form": form, "facility": facility})


@require_GET
@staff_required()
def resident_detail(request: HttpRequest, resident_id: int) -> HttpResponse:
    """One resident at the counter: personal data, groups, bookings, lottery entries, payments and
    exemptions (at facilities within scope), with what can be done for them."""
    resident = resident_or_404(request, resident_id)
    now = _now()
    overview = selectors.resident_overview(scope(request), resident, today=_today(now))
    context = {
        "resident": resident,
        "groups": selectors.resident_groups(resident),
        "overview": overview,
        "open_entry_ids": {
            e.pk for e in overview.entries if e.status == EntryStatus.ACTIVE and e.round.intake_is_open(now)
        },
        "today": _today(now),
        "exemptions": selectors.resident_exemptions(resident),
        "activation_form": ActivationForm(),
        "pending": resident.status == ResidentStatus.PENDING,
        "active": resident.status == ResidentStatus.ACTIVE,
        "now": now,
        "PAID": PAID,
    }
    return render_staff(request, "kiosks/staff/resident.html", context)


@require_POST
@staff_required(write=True)
def resident_activate(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Activate a provisional (仮登録) resident after looking at their ID; this counter becomes
    their registered counter."""
    resident = resident_or_404(request, resident_id)
    form = ActivationForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("id_checked", [])))
        return redirect(_resident_url(resident.pk))
    try:
        booking_services.resident_activate(
            resident_id=resident.pk, staff_user=_user(request), now=_now(), facility=counter_facility(request)
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("本人確認のうえ本登録しました。予約・抽選申込ができます。"))
    return redirect(_resident_url(resident.pk))


@require_POST
@staff_required(write=True)
def group_activate(request: HttpRequest, resident_id: int, group_id: int) -> HttpResponse:
    """Activate a pending group (団体登録) of the resident in front of the counter, its representative,
    after checking the member list they brought."""
    resident = resident_or_404(request, resident_id)
    group = next((g for g in selectors.resident_groups(resident) if g.pk == group_id), None)
    if group is None or group.representative_id != resident.pk:
        raise Http404
    try:
        booking_services.group_activate(group_id=group.pk, now=_now())
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("団体「%(name)s」を本登録しました。") % {"name": group.name})
    return redirect(_resident_url(resident.pk))


@require_http_methods(["GET", "POST"])
@staff_required(write=True)
def resident_pin(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Set the resident's kiosk PIN (利用者端末の暗証番号) after an ID check; the resident types it."""
    resident = resident_or_404(request, resident_id)
    form = PinForm(request.POST or None)
    form.fields["pin"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        try:
            booking_services.resident_set_pin(resident_id=resident.pk, pin=form.cleaned_data["pin"])
        except BookingError as error:
            form.add_error("pin", error.message)
        else:
            messages.success(request, gettext("利用者端末の暗証番号を設定しました。"))
            return redirect(_resident_url(resident.pk))
    return render_staff(request, "kiosks/staff/resident_pin.html", {"resident": resident, "form": form})


@require_http_methods(["GET", "POST"])
@staff_required(write=True)
def resident_exemption(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Ask for a fee exemption (減免) for the resident or a group they represent; another staff
    member approves it on the approvals page."""
    resident = resident_or_404(request, resident_id)
    groups = [g for g in selectors.resident_groups(resident) if g.representative_id == resident.pk]
    form = ExemptionRequestForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        group_id = data["holder"]
        try:
            payment_services.exemption_request(
                percent=data["percent"],
                category=data["category"],
                evidence=data["evidence"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                requested_by=_user(request),
                now=_now(),
                resident=None if group_id else resident,
                group_id=group_id,
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gettext("減免を申請しました。別の職員の承認後に適用されます。"))
            return redirect(_resident_url(resident.pk))
    return render_staff(request, "kiosks/staff/resident_exemption.html", {"resident": resident, "form": form})


# --- booking on a resident's behalf -------------------------------------------------------------


@require_GET
@staff_required(write=True)
def book_start(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Pick the facility (within scope), the room and the day; then the slot page."""
    resident = resident_or_404(request, resident_id)
    staff = scope(request)
    facilities = staff.facilities().filter(is_active=True).order_by("kind", "code")
    facility = counter_facility(request)
    wanted = request.GET.get("facility", "")
    if wanted.isdigit():
        facility = staff_facility_or_404(staff, int(wanted))
    if facility is None:
        raise Http404
    rooms = facility.rooms.filter(is_active=True).order_by("display_order", "code")
    form = RoomDayForm(request.GET if "room" in request.GET else None, rooms=rooms)
    if form.is_bound and form.is_valid():
        room, day = form.cleaned_data["room"], form.cleaned_data["day"]
        return redirect("staff:book_slot", resident_id=resident.pk, room_id=room.pk, day=day)
    if not form.is_bound:
        form.fields["room"].widget.attrs["autofocus"] = True
        form.initial["day"] = _today(_now())
    context = {"resident": resident, "facilities": facilities, "facility": facility, "form": form}
    return render_staff(request, "kiosks/staff/book_start.html", context)


@require_http_methods(["GET", "POST"])
@staff_required(write=True)
def book_slot(request: HttpRequest, resident_id: int, room_id: int, day: dt.date) -> HttpResponse:
    """GET: the room's bands on the day; with bands chosen, the fee and the confirmation form.
    POST: book it (first-come, channel counter; until the day itself, as the service allows)."""
    resident = resident_or_404(request, resident_id)
    room = selectors.room_for_staff(scope(request), room_id)
    if room is None or not is_supported_date(day):
        raise Http404
    now = _now()
    bands = selectors.facility_bands(room.facility)
    groups = resident_groups(resident)
    equipment = list(room.equipment_items.all())
    data = request.POST if request.method == "POST" else request.GET
    error = ""
    try:
        chosen = parse_band_ids(data.getlist("bands"), bands) if data.getlist("bands") else []
    except BookingError as refusal:
        chosen, error = [], refusal.message
    group_id = data.get("group", "")
    group = next((g for g in groups if str(g.pk) == group_id), None)
    commercial = data.get("commercial", "").lower() in {"1", "on", "true"}
    picked = [e for e in equipment if str(e.pk) in set(data.getlist("equipment"))]

    form = BookingForm(
        request.POST if request.method == "POST" else None,
        initial={
            "bands": [b.pk for b in chosen],
            "group": group.pk if group else None,
            "commercial": commercial,
            "equipment": [e.pk for e in picked],
        },
        bands=bands,
        purposes=list(room.purposes.all()),
        groups=groups,
        capacity=room.capacity,
        equipment=equipment,
        label_suffix="",
    )
    form.fields["group"].widget = HiddenInput()  # chosen above with the bands: the fee depends on it
    status = 200
    if request.method == "POST":
        if form.is_valid():
            cleaned = form.cleaned_data
            try:
                reservation = booking_services.reservation_create(
                    resident=resident,
                    room_id=room.pk,
                    date=day,
                    band_ids=cleaned["bands"],
                    channel=Channel.COUNTER,
                    booked_by=_user(request),
                    now=now,
                    group=next((g for g in groups if g.pk == cleaned["group"]), None),
                    purpose_id=cleaned["purpose"],
                    attendees=cleaned["attendees"],
                    commercial=cleaned["commercial"],
                    equipment_ids=cleaned["equipment"],
                )
            except BookingError as refusal:
                error, status = refusal.message, refusal.status
            else:
                messages.success(
                    request,
                    gettext("予約しました（予約番号 %(reference)s）。") % {"reference": reservation.reference},
                )
                return redirect("staff:booking", reservation_id=reservation.pk)
        else:
            status = 400
    fee = None
    if chosen:
        fee = selectors.fee_quote(
            room=room, bands=chosen, day=day, resident=resident, group=group, commercial=commercial, equipment=picked
        )
        first = next((name for name in ("purpose", "attendees") if not form.fields[name].widget.is_hidden), None)
        if first and not error:
            form.fields[first].widget.attrs["autofocus"] = True
    context = {
        "resident": resident,
        "room": room,
        "facility": room.facility,
        "day": day,
        "slots": selectors.day_slots(room, day, now),
        "chosen": chosen,
        "chosen_ids": {b.pk for b in chosen},
        "groups": groups,
        "group": group,
        "commercial": commercial,
        "equipment": equipment,
        "picked_ids": {e.pk for e in picked},
        "picked": picked,
        "fee": fee,
        "deadline": selectors.payment_deadline(room, day, now) if fee else None,
        "form": form,
        "error": error,
        "prev_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    return render_staff(request, "kiosks/staff/book_slot.html", context, status=status)


# --- a booking ----------------------------------------------------------------------------------


def _booking_or_404(request: HttpRequest, reservation_id: int) -> Reservation:
    reservation = selectors.booking_for_staff(scope(request), reservation_id)
    if reservation is None:
        raise Http404
    return reservation


@require_GET
@staff_required()
def booking_detail(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """A booking at the counter: slot, holder, fee and what is due, payments and refunds, with
    payment, cancellation, permit and receipts."""
    reservation = _booking_or_404(request, reservation_id)
    now = _now()
    money = selectors.booking_money(reservation)
    payable = reservation.state == ReservationState.PROVISIONAL
    form = CounterPaymentForm(
        initial={
            "method": Method.CASH,
            "receipt_number": selectors.next_receipt_number(reservation.room.facility, _today(now)),
        }
    )
    context = {
        "reservation": reservation,
        "money": money,
        "payable": payable,
        "payment_form": form,
        "refund_form": RefundRequestForm(),
        "cancellable": reservation.is_active
        and reservation.date >= _today(now)
        and (reservation.kind != ReservationKind.BLOCK or scope(request).has_role(*MANAGING_ROLES)),
        "is_block": reservation.kind == ReservationKind.BLOCK,
        "confirmed": reservation.state == ReservationState.CONFIRMED,
        "PAID": PAID,
        "RefundState": RefundState,
        "now": now,
    }
    return render_staff(request, "kiosks/staff/booking.html", context)


@require_POST
@staff_required(write=True)
def booking_pay(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """Take the fee in cash (or on the card terminal) with the receipt slip's number."""
    reservation = _booking_or_404(request, reservation_id)
    form = CounterPaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("支払方法と領収書番号を入力してください。"))
        return redirect("staff:booking", reservation_id=reservation.pk)
    try:
        payment = payment_services.counter_payment_record(
            reservation_id=reservation.pk,
            method=form.cleaned_data["method"],
            receipt_number=form.cleaned_data["receipt_number"],
            staff_user=_user(request),
            now=_now(),
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("%(amount)s円を受領しました（領収書番号 %(number)s）。領収書と使用許可書を印刷してください。")
            % {"amount": f"{payment.amount:,}", "number": payment.receipt_number},
        )
    return redirect("staff:booking", reservation_id=reservation.pk)


@require_POST
@staff_required(write=True)
def booking_cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """Cancel a booking for its holder (channel counter). Paid money goes back by the facility's
    cancellation policy: the refund is asked for at once, approved at once up to the threshold."""
    reservation = _booking_or_404(request, reservation_id)
    if reservation.kind == ReservationKind.BLOCK and not scope(request).has_role(*MANAGING_ROLES):
        messages.error(request, gettext("公用・優先予約の取消は施設管理者が行います。"))
        return _back(request, reverse("staff:booking", args=[reservation.pk]))
    user, now = _user(request), _now()
    try:
        booking_services.reservation_cancel(
            reservation_id=reservation.pk, resident=None, cancelled_by=user, channel=Channel.COUNTER, now=now
        )
    except BookingError as error:
        messages.error(request, error.message)
        return _back(request, reverse("staff:booking", args=[reservation.pk]))
    messages.success(request, gettext("予約 %(reference)s を取り消しました。") % {"reference": reservation.reference})
    for payment_id in selectors.paid_payments_without_refund(reservation):
        refund = payment_services.refund_for_cancellation(payment_id=payment_id, requested_by=user, now=now)
        if refund is None:
            messages.info(request, gettext("取消規定により、還付する額はありません。"))
        elif refund.state == RefundState.REQUESTED:
            messages.info(
                request,
                gettext("還付 %(amount)s円 を申請しました。別の職員の承認後に還付します。")
                % {"amount": f"{refund.amount:,}"},
            )
        else:
            messages.info(request, gettext("還付 %(amount)s円 を処理します。") % {"amount": f"{refund.amount:,}"})
    return _back(request, reverse("staff:booking", args=[reservation.pk]))


@require_GET
@staff_required()
def booking_permit(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """The use permit (使用許可書) of a confirmed booking within scope, to print."""
    reservation = _booking_or_404(request, reservation_id)
    if reservation.state != ReservationState.CONFIRMED or reservation.kind == ReservationKind.BLOCK:
        raise Http404
    body = documents.permit_pdf(reservation, issued=_now())
    return _pdf(body, f"permit-{reservation.reference}.pdf")


@require_GET
@staff_required()
def payment_receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The receipt (領収書) of a payment received at a facility within scope, to print."""
    payment = selectors.payment_for_staff(scope(request), payment_id)
    if payment is None or payment.state not in PAID or payment.method == Method.EXEMPT:
        raise Http404
    return _pdf(documents.receipt_pdf(payment, issued=_now()), f"receipt-{payment.reservation.reference}.pdf")


def _pdf(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@require_POST
@staff_required(write=True)
def payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Ask to refund part or all of a payment; above the facility's threshold another staff member
    approves it."""
    payment = selectors.payment_for_staff(scope(request), payment_id)
    if payment is None:
        raise Http404
    form = RefundRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("還付額（1円以上）と理由を入力してください。"))
        return redirect("staff:booking", reservation_id=payment.reservation_id)
    try:
        refund = payment_services.refund_request(
            payment_id=payment.pk,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            requested_by=_user(request),
            now=_now(),
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        if refund.state == RefundState.REQUESTED:
            messages.success(request, gettext("還付を申請しました。別の職員の承認後に還付します。"))
        else:
            messages.success(request, gettext("還付 %(amount)s円 を処理しました。") % {"amount": f"{refund.amount:,}"})
    return redirect("staff:booking", reservation_id=payment.reservation_id)


# --- the lottery on a resident's behalf ---------------------------------------------------------


@require_GET
@staff_required(write=True)
def lottery_start(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Rounds taking entries now, with their rooms at facilities within scope."""
    resident = resident_or_404(request, resident_id)
    context = {"resident": resident, "rounds": selectors.open_rounds(scope(request), _now())}
    return render_staff(request, "kiosks/staff/lottery_start.html", context)


@require_http_methods(["GET", "POST"])
@staff_required(write=True)
def lottery_apply(request: HttpRequest, resident_id: int, room_id: int) -> HttpResponse:
    """Apply for the resident (or a group they belong to) to the open round of this room."""
    resident = resident_or_404(request, resident_id)
    lottery_room = selectors.lottery_room_for_staff(scope(request), room_id)
    if lottery_room is None:
        raise Http404
    now = _now()
    open_round = next(
        (o.lottery_round for o in selectors.open_rounds(scope(request), now) if lottery_room in o.rooms), None
    )
    if open_round is None:
        messages.error(request, gettext("この室場で申込を受け付けている抽選はありません。"))
        return redirect("staff:lottery_start", resident_id=resident.pk)
    bands = selectors.lottery_bands(lottery_room)
    groups = resident_groups(resident)
    form = LotteryApplyForm(request.POST or None, bands=bands, groups=groups, month=open_round.use_month)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                chosen = parse_band_ids([str(b) for b in data["bands"]], bands)
                entry = lottery_services.entry_apply(
                    resident=resident,
                    group=next((g for g in groups if g.pk == data["group"]), None),
                    room_id=lottery_room.room_id,
                    date=data["day"],
                    band_ids=[b.pk for b in chosen],
                    channel=Channel.COUNTER,
                    created_by=_user(request),
                    now=now,
                )
            except BookingError as error:
                form.add_error(None, error.message)
                status = error.status
            else:
                messages.success(
                    request,
                    gettext("抽選に申し込みました（第%(rank)s希望）。") % {"rank": entry.rank},
                )
                return redirect(_resident_url(resident.pk))
    context = {"resident": resident, "lottery_room": lottery_room, "round": open_round, "form": form}
    return render_staff(request, "kiosks/staff/lottery_apply.html", context, status=status)


@require_POST
@staff_required(write=True)
def entry_withdraw(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = selectors.entry_for_staff(scope(request), entry_id)
    if entry is None:
        raise Http404
    try:
        lottery_services.entry_withdraw(entry_id=entry.pk, resident=None, channel=Channel.COUNTER, now=_now())
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("抽選申込を取り下げました。"))
    return redirect(_resident_url(entry.resident_id))


@require_POST
@staff_required(write=True)
def outcome_answer(request: HttpRequest, outcome_id: int, answer: str) -> HttpResponse:
    """Confirm (当選確定) or decline a win for the winner at the counter."""
    outcome = selectors.outcome_for_staff(scope(request), outcome_id)
    if outcome is None or answer not in ("confirm", "decline"):
        raise Http404
    try:
        if answer == "confirm":
            lottery_services.win_confirm(outcome_id=outcome.pk, resident=None, now=_now())
            messages.success(request, gettext("当選を確定しました。お支払い期限までに使用料をお支払いください。"))
        else:
            lottery_services.win_decline(
                outcome_id=outcome.pk, resident=None, now=_now(), declined_by=_user(request), channel=Channel.COUNTER
            )
            messages.success(request, gettext("当選を辞退しました。"))
    except BookingError as error:
        messages.error(request, error.message)
    return redirect(_resident_url(outcome.entry.resident_id))
