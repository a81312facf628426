"""The audit log on the staff terminal (/staff/audit/): search, pages of results and a CSV export,
for auditors and system admins only. Every visit and every export is itself recorded
(by `staff_required`; the export's entry names its filters and row count)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from reservations import audit
from reservations.domain import TOKYO
from reservations.models import AuditEntry, StaffRole

from .staff_auth import staff_required

PAGE_SIZE = 50
AUDIT_ROLES = (StaffRole.AUDITOR, StaffRole.SYSTEM_ADMIN)


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("操作者ID"), required=False, max_length=20)
    action = forms.CharField(
        label=_("操作"),
        required=False,
        max_length=64,
        help_text=_("例: staff（職員端末のすべて）、staff.export、admin.change、2fa.failed、login"),
        widget=forms.TextInput(attrs={"list": "audit-actions"}),
    )
    target = forms.CharField(label=_("対象（部分一致）"), required=False, max_length=255)
    date_from = forms.DateField(label=_("開始日"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("終了日"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("開始日は終了日より前にしてください。"))
        return data


def _filters(request: HttpRequest) -> tuple[AuditSearchForm, dict]:
    form = AuditSearchForm(request.GET or None)
    if not form.is_valid():
        return form, {}
    return form, {k: v for k, v in form.cleaned_data.items() if v}


@require_GET
@staff_required(*AUDIT_ROLES)
def audit_log(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    found = audit.search(**filters) if not form.errors else AuditEntry.objects.none()
    page = Paginator(found.select_related(None), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(e, json.dumps(e.details, ensure_ascii=False, sort_keys=True)) for e in page],
        "query": query.urlencode(),
        "actions": audit.actions(),
    }
    return render(request, "kiosks/staff/audit.html", context)


COLUMNS = ["seq", "at", "actor", "actor_role", "action", "target", "details", "request_id", "ip", "prev_hash", "hash"]


def _rows(found: Iterator[AuditEntry]) -> Iterator[list[str]]:
    yield COLUMNS
    for e in found:
        yield [
            str(e.seq),
            e.at.astimezone(TOKYO).isoformat(timespec="microseconds"),
            e.actor_label,
            e.actor_role,
            e.action,
            e.target,
            json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            e.request_id,
            e.ip,
            e.prev_hash,
            e.hash,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@staff_required(*AUDIT_ROLES)
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The search results as CSV (UTF-8 with BOM for spreadsheet software), oldest first, with the
    hashes so that the copy can be checked against the chain."""
    form, filters = _filters(request)
    if form.errors:
        return render(request, "kiosks/staff/audit.html", {"form": form, "page": None, "actions": []}, status=400)
    found = audit.search(**filters).order_by("seq")
    audit.annotate(
        request,
        action="staff.export",
        target="audit_log",
        rows=found.count(),
        filters={k: str(v) for k, v in filters.items()},
    )
    writer = csv.writer(_Echo())
    lines = (("\ufeff" if i == 0 else "") + writer.writerow(row) for i, row in enumerate(_rows(found.iterator())))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
