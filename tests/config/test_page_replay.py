"""config/page_replay.py: the availability grids given again in front of Django, only while Django
would serve the very same rendering. Driven through config.wsgi.application, as uWSGI calls it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import page_replay
from kiosks.models import AccessCount
from kiosks.report_services import access_counts_flush
from reservations import availability_cache, waiting_room
from reservations.models import Channel
from tests.config.test_health import UNREACHABLE_REDIS
from tests.config.test_refusal_replay import NOW, get, logged_in_cookie, own_headers, wsgi
from tests.factories import FacilityFactory, cancel_on_the_web, make_room
from tests.reservations.test_views import USE_DAY, take
from tests.reservations.test_waiting_room import ROOM_SETTINGS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fresh():
    page_replay.forget()
    yield
    page_replay.forget()


@pytest.fixture
def web_views(db):
    """Page views on the web since the test began, as the monthly report counts them (the process's
    tally and what it already pushed to Redis, moved into AccessCount)."""

    def counted() -> int:
        access_counts_flush(now=NOW)
        return sum(AccessCount.objects.filter(date=NOW.date(), channel=Channel.WEB).values_list("count", flat=True))

    before = counted()  # what earlier tests left in Redis
    return lambda: counted() - before


@pytest.fixture
def room():
    return make_room(FacilityFactory(), "r1")


def month_url(room) -> str:
    return reverse("reservations:facility_month", args=[room.facility.pk, USE_DAY.year, USE_DAY.month])


def week_url(room) -> str:
    return reverse("reservations:facility_week", args=[room.facility.pk, USE_DAY])


@pytest.mark.parametrize("url", [month_url, week_url], ids=["month", "week"])
def test_a_repeated_question_gets_django_s_own_answer_from_memory(room, url):
    first = get(url(room))
    before = page_replay.replayed
    with CaptureQueriesContext(connection) as queries:
        second = get(url(room))

    assert first.status == 200 and first["X-Availability-Version"]
    assert page_replay.replayed == before + 1
    assert second.status == 200 and second.content == first.content
    assert own_headers(second) == own_headers(first)
    assert second["X-Request-ID"] and second["X-Request-ID"] != first["X-Request-ID"]
    assert len(queries) == 0
    assert all(kept.page.html == "" for kept in page_replay._answers._kept.values())  # the page is kept once


def test_an_answer_kept_by_one_process_is_given_by_another(room, web_views):
    first = get(month_url(room))
    page_replay._answers.clear()  # as a process that has not seen the question yet
    before = page_replay.replayed

    second = get(month_url(room))

    assert page_replay.replayed == before + 1
    assert second.content == first.content and own_headers(second) == own_headers(first)
    assert web_views() == 2


def test_a_booking_sends_the_next_request_to_django_for_the_new_page(room):
    first = get(month_url(room))
    take(room)  # AVAILABILITY_RERENDER_SECONDS is 0 in tests: the page is out of date at once
    before = page_replay.replayed

    after = get(month_url(room))
    again = get(month_url(room))

    assert page_replay.replayed == before + 1  # the new rendering, from memory the second time
    assert int(after["X-Availability-Version"]) > int(first["X-Availability-Version"])
    assert after.content != first.content and again.content == after.content


def test_a_page_outdated_by_bookings_alone_is_given_while_django_would_still_serve_it(room, clock):
    with override_settings(AVAILABILITY_RERENDER_SECONDS=5.0):
        first = get(month_url(room))
        take(room)
        before = page_replay.replayed

        clock.shift(4)
        kept = get(month_url(room))  # rendered 4 s ago: Django too serves it, with its version
        clock.shift(2)
        redrawn = get(month_url(room))

    assert page_replay.replayed == before + 1
    assert kept.content == first.content and kept["X-Availability-Version"] == first["X-Availability-Version"]
    assert int(redrawn["X-Availability-Version"]) > int(first["X-Availability-Version"])


def test_a_new_minute_and_a_catalogue_edit_go_to_django(room, clock):
    get(month_url(room))
    before = page_replay.replayed

    clock.shift(60)
    get(month_url(room))
    availability_cache.bump_catalogue()
    get(month_url(room))

    assert page_replay.replayed == before


def test_a_cancellation_shows_the_slot_free_again_at_once(room):
    booking = take(room)
    get(month_url(room))
    taken = get(week_url(room))
    cancel_on_the_web(booking, NOW)

    freed = get(week_url(room))

    assert freed.content != taken.content
    assert freed.content.count(b"/book/") == taken.content.count(b"/book/") + 1


def test_languages_and_logged_in_residents_are_answered_alike_by_question(room):
    asked = [{"accept_language": "en"}, {"accept_language": "ja"}, {"accept_language": "ja", "cookie": "lang=en"}]
    for headers in asked:
        get(month_url(room), **headers)
    before = page_replay.replayed

    answers = [get(month_url(room), **headers) for headers in asked]
    logged_in = get(month_url(room), accept_language="ja", cookie=logged_in_cookie(take(room).resident))

    assert [a["Content-Language"] for a in answers] == ["en", "ja", "en"]
    assert answers[2].content == answers[0].content != answers[1].content
    assert page_replay.replayed == before + 3
    assert logged_in.status == 200 and "Set-Cookie" not in dict(logged_in.headers)


def test_given_pages_are_counted_as_page_views_and_fragments_are_not(room, web_views):
    get(month_url(room))
    get(month_url(room))
    get(month_url(room), hx_request="true")
    get(month_url(room), hx_request="true")

    assert page_replay.replayed >= 2
    assert web_views() == 2


def test_only_a_grid_s_successful_get_is_kept(room):
    missing = reverse("reservations:facility_month", args=[room.facility.pk + 999, 2026, 12])
    for _ in range(2):
        assert get(missing).status == 404
        assert get(month_url(room) + "?purpose=nonsense").status == 400
        wsgi("POST", month_url(room))
    assert len(page_replay._answers) == 0


def test_with_the_cache_down_django_answers(room):
    get(month_url(room))
    before = page_replay.replayed

    with override_settings(CACHES=UNREACHABLE_REDIS):
        availability_cache.bump_catalogue()  # forget the process's catalogue version
        answer = get(month_url(room))

    assert answer.status == 200 and "X-Availability-Version" not in dict(answer.headers)
    assert page_replay.replayed == before


def test_the_waiting_room_is_never_bypassed(room):
    get(month_url(room))
    before = page_replay.replayed
    opens = dt.datetime(2026, 11, 1, 9, 0, tzinfo=NOW.tzinfo)  # December's first-come opening

    with override_settings(**ROOM_SETTINGS), time_machine.travel(opens + dt.timedelta(seconds=5), tick=False):
        waiting_room.forget_openings()
        get(month_url(room))
    waiting_room.forget_openings()

    assert page_replay.replayed == before
