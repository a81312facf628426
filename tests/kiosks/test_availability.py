"""The kiosk's availability pages: one day (today by default), a week and a month of its own
facility, with ○△×休 always beside their text, navigation by on-screen buttons only, and the grid in
one element that ?fragment=1 returns alone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from reservations.models import Channel
from reservations.services import closure_create, reservation_create
from tests.factories import FacilityFactory, ResidentFactory, make_room
from tests.kiosks.conftest import NOW, USE_DAY, element

pytestmark = pytest.mark.django_db

TODAY = NOW.date()  # Tuesday 2026-11-10
HORIZON = TODAY + dt.timedelta(days=92)  # 2027-02-10


def book(room, day: dt.date, *codes: str):
    booker = ResidentFactory()
    return reservation_create(
        resident=booker,
        room_id=room.pk,
        date=day,
        band_ids=[b.pk for b in room.facility.time_bands.filter(code__in=codes)],
        channel=Channel.WEB,
        booked_by=booker.user,
        now=NOW,
    )


def grid(client, name: str, query: str = "") -> str:
    response = client.get(reverse(name) + query)
    assert response.status_code == 200
    return element(response.content.decode(), "kiosk-availability")


def cells(html: str) -> list[tuple[str, str]]:
    """(link target or "", visible text) of each cell of the grid's table."""
    found = []
    for td in re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S):
        link = re.search(r'href="([^"]+)"', td)
        text = re.sub(r"<[^>]+>", " ", td)
        found.append((link.group(1) if link else "", " ".join(text.split())))
    return found


def test_the_week_shows_each_rooms_days_with_symbol_and_text_each_a_button_to_its_day(clock, tablet, room):
    client, _kiosk = tablet
    book(room, USE_DAY, "am")  # partly taken
    book(room, USE_DAY + dt.timedelta(days=1), "am", "pm", "ev")  # wholly taken
    closure_create(facility=room.facility, date=USE_DAY + dt.timedelta(days=2), reason="点検")
    html = grid(client, "kiosks:availability_week", f"?start={USE_DAY.isoformat()}")
    assert cells(html) == [
        ("/kiosk/availability/?day=2026-12-07", "△ 一部空き"),
        ("/kiosk/availability/?day=2026-12-08", "× 空きなし"),
        ("/kiosk/availability/?day=2026-12-09", "休 休館"),
        ("/kiosk/availability/?day=2026-12-10", "○ 空きあり"),
        ("/kiosk/availability/?day=2026-12-11", "○ 空きあり"),
        ("/kiosk/availability/?day=2026-12-12", "○ 空きあり"),
        ("/kiosk/availability/?day=2026-12-13", "○ 空きあり"),
    ]
    assert "?start=2026-11-30" in html and "?start=2026-12-14" in html  # previous and next week


def test_the_week_starts_today_and_stops_at_the_horizon(clock, tablet, room):
    client, _kiosk = tablet
    first = grid(client, "kiosks:availability_week")
    assert "今日" in first and "前の週" not in first
    assert cells(first)[0][0] == f"/kiosk/availability/?day={TODAY.isoformat()}"
    before = grid(client, "kiosks:availability_week", "?start=2020-01-01")
    assert cells(before) == cells(first)  # nothing before today
    last = grid(client, "kiosks:availability_week", f"?start={(HORIZON - dt.timedelta(days=2)).isoformat()}")
    assert len(cells(last)) == 3 and "次の週" not in last


def test_the_month_is_a_calendar_of_the_facility_with_days_from_today_to_the_horizon_linked(clock, tablet, room):
    client, _kiosk = tablet
    make_room(room.facility, "r2")
    closure_create(facility=room.facility, date=dt.date(2026, 11, 20), reason="点検")
    book(room, dt.date(2026, 11, 24), "am", "pm", "ev")  # one room taken, the other free: partly free

    html = grid(client, "kiosks:availability_month")
    assert "2026年11月" in html and "すべての室場" in html
    days = cells(html)
    assert len(days) == 35  # 2026-11-01 is a Sunday: five weeks from Sunday
    assert days[0] == ("", "1 － 受付対象外")  # before today: shown, not a button
    assert [link for link, _text in days[:9]] == [""] * 9
    by_day = {text.split()[0]: (link, text) for link, text in days if text}
    assert by_day["10"][0] == "/kiosk/availability/?day=2026-11-10" and "今日" in by_day["10"][1]
    assert by_day["20"] == ("/kiosk/availability/?day=2026-11-20", "20 休 休館")
    assert by_day["24"] == ("/kiosk/availability/?day=2026-11-24", "24 △ 一部空き")
    assert by_day["25"] == ("/kiosk/availability/?day=2026-11-25", "25 ○ 空きあり")
    assert "前の月" not in html and "?month=2026-12" in html

    one_room = grid(client, "kiosks:availability_month", f"?month=2026-11&room={room.pk}")
    assert f"2026年11月（{room.name}）" in one_room
    assert ("/kiosk/availability/?day=2026-11-24", "24 × 空きなし") in cells(one_room)


def test_the_last_month_ends_at_the_horizon_and_later_months_are_not_shown(clock, tablet, room):
    client, _kiosk = tablet
    html = grid(client, "kiosks:availability_month", "?month=2027-02")
    linked = [text.split()[0] for link, text in cells(html) if link]
    assert linked == [str(d) for d in range(1, HORIZON.day + 1)]
    assert "次の月" not in html and "?month=2027-01" in html
    later = grid(client, "kiosks:availability_month", "?month=2031-05")
    assert "2027年2月" in later and cells(later) == cells(html)
    assert "2026年11月" in grid(client, "kiosks:availability_month", "?month=2001-01")
    assert "2026年11月" in grid(client, "kiosks:availability_month", "?month=bad")


def test_the_day_view_moves_by_day_and_week_without_the_browsers_controls(clock, tablet, room):
    client, _kiosk = tablet
    page = client.get(reverse("kiosks:availability")).content.decode()
    assert 'aria-current="page">今日' in page  # today by default
    assert 'href="/kiosk/"' in page and "メニューに戻る" in page  # a way back on screen
    tabs = element(page, "main")
    for target in ("/kiosk/availability/week/?start=2026-11-10", "/kiosk/availability/month/?month=2026-11"):
        assert f'href="{target}"' in tabs
    html = element(page, "kiosk-availability")
    assert "?day=2026-11-11" in html and "前の日" not in html
    later = grid(client, "kiosks:availability", "?day=2026-12-07")
    assert "?day=2026-12-06" in later and "?day=2026-12-08" in later
    assert "2026年12月7日(月)" in later
    last = grid(client, "kiosks:availability", f"?day={(HORIZON + dt.timedelta(days=30)).isoformat()}")
    assert "2027年2月10日(水)" in last and "次の日" not in last


def test_a_fragment_is_the_grid_element_alone_for_reloading_in_place(clock, tablet, room):
    client, _kiosk = tablet
    for name, query in (
        ("kiosks:availability", "?day=2026-12-07"),
        ("kiosks:availability_week", ""),
        ("kiosks:availability_month", "?month=2026-12"),
    ):
        page = client.get(reverse(name) + query).content.decode()
        fragment = client.get(reverse(name) + query + ("&" if query else "?") + "fragment=1")
        body = fragment.content.decode().strip()
        assert body.startswith('<div id="kiosk-availability"') and "<html" not in body
        assert body == element(page, "kiosk-availability").strip()
        assert "no-store" in fragment["Cache-Control"]
        assert "fragment=1" in re.search(r'data-fragment-url="([^"]+)"', page).group(1)


def test_a_kiosk_shows_its_own_facility_only(clock, tablet, room):
    client, _kiosk = tablet
    elsewhere = make_room(FacilityFactory(name="よそ会館"), "x1")
    for name in ("kiosks:availability", "kiosks:availability_week", "kiosks:availability_month"):
        page = client.get(reverse(name)).content.decode()
        assert room.name in page or name == "kiosks:availability_month"
        assert elsewhere.facility.name not in page and f"room={elsewhere.pk}" not in page


def test_touch_targets_are_at_least_44_px(clock):
    """The kiosk stylesheet: every button, tile, slot link and calendar day is at least 44 px high."""
    css = (Path(settings.BASE_DIR) / "static" / "css" / "kiosk.css").read_text()
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", css))

    def min_height(selector: str) -> int:
        for selectors, body in rules.items():
            if selector in [s.strip() for s in selectors.split(",")]:
                found = re.search(r"min-height:\s*(\d+)px", body)
                if found:
                    return int(found.group(1))
        raise AssertionError(f"no min-height for {selector}")

    for selector in ("button", ".button", ".tile", "a.slot", ".day-cell", "label.choice", ".keypad .key"):
        assert min_height(selector) >= 44, selector
