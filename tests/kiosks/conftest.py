"""Kiosk fixtures: a facility with a room, and a tablet activated through the real pages."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from kiosks.models import Kiosk
from kiosks.services import kiosk_create
from reservations.domain import TOKYO
from reservations.services import resident_set_pin
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, make_room

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)  # December's first-come window is open
USE_DAY = dt.date(2026, 12, 7)
PIN = "4821"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def facility():
    return FacilityFactory(name="春日区民センター")


@pytest.fixture
def room(facility):
    return make_room(facility, "r1")


@pytest.fixture
def staff():
    return StaffFactory(is_superuser=True)


def activated_client(facility, staff, name: str = "1階ロビー") -> tuple[Client, Kiosk]:
    kiosk, code = kiosk_create(facility=facility, name=name, created_by=staff, now=NOW)
    client = Client()
    response = client.post(reverse("kiosks:activate"), {"code": code})
    assert response.status_code == 302, response.content
    return client, kiosk


@pytest.fixture
def tablet(clock, facility, staff) -> tuple[Client, Kiosk]:
    return activated_client(facility, staff)


@pytest.fixture
def resident():
    resident = ResidentFactory(full_name="春日 一郎")
    resident_set_pin(resident_id=resident.pk, pin=PIN)
    return resident


def login(client: Client, resident, pin: str = PIN):
    return client.post(reverse("kiosks:login"), {"user_number": resident.user.user_number, "pin": pin})


def element(html: str, element_id: str) -> str:
    """The outer HTML of the element with this id (nested elements of the same tag counted), so a
    test can look at one part of a page."""
    import re

    start = re.search(rf'<(\w+)[^>]*\sid="{re.escape(element_id)}"', html)
    assert start, f"no element #{element_id}"
    tag = start.group(1)
    depth, position = 0, start.start()
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", html[position:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[position : position + match.end()]
    raise AssertionError(f"#{element_id} is not closed")


def qr_of(payload: str, label: str) -> str:
    """The inline SVG a page shows for a QR code of `payload` (the same encoder and settings): a page
    containing it shows exactly that content as a QR code."""
    from reservations.templatetags.qr_tags import qr_svg_markup

    return str(qr_svg_markup(payload, label))
