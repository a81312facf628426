"""Staff administration of kiosks: provision (the one-time code and a QR code of the tablet's
activation URL are shown once), issue a fresh code, revoke, see the day's accesses; and set a
resident's kiosk PIN at the counter. Writes go through services.

The one-time code never lands in a cookie or a message: between the add (or "issue a new code")
and the page that shows it, it waits in the staff member's server-side session, and that page
takes it out, so a reload shows it no more."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from reservations import services as booking_services
from reservations.models import User

from . import selectors, services
from .forms import PinForm
from .models import Kiosk, KioskAccess, KioskPin

SESSION_NEW_CODE = "kiosks.admin.new_code"


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _keep_code(request: HttpRequest, kiosk_id: int, code: str) -> None:
    request.session[SESSION_NEW_CODE] = {"kiosk": kiosk_id, "code": code}


def _take_code(request: HttpRequest, kiosk_id: int) -> str | None:
    kept = request.session.get(SESSION_NEW_CODE)
    if not kept or kept.get("kiosk") != kiosk_id:
        return None
    del request.session[SESSION_NEW_CODE]
    return str(kept["code"])


class KioskAccessInline(admin.TabularInline):
    model = KioskAccess
    fields = ("date", "count")
    readonly_fields = ("date", "count")
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-date",)


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ("name", "facility", "state", "created_at", "activated_at", "revoked_at")
    list_filter = ("facility",)
    list_select_related = ("facility",)
    search_fields = ("name", "facility__name")
    fields = ("facility", "name")
    actions = ["reissue_code", "revoke"]
    inlines = [KioskAccessInline]

    @admin.display(description=_("状態"))
    def state(self, kiosk: Kiosk) -> str:
        if kiosk.revoked_at:
            return gettext("停止")
        if kiosk.activated_at:
            return gettext("稼働中")
        return gettext("有効化待ち")

    def get_readonly_fields(self, request: HttpRequest, obj: Kiosk | None = None) -> Any:
        if obj is None:
            return ()
        return ("facility", "name", "created_at", "created_by", "code_expires_at", "activated_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: Kiosk | None = None) -> Any:
        return self.fields if obj is None else self.get_readonly_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Kiosk | None) -> Any:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Kiosk, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # nothing is edited after provisioning; revoke instead
        kiosk, code = services.kiosk_create(
            facility=obj.facility, name=obj.name, created_by=_staff(request), now=timezone.now()
        )
        obj.pk = kiosk.pk
        obj._state.adding = False
        _keep_code(request, kiosk.pk, code)

    def response_add(self, request: HttpRequest, obj: Kiosk, post_url_continue: str | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:kiosks_kiosk_activation", args=[obj.pk]))

    def get_urls(self) -> list[URLPattern]:
        activation = path(
            "<int:kiosk_id>/activation/",
            self.admin_site.admin_view(self.activation_view),
            name="kiosks_kiosk_activation",
        )
        return [activation, *super().get_urls()]

    def activation_view(self, request: HttpRequest, kiosk_id: int) -> HttpResponse:
        """The one-time code and a QR code of the activation URL with it, shown once."""
        kiosk = self.get_object(request, str(kiosk_id))
        if kiosk is None or not self.has_view_permission(request, kiosk):
            return HttpResponseRedirect(reverse("admin:kiosks_kiosk_changelist"))
        code = _take_code(request, kiosk.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("利用者端末の有効化"),
            "kiosk": kiosk,
            "code": code,
            "activation_url": request.build_absolute_uri(selectors.activation_path(code)) if code else "",
            "hours": int(services.CODE_VALID_FOR.total_seconds() // 3600),
        }
        return TemplateResponse(request, "admin/kiosks/kiosk/activation.html", context)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # keep the access counts; revoke instead

    @admin.action(description=_("選択した端末に新しいアクティベーションコードを発行する"), permissions=["change"])
    def reissue_code(self, request: HttpRequest, queryset: QuerySet[Kiosk]) -> HttpResponse | None:
        """A fresh code for one kiosk (the last expired, or the tablet is replaced): the tablet that
        holds its key now stops working until the code is entered."""
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, gettext("コードを発行する端末を1台だけ選んでください。"), messages.ERROR)
            return None
        try:
            code = services.kiosk_reissue_code(kiosk_id=ids[0], now=timezone.now())
        except Kiosk.DoesNotExist:
            self.message_user(request, gettext("停止した端末にはコードを発行できません。"), messages.ERROR)
            return None
        _keep_code(request, ids[0], code)
        return HttpResponseRedirect(reverse("admin:kiosks_kiosk_activation", args=[ids[0]]))

    @admin.action(description=_("選択した端末を直ちに停止する"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Kiosk]) -> None:
        now = timezone.now()
        revoked = sum(services.kiosk_revoke(kiosk_id=pk, now=now) for pk in queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(n)d台の端末を停止しました。", "%(n)d台の端末を停止しました。", revoked) % {"n": revoked},
            messages.SUCCESS,
        )


class KioskPinAdminForm(PinForm, forms.ModelForm):
    class Meta:
        model = KioskPin
        fields: list[str] = []


@admin.register(KioskPin)
class KioskPinAdmin(admin.ModelAdmin):
    """At the counter, after an ID check: set the resident's kiosk PIN (they choose it)."""

    form = KioskPinAdminForm
    list_display = ("full_name", "user_number", "status", "has_pin")
    list_select_related = ("user",)
    search_fields = ("=user__user_number", "full_name")
    readonly_fields = ("full_name", "user_number", "status")
    fields = ("full_name", "user_number", "status", "pin", "pin_again")

    @admin.display(description=_("利用者番号"), ordering="user__user_number")
    def user_number(self, resident: KioskPin) -> str:
        return resident.user.user_number

    @admin.display(description=_("暗証番号"), boolean=True)
    def has_pin(self, resident: KioskPin) -> bool:
        return bool(resident.kiosk_pin)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KioskPin, form: forms.ModelForm, change: bool) -> None:
        booking_services.resident_set_pin(resident_id=obj.pk, pin=form.cleaned_data["pin"])
        self.message_user(request, gettext("利用者端末の暗証番号を設定しました。"), messages.SUCCESS)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        return super().log_change(request, obj, [])  # never the PIN, nor that a field named pin changed
