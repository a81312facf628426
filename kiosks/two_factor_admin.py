"""The Django admin site at /admin/: a staff login verified by its one-time code, and audited.

- `has_permission` also requires `request.user.is_verified()`: a password alone opens nothing.
- The admin's own login page is not used: people log in at /accounts/login/ and give their code
  on /staff/2fa/verify/ (or enrol on /staff/2fa/setup/); the admin sends them there and back.
- Every admin request of a verified staff member is recorded in the audit log (`admin.view` /
  `admin.action`, the admin page's name, object id, query, form fields with secrets masked), and
  every change the admin logged during the request (its LogEntry rows, bulk ones included) is
  recorded with its change message. The admin's JavaScript catalogue is not recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from reservations.audit import admin_log_head, record_admin_changes, record_request, recorded_call

from .two_factor import is_verified, may_use_two_factor, second_factor_redirect

UNRECORDED_VIEWS = frozenset({"i18n_javascript"})


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and is_verified(request.user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        if may_use_two_factor(request.user) and not is_verified(request.user):
            return second_factor_redirect(request, next_url)
        return redirect_to_login(next_url, reverse("login"))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner: Callable[..., HttpResponse] = super().admin_view(view, cacheable)
        if getattr(view, "__name__", "") in UNRECORDED_VIEWS:
            return inner

        @wraps(inner)
        def recorded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            audited = self.has_permission(request)
            log_head = admin_log_head(request.user) if audited else 0

            def done(status: int) -> None:
                if audited and request.user.is_authenticated:  # not after logging out
                    record_admin_changes(request, log_head)
                    record_request(request, area="admin", status=status)

            return recorded_call(request, lambda: inner(request, *args, **kwargs), done)

        return recorded
