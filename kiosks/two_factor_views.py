"""The staff two-factor pages under /staff/2fa/: enrolment, the code page, and the system admin's
list of staff accounts with the reset of a lost authenticator. Logic in kiosks/two_factor.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from reservations.models import StaffRole, User

from . import two_factor
from .staff_auth import staff_required
from .two_factor_forms import CodeForm, ResetForm


def _staff_login_or_refuse(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("login"))
    if not two_factor.may_use_two_factor(request.user):
        raise PermissionDenied(_("2要素認証は職員のアカウントだけが登録できます。"))
    return None


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """First login of a staff account: scan the QR code (or type the secret), confirm one code."""
    refused = _staff_login_or_refuse(request)
    if refused:
        return refused
    next_url = two_factor.safe_next(request)
    if two_factor.confirmed_device(request.user) is not None:  # type: ignore[arg-type]
        return two_factor.page_then("staff:two_factor_verify", next_url)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.enrolment_confirm(request, form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", error.message)
            status = 400
        else:
            messages.success(request, _("認証アプリを登録しました。次回からログインの後に確認コードを入力します。"))
            return redirect(next_url)
    elif request.method == "POST":
        status = 400
    enrolment = two_factor.enrolment_start(request.user)  # type: ignore[arg-type]
    context = {"form": form, "enrolment": enrolment, "next": next_url}
    return render(request, "kiosks/staff/2fa_setup.html", context, status=status)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second factor: the 6-digit code of the staff member's authenticator app."""
    refused = _staff_login_or_refuse(request)
    if refused:
        return refused
    next_url = two_factor.safe_next(request)
    if two_factor.confirmed_device(request.user) is None:  # type: ignore[arg-type]
        return two_factor.page_then("staff:two_factor_setup", next_url)
    if request.method == "GET" and two_factor.is_verified(request.user):
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.verify(request, form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", error.message)
            status = 400
        else:
            return redirect(next_url)
    elif request.method == "POST":
        status = 400
    return render(request, "kiosks/staff/2fa_verify.html", {"form": form, "next": next_url}, status=status)


@require_http_methods(["GET"])
@staff_required(StaffRole.SYSTEM_ADMIN)
def accounts(request: HttpRequest) -> HttpResponse:
    """Staff accounts with their 2FA state; the reset of a lost authenticator."""
    enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    staff = (
        User.objects.filter(is_staff=True)
        .select_related("staff_profile")
        .annotate(enrolled=Exists(enrolled))
        .order_by("user_number")
    )
    return render(request, "kiosks/staff/2fa_accounts.html", {"staff": staff, "form": ResetForm()})


@require_POST
@staff_required(StaffRole.SYSTEM_ADMIN)
def reset(request: HttpRequest, user_id: int) -> HttpResponse:
    form = ResetForm(request.POST)
    deactivate = form.is_valid() and form.cleaned_data["deactivate"]
    try:
        outcome = two_factor.two_factor_reset(
            user_id=user_id,
            by=request.user,  # type: ignore[arg-type]
            deactivate=deactivate,
            request=request,
        )
    except two_factor.TwoFactorError as error:
        messages.error(request, error.message)
        return redirect("staff:two_factor_accounts")
    message = _("%(user)s の認証アプリを削除し、ログイン中のセッション %(sessions)s 件を終了しました。") % {
        "user": outcome.user.user_number,
        "sessions": outcome.sessions_ended,
    }
    if outcome.deactivated:
        message += " " + _(
            "アカウントを無効にしました。再開するには管理画面で有効にし、必要ならパスワードを再設定してください。"
        )
    messages.success(request, message)
    return redirect("staff:two_factor_accounts")
