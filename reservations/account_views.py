"""Resident-facing account pages: online pre-registration, the profile, group registration.

Thin views: parse a form, call one service, render. Login, logout and password reset are Django's
own views (see `auth_urls.py`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from .account_forms import GroupRegistrationForm, ProfileForm, ResidentRegistrationForm
from .errors import BookingError
from .models import Channel, Group, Resident, ResidentStatus
from .ratelimits import limit_posts, per_ip

# The user number of a registration just made, kept in the (anonymous) session so that reloading
# the "what happens next" page still shows it, and so it is never put in a URL.
REGISTERED_KEY = "accounts.registered_user_number"


def _resident_of(request: HttpRequest) -> Resident | None:
    if not request.user.is_authenticated:
        return None
    return Resident.objects.select_related("user").filter(user_id=request.user.pk).first()


@require_http_methods(["GET", "POST"])
@limit_posts("register", per_ip("register_ip"))
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, _("すでにログインしています。登録内容はこのページで確認できます。"))
        return redirect("accounts:profile")
    form = ResidentRegistrationForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.cleaned_data
        resident = services.resident_register(
            full_name=data["full_name"],
            date_of_birth=data["date_of_birth"],
            postcode=data["postcode"],
            address=data["address"],
            residency=data["residency"],
            email=data["email"],
            password=data["password"],
            channel=Channel.WEB,
            now=timezone.now(),
        )
        request.session[REGISTERED_KEY] = resident.user.user_number
        return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form})


@require_GET
def register_done(request: HttpRequest) -> HttpResponse:
    user_number = request.session.get(REGISTERED_KEY)
    if not user_number:
        return redirect("accounts:register")
    return render(request, "accounts/register_done.html", {"user_number": user_number})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    resident = _resident_of(request)
    if resident is None:
        # Staff accounts (and any login without a resident record) have no profile to show.
        return render(request, "accounts/no_resident.html")
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            services.resident_update_profile(resident=resident, **form.cleaned_data)
            messages.success(request, _("登録情報を変更しました。"))
            return redirect("accounts:profile")
    else:
        form = ProfileForm(
            initial={"postcode": resident.postcode, "address": resident.address, "email": resident.user.email}
        )
    groups = Group.objects.filter(Q(representative=resident) | Q(members=resident)).distinct().order_by("registered_at")
    return render(request, "accounts/profile.html", {"resident": resident, "form": form, "groups": groups})


@login_required
@require_http_methods(["GET", "POST"])
def group_register(request: HttpRequest) -> HttpResponse:
    resident = _resident_of(request)
    if resident is None or resident.status != ResidentStatus.ACTIVE:
        return render(request, "accounts/group_register_unavailable.html", {"resident": resident}, status=403)
    if request.method == "POST":
        form = GroupRegistrationForm(request.POST)
        if form.is_valid():
            try:
                group = services.group_register(representative=resident, now=timezone.now(), **form.cleaned_data)
            except BookingError as error:
                form.add_error(GroupRegistrationForm.ERROR_FIELDS.get(error.code), error.message)
            else:
                return redirect("accounts:group_registered", group_id=group.pk)
    else:
        form = GroupRegistrationForm(initial={"contact_name": resident.full_name, "contact_email": resident.user.email})
    return render(request, "accounts/group_register.html", {"form": form})


@login_required
@require_GET
def group_registered(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=group_id, representative__user_id=request.user.pk)
    return render(request, "accounts/group_registered.html", {"group": group})
