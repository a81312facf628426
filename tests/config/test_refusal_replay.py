"""config/refusal_replay.py: the "already taken" answer, replayed in front of Django only while
Django would give the very same one. Driven through config.wsgi.application, as uWSGI calls it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from config import refusal_replay, release
from config.wsgi import application
from reservations import waiting_room
from tests.factories import FacilityFactory, ResidentFactory, cancel_on_the_web, make_room
from tests.reservations.test_views import take
from tests.reservations.test_waiting_room import ROOM_SETTINGS, book_url

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


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    content: bytes

    def __getitem__(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name.lower())

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.content.decode()


def wsgi(method: str, url: str, **headers: str) -> Answer:
    """One request through the WSGI application, as the server makes it. The test database lives in
    a transaction, so Django's per-request connection housekeeping is held off as the test client
    does."""
    make = RequestFactory().get if method == "GET" else RequestFactory().post
    environ = make(url, headers=headers).environ
    seen: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> None:
        seen["status"], seen["headers"] = status, response_headers

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        content = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(status=int(str(seen["status"])[:3]), headers=list(seen["headers"]), content=content)  # type: ignore[call-overload]


def get(url: str, **headers: str) -> Answer:
    return wsgi("GET", url, **headers)


def logged_in_cookie(resident) -> str:
    client = Client()
    client.force_login(resident.user)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def own_headers(answer: Answer) -> list[tuple[str, str]]:
    return [(name, value) for name, value in answer.headers if name != "X-Request-ID"]


def test_a_repeated_question_gets_django_s_own_answer_from_memory(room):
    take(room)
    before = refusal_replay.replayed

    url = book_url(room)
    first = get(url)
    with CaptureQueriesContext(connection) as queries:
        second = get(url)

    assert first.status == 409 and first["X-Refusal"] == "slot_taken"
    assert refusal_replay.replayed == before + 1
    assert second.status == first.status
    assert second.content == first.content
    assert own_headers(second) == own_headers(first)
    assert second["X-Request-ID"] and second["X-Request-ID"] != first["X-Request-ID"]
    assert len(queries) == 0


def test_the_request_s_own_id_is_echoed(room):
    take(room)
    get(book_url(room))

    answer = get(book_url(room), x_request_id="lb-7f3a")

    assert answer.status == 409 and answer["X-Request-ID"] == "lb-7f3a"


def test_a_slot_freed_since_goes_to_django_again(room):
    booking = take(room)
    assert get(book_url(room)).status == 409
    cancel_on_the_web(booking, NOW)
    before = refusal_replay.replayed

    again = get(book_url(room))

    assert refusal_replay.replayed == before
    assert again.status == 302 and "/accounts/login/" in again["Location"]  # free: log in to book


def test_a_logged_in_resident_is_told_the_same_and_a_free_slot_shows_the_form(room):
    take(room)
    cookie = logged_in_cookie(ResidentFactory())
    get(book_url(room), cookie=cookie)
    before = refusal_replay.replayed

    taken = get(book_url(room), cookie=cookie)
    am, pm = (room.facility.time_bands.get(code=code).pk for code in ("am", "pm"))
    free = get(book_url(room).replace(f"bands={am}", f"bands={pm}"), cookie=cookie)

    assert taken.status == 409 and refusal_replay.replayed == before + 1
    assert free.status == 200 and "この内容で予約する" in free.text


def test_languages_are_answered_apart_by_header_and_by_cookie(room):
    take(room)
    asked = [{"accept_language": "en"}, {"accept_language": "ja"}, {"accept_language": "ja", "cookie": "lang=en"}]
    for headers in asked:
        get(book_url(room), **headers)
    before = refusal_replay.replayed

    answers = [get(book_url(room), **headers) for headers in asked]

    assert refusal_replay.replayed == before + 3
    assert [a["Content-Language"] for a in answers] == ["en", "ja", "en"]
    assert "already" in answers[0].text.lower() and "すでに予約済みの枠" in answers[1].text
    assert answers[2].content == answers[0].content


def test_an_answer_that_sets_a_cookie_is_not_remembered(room):
    take(room)
    stale = "sessionid=bad"  # not a session key: Django answers with the cookie deleted
    first = get(book_url(room), cookie=stale)
    before = refusal_replay.replayed

    second = get(book_url(room), cookie=stale)

    assert first.status == second.status == 409 and second.get("Set-Cookie")
    assert refusal_replay.replayed == before


def test_a_question_this_layer_cannot_read_is_left_to_django(room):
    take(room)
    too_many = book_url(room) + "&bands=1" * 1000  # over DATA_UPLOAD_MAX_NUMBER_FIELDS

    answer = get(too_many)

    assert answer.status == 400  # Django's answer to a suspicious request, not a crash in front of it
    assert not refusal_replay._answers


def test_a_post_always_goes_to_django(room):
    take(room)
    get(book_url(room))
    before = refusal_replay.replayed

    answer = wsgi("POST", book_url(room))

    assert answer.status == 403  # the CSRF check still comes first
    assert refusal_replay.replayed == before


def test_other_pages_pass_straight_through(room):
    before = refusal_replay.replayed

    answers = [get("/"), get("/")]

    assert [a.status for a in answers] == [200, 200]
    assert refusal_replay.replayed == before and not refusal_replay._answers


def test_the_waiting_room_is_never_bypassed(room):
    opens = dt.datetime(2026, 11, 1, 9, 0, tzinfo=TOKYO)
    take(room)
    with time_machine.travel(opens - dt.timedelta(hours=1), tick=False):  # no opening near: remembered
        assert get(book_url(room)).status == 409
    waiting_room.forget_openings()
    cookie = logged_in_cookie(ResidentFactory())
    before = refusal_replay.replayed

    with override_settings(**ROOM_SETTINGS), time_machine.travel(opens + dt.timedelta(seconds=5), tick=False):
        answer = get(book_url(room), cookie=cookie)
    waiting_room.forget_openings()

    assert answer.get("X-Waiting-Room") == "queued"
    assert refusal_replay.replayed == before


def test_a_full_memory_forgets_its_oldest_answer(room, monkeypatch):
    take(room)
    monkeypatch.setattr(refusal_replay._answers, "size", 1)
    get(book_url(room), accept_language="en")
    get(book_url(room), accept_language="ja")  # remembered in place of the English answer

    kept = list(refusal_replay._answers._kept.values())

    assert len(kept) == 1 and ("Content-Language", "ja") in kept[0].headers


def test_an_answer_kept_by_one_process_is_given_by_another(room):
    take(room)
    first = get(book_url(room))
    refusal_replay._answers.clear()  # as a process that has not seen the question yet
    before = refusal_replay.replayed

    url = book_url(room)
    with CaptureQueriesContext(connection) as queries:
        second = get(url)

    assert refusal_replay.replayed == before + 1 and len(queries) == 0
    assert second.content == first.content and own_headers(second) == own_headers(first)


def test_other_code_never_gives_what_this_code_shared(room, monkeypatch):
    take(room)
    get(book_url(room))
    refusal_replay._answers.clear()
    monkeypatch.setattr(release, "fingerprint", lambda: "another-release")
    before = refusal_replay.replayed

    assert get(book_url(room)).status == 409
    assert refusal_replay.replayed == before  # asked Django
