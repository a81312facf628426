"""The waiting room at the lottery intake's opening (lottery/apps.py registers it with
reservations/waiting_room.py): with the room on, the apply step is gated in the opening minute like
the first-come booking step, the entries-per-slot pages stay open, and far from the opening nobody
waits. Real Redis and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse

from lottery import domain, services
from reservations import waiting_room
from reservations.domain import TOKYO
from tests.factories import ResidentFactory
from tests.lottery.conftest import INTAKE_NOW, USE_DAY, USE_MONTH, band_ids
from tests.reservations.test_waiting_room import ROOM_SETTINGS, queued, visit

pytestmark = pytest.mark.django_db

# An intake opening of its own (no first-come opening at that minute), set by hand.
OPENS = dt.datetime(2026, 11, 3, 10, 30, tzinfo=TOKYO)
CALENDAR = domain.RoundCalendar(
    intake_opens_at=OPENS,
    intake_closes_at=dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=TOKYO),
    draw_at=dt.datetime(2026, 11, 11, 9, 0, tzinfo=TOKYO),
    confirm_by=dt.datetime(2026, 11, 17, 23, 59, 59, tzinfo=TOKYO),
    release_at=dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=TOKYO),
)


@pytest.fixture(autouse=True)
def _room_on():
    waiting_room.forget_openings()
    with override_settings(**ROOM_SETTINGS):
        yield
    waiting_room.forget_openings()


@pytest.fixture
def own_round(facility):
    return services.round_create(facility_group=facility.group, use_month=USE_MONTH, calendar=CALENDAR)


def apply_url(room) -> str:
    return reverse("lottery:apply", args=[room.pk, USE_DAY]) + f"?bands={band_ids(room.facility, 'ev')[0]}"


def test_the_apply_step_waits_in_the_intake_opening_minute_and_is_let_in_after(hall, own_round):
    resident = ResidentFactory()
    answer = visit(resident, apply_url(hall), OPENS + dt.timedelta(seconds=10))
    assert answer.status_code == 200 and queued(answer)
    assert answer["X-Queue-Position"] == "1"
    # The only one waiting: let in as the arrival window ends.
    admitted = visit(resident, apply_url(hall), OPENS + dt.timedelta(seconds=61))
    assert not queued(admitted) and "この枠の抽選に申し込む" in admitted.text


def test_the_entries_per_slot_pages_stay_open_and_far_from_the_opening_nobody_waits(hall, own_round):
    room_page = reverse("lottery:round_room", args=[own_round.pk, hall.pk])
    assert not queued(visit(ResidentFactory(), room_page, OPENS + dt.timedelta(seconds=10)))
    assert not queued(visit(ResidentFactory(), apply_url(hall), INTAKE_NOW))
