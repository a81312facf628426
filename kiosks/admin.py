"""Staff administration of kiosks: provision (the one-time code is shown once), revoke, see the
day's accesses; and set a resident's kiosk PIN at the counter. Writes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from reservations import services as booking_services
from reservations.models import User

from . import services
from .forms import PinForm
from .models import Kiosk, KioskAccess, KioskPin


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


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
    actions = ["revoke"]
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
        self.message_user(
            request,
            gettext(
                "アクティベーションコード: %(code)s（有効期限 %(hours)d時間）。端末で /kiosk/activate/ を開き、"
                "このコードを入力してください。コードはこの画面でしか表示されません。"
            )
            % {"code": code, "hours": int(services.CODE_VALID_FOR.total_seconds() // 3600)},
            messages.WARNING,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # keep the access counts; revoke instead

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
