"""reservations/page_memo.py: the free booking page, drawn once for the residents it looks alike to."""

from __future__ import annotations

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from reservations import page_memo, views
from reservations.models import Channel, Facility, Reservation, Residency, ResidentStatus
from reservations.services import catalogue_save, reservation_create
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, make_room
from tests.reservations.test_availability_cache import UNREACHABLE_REDIS
from tests.reservations.test_views import NOW, USE_DAY, clock  # noqa: F401 - clock: the views' frozen time (autouse)

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def room():
    facility = FacilityFactory(name="春日区民センター")
    room = make_room(facility, "r1")
    room.purposes.create(code="meeting", name="会議")
    return room


def band(room, code: str) -> int:
    return room.facility.time_bands.get(code=code).pk


def page_url(room, *codes: str) -> str:
    return (
        reverse("reservations:book", args=[room.pk, USE_DAY]) + "?" + "&".join(f"bands={band(room, c)}" for c in codes)
    )


def visit(room, resident=None, *codes: str, client: Client | None = None):
    client = client or Client()
    client.force_login((resident or ResidentFactory()).user)
    return client.get(page_url(room, *(codes or ("am",))))


def drawn(response) -> bool:
    """Whether this answer's page was drawn for it (the test client records the templates)."""
    return "reservations/book.html" in [t.name for t in response.templates]


def without_tokens(html: str) -> str:
    return TOKEN.sub("", html)


def test_residents_alike_get_one_drawing_each_with_a_token_of_their_own(room):
    first, second = visit(room), visit(room)

    assert first.status_code == second.status_code == 200
    assert drawn(first) and not drawn(second)
    assert without_tokens(first.text) == without_tokens(second.text)
    tokens = TOKEN.findall(second.text)
    assert len(tokens) == 3  # the booking form, the logout and the language forms
    assert page_memo.CSRF_STAND_IN not in second.text
    assert set(tokens).isdisjoint(TOKEN.findall(first.text))


def test_the_token_in_a_remembered_page_books(room):
    visit(room)  # draws it
    resident = ResidentFactory()
    client = Client(enforce_csrf_checks=True)
    page = visit(room, resident, client=client)
    assert not drawn(page)

    response = client.post(
        page_url(room, "am"),
        {
            "csrfmiddlewaretoken": TOKEN.search(page.text).group(1),
            "bands": band(room, "am"),
            "purpose": room.purposes.get().pk,
            "attendees": 3,
        },
    )

    assert response.status_code == 302
    assert Reservation.objects.get().resident == resident


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: ResidentFactory(residency=Residency.OUTSIDER), id="outsider's fee"),
        pytest.param(lambda: GroupFactory(name="春日合唱団").representative, id="a group to book for"),
        pytest.param(lambda: ResidentFactory(status=ResidentStatus.SUSPENDED), id="not active"),
    ],
)
def test_a_resident_the_page_differs_for_gets_their_own(room, make):
    plain = visit(room)

    other = visit(room, make())

    assert drawn(other)
    assert without_tokens(other.text) != without_tokens(plain.text)


def test_another_language_is_drawn_in_it(room):
    visit(room)
    client = Client()
    client.cookies["lang"] = "en"

    english = visit(room, client=client)

    assert drawn(english) and 'lang="en"' in english.text


def test_a_booking_next_door_shows_at_once_without_drawing_the_page_again(room):
    """The band choices are each request's own: at 09:00 the bands of one day are taken one after
    another, and each booking used to send the day's pages to be drawn again."""
    before = visit(room)
    booker = ResidentFactory()
    reservation_create(
        resident=booker,
        room_id=room.pk,
        date=USE_DAY,
        band_ids=[band(room, "pm")],
        channel=Channel.WEB,
        booked_by=booker.user,
        now=NOW,
    )

    after = visit(room)

    assert not drawn(after)
    assert views.BAND_CHOICES_STAND_IN not in after.text
    pm = band(room, "pm")
    assert f'value="{pm}" id="band-{pm}">' in before.text
    assert f'value="{pm}" id="band-{pm}" disabled>' in after.text


def test_a_catalogue_edit_shows_at_once(room):
    visit(room)
    facility = Facility.objects.get(pk=room.facility_id)
    facility.name = "春日区民センター（改修後）"
    catalogue_save(obj=facility)

    after = visit(room)

    assert drawn(after) and "春日区民センター（改修後）" in after.text


def _request(resident):
    request = RequestFactory().get(reverse("reservations:home"))
    request.user = resident.user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_a_page_with_messages_is_drawn_for_its_request():
    resident = ResidentFactory()
    page_memo.render_alike(_request(resident), "base.html", {}, inputs=())  # remembered without
    request = _request(resident)
    messages.info(request, "登録情報を変更しました。")

    response = page_memo.render_alike(request, "base.html", {}, inputs=())

    assert "登録情報を変更しました。" in response.content.decode()
    assert request._messages.used  # shown, so not shown again


def test_with_the_cache_down_the_page_is_drawn_as_usual(room):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = visit(room)

    assert response.status_code == 200 and drawn(response)
    assert page_memo.CSRF_STAND_IN not in response.text


SELECT = re.compile(r'<select name="group" id="id_group">.*?</select>', re.S)


def test_residents_of_different_groups_share_a_drawing_and_each_sees_their_own(room):
    first = GroupFactory(name="春日合唱団").representative
    second = GroupFactory(name="卓球 <&> クラブ").representative
    GroupFactory(name="囲碁の会", representative=second)

    one, other = visit(room, first), visit(room, second)

    assert drawn(one) and not drawn(other)
    assert views.GROUP_STAND_IN.name not in other.text
    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', SELECT.search(other.text).group(0))
    assert [name for _, _, name in options] == ["個人として予約", "卓球 &lt;&amp;&gt; クラブ", "囲碁の会"]
    assert options[0][:2] == ("", " selected")
    assert "春日合唱団" not in other.text


def test_the_group_choice_is_what_the_form_itself_draws(room):
    """The filled-in choice is the one Django draws for the resident's form: the page with errors
    after a POST is drawn for its request alone."""
    resident = GroupFactory(name="春日合唱団").representative
    GroupFactory(name="文京卓球クラブ", representative=resident)
    client = Client()
    visit(room)  # someone without groups first
    GroupFactory(name="よそのクラブ")
    visit(room, GroupFactory(name="ほかの会").representative)  # the drawing with the stand-in
    page = visit(room, resident, client=client)
    assert not drawn(page)

    with_errors = client.post(page_url(room, "am"), {"bands": band(room, "am"), "attendees": ""})

    assert with_errors.status_code == 400 and drawn(with_errors)
    assert SELECT.search(page.text).group(0) == SELECT.search(with_errors.text).group(0)
