"""lottery/page_cache.py through the pages: the room and round pages are served from the cache, their
entry counts follow entries within LOTTERY_COUNTS_STALE_SECONDS, they flip at the intake's opening
second, catalogue changes show at once, and apply refusals carry X-Refusal (the early ones before
the user is even loaded). Real Redis and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lottery import page_cache, services
from lottery.models import LotteryEntry, LotteryRoom
from tests.factories import ResidentFactory, make_room
from tests.lottery.conftest import INTAKE_NOW, USE_DAY, apply, band_ids, put_in_lottery

pytestmark = pytest.mark.django_db

OPENING = dt.datetime(2026, 11, 1, 9, 0, tzinfo=INTAKE_NOW.tzinfo)


@pytest.fixture
def clock():
    with time_machine.travel(INTAKE_NOW, tick=False) as traveller:
        yield traveller


def room_url(lottery_round, room) -> str:
    return reverse("lottery:round_room", args=[lottery_round.pk, room.pk])


def count_on_page(client: Client, lottery_round, room, codes=("ev",)) -> int:
    """The number the room page shows in the cell of USE_DAY and the band."""
    html = client.get(room_url(lottery_round, room)).content.decode()
    ids = band_ids(room.facility, *codes)
    link = reverse("lottery:apply", args=[room.pk, USE_DAY]) + f"?bands={ids[0]}"
    found = re.search(re.escape(link) + r'">(\d+)<', html)
    assert found is not None, "the cell links to the apply form while intake is open"
    return int(found.group(1))


def test_counts_follow_an_entry_within_the_stale_window(client: Client, clock, hall, lottery_round):
    assert count_on_page(client, lottery_round, hall) == 0
    entry = apply(ResidentFactory(), hall)
    # Within the window the crowd is served the rendering of a moment ago...
    assert count_on_page(client, lottery_round, hall) == 0
    # ...and once it has passed, the page is rendered again with the new count.
    clock.shift(dt.timedelta(seconds=page_cache.stale_seconds() + 1))
    assert count_on_page(client, lottery_round, hall) == 1
    services.entry_withdraw(entry_id=entry.pk, resident=None, channel="web", now=INTAKE_NOW)
    clock.shift(dt.timedelta(seconds=page_cache.stale_seconds() + 1))
    assert count_on_page(client, lottery_round, hall) == 0


def test_a_page_rendered_before_the_window_shows_a_new_entry_at_once(client: Client, clock, hall, lottery_round):
    assert count_on_page(client, lottery_round, hall) == 0
    clock.shift(dt.timedelta(seconds=page_cache.stale_seconds() + 1))
    apply(ResidentFactory(), hall)
    assert count_on_page(client, lottery_round, hall) == 1


def test_the_page_says_how_old_the_counts_may_be(client: Client, clock, hall, lottery_round):
    html = client.get(room_url(lottery_round, hall)).content.decode()
    assert f"申込数は最大{int(page_cache.stale_seconds())}秒ほど前の数です。" in html
    round_page = client.get(reverse("lottery:round", args=[lottery_round.pk])).content.decode()
    assert "申込数は最大" in round_page


def test_the_pages_flip_at_the_intake_opening_second(client: Client, hall, lottery_round):
    apply_link = reverse("lottery:apply", args=[hall.pk, USE_DAY])
    with time_machine.travel(OPENING - dt.timedelta(seconds=1), tick=False):
        before = client.get(room_url(lottery_round, hall)).content.decode()
        index_before = client.get(reverse("lottery:index")).content.decode()
    with time_machine.travel(OPENING, tick=False):
        after = client.get(room_url(lottery_round, hall)).content.decode()
        index_after = client.get(reverse("lottery:index")).content.decode()
    assert apply_link not in before and "この抽選はいま申込を受け付けていません。" in before
    assert apply_link in after and "この抽選はいま申込を受け付けていません。" not in after
    round_link = reverse("lottery:round", args=[lottery_round.pk])
    assert "いま申込を受け付けている抽選はありません。" in index_before
    assert round_link in index_after and "いま申込を受け付けている抽選はありません。" not in index_after


def test_a_room_put_in_the_lottery_shows_at_once(client: Client, clock, facility, hall, lottery_round):
    round_url = reverse("lottery:round", args=[lottery_round.pk])
    gym = make_room(facility, "gym", capacity=60)
    assert room_url(lottery_round, gym) not in client.get(round_url).content.decode()
    assert client.get(room_url(lottery_round, gym)).status_code == 404
    put_in_lottery(gym)  # lottery_room_save bumps the catalogue
    assert room_url(lottery_round, gym) in client.get(round_url).content.decode()
    assert client.get(room_url(lottery_round, gym)).status_code == 200
    lottery_room = LotteryRoom.objects.get(room=gym)
    lottery_room.is_active = False
    services.lottery_room_save(lottery_room=lottery_room)
    assert client.get(room_url(lottery_round, gym)).status_code == 404
    assert client.get(room_url(lottery_round, hall)).status_code == 200
    services.lottery_rooms_delete(ids=[LotteryRoom.objects.get(room=hall).pk])
    assert client.get(room_url(lottery_round, hall)).status_code == 404


def test_the_public_pages_carry_nothing_of_whoever_rendered_them(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    client.force_login(resident.user)
    first = client.get(room_url(lottery_round, hall)).content.decode()
    assert "csrfmiddlewaretoken" not in first and resident.user.user_number not in first
    assert client.get(room_url(lottery_round, hall)).content.decode() == first


def test_an_early_post_is_refused_with_the_header_before_the_user_is_loaded(client: Client, hall, lottery_round):
    client.force_login(ResidentFactory().user)
    url = reverse("lottery:apply", args=[hall.pk, USE_DAY])
    with time_machine.travel(OPENING - dt.timedelta(seconds=2), tick=False):
        client.get(url + f"?bands={band_ids(hall.facility, 'ev')[0]}")  # warm the caches
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, {"bands": band_ids(hall.facility, "ev")})
    assert response.status_code == 409 and response["X-Refusal"] == "intake_not_open"
    assert "この抽選の申込受付はまだ始まっていません" in response.content.decode()
    assert not [q for q in queries.captured_queries if "reservations_user" in q["sql"]]
    assert not [q for q in queries.captured_queries if "lottery_lotteryentry" in q["sql"]]


def test_apply_refusals_carry_the_header(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    client.force_login(resident.user)
    url = reverse("lottery:apply", args=[hall.pk, USE_DAY])
    ids = band_ids(hall.facility, "ev")
    assert client.post(url, {"bands": ids}).status_code == 302
    again = client.post(url, {"bands": ids})
    assert again.status_code == 409 and again["X-Refusal"] == "duplicate_entry"
    assert "この枠にはすでに申し込んでいます" in again.content.decode()
    clock.move_to(dt.datetime(2026, 11, 11, 0, 0, tzinfo=INTAKE_NOW.tzinfo))
    closed = client.post(url, {"bands": ids})
    assert closed.status_code == 409 and closed["X-Refusal"] == "intake_closed"


def test_an_apply_whose_client_left_makes_no_entry(client: Client, clock, hall, lottery_round):
    """reservations/abandoned.py: a resident who gave up waiting is not given a silent entry."""
    client.force_login(ResidentFactory().user)
    url = reverse("lottery:apply", args=[hall.pk, USE_DAY])
    server, browser = socket.socketpair()
    try:
        browser.close()
        gone = client.post(url, {"bands": band_ids(hall.facility, "ev")}, **{"gunicorn.socket": server})
        assert gone.status_code == 499 and not LotteryEntry.objects.exists()
        waiting, browser = socket.socketpair()
        answered = client.post(url, {"bands": band_ids(hall.facility, "ev")}, **{"gunicorn.socket": waiting})
        assert answered.status_code == 302 and LotteryEntry.objects.count() == 1
        waiting.close()
        browser.close()
    finally:
        server.close()


def _slow_page(renders: list[int], seconds: float) -> page_cache.Rendered:
    renders.append(1)
    time.sleep(seconds)
    return page_cache.Rendered(f"<p>rendering {len(renders)}</p>")


def test_a_crowd_with_no_page_to_show_waits_for_one_rendering():
    """The opening second: nobody may be shown the old page, so one request renders and the rest
    wait for it instead of all rendering the same page at once (on two cores: minutes of backlog)."""
    key = f"lottery:page:test:{uuid.uuid4()}"
    renders: list[int] = []
    crowd = 8
    barrier = threading.Barrier(crowd)

    def visit(_: int) -> str:
        barrier.wait()
        return page_cache.page(key, dt.datetime.now(dt.UTC), lambda: _slow_page(renders, 0.3)).html

    with ThreadPoolExecutor(crowd) as pool:
        pages = list(pool.map(visit, range(crowd)))
    assert len(renders) == 1
    assert set(pages) == {"<p>rendering 1</p>"}


def test_a_waiting_request_renders_itself_when_the_renderer_gave_up():
    """The renderer died (its lock expires with nothing stored): the waiters do not wait forever."""
    key = f"lottery:page:test:{uuid.uuid4()}"
    cache.add(f"{key}:rendering", 1, timeout=1)  # a renderer that never stores its page
    renders: list[int] = []
    html = page_cache.page(key, dt.datetime.now(dt.UTC), lambda: _slow_page(renders, 0)).html
    assert html == "<p>rendering 1</p>" and renders == [1]
