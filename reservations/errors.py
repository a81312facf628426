"""Errors a service raises for input a person can correct. Each carries a stable code (for the
API and tests) and a message in Japanese, translated to English when that language is chosen."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .domain import Refusal

MESSAGES: dict[str, Promise] = {
    "slot_taken": _("申し訳ありません。この枠はたった今ほかの方が予約しました。別の枠をお選びください。"),
    Refusal.PAST.value: _("過ぎた日時の枠は予約できません。"),
    Refusal.NOT_YET_OPEN.value: _("この月の随時予約はまだ受付開始前です。受付開始日時以降にお申し込みください。"),
    Refusal.CLOSED_FOR_BOOKING.value: _(
        "インターネットでの受付は利用日の前日までです。当日の予約は窓口へお問い合わせください。"
    ),
    Refusal.FACILITY_CLOSED.value: _("この日は休館日（または利用できない日）のため予約できません。"),
    Refusal.QUOTA.value: _("この月の予約件数が上限に達しています。ほかの予約を取り消すと新たに予約できます。"),
    Refusal.GROUP_QUOTA.value: _("この団体のこの月の予約件数が上限に達しています。"),
    Refusal.BAD_SPAN.value: _("時間帯は同じ日の連続した時間帯を選んでください。"),
    "unknown_room": _("指定された室場が見つかりません。"),
    "unknown_band": _("指定された時間帯がこの施設にありません。"),
    "unknown_resident": _("指定された利用者が見つかりません。"),
    "unknown_facility": _("指定された施設が見つかりません。"),
    "bad_date": _("日付の形式が正しくありません（例: 2026-12-05）。"),
    "unknown_group": _("指定された団体が見つかりません。"),
    "not_a_resident": _(
        "この機能は利用者登録をした方のアカウントでご利用いただけます。職員アカウントでは利用できません。"
    ),
    "unknown_reservation": _("指定された予約が見つかりません。"),
    "not_active": _("利用者登録が有効ではありません。窓口で本人確認を受けてから予約できます。"),
    "not_group_member": _("この団体として予約する権限がありません。"),
    "group_not_active": _("この団体の登録が有効ではありません。"),
    "already_ended": _("この予約はすでに取り消されています。"),
    "not_cancellable": _("利用日を過ぎた予約は取り消せません。"),
    "over_capacity": _("利用人数が室場の定員を超えています。"),
    "purpose_not_allowed": _("この室場ではその利用目的はご利用になれません。"),
    "unknown_equipment": _("指定された附属設備はこの室場にありません。"),
    "not_pending": _("この登録はすでに本登録済みか、利用停止中です。"),
    "group_too_small": _("団体登録には構成員が5人以上必要です。"),
    "group_residents_exceed": _("区内の構成員数は構成員数を超えられません。"),
    "closure_has_bookings": _("この日には有効な予約があります。先に予約を取り消してから休館日にしてください。"),
    "check_in_unpaid": _("使用料のお支払いが済んでいません。窓口でお支払いのうえ受付してください。"),
    "bad_pin": _("暗証番号は4桁から8桁の数字で入力してください。"),
    "not_awaiting": _("この当選はすでに確定済みか、辞退・期限切れになっています。"),
    # payments
    "not_payable": _("この予約はお支払いの対象ではありません（お支払い済み、取消済み、または期限切れです）。"),
    "payment_deadline_passed": _("お支払い期限を過ぎています。仮予約は取り消されます。"),
    "payment_unavailable": _(
        "現在カード決済をご利用になれません。時間をおいてお試しいただくか、窓口でお支払いください。"
    ),
    "receipt_number_used": _("この領収書番号はこの施設ですでに使われています。"),
    "same_approver": _("申請した職員とは別の職員が承認してください。"),
    "not_requested": _("この申請はすでに処理済みです。"),
    "refund_too_large": _("還付額が、支払額から還付済みの額を引いた残額を超えています。"),
    "not_refundable": _("この支払は還付できません。"),
    "bad_percent": _("減免率は1から100の範囲で指定してください。"),
}


class BookingError(Exception):
    """A refusal the person can act on. `str()` gives the message in the active language."""

    status = 409

    def __init__(self, code: str, status: int | None = None) -> None:
        self.code = code
        if status is not None:
            self.status = status
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])

    def __str__(self) -> str:
        return self.message


class NotFound(BookingError):
    status = 404


class SlotTaken(BookingError):
    def __init__(self) -> None:
        super().__init__("slot_taken")
