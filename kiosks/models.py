"""Kiosk tablets (利用者端末) and what is counted about them.

Neither the one-time activation code nor the device key is stored: only their hashes, so a copy of
the database lets nobody pose as a kiosk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from reservations.models import Facility, Resident


class Kiosk(models.Model):
    """One tablet installed at a facility. Provisioned by staff, activated once, revocable at once."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="kiosks", verbose_name=_("施設"))
    name = models.CharField(_("端末名"), max_length=100)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_expires_at = models.DateTimeField(_("アクティベーションコードの有効期限"), null=True, blank=True)
    key_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("登録日時"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("登録した職員")
    )
    activated_at = models.DateTimeField(_("有効化日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("停止日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用者端末")
        verbose_name_plural = _("利用者端末")
        ordering = ["facility", "name"]
        constraints = [
            models.UniqueConstraint(fields=["code_hash"], condition=~Q(code_hash=""), name="kiosk_unique_code"),
            models.UniqueConstraint(fields=["key_hash"], condition=~Q(key_hash=""), name="kiosk_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.facility.name} {self.name}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class KioskAccess(models.Model):
    """How many requests one kiosk served on one day (the ward's access table, channel kiosk)."""

    kiosk = models.ForeignKey(Kiosk, on_delete=models.CASCADE, related_name="accesses", verbose_name=_("利用者端末"))
    date = models.DateField(_("日付"))
    count = models.PositiveIntegerField(_("アクセス件数"), default=0)

    class Meta:
        verbose_name = _("端末アクセス件数")
        verbose_name_plural = _("端末アクセス件数")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["kiosk", "date"], name="kioskaccess_unique_day")]

    def __str__(self) -> str:
        return f"{self.kiosk_id}@{self.date}: {self.count}"


class KioskPin(Resident):
    """A resident as the admin's "set a kiosk PIN at the counter" page sees them (no new table)."""

    class Meta:
        proxy = True
        verbose_name = _("利用者端末の暗証番号")
        verbose_name_plural = _("利用者端末の暗証番号")
