"""The monthly lottery's data: per facility group a calendar policy, which rooms go to lottery,
rounds (one per facility group and use month), entries, outcomes and the e-mail sent-markers.

Invariants in the database: one round per (facility group, use month); an applicant enters a slot
at most once per round; one outcome per entry; one e-mail per (round, person, event); a round that
has been drawn carries its seed and commitment.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reservations.models import Channel, FacilityGroup, Group, Reservation, Resident, Room, TimeBand, User


class LotteryPolicy(models.Model):
    """A facility group's lottery calendar and caps (defaults: DOMAIN.md's monthly cycle).

    Days are days of the intake month (use month minus `months_before`), 1–28."""

    facility_group = models.OneToOneField(
        FacilityGroup, on_delete=models.CASCADE, related_name="lottery_policy", verbose_name=_("施設グループ")
    )
    months_before = models.PositiveSmallIntegerField(_("抽選を行う月（利用月の何か月前）"), default=2)
    intake_opens_day = models.PositiveSmallIntegerField(_("申込受付開始日"), default=1)
    intake_opens_time = models.TimeField(_("申込受付開始時刻"), default=dt.time(9, 0))
    intake_closes_day = models.PositiveSmallIntegerField(_("申込受付終了日"), default=10)
    intake_closes_time = models.TimeField(_("申込受付終了時刻"), default=dt.time(23, 59))
    draw_day = models.PositiveSmallIntegerField(_("抽選日"), default=11)
    draw_time = models.TimeField(_("抽選時刻"), default=dt.time(9, 0))
    confirm_by_day = models.PositiveSmallIntegerField(_("当選確定の期限日"), default=17)
    confirm_by_time = models.TimeField(_("当選確定の期限時刻"), default=dt.time(23, 59))
    release_day = models.PositiveSmallIntegerField(_("未確定枠の開放日"), default=24)
    release_time = models.TimeField(_("未確定枠の開放時刻"), default=dt.time(23, 59))
    runner_up_days = models.PositiveSmallIntegerField(_("次点の確定期限（繰上げから何日）"), default=3)
    max_entries = models.PositiveSmallIntegerField(_("1回の抽選の申込上限（件）"), default=10)
    max_wins = models.PositiveSmallIntegerField(_("1回の抽選の当選上限（件）"), default=4)
    runner_ups = models.PositiveSmallIntegerField(_("枠ごとの次点の数"), default=2)
    loser_bonus = models.BooleanField(
        _("前回すべて落選した方の当選確率を上げる"),
        default=False,
        help_text=_("有効にすると、直近の抽選ですべて落選した申込者は抽選券が1枚増えます（最大2倍）。"),
    )

    class Meta:
        verbose_name = _("抽選の設定")
        verbose_name_plural = _("抽選の設定")
        constraints = [
            models.CheckConstraint(
                condition=Q(intake_opens_day__gte=1, intake_opens_day__lte=28)
                & Q(intake_closes_day__gte=1, intake_closes_day__lte=28)
                & Q(draw_day__gte=1, draw_day__lte=28)
                & Q(confirm_by_day__gte=1, confirm_by_day__lte=28)
                & Q(release_day__gte=1, release_day__lte=28),
                name="lotterypolicy_days_valid",
            ),
            models.CheckConstraint(condition=Q(max_wins__gte=1, max_entries__gte=1), name="lotterypolicy_caps_valid"),
        ]

    def __str__(self) -> str:
        return str(self.facility_group)


class Eligibility(models.TextChoices):
    ANYONE = "anyone", _("どなたでも")
    WARD = "ward", _("区内の個人・区内団体のみ")
    WARD_GROUPS = "ward_groups", _("区内団体のみ")


class LotteryRoom(models.Model):
    """A room whose slots go to the monthly lottery (popular halls and courts); other rooms are
    first-come only. `bands` empty means every band of the day."""

    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="lottery", verbose_name=_("室場"))
    bands = models.ManyToManyField(TimeBand, blank=True, verbose_name=_("抽選対象の時間帯（空欄はすべて）"))
    eligibility = models.CharField(
        _("申込できる方"), max_length=12, choices=Eligibility.choices, default=Eligibility.ANYONE
    )
    is_active = models.BooleanField(_("抽選対象"), default=True)

    class Meta:
        verbose_name = _("抽選対象の室場")
        verbose_name_plural = _("抽選対象の室場")

    def __str__(self) -> str:
        return str(self.room)


class RoundState(models.TextChoices):
    SCHEDULED = "scheduled", _("受付開始前")
    OPEN = "open", _("申込受付中")
    CLOSED = "closed", _("受付終了（抽選待ち）")
    DRAWING = "drawing", _("抽選中")
    PUBLISHED = "published", _("結果公開（当選確定受付中）")
    FINISHED = "finished", _("終了（未確定枠を開放済み）")


DRAWN_STATES = (RoundState.DRAWING, RoundState.PUBLISHED, RoundState.FINISHED)


class LotteryRound(models.Model):
    """The lottery of one facility group for one use month. Its calendar is copied from the group's
    policy when the round is created and may be adjusted per round before intake opens."""

    facility_group = models.ForeignKey(
        FacilityGroup, on_delete=models.CASCADE, related_name="lottery_rounds", verbose_name=_("施設グループ")
    )
    use_month = models.DateField(_("利用月"))
    state = models.CharField(_("状態"), max_length=12, choices=RoundState.choices, default=RoundState.SCHEDULED)
    intake_opens_at = models.DateTimeField(_("申込受付開始"))
    intake_closes_at = models.DateTimeField(_("申込受付終了"))
    draw_at = models.DateTimeField(_("抽選日時"))
    confirm_by = models.DateTimeField(_("当選確定の期限"))
    release_at = models.DateTimeField(_("未確定枠の開放"))
    runner_up_days = models.PositiveSmallIntegerField(_("次点の確定期限（日）"), default=3)
    max_entries = models.PositiveSmallIntegerField(_("申込上限（件）"), default=10)
    max_wins = models.PositiveSmallIntegerField(_("当選上限（件）"), default=4)
    runner_ups = models.PositiveSmallIntegerField(_("枠ごとの次点の数"), default=2)
    loser_bonus = models.BooleanField(_("前回すべて落選した方の加重"), default=False)
    seed_commitment = models.CharField(_("乱数の種のハッシュ値（SHA-256）"), max_length=64, blank=True)
    # Secret until publication: only the commitment is shown before the draw.
    seed = models.CharField(_("乱数の種"), max_length=64, blank=True)
    algorithm = models.CharField(_("抽選方式"), max_length=40, blank=True)
    results_digest = models.CharField(_("結果のハッシュ値"), max_length=64, blank=True)
    entry_count = models.PositiveIntegerField(_("抽選対象の申込数"), default=0)
    applicant_count = models.PositiveIntegerField(_("申込者数"), default=0)
    closed_at = models.DateTimeField(_("受付終了日時"), null=True, blank=True)
    published_at = models.DateTimeField(_("結果公開日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    drawn_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("抽選を実行した職員")
    )

    class Meta:
        verbose_name = _("抽選")
        verbose_name_plural = _("抽選")
        ordering = ["-use_month", "facility_group"]
        constraints = [
            models.UniqueConstraint(fields=["facility_group", "use_month"], name="lotteryround_unique_group_month"),
            models.CheckConstraint(
                condition=Q(intake_opens_at__lt=models.F("intake_closes_at"))
                & Q(intake_closes_at__lte=models.F("draw_at"))
                & Q(draw_at__lt=models.F("confirm_by"))
                & Q(confirm_by__lte=models.F("release_at")),
                name="lotteryround_calendar_in_order",
            ),
            # A round past its close has its commitment; one that was drawn has its seed too.
            models.CheckConstraint(
                condition=Q(state__in=[RoundState.SCHEDULED, RoundState.OPEN]) | ~Q(seed_commitment=""),
                name="lotteryround_closed_has_commitment",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=DRAWN_STATES) | ~Q(seed=""),
                name="lotteryround_drawn_has_seed",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[RoundState.PUBLISHED, RoundState.FINISHED])
                | (~Q(results_digest="") & Q(published_at__isnull=False)),
                name="lotteryround_published_has_results",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility_group} {self.use_month:%Y-%m}"

    @property
    def is_drawn(self) -> bool:
        return self.state in DRAWN_STATES

    @property
    def seed_revealed(self) -> str:
        """The seed, once it may be shown (after publication); "" before."""
        return self.seed if self.state in (RoundState.PUBLISHED, RoundState.FINISHED) else ""

    def intake_is_open(self, now: dt.datetime) -> bool:
        return self.state in (RoundState.SCHEDULED, RoundState.OPEN) and (
            self.intake_opens_at <= now < self.intake_closes_at
        )


class EntryStatus(models.TextChoices):
    ACTIVE = "active", _("申込中")
    WITHDRAWN = "withdrawn", _("取下げ")
    EXCLUDED = "excluded", _("対象外（休館・公用）")


class LotteryEntry(models.Model):
    """One application (抽選申込) of a resident or a group for a room, date and band span.

    `person` is who stands behind it: the resident for an individual entry, the group's
    representative for a group entry. One person may not enter one slot twice, whether as an
    individual or through groups they represent; `applicant` is "r<id>" or "g<id>"."""

    round = models.ForeignKey(LotteryRound, on_delete=models.CASCADE, related_name="entries", verbose_name=_("抽選"))
    applicant = models.CharField(_("申込者キー"), max_length=24)
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="lottery_entries", verbose_name=_("利用者")
    )
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="lottery_entries", verbose_name=_("団体")
    )
    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+", verbose_name=_("本人"))
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="lottery_entries", verbose_name=_("室場"))
    date = models.DateField(_("利用日"))
    band_from = models.ForeignKey(TimeBand, on_delete=models.CASCADE, related_name="+", verbose_name=_("開始時間帯"))
    band_to = models.ForeignKey(TimeBand, on_delete=models.CASCADE, related_name="+", verbose_name=_("終了時間帯"))
    rank = models.PositiveIntegerField(_("希望順位"))
    status = models.CharField(_("状態"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.ACTIVE)
    channel = models.CharField(_("受付経路"), max_length=10, choices=Channel.choices)
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("受付者"))
    created_at = models.DateTimeField(_("申込日時"), default=timezone.now)
    changed_at = models.DateTimeField(_("変更日時"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("取下げ日時"), null=True, blank=True)
    withdraw_channel = models.CharField(_("取下げ経路"), max_length=10, choices=Channel.choices, blank=True)

    class Meta:
        verbose_name = _("抽選申込")
        verbose_name_plural = _("抽選申込")
        ordering = ["round", "applicant", "rank", "pk"]
        indexes = [
            models.Index(fields=["round", "status", "room", "date"]),
            models.Index(fields=["round", "person", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "person", "room", "date", "band_from", "band_to"],
                condition=Q(status="active"),
                name="lotteryentry_one_person_one_slot",
            ),
            models.CheckConstraint(
                condition=Q(status="withdrawn", withdrawn_at__isnull=False) | ~Q(status="withdrawn"),
                name="lotteryentry_withdrawn_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} {self.applicant} #{self.rank} {self.room_id}@{self.date}"


class Result(models.TextChoices):
    WON = "won", _("当選")
    RUNNER_UP = "runner_up", _("次点")
    LOST = "lost", _("落選")


class ResultReason(models.TextChoices):
    WON = "won", _("当選")
    TAKEN = "taken", _("抽選順が先の方に当選")
    CAP = "cap", _("当選上限に到達")


class OfferState(models.TextChoices):
    NONE = "none", _("—")
    AWAITING = "awaiting", _("確定待ち")
    CONFIRMED = "confirmed", _("確定済み")
    DECLINED = "declined", _("辞退")
    EXPIRED = "expired", _("期限切れ")
    UNAVAILABLE = "unavailable", _("枠が利用できなくなりました")


class LotteryOutcome(models.Model):
    """What the draw gave one entry, and where its offer stands (a win, or a runner-up moved up)."""

    entry = models.OneToOneField(LotteryEntry, on_delete=models.CASCADE, related_name="outcome")
    round = models.ForeignKey(LotteryRound, on_delete=models.CASCADE, related_name="outcomes")
    # The entry's place in the published canonical list: its index, its applicant's number and rank.
    canonical_index = models.PositiveIntegerField(_("公開リストの番号"))
    applicant_number = models.PositiveIntegerField(_("申込者番号（公開リスト）"))
    canonical_rank = models.PositiveSmallIntegerField(_("希望順位（公開リスト）"))
    tickets = models.PositiveSmallIntegerField(_("抽選券の枚数"), default=1)
    result = models.CharField(_("結果"), max_length=10, choices=Result.choices)
    reason = models.CharField(_("理由"), max_length=10, choices=ResultReason.choices)
    position = models.PositiveIntegerField(_("抽選順"))
    competitors = models.PositiveIntegerField(_("この枠の申込数"))
    turn_pass = models.PositiveIntegerField(_("巡"), null=True, blank=True)
    turn_position = models.PositiveIntegerField(_("決定した抽選順"), null=True, blank=True)
    runner_up_rank = models.PositiveSmallIntegerField(_("次点順位"), null=True, blank=True)
    offer_state = models.CharField(_("確定の状態"), max_length=12, choices=OfferState.choices, default=OfferState.NONE)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="lottery_outcome"
    )
    offered_at = models.DateTimeField(_("確定受付開始"), null=True, blank=True)
    deadline = models.DateTimeField(_("確定期限"), null=True, blank=True)
    responded_at = models.DateTimeField(_("確定・辞退日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("抽選結果")
        verbose_name_plural = _("抽選結果")
        indexes = [models.Index(fields=["round", "offer_state", "deadline"])]
        constraints = [
            models.UniqueConstraint(fields=["round", "canonical_index"], name="lotteryoutcome_unique_index"),
            models.CheckConstraint(
                condition=~Q(offer_state="awaiting") | Q(deadline__isnull=False, reservation__isnull=False),
                name="lotteryoutcome_offer_has_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.result}"


class LotteryMail(models.Model):
    """The sent-marker of one e-mail: at most one per (round, person, event). It is inserted in the
    same transaction as the change it reports; the mail goes out after commit."""

    round = models.ForeignKey(LotteryRound, on_delete=models.CASCADE, related_name="mails")
    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "person", "event"], name="lotterymail_once_per_person_event")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.person_id}/{self.event}"
