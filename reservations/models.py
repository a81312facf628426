"""The booking hub's data. Invariants that matter live in the database as constraints.

The one that matters most: an occupied (room unit, date, time band) is a row of `Occupancy`
under a UNIQUE constraint. Every way a slot gets taken (first-come booking, lottery win, staff
block) inserts those rows, so no two of them can ever hold the same unit at the same time.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .domain import BookingRules


class Channel(models.TextChoices):
    """Where an action came from; the ward's reports split every table by it."""

    WEB = "web", _("インターネット")
    KIOSK = "kiosk", _("利用者端末")
    COUNTER = "counter", _("窓口")


class Residency(models.TextChoices):
    LIVES = "lives", _("区内在住")
    WORKS = "works", _("区内在勤")
    STUDIES = "studies", _("区内在学")
    OUTSIDER = "outsider", _("区外")


class FacilityKind(models.TextChoices):
    COMMUNITY = "community", _("集会施設")
    ACADEMY = "academy", _("アカデミー")
    CULTURAL = "cultural", _("文化ホール")
    SPORTS = "sports", _("スポーツ施設")
    SCHOOL = "school", _("学校開放")


class Department(models.Model):
    """An owning department (所管課)."""

    code = models.SlugField(_("コード"), unique=True)
    name = models.CharField(_("所管課"), max_length=100)

    class Meta:
        verbose_name = _("所管課")
        verbose_name_plural = _("所管課")

    def __str__(self) -> str:
        return self.name


class FacilityGroup(models.Model):
    """Facilities that share one set of booking rules (dates, caps, payment terms)."""

    code = models.SlugField(_("コード"), unique=True)
    name = models.CharField(_("施設グループ"), max_length=100)
    first_come_opens_months_before = models.PositiveSmallIntegerField(_("随時予約の受付開始（何か月前）"), default=1)
    first_come_opens_day = models.PositiveSmallIntegerField(_("随時予約の受付開始日"), default=1)
    first_come_opens_time = models.TimeField(_("随時予約の受付開始時刻"), default=dt.time(9, 0))
    first_come_closes_days_before = models.PositiveSmallIntegerField(_("受付終了（利用日の何日前）"), default=1)
    max_active_bookings_per_month = models.PositiveSmallIntegerField(_("個人の月間予約上限"), default=8)
    max_group_bookings_per_month = models.PositiveSmallIntegerField(_("団体の月間予約上限"), default=8)
    payment_days = models.PositiveSmallIntegerField(_("支払期限（予約から何日）"), default=7)
    outsider_surcharge_percent = models.PositiveSmallIntegerField(_("区外利用の加算率（%）"), default=20)
    commercial_surcharge_percent = models.PositiveSmallIntegerField(_("営利目的の利用の加算率（%）"), default=50)

    class Meta:
        verbose_name = _("施設グループ")
        verbose_name_plural = _("施設グループ")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_come_opens_day__gte=1) & Q(first_come_opens_day__lte=28),
                name="facilitygroup_open_day_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    code = models.SlugField(_("コード"), unique=True)
    name = models.CharField(_("施設名"), max_length=100)
    kind = models.CharField(_("種別"), max_length=20, choices=FacilityKind.choices, db_index=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, verbose_name=_("所管課"))
    group = models.ForeignKey(FacilityGroup, on_delete=models.PROTECT, verbose_name=_("施設グループ"))
    postcode = models.CharField(_("郵便番号"), max_length=8, blank=True)
    address = models.CharField(_("所在地"), max_length=200)
    opens_at = models.TimeField(_("開館時刻"), default=dt.time(9, 0))
    closes_at = models.TimeField(_("閉館時刻"), default=dt.time(21, 30))
    accessibility = models.TextField(_("バリアフリー情報"), blank=True)
    is_active = models.BooleanField(_("公開中"), default=True)

    class Meta:
        verbose_name = _("施設")
        verbose_name_plural = _("施設")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class Purpose(models.Model):
    """A use a room allows (会議, 音楽, 卓球, ...)."""

    code = models.SlugField(_("コード"), unique=True)
    name = models.CharField(_("利用目的"), max_length=50)

    class Meta:
        verbose_name = _("利用目的")
        verbose_name_plural = _("利用目的")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RoomUnit(models.Model):
    """The smallest bookable piece of space. A divisible hall is two or more units."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="units", verbose_name=_("施設"))
    code = models.CharField(_("コード"), max_length=30)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["facility", "code"], name="roomunit_unique_code")]

    def __str__(self) -> str:
        return f"{self.facility.code}/{self.code}"


class Room(models.Model):
    """A bookable room, hall, court or field (室場). It covers one or more units: a whole hall
    covers every unit its halves cover, so booking either takes the units the other needs."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("施設"))
    code = models.CharField(_("コード"), max_length=30)
    name = models.CharField(_("室場名"), max_length=100)
    capacity = models.PositiveIntegerField(_("定員"))
    area_m2 = models.PositiveIntegerField(_("面積（㎡）"), null=True, blank=True)
    equipment = models.JSONField(_("設備"), default=list, blank=True)
    purposes = models.ManyToManyField(Purpose, blank=True, verbose_name=_("利用目的"))
    units = models.ManyToManyField(RoomUnit, related_name="rooms", verbose_name=_("区画"))
    display_order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    is_active = models.BooleanField(_("公開中"), default=True)

    class Meta:
        verbose_name = _("室場")
        verbose_name_plural = _("室場")
        ordering = ["facility", "display_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "code"], name="room_unique_code"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="room_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.facility.name} {self.name}"


class RoomEquipment(models.Model):
    """An add-on of a room (附属設備: projector, microphone, piano ...) with a flat fee per booking."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="equipment_items", verbose_name=_("室場"))
    name = models.CharField(_("附属設備"), max_length=50)
    fee = models.PositiveIntegerField(_("使用料（円）"), default=0)

    class Meta:
        verbose_name = _("附属設備")
        verbose_name_plural = _("附属設備")
        ordering = ["room", "fee", "name"]
        constraints = [models.UniqueConstraint(fields=["room", "name"], name="roomequipment_unique_name")]

    def __str__(self) -> str:
        return self.name


class TimeBand(models.Model):
    """A fixed band of a facility's day (午前 09–12 ...; hourly for courts)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="time_bands", verbose_name=_("施設"))
    code = models.CharField(_("コード"), max_length=20)
    label = models.CharField(_("時間帯"), max_length=30)
    starts_at = models.TimeField(_("開始"))
    ends_at = models.TimeField(_("終了"))
    order = models.PositiveSmallIntegerField(_("順序"))

    class Meta:
        verbose_name = _("時間帯")
        verbose_name_plural = _("時間帯")
        ordering = ["facility", "order"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "order"], name="timeband_unique_order"),
            models.UniqueConstraint(fields=["facility", "code"], name="timeband_unique_code"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="timeband_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class Tariff(models.Model):
    """The usage fee (使用料) of one room for one band, in integer yen."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="tariffs", verbose_name=_("室場"))
    time_band = models.ForeignKey(TimeBand, on_delete=models.CASCADE, verbose_name=_("時間帯"))
    weekday_fee = models.PositiveIntegerField(_("平日料金（円）"))
    holiday_fee = models.PositiveIntegerField(_("土日祝料金（円）"))

    class Meta:
        verbose_name = _("使用料")
        verbose_name_plural = _("使用料")
        constraints = [models.UniqueConstraint(fields=["room", "time_band"], name="tariff_unique_room_band")]

    def __str__(self) -> str:
        return f"{self.room_id}/{self.time_band_id}: {self.weekday_fee}/{self.holiday_fee}"


class Closure(models.Model):
    """A closed day (休館日) of a whole facility, or of one room when `room` is set.

    It holds the Occupancy rows of every unit and band it closes (see `closure_create`)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="closures", verbose_name=_("施設"))
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("室場（空欄は施設全体）")
    )
    date = models.DateField(_("日付"))
    reason = models.CharField(_("理由"), max_length=100)

    class Meta:
        verbose_name = _("休館日")
        verbose_name_plural = _("休館日")
        ordering = ["date"]
        indexes = [models.Index(fields=["facility", "date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "date"], condition=Q(room__isnull=True), name="closure_unique_facility_day"
            ),
            models.UniqueConstraint(
                fields=["room", "date"], condition=Q(room__isnull=False), name="closure_unique_room_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility} {self.date} {self.reason}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, user_number: str, password: str | None = None, **extra: object) -> User:
        user = self.model(user_number=user_number, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, user_number: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(user_number, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Residents log in with their user number (利用者番号); staff with a staff id."""

    user_number = models.CharField(_("利用者番号"), max_length=20, unique=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    is_staff = models.BooleanField(_("職員"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "user_number"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("ログインアカウント")
        verbose_name_plural = _("ログインアカウント")

    def __str__(self) -> str:
        return self.user_number


class StaffRole(models.TextChoices):
    """What a staff account may do (DOMAIN.md: least privilege, scoped by facility and department)."""

    COUNTER = "counter", _("窓口職員")
    FACILITY_MANAGER = "facility_manager", _("施設管理者")
    DEPARTMENT_ADMIN = "department_admin", _("所管課管理者")
    SYSTEM_ADMIN = "system_admin", _("システム管理者")
    AUDITOR = "auditor", _("監査担当（閲覧のみ）")


class StaffProfile(models.Model):
    """A staff account's role and scope. Counter staff and facility managers work for the facilities
    listed; department admins for every facility of their departments; system admins and auditors
    for all (auditors read only). A staff login without a profile may do nothing on the terminal."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff_profile")
    role = models.CharField(_("役割"), max_length=20, choices=StaffRole.choices)
    facilities = models.ManyToManyField(Facility, blank=True, related_name="+", verbose_name=_("担当施設"))
    departments = models.ManyToManyField(Department, blank=True, related_name="+", verbose_name=_("担当所管課"))

    class Meta:
        verbose_name = _("職員の役割")
        verbose_name_plural = _("職員の役割")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditEntry(models.Model):
    """One line of the audit log (監査ログ): every staff action and every staff view or export of
    personal data. Append-only (a PostgreSQL trigger refuses UPDATE and DELETE) and hash-chained:
    `hash` is SHA-256 over the canonical form of the entry including `prev_hash`, so changing or
    removing any entry breaks every later link (`manage.py audit_verify`). Written only through
    `reservations.audit.record`."""

    seq = models.PositiveBigIntegerField(_("通番"), unique=True)
    at = models.DateTimeField(_("日時"), db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("操作者")
    )
    # The login id at the time, kept in the chained text so the entry stays verifiable on its own.
    actor_label = models.CharField(_("操作者ID"), max_length=20, blank=True)
    actor_role = models.CharField(_("役割"), max_length=20, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    target = models.CharField(_("操作の対象"), max_length=255, blank=True)
    details = models.JSONField(_("詳細"), default=dict, blank=True)
    request_id = models.CharField(_("リクエストID"), max_length=64, blank=True)
    ip = models.CharField(_("IPアドレス"), max_length=45, blank=True)
    prev_hash = models.CharField(_("直前のハッシュ"), max_length=64)
    hash = models.CharField(_("ハッシュ"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["-seq"]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_entry_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target}"


class ResidentStatus(models.TextChoices):
    PENDING = "pending", _("仮登録（窓口で本人確認待ち）")
    ACTIVE = "active", _("有効")
    SUSPENDED = "suspended", _("利用停止")


class Resident(models.Model):
    """An individual user (利用者). Only the personal data the ward's register holds."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="resident")
    full_name = models.CharField(_("氏名"), max_length=100)
    date_of_birth = models.DateField(_("生年月日"))
    postcode = models.CharField(_("郵便番号"), max_length=8)
    address = models.CharField(_("住所"), max_length=200)
    residency = models.CharField(_("区分"), max_length=10, choices=Residency.choices)
    status = models.CharField(_("状態"), max_length=10, choices=ResidentStatus.choices, default=ResidentStatus.PENDING)
    registered_channel = models.CharField(_("登録経路"), max_length=10, choices=Channel.choices)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    # The counter that registered or activated the resident, if any (what staff scoping looks at).
    registered_facility = models.ForeignKey(
        Facility, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登録窓口の施設")
    )
    activated_at = models.DateTimeField(_("本登録日時"), null=True, blank=True)
    activated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("本登録した職員")
    )
    # The PIN for the kiosk tablets (利用者端末), hashed like a password; blank until one is set.
    kiosk_pin = models.CharField(_("利用者端末の暗証番号"), max_length=128, blank=True, editable=False)
    # When the retention rule replaced the personal data (reservations/retention.py); null: not yet.
    anonymised_at = models.DateTimeField(_("匿名化日時"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("利用者")
        verbose_name_plural = _("利用者")
        indexes = [models.Index(fields=["status", "registered_at"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.user.user_number})"

    @property
    def is_outsider(self) -> bool:
        return self.residency == Residency.OUTSIDER


class Group(models.Model):
    """A registered group (団体). Its representative is a resident; members may act for it."""

    name = models.CharField(_("団体名"), max_length=100)
    representative = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="represented_groups", verbose_name=_("代表者")
    )
    members = models.ManyToManyField(Resident, blank=True, related_name="member_groups", verbose_name=_("構成員"))
    contact_name = models.CharField(_("連絡担当者"), max_length=100)
    contact_email = models.EmailField(_("連絡先メール"))
    member_count = models.PositiveIntegerField(_("構成員数"))
    resident_member_count = models.PositiveIntegerField(_("うち区内在住・在勤・在学者数"))
    status = models.CharField(_("状態"), max_length=10, choices=ResidentStatus.choices, default=ResidentStatus.PENDING)
    # Where the group was registered (the monthly report splits valid users by it).
    registered_channel = models.CharField(_("登録経路"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    activated_at = models.DateTimeField(_("本登録日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("団体")
        verbose_name_plural = _("団体")
        constraints = [
            models.CheckConstraint(
                condition=Q(resident_member_count__lte=models.F("member_count")), name="group_residents_le_members"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ward_group(self) -> bool:
        """A ward group (区内団体): most members live, work or study in the ward."""
        return self.resident_member_count * 2 > self.member_count


class ReservationKind(models.TextChoices):
    FIRST_COME = "first_come", _("随時予約")
    LOTTERY = "lottery", _("抽選当選")
    BLOCK = "block", _("公用・優先予約")


class ReservationState(models.TextChoices):
    PROVISIONAL = "provisional", _("仮予約（支払待ち）")
    CONFIRMED = "confirmed", _("本予約")
    CANCELLED = "cancelled", _("取消済")
    EXPIRED = "expired", _("期限切れ")
    # A lottery win (抽選当選) that holds its slot until the winner confirms it (当選確定).
    AWAITING = "awaiting", _("当選（確定待ち）")


ACTIVE_STATES = (ReservationState.PROVISIONAL, ReservationState.CONFIRMED, ReservationState.AWAITING)


class Reservation(models.Model):
    """A booking of one room for one or more consecutive bands of one date.

    While active it owns one `Occupancy` row per (unit, band); cancelling deletes them.
    """

    reference = models.CharField(_("予約番号"), max_length=12, unique=True)
    kind = models.CharField(_("種類"), max_length=12, choices=ReservationKind.choices)
    state = models.CharField(_("状態"), max_length=12, choices=ReservationState.choices)
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations", verbose_name=_("利用者")
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations", verbose_name=_("団体")
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("室場"))
    date = models.DateField(_("利用日"))
    band_from = models.ForeignKey(TimeBand, on_delete=models.PROTECT, related_name="+", verbose_name=_("開始時間帯"))
    band_to = models.ForeignKey(TimeBand, on_delete=models.PROTECT, related_name="+", verbose_name=_("終了時間帯"))
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("利用目的"))
    attendees = models.PositiveIntegerField(_("利用人数"), null=True, blank=True)
    note = models.CharField(_("備考"), max_length=200, blank=True)
    commercial = models.BooleanField(_("営利目的の利用"), default=False)
    equipment_items = models.ManyToManyField(RoomEquipment, blank=True, related_name="+", verbose_name=_("附属設備"))
    fee = models.PositiveIntegerField(_("使用料（円）"), default=0)
    payment_deadline = models.DateTimeField(_("支払期限"), null=True, blank=True)
    channel = models.CharField(_("受付経路"), max_length=10, choices=Channel.choices)
    booked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("受付者"))
    created_at = models.DateTimeField(_("受付日時"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    cancel_channel = models.CharField(_("取消経路"), max_length=10, choices=Channel.choices, blank=True)
    cancelled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("取消者")
    )
    checked_in_at = models.DateTimeField(_("来館受付日時"), null=True, blank=True)
    checked_in_channel = models.CharField(_("来館受付経路"), max_length=10, choices=Channel.choices, blank=True)
    no_show_at = models.DateTimeField(_("不来館の記録日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("予約")
        verbose_name_plural = _("予約")
        ordering = ["date", "band_from__order"]
        indexes = [
            models.Index(fields=["resident", "date"]),
            models.Index(fields=["group", "date"]),
            models.Index(fields=["room", "date"]),
        ]
        constraints = [
            # A resident's or group's booking names who it is for; only staff blocks name nobody.
            models.CheckConstraint(
                condition=Q(kind=ReservationKind.BLOCK) | Q(resident__isnull=False),
                name="reservation_has_holder",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[ReservationState.CANCELLED, ReservationState.EXPIRED])
                | Q(cancelled_at__isnull=False),
                name="reservation_ended_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class Occupancy(models.Model):
    """One occupied (unit, date, band). The UNIQUE constraint is the no-double-booking guarantee.

    It is held either by a reservation (a booking, a lottery win, a staff block) or by a closure,
    so a closure and a booking racing for one day are decided by the same constraint."""

    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="occupancies"
    )
    closure = models.ForeignKey(Closure, on_delete=models.CASCADE, null=True, blank=True, related_name="occupancies")
    unit = models.ForeignKey(RoomUnit, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    band = models.ForeignKey(TimeBand, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "date", "band"], name="occupancy_unique_unit_date_band"),
            models.CheckConstraint(
                condition=Q(reservation__isnull=False, closure__isnull=True)
                | Q(reservation__isnull=True, closure__isnull=False),
                name="occupancy_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}@{self.date}/{self.band_id}"


def booking_rules(group: FacilityGroup) -> BookingRules:
    """The pure-rules view of a facility group's settings."""
    return BookingRules(
        opens_months_before=group.first_come_opens_months_before,
        opens_day=group.first_come_opens_day,
        opens_time=group.first_come_opens_time,
        closes_days_before=group.first_come_closes_days_before,
        max_active_per_month=group.max_active_bookings_per_month,
        max_group_active_per_month=group.max_group_bookings_per_month,
        payment_days=group.payment_days,
        outsider_surcharge_percent=group.outsider_surcharge_percent,
        commercial_surcharge_percent=group.commercial_surcharge_percent,
    )


class ResidentPreference(models.Model):
    """What a resident chose for themselves: the language of e-mails (set when they switch the site's
    language while logged in; blank: Japanese), and the secret of their calendar feed (a random
    token in the feed's URL, so calendar apps can subscribe without a login; reset makes a new one
    and the old URL stops working at once)."""

    resident = models.OneToOneField(
        Resident, on_delete=models.CASCADE, primary_key=True, related_name="preference", verbose_name=_("利用者")
    )
    language = models.CharField(_("お知らせの言語"), max_length=8, blank=True)
    calendar_token = models.CharField(_("カレンダー配信のトークン"), max_length=64, unique=True, null=True, blank=True)
    calendar_token_created_at = models.DateTimeField(_("カレンダー配信の発行日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用者の設定")
        verbose_name_plural = _("利用者の設定")

    def __str__(self) -> str:
        return str(self.resident_id)


class ReservationReminder(models.Model):
    """The marker that a booking's reminder e-mail (利用日のお知らせ) went out: at most one per booking,
    under the database's UNIQUE constraint, written in the same transaction as the sending."""

    reservation = models.OneToOneField(
        Reservation, on_delete=models.CASCADE, related_name="reminder", verbose_name=_("予約")
    )
    sent_at = models.DateTimeField(_("送信日時"))
    language = models.CharField(_("言語"), max_length=8)

    class Meta:
        verbose_name = _("利用日のお知らせ")
        verbose_name_plural = _("利用日のお知らせ")

    def __str__(self) -> str:
        return f"{self.reservation_id}@{self.sent_at:%Y-%m-%d}"
