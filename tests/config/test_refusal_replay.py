"""config/refusal_replay.py: the "already taken" answer, replayed only while the full stack would
give the very same one."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from config import refusal_replay
from reservations import waiting_room
from tests.factories import FacilityFactory, ResidentFactory, cancel_on_the_web, make_room
from tests.reservations.test_views import take
from tests.reservations.test_waiting_room import ROOM_SETTINGS, book_url, queued

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)  # December's first-come window is open


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def room():
    return make_room(FacilityFactory(), "r1")


def own_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.items() if name != "X-Request-ID"}


def test_a_repeated_question_gets_the_stack_s_own_answer_from_memory(room):
    take(room)
    client = Client()
    before = refusal_replay.replayed

    url = book_url(room)
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url)

    assert first.status_code == 409 and first["X-Refusal"] == "slot_taken"
    assert refusal_replay.replayed == before + 1
    assert second.status_code == first.status_code
    assert second.content == first.content
    assert own_headers(second) == own_headers(first)
    assert second["X-Request-ID"] and second["X-Request-ID"] != first["X-Request-ID"]
    assert len(queries) == 0


def test_a_slot_freed_since_goes_through_the_stack_again(room):
    booking = take(room)
    client = Client()
    assert client.get(book_url(room)).status_code == 409
    cancel_on_the_web(booking, NOW)
    before = refusal_replay.replayed

    again = client.get(book_url(room))

    assert refusal_replay.replayed == before
    assert again.status_code == 302 and "/accounts/login/" in again["Location"]  # free: log in to book


def test_a_logged_in_resident_is_told_the_same_and_a_free_slot_shows_the_form(room):
    take(room)
    client = Client()
    client.force_login(ResidentFactory().user)
    client.get(book_url(room))
    before = refusal_replay.replayed

    taken = client.get(book_url(room))
    other_band = room.facility.time_bands.get(code="pm").pk
    free = client.get(
        book_url(room).replace(f"bands={room.facility.time_bands.get(code='am').pk}", f"bands={other_band}")
    )

    assert taken.status_code == 409 and refusal_replay.replayed == before + 1
    assert free.status_code == 200 and "この内容で予約する" in free.text


def test_languages_are_answered_apart(room):
    take(room)
    english, japanese = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="ja")
    english.get(book_url(room))
    japanese.get(book_url(room))

    answers = english.get(book_url(room)), japanese.get(book_url(room))

    assert [a["Content-Language"] for a in answers] == ["en", "ja"]
    assert "already" in answers[0].text.lower() and "すでに予約済みの枠" in answers[1].text


def test_a_post_always_goes_through_the_stack(room):
    take(room)
    client = Client(enforce_csrf_checks=True)
    client.get(book_url(room))
    before = refusal_replay.replayed

    response = client.post(book_url(room), {"bands": room.facility.time_bands.get(code="am").pk})

    assert response.status_code == 403  # the CSRF check still comes first
    assert refusal_replay.replayed == before


def test_the_waiting_room_is_never_bypassed(room):
    opens = dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO)
    take(room)
    client = Client()
    with time_machine.travel(opens - dt.timedelta(hours=1), tick=False):  # no opening near: remembered
        assert client.get(book_url(room)).status_code == 409
    waiting_room.forget_openings()
    resident_client = Client()
    resident_client.force_login(ResidentFactory().user)
    before = refusal_replay.replayed

    with override_settings(**ROOM_SETTINGS), time_machine.travel(opens + dt.timedelta(seconds=5), tick=False):
        response = resident_client.get(book_url(room))
    waiting_room.forget_openings()

    assert queued(response)
    assert refusal_replay.replayed == before


def test_a_full_memory_forgets_its_oldest_answer(room, monkeypatch):
    take(room)
    monkeypatch.setattr(refusal_replay, "MAX_ANSWERS", 1)
    english, japanese = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="ja")
    english.get(book_url(room))
    japanese.get(book_url(room))  # remembered in place of the English answer
    before = refusal_replay.replayed

    english.get(book_url(room))

    assert refusal_replay.replayed == before  # forgotten: asked the stack again
    assert len(refusal_replay._answers) == 1
