"""The websocket of live availability: /ws/availability/<facility>/<yyyy-mm>/[?months=2].

Thin: it checks who connects, joins the (facility, month) groups and forwards what kiosks/live.py
sends. Anyone may watch public availability. A kiosk (its device-key cookie) must be active and
watch its own facility, else it is refused; a logged-in resident's or staff member's socket joins
its session's group, so logging out closes it. Messages name the facility, month and days only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import HttpRequest

from reservations import selectors as booking_selectors
from reservations.domain import add_months

from . import live
from .auth import DEVICE_COOKIE, SESSION_RESIDENT, device_kiosk

MAX_MONTHS = 3  # a week or a kiosk's seven days span at most two months; one spare
LOGGED_OUT = 4401  # close code: the session ended (the browser reconnects, as whoever it is now)
REVOKED = 4403  # close code: the kiosk was revoked


def _month(raw: str) -> dt.date | None:
    try:
        year, month = (int(part) for part in raw.split("-"))
        return dt.date(year, month, 1) if 2000 <= year <= 2100 else None
    except ValueError:
        return None


def _months(query_string: bytes) -> int | None:
    """`months=N` from the query string (default 1), or None when it is not 1..MAX_MONTHS."""
    for pair in query_string.decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if name == "months":
            return int(value) if value.isdigit() and 1 <= int(value) <= MAX_MONTHS else None
    return 1


def _kiosk_id(signed_key: str) -> tuple[int, int] | None:
    """(kiosk id, facility id) of the active kiosk holding this device-key cookie, or None: the
    very check every kiosk page makes (kiosks.auth.device_kiosk)."""
    request = HttpRequest()
    request.COOKIES = {DEVICE_COOKIE: signed_key}
    kiosk = device_kiosk(request)
    return (kiosk.pk, kiosk.facility_id) if kiosk is not None else None


class AvailabilityConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        live.consumer_started(asyncio.get_running_loop())
        kwargs = self.scope["url_route"]["kwargs"]
        first, count = _month(kwargs["month"]), _months(self.scope.get("query_string", b""))
        facility_id = int(kwargs["facility_id"])
        if first is None or count is None or not await self._facility_exists(facility_id):
            await self.close()
            return
        groups = [live.availability_group(facility_id, live.month_key(add_months(first, i))) for i in range(count)]

        signed_key = self.scope.get("cookies", {}).get(DEVICE_COOKIE)
        if signed_key is not None:
            kiosk = await database_sync_to_async(_kiosk_id)(signed_key)
            if kiosk is None or kiosk[1] != facility_id:
                await self.close()  # revoked, forged, or another facility's kiosk
                return
            groups.append(live.kiosk_group(kiosk[0]))

        session_key = await self._signed_in_session()
        if session_key is not None:
            groups.append(live.session_group(session_key))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups = groups  # left again on disconnect
        # A logout that ran between reading the session and joining its group sent its "close"
        # before we listened: look again now that we do.
        if session_key is not None and not await self._session_exists(session_key):
            await self.close()
            return
        await self.accept()

    @database_sync_to_async
    def _facility_exists(self, facility_id: int) -> bool:
        return booking_selectors.facility_get(facility_id) is not None

    @database_sync_to_async
    def _signed_in_session(self) -> str | None:
        """The session key when someone is signed in with it (a user, or a resident at a kiosk)."""
        session = self.scope.get("session")
        user = self.scope.get("user")
        if session is None or session.session_key is None:
            return None
        if (user is not None and user.is_authenticated) or session.get(SESSION_RESIDENT) is not None:
            return str(session.session_key)
        return None

    @database_sync_to_async
    def _session_exists(self, session_key: str) -> bool:
        return bool(self.scope["session"].exists(session_key))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Browsers only listen; anything they send is ignored."""

    async def availability_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "availability",
                "facility": event["facility"],
                "month": event["month"],
                "dates": event["dates"],
                "version": event["version"],
            }
        )

    async def live_close(self, event: dict[str, Any]) -> None:
        await self.close(code=LOGGED_OUT if event.get("reason") != "revoked" else REVOKED)
