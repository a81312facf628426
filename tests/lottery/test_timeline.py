"""The monthly cycle end to end under time-machine, driven only by the periodic tick (the Celery
task, run eagerly): scheduling, intake, close, draw and publication, confirmation, a runner-up moved
up, a decline, release to first-come. Every tick is run twice: a doubled tick changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core import mail

from lottery import services, tasks
from lottery.models import LotteryOutcome, LotteryRound, OfferState, Result, RoundState
from reservations.domain import TOKYO
from reservations.models import Channel, Occupancy, Reservation, ReservationState
from reservations.services import reservation_create
from tests.factories import ResidentFactory
from tests.lottery.conftest import USE_DAY, USE_MONTH, apply, band_ids

pytestmark = pytest.mark.django_db(transaction=True)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(at(2026, 10, 20, 12, 0), tick=False) as traveller:
        yield traveller


def tick_twice() -> dict[str, int]:
    first = tasks.tick()
    second = tasks.tick()
    assert all(count == 0 for count in second.values()), second
    return first


def mails_to(resident) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [resident.user.email]]


def test_intake_draw_confirm_runner_up_release(clock, hall) -> None:
    # October: the tick creates the rounds whose intake is this month or next.
    tick_twice()
    lottery_round = LotteryRound.objects.get(facility_group=hall.facility.group, use_month=USE_MONTH)
    assert lottery_round.state == RoundState.SCHEDULED

    clock.move_to(at(2026, 11, 1, 9, 0, 1))
    assert tick_twice()["opened"] >= 1
    contested = [ResidentFactory() for _ in range(3)]
    for resident in contested:
        apply(resident, hall, now=at(2026, 11, 1, 9, 0, 1))
    lone = ResidentFactory()
    apply(lone, hall, USE_DAY + dt.timedelta(days=1), now=at(2026, 11, 1, 9, 0, 1))

    clock.move_to(at(2026, 11, 11, 0, 0))
    assert tick_twice()["closed"] >= 1
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.CLOSED and lottery_round.seed_commitment
    assert lottery_round.seed_revealed == ""

    clock.move_to(at(2026, 11, 11, 9, 0))
    assert tick_twice()["drawn"] == 1
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.PUBLISHED and lottery_round.seed_revealed
    assert len(mail.outbox) == 4  # one results mail per person
    outcomes = LotteryOutcome.objects.select_related("entry__resident")
    winner = outcomes.get(entry__date=USE_DAY, result=Result.WON)
    runner_ups = list(outcomes.filter(entry__date=USE_DAY, result=Result.RUNNER_UP).order_by("runner_up_rank"))
    assert len(runner_ups) == 2
    lone_win = outcomes.get(entry__resident=lone)

    clock.move_to(at(2026, 11, 12, 20, 0))
    services.win_confirm(outcome_id=lone_win.pk, resident=lone, now=at(2026, 11, 12, 20, 0))

    # The winner of the contested slot lets the deadline (11-17 23:59:59) pass.
    clock.move_to(at(2026, 11, 18, 0, 1))
    assert tick_twice()["expired"] == 1
    winner.refresh_from_db()
    assert winner.offer_state == OfferState.EXPIRED
    assert Reservation.objects.get(pk=winner.reservation_id).state == ReservationState.EXPIRED
    first = LotteryOutcome.objects.get(pk=runner_ups[0].pk)
    assert first.offer_state == OfferState.AWAITING
    assert first.deadline == at(2026, 11, 21, 23, 59, 59)
    assert len(mails_to(winner.entry.resident)) == 2  # results, then the lapse
    assert len(mails_to(first.entry.resident)) == 2  # results, then the offer

    clock.move_to(at(2026, 11, 19, 10, 0))
    services.win_decline(outcome_id=first.pk, resident=first.entry.resident, now=at(2026, 11, 19, 10, 0))
    second = LotteryOutcome.objects.get(pk=runner_ups[1].pk)
    assert second.offer_state == OfferState.AWAITING and second.deadline == at(2026, 11, 22, 23, 59, 59)

    # The second runner-up does not answer either; release comes after their deadline.
    clock.move_to(at(2026, 11, 23, 0, 0))
    tick_twice()
    assert LotteryOutcome.objects.get(pk=second.pk).offer_state == OfferState.EXPIRED
    clock.move_to(at(2026, 11, 25, 0, 0))
    assert tick_twice()["finished"] == 1
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.FINISHED
    contested_cells = Occupancy.objects.filter(date=USE_DAY)
    assert not contested_cells.exists()  # unclaimed: it joins first-come
    confirmed = Reservation.objects.get(pk=lone_win.reservation_id)
    assert confirmed.state == ReservationState.PROVISIONAL and confirmed.occupancies.count() == 1

    # December 1st, 09:00: first-come opens, and the released slot can be booked.
    clock.move_to(at(2026, 12, 1, 9, 0, 5))
    someone = ResidentFactory()
    booking = reservation_create(
        resident=someone,
        room_id=hall.pk,
        date=USE_DAY,
        band_ids=band_ids(hall.facility, "ev"),
        channel=Channel.WEB,
        booked_by=someone.user,
        now=at(2026, 12, 1, 9, 0, 5),
    )
    assert booking.state == ReservationState.PROVISIONAL
    # Each person got each event's mail once.
    assert len(mail.outbox) == len({(m.to[0], m.subject) for m in mail.outbox}) == 9
