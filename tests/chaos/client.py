"""A resident, as the fault tests see one: a logged-in HTTP session that books through the JSON API,
and the bookkeeping of every answer (loadtests.checks.Answer) for the SQL checks afterwards."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import psycopg
import requests

from loadtests.checks import ERROR, QUOTA, REFUSED, SUCCESS, TAKEN, Answer

DEMO_PASSWORD = "demo-pass-2026"  # reservations/demo.py's published demo password
TIMEOUT = 15.0


@dataclass(frozen=True)
class Slot:
    room_id: int
    date: str
    band_id: int


@dataclass
class Person:
    resident_id: int
    user_number: str


def fresh_residents(conn: psycopg.Connection[Any], n: int) -> list[Person]:
    """Active residents without any booking or staff role (so every booking they hold afterwards is
    the test's doing)."""
    rows = conn.execute(
        """
        SELECT r.id, u.user_number FROM reservations_resident r
        JOIN reservations_user u ON u.id = r.user_id
        WHERE r.status = 'active' AND NOT u.is_staff AND r.residency <> 'outsider'
          AND NOT EXISTS (SELECT 1 FROM reservations_reservation b WHERE b.resident_id = r.id)
        ORDER BY r.id LIMIT %s
        """,
        [n],
    ).fetchall()
    return [Person(int(pk), str(number)) for pk, number in rows]


class ResidentClient:
    def __init__(self, base_url: str, person: Person) -> None:
        self.base_url = base_url
        self.person = person
        self.http = requests.Session()

    def login(self) -> requests.Response:
        self.http.get(f"{self.base_url}/accounts/login/", timeout=TIMEOUT)
        return self.http.post(
            f"{self.base_url}/accounts/login/",
            data={
                "username": self.person.user_number,
                "password": DEMO_PASSWORD,
                "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{self.base_url}/accounts/login/"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def book(self, slot: Slot) -> tuple[requests.Response | None, Answer]:
        """POST /api/v1/me/bookings for one band; the answer classified like the rush benchmark's."""
        response: requests.Response | None = None
        try:
            response = self.http.post(
                f"{self.base_url}/api/v1/me/bookings",
                json={"room_id": slot.room_id, "date": slot.date, "band_ids": [slot.band_id]},
                headers={"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": self.base_url + "/"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            return None, self._answer(slot, ERROR, 0, code="client", error=type(error).__name__)
        body: dict[str, Any] = {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("code") or "")
        if response.status_code == 201:
            return response, self._answer(slot, SUCCESS, 201, booking_id=int(body["id"]))
        if response.status_code == 409 and code == "slot_taken":
            kind = TAKEN
        elif response.status_code == 409 and code in ("quota", "group_quota"):
            kind = QUOTA
        elif 400 <= response.status_code < 500:
            kind = REFUSED
        else:
            kind = ERROR
        return response, self._answer(slot, kind, response.status_code, code=code or None)

    def _answer(self, slot: Slot, kind: str, status: int, **extra: Any) -> Answer:
        return Answer(
            resident_id=self.person.resident_id,
            user_number=self.person.user_number,
            room_id=slot.room_id,
            date=slot.date,
            band_id=slot.band_id,
            method="POST",
            kind=kind,
            status=status,
            t=time.time(),
            **extra,
        )


def bookable_slots(base_url: str, *, facilities: int = 12, days: int = 14, start: dt.date | None = None) -> list[Slot]:
    """Free slots inside the booking window right now, from the public availability API."""
    listing = requests.get(f"{base_url}/api/v1/facilities", timeout=TIMEOUT).json()
    first = start or (dt.date.today() + dt.timedelta(days=3))
    slots: list[Slot] = []
    for facility in listing[:facilities]:
        grid = requests.get(
            f"{base_url}/api/v1/facilities/{facility['id']}/availability",
            params={"from": first.isoformat(), "days": days},
            timeout=TIMEOUT,
        ).json()
        slots.extend(Slot(s["room_id"], str(s["date"]), s["band_id"]) for s in grid["slots"] if s["bookable"])
    return slots
