"""Forms of the staff counter terminal. They parse and check input; every rule that decides whether
something may be done stays in the services, which check again on every write."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lottery.domain import RoundCalendar
from lottery.models import LotteryRound
from payments.models import Method
from reservations.account_forms import AccessibleFormMixin, ResidentRegistrationForm
from reservations.domain import TOKYO
from reservations.forms import is_supported_date, message
from reservations.models import Facility, Group, Room, TimeBand

ID_DOCUMENTS = [
    ("", _("選んでください")),
    ("license", _("運転免許証")),
    ("mynumber", _("マイナンバーカード")),
    ("insurance", _("健康保険証等")),
    ("residence", _("在留カード")),
    ("student", _("学生証・社員証（在学・在勤）")),
    ("other", _("その他の公的書類")),
]
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105  (no l/1, o/0: read off a printed slip)


def initial_password() -> str:
    """A printed first password for a resident registered at the counter without choosing one."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


def _date_input(**attrs: str) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


class IdCheckField(forms.ChoiceField):
    """Which ID the resident showed. Required so nobody activates without looking; not stored
    (the register keeps only what the ward's register holds)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("確認した本人確認書類"))
        kwargs.setdefault("choices", ID_DOCUMENTS)
        kwargs.setdefault("error_messages", {"required": _("本人確認書類を確認して、その種類を選んでください。")})
        super().__init__(**kwargs)


class CounterRegistrationForm(ResidentRegistrationForm):
    """Registration at the counter after an ID check: active at once. E-mail and password are
    optional: without a password a first one is printed on the registration slip."""

    id_checked = IdCheckField()
    field_order = ["id_checked", "full_name", "date_of_birth", "postcode", "address", "residency", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["full_name"].widget.attrs["autofocus"] = True
        self.fields["email"].required = False
        self.fields["email"].help_text = _("任意。パスワードを忘れたときの再設定に使います。")
        for name in ("password", "password_confirmation"):
            self.fields[name].required = False
        self.fields["password"].help_text = _("空欄にすると初期パスワードを発行し、登録票に印刷します。")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password") and not cleaned.get("password_confirmation"):
            self.add_error("password_confirmation", _("確認のためのパスワードが一致しません。"))
        if not cleaned.get("password") and not self.has_error("password"):
            cleaned["password"] = initial_password()
            cleaned["password_issued"] = True
        return cleaned


class ActivationForm(AccessibleFormMixin, forms.Form):
    id_checked = IdCheckField()


class CounterFacilityForm(AccessibleFormMixin, forms.Form):
    facility = forms.ModelChoiceField(label=_("窓口の施設"), queryset=Facility.objects.none(), empty_label=None)

    def __init__(self, *args: Any, facilities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["facility"]).queryset = facilities


class RoomDayForm(AccessibleFormMixin, forms.Form):
    """Step 1 of a counter booking: which room, which day (GET)."""

    room = forms.ModelChoiceField(label=_("室場"), queryset=Room.objects.none(), empty_label=None)
    day = forms.DateField(
        label=_("利用日"),
        input_formats=["%Y-%m-%d"],
        widget=_date_input(),
        error_messages={"invalid": message("bad_date"), "required": _("利用日を入力してください。")},
    )

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["room"]).queryset = rooms

    def clean_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["day"]
        if not is_supported_date(day):
            raise forms.ValidationError(message("bad_date"))
        return day


class LotteryApplyForm(AccessibleFormMixin, forms.Form):
    """An entry on a resident's behalf: the day, a run of the room's lottery bands, the name."""

    day = forms.DateField(
        label=_("利用日"),
        input_formats=["%Y-%m-%d"],
        widget=_date_input(autofocus="autofocus"),
        error_messages={"invalid": message("bad_date"), "required": _("利用日を入力してください。")},
    )
    bands = forms.TypedMultipleChoiceField(
        label=_("時間帯"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("時間帯を1つ以上選んでください。"), "invalid_choice": message("unknown_band")},
    )
    group = forms.TypedChoiceField(label=_("申込の名義"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, bands: list[TimeBand], groups: list[Group], month: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["bands"]).choices = [
            (b.pk, f"{b.label} {b.starts_at:%H:%M}–{b.ends_at:%H:%M}") for b in bands
        ]
        cast(forms.ChoiceField, self.fields["group"]).choices = [("", _("個人として申し込む"))] + [
            (g.pk, g.name) for g in groups
        ]
        last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        self.fields["day"].widget.attrs.update(min=month.isoformat(), max=last.isoformat())
        self.month = month

    def clean_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["day"]
        if (day.year, day.month) != (self.month.year, self.month.month):
            raise forms.ValidationError(_("この抽選の利用月の日付を入力してください。"))
        return day


class CounterPaymentForm(AccessibleFormMixin, forms.Form):
    method = forms.ChoiceField(
        label=_("支払方法"), choices=[(Method.CASH, Method.CASH.label), (Method.TERMINAL, Method.TERMINAL.label)]
    )
    receipt_number = forms.CharField(
        label=_("領収書番号"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": "autofocus"}),
    )


class RefundRequestForm(AccessibleFormMixin, forms.Form):
    amount = forms.IntegerField(
        label=_("還付額（円）"), min_value=1, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    reason = forms.CharField(label=_("理由"), max_length=200)


class ExemptionRequestForm(AccessibleFormMixin, forms.Form):
    holder = forms.TypedChoiceField(label=_("対象"), coerce=int, empty_value=None, required=False)
    percent = forms.TypedChoiceField(label=_("減免率"), coerce=int, choices=[(50, "50%"), (100, "100%")], initial=100)
    category = forms.CharField(label=_("減免区分"), max_length=100, help_text=_("例: 障害者団体、区の共催事業"))
    evidence = forms.CharField(label=_("確認書類"), max_length=200, help_text=_("確認した書類の名称と番号"))
    valid_from = forms.DateField(label=_("適用開始日"), input_formats=["%Y-%m-%d"], widget=_date_input())
    valid_until = forms.DateField(label=_("適用終了日"), input_formats=["%Y-%m-%d"], widget=_date_input())

    def __init__(self, *args: Any, groups: list[Group], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["holder"]).choices = [("", _("本人"))] + [
            (g.pk, _("団体: %(name)s") % {"name": g.name}) for g in groups
        ]
        today = timezone.now().astimezone(TOKYO).date()
        self.fields["valid_from"].initial = today
        self.fields["valid_until"].initial = (
            today.replace(month=3, day=31) if today.month <= 3 else dt.date(today.year + 1, 3, 31)
        )  # the end of the fiscal year

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("適用終了日は適用開始日以降にしてください。"))
        return cleaned


class ClosureForm(AccessibleFormMixin, forms.Form):
    day = forms.DateField(label=_("休館日"), input_formats=["%Y-%m-%d"], widget=_date_input())
    room = forms.ModelChoiceField(
        label=_("室場"), queryset=Room.objects.none(), required=False, empty_label=_("施設全体")
    )
    reason = forms.CharField(label=_("理由"), max_length=100, help_text=_("例: 設備点検、年末年始"))

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["room"]).queryset = rooms


class BlockForm(AccessibleFormMixin, forms.Form):
    room = forms.ModelChoiceField(label=_("室場"), queryset=Room.objects.none(), empty_label=None)
    day = forms.DateField(label=_("日付"), input_formats=["%Y-%m-%d"], widget=_date_input())
    bands = forms.TypedMultipleChoiceField(
        label=_("時間帯"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("時間帯を1つ以上選んでください。")},
    )
    note = forms.CharField(label=_("用件"), max_length=200, help_text=_("例: 区主催事業、選挙の投票所"))

    def __init__(self, *args: Any, rooms: Any, bands: list[TimeBand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["room"]).queryset = rooms
        cast(forms.ChoiceField, self.fields["bands"]).choices = [
            (b.pk, f"{b.label} {b.starts_at:%H:%M}–{b.ends_at:%H:%M}") for b in bands
        ]


def _moment_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class RoundDatesForm(AccessibleFormMixin, forms.Form):
    """A round's five moments, in Tokyo time."""

    intake_opens_at = _moment_field(_("申込受付開始"))
    intake_closes_at = _moment_field(_("申込受付終了"))
    draw_at = _moment_field(_("抽選日時"))
    confirm_by = _moment_field(_("当選確定の期限"))
    release_at = _moment_field(_("未確定枠の開放"))

    FIELDS = ("intake_opens_at", "intake_closes_at", "draw_at", "confirm_by", "release_at")

    @classmethod
    def for_round(cls, lottery_round: LotteryRound) -> RoundDatesForm:
        return cls(initial={name: getattr(lottery_round, name).astimezone(TOKYO) for name in cls.FIELDS})

    def calendar(self) -> RoundCalendar:
        def tokyo(value: dt.datetime) -> dt.datetime:
            return value.replace(tzinfo=TOKYO) if timezone.is_naive(value) else value.astimezone(TOKYO)

        data = self.cleaned_data
        return RoundCalendar(**{name: tokyo(data[name]) for name in self.FIELDS})
