"""The resident's calendar feed (iCalendar, RFC 5545, made with the icalendar library).

Calendar apps (Google Calendar, Apple Calendar, Outlook) subscribe to a URL and fetch it now and then
without a login, so the URL carries a per-resident secret token (`ResidentPreference.calendar_token`,
made and reset by `services.resident_calendar_token_reset`). The feed holds only that resident's own
active bookings (provisional, confirmed, lottery wins awaiting confirmation) from a month back on:
never a group member's or anyone else's. A cancelled booking simply drops out, so the app removes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import icalendar
from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext

from .domain import TOKYO
from .models import ACTIVE_STATES, Reservation, ReservationState, Resident, ResidentPreference

# How far back the feed keeps bookings: enough for "when was that?", small enough to stay light.
PAST_DAYS = 31
# How often calendar apps that honour it should fetch the feed again.
REFRESH = dt.timedelta(hours=1)


def resident_for_token(token: str) -> Resident | None:
    """The active resident whose feed this token opens, or None (unknown, reset or suspended)."""
    if not token:
        return None
    preference = (
        ResidentPreference.objects.select_related("resident__user")
        .filter(calendar_token=token, resident__status="active", resident__user__is_active=True)
        .first()
    )
    return preference.resident if preference else None


def feed_reservations(resident: Resident, *, today: dt.date) -> QuerySet[Reservation]:
    """The resident's own active bookings from PAST_DAYS ago on (not their groups' other members')."""
    return (
        Reservation.objects.filter(
            resident=resident, state__in=ACTIVE_STATES, date__gte=today - dt.timedelta(days=PAST_DAYS)
        )
        .select_related("room__facility", "band_from", "band_to", "group")
        .order_by("date", "band_from__order")
    )


def _event(reservation: Reservation, *, stamp: dt.datetime, site: str, bookings_url: str) -> icalendar.Event:
    room, facility = reservation.room, reservation.room.facility
    starts = dt.datetime.combine(reservation.date, reservation.band_from.starts_at, tzinfo=TOKYO)
    ends = dt.datetime.combine(reservation.date, reservation.band_to.ends_at, tzinfo=TOKYO)
    lines = [
        gettext("予約番号: %(reference)s") % {"reference": reservation.reference},
        gettext("状態: %(state)s") % {"state": reservation.get_state_display()},
        gettext("使用料: %(fee)s円") % {"fee": f"{reservation.fee:,}"},
    ]
    if reservation.group:
        lines.append(gettext("団体: %(name)s") % {"name": reservation.group.name})
    if reservation.state == ReservationState.PROVISIONAL and reservation.payment_deadline:
        deadline = reservation.payment_deadline.astimezone(TOKYO)
        lines.append(gettext("お支払い期限: %(when)s") % {"when": f"{deadline:%Y-%m-%d %H:%M}"})
    if reservation.state == ReservationState.AWAITING:
        lines.append(gettext("抽選に当選しました。期限までに当選を確定してください。"))
    lines.append(gettext("予約の確認・取消: %(url)s") % {"url": bookings_url})

    event = icalendar.Event()
    event.add("uid", f"{reservation.reference}@{site}")
    event.add("dtstamp", stamp)
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("summary", f"{facility.name} {room.name}")
    event.add("location", facility.address)
    event.add("description", "\n".join(lines))
    event.add("url", bookings_url)
    event.add("status", "CONFIRMED" if reservation.state == ReservationState.CONFIRMED else "TENTATIVE")
    event.add("transp", "OPAQUE")
    return event


def calendar_bytes(
    reservations: Iterable[Reservation], *, language: str, now: dt.datetime, site: str, bookings_url: str
) -> bytes:
    """The feed as iCalendar text (UTF-8), its texts in `language`."""
    with translation.override(language or settings.LANGUAGE_CODE):
        name = gettext("施設予約（%(ward)s）") % {"ward": settings.WARD_NAME}
        calendar = icalendar.Calendar()
        calendar.add("prodid", f"-//shisetsu-yoyaku//{settings.WARD_NAME}//JA")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", "Asia/Tokyo")
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", REFRESH)
        stamp = now.astimezone(dt.UTC)
        for reservation in reservations:
            calendar.add_component(_event(reservation, stamp=stamp, site=site, bookings_url=bookings_url))
        calendar.add_missing_timezones()
        return calendar.to_ical()
