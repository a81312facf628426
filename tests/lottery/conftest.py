"""Shared set-up of the lottery tests: one facility group with a hall in the lottery, and the round
for January 2027 on the default calendar (intake 2026-11-01 09:00 → 11-10 23:59, draw 11-11 09:00,
confirm by 11-17, release 11-24 23:59; first-come for January opens 2026-12-01 09:00)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from lottery import services
from lottery.models import Eligibility, LotteryEntry, LotteryRoom, LotteryRound
from reservations.domain import TOKYO
from reservations.models import Channel, Facility, Group, Resident, Room
from tests.factories import FacilityFactory, make_room

USE_MONTH = dt.date(2027, 1, 1)
USE_DAY = dt.date(2027, 1, 9)  # a Saturday
INTAKE_NOW = dt.datetime(2026, 11, 5, 10, 0, tzinfo=TOKYO)
AFTER_CLOSE = dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=TOKYO)
DRAW_AT = dt.datetime(2026, 11, 11, 9, 0, tzinfo=TOKYO)


def band_ids(facility: Facility, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def put_in_lottery(room: Room, eligibility: str = Eligibility.ANYONE) -> LotteryRoom:
    return services.lottery_room_save(lottery_room=LotteryRoom(room=room, eligibility=eligibility))


def apply(
    resident: Resident,
    room: Room,
    day: dt.date = USE_DAY,
    codes: Sequence[str] = ("ev",),
    *,
    group: Group | None = None,
    now: dt.datetime = INTAKE_NOW,
    channel: str = Channel.WEB,
) -> LotteryEntry:
    return services.entry_apply(
        resident=resident,
        group=group,
        room_id=room.pk,
        date=day,
        band_ids=band_ids(room.facility, *codes),
        channel=channel,
        created_by=resident.user,
        now=now,
    )


def close_and_draw(lottery_round: LotteryRound) -> Any:
    assert services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    return services.round_draw(round_id=lottery_round.pk, now=DRAW_AT)


@pytest.fixture
def facility() -> Facility:
    return FacilityFactory(name="春日区民センター")


@pytest.fixture
def hall(facility: Facility) -> Room:
    room = make_room(facility, "hall", capacity=200)
    put_in_lottery(room)
    return room


@pytest.fixture
def lottery_round(facility: Facility) -> LotteryRound:
    return services.round_create(facility_group=facility.group, use_month=USE_MONTH)
