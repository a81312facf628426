"""The one gate of every staff terminal page: a staff login with a role, scoped to facilities.

    @staff_required()                                  # any staff role, reading
    @staff_required(write=True)                        # any role that may change things
    @staff_required(StaffRole.SYSTEM_ADMIN)            # only these roles

The view finds the account's scope in `request.staff` (a `reservations.staff.StaffScope`) and must
check facility-bound objects with `staff_facility_or_404` (or `request.staff.sees_facility`).

Two factors: a staff session must also have passed its one-time code (kiosks/two_factor.py);
one that has not is sent to the code page (or to enrolment) and comes back afterwards.

Audit: every request that gets past the login checks is recorded in the audit log
(reservations/audit.py) after the view ran — GET as `staff.view`, POST as `staff.action`, with
the view name, URL arguments, query and form fields (secrets masked) and the answer's status,
refusals included. A view may add to its entry with `reservations.audit.annotate(request, ...)`
(e.g. `annotate(request, action="staff.export", rows=120)`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse

from reservations.audit import record_request, recorded_call
from reservations.models import Facility, StaffRole
from reservations.staff import StaffScope, staff_scope

from .two_factor import is_verified, second_factor_redirect

View = Callable[..., HttpResponseBase]


def staff_required(*roles: StaffRole, write: bool = False) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            scope = staff_scope(request.user)
            if scope is None:
                raise PermissionDenied("職員の役割が設定されていません。")
            if not is_verified(request.user):
                return second_factor_redirect(request)
            request.staff = scope  # type: ignore[attr-defined]

            def gated() -> HttpResponseBase:
                if roles and not scope.has_role(*roles):
                    raise PermissionDenied("この操作の権限がありません。")
                if write and not scope.can_write:
                    raise PermissionDenied("閲覧のみの役割では変更できません。")
                return view(request, *args, **kwargs)

            return recorded_call(request, gated, lambda status: record_request(request, area="staff", status=status))

        return wrapper

    return decorate


def staff_facility_or_404(scope: StaffScope, facility_id: int) -> Facility:
    """The facility, if this account works for it; 404 otherwise (outsiders learn nothing)."""
    if not scope.sees_facility(facility_id):
        raise Http404
    return get_object_or_404(Facility, pk=facility_id)
