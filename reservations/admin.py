"""Staff administration of the booking hub (Django admin at /admin/).

Every write goes through `reservations.services`, never a bare `.save()` on a domain object:
catalogue records through `catalogue_save` / `room_save`, closures through `closure_create`,
blocks through `block_create`, activations and counter cancellations through their services.

Two writes can be refused by the service for reasons a person must see on the form (a closure on a
day that still has bookings, a block on a taken slot). Their admin forms call the service as the
last step of validation (`_post_clean`, after the model's own checks), turn a `BookingError` into a
form error, and hand the created object to the admin, whose `save_model` then has nothing left to do.
The admin runs the whole add view in one transaction, and nothing validates after that step, so a
refused form writes nothing and an accepted one writes exactly what the service wrote.

Residents, groups and reservations are read-only here: personal data changes at the counter through
services, and reservations are cancelled (an action), never edited or deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import ForeignKey, Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import services
from .errors import BookingError, SlotTaken
from .models import (
    Channel,
    Closure,
    Department,
    Facility,
    FacilityGroup,
    Group,
    Purpose,
    Reservation,
    Resident,
    Room,
    RoomEquipment,
    StaffProfile,
    Tariff,
    TimeBand,
    User,
)

admin.site.site_header = _("施設予約システム 管理画面")
admin.site.site_title = _("施設予約 管理")
admin.site.index_title = _("管理メニュー")

SAME_FACILITY = _("時間帯は室場と同じ施設のものを選んでください。")


def _staff(request: HttpRequest) -> User:
    """The logged-in staff member (the admin only serves authenticated staff)."""
    assert isinstance(request.user, User)
    return request.user


class BandChoiceField(forms.ModelChoiceField):
    """Time bands are named per facility (午前, 午後 ...), so the choice label names the facility."""

    def label_from_instance(self, obj: TimeBand) -> str:
        return f"{obj.facility.name} {obj}"


def _band_and_room_choices(db_field: ForeignKey, kwargs: dict[str, Any]) -> dict[str, Any]:
    if db_field.related_model is TimeBand:
        kwargs.setdefault("form_class", BandChoiceField)
        kwargs.setdefault("queryset", TimeBand.objects.select_related("facility").order_by("facility__code", "order"))
    elif db_field.related_model is Room:
        kwargs.setdefault("queryset", Room.objects.select_related("facility"))
    return kwargs


# Fields the models leave without a verbose_name; labelled here so every admin form reads in Japanese.
FIELD_LABELS = {
    "code": _("コード"),
    "facility": _("施設"),
    "room": _("室場"),
    "time_band": _("時間帯"),
    "order": _("順番"),
    "display_order": _("表示順"),
}


class JapaneseLabelsMixin:
    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if (
            formfield is not None
            and db_field.name in FIELD_LABELS
            and db_field.verbose_name == db_field.name.replace("_", " ")
        ):
            formfield.label = FIELD_LABELS[db_field.name]
        return formfield


# --- catalogue --------------------------------------------------------------------------------------


class CatalogueAdmin(JapaneseLabelsMixin, admin.ModelAdmin):
    """Saves through `services.catalogue_save` (full validation and the save in one transaction)."""

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        services.catalogue_save(obj=obj)


@admin.register(Department)
class DepartmentAdmin(CatalogueAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(FacilityGroup)
class FacilityGroupAdmin(CatalogueAdmin):
    list_display = (
        "name",
        "code",
        "first_come_opens_months_before",
        "first_come_opens_day",
        "first_come_opens_time",
        "max_active_bookings_per_month",
        "payment_days",
    )
    search_fields = ("name", "code")


class TimeBandInline(JapaneseLabelsMixin, admin.TabularInline):
    model = TimeBand
    fields = ("order", "code", "label", "starts_at", "ends_at")
    extra = 0
    # Bookings and occupancies point at bands; a band is retired by building a new schedule, not deleted.
    can_delete = False


@admin.register(Facility)
class FacilityAdmin(CatalogueAdmin):
    list_display = ("name", "code", "kind", "department", "group", "is_active")
    list_filter = ("kind", "department", "group", "is_active")
    list_select_related = ("department", "group")
    search_fields = ("name", "code", "address")
    inlines = [TimeBandInline]

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        for band in formset.save(commit=False):
            services.catalogue_save(obj=band)
        formset.save_m2m()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a facility that closes for good is unpublished (公開中 off), keeping its history


@admin.register(Purpose)
class PurposeAdmin(CatalogueAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


class RoomAdminForm(forms.ModelForm):
    unit_codes = forms.CharField(
        label=_("ユニット（コンマ区切り）"),
        required=False,
        help_text=_(
            "予約で占有される単位のコードです。通常は空欄のままにすると、室場コードと同じ単位が1つ作られます。"
            "分割できるホールは、全面に「gym-a, gym-b」、半面Aに「gym-a」のように共有する単位を指定します。"
        ),
    )

    class Meta:
        model = Room
        # `units` is edited as unit_codes and written by room_save, never by the form's save_m2m.
        fields = [
            "facility",
            "code",
            "name",
            "capacity",
            "area_m2",
            "equipment",
            "purposes",
            "display_order",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            codes = self.instance.units.order_by("code").values_list("code", flat=True)
            self.fields["unit_codes"].initial = ", ".join(codes)

    def clean_unit_codes(self) -> list[str]:
        codes = [code for code in re.split(r"[\s,、，]+", self.cleaned_data["unit_codes"]) if code]
        if any(len(code) > 30 for code in codes):
            raise forms.ValidationError(_("ユニットのコードは30文字以内で入力してください。"))
        return list(dict.fromkeys(codes))


class RoomEquipmentInline(JapaneseLabelsMixin, admin.TabularInline):
    model = RoomEquipment
    fields = ("name", "fee")
    extra = 0
    # Bookings keep pointing at the equipment they were booked with (their fee is frozen).
    can_delete = False


@admin.register(Room)
class RoomAdmin(JapaneseLabelsMixin, admin.ModelAdmin):
    form = RoomAdminForm
    inlines = [RoomEquipmentInline]
    list_display = ("name", "facility", "code", "capacity", "unit_list", "is_active")
    list_filter = ("facility__kind", "is_active", "facility")
    list_select_related = ("facility",)
    search_fields = ("name", "code", "facility__name")
    filter_horizontal = ("purposes",)
    fieldsets = (
        (None, {"fields": ("facility", "code", "name", "capacity", "area_m2", "display_order", "is_active")}),
        (_("設備・利用目的"), {"fields": ("equipment", "purposes")}),
        (_("占有する単位"), {"fields": ("unit_codes",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Room]:
        return super().get_queryset(request).prefetch_related("units")

    def get_readonly_fields(self, request: HttpRequest, obj: Room | None = None) -> Any:
        # Units belong to a facility; a room does not move to another building.
        return ("facility",) if obj is not None else ()

    @admin.display(description=_("ユニット"))
    def unit_list(self, room: Room) -> str:
        return ", ".join(sorted(unit.code for unit in room.units.all()))

    def save_model(self, request: HttpRequest, obj: Room, form: forms.ModelForm, change: bool) -> None:
        services.room_save(room=obj, unit_codes=form.cleaned_data["unit_codes"] or None)

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        for item in formset.save(commit=False):
            services.catalogue_save(obj=item)
        formset.save_m2m()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # bookings keep pointing at the room; unpublish it (公開中 off) instead


class TariffAdminForm(forms.ModelForm):
    class Meta:
        model = Tariff
        fields = ["room", "time_band", "weekday_fee", "holiday_fee"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        room, band = cleaned.get("room"), cleaned.get("time_band")
        if room is not None and band is not None and room.facility_id != band.facility_id:
            self.add_error("time_band", SAME_FACILITY)
        return cleaned


@admin.register(Tariff)
class TariffAdmin(CatalogueAdmin):
    form = TariffAdminForm
    list_display = ("room", "time_band", "weekday_fee", "holiday_fee")
    list_filter = ("room__facility",)
    list_select_related = ("room__facility", "time_band")
    search_fields = ("room__name", "room__facility__name")
    autocomplete_fields = ("room",)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_foreignkey(db_field, request, **_band_and_room_choices(db_field, kwargs))


# --- closures and blocks: the service decides, the form shows its refusal ----------------------------


class ClosureAdminForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["facility", "room", "date", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        facility, room = cleaned.get("facility"), cleaned.get("room")
        if facility is not None and room is not None and room.facility_id != facility.pk:
            self.add_error("room", _("室場は、選んだ施設のものを選んでください。"))
        return cleaned

    def _post_clean(self) -> None:
        # The model's own checks first, incl. one closure per facility (or room) and day.
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = services.closure_create(
                facility=data["facility"], date=data["date"], reason=data["reason"], room=data.get("room")
            )
        except BookingError as error:
            self.add_error("date", error.message)


@admin.register(Closure)
class ClosureAdmin(JapaneseLabelsMixin, admin.ModelAdmin):
    form = ClosureAdminForm
    list_display = ("date", "facility", "room", "reason")
    list_filter = ("facility",)
    list_select_related = ("facility", "room__facility")
    date_hierarchy = "date"
    search_fields = ("facility__name", "reason")
    autocomplete_fields = ("room",)

    def save_model(self, request: HttpRequest, obj: Closure, form: forms.ModelForm, change: bool) -> None:
        """Nothing to do: `closure_create` saved it while the form was validated (see the module doc)."""

    # Reopening a closed day must tell the live availability grids too, which needs a service
    # (closure_delete); until it exists, a closure is neither edited nor deleted here.
    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class BlockCreateForm(forms.ModelForm):
    """The add form of a reservation in the admin: a staff block (公用・優先予約) only."""

    staff_user: User | None = None  # set per request by ReservationAdmin.get_form

    class Meta:
        model = Reservation
        fields = ["room", "date", "band_from", "band_to", "note"]
        help_texts = {"note": _("公用の内容（例: 区主催講座）。利用者には表示されません。")}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        room, first, last = cleaned.get("room"), cleaned.get("band_from"), cleaned.get("band_to")
        for name, band in (("band_from", first), ("band_to", last)):
            if room is not None and band is not None and band.facility_id != room.facility_id:
                self.add_error(name, SAME_FACILITY)
        if first is not None and last is not None and first.order > last.order:
            self.add_error("band_to", _("終了時間帯は、開始時間帯と同じか後の時間帯を選んでください。"))
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        data = self.cleaned_data
        room: Room = data["room"]
        band_ids = list(
            TimeBand.objects.filter(
                facility_id=room.facility_id, order__gte=data["band_from"].order, order__lte=data["band_to"].order
            )
            .order_by("order")
            .values_list("pk", flat=True)
        )
        assert self.staff_user is not None
        try:
            self.instance = services.block_create(
                room_id=room.pk,
                date=data["date"],
                band_ids=band_ids,
                note=data.get("note", ""),
                staff_user=self.staff_user,
                now=timezone.now(),
            )
        except SlotTaken:
            self.add_error(
                None, _("この枠にはすでに予約または公用の登録があります。先に取り消してから登録してください。")
            )
        except BookingError as error:
            self.add_error(None, error.message)


@admin.register(Reservation)
class ReservationAdmin(JapaneseLabelsMixin, admin.ModelAdmin):
    list_display = ("reference", "room", "date", "bands", "state", "kind", "channel", "holder")
    list_filter = ("state", "channel", "kind", "room__facility")
    list_select_related = ("room__facility", "band_from", "band_to", "resident", "group")
    search_fields = ("=reference",)
    date_hierarchy = "date"
    ordering = ("-date", "room", "band_from__order")
    actions = ["cancel_at_counter"]
    autocomplete_fields = ("room",)

    @admin.display(description=_("時間帯"))
    def bands(self, reservation: Reservation) -> str:
        if reservation.band_from_id == reservation.band_to_id:
            return reservation.band_from.label
        return f"{reservation.band_from.label}〜{reservation.band_to.label}"

    @admin.display(description=_("利用者・団体"))
    def holder(self, reservation: Reservation) -> str:
        if reservation.group is not None:
            return reservation.group.name
        if reservation.resident is not None:
            return reservation.resident.full_name
        return gettext("公用")

    def get_fieldsets(self, request: HttpRequest, obj: Reservation | None = None) -> Any:
        if obj is None:
            description = _("公用・優先予約（ブロック）を登録します。予約の入っている枠には登録できません。")
            return [(None, {"fields": BlockCreateForm.Meta.fields, "description": description})]
        return super().get_fieldsets(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Reservation | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = BlockCreateForm
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            # A subclass per request: the form must know who places the block, and the class is not shared.
            return type(form_class.__name__, (form_class,), {"staff_user": _staff(request)})
        return form_class

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "title": _("公用・優先予約の登録")}
        return super().add_view(request, form_url, extra_context)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_foreignkey(db_field, request, **_band_and_room_choices(db_field, kwargs))

    def save_model(self, request: HttpRequest, obj: Reservation, form: forms.ModelForm, change: bool) -> None:
        """Nothing to do: `block_create` saved the block while the form was validated."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reservations.change_reservation")

    @admin.action(description=_("取消（窓口）"), permissions=["cancel"])
    def cancel_at_counter(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        cancelled, refused = 0, []
        for reservation in queryset.order_by("pk"):
            try:
                services.reservation_cancel(
                    reservation_id=reservation.pk,
                    resident=None,
                    cancelled_by=_staff(request),
                    channel=Channel.COUNTER,
                    now=timezone.now(),
                )
            except BookingError as error:
                refused.append(f"{reservation.reference}: {error.message}")
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext("%(n)d件の予約を取り消しました。", "%(n)d件の予約を取り消しました。", cancelled)
                % {"n": cancelled},
                messages.SUCCESS,
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)


# --- residents and groups: read-only, activated by actions -------------------------------------------


def _activate_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    ids: Iterable[int],
    activate_one: Callable[[int], object],
    *,
    done: Callable[[int], str],
    skipped: Callable[[int], str],
) -> None:
    """Run an activation service for each selected record; those it refuses (not pending) are
    counted and reported, not failed."""
    activated = refused = 0
    for pk in ids:
        try:
            activate_one(pk)
        except BookingError:
            refused += 1
        else:
            activated += 1
    if activated:
        model_admin.message_user(request, done(activated) % {"n": activated}, messages.SUCCESS)
    if refused:
        model_admin.message_user(request, skipped(refused) % {"n": refused}, messages.WARNING)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Personal data is shown, never edited here: it changes only through services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = ("full_name", "user_number", "status", "residency", "registered_channel", "registered_at")
    list_filter = ("status", "residency", "registered_channel")
    list_select_related = ("user",)
    search_fields = ("=user__user_number", "full_name")
    ordering = ("-registered_at",)
    actions = ["activate"]

    @admin.display(description=_("利用者番号"), ordering="user__user_number")
    def user_number(self, resident: Resident) -> str:
        return resident.user.user_number

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reservations.change_resident")

    @admin.action(description=_("本人確認済みとして本登録"), permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Resident]) -> None:
        _activate_each(
            self,
            request,
            queryset.order_by("pk").values_list("pk", flat=True),
            lambda pk: services.resident_activate(resident_id=pk, staff_user=_staff(request), now=timezone.now()),
            done=lambda n: ngettext("%(n)d人を本登録しました。", "%(n)d人を本登録しました。", n),
            skipped=lambda n: ngettext(
                "%(n)d人は仮登録ではないため、対象外としました。", "%(n)d人は仮登録ではないため、対象外としました。", n
            ),
        )


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "representative", "member_count", "resident_member_count", "status", "registered_at")
    list_filter = ("status",)
    list_select_related = ("representative__user",)
    search_fields = ("name", "=representative__user__user_number")
    ordering = ("-registered_at",)
    actions = ["activate"]

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reservations.change_group")

    @admin.action(description=_("構成員名簿を確認済みとして本登録"), permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        _activate_each(
            self,
            request,
            queryset.order_by("pk").values_list("pk", flat=True),
            lambda pk: services.group_activate(group_id=pk, now=timezone.now()),
            done=lambda n: ngettext("%(n)d団体を本登録しました。", "%(n)d団体を本登録しました。", n),
            skipped=lambda n: ngettext(
                "%(n)d団体は仮登録ではないため、対象外としました。",
                "%(n)d団体は仮登録ではないため、対象外としました。",
                n,
            ),
        )


# --- login accounts --------------------------------------------------------------------------------


class AccountChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = "__all__"
        field_classes: dict[str, Any] = {}


class AccountCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = ("user_number", "email")
        field_classes: dict[str, Any] = {}


class StaffProfileInline(admin.StackedInline):
    """A staff account's role on the staff terminal and the facilities / departments it works for."""

    model = StaffProfile
    can_delete = True
    extra = 0
    max_num = 1
    filter_horizontal = ("facilities", "departments")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [StaffProfileInline]
    form = AccountChangeForm

    def get_inline_instances(self, request: HttpRequest, obj: User | None = None) -> list[Any]:
        # The role is set once the account exists (the add form stays the short one).
        return super().get_inline_instances(request, obj) if obj is not None else []

    add_form = AccountCreationForm
    list_display = ("user_number", "email", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("=user_number", "email")
    ordering = ("user_number",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("user_number", "password")}),
        (_("連絡先"), {"fields": ("email",)}),
        (_("権限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("user_number", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
