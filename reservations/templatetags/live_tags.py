"""`{% live_availability facility_id days %}`: what static/js/live.js needs on an availability page
(the live region it announces updates in, its settings as data attributes, the script tag).

The tag renders the same for everyone, so the resident pages stay cacheable whole
(reservations/views.py); the grid the script replaces is the page's `[data-live-grid]` elements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django import template
from django.conf import settings

register = template.Library()


def _dates(shown: object) -> Iterable[dt.date]:
    """Dates in `shown`: a date, a grid column or calendar cell (its `day`; None for a blank
    cell), or a list of any of these, nested (a month's weeks)."""
    if isinstance(shown, dt.date):
        yield shown
    elif isinstance(shown, Iterable) and not isinstance(shown, str):
        for item in shown:
            yield from _dates(item)
    elif getattr(shown, "day", None) is not None:
        yield from _dates(shown.day)  # type: ignore[attr-defined]


@register.inclusion_tag("live/_live_availability.html")
def live_availability(facility_id: int, shown: object) -> dict[str, object]:
    """`shown`: the days the page shows, which decide the months it watches."""
    days = sorted(_dates(shown))
    if not days:
        return {"facility_id": None}
    first, last = days[0], days[-1]
    return {
        "facility_id": facility_id,
        "month": f"{first.year:04d}-{first.month:02d}",
        "months": (last.year - first.year) * 12 + last.month - first.month + 1,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "websocket_url": settings.LIVE_WEBSOCKET_URL,
        "fallback_seconds": settings.LIVE_FALLBACK_REFRESH_SECONDS,
    }
