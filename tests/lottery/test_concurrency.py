"""Real races on PostgreSQL: threads (each with its own connection) trigger the draw at once, fire
entries at one applicant's cap, and confirm against decline. No mocks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from lottery import selectors, services
from lottery.models import (
    EntryStatus,
    LotteryEntry,
    LotteryMail,
    LotteryOutcome,
    LotteryRound,
    OfferState,
    Result,
    RoundState,
)
from reservations.models import Reservation, ReservationKind, ReservationState
from tests.factories import GroupFactory, ResidentFactory, StaffFactory
from tests.lottery.conftest import AFTER_CLOSE, DRAW_AT, USE_DAY, apply
from tests.reservations.test_concurrency import errors, race, winners

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("lottery-concurrency"),
]

TRIGGERS = 10


def test_a_draw_triggered_many_times_at_once_draws_exactly_once(hall, lottery_round: LotteryRound) -> None:
    residents = [ResidentFactory() for _ in range(12)]
    for i, resident in enumerate(residents):
        apply(resident, hall, USE_DAY + dt.timedelta(days=i % 3))
        apply(resident, hall, USE_DAY + dt.timedelta(days=3 + i % 2))
    assert services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    staff = StaffFactory()
    mail.outbox.clear()

    # Workers, a beat tick and a staff click, all at once.
    calls = [lambda: services.round_draw(round_id=lottery_round.pk, now=DRAW_AT) for _ in range(TRIGGERS - 3)]
    calls += [lambda: services.rounds_advance(now=DRAW_AT) for _ in range(2)]
    calls.append(lambda: services.round_draw(round_id=lottery_round.pk, now=DRAW_AT, staff_user=staff))
    outcomes = race(calls)

    assert not errors(outcomes), [repr(e) for e in errors(outcomes)]
    results = winners(outcomes)
    drew = [r for r in results if isinstance(r, services.DrawSummary)]
    ticks = [r for r in results if isinstance(r, services.TickSummary)]
    assert len(drew) + sum(t.drawn for t in ticks) == 1, "the draw ran more or less than once"
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.PUBLISHED
    assert LotteryOutcome.objects.count() == LotteryEntry.objects.filter(status=EntryStatus.ACTIVE).count() == 24
    won = LotteryOutcome.objects.filter(result=Result.WON).count()
    assert won == 5  # five slots, each entered
    assert Reservation.objects.filter(kind=ReservationKind.LOTTERY, state=ReservationState.AWAITING).count() == won
    assert LotteryMail.objects.filter(event="results").count() == len(residents)
    assert len(mail.outbox) == len(residents)  # after commit, once per person
    assert selectors.round_verify(lottery_round).ok


def test_one_applicant_firing_entries_gets_exactly_the_cap(hall, lottery_round: LotteryRound) -> None:
    lottery_round.max_entries = 4
    lottery_round.save()
    resident = ResidentFactory()
    days = [USE_DAY + dt.timedelta(days=i) for i in range(12)]

    outcomes = race([lambda day=day: apply(resident, hall, day) for day in days])

    assert len(winners(outcomes)) == 4
    assert sorted(getattr(e, "code", repr(e)) for e in errors(outcomes)) == ["entry_cap"] * 8
    assert sorted(LotteryEntry.objects.values_list("rank", flat=True)) == [1, 2, 3, 4]


def test_one_person_racing_for_one_slot_as_individual_and_through_groups_gets_one_entry(
    hall, lottery_round: LotteryRound
) -> None:
    resident = ResidentFactory()
    groups = [GroupFactory(representative=resident) for _ in range(5)]

    outcomes = race([lambda: apply(resident, hall)] * 3 + [lambda g=g: apply(resident, hall, group=g) for g in groups])

    assert len(winners(outcomes)) == 1
    assert {getattr(e, "code", repr(e)) for e in errors(outcomes)} <= {"same_person", "duplicate_entry"}
    assert LotteryEntry.objects.count() == 1


def test_confirm_racing_decline_exactly_one_wins(hall, lottery_round: LotteryRound) -> None:
    residents = [ResidentFactory() for _ in range(3)]
    for resident in residents:
        apply(resident, hall)
    services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    services.round_draw(round_id=lottery_round.pk, now=DRAW_AT)
    won = LotteryOutcome.objects.select_related("entry__resident").get(result=Result.WON)
    person = won.entry.resident
    now = DRAW_AT + dt.timedelta(hours=1)

    outcomes = race(
        [lambda: services.win_confirm(outcome_id=won.pk, resident=person, now=now)] * 4
        + [lambda: services.win_decline(outcome_id=won.pk, resident=person, now=now)] * 4
    )

    assert len(winners(outcomes)) == 1
    assert {getattr(e, "code", repr(e)) for e in errors(outcomes)} == {"not_offered"}
    won.refresh_from_db()
    offered = LotteryOutcome.objects.filter(offer_state=OfferState.AWAITING).count()
    if won.offer_state == OfferState.CONFIRMED:
        assert Reservation.objects.get(pk=won.reservation_id).state == ReservationState.PROVISIONAL
        assert offered == 0
    else:
        assert won.offer_state == OfferState.DECLINED
        assert offered == 1  # the first runner-up
