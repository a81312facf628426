"""The one gate of every staff terminal page: a staff login with a role, scoped to facilities.

    @staff_required()                                  # any staff role, reading
    @staff_required(write=True)                        # any role that may change things
    @staff_required(StaffRole.SYSTEM_ADMIN)            # only these roles

The view finds the account's scope in `request.staff` (a `reservations.staff.StaffScope`) and must
check facility-bound objects with `staff_facility_or_404` (or `request.staff.sees_facility`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from reservations.models import Facility, StaffRole
from reservations.staff import StaffScope, staff_scope

View = Callable[..., HttpResponse]


def staff_required(*roles: StaffRole, write: bool = False) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            scope = staff_scope(request.user)
            if scope is None:
                raise PermissionDenied("職員の役割が設定されていません。")
            if roles and not scope.has_role(*roles):
                raise PermissionDenied("この操作の権限がありません。")
            if write and not scope.can_write:
                raise PermissionDenied("閲覧のみの役割では変更できません。")
            request.staff = scope  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def staff_facility_or_404(scope: StaffScope, facility_id: int) -> Facility:
    """The facility, if this account works for it; 404 otherwise (outsiders learn nothing)."""
    if not scope.sees_facility(facility_id):
        raise Http404
    return get_object_or_404(Facility, pk=facility_id)
