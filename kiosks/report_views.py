"""Monthly reports on the staff terminal (/staff/reports/): the ward's four tables split by
channel, occupancy per facility, a chart, and the CSV. Facility managers, department admins,
system admins and auditors; each sees the facilities of their scope, and only ward-wide roles see
the ward-wide figures (kiosks/report_selectors.py)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from reservations.audit import annotate
from reservations.domain import TOKYO, add_months
from reservations.models import Channel, ReservationKind, StaffRole

from . import access_counter, report_chart, report_export, report_services
from .counter_session import render_staff
from .report_selectors import MonthlyReport, MonthRefused, default_month, month_bounds, monthly_report, parse_month
from .staff_auth import staff_required

REPORT_ROLES = (StaffRole.FACILITY_MANAGER, StaffRole.DEPARTMENT_ADMIN, StaffRole.SYSTEM_ADMIN, StaffRole.AUDITOR)


def _month(request: HttpRequest, now: dt.datetime) -> dt.date:
    raw = request.GET.get("month", "")
    return parse_month(raw, now=now) if raw else default_month(now)


def _report(request: HttpRequest, month: dt.date, now: dt.datetime) -> MonthlyReport:
    scope = request.staff  # type: ignore[attr-defined]
    _start, end = month_bounds(month)
    if scope.ward_wide and now - end < dt.timedelta(days=access_counter.KEY_DAYS):
        # Counts still waiting in Redis (today's, or a tick that has not run) belong in the report.
        report_services.access_counts_flush(now=now)
    return monthly_report(month=month, facility_ids=scope.facility_ids, now=now)


def _charts(report: MonthlyReport) -> dict[str, object]:
    series = [(str(value), str(label)) for value, label in Channel.choices]
    rows: list[tuple[str, list[int]]] = []
    if report.valid_users is not None:
        rows.append((_("有効登録者数"), report.valid_users.total.values()[:3]))
    rows.append((_("抽選申込件数"), report.lottery.values()[:3]))
    rows.append((_("予約申込件数"), report.reservations.values()[:3]))
    if report.accesses is not None:
        rows.append((_("アクセス件数"), report.accesses.values()[:3]))
    return {
        "shares_chart": report_chart.stacked_shares(rows, series),
        "rate_chart": report_chart.rate_bars([(f.facility.name, f.utilisation.rate) for f in report.facilities]),
    }


@require_GET
@staff_required(*REPORT_ROLES)
def reports(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    this_month = now.astimezone(TOKYO).date().replace(day=1)
    context: dict[str, object] = {"this_month": this_month}
    try:
        month = _month(request, now)
    except MonthRefused as refused:
        context.update(error=refused.message, month=default_month(now))
        return render_staff(request, "kiosks/staff/reports.html", context, status=400)
    report = _report(request, month, now)
    context.update(
        month=month,
        report=report,
        month_label=report_export.month_label(report),
        previous_month=add_months(month, -1),
        next_month=add_months(month, 1) if month < this_month else None,
        reservation_rows=[
            {"label": ReservationKind(kind).label, "counts": counts}
            for kind, counts in report.reservations_by_kind.items()
        ],
        valid_users_note=report_export.valid_users_note(report.valid_users.source) if report.valid_users else "",
        **_charts(report),
    )
    return render_staff(request, "kiosks/staff/reports.html", context)


@require_GET
@staff_required(*REPORT_ROLES)
def reports_csv(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    try:
        month = _month(request, now)
    except MonthRefused as refused:
        return HttpResponse(refused.message, status=400, content_type="text/plain; charset=utf-8")
    report = _report(request, month, now)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="monthly-report-{month:%Y-%m}.csv"'
    report_export.write_csv(report, response)
    annotate(request, action="staff.export", target=f"monthly-report:{month:%Y-%m}", facilities=len(report.facilities))
    return response
