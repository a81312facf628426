"""Forms of the staff two-factor pages (kiosks/two_factor_views.py)."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """The 6-digit code an authenticator app shows."""

    code = forms.CharField(
        label=_("確認コード（6桁）"),
        max_length=12,
        validators=[RegexValidator(r"^\s*\d{3}\s*\d{3}\s*$", _("確認コードは6桁の数字で入力してください。"))],
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"[0-9 ]*", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        # Spaces are how people copy codes ("123 456").
        return "".join(self.cleaned_data["code"].split())


class ResetForm(forms.Form):
    deactivate = forms.BooleanField(label=_("アカウントも無効にする（紛失・盗難のとき）"), required=False, initial=True)
