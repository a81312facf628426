"""Forms of the resident-facing account pages: login, password reset, registration, profile, groups.

Forms only parse and check input; every write goes through `reservations.services`. Labels and
messages are Japanese msgids (English through the catalogue). Django 5.2 renders each field with its
errors and help text tied to the input (`aria-describedby`, `aria-invalid`), so templates use
`field.as_field_group`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, SetPasswordMixin
from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Residency, User

POSTCODE_RE = re.compile(r"[0-9]{3}-[0-9]{4}")
# Dash-like characters people type in postcodes on Japanese keyboards (長音符, minus, hyphens).
_DASHES = str.maketrans(dict.fromkeys("ー−‐‑‒–—―ｰ", "-"))


def normalize_postcode(value: str) -> str:
    """'１１２ー０００３' or '1120003' → '112-0003'; anything else is returned for the validator to reject."""
    text = unicodedata.normalize("NFKC", value).translate(_DASHES).strip().replace(" ", "")
    if text.startswith("〒"):
        text = text[1:]
    if re.fullmatch(r"[0-9]{7}", text):
        text = f"{text[:3]}-{text[3:]}"
    return text


class PostcodeField(forms.CharField):
    default_error_messages = {"invalid": _("郵便番号は「123-4567」の形（数字7桁）で入力してください。")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("郵便番号"))
        # No max_length: '〒１１２－０００３' is longer than what it normalises to; the pattern bounds it.
        kwargs.setdefault("help_text", _("例: 112-0003"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric", "size": 10}),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return normalize_postcode(super().to_python(value) or "")

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and not POSTCODE_RE.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")


class AccessibleFormMixin:
    """Japanese labels without a trailing colon, and the list of fields in error for the summary at
    the top of the form (each entry links to its input)."""

    errors: Any
    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @property
    def fields_with_errors(self) -> list[BoundField]:
        return [self[name] for name in self.errors if name in self.fields]  # type: ignore[index]


def _address_field() -> forms.CharField:
    return forms.CharField(
        label=_("住所"),
        max_length=200,
        help_text=_("都道府県から、建物名・部屋番号まで入力してください。"),
        widget=forms.TextInput(attrs={"autocomplete": "street-address", "size": 40}),
    )


def _email_field(label: Any = None, help_text: Any = "") -> forms.EmailField:
    return forms.EmailField(
        label=label or _("メールアドレス"),
        max_length=254,
        help_text=help_text,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "size": 30}),
    )


class UserNumberAuthenticationForm(AccessibleFormMixin, AuthenticationForm):
    """Log in with the user number (利用者番号) and password. The error never says which was wrong."""

    username = forms.CharField(
        label=_("利用者番号"),
        max_length=20,
        help_text=_("利用者登録のときにお知らせした番号です（利用者カードに記載）。"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _(
            "利用者番号またはパスワードが正しくありません。お確かめのうえ、もう一度入力してください。"
            "パスワードは大文字と小文字を区別します。"
        ),
        "inactive": _("このアカウントは利用できません。窓口へお問い合わせください。"),
    }

    def clean_username(self) -> str:
        # Full-width digits are common on Japanese keyboards; user numbers are half-width.
        return unicodedata.normalize("NFKC", self.cleaned_data["username"]).strip()


class ResetRequestForm(AccessibleFormMixin, PasswordResetForm):
    """Ask for a reset link by e-mail address.

    Staff accounts are left out: they reset through central IT, because staff log in with a second
    factor and an e-mailed link must not be a way around it."""

    email = _email_field(help_text=_("利用者登録のときに届け出たメールアドレスを入力してください。"))

    def get_users(self, email: str) -> Any:
        return (user for user in super().get_users(email) if not user.is_staff)


class NewPasswordForm(AccessibleFormMixin, SetPasswordForm):
    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1=_("新しいパスワード"), label2=_("新しいパスワード（確認のためもう一度）")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_validation.password_validators_help_text_html()
        self.fields["new_password2"].help_text = ""


class ResidentRegistrationForm(AccessibleFormMixin, forms.Form):
    """Online pre-registration (仮登録) of an individual: only what the ward's register holds."""

    full_name = forms.CharField(
        label=_("氏名"),
        max_length=100,
        help_text=_("本人確認書類と同じ氏名を入力してください。"),
        widget=forms.TextInput(attrs={"autocomplete": "name", "size": 30}),
    )
    date_of_birth = forms.DateField(
        label=_("生年月日"),
        input_formats=["%Y-%m-%d", "%Y/%m/%d"],
        help_text=_("例: 1980-04-01"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    postcode = PostcodeField()
    address = _address_field()
    residency = forms.ChoiceField(
        label=_("区分"),
        choices=Residency.choices,
        widget=forms.RadioSelect,
        help_text=_("区内に在勤・在学の方は、窓口で勤務先・学校の証明もご提示ください。"),
    )
    email = _email_field(help_text=_("パスワードを忘れたときの再設定に使います。"))
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirmation = forms.CharField(
        label=_("パスワード（確認のためもう一度）"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, so the validators' rules appear in the language of this request.
        self.fields["password"].help_text = password_validation.password_validators_help_text_html()

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_address(self) -> str:
        return self.cleaned_data["address"].strip()

    def clean_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate() or born.year < 1900:
            raise ValidationError(_("生年月日を正しく入力してください。"), code="invalid")
        return born

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        confirmation = cleaned.get("password_confirmation")
        if password and confirmation and password != confirmation:
            self.add_error("password_confirmation", _("確認のためのパスワードが一致しません。"))
        elif password:
            try:
                # A transient user lets the similarity check compare against the e-mail address.
                password_validation.validate_password(password, User(email=cleaned.get("email", "")))
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ProfileForm(AccessibleFormMixin, forms.Form):
    """What a resident may change online. Name, birth date and residency change only at a counter."""

    postcode = PostcodeField()
    address = _address_field()
    email = _email_field(help_text=_("パスワード再設定のご案内をこのアドレスにお送りします。"))

    def clean_address(self) -> str:
        return self.cleaned_data["address"].strip()


class GroupRegistrationForm(AccessibleFormMixin, forms.Form):
    """Group registration (団体登録). The minimum size and the ward-member rule are the service's."""

    name = forms.CharField(label=_("団体名"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    contact_name = forms.CharField(
        label=_("連絡担当者"),
        max_length=100,
        help_text=_("予約や抽選の連絡を受ける方の氏名です。"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = _email_field(label=_("連絡先メール"))
    member_count = forms.IntegerField(
        label=_("構成員数"),
        min_value=1,
        max_value=10_000,
        help_text=_("代表者を含めた人数です。団体登録には5人以上必要です。"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    resident_member_count = forms.IntegerField(
        label=_("うち区内在住・在勤・在学者数"),
        min_value=0,
        max_value=10_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    # Which field a service refusal belongs to, so the message sits next to the input it is about.
    ERROR_FIELDS = {"group_too_small": "member_count", "group_residents_exceed": "resident_member_count"}
