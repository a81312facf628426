"""Shared set-up of the payments tests: a room, a provisional booking, and the fake Stripe server
(one per test worker, on a free port, in a thread) that the real stripe SDK talks to.

The clock is moved with time-machine to the suite's `NOW`, so that the booking window, the fake's
session expiry and the SDK's signature-age check all agree on the time."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import time_machine
from django.test import Client

from payments.fake_stripe import FakeStripe, serve_in_thread
from payments.fake_stripe.server import State, sign
from reservations.domain import TOKYO
from reservations.models import Channel, Facility, Reservation, Resident, Room
from reservations.services import reservation_create
from tests.factories import FacilityFactory, ResidentFactory, StaffFactory, make_room

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)
USE_DAY = dt.date(2026, 12, 7)  # a Monday; its first-come window opened 2026-11-01 09:00
WEBHOOK_SECRET = "whsec_suite"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_3DS = "4000002500003155"


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[FakeStripe]:
    fake = serve_in_thread(webhook_secret=WEBHOOK_SECRET)
    yield fake
    fake.shutdown()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def fake(_fake_server: FakeStripe, settings: Any, clock: time_machine.Traveller) -> FakeStripe:
    """The fake Stripe, emptied, with the SDK pointed at it."""
    with _fake_server.lock:
        _fake_server.state = State()
    settings.STRIPE_API_BASE = _fake_server.base_url
    settings.STRIPE_SECRET_KEY = "sk_test_suite"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return _fake_server


@pytest.fixture
def facility() -> Facility:
    return FacilityFactory(name="春日区民センター")


@pytest.fixture
def room(facility: Facility) -> Room:
    return make_room(facility, "r1", weekday_fee=1200, holiday_fee=1500)


@pytest.fixture
def resident() -> Resident:
    return ResidentFactory()


def book(resident: Resident, room: Room, codes: tuple[str, ...] = ("am",), now: dt.datetime = NOW) -> Reservation:
    return reservation_create(
        resident=resident,
        room_id=room.pk,
        date=USE_DAY,
        band_ids=[b.pk for b in room.facility.time_bands.filter(code__in=codes).order_by("order")],
        channel=Channel.WEB,
        booked_by=resident.user,
        now=now,
    )


@pytest.fixture
def booking(resident: Resident, room: Room) -> Reservation:
    return book(resident, room)


@pytest.fixture
def staff() -> Any:
    return StaffFactory(is_superuser=True)


@pytest.fixture
def other_staff() -> Any:
    return StaffFactory(is_superuser=True)


def pay_on_page(fake: FakeStripe, session_id: str, card: str) -> requests.Response:
    """What a person does on the hosted checkout page: type a card number and press pay."""
    return requests.post(f"{fake.base_url}/pay/{session_id}", data={"card": card}, allow_redirects=False, timeout=10)


def deliveries(fake: FakeStripe, event_type: str | None = None) -> list[Any]:
    with fake.lock:
        return [d for d in fake.state.deliveries if event_type is None or d.type == event_type]


def post_event(client: Client, payload: str, signature: str | None) -> Any:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post("/payments/webhook/", data=payload, content_type="application/json", headers=headers)


def deliver_all(client: Client, fake: FakeStripe) -> list[int]:
    """Hand every event the fake emitted to our webhook endpoint, as Stripe would."""
    return [post_event(client, d.payload, d.signature).status_code for d in deliveries(fake)]


def signed_event(event_type: str, obj: dict[str, Any], *, event_id: str, at: float | None = None) -> tuple[str, str]:
    """A Stripe event signed with Stripe's scheme (for the cases the fake does not produce)."""
    payload = json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})
    return payload, sign(payload, WEBHOOK_SECRET, int(at if at is not None else time.time()))
