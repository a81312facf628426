from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from reservations.services import PIN_MAX_LENGTH, PIN_MIN_LENGTH

DIGITS = RegexValidator(r"^\d+$", _("数字で入力してください。"))
# inputmode="none": the tablet's own keyboard stays hidden; the on-screen keypad types.
KEYPAD = {"inputmode": "none", "autocomplete": "off", "class": "keypad-target"}


class ActivationForm(forms.Form):
    code = forms.CharField(label=_("アクティベーションコード"), max_length=20)


class CheckInForm(forms.Form):
    reference = forms.CharField(
        label=_("予約番号"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class KioskLoginForm(forms.Form):
    user_number = forms.CharField(
        label=_("利用者番号"), max_length=20, validators=[DIGITS], widget=forms.TextInput(attrs=KEYPAD)
    )
    pin = forms.CharField(
        label=_("暗証番号"),
        min_length=PIN_MIN_LENGTH,
        max_length=PIN_MAX_LENGTH,
        validators=[DIGITS],
        widget=forms.PasswordInput(attrs=KEYPAD),
    )


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("新しい暗証番号（4〜8桁の数字）"),
        min_length=PIN_MIN_LENGTH,
        max_length=PIN_MAX_LENGTH,
        validators=[DIGITS],
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )
    pin_again = forms.CharField(
        label=_("確認のためもう一度"),
        max_length=PIN_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("pin") and data.get("pin") != data.get("pin_again"):
            self.add_error("pin_again", _("暗証番号が一致しません。"))
        return data
