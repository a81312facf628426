"""reservations/availability_cache.py: cached availability is dropped when a slot changes, and the
site keeps working without the cache."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from reservations import availability_cache, selectors
from reservations.domain import Cell
from reservations.errors import BookingError, SlotTaken
from reservations.models import Channel
from reservations.services import closure_create, reservation_create
from reservations.views import AVAILABILITY_VERSION_HEADER
from tests.cache import clear_test_cache
from tests.factories import FacilityFactory, ResidentFactory, cancel_on_the_web, make_room

USE_DAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def _cell(room, band):
    grid = selectors.availability(facility=room.facility, days=[USE_DAY], now=NOW)
    return grid.slot(room, USE_DAY, band)


def _book(resident, room, band):
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=USE_DAY,
        band_ids=[band.pk],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=NOW,
    )


def _week_page_with_a_free_slot():
    """A room and band, the URL of the week page showing them, and the page's link to book them."""
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    url = reverse("reservations:facility_week", args=[room.facility_id, USE_DAY])
    return room, band, url, reverse("reservations:book", args=[room.pk, USE_DAY]) + f"?bands={band.pk}"


@pytest.mark.django_db(transaction=True)
def test_committed_booking_and_cancel_reach_a_warm_cache():
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    assert _cell(room, band) is Cell.FREE  # now cached

    resident = ResidentFactory()
    booking = _book(resident, room, band)
    assert _cell(room, band) is Cell.TAKEN

    cancel_on_the_web(booking, NOW)
    assert _cell(room, band) is Cell.FREE


@pytest.mark.django_db(transaction=True)
def test_closure_reaches_a_warm_cache():
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="pm")
    assert _cell(room, band) is Cell.FREE
    closure_create(facility=room.facility, date=USE_DAY, reason="点検")
    assert _cell(room, band) is Cell.CLOSED


@pytest.mark.django_db(transaction=True)
def test_a_flushed_cache_never_serves_an_old_entry():
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="ev")
    assert _cell(room, band) is Cell.FREE
    clear_test_cache()  # e.g. Redis restarted: versions restart from a value never used before
    _book(ResidentFactory(), room, band)
    assert _cell(room, band) is Cell.TAKEN


@pytest.mark.django_db
def test_pages_and_bookings_work_with_the_cache_down(client):
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    resident = ResidentFactory()
    client.force_login(resident.user)
    with override_settings(CACHES=UNREACHABLE_REDIS), time_machine.travel(NOW, tick=False):
        month = client.get(reverse("reservations:facility_month", args=[room.facility_id, 2026, 12]))
        assert month.status_code == 200
        _book(resident, room, band)
        assert _cell(room, band) is Cell.TAKEN


@pytest.mark.django_db
def test_taken_answer_is_short_and_names_its_refusal(client):
    room = make_room(FacilityFactory(), "r1")
    room.purposes.create(code="meeting", name="会議")
    band = room.facility.time_bands.get(code="am")
    _book(ResidentFactory(), room, band)
    client.force_login(ResidentFactory().user)
    url = reverse("reservations:book", args=[room.pk, USE_DAY]) + f"?bands={band.pk}"
    with time_machine.travel(NOW, tick=False):
        page = client.get(url)
        answer = client.post(url, {"bands": [band.pk], "purpose": room.purposes.get().pk, "attendees": 3})
    assert page.status_code == 409 and page["X-Refusal"] == "slot_taken"
    assert answer.status_code == 409 and answer["X-Refusal"] == "slot_taken"
    assert "たった今ほかの方が予約しました" in answer.text
    assert reverse("reservations:facility_week", args=[room.facility_id, USE_DAY]) in answer.text
    # Answered before the session was read (SessionMiddleware adds Vary: Cookie once it is).
    assert "Cookie" not in page.get("Vary", "") and "Cookie" not in answer.get("Vary", "")


@pytest.mark.django_db
def test_taken_answer_needs_no_login_and_no_query(client, django_assert_num_queries):
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    _book(ResidentFactory(), room, band)
    url = reverse("reservations:book", args=[room.pk, USE_DAY]) + f"?bands={band.pk}"
    with time_machine.travel(NOW, tick=False):
        client.get(url)  # warms the cache
        with django_assert_num_queries(0):
            taken = client.get(url)
        free = client.get(
            reverse("reservations:book", args=[room.pk, USE_DAY])
            + "?bands="
            + str(room.facility.time_bands.get(code="pm").pk)
        )
    assert taken.status_code == 409 and taken["X-Refusal"] == "slot_taken"
    assert free.status_code == 302 and free["Location"].startswith(reverse("login"))  # a free slot still needs a login


@pytest.mark.django_db(transaction=True)
def test_a_booking_leaves_the_cached_answers_about_other_days_current(django_assert_num_queries):
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    other_day = USE_DAY + dt.timedelta(days=1)

    def one_day(day):
        return selectors.availability(facility=room.facility, days=[day], now=NOW).slot(room, day, band)

    assert one_day(USE_DAY) is Cell.FREE and one_day(other_day) is Cell.FREE  # both cached
    week = [USE_DAY + dt.timedelta(days=i) for i in range(7)]
    assert selectors.availability(facility=room.facility, days=week, now=NOW).slot(room, USE_DAY, band) is Cell.FREE

    _book(ResidentFactory(), room, band)

    with django_assert_num_queries(0):
        assert one_day(other_day) is Cell.FREE  # still current: that day did not change
    assert one_day(USE_DAY) is Cell.TAKEN
    assert selectors.availability(facility=room.facility, days=week, now=NOW).slot(room, USE_DAY, band) is Cell.TAKEN


@pytest.mark.django_db(transaction=True)
def test_while_one_request_re_renders_a_page_the_others_get_the_previous_rendering(client):
    from reservations import availability_cache

    room, band, url, book_link = _week_page_with_a_free_slot()
    with time_machine.travel(NOW, tick=False):
        assert book_link in client.get(url).text  # rendered and cached: free
        _book(ResidentFactory(), room, band)
        # Another worker is re-rendering this page right now:
        lock = f"page:{room.facility_id}:week:{translation.get_language()}:{url}:rendering"
        assert availability_cache.cache.add(lock, 1, timeout=5)
        assert book_link in client.get(url).text  # the previous rendering, not a second render
        availability_cache.cache.delete(lock)
        assert book_link not in client.get(url).text  # re-rendered: taken


@pytest.mark.django_db(transaction=True)
def test_versions_only_grow_so_live_js_can_tell_an_older_page():
    from reservations import availability_cache

    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    day_key = availability_cache._day_version_key(room.facility_id, USE_DAY)
    before = (-1, -1)
    for _ in range(5):
        booking = _book(ResidentFactory(), room, band)
        cancel_on_the_web(booking, NOW)
        after = (availability_cache.facility_version(room.facility_id), int(availability_cache.cache.get(day_key)))
        assert after[0] > before[0] and after[1] > before[1]
        before = after


@pytest.mark.django_db(transaction=True)
def test_a_committed_booking_leaves_its_day_already_computed(django_assert_num_queries):
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    booking = _book(ResidentFactory(), room, band)  # commits: the booking warms its day

    with django_assert_num_queries(0):
        occupied, _closed = selectors._taken_cells(room.facility_id, USE_DAY, USE_DAY)

    assert {(unit.pk, USE_DAY, band.pk) for unit in room.units.all()} <= occupied
    cancel_on_the_web(booking, NOW)
    with django_assert_num_queries(0):
        occupied, _closed = selectors._taken_cells(room.facility_id, USE_DAY, USE_DAY)
    assert not occupied


@pytest.mark.django_db(transaction=True)
def test_a_loser_the_cache_knows_about_costs_the_booking_service_no_query(django_assert_num_queries):
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    _book(ResidentFactory(), room, band)  # commits, and warms the day and the catalogue
    loser = ResidentFactory()

    with django_assert_num_queries(0), pytest.raises(SlotTaken):
        _book(loser, room, band)


@pytest.mark.django_db(transaction=True)
def test_a_closure_reaches_the_booking_service_through_the_cache():
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    assert _cell(room, band) is Cell.FREE  # the day is cached as free
    closure_create(facility=room.facility, date=USE_DAY, reason="点検")

    with pytest.raises(BookingError) as refused:
        _book(ResidentFactory(), room, band)
    assert refused.value.code == "facility_closed"


@pytest.mark.django_db(transaction=True)
def test_what_a_rolled_back_transaction_saw_is_not_cached_for_the_booking_check():
    """Inside a caller's transaction the service checks the database, which shows that
    transaction's own uncommitted booking; cached, that view would outlive the rollback (a rollback
    bumps no version) and refuse the slot to everyone afterwards."""
    room = make_room(FacilityFactory(), "r1")
    band = room.facility.time_bands.get(code="am")
    with transaction.atomic():
        _book(ResidentFactory(), room, band)
        with pytest.raises(SlotTaken):
            _book(ResidentFactory(), room, band)
        transaction.set_rollback(True)

    assert _book(ResidentFactory(), room, band).pk is not None


@pytest.mark.django_db(transaction=True)
def test_a_page_outdated_by_bookings_is_rendered_again_at_most_every_few_seconds(client):
    room, band, url, book_link = _week_page_with_a_free_slot()
    with override_settings(AVAILABILITY_RERENDER_SECONDS=3), time_machine.travel(NOW, tick=False) as clock:
        first = client.get(url)
        assert book_link in first.text
        _book(ResidentFactory(), room, band)

        clock.shift(2)
        again = client.get(url)
        assert book_link in again.text  # the rendering of two seconds ago
        assert again[AVAILABILITY_VERSION_HEADER] == first[AVAILABILITY_VERSION_HEADER]  # and says so (live.js)

        clock.shift(2)
        fresh = client.get(url)
        assert book_link not in fresh.text  # rendered again: taken
        assert int(fresh[AVAILABILITY_VERSION_HEADER]) > int(first[AVAILABILITY_VERSION_HEADER])


def test_bump_versions_falls_back_to_incr_without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` keeps the cache in local memory, which has no pipeline: key by key, the same result."""
    from django.core.cache.backends.locmem import LocMemCache

    local = LocMemCache("bump-test", {})
    monkeypatch.setattr(availability_cache, "cache", local)
    local.set("a", 7)

    availability_cache.bump_versions(["a", "missing"])

    assert local.get("a") == 8
    assert isinstance(local.get("missing"), int)
