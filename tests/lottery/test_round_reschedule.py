"""lottery.services.round_reschedule: staff move a round's dates before its intake opens."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from lottery import domain, services
from lottery.errors import LotteryError
from lottery.models import LotteryRound
from reservations.domain import TOKYO

pytestmark = pytest.mark.django_db

BEFORE_INTAKE = dt.datetime(2026, 10, 20, 10, 0, tzinfo=TOKYO)


def moved(lottery_round: LotteryRound, days: int) -> domain.RoundCalendar:
    shift = dt.timedelta(days=days)
    return domain.RoundCalendar(
        intake_opens_at=lottery_round.intake_opens_at + shift,
        intake_closes_at=lottery_round.intake_closes_at + shift,
        draw_at=lottery_round.draw_at + shift,
        confirm_by=lottery_round.confirm_by + shift,
        release_at=lottery_round.release_at + shift,
    )


def test_dates_move_before_intake_and_stay_in_order(lottery_round):
    wanted = moved(lottery_round, 2)
    services.round_reschedule(round_id=lottery_round.pk, calendar=wanted, now=BEFORE_INTAKE)
    lottery_round.refresh_from_db()
    assert lottery_round.intake_opens_at == wanted.intake_opens_at and lottery_round.release_at == wanted.release_at

    out_of_order = dataclasses.replace(wanted, draw_at=wanted.intake_opens_at)
    with pytest.raises(LotteryError) as refused:
        services.round_reschedule(round_id=lottery_round.pk, calendar=out_of_order, now=BEFORE_INTAKE)
    assert refused.value.code == "bad_calendar"
    # Releasing after first-come opens (2026-12-01 09:00 for January) is refused too.
    too_late = moved(lottery_round, 10)
    with pytest.raises(LotteryError) as late:
        services.round_reschedule(round_id=lottery_round.pk, calendar=too_late, now=BEFORE_INTAKE)
    assert late.value.code == "bad_calendar"


def test_an_opening_in_the_past_and_a_round_already_open_are_refused(lottery_round):
    past = dataclasses.replace(moved(lottery_round, 0), intake_opens_at=BEFORE_INTAKE - dt.timedelta(hours=1))
    with pytest.raises(LotteryError) as refused:
        services.round_reschedule(round_id=lottery_round.pk, calendar=past, now=BEFORE_INTAKE)
    assert refused.value.code == "opening_in_past"

    opened_at = lottery_round.intake_opens_at + dt.timedelta(minutes=1)
    assert services.round_open(round_id=lottery_round.pk, now=opened_at)
    with pytest.raises(LotteryError) as started:
        services.round_reschedule(round_id=lottery_round.pk, calendar=moved(lottery_round, 1), now=BEFORE_INTAKE)
    assert started.value.code == "round_started"
    # By the clock alone (no tick yet) intake has begun as well.
    other = services.round_create(facility_group=lottery_round.facility_group, use_month=dt.date(2027, 2, 1))
    with pytest.raises(LotteryError) as by_clock:
        services.round_reschedule(
            round_id=other.pk, calendar=moved(other, 1), now=other.intake_opens_at + dt.timedelta(seconds=1)
        )
    assert by_clock.value.code == "round_started"
