"""reservations/views.py: search, availability grids, booking, my bookings, cancelling."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reservations import selectors
from reservations.models import (
    Channel,
    FacilityKind,
    Occupancy,
    Purpose,
    Reservation,
    ReservationState,
    Residency,
)
from reservations.services import closure_create, reservation_create
from tests.cache import clear_test_cache
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, StaffFactory, make_room

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)  # December's first-come window opened 2026-11-01 09:00
USE_DAY = dt.date(2026, 12, 7)  # a Monday
MAX_GRID_QUERIES = 13


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def meeting() -> Purpose:
    return Purpose.objects.create(code="meeting", name="会議")


@pytest.fixture
def facility():
    return FacilityFactory(name="春日区民センター")


@pytest.fixture
def room(facility, meeting):
    return make_room(facility, "r1", purposes=[meeting])


@pytest.fixture
def resident():
    return ResidentFactory()


def band_ids(facility, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def book_url(room, day: dt.date = USE_DAY, *band_pks: int) -> str:
    url = reverse("reservations:book", args=[room.pk, day])
    return url + ("?" + "&".join(f"bands={b}" for b in band_pks) if band_pks else "")


def take(room, day: dt.date = USE_DAY, codes: tuple[str, ...] = ("am",), resident=None) -> Reservation:
    resident = resident or ResidentFactory()
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=day,
        band_ids=band_ids(room.facility, *codes),
        channel=Channel.WEB,
        booked_by=resident.user,
        now=NOW,
    )


def post_booking(client: Client, room, day: dt.date = USE_DAY, codes: tuple[str, ...] = ("am",), **extra):
    data = {"bands": band_ids(room.facility, *codes), "attendees": 10, **extra}
    if "purpose" not in data and room.purposes.exists():
        data["purpose"] = room.purposes.first().pk
    return client.post(reverse("reservations:book", args=[room.pk, day]), data)


def month_url(facility, year: int = 2026, month: int = 12) -> str:
    return reverse("reservations:facility_month", args=[facility.pk, year, month])


def week_url(facility, start: dt.date) -> str:
    return reverse("reservations:facility_week", args=[facility.pk, start])


# --- Search -----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_home_lists_facilities_without_login(client, room):
    other = FacilityFactory(name="千石体育館", kind=FacilityKind.SPORTS)
    make_room(other, "gym", capacity=100)

    response = client.get(reverse("reservations:home"))

    assert response.status_code == 200
    assert "春日区民センター" in response.text
    assert "千石体育館" in response.text
    assert month_url(room.facility, 2026, 11) in response.text  # links start today (10 Nov)


def test_home_filters_by_kind_purpose_and_capacity(client, room, meeting):
    table_tennis = Purpose.objects.create(code="table-tennis", name="卓球")
    gym = FacilityFactory(name="千石体育館", kind=FacilityKind.SPORTS)
    make_room(gym, "gym", capacity=100, purposes=[table_tennis])
    home = reverse("reservations:home")

    by_kind = client.get(home, {"kind": FacilityKind.SPORTS})
    by_purpose = client.get(home, {"purpose": "meeting"})
    by_capacity = client.get(home, {"min_capacity": 50})

    assert "千石体育館" in by_kind.text and "春日区民センター" not in by_kind.text
    assert "春日区民センター" in by_purpose.text and "千石体育館" not in by_purpose.text
    assert "千石体育館" in by_capacity.text and "春日区民センター" not in by_capacity.text


def test_home_links_carry_the_filters_and_the_date(client, room):
    response = client.get(reverse("reservations:home"), {"purpose": "meeting", "min_capacity": 5, "date": "2026-12-07"})

    assert response.status_code == 200
    assert month_url(room.facility) + "?purpose=meeting&amp;min_capacity=5" in response.text
    assert week_url(room.facility, USE_DAY) + "?purpose=meeting&amp;min_capacity=5" in response.text


def test_home_empty_state_helps(client, room):
    response = client.get(reverse("reservations:home"), {"min_capacity": 5000})

    assert response.status_code == 200
    assert "条件に合う施設が見つかりませんでした" in response.text
    assert "春日区民センター" not in response.text


@pytest.mark.parametrize("params", [{"min_capacity": "abc"}, {"date": "2026-02-30"}, {"kind": "castle"}])
def test_home_bad_filters_are_400(client, room, params):
    response = client.get(reverse("reservations:home"), params)

    assert response.status_code == 400
    assert "検索条件が正しくありません" in response.text


# --- Month grid -------------------------------------------------------------------------------


def test_month_grid_shows_symbols_with_text(client, facility, room):
    take(room, dt.date(2026, 12, 8), ("am", "pm", "ev"))  # the whole day
    take(room, dt.date(2026, 12, 9), ("am",))  # part of the day
    closure_create(facility=facility, date=dt.date(2026, 12, 10), reason="設備点検")

    response = client.get(month_url(facility))

    assert response.status_code == 200
    html = response.text
    taken = '<td class="c-taken"><span class="sym" aria-hidden="true">×</span><span class="visually-hidden">空きなし</span></td>'
    closed = '<td class="c-closed"><span class="sym" aria-hidden="true">休</span><span class="visually-hidden">休館</span></td>'
    assert taken in html
    assert closed in html
    assert html.count('class="c-taken"') == 1
    assert html.count('class="c-closed"') == 1
    # Days with free bands link to the week from that day; taken and closed days do not.
    assert f'href="{week_url(facility, dt.date(2026, 12, 9))}"' in html  # △
    assert f'href="{week_url(facility, dt.date(2026, 12, 7))}"' in html  # ○
    assert f'href="{week_url(facility, dt.date(2026, 12, 8))}"' not in html
    assert f'href="{week_url(facility, dt.date(2026, 12, 10))}"' not in html
    assert '<span class="visually-hidden">一部空き</span>' in html
    assert '<span class="visually-hidden">空きあり</span>' in html
    # Table semantics and the legend.
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html
    assert 'class="legend"' in html and '<span class="cell-text">受付対象外</span>' in html


def test_month_grid_marks_weekends_and_holidays(client, facility, room):
    response = client.get(reverse("reservations:facility_month", args=[facility.pk, 2027, 1]))

    html = response.text
    assert 'class="day hol"' in html  # 1 January, 元日
    assert "元日" in html
    assert 'class="day sat"' in html and 'class="day sun"' in html


def test_month_shows_when_booking_opens(client, facility, room):
    december = client.get(month_url(facility))
    january = client.get(reverse("reservations:facility_month", args=[facility.pk, 2027, 1]))

    assert "2026年11月1日" in december.text and "現在受付中です" in december.text
    assert "2026年12月1日" in january.text and "まだ受付開始前です" in january.text
    assert "令和8年12月1日(火)" in january.text


def test_month_shows_facility_details(client, facility, room):
    room.equipment = ["ホワイトボード", "プロジェクター"]
    room.save()
    facility.accessibility = "車いす対応トイレあり"
    facility.save()

    html = client.get(month_url(facility)).text

    assert facility.address in html
    assert "車いす対応トイレあり" in html
    assert "ホワイトボード" in html and "会議" in html and "30人" in html


def test_month_filters_rooms_by_purpose_and_capacity(client, facility, room):
    big = make_room(facility, "hall", capacity=120)

    html = client.get(month_url(facility), {"min_capacity": 100}).text

    grid = html.split("<tbody>")[1].split("</tbody>")[0]
    assert big.name in grid and room.name not in grid


def test_month_navigation(client, facility, room):
    html = client.get(month_url(facility)).text

    assert reverse("reservations:facility_month", args=[facility.pk, 2026, 11]) in html
    assert reverse("reservations:facility_month", args=[facility.pk, 2027, 1]) in html


def test_unknown_facility_is_404(client):
    response = client.get(reverse("reservations:facility_month", args=[999999, 2026, 12]))

    assert response.status_code == 404
    assert "指定された施設が見つかりません" in response.text


@pytest.mark.parametrize(("year", "month"), [(2026, 13), (2026, 0), (1999, 5), (2999, 1)])
def test_bad_month_is_400(client, facility, year, month):
    response = client.get(reverse("reservations:facility_month", args=[facility.pk, year, month]))

    assert response.status_code == 400
    assert "年月の指定が正しくありません" in response.text


# --- Query counts -----------------------------------------------------------------------------


def _count_queries(client: Client, url: str, *, cold: bool = True) -> int:
    """Queries for one page, by default with a cold availability cache (the worst case)."""
    if cold:
        clear_test_cache()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("logged_in", [False, True])
def test_grid_queries_are_constant_in_rooms_and_days(client, django_assert_max_num_queries, meeting, logged_in):
    small = FacilityFactory()
    large = FacilityFactory()
    small_rooms = [make_room(small, "r0", purposes=[meeting])]
    large_rooms = [make_room(large, f"r{i}", purposes=[meeting]) for i in range(12)]
    for rooms in (small_rooms, large_rooms):
        take(rooms[0], USE_DAY, ("am",))
        take(rooms[-1], dt.date(2026, 12, 8), ("pm",))
    closure_create(facility=large, date=dt.date(2026, 12, 10), reason="点検")
    if logged_in:
        client.force_login(ResidentFactory().user)

    urls = {
        name: [
            month_url(f),
            month_url(f) + "?purpose=meeting&min_capacity=5",
            week_url(f, USE_DAY),
            week_url(f, USE_DAY) + "?purpose=meeting",
        ]
        for name, f in (("small", small), ("large", large))
    }
    for url in urls["small"] + urls["large"]:
        with django_assert_max_num_queries(MAX_GRID_QUERIES):
            assert client.get(url).status_code == 200
    # Exactly the same count whatever the number of rooms, and for a month (31 days) as for a week.
    small_counts = [_count_queries(client, url) for url in urls["small"]]
    large_counts = [_count_queries(client, url) for url in urls["large"]]
    assert small_counts == large_counts
    assert small_counts[0] == small_counts[2]
    # Warm, the grid itself comes from the cache: no query for rooms, bands, closures or occupancy.
    warm = _count_queries(client, urls["large"][0], cold=False)
    assert warm <= small_counts[0] - 4


# --- Week grid --------------------------------------------------------------------------------


def test_week_grid_links_only_cells_bookable_now(client, facility, room):
    take(room, dt.date(2026, 11, 12), ("pm",))
    am, pm = band_ids(facility, "am", "pm")

    html = client.get(week_url(facility, dt.date(2026, 11, 9))).text

    # 11 Nov is bookable (online booking closes at midnight before the day of use).
    assert f'href="{book_url(room, dt.date(2026, 11, 11), am)}"' in html
    assert f'href="{book_url(room, dt.date(2026, 11, 12), am)}"' in html
    # Today's afternoon is free but online booking for today has closed; the morning has passed.
    assert book_url(room, dt.date(2026, 11, 10), pm) not in html
    assert book_url(room, dt.date(2026, 11, 10), am) not in html
    # A taken slot is not linked.
    assert book_url(room, dt.date(2026, 11, 12), pm) not in html
    assert '<span class="visually-hidden">空きなし</span>' in html
    assert html.count("/book/") == 3 * 5 - 1  # 11th-15th, three bands each, minus the taken one


def test_week_grid_before_window_has_no_booking_links(client, facility, room):
    html = client.get(week_url(facility, dt.date(2027, 1, 4))).text

    assert "c-free" in html
    assert "/book/" not in html


def test_week_grid_shows_closed_day(client, facility, room):
    closure_create(facility=facility, date=USE_DAY, reason="設備点検")

    html = client.get(week_url(facility, USE_DAY)).text

    assert html.count('<span class="visually-hidden">休館</span>') == 3  # one row per band
    assert book_url(room, USE_DAY, *band_ids(facility, "am")) not in html


def test_week_navigation(client, facility, room):
    html = client.get(week_url(facility, USE_DAY)).text

    assert week_url(facility, dt.date(2026, 11, 30)) in html
    assert week_url(facility, dt.date(2026, 12, 14)) in html


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "2026-1-5", "tomorrow", "1999-01-04"])
def test_week_bad_date_is_400(client, facility, bad):
    response = client.get(f"/facilities/{facility.pk}/week/{bad}/")

    assert response.status_code == 400
    assert "日付の形式が正しくありません" in response.text


def test_week_unknown_facility_is_404(client):
    assert client.get(week_url(type("F", (), {"pk": 999999})(), USE_DAY)).status_code == 404


# --- Booking ----------------------------------------------------------------------------------


def test_book_page_shows_fee_and_wareki(client, facility, room, resident):
    client.force_login(resident.user)

    response = client.get(book_url(room, USE_DAY, *band_ids(facility, "am", "pm")))

    assert response.status_code == 200
    assert "2,400円" in response.text
    assert "2026年12月7日(月)（令和8年）" in response.text
    assert "この内容で予約する" in response.text
    for band_pk in band_ids(facility, "am", "pm", "ev"):
        assert f'id="band-{band_pk}"' in response.text  # the span can be extended


def test_book_page_reads_the_day_s_availability_once(client, facility, room, resident, monkeypatch):
    """The early "taken?" check and the page itself share one read of the day (the 09:00 crowd's
    free booking pages)."""
    client.force_login(resident.user)
    reads = []
    real = selectors.availability

    def counted(**kwargs):
        reads.append(kwargs["days"])
        return real(**kwargs)

    monkeypatch.setattr(selectors, "availability", counted)

    response = client.get(book_url(room, USE_DAY, *band_ids(facility, "am")))

    assert response.status_code == 200 and "この内容で予約する" in response.text
    assert reads == [[USE_DAY]]


def test_book_page_fee_for_outsider_and_holiday(client, facility, room):
    outsider = ResidentFactory(residency=Residency.OUTSIDER)
    client.force_login(outsider.user)

    response = client.get(book_url(room, dt.date(2026, 12, 6), *band_ids(facility, "am")))  # a Sunday

    assert "1,800円" in response.text  # 1,500 (土日祝) + 20%


def test_book_page_fee_includes_commercial_surcharge_and_equipment(client, facility, meeting, resident):
    hall = make_room(facility, "hall", purposes=[meeting], equipment=[("マイク", 300), ("プロジェクター", 500)])
    mic = hall.equipment_items.get(name="マイク")
    client.force_login(resident.user)

    plain = client.get(book_url(hall, USE_DAY, *band_ids(facility, "am"))).text
    assert "1,200円" in plain and "営利目的（商用）で利用する" in plain
    assert "マイク 300円" in plain and "プロジェクター 500円" in plain

    url = book_url(hall, USE_DAY, *band_ids(facility, "am")) + f"&commercial=1&equipment={mic.pk}"
    response = client.get(url)

    assert response.status_code == 200
    assert "2,100円" in response.text  # 1,200 + 50% of 1,200 + マイク 300
    assert f'id="equipment-{mic.pk}" checked' in response.text


def test_booking_post_stores_commercial_and_equipment(client, facility, meeting, resident):
    hall = make_room(facility, "hall", purposes=[meeting], equipment=[("マイク", 300), ("プロジェクター", 500)])
    items = list(hall.equipment_items.order_by("pk"))
    client.force_login(resident.user)

    response = post_booking(client, hall, commercial="True", equipment=[e.pk for e in items])

    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert reservation.fee == 1200 + 600 + 800
    assert reservation.commercial is True
    assert set(reservation.equipment_items.all()) == set(items)


def test_booking_post_with_another_rooms_equipment_is_refused(client, facility, room, resident):
    other = make_room(facility, "r2", equipment=[("ピアノ", 2000)])
    client.force_login(resident.user)

    response = post_booking(client, room, equipment=[other.equipment_items.get().pk])

    assert response.status_code == 400
    assert "指定された附属設備はこの室場にありません。" in response.text
    assert not Reservation.objects.exists()


def test_book_page_lists_groups_the_resident_may_book_for(client, facility, room, resident):
    represented = GroupFactory(representative=resident, name="春日合唱団")
    member_of = GroupFactory(name="小石川囲碁会")
    member_of.members.add(resident)
    GroupFactory(name="よその団体")
    client.force_login(resident.user)

    html = client.get(book_url(room, USE_DAY, *band_ids(facility, "am"))).text

    assert represented.name in html and member_of.name in html
    assert "よその団体" not in html


@pytest.mark.smoke
def test_booking_post_books_and_redirects_to_done(client, facility, room, resident):
    client.force_login(resident.user)

    response = post_booking(client, room, codes=("am", "pm"))

    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reservations:booking_done", args=[reservation.pk])
    assert reservation.channel == Channel.WEB
    assert reservation.state == ReservationState.PROVISIONAL
    assert reservation.resident == resident
    assert reservation.booked_by == resident.user
    assert reservation.fee == 2400
    done = client.get(response["Location"])
    assert reservation.reference in done.text
    assert "2,400円" in done.text
    assert "お支払い期限" in done.text


def test_booking_for_a_group(client, facility, room, resident):
    group = GroupFactory(representative=resident)
    client.force_login(resident.user)

    response = post_booking(client, room, group=group.pk)

    assert response.status_code == 302
    assert Reservation.objects.get().group == group


def test_second_resident_gets_409_just_taken(client, facility, room):
    take(room)
    client.force_login(ResidentFactory().user)

    page = client.get(book_url(room, USE_DAY, *band_ids(facility, "am")))
    response = post_booking(client, room)

    assert page.status_code == 409 and "すでに予約済みの枠" in page.text
    assert response.status_code == 409
    assert "たった今ほかの方が予約しました" in response.text
    assert Reservation.objects.count() == 1


def test_taken_slots_of_one_week_share_one_drawing_with_their_own_language_links(client, facility, room):
    """At 09:00 most answers are "taken": the page is drawn once per week of a facility (and
    language) in each process, and each answer still links the language switch back to its own URL."""
    from urllib.parse import quote

    from reservations import views

    take(room, USE_DAY, ("am",))
    take(room, USE_DAY, ("pm",))
    views._refusal_page.cache_clear()
    am = book_url(room, USE_DAY, *band_ids(facility, "am"))
    pm = book_url(room, USE_DAY, *band_ids(facility, "pm"))

    first, second = client.get(am), client.get(pm)

    assert first.status_code == second.status_code == 409
    assert views._refusal_page.cache_info().misses == 1  # drawn once for both slots
    for response, url in ((first, am), (second, pm)):
        assert f"?next={quote(url, safe='/')}".replace("&", "&amp;") in response.text
        assert views.PATH_STAND_IN not in response.text


def test_booking_before_window_opens_is_409(client, facility, room, resident, clock):
    client.force_login(resident.user)

    with time_machine.travel(dt.datetime(2026, 10, 31, 12, 0, tzinfo=TOKYO), tick=False):
        page = client.get(book_url(room, USE_DAY, *band_ids(facility, "am")))
        response = post_booking(client, room)

    assert page.status_code == 409 and "この内容で予約する" not in page.text
    assert response.status_code == 409
    assert "まだ受付開始前です" in response.text
    assert Reservation.objects.count() == 0


def test_booking_past_slot_is_refused(client, facility, room, resident):
    client.force_login(resident.user)

    page = client.get(book_url(room, dt.date(2026, 11, 9), *band_ids(facility, "am")))
    response = post_booking(client, room, day=dt.date(2026, 11, 9))

    assert page.status_code == 400
    assert response.status_code == 400
    assert "過ぎた日時の枠は予約できません" in response.text
    assert Reservation.objects.count() == 0


def test_booking_closed_day_is_409(client, facility, room, resident):
    closure_create(facility=facility, date=USE_DAY, reason="設備点検")
    client.force_login(resident.user)

    page = client.get(book_url(room, USE_DAY, *band_ids(facility, "am")))
    response = post_booking(client, room)

    assert page.status_code == 409 and "休館日" in page.text
    assert response.status_code == 409
    assert "休館日" in response.text
    assert Reservation.objects.count() == 0


def test_booking_over_the_monthly_cap_is_409(client, facility, room, resident):
    facility.group.max_active_bookings_per_month = 1
    facility.group.save()
    take(room, dt.date(2026, 12, 1), resident=resident)
    client.force_login(resident.user)

    response = post_booking(client, room)

    assert response.status_code == 409
    assert "予約件数が上限に達しています" in response.text
    assert Reservation.objects.count() == 1


def test_booking_over_room_capacity_is_400(client, facility, room, resident):
    client.force_login(resident.user)

    response = post_booking(client, room, attendees=room.capacity + 1)

    assert response.status_code == 400
    assert "定員を超えています" in response.text
    assert Reservation.objects.count() == 0


@pytest.mark.parametrize("bands", [["abc"], [], ["1.5"]])
def test_booking_bad_bands_in_query_is_400(client, facility, room, resident, bands):
    client.force_login(resident.user)
    query = "&".join(f"bands={b}" for b in bands)

    response = client.get(reverse("reservations:book", args=[room.pk, USE_DAY]) + f"?{query}")

    assert response.status_code == 400
    assert "指定された時間帯がこの施設にありません" in response.text


def test_booking_band_of_another_facility_is_400(client, facility, room, resident):
    other_band = band_ids(FacilityFactory(), "am")[0]
    client.force_login(resident.user)

    page = client.get(book_url(room, USE_DAY, other_band))
    response = client.post(
        reverse("reservations:book", args=[room.pk, USE_DAY]),
        {"bands": [other_band], "attendees": 5, "purpose": room.purposes.get().pk},
    )

    assert page.status_code == 400
    assert response.status_code == 400
    assert "指定された時間帯がこの施設にありません" in response.text
    assert Reservation.objects.count() == 0


def test_booking_non_consecutive_bands_is_400(client, facility, room, resident):
    client.force_login(resident.user)

    page = client.get(book_url(room, USE_DAY, *band_ids(facility, "am", "ev")))
    response = post_booking(client, room, codes=("am", "ev"))

    assert page.status_code == 400
    assert response.status_code == 400
    assert "連続した時間帯" in response.text
    assert Reservation.objects.count() == 0


def test_booking_post_with_garbage_is_400(client, facility, room, resident):
    client.force_login(resident.user)
    url = reverse("reservations:book", args=[room.pk, USE_DAY])

    responses = [
        client.post(url, {"bands": "abc", "attendees": 5}),
        client.post(url, {"bands": band_ids(facility, "am"), "attendees": "many"}),
        client.post(url, {"bands": band_ids(facility, "am"), "attendees": 5, "purpose": "x"}),
        client.post(url, {"bands": band_ids(facility, "am"), "attendees": 5, "group": 999999}),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    assert Reservation.objects.count() == 0


def test_booking_unknown_room_is_404(client, resident):
    client.force_login(resident.user)

    page = client.get(reverse("reservations:book", args=[999999, USE_DAY]) + "?bands=1")
    response = client.post(reverse("reservations:book", args=[999999, USE_DAY]), {"bands": [1], "attendees": 1})

    assert page.status_code == 404 and response.status_code == 404
    assert "指定された室場が見つかりません" in response.text
    assert Reservation.objects.count() == 0


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-12-7", "1999-12-07"])
def test_booking_bad_date_is_400(client, room, resident, bad):
    client.force_login(resident.user)

    response = client.get(f"/book/{room.pk}/{bad}/?bands=1")

    assert response.status_code == 400
    assert "日付の形式が正しくありません" in response.text


@pytest.mark.smoke
def test_booking_requires_login(client, facility, room):
    url = book_url(room, USE_DAY, *band_ids(facility, "am"))

    page = client.get(url)
    response = post_booking(client, room)

    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Reservation.objects.count() == 0


def test_staff_without_resident_profile_gets_403(client, facility, room):
    client.force_login(StaffFactory())

    page = client.get(book_url(room, USE_DAY, *band_ids(facility, "am")))
    response = post_booking(client, room)

    assert page.status_code == 403 and response.status_code == 403
    assert "利用者登録がない" in response.text
    assert Reservation.objects.count() == 0
    assert client.get(reverse("reservations:my_bookings")).status_code == 403


def test_pending_resident_cannot_book(client, facility, room):
    pending = ResidentFactory(status="pending")
    client.force_login(pending.user)

    response = post_booking(client, room)

    assert response.status_code == 403
    assert "窓口で本人確認" in response.text
    assert Reservation.objects.count() == 0


def test_booking_post_needs_csrf_token(facility, room, resident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident.user)

    response = post_booking(client, room)

    assert response.status_code == 403
    assert Reservation.objects.count() == 0


def test_done_page_of_someone_else_is_404(client, room, resident):
    theirs = take(room)
    client.force_login(resident.user)

    assert client.get(reverse("reservations:booking_done", args=[theirs.pk])).status_code == 404


# --- My bookings and cancelling ---------------------------------------------------------------


def test_my_bookings_lists_upcoming_and_past_on_request(client, facility, room, resident):
    upcoming = take(room, USE_DAY, resident=resident)
    past = reservation_create(
        resident=resident,
        room_id=room.pk,
        date=dt.date(2026, 11, 5),
        band_ids=band_ids(facility, "am"),
        channel=Channel.WEB,
        booked_by=resident.user,
        now=dt.datetime(2026, 11, 1, 10, 0, tzinfo=TOKYO),
    )
    client.force_login(resident.user)

    default = client.get(reverse("reservations:my_bookings"))
    with_past = client.get(reverse("reservations:my_bookings"), {"past": "1"})

    assert default.status_code == 200
    assert upcoming.reference in default.text and past.reference not in default.text
    assert "仮予約（支払待ち）" in default.text and "1,200円" in default.text and "インターネット" in default.text
    assert reverse("reservations:cancel", args=[upcoming.pk]) in default.text
    assert upcoming.reference in with_past.text and past.reference in with_past.text
    assert reverse("reservations:cancel", args=[past.pk]) not in with_past.text


def test_my_bookings_empty_state_links_to_search(client, resident):
    client.force_login(resident.user)

    html = client.get(reverse("reservations:my_bookings")).text

    assert "これからの予約はありません" in html
    assert f'href="{reverse("reservations:home")}"' in html


def test_my_bookings_requires_login(client):
    response = client.get(reverse("reservations:my_bookings"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.smoke
def test_cancel_asks_then_frees_the_slot(client, room, resident):
    reservation = take(room, resident=resident)
    client.force_login(resident.user)
    url = reverse("reservations:cancel", args=[reservation.pk])

    confirm = client.get(url)
    response = client.post(url)

    assert confirm.status_code == 200 and "この予約を取り消しますか" in confirm.text
    assert response.status_code == 302 and response["Location"] == reverse("reservations:my_bookings")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_channel == Channel.WEB
    assert reservation.cancelled_by == resident.user
    assert not Occupancy.objects.filter(reservation=reservation).exists()
    assert "を取り消しました" in client.get(response["Location"]).text


def test_cancelling_twice_says_already_cancelled(client, room, resident):
    reservation = take(room, resident=resident)
    client.force_login(resident.user)
    url = reverse("reservations:cancel", args=[reservation.pk])
    client.post(url)

    again = client.post(url)

    assert again.status_code == 409
    assert "すでに取り消されています" in again.text


def test_resident_cannot_cancel_someone_elses_booking(client, room):
    owner = ResidentFactory()
    reservation = take(room, resident=owner)
    client.force_login(ResidentFactory().user)
    url = reverse("reservations:cancel", args=[reservation.pk])

    page = client.get(url)
    response = client.post(url)

    assert page.status_code == 404 and response.status_code == 404
    assert "指定された予約が見つかりません" in response.text
    reservation.refresh_from_db()
    assert reservation.is_active
    assert Occupancy.objects.filter(reservation=reservation).exists()


def test_unknown_reservation_cancel_is_404(client, resident):
    client.force_login(resident.user)

    assert client.post(reverse("reservations:cancel", args=[999999])).status_code == 404
