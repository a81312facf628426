"""The staff terminal's management pages: closures and official blocks of a facility, the lottery
rounds of its group, second-person approvals of refunds and exemptions, the counter's cash-up.

Who may do what (DOMAIN.md: least privilege):
- closures and blocks: facility managers, department admins and system admins, for facilities
  within their scope; counter staff and auditors see them only. Closing a day or taking a slot
  for the ward decides what every resident may book, which is a manager's call, not the counter's.
- lottery rounds: everyone sees the rounds of groups that hold a facility within scope; moving
  dates (before intake opens) and drawing are for managers whose scope covers every facility of
  the group, since a round is shared by all of them.
- approvals: counter staff and managers ask; a manager other than the one who asked decides
  (the services refuse the asker, and the database too). Auditors see the list only.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from lottery import selectors as lottery_selectors
from lottery import services as lottery_services
from lottery.errors import LotteryError
from lottery.models import LotteryRound, RoundState
from payments import selectors as payment_selectors
from payments import services as payment_services
from reservations import services as booking_services
from reservations.domain import TOKYO
from reservations.errors import BookingError
from reservations.models import Facility, Room, User

from . import counter_selectors as selectors
from .counter_forms import BlockForm, ClosureForm, CounterFacilityForm, RoundDatesForm
from .counter_session import render_staff, scope, set_counter_facility
from .counter_views import MANAGING_ROLES
from .staff_auth import staff_facility_or_404, staff_required


def _now() -> dt.datetime:
    return timezone.now()


def _today() -> dt.date:
    return _now().astimezone(TOKYO).date()


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- the counter ------------------------------------------------------------------------------


@require_POST
@staff_required()
def counter_set(request: HttpRequest) -> HttpResponse:
    """Choose the counter (facility) this terminal works at."""
    form = CounterFacilityForm(request.POST, facilities=scope(request).facilities().filter(is_active=True))
    if not form.is_valid():
        raise Http404
    set_counter_facility(request, form.cleaned_data["facility"])
    return redirect("staff:index")


@require_GET
@staff_required()
def cash_up(request: HttpRequest, facility_id: int) -> HttpResponse:
    """The counter's day (日計表): what was taken per method and what was handed back."""
    facility = staff_facility_or_404(scope(request), facility_id)
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = _today()
    report = payment_selectors.cash_up(facility_id=facility.pk, day=day)
    return render_staff(request, "kiosks/staff/cash_up.html", {"facility": facility, "day": day, "report": report})


# --- closures and blocks ------------------------------------------------------------------------


def _closure_context(request: HttpRequest, facility: Facility) -> dict[str, object]:
    rooms = _rooms(facility)
    today = _today()
    return {
        "facility": facility,
        "closures": selectors.upcoming_closures(facility, today),
        "blocks": list(selectors.upcoming_blocks(facility, today)),
        "may_manage": scope(request).has_role(*MANAGING_ROLES),
        "closure_form": ClosureForm(rooms=rooms, initial={"day": today}),
        "block_form": BlockForm(rooms=rooms, bands=selectors.facility_bands(facility), initial={"day": today}),
    }


def _rooms(facility: Facility) -> QuerySet[Room]:
    return facility.rooms.filter(is_active=True).order_by("display_order", "code")


@require_GET
@staff_required()
def closures(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = staff_facility_or_404(scope(request), facility_id)
    return render_staff(request, "kiosks/staff/closures.html", _closure_context(request, facility))


@require_POST
@staff_required(*MANAGING_ROLES)
def closure_create(request: HttpRequest, facility_id: int) -> HttpResponse:
    """Close the facility (or one room) for a day. A day holding active bookings is refused: staff
    cancel them first, so nobody loses a booking without being told."""
    facility = staff_facility_or_404(scope(request), facility_id)
    form = ClosureForm(request.POST, rooms=_rooms(facility))
    if form.is_valid():
        data = form.cleaned_data
        try:
            booking_services.closure_create(
                facility=facility, date=data["day"], reason=data["reason"], room=data["room"]
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gettext("休館日を登録しました。"))
            return redirect("staff:closures", facility_id=facility_id)
    context = {**_closure_context(request, facility), "closure_form": form}
    return render_staff(request, "kiosks/staff/closures.html", context, status=400)


@require_POST
@staff_required(*MANAGING_ROLES)
def block_create(request: HttpRequest, facility_id: int) -> HttpResponse:
    """Take a slot for the ward (公用・優先予約): it can never overlap a booking."""
    facility = staff_facility_or_404(scope(request), facility_id)
    form = BlockForm(request.POST, rooms=_rooms(facility), bands=selectors.facility_bands(facility))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            block = booking_services.block_create(
                room_id=data["room"].pk,
                date=data["day"],
                band_ids=data["bands"],
                note=data["note"],
                staff_user=_user(request),
                now=_now(),
            )
        except BookingError as error:
            form.add_error(None, error.message)
            status = error.status
        else:
            messages.success(
                request,
                gettext("公用・優先予約を登録しました（予約番号 %(reference)s）。") % {"reference": block.reference},
            )
            return redirect("staff:closures", facility_id=facility_id)
    context = {**_closure_context(request, facility), "block_form": form}
    return render_staff(request, "kiosks/staff/closures.html", context, status=status)


# --- lottery rounds ---------------------------------------------------------------------------


def _round_or_404(request: HttpRequest, round_id: int) -> LotteryRound:
    found = selectors.round_for_staff(scope(request), round_id)
    if found is None:
        raise Http404
    return found


def _may_administer(request: HttpRequest, lottery_round: LotteryRound) -> bool:
    staff = scope(request)
    return staff.has_role(*MANAGING_ROLES) and selectors.round_wholly_in_scope(staff, lottery_round)


@require_GET
@staff_required()
def rounds(request: HttpRequest) -> HttpResponse:
    return render_staff(request, "kiosks/staff/rounds.html", {"rounds": selectors.rounds_for_staff(scope(request))})


def _round_page(
    request: HttpRequest, lottery_round: LotteryRound, form: RoundDatesForm | None = None, status: int = 200
) -> HttpResponse:
    now = _now()
    reschedulable = lottery_round.state == RoundState.SCHEDULED and lottery_round.intake_opens_at > now
    drawable = lottery_round.state in (RoundState.OPEN, RoundState.SCHEDULED, RoundState.CLOSED) and (
        lottery_round.intake_closes_at <= now
    )
    context = {
        "round": lottery_round,
        "figures": selectors.round_figures(lottery_round),
        "may_administer": _may_administer(request, lottery_round),
        "reschedulable": reschedulable,
        "drawable": drawable,
        "form": form or RoundDatesForm.for_round(lottery_round),
        "verification": lottery_selectors.round_verify(lottery_round) if request.GET.get("verify") else None,
        "published": lottery_round.state in (RoundState.PUBLISHED, RoundState.FINISHED),
    }
    return render_staff(request, "kiosks/staff/round.html", context, status=status)


@require_GET
@staff_required()
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    """A round's dates, state and figures; after publication, its verification on demand."""
    return _round_page(request, _round_or_404(request, round_id))


def _administered_round(request: HttpRequest, round_id: int) -> LotteryRound:
    lottery_round = _round_or_404(request, round_id)
    if not _may_administer(request, lottery_round):
        raise PermissionDenied(gettext("この抽選には担当外の施設も含まれるため、変更できません。"))
    return lottery_round


@require_POST
@staff_required(*MANAGING_ROLES)
def round_dates(request: HttpRequest, round_id: int) -> HttpResponse:
    """Move a round's dates before its intake opens."""
    lottery_round = _administered_round(request, round_id)
    form = RoundDatesForm(request.POST)
    if not form.is_valid():
        return _round_page(request, lottery_round, form, status=400)
    try:
        lottery_services.round_reschedule(round_id=lottery_round.pk, calendar=form.calendar(), now=_now())
    except BookingError as error:
        form.add_error(None, error.message)
        return _round_page(request, lottery_round, form, status=error.status)
    messages.success(request, gettext("抽選の日程を変更しました。"))
    return redirect("staff:round", round_id=lottery_round.pk)


@require_POST
@staff_required(*MANAGING_ROLES)
def round_draw(request: HttpRequest, round_id: int) -> HttpResponse:
    """Close intake (if its time has come and the tick has not yet) and draw now, exactly once:
    the services claim each step with a conditional UPDATE, so a racing tick does no harm."""
    lottery_round = _administered_round(request, round_id)
    now = _now()
    lottery_services.round_close(round_id=lottery_round.pk, now=now)
    summary = lottery_services.round_draw(round_id=lottery_round.pk, now=now, staff_user=_user(request))
    if summary is None:
        messages.error(request, LotteryError("not_closed").message)
    else:
        messages.success(
            request,
            gettext("抽選を実施し、結果を公開しました（申込 %(entries)s件、当選 %(won)s件）。")
            % {"entries": summary.entries, "won": summary.won},
        )
    return redirect("staff:round", round_id=lottery_round.pk)


# --- second-person approvals ------------------------------------------------------------------


@require_GET
@staff_required()
def approvals(request: HttpRequest) -> HttpResponse:
    """Refunds and exemptions waiting for a second staff member."""
    staff = scope(request)
    context = {
        "refunds": selectors.pending_refunds(staff),
        "exemptions": selectors.pending_exemptions(staff),
        "may_decide": staff.has_role(*MANAGING_ROLES),
        "me": request.user.pk,
    }
    return render_staff(request, "kiosks/staff/approvals.html", context)


def _decision(request: HttpRequest) -> bool:
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        raise Http404
    return decision == "approve"


@require_POST
@staff_required(*MANAGING_ROLES)
def refund_decide(request: HttpRequest, refund_id: int) -> HttpResponse:
    refund = selectors.refund_for_staff(scope(request), refund_id)
    if refund is None:
        raise Http404
    approve = _decision(request)
    try:
        if approve:
            payment_services.refund_approve(refund_id=refund.pk, approver=_user(request), now=_now())
        else:
            payment_services.refund_reject(refund_id=refund.pk, approver=_user(request), now=_now())
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("還付を承認しました。") if approve else gettext("還付を却下しました。"))
    return redirect("staff:approvals")


@require_POST
@staff_required(*MANAGING_ROLES)
def exemption_decide(request: HttpRequest, exemption_id: int) -> HttpResponse:
    exemption = selectors.exemption_for_staff(scope(request), exemption_id)
    if exemption is None:
        raise Http404
    approve = _decision(request)
    try:
        payment_services.exemption_decide(
            exemption_id=exemption.pk, approver=_user(request), approve=approve, now=_now()
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("減免を承認しました。") if approve else gettext("減免を却下しました。"))
    return redirect("staff:approvals")
