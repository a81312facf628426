"""Staff administration of the lottery (Django admin at /admin/), every write through lottery.services.

- 抽選の設定 (policy per facility group) and 抽選対象の室場 (which rooms and bands) save through
  `policy_save` / `lottery_room_save`.
- 抽選 (rounds): created through `round_create` on the group's calendar; never edited by hand after
  that. Actions run the due steps (`rounds_advance`) or draw a closed round now (`round_draw`, the
  same exactly-once claim as the tick).
- 抽選申込 (entries): counter staff apply for a resident (channel: counter) through `entry_apply`,
  with the reservations admin's pattern (the service runs as the form's last validation step, its
  refusal is shown on the form); withdrawing is an action.
- 抽選結果 (outcomes): read-only; the counter confirms or declines a win for a resident by action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import ForeignKey, Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from reservations.errors import BookingError
from reservations.models import Channel, Group, Resident, Room, TimeBand, User

from . import services
from .models import LotteryEntry, LotteryOutcome, LotteryPolicy, LotteryRoom, LotteryRound, RoundState


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class BandLabelField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TimeBand) -> str:
        return f"{obj.facility.name} {obj}"


class BandsLabelField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: TimeBand) -> str:
        return f"{obj.facility.name} {obj}"


@admin.register(LotteryPolicy)
class LotteryPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "facility_group",
        "intake_opens_day",
        "intake_closes_day",
        "draw_day",
        "confirm_by_day",
        "max_entries",
        "max_wins",
    )

    def save_model(self, request: HttpRequest, obj: LotteryPolicy, form: forms.ModelForm, change: bool) -> None:
        try:
            services.policy_save(policy=obj)
        except BookingError as error:
            messages.error(request, error.message)


class LotteryRoomForm(forms.ModelForm):
    bands = BandsLabelField(
        queryset=TimeBand.objects.select_related("facility").order_by("facility__code", "order"),
        required=False,
        label=_("抽選対象の時間帯（空欄はすべて）"),
    )

    class Meta:
        model = LotteryRoom
        fields = ["room", "bands", "eligibility", "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        room, bands = cleaned.get("room"), cleaned.get("bands") or []
        if room is not None and any(b.facility_id != room.facility_id for b in bands):
            self.add_error("bands", _("時間帯は室場と同じ施設のものを選んでください。"))
        return cleaned


@admin.register(LotteryRoom)
class LotteryRoomAdmin(admin.ModelAdmin):
    form = LotteryRoomForm
    list_display = ("room", "eligibility", "is_active")
    list_filter = ("eligibility", "is_active", "room__facility__group")
    list_select_related = ("room__facility",)
    autocomplete_fields = ("room",)

    def save_model(self, request: HttpRequest, obj: LotteryRoom, form: forms.ModelForm, change: bool) -> None:
        services.lottery_room_save(lottery_room=obj, band_ids=[b.pk for b in form.cleaned_data["bands"]])

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Nothing left: `lottery_room_save` set the bands."""

    def delete_model(self, request: HttpRequest, obj: LotteryRoom) -> None:
        services.lottery_rooms_delete(ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LotteryRoom]) -> None:
        services.lottery_rooms_delete(ids=list(queryset.values_list("pk", flat=True)))


class RoundCreateForm(forms.ModelForm):
    class Meta:
        model = LotteryRound
        fields = ["facility_group", "use_month"]
        help_texts = {
            "use_month": _(
                "利用月の1日を入力してください（例: 2027-01-01）。日程は施設グループの抽選の設定から作られます。"
            )
        }

    def _post_clean(self) -> None:
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = services.round_create(facility_group=data["facility_group"], use_month=data["use_month"])
        except BookingError as error:
            self.add_error(None, error.message)


@admin.register(LotteryRound)
class LotteryRoundAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "state",
        "intake_opens_at",
        "intake_closes_at",
        "draw_at",
        "entry_count",
        "applicant_count",
    )
    list_filter = ("state", "facility_group")
    list_select_related = ("facility_group",)
    actions = ["advance", "draw_now"]
    readonly_fields = [f.name for f in LotteryRound._meta.fields if f.name != "id"]

    def get_form(
        self, request: HttpRequest, obj: LotteryRound | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = RoundCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: LotteryRound | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: LotteryRound | None = None) -> Any:
        return RoundCreateForm.Meta.fields if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: LotteryRound, form: forms.ModelForm, change: bool) -> None:
        """Nothing to do: `round_create` saved it while the form was validated."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description=_("期日の来た手続きを実行する（受付開始・締切・抽選・期限切れ・開放）"))
    def advance(self, request: HttpRequest, queryset: QuerySet[LotteryRound]) -> None:
        summary = services.rounds_advance(now=timezone.now())
        self.message_user(
            request,
            gettext(
                "実行しました：受付開始 %(opened)s、締切 %(closed)s、抽選 %(drawn)s、期限切れ %(expired)s、終了 %(finished)s"
            )
            % {
                "opened": summary.opened,
                "closed": summary.closed,
                "drawn": summary.drawn,
                "expired": summary.expired,
                "finished": summary.finished,
            },
        )

    @admin.action(description=_("受付終了した抽選をいま実施して結果を公開する"))
    def draw_now(self, request: HttpRequest, queryset: QuerySet[LotteryRound]) -> None:
        drawn = 0
        for lottery_round in queryset.filter(state=RoundState.CLOSED):
            if services.round_draw(round_id=lottery_round.pk, now=timezone.now(), staff_user=_staff(request)):
                drawn += 1
        if drawn:
            self.message_user(
                request,
                ngettext("%(n)s件の抽選を実施しました。", "%(n)s件の抽選を実施しました。", drawn) % {"n": drawn},
            )
        else:
            self.message_user(
                request, gettext("抽選できる（受付終了済みで未抽選の）抽選がありませんでした。"), messages.WARNING
            )


class EntryCreateForm(forms.ModelForm):
    """A counter application for a resident (or a group they represent or belong to)."""

    staff_user: User | None = None

    class Meta:
        model = LotteryEntry
        fields = ["resident", "group", "room", "date", "band_from", "band_to"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        room, first, last = cleaned.get("room"), cleaned.get("band_from"), cleaned.get("band_to")
        for name, band in (("band_from", first), ("band_to", last)):
            if room is not None and band is not None and band.facility_id != room.facility_id:
                self.add_error(name, _("時間帯は室場と同じ施設のものを選んでください。"))
        if first is not None and last is not None and first.order > last.order:
            self.add_error("band_to", _("終了時間帯は、開始時間帯と同じか後の時間帯を選んでください。"))
        return cleaned

    def _post_clean(self) -> None:
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
            self.instance = services.entry_apply(
                resident=data["resident"],
                group=data.get("group"),
                room_id=room.pk,
                date=data["date"],
                band_ids=band_ids,
                channel=Channel.COUNTER,
                created_by=self.staff_user,
                now=timezone.now(),
            )
        except BookingError as error:
            self.add_error(None, error.message)


@admin.register(LotteryEntry)
class LotteryEntryAdmin(admin.ModelAdmin):
    list_display = ("round", "applicant_name", "rank", "room", "date", "band_from", "band_to", "status", "channel")
    list_filter = ("status", "channel", "round")
    list_select_related = ("round__facility_group", "room__facility", "band_from", "band_to", "resident", "group")
    search_fields = ("resident__full_name", "resident__user__user_number", "group__name")
    actions = ["withdraw_at_counter"]
    autocomplete_fields = ("room",)
    raw_id_fields = ("resident", "group")

    @admin.display(description=_("申込者"))
    def applicant_name(self, entry: LotteryEntry) -> str:
        return entry.group.name if entry.group is not None else entry.resident.full_name

    def get_form(
        self, request: HttpRequest, obj: LotteryEntry | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = EntryCreateForm
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return type(form_class.__name__, (form_class,), {"staff_user": _staff(request)})
        return form_class

    def get_fields(self, request: HttpRequest, obj: LotteryEntry | None = None) -> Any:
        return EntryCreateForm.Meta.fields if obj is None else super().get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is TimeBand:
            kwargs.setdefault("form_class", BandLabelField)
            kwargs.setdefault(
                "queryset", TimeBand.objects.select_related("facility").order_by("facility__code", "order")
            )
        elif db_field.related_model is Resident:
            kwargs.setdefault("queryset", Resident.objects.select_related("user"))
        elif db_field.related_model is Group:
            kwargs.setdefault("queryset", Group.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: LotteryEntry, form: forms.ModelForm, change: bool) -> None:
        """Nothing to do: `entry_apply` saved it while the form was validated."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description=_("選択した申込を取り下げる（窓口）"))
    def withdraw_at_counter(self, request: HttpRequest, queryset: QuerySet[LotteryEntry]) -> None:
        done = 0
        for entry in queryset:
            try:
                services.entry_withdraw(entry_id=entry.pk, resident=None, channel=Channel.COUNTER, now=timezone.now())
                done += 1
            except BookingError as error:
                self.message_user(request, f"{entry}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(n)s件の申込を取り下げました。", "%(n)s件の申込を取り下げました。", done) % {"n": done},
            )


@admin.register(LotteryOutcome)
class LotteryOutcomeAdmin(admin.ModelAdmin):
    list_display = ("entry", "result", "reason", "position", "competitors", "runner_up_rank", "offer_state", "deadline")
    list_filter = ("result", "offer_state", "round")
    list_select_related = ("entry__round__facility_group",)
    actions = ["confirm_at_counter", "decline_at_counter"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def _each(self, request: HttpRequest, queryset: QuerySet[LotteryOutcome], confirm: bool) -> None:
        for outcome in queryset:
            try:
                if confirm:
                    services.win_confirm(outcome_id=outcome.pk, resident=None, now=timezone.now())
                else:
                    services.win_decline(
                        outcome_id=outcome.pk,
                        resident=None,
                        now=timezone.now(),
                        declined_by=_staff(request),
                        channel=Channel.COUNTER,
                    )
            except BookingError as error:
                self.message_user(request, f"{outcome}: {error.message}", messages.ERROR)

    @admin.action(description=_("選択した当選を確定する（窓口）"))
    def confirm_at_counter(self, request: HttpRequest, queryset: QuerySet[LotteryOutcome]) -> None:
        self._each(request, queryset, confirm=True)

    @admin.action(description=_("選択した当選を辞退する（窓口）"))
    def decline_at_counter(self, request: HttpRequest, queryset: QuerySet[LotteryOutcome]) -> None:
        self._each(request, queryset, confirm=False)
