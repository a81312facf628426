"""The lottery's pages: rounds (public, with the seed commitment, the published seed, the download and
the verification), entries per slot during intake, applying, my entries and results, confirming.

Thin: each view parses its input, calls selectors or one service, and renders.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reservations import availability_cache
from reservations import domain as booking_domain
from reservations import selectors as booking_selectors
from reservations.abandoned import client_gone, dropped
from reservations.errors import MESSAGES as BOOKING_MESSAGES
from reservations.errors import BookingError
from reservations.forms import parse_band_ids, resident_groups
from reservations.models import Channel, Resident, TimeBand, User
from reservations.views import REFUSAL_HEADER

from . import page_cache, selectors, services
from .errors import MESSAGES, LotteryError
from .models import EntryStatus, LotteryRound, OfferState, Result, RoundState

NO_RESIDENT = _(
    "このアカウントには利用者登録がないため、インターネットでの抽選申込はできません。"
    "職員の方は管理画面（窓口）から申込を受け付けてください。"
)


def _now() -> dt.datetime:
    return timezone.now()


def _resident(request: HttpRequest) -> Resident | None:
    try:
        return cast(User, request.user).resident
    except Resident.DoesNotExist:
        return None


def _error(request: HttpRequest, message: object, status: int, **context: object) -> HttpResponse:
    response = render(request, "reservations/error.html", {"message": message, **context}, status=status)
    return response


def _round_or_404(request: HttpRequest, round_id: int) -> LotteryRound | HttpResponse:
    lottery_round = selectors.round_get(round_id)
    if lottery_round is None:
        return _error(request, MESSAGES["unknown_round"], 404)
    return lottery_round


# Refusals about the state of things (the same for everyone): the short page, before the user is loaded.
STATE_REFUSALS = frozenset({"intake_not_open", "intake_closed", "slot_unavailable"})


def _public_page(
    request: HttpRequest,
    kind: str,
    render_page: Callable[[dt.datetime], page_cache.Rendered],
    *,
    counts_key: str | None = None,
    version_keys: Sequence[str] = (),
) -> HttpResponse:
    """A public lottery page, rendered once (without the request: base_public.html) and served
    from the cache to everyone (lottery/page_cache.py): the intake crowd costs one cache read each."""
    now = _now()
    key = f"lottery:page:{kind}:{get_language()}:{request.get_full_path()}"
    rendered = page_cache.page(key, now, lambda: render_page(now), counts_key=counts_key, version_keys=version_keys)
    return HttpResponse(rendered.html, status=rendered.status)


def _public_error(request: HttpRequest, message: object, status: int) -> page_cache.Rendered:
    html = render_to_string("lottery/refused.html", {"message": message, "path": request.path})
    return page_cache.Rendered(html, status=status)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Rounds taking entries now, and recent rounds with their results."""

    def page(now: dt.datetime) -> page_cache.Rendered:
        rounds = selectors.rounds_recent()
        open_rounds = selectors.rounds_in_intake(now)
        context = {"open_rounds": open_rounds, "rounds": rounds, "now": now, "path": request.path}
        instants = [m for r in [*rounds, *open_rounds] for m in (r.intake_opens_at, r.intake_closes_at)]
        html = render_to_string("lottery/index.html", context)
        return page_cache.Rendered(html, changes_at=page_cache.Rendered.instants(*instants))

    return _public_page(request, "index", page, version_keys=[page_cache.ROUNDS_VERSION_KEY])


@require_GET
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    """The public page of a round: calendar, rooms in the lottery, the seed commitment from close,
    the seed, download and verification once published."""

    def page(now: dt.datetime) -> page_cache.Rendered:
        found = selectors.round_get(round_id)
        if found is None:
            return _public_error(request, MESSAGES["unknown_round"], 404)
        context = {
            "round": found,
            "facilities": selectors.round_facilities(found),
            "intake_open": found.intake_is_open(now),
            "entry_count": selectors.round_entry_count(found),
            "published": found.state in (RoundState.PUBLISHED, RoundState.FINISHED),
            "stale_seconds": int(page_cache.stale_seconds()),
            "path": request.path,
        }
        html = render_to_string("lottery/round.html", context)
        changes_at = page_cache.Rendered.instants(found.intake_opens_at, found.intake_closes_at)
        return page_cache.Rendered(html, changes_at=changes_at)

    return _public_page(
        request,
        "round",
        page,
        counts_key=page_cache.round_version_key(round_id),
        version_keys=[page_cache.ROUNDS_VERSION_KEY],
    )


@require_GET
def round_room(request: HttpRequest, round_id: int, room_id: int) -> HttpResponse:
    """Entries per day and band of one room, with links to apply while intake is open. The counts
    may be a few seconds old (the page says so)."""

    def page(now: dt.datetime) -> page_cache.Rendered:
        found = selectors.round_get(round_id)
        if found is None:
            return _public_error(request, MESSAGES["unknown_round"], 404)
        lottery_room = next((lr for lr in selectors.round_rooms(found) if lr.room_id == room_id), None)
        if lottery_room is None:
            return _public_error(request, MESSAGES["not_in_lottery"], 404)
        grid = selectors.room_grid(found, lottery_room)
        intake_open = found.intake_is_open(now)
        context = {
            "round": found,
            "grid": grid,
            "rows": _room_rows(grid, room_id) if intake_open else grid.rows,
            "room": lottery_room.room,
            "intake_open": intake_open,
            "stale_seconds": int(page_cache.stale_seconds()),
            "path": request.path,
        }
        html = render_to_string("lottery/room.html", context)
        changes_at = page_cache.Rendered.instants(found.intake_opens_at, found.intake_closes_at)
        return page_cache.Rendered(html, changes_at=changes_at)

    # The cells show whether a slot is held (blocks, closures): the room's facility version too.
    room = booking_selectors.room_with_bands(room_id)
    facility_keys = [availability_cache.facility_version_key(room[0].facility_id)] if room is not None else []
    return _public_page(
        request,
        "room",
        page,
        counts_key=page_cache.round_version_key(round_id),
        version_keys=[page_cache.ROUNDS_VERSION_KEY, *facility_keys],
    )


@dataclass(frozen=True)
class _ApplyCell:
    """A cell of the room page during intake, its link and hidden label made once per day and band
    (a per-cell {% url %} and {% blocktranslate %} made the page cost tens of milliseconds)."""

    available: bool
    entries: int
    href: str
    label: str


def _room_rows(grid: selectors.RoomGrid, room_id: int) -> list[tuple[TimeBand, list[_ApplyCell]]]:
    apply_urls = {day: reverse("lottery:apply", args=[room_id, day]) for day in grid.days}
    day_labels = {day: date_format(day, gettext("n月j日")) for day in grid.days}
    label = gettext("件（%(d)s %(b)sに申し込む）")
    rows = []
    for band, cells in grid.rows:
        query = f"?bands={band.pk}"
        rows.append(
            (
                band,
                [
                    _ApplyCell(
                        c.available,
                        c.entries,
                        apply_urls[c.day] + query,
                        label % {"d": day_labels[c.day], "b": band.label},
                    )
                    for c in cells
                ],
            )
        )
    return rows


def _intake_refusal(lottery_round: LotteryRound | None, now: dt.datetime) -> str | None:
    """Whether the round takes entries now, by its (cached) dates and state: the services decide
    the same way (lottery.services._check_intake)."""
    if lottery_round is None or lottery_round.intake_is_open(now):
        return None
    if lottery_round.state in (RoundState.SCHEDULED, RoundState.OPEN) and now < lottery_round.intake_opens_at:
        return "intake_not_open"
    return "intake_closed"


def _refused(request: HttpRequest, code: str, status: int, back_url: str = "") -> HttpResponse:
    """The short refusal page with the X-Refusal header (as reservations' booking refusals), the
    same for everyone: rendered once per process for each language, message and slot."""
    message = MESSAGES.get(code) or BOOKING_MESSAGES[code]
    response = HttpResponse(_refusal_page(get_language(), str(message), back_url, request.path), status=status)
    response[REFUSAL_HEADER] = code
    return response


@lru_cache(maxsize=4096)
def _refusal_page(language: str, message: str, back_url: str, path: str) -> str:
    return render_to_string("lottery/refused.html", {"message": message, "back_url": back_url, "path": path})


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, room_id: int, day: dt.date) -> HttpResponse:
    """GET: confirm the slot, name (individual or group) and what happens next. POST: apply.

    The room, its bands and the round come from the caches; a POST outside the intake window is
    refused before the user is loaded (the early crowd re-posts every fraction of a second)."""
    if SESSION_KEY not in request.session:
        return redirect_to_login(request.get_full_path())
    found = selectors.slot_room(room_id)
    if found is None:
        return _error(request, BOOKING_MESSAGES["unknown_room"], 404)
    room, bands, lottery_room = found
    if lottery_room is None:
        return _error(request, MESSAGES["not_in_lottery"], 404)
    raw_bands = request.POST.getlist("bands") if request.method == "POST" else request.GET.getlist("bands")
    try:
        chosen = parse_band_ids(raw_bands, bands)
    except BookingError as error:
        return _error(request, error.message, error.status)
    lottery_round = selectors.round_for(room.facility.group_id, booking_domain.month_start(day))
    back_url = reverse("lottery:round_room", args=[lottery_round.pk, room.pk]) if lottery_round else ""
    if request.method == "POST" and (code := _intake_refusal(lottery_round, _now())) is not None:
        return _refused(request, code, 409, back_url)
    if not request.user.is_authenticated:  # the session names a user who no longer may log in
        return redirect_to_login(request.get_full_path())
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    groups = resident_groups(resident)
    context = {
        "room": room,
        "day": day,
        "chosen": chosen,
        "groups": groups,
        "round": lottery_round,
        "resident": resident,
    }
    if request.method == "GET":
        return render(request, "lottery/apply.html", context)
    group_id = request.POST.get("group") or ""
    group = next((g for g in groups if str(g.pk) == group_id), None)
    if group_id and group is None:
        return render(
            request, "lottery/apply.html", {**context, "error": BOOKING_MESSAGES["not_group_member"]}, status=403
        )
    if client_gone(request):  # the resident gave up waiting: make no entry nobody will be told of
        return dropped()
    try:
        entry = services.entry_apply(
            resident=resident,
            group=group,
            room_id=room.pk,
            date=day,
            band_ids=[b.pk for b in chosen],
            channel=Channel.WEB,
            created_by=cast(User, request.user),
            now=_now(),
        )
    except BookingError as error:
        if error.code in STATE_REFUSALS:
            return _refused(request, error.code, error.status, back_url)
        response = render(request, "lottery/apply.html", {**context, "error": error.message}, status=error.status)
        response[REFUSAL_HEADER] = error.code
        return response
    messages.success(
        request,
        gettext("抽選に申し込みました（第%(rank)s希望）。受付期間中は変更・取下げができます。") % {"rank": entry.rank},
    )
    messages.info(
        request,
        gettext(
            "このあとの流れ: %(draw)sに抽選し、結果をこのページとメールでお知らせします。"
            "当選したら%(confirm)sまでに当選を確定し、使用料をお支払いください。"
        )
        % {
            "draw": date_format(timezone.localtime(entry.round.draw_at), gettext("Y年n月j日(D) H:i")),
            "confirm": date_format(timezone.localtime(entry.round.confirm_by), gettext("Y年n月j日(D) H:i")),
        },
    )
    return redirect("lottery:my_entries")


@login_required
@require_GET
def my_entries(request: HttpRequest) -> HttpResponse:
    """My entries by round: preferences while intake is open, results after the draw, and the
    wins and runner-up offers to confirm."""
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    now = _now()
    entries = list(selectors.resident_entries(resident))
    rounds: dict[int, dict[str, object]] = {}
    for entry in entries:
        block = rounds.setdefault(
            entry.round_id,
            {"round": entry.round, "entries": [], "intake_open": entry.round.intake_is_open(now)},
        )
        cast(list, block["entries"]).append(entry)
    context = {
        "rounds": list(rounds.values()),
        "now": now,
        "open_rounds": selectors.rounds_in_intake(now),
        "EntryStatus": EntryStatus,
        "OfferState": OfferState,
        "Result": Result,
    }
    return render(request, "lottery/my_entries.html", context)


def _entry_action(request: HttpRequest, action: str, entry_id: int) -> HttpResponse:
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    try:
        if action == "withdraw":
            services.entry_withdraw(entry_id=entry_id, resident=resident, channel=Channel.WEB, now=_now())
            messages.success(request, gettext("抽選申込を取り下げました。"))
        else:
            try:
                rank = int(request.POST.get("rank", ""))
            except ValueError:
                raise LotteryError("bad_rank", status=400) from None
            services.entry_change(entry_id=entry_id, resident=resident, rank=rank, now=_now())
            messages.success(request, gettext("希望順位を変更しました。"))
    except BookingError as error:
        if error.code == "bad_rank":
            return _error(request, MESSAGES["bad_rank"], 400)
        messages.error(request, error.message)
    return redirect("lottery:my_entries")


@login_required
@require_POST
def entry_withdraw(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _entry_action(request, "withdraw", entry_id)


@login_required
@require_POST
def entry_rank(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _entry_action(request, "rank", entry_id)


@login_required
@require_POST
def outcome_confirm(request: HttpRequest, outcome_id: int) -> HttpResponse:
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    try:
        outcome = services.win_confirm(outcome_id=outcome_id, resident=resident, now=_now())
    except BookingError as error:
        messages.error(request, error.message)
        return redirect("lottery:my_entries")
    messages.success(
        request,
        gettext("当選を確定しました（予約番号 %(reference)s）。お支払い期限までに使用料をお支払いください。")
        % {"reference": outcome.reservation.reference if outcome.reservation else ""},
    )
    return redirect("lottery:my_entries")


@login_required
@require_POST
def outcome_decline(request: HttpRequest, outcome_id: int) -> HttpResponse:
    resident = _resident(request)
    if resident is None:
        return _error(request, NO_RESIDENT, 403)
    try:
        services.win_decline(
            outcome_id=outcome_id,
            resident=resident,
            now=_now(),
            declined_by=cast(User, request.user),
            channel=Channel.WEB,
        )
    except BookingError as error:
        messages.error(request, error.message)
        return redirect("lottery:my_entries")
    messages.success(request, gettext("当選を辞退しました。"))
    return redirect("lottery:my_entries")


@require_GET
def round_download(request: HttpRequest, round_id: int) -> HttpResponse:
    """The published seed, rules, anonymised canonical entry list and results, as JSON."""
    found = _round_or_404(request, round_id)
    if isinstance(found, HttpResponse):
        return found
    document = selectors.round_document(found)
    if document is None:
        return _error(request, gettext("抽選結果はまだ公開されていません。"), 404)
    body = json.dumps(document.as_json(), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lottery-{found.pk}-{found.use_month:%Y-%m}.json"'
    return response


@require_GET
def round_verify(request: HttpRequest, round_id: int) -> HttpResponse:
    """Recompute the published draw on the server, from the published seed and list, and compare."""
    found = _round_or_404(request, round_id)
    if isinstance(found, HttpResponse):
        return found
    check = selectors.round_verify(found)
    if check is None:
        return _error(request, gettext("抽選結果はまだ公開されていません。"), 404)
    context = {
        "round": found,
        "check": check,
        "download_url": reverse("lottery:round_download", args=[found.pk]),
    }
    return render(request, "lottery/verify.html", context)
