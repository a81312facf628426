"""The lottery at the counter (kiosks/counter_views.py, counter_manage_views.py): entries and
withdrawals on a resident's behalf, and round administration — dates before intake, the draw
and its verification — for the facility groups in scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from lottery import services as lottery_services
from lottery.models import EntryStatus, LotteryEntry, LotteryRound, RoundState
from reservations.domain import TOKYO
from reservations.models import Channel, StaffRole
from tests.factories import FacilityFactory, FacilityGroupFactory, ResidentFactory, make_room
from tests.kiosks.counter_support import band_ids, counter_desk, desk, other_facility
from tests.lottery.conftest import AFTER_CLOSE, USE_DAY, USE_MONTH, apply, put_in_lottery

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(facility):
    room = make_room(facility, "hall", capacity=200)
    put_in_lottery(room)
    return room


@pytest.fixture
def january(facility):
    """January 2027's round: intake 2026-11-01 09:00 → 11-10 23:59, open at the test clock."""
    return lottery_services.round_create(facility_group=facility.group, use_month=USE_MONTH)


def test_staff_apply_for_a_resident_and_withdraw_with_channel_counter(clock, facility, hall, january):
    client, staff = counter_desk(facility)
    resident = ResidentFactory(registered_facility=facility)
    start = client.get(reverse("staff:lottery_start", args=[resident.pk])).content.decode()
    url = reverse("staff:lottery_apply", args=[resident.pk, hall.pk])
    assert url in start

    outside = client.post(url, {"day": "2026-12-05", "bands": band_ids(facility, "ev")})
    assert outside.status_code == 400 and "この抽選の利用月の日付" in outside.content.decode()
    response = client.post(url, {"day": USE_DAY.isoformat(), "bands": band_ids(facility, "ev")}, follow=True)

    assert "抽選に申し込みました（第1希望）" in response.content.decode()
    entry = LotteryEntry.objects.get()
    assert entry.channel == Channel.COUNTER and entry.created_by == staff and entry.resident == resident
    again = client.post(url, {"day": USE_DAY.isoformat(), "bands": band_ids(facility, "ev")})
    assert again.status_code == 409 and "この枠にはすでに申し込んでいます" in again.content.decode()

    client.post(reverse("staff:entry_withdraw", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN and entry.withdraw_channel == Channel.COUNTER


def test_lottery_rooms_and_entries_of_another_facility_are_404(clock, facility, hall, january):
    theirs = other_facility()
    their_hall = make_room(theirs, "their-hall", capacity=200)
    put_in_lottery(their_hall)
    resident = ResidentFactory(registered_facility=facility)
    their_entry = apply(resident, their_hall)
    client, _ = counter_desk(facility)
    start = client.get(reverse("staff:lottery_start", args=[resident.pk])).content.decode()
    assert reverse("staff:lottery_apply", args=[resident.pk, their_hall.pk]) not in start
    assert client.get(reverse("staff:lottery_apply", args=[resident.pk, their_hall.pk])).status_code == 404
    assert client.post(reverse("staff:entry_withdraw", args=[their_entry.pk])).status_code == 404
    their_entry.refresh_from_db()
    assert their_entry.status == EntryStatus.ACTIVE


@pytest.fixture
def february(facility):
    """February 2027's round: intake opens 2026-12-01 09:00, after the test clock."""
    return lottery_services.round_create(facility_group=facility.group, use_month=dt.date(2027, 2, 1))


def dates(**changes: str) -> dict[str, str]:
    form = {
        "intake_opens_at": "2026-12-02T09:00",
        "intake_closes_at": "2026-12-11T23:59",
        "draw_at": "2026-12-12T09:00",
        "confirm_by": "2026-12-18T23:59",
        "release_at": "2026-12-25T23:59",
    }
    return {**form, **changes}


def test_a_manager_moves_a_rounds_dates_before_intake_opens_but_not_after(clock, facility, february, january):
    manager, _ = desk(StaffRole.FACILITY_MANAGER, facility)
    page = manager.get(reverse("staff:round", args=[february.pk])).content.decode()
    assert "日程を変更する" in page

    bad = manager.post(reverse("staff:round_dates", args=[february.pk]), dates(draw_at="2026-12-10T09:00"))
    assert bad.status_code == 400 and "抽選の日程が正しくありません" in bad.content.decode()
    manager.post(reverse("staff:round_dates", args=[february.pk]), dates())
    february.refresh_from_db()
    assert february.intake_opens_at == dt.datetime(2026, 12, 2, 9, 0, tzinfo=TOKYO)
    assert february.draw_at == dt.datetime(2026, 12, 12, 9, 0, tzinfo=TOKYO)

    # January's intake is open: its dates hold.
    started = manager.post(
        reverse("staff:round_dates", args=[january.pk]),
        dates(intake_opens_at="2026-11-20T09:00", intake_closes_at="2026-11-25T23:59"),
    )
    assert started.status_code == 409 and "申込受付が始まった抽選の日程は変更できません" in started.content.decode()
    january.refresh_from_db()
    assert january.intake_opens_at == dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO)


def test_counter_staff_and_managers_of_part_of_the_group_may_not_change_a_round(clock, facility, february):
    other_facility()  # the group's second facility
    counter, _ = counter_desk(facility)
    assert counter.get(reverse("staff:rounds")).status_code == 200
    assert counter.post(reverse("staff:round_dates", args=[february.pk]), dates()).status_code == 403
    partial, _ = desk(StaffRole.FACILITY_MANAGER, facility)
    assert "すべての施設を担当する管理者" in partial.get(reverse("staff:round", args=[february.pk])).content.decode()
    assert partial.post(reverse("staff:round_dates", args=[february.pk]), dates()).status_code == 403
    assert partial.post(reverse("staff:round_draw", args=[february.pk])).status_code == 403
    # Staff whose facilities are all in another facility group do not see the round at all.
    elsewhere = FacilityFactory(group=FacilityGroupFactory(code="sports", name="スポーツ施設"))
    stranger, _ = desk(StaffRole.FACILITY_MANAGER, elsewhere)
    assert reverse("staff:round", args=[february.pk]) not in stranger.get(reverse("staff:rounds")).content.decode()
    assert stranger.get(reverse("staff:round", args=[february.pk])).status_code == 404
    assert stranger.post(reverse("staff:round_dates", args=[february.pk]), dates()).status_code == 404
    february.refresh_from_db()
    assert february.intake_opens_at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)


def test_a_manager_draws_a_closed_round_once_and_verifies_it(clock, facility, hall, january):
    manager, manager_user = desk(StaffRole.FACILITY_MANAGER, facility)
    for _ in range(3):
        apply(ResidentFactory(), hall)
    draw = reverse("staff:round_draw", args=[january.pk])
    early = manager.post(draw, follow=True)
    assert "受付終了後に一度だけ抽選できます" in early.content.decode()
    assert LotteryRound.objects.get(pk=january.pk).state == RoundState.SCHEDULED  # no tick has run yet

    clock.move_to(AFTER_CLOSE + dt.timedelta(minutes=5))
    done = manager.post(draw, follow=True).content.decode()
    assert "抽選を実施し、結果を公開しました（申込 3件、当選 1件）" in done
    january.refresh_from_db()
    assert january.state == RoundState.PUBLISHED and january.drawn_by == manager_user
    assert "受付終了後に一度だけ抽選できます" in manager.post(draw, follow=True).content.decode()

    verified = manager.get(reverse("staff:round", args=[january.pk]), {"verify": "1"}).content.decode()
    assert "公開した結果と一致しています" in verified
