"""lottery/services.py: entries, the draw and publication, confirmation, runner-ups, e-mails."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from lottery import domain, selectors, services
from lottery.errors import LotteryError
from lottery.models import (
    Eligibility,
    EntryStatus,
    LotteryEntry,
    LotteryMail,
    LotteryOutcome,
    OfferState,
    Result,
    RoundState,
)
from reservations.errors import BookingError
from reservations.models import Channel, Occupancy, Reservation, ReservationKind, ReservationState, Residency
from reservations.services import block_create, reservation_cancel, reservation_create
from tests.factories import GroupFactory, ResidentFactory, StaffFactory, make_room
from tests.lottery.conftest import (
    AFTER_CLOSE,
    DRAW_AT,
    INTAKE_NOW,
    USE_DAY,
    apply,
    band_ids,
    close_and_draw,
    put_in_lottery,
)

pytestmark = pytest.mark.django_db


# --- entries ----------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_apply_records_the_entry_with_its_channel_and_rank(hall, lottery_round):
    resident = ResidentFactory()
    first = apply(resident, hall)
    second = apply(resident, hall, USE_DAY + dt.timedelta(days=1), channel=Channel.COUNTER)
    assert (first.rank, second.rank) == (1, 2)
    assert (first.channel, second.channel) == (Channel.WEB, Channel.COUNTER)
    assert first.applicant == f"r{resident.pk}" and first.person_id == resident.pk
    assert first.round_id == lottery_round.pk


def test_entries_are_refused_outside_intake(hall, lottery_round):
    resident = ResidentFactory()
    with pytest.raises(LotteryError) as early:
        apply(resident, hall, now=dt.datetime(2026, 11, 1, 8, 59, tzinfo=domain.TOKYO))
    assert early.value.code == "intake_not_open"
    with pytest.raises(LotteryError) as late:
        apply(resident, hall, now=AFTER_CLOSE)
    assert late.value.code == "intake_closed"
    assert not LotteryEntry.objects.exists()


def test_rooms_and_bands_outside_the_lottery_are_refused(facility, hall, lottery_round):
    plain = make_room(facility, "kaigi1")
    with pytest.raises(LotteryError) as error:
        apply(ResidentFactory(), plain)
    assert error.value.code == "not_in_lottery"
    services.lottery_room_save(lottery_room=hall.lottery, band_ids=band_ids(facility, "ev"))
    with pytest.raises(LotteryError):
        apply(ResidentFactory(), hall, codes=("am",))
    assert apply(ResidentFactory(), hall, codes=("ev",)).pk


def test_the_entry_cap_per_applicant_and_round(hall, lottery_round):
    lottery_round.max_entries = 2
    lottery_round.save()
    resident = ResidentFactory()
    apply(resident, hall, USE_DAY)
    apply(resident, hall, USE_DAY + dt.timedelta(days=1))
    with pytest.raises(LotteryError) as error:
        apply(resident, hall, USE_DAY + dt.timedelta(days=2))
    assert error.value.code == "entry_cap"
    # A group the same person represents is another applicant with its own cap.
    group = GroupFactory(representative=resident)
    assert apply(resident, hall, USE_DAY + dt.timedelta(days=2), group=group).applicant == f"g{group.pk}"


def test_one_person_cannot_enter_one_slot_as_individual_and_through_a_group(facility, hall, lottery_round):
    resident = ResidentFactory()
    group = GroupFactory(representative=resident)
    apply(resident, hall)
    with pytest.raises(LotteryError) as error:
        apply(resident, hall, group=group)
    assert error.value.code == "same_person"
    assert "個人と代表する団体" in error.value.message
    with pytest.raises(LotteryError) as again:
        apply(resident, hall)
    assert again.value.code == "duplicate_entry"
    # Overlapping spans and a divisible hall's halves count as the same slot too.
    with pytest.raises(LotteryError):
        apply(resident, hall, codes=("pm", "ev"), group=group)
    assert apply(resident, hall, codes=("am",), group=group).pk


def test_a_member_applying_for_the_group_counts_as_its_representative(hall, lottery_round):
    group = GroupFactory()
    member = ResidentFactory()
    group.members.add(member)
    apply(member, hall, group=group)
    with pytest.raises(LotteryError) as error:
        apply(group.representative, hall)
    assert error.value.code == "same_person"
    with pytest.raises(BookingError) as outsider:
        apply(ResidentFactory(), hall, USE_DAY + dt.timedelta(days=1), group=group)
    assert outsider.value.code == "not_group_member"


def test_eligibility_ward_only_and_ward_groups_only(facility, lottery_round):
    courts = make_room(facility, "court")
    put_in_lottery(courts, Eligibility.WARD)
    gym = make_room(facility, "gym")
    put_in_lottery(gym, Eligibility.WARD_GROUPS)
    outsider = ResidentFactory(residency=Residency.OUTSIDER)
    with pytest.raises(LotteryError) as error:
        apply(outsider, courts)
    assert error.value.code == "not_eligible_ward"
    assert apply(ResidentFactory(residency=Residency.WORKS), courts).pk
    ward_group = GroupFactory(member_count=10, resident_member_count=8)
    with pytest.raises(LotteryError) as individual:
        apply(ward_group.representative, gym)
    assert individual.value.code == "not_eligible_ward_groups"
    assert apply(ward_group.representative, gym, group=ward_group).pk
    outside_group = GroupFactory(member_count=10, resident_member_count=3)
    with pytest.raises(LotteryError):
        apply(outside_group.representative, gym, group=outside_group)


def test_slots_held_by_a_block_or_closure_at_intake_are_not_in_the_lottery(facility, hall, lottery_round):
    block_create(
        room_id=hall.pk,
        date=USE_DAY,
        band_ids=band_ids(facility, "ev"),
        note="区主催",
        staff_user=StaffFactory(),
        now=INTAKE_NOW,
    )
    with pytest.raises(LotteryError) as error:
        apply(ResidentFactory(), hall)
    assert error.value.code == "slot_unavailable"


def test_change_rank_and_slot_and_withdraw_until_close(hall, lottery_round):
    resident = ResidentFactory()
    a, b, c = (apply(resident, hall, USE_DAY + dt.timedelta(days=i)) for i in range(3))
    services.entry_change(entry_id=c.pk, resident=resident, rank=1, now=INTAKE_NOW)
    ranks = dict(LotteryEntry.objects.values_list("pk", "rank"))
    assert (ranks[c.pk], ranks[a.pk], ranks[b.pk]) == (1, 2, 3)
    moved = services.entry_change(
        entry_id=a.pk,
        resident=resident,
        date=USE_DAY + dt.timedelta(days=5),
        band_ids=band_ids(hall.facility, "am"),
        now=INTAKE_NOW,
    )
    assert (moved.date, moved.band_from.code) == (USE_DAY + dt.timedelta(days=5), "am")
    services.entry_withdraw(entry_id=c.pk, resident=resident, channel=Channel.WEB, now=INTAKE_NOW)
    assert LotteryEntry.objects.get(pk=c.pk).status == EntryStatus.WITHDRAWN
    assert sorted(LotteryEntry.objects.filter(status=EntryStatus.ACTIVE).values_list("rank", flat=True)) == [1, 2]
    with pytest.raises(LotteryError) as closed:
        services.entry_withdraw(entry_id=a.pk, resident=resident, channel=Channel.WEB, now=AFTER_CLOSE)
    assert closed.value.code == "intake_closed"
    with pytest.raises(LotteryError) as other:
        services.entry_withdraw(entry_id=a.pk, resident=ResidentFactory(), channel=Channel.WEB, now=INTAKE_NOW)
    assert other.value.code == "unknown_entry"
    with pytest.raises(LotteryError):
        services.entry_change(entry_id=a.pk, resident=resident, rank=7, now=INTAKE_NOW)


# --- close, draw, publication -----------------------------------------------------------------------


def test_close_commits_to_a_secret_seed_exactly_once(hall, lottery_round):
    assert not services.round_close(round_id=lottery_round.pk, now=INTAKE_NOW)  # not yet
    assert services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    lottery_round.refresh_from_db()
    seed, commitment = lottery_round.seed, lottery_round.seed_commitment
    assert len(bytes.fromhex(seed)) == 32
    assert commitment == domain.seed_commitment(bytes.fromhex(seed))
    assert lottery_round.seed_revealed == ""  # not shown before publication
    assert not services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    lottery_round.refresh_from_db()
    assert (lottery_round.seed, lottery_round.state) == (seed, RoundState.CLOSED)


@pytest.mark.smoke
def test_the_draw_publishes_outcomes_and_holds_wins_as_reservations_awaiting_confirmation(
    hall, lottery_round, django_capture_on_commit_callbacks
):
    residents = [ResidentFactory() for _ in range(4)]
    for resident in residents:
        apply(resident, hall)
    lone = apply(residents[0], hall, USE_DAY + dt.timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        summary = close_and_draw(lottery_round)

    assert summary is not None and summary.entries == 5 and summary.won == 2
    lottery_round.refresh_from_db()
    assert lottery_round.state == RoundState.PUBLISHED and lottery_round.seed_revealed == lottery_round.seed
    outcomes = list(LotteryOutcome.objects.select_related("entry", "reservation"))
    assert len(outcomes) == 5
    won = [o for o in outcomes if o.result == Result.WON]
    assert {o.entry.date for o in won} == {USE_DAY, USE_DAY + dt.timedelta(days=1)}
    assert LotteryOutcome.objects.get(entry=lone).result == Result.WON
    for outcome in won:
        reservation = outcome.reservation
        assert (reservation.kind, reservation.state) == (ReservationKind.LOTTERY, ReservationState.AWAITING)
        assert outcome.offer_state == OfferState.AWAITING and outcome.deadline == lottery_round.confirm_by
        assert reservation.fee == 1500  # a Saturday: the 土日祝 fee
        assert reservation.occupancies.count() == 1
    slot = [o for o in outcomes if o.entry.date == USE_DAY]
    assert sorted(o.result for o in slot) == ["lost", "runner_up", "runner_up", "won"]
    assert all(o.competitors == 4 for o in slot)
    assert sorted(o.position for o in slot) == sorted({o.position for o in slot})
    # Everyone got their results, once.
    assert len(mail.outbox) == 4
    assert LotteryMail.objects.filter(event="results").count() == 4
    assert selectors.round_verify(lottery_round).ok


def test_a_published_round_is_never_drawn_again(hall, lottery_round, django_capture_on_commit_callbacks):
    apply(ResidentFactory(), hall)
    with django_capture_on_commit_callbacks(execute=True):
        assert close_and_draw(lottery_round) is not None
    digest = lottery_round.__class__.objects.get(pk=lottery_round.pk).results_digest
    with django_capture_on_commit_callbacks(execute=True):
        assert services.round_draw(round_id=lottery_round.pk, now=DRAW_AT) is None
    assert LotteryOutcome.objects.count() == 1 and Reservation.objects.count() == 1
    assert lottery_round.__class__.objects.get(pk=lottery_round.pk).results_digest == digest
    assert len(mail.outbox) == 1


def test_entries_on_slots_blocked_after_intake_are_excluded_from_the_draw(facility, hall, lottery_round):
    blocked = apply(ResidentFactory(), hall)
    kept = apply(ResidentFactory(), hall, USE_DAY + dt.timedelta(days=1))
    block_create(
        room_id=hall.pk,
        date=USE_DAY,
        band_ids=band_ids(facility, "ev"),
        note="選挙",
        staff_user=StaffFactory(),
        now=AFTER_CLOSE,
    )
    summary = close_and_draw(lottery_round)
    lottery_round.refresh_from_db()
    assert summary.excluded == 1
    assert LotteryEntry.objects.get(pk=blocked.pk).status == EntryStatus.EXCLUDED
    assert not LotteryOutcome.objects.filter(entry=blocked).exists()
    assert LotteryOutcome.objects.get(entry=kept).result == Result.WON
    assert selectors.round_verify(lottery_round).ok


def test_the_win_cap_and_the_reason_shown(facility, hall, lottery_round):
    lottery_round.max_wins = 1
    lottery_round.save()
    resident = ResidentFactory()
    first = apply(resident, hall, USE_DAY)
    second = apply(resident, hall, USE_DAY + dt.timedelta(days=1))
    close_and_draw(lottery_round)
    assert LotteryOutcome.objects.get(entry=first).result == Result.WON
    capped = LotteryOutcome.objects.get(entry=second)
    assert (capped.result, capped.reason) == (Result.LOST, "cap")


def test_lottery_wins_do_not_count_toward_the_first_come_cap(facility, hall, lottery_round):
    """Caps are per kind: a resident with lottery wins still has their full first-come cap."""
    facility.group.max_active_bookings_per_month = 1
    facility.group.save()
    resident = ResidentFactory()
    apply(resident, hall)
    close_and_draw(lottery_round)
    other = make_room(facility, "kaigi1")
    booking = reservation_create(
        resident=resident,
        room_id=other.pk,
        date=USE_DAY,
        band_ids=band_ids(facility, "am"),
        channel=Channel.WEB,
        booked_by=resident.user,
        now=dt.datetime(2026, 12, 1, 9, 0, tzinfo=domain.TOKYO),
    )
    assert booking.kind == ReservationKind.FIRST_COME


# --- confirmation and runner-ups -------------------------------------------------------------------


def drawn_slot(hall, lottery_round, k=3):
    residents = [ResidentFactory() for _ in range(k)]
    for resident in residents:
        apply(resident, hall)
    close_and_draw(lottery_round)
    mail.outbox.clear()
    outcomes = LotteryOutcome.objects.select_related("entry__resident").order_by("runner_up_rank")
    won = outcomes.get(result=Result.WON)
    runner_ups = list(outcomes.filter(result=Result.RUNNER_UP).order_by("runner_up_rank"))
    return won, runner_ups


def test_confirming_makes_a_provisional_booking_with_a_payment_deadline(
    hall, lottery_round, django_capture_on_commit_callbacks
):
    won, _ = drawn_slot(hall, lottery_round)
    now = DRAW_AT + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.win_confirm(outcome_id=won.pk, resident=won.entry.resident, now=now)
    won.refresh_from_db()
    assert won.offer_state == OfferState.CONFIRMED
    reservation = Reservation.objects.get(pk=won.reservation_id)
    assert reservation.state == ReservationState.PROVISIONAL and reservation.payment_deadline is not None
    assert reservation.payment_deadline > now
    assert len(mail.outbox) == 1 and reservation.reference in mail.outbox[0].body
    with pytest.raises(LotteryError) as again:
        services.win_confirm(outcome_id=won.pk, resident=won.entry.resident, now=now)
    assert again.value.code == "not_offered"
    assert len(mail.outbox) == 1


def test_only_the_winner_may_confirm_and_not_after_the_deadline(hall, lottery_round):
    won, runner_ups = drawn_slot(hall, lottery_round)
    with pytest.raises(LotteryError) as stranger:
        services.win_confirm(outcome_id=won.pk, resident=runner_ups[0].entry.resident, now=DRAW_AT)
    assert stranger.value.code == "unknown_outcome"
    with pytest.raises(LotteryError) as late:
        services.win_confirm(outcome_id=won.pk, resident=won.entry.resident, now=lottery_round.confirm_by)
    assert late.value.code == "offer_expired"


def test_declining_offers_the_slot_to_the_first_runner_up_with_its_own_deadline(
    hall, lottery_round, django_capture_on_commit_callbacks
):
    won, runner_ups = drawn_slot(hall, lottery_round)
    now = DRAW_AT + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.win_decline(outcome_id=won.pk, resident=won.entry.resident, now=now)
    assert Reservation.objects.get(pk=won.reservation_id).state == ReservationState.CANCELLED
    first = LotteryOutcome.objects.get(pk=runner_ups[0].pk)
    assert first.offer_state == OfferState.AWAITING
    assert first.deadline == dt.datetime(2026, 11, 16, 23, 59, 59, tzinfo=domain.TOKYO)
    assert first.reservation.state == ReservationState.AWAITING
    assert [m.to for m in mail.outbox] == [[first.entry.resident.user.email]]
    assert Occupancy.objects.filter(reservation=first.reservation).count() == 1


def test_a_win_cancelled_as_a_booking_moves_the_runner_up_at_the_next_tick(hall, lottery_round):
    won, runner_ups = drawn_slot(hall, lottery_round)
    resident = won.entry.resident
    reservation_cancel(
        reservation_id=won.reservation_id,
        resident=resident,
        cancelled_by=resident.user,
        channel=Channel.WEB,
        now=DRAW_AT,
    )
    assert services.offers_expire(round_id=lottery_round.pk, now=DRAW_AT + dt.timedelta(minutes=1)) == 1
    assert LotteryOutcome.objects.get(pk=won.pk).offer_state == OfferState.DECLINED
    assert LotteryOutcome.objects.get(pk=runner_ups[0].pk).offer_state == OfferState.AWAITING


def test_the_runner_up_offer_respects_the_win_cap(facility, hall, lottery_round):
    lottery_round.max_wins = 1
    lottery_round.save()
    a, b = ResidentFactory(), ResidentFactory()
    apply(b, hall, USE_DAY + dt.timedelta(days=1))  # b's first choice: nobody else wants it
    apply(b, hall, USE_DAY)
    apply(a, hall, USE_DAY)
    close_and_draw(lottery_round)
    # Whatever the order: b takes its first choice and is then at its cap; a wins the first day and
    # b is its runner-up. When a declines, b is skipped (at its cap) and the slot is free.
    first_day = LotteryOutcome.objects.get(entry__date=USE_DAY, result=Result.WON)
    assert first_day.entry.resident_id == a.pk
    assert LotteryOutcome.objects.get(entry__date=USE_DAY, entry__resident=b).result == Result.RUNNER_UP
    services.win_decline(outcome_id=first_day.pk, resident=a, now=DRAW_AT)
    assert not Occupancy.objects.filter(date=USE_DAY).exists()
    assert LotteryOutcome.objects.get(entry__date=USE_DAY, entry__resident=b).offer_state == OfferState.NONE


def test_one_results_mail_per_person_not_per_entry(hall, lottery_round, django_capture_on_commit_callbacks):
    resident = ResidentFactory()
    group = GroupFactory(representative=resident)
    apply(resident, hall, USE_DAY)
    apply(resident, hall, USE_DAY + dt.timedelta(days=1), group=group)
    with django_capture_on_commit_callbacks(execute=True):
        close_and_draw(lottery_round)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [resident.user.email]
    assert mail.outbox[0].body.count("当選") >= 2
