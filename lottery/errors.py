"""Refusals of the lottery's services, for input a person can act on. They are BookingErrors (code,
HTTP status, message in the active language), so the pages and the API treat them alike."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reservations.errors import MESSAGES as BOOKING_MESSAGES
from reservations.errors import BookingError

MESSAGES: dict[str, Promise] = {
    "unknown_round": _("指定された抽選が見つかりません。"),
    "unknown_entry": _("指定された抽選申込が見つかりません。"),
    "unknown_outcome": _("指定された抽選結果が見つかりません。"),
    "not_in_lottery": _("この室場・時間帯は抽選の対象ではありません。随時予約の受付開始後にお申し込みください。"),
    "no_round": _("この月の抽選はありません。"),
    "intake_not_open": _("この抽選の申込受付はまだ始まっていません。受付開始日時以降にお申し込みください。"),
    "intake_closed": _("この抽選の申込受付は終了しました。"),
    "entry_cap": _("この抽選への申込件数が上限に達しています。ほかの申込を取り下げると申し込めます。"),
    "duplicate_entry": _("この枠にはすでに申し込んでいます。"),
    "same_person": _(
        "同じ方が、個人と代表する団体（または複数の団体）で同じ枠に申し込むことはできません。"
        "どちらか一方でお申し込みください。"
    ),
    "not_eligible_ward": _("この室場の抽選には区内在住・在勤・在学の方と区内団体のみ申し込めます。"),
    "not_eligible_ward_groups": _("この室場の抽選には区内団体のみ申し込めます。団体名義でお申し込みください。"),
    "slot_unavailable": _("この枠は休館日または公用・優先予約のため、抽選の対象外です。"),
    "not_offered": _("この結果は確定・辞退の対象ではありません（確定済み、辞退済み、期限切れ、または落選です）。"),
    "offer_expired": _("確定の期限を過ぎました。この当選は無効になりました。"),
    "not_closed": _("この抽選はまだ受付中か、すでに抽選済みです。受付終了後に一度だけ抽選できます。"),
    "bad_rank": _("希望順位の指定が正しくありません。"),
    "bad_calendar": _(
        "抽選の日程が正しくありません。受付開始・終了、抽選、確定期限、開放の順で、随時予約の開始より前にしてください。"
    ),
    "round_exists": _("この施設グループ・利用月の抽選はすでにあります。"),
    "round_started": _("申込受付が始まった抽選の日程は変更できません。"),
    "opening_in_past": _("申込受付の開始日時は、現在より後の日時にしてください。"),
}


class LotteryError(BookingError):
    @property
    def message(self) -> str:
        text = MESSAGES.get(self.code) or BOOKING_MESSAGES[self.code]
        return str(text)


class LotteryNotFound(LotteryError):
    status = 404
