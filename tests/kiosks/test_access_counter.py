"""kiosks/access_counter.py and the access flush: what one access is, that counting costs a resident's
request no database work and never fails it, and that every count reaches `AccessCount` exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from kiosks import access_counter, report_services, report_tasks
from kiosks.models import AccessCount
from reservations.domain import TOKYO
from reservations.models import Channel

NOW = dt.datetime(2026, 10, 15, 10, 0, tzinfo=TOKYO)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def _empty_tally():
    access_counter.tally.take()
    yield
    access_counter.tally.take()


def total(day: dt.date = DAY) -> dict[str, int]:
    return dict(AccessCount.objects.filter(date=day).values_list("channel", "count"))


@pytest.mark.parametrize(
    ("path", "channel"),
    [
        ("/", Channel.WEB),
        ("/facilities/3/month/2026/10/", Channel.WEB),
        ("/lottery/", Channel.WEB),
        ("/accounts/login/", Channel.WEB),
        ("/staff/", Channel.COUNTER),
        ("/staff/reports/", Channel.COUNTER),
        ("/admin/reservations/reservation/", Channel.COUNTER),
        ("/payments/staff/cash-up/", Channel.COUNTER),
        ("/payments/bookings/4/", Channel.WEB),
        ("/kiosk/availability/", None),  # counted per tablet in KioskAccess
        ("/api/v1/facilities", None),
        ("/static/css/site.css", None),
        ("/payments/webhook/", None),
        ("/i18n/setlang/", None),
    ],
)
def test_the_channel_comes_from_the_path(path, channel):
    assert access_counter.channel_for_path(path) == channel


def test_only_whole_html_pages_answered_with_2xx_to_a_get_are_page_views():
    factory = RequestFactory()
    page = HttpResponse("<p>x</p>")
    assert access_counter.is_page_view(factory.get("/"), page)
    assert not access_counter.is_page_view(factory.post("/"), page)
    assert not access_counter.is_page_view(factory.get("/", headers={"HX-Request": "true"}), page)
    assert not access_counter.is_page_view(factory.get("/"), JsonResponse({}))
    assert not access_counter.is_page_view(factory.get("/"), HttpResponse(status=302))
    assert not access_counter.is_page_view(factory.get("/"), HttpResponse("<p>gone</p>", status=404))
    queued = HttpResponse("<p>please wait</p>")
    queued["X-Waiting-Room"] = "queued"
    assert not access_counter.is_page_view(factory.get("/"), queued)


@pytest.mark.django_db
def test_counting_a_page_view_touches_no_database(django_assert_num_queries):
    middleware = access_counter.AccessCountMiddleware(lambda request: HttpResponse("<p>x</p>"))
    request = RequestFactory().get("/lottery/")
    with django_assert_num_queries(0):
        for _ in range(5):
            middleware(request)
    # At most once a second the tally is added to Redis (no database there either).
    client = access_counter.redis_client()
    assert client is not None
    in_redis = int(client.get(access_counter.redis_key(access_counter._today.get(), Channel.WEB)) or 0)
    assert access_counter.tally.pending() + in_redis == 5


@pytest.mark.django_db
def test_page_views_reach_the_database_per_day_and_channel(time_machine):
    time_machine.move_to(NOW, tick=False)
    visitor = Client()
    for _ in range(3):
        assert visitor.get(reverse("reservations:home")).status_code == 200
    assert visitor.get(reverse("lottery:index")).status_code == 200
    assert visitor.get(reverse("login")).status_code == 200
    assert visitor.get("/no-such-page/").status_code == 404
    assert visitor.get(reverse("reservations:home"), headers={"HX-Request": "true"}).status_code == 200
    assert report_services.access_counts_flush(now=NOW) == 5
    assert total() == {Channel.WEB: 5}
    # Counted again later the same day: added to the row, not replacing it.
    visitor.get(reverse("reservations:home"))
    assert report_services.access_counts_flush(now=NOW) == 1
    assert total() == {Channel.WEB: 6}


@pytest.mark.django_db
def test_with_redis_down_requests_are_answered_and_the_counts_wait_in_the_process(monkeypatch, time_machine):
    time_machine.move_to(NOW, tick=False)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.25, socket_connect_timeout=0.25)
    monkeypatch.setattr(access_counter, "_client", lambda: dead)
    visitor = Client()
    assert visitor.get(reverse("reservations:home")).status_code == 200
    assert not access_counter.tally.push()
    assert report_services.access_counts_flush(now=NOW) == 0  # nothing moved, nothing raised
    assert access_counter.tally.pending() == 1
    monkeypatch.undo()  # Redis is back
    assert report_services.access_counts_flush(now=NOW) == 1
    assert total() == {Channel.WEB: 1}


@pytest.mark.django_db
def test_without_redis_the_report_takes_the_counts_from_the_process(settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.REDIS_URL = ""
    access_counter._client.cache_clear()
    try:
        Client().get(reverse("reservations:home"))
        assert access_counter.tally.pending() == 1
        assert report_services.access_counts_flush(now=NOW) == 1
    finally:
        access_counter._client.cache_clear()
    assert total() == {Channel.WEB: 1}


@pytest.mark.django_db(transaction=True)
def test_flushes_racing_each_other_and_new_counts_move_every_count_exactly_once():
    client = access_counter.redis_client()
    assert client is not None
    adders, rounds, per_round = 3, 40, 5
    errors: list[BaseException] = []

    def add() -> None:
        for _ in range(rounds):
            access_counter.add_to_redis(client, Counter({(DAY, Channel.WEB): per_round, (DAY, Channel.COUNTER): 1}))

    def flush() -> None:
        try:
            for _ in range(rounds):
                report_services.access_counts_flush(now=NOW)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=add) for _ in range(adders)] + [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    report_services.access_counts_flush(now=NOW)
    assert total() == {Channel.WEB: adders * rounds * per_round, Channel.COUNTER: adders * rounds}


@pytest.mark.django_db
def test_the_beat_tick_flushes_and_is_scheduled():
    client = access_counter.redis_client()
    assert client is not None
    access_counter.add_to_redis(client, Counter({(dt.date.today(), Channel.COUNTER): 2}))
    assert report_tasks.tick.delay().get()["accesses_flushed"] == 2
    assert settings.CELERY_BEAT_SCHEDULE["reports-tick"]["task"] == report_tasks.tick.name
    assert "kiosks.report_tasks" in settings.CELERY_IMPORTS
