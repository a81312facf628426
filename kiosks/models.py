"""Kiosk tablets (利用者端末) and what is counted about them.

Neither the one-time activation code nor the device key is stored: only their hashes, so a copy of
the database lets nobody pose as a kiosk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from reservations.models import Channel, Facility, Resident


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


class AccessCount(models.Model):
    """Page views of one channel on one day (the ward's access table; docs/reports.md says what one
    access is). Internet and staff-terminal views are counted in Redis by
    `kiosks.access_counter.AccessCountMiddleware` and added here by the reports tick; kiosk
    accesses are in `KioskAccess`, per kiosk."""

    date = models.DateField(_("日付"))
    channel = models.CharField(_("経路"), max_length=10, choices=Channel.choices)
    count = models.PositiveBigIntegerField(_("アクセス件数"), default=0)

    class Meta:
        verbose_name = _("アクセス件数")
        verbose_name_plural = _("アクセス件数")
        ordering = ["-date", "channel"]
        constraints = [models.UniqueConstraint(fields=["date", "channel"], name="accesscount_unique_day_channel")]

    def __str__(self) -> str:
        return f"{self.date} {self.channel}: {self.count}"


class UserKind(models.TextChoices):
    INDIVIDUAL = "individual", _("個人")
    GROUP = "group", _("団体")


class ValidUserCount(models.Model):
    """The valid registrations (有効登録者数) at the end of one month, by kind and registration
    channel, recorded by the reports tick right after the month ends. Residents keep no status
    history, so a later count of a past month could only approximate it; this record keeps the
    figure as it was."""

    month = models.DateField(_("月"))
    kind = models.CharField(_("区分"), max_length=10, choices=UserKind.choices)
    channel = models.CharField(_("登録経路"), max_length=10, choices=Channel.choices)
    count = models.PositiveIntegerField(_("有効登録者数"))
    recorded_at = models.DateTimeField(_("記録日時"))

    class Meta:
        verbose_name = _("月末の有効登録者数")
        verbose_name_plural = _("月末の有効登録者数")
        ordering = ["-month", "kind", "channel"]
        # `month` is the month's first day (`valid_users_record` checks it; a CHECK on the day of a
        # date would need a function SQLite lacks outside Django).
        constraints = [models.UniqueConstraint(fields=["month", "kind", "channel"], name="validusercount_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.channel}: {self.count}"
