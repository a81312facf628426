"""The lottery's JSON API, mounted at /api/v1/lottery/ by config/api.py.

Thin, like the views: parse, call one selector or service, serialise. Refusals are BookingErrors
(LotteryError is one), answered by config/api.py as {"code": ..., "message": ...}. The /me endpoints
use the session login with CSRF checks on writes, like reservations' API.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import Field

from reservations.api import request_resident, requested_group
from reservations.models import Channel
from reservations.schemas import ErrorOut, LocalDateTime

from . import selectors, services
from .errors import LotteryNotFound
from .models import LotteryEntry, LotteryOutcome, LotteryRound

ROUNDS = "lottery rounds"
MY_ENTRIES = "my lottery entries"
ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
ROUND_ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut}  # 400: a round id that is not a number

router = Router()


class RoundOut(Schema):
    id: int
    facility_group: str
    use_month: str = Field(description="YYYY-MM")
    state: str = Field(description="scheduled | open | closed | drawing | published | finished")
    state_label: str
    intake_opens_at: LocalDateTime
    intake_closes_at: LocalDateTime
    draw_at: LocalDateTime
    confirm_by: LocalDateTime
    release_at: LocalDateTime
    max_entries: int
    max_wins: int
    seed_commitment: str = Field(description="SHA-256 of the seed, hex; shown from the close of intake")
    seed: str = Field(description="The 256-bit seed, hex; shown once the results are published")
    algorithm: str
    results_digest: str
    entry_count: int
    applicant_count: int

    @staticmethod
    def resolve_facility_group(obj: LotteryRound) -> str:
        return obj.facility_group.code

    @staticmethod
    def resolve_use_month(obj: LotteryRound) -> str:
        return f"{obj.use_month:%Y-%m}"

    @staticmethod
    def resolve_state_label(obj: LotteryRound) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_seed(obj: LotteryRound) -> str:
        return obj.seed_revealed


class SlotCountOut(Schema):
    room_id: int
    date: dt.date
    band_from_id: int
    band_to_id: int
    entries: int


class OutcomeOut(Schema):
    id: int
    result: str = Field(description="won | runner_up | lost")
    reason: str = Field(description="won | taken (went to an earlier turn of the draw) | cap (win cap reached)")
    position: int = Field(description="Your place in the draw order, 1-based")
    competitors: int = Field(description="Entries for the same slot")
    turn_pass: int | None
    turn_position: int | None
    runner_up_rank: int | None
    offer_state: str = Field(description="none | awaiting | confirmed | declined | expired | unavailable")
    deadline: LocalDateTime | None
    reservation_reference: str | None
    applicant_number: int = Field(description="Your number in the published anonymised list")

    @staticmethod
    def resolve_reservation_reference(obj: LotteryOutcome) -> str | None:
        return obj.reservation.reference if obj.reservation_id and obj.reservation else None


class EntryOut(Schema):
    id: int
    round_id: int
    room_id: int
    date: dt.date
    band_from_id: int
    band_to_id: int
    rank: int
    status: str = Field(description="active | withdrawn | excluded")
    group_id: int | None
    channel: str
    created_at: LocalDateTime
    outcome: OutcomeOut | None

    @staticmethod
    def resolve_outcome(obj: LotteryEntry) -> LotteryOutcome | None:
        try:
            return obj.outcome
        except ObjectDoesNotExist:
            return None


class EntryIn(Schema):
    room_id: int
    date: dt.date = Field(description="The day of use, YYYY-MM-DD")
    band_ids: list[int] = Field(min_length=1, description="One or more consecutive time bands of that day")
    group_id: int | None = Field(None, description="Apply for a group you represent or belong to")


class EntryChangeIn(Schema):
    rank: int | None = Field(None, ge=1, description="New preference (1 = first); the others shift")
    room_id: int | None = None
    date: dt.date | None = None
    band_ids: list[int] | None = None


class VerifyOut(Schema):
    ok: bool
    commitment_ok: bool
    results_ok: bool
    digest_ok: bool
    entries: int
    mismatches: int
    recomputed_digest: str


def _round(round_id: int) -> LotteryRound:
    found = selectors.round_get(round_id)
    if found is None:
        raise LotteryNotFound("unknown_round")
    return found


@router.get("/rounds", response=list[RoundOut], summary="抽選の一覧", tags=[ROUNDS])
def round_list(request: HttpRequest) -> Any:
    """Recent rounds of every facility group, newest use month first."""
    return selectors.rounds_recent()


@router.get("/rounds/{round_id}", response={200: RoundOut, **ROUND_ERRORS}, summary="抽選の詳細", tags=[ROUNDS])
def round_detail(request: HttpRequest, round_id: int) -> Any:
    """Calendar, caps, the seed commitment (from close) and the seed (after publication)."""
    return _round(round_id)


@router.get(
    "/rounds/{round_id}/counts",
    response={200: list[SlotCountOut], **ROUND_ERRORS},
    summary="枠ごとの申込数",
    tags=[ROUNDS],
)
def round_counts(request: HttpRequest, round_id: int) -> Any:
    """Active entries per slot (room, date, band span), so applicants can pick less contested slots."""
    return selectors.slot_counts(_round(round_id))


@router.get(
    "/rounds/{round_id}/document", response={200: dict[str, Any], **ROUND_ERRORS}, summary="公開データ", tags=[ROUNDS]
)
def round_document(request: HttpRequest, round_id: int) -> Any:
    """The published seed, rules, anonymised canonical entry list and results (after publication)."""
    document = selectors.round_document(_round(round_id))
    if document is None:
        raise LotteryNotFound("unknown_round")
    return document.as_json()


@router.get("/rounds/{round_id}/verify", response={200: VerifyOut, **ROUND_ERRORS}, summary="結果の検証", tags=[ROUNDS])
def round_verify(request: HttpRequest, round_id: int) -> Any:
    """Recompute the published draw from its seed and list, and compare with the published results."""
    check = selectors.round_verify(_round(round_id))
    if check is None:
        raise LotteryNotFound("unknown_round")
    v = check.verification
    return VerifyOut(
        ok=check.ok,
        commitment_ok=v.commitment_ok,
        results_ok=v.results_ok,
        digest_ok=check.digest_ok,
        entries=v.entries,
        mismatches=v.mismatches,
        recomputed_digest=v.recomputed_digest,
    )


@router.get(
    "/me/entries",
    auth=django_auth,
    response={200: list[EntryOut], **ERRORS},
    summary="自分の抽選申込",
    tags=[MY_ENTRIES],
)
def my_entries(request: HttpRequest) -> Any:
    """Your entries and your represented groups', with outcomes once drawn."""
    return list(selectors.resident_entries(request_resident(request)))


@router.post(
    "/me/entries", auth=django_auth, response={201: EntryOut, **ERRORS}, summary="抽選に申し込む", tags=[MY_ENTRIES]
)
def my_entry_create(request: HttpRequest, payload: EntryIn) -> Status[LotteryEntry]:
    """Apply through the web channel. Refusals: 409 entry_cap, duplicate_entry, same_person,
    intake_not_open, intake_closed, not_in_lottery, slot_unavailable; 403 not_eligible_ward(_groups),
    not_active, not_group_member; 404 unknown_room, no_round; 400 bad_span, unknown_band."""
    resident = request_resident(request)
    group = requested_group(payload.group_id)
    entry = services.entry_apply(
        resident=resident,
        group=group,
        room_id=payload.room_id,
        date=payload.date,
        band_ids=payload.band_ids,
        channel=Channel.WEB,
        created_by=request.user,  # type: ignore[arg-type]
        now=timezone.now(),
    )
    return Status(201, entry)


@router.patch(
    "/me/entries/{entry_id}",
    auth=django_auth,
    response={200: EntryOut, **ERRORS},
    summary="申込を変更する",
    tags=[MY_ENTRIES],
)
def my_entry_change(request: HttpRequest, entry_id: int, payload: EntryChangeIn) -> Any:
    """Change the preference rank and/or the slot until intake closes."""
    return services.entry_change(
        entry_id=entry_id,
        resident=request_resident(request),
        now=timezone.now(),
        rank=payload.rank,
        room_id=payload.room_id,
        date=payload.date,
        band_ids=payload.band_ids,
    )


@router.post(
    "/me/entries/{entry_id}/withdraw",
    auth=django_auth,
    response={200: EntryOut, **ERRORS},
    summary="申込を取り下げる",
    tags=[MY_ENTRIES],
)
def my_entry_withdraw(request: HttpRequest, entry_id: int) -> Any:
    """Withdraw an entry until intake closes."""
    return services.entry_withdraw(
        entry_id=entry_id, resident=request_resident(request), channel=Channel.WEB, now=timezone.now()
    )


@router.post(
    "/me/outcomes/{outcome_id}/confirm",
    auth=django_auth,
    response={200: OutcomeOut, **ERRORS},
    summary="当選を確定する",
    tags=[MY_ENTRIES],
)
def my_outcome_confirm(request: HttpRequest, outcome_id: int) -> Any:
    """Confirm a win (or a runner-up offer) before its deadline: it becomes a provisional booking."""
    return services.win_confirm(outcome_id=outcome_id, resident=request_resident(request), now=timezone.now())


@router.post(
    "/me/outcomes/{outcome_id}/decline",
    auth=django_auth,
    response={200: OutcomeOut, **ERRORS},
    summary="当選を辞退する",
    tags=[MY_ENTRIES],
)
def my_outcome_decline(request: HttpRequest, outcome_id: int) -> Any:
    """Decline a win: the slot goes to the next runner-up."""
    return services.win_decline(
        outcome_id=outcome_id,
        resident=request_resident(request),
        now=timezone.now(),
        declined_by=request.user,  # type: ignore[arg-type]
        channel=Channel.WEB,
    )
