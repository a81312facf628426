"""Public booking pages (namespace "reservations")."""

from __future__ import annotations

import datetime as dt

from django.urls import path, register_converter
from django.views.generic import TemplateView

from . import ical_views, language, views


class IsoDateConverter:
    """An ISO date in a path ("2026-12-07"). A string of the right shape that is not a real date
    (2026-02-30) does not match; the catch-all routes below answer it with a clear 400."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # ValueError means "no match" to the resolver

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "date")

app_name = "reservations"

urlpatterns = [
    path("", views.home, name="home"),
    path("facilities/<int:facility_id>/month/<int:year>/<int:month>/", views.facility_month, name="facility_month"),
    path("facilities/<int:facility_id>/week/<date:start>/", views.facility_week, name="facility_week"),
    path("facilities/<int:facility_id>/week/<str:start>/", views.bad_date),
    path("book/<int:room_id>/<date:day>/", views.book, name="book"),
    path("book/<int:room_id>/<str:day>/", views.bad_date),
    path("bookings/<int:reservation_id>/done/", views.booking_done, name="booking_done"),
    path("my/bookings/", views.my_bookings, name="my_bookings"),
    path("my/bookings/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
    path("lang/<str:code>/", views.switch_language, name="switch_language"),
    path("lang/", language.set_language, name="set_language"),
    path("my/calendar/", ical_views.settings_page, name="calendar"),
    path("calendar/<str:token>.ics", ical_views.feed, name="calendar_feed"),
    path(
        "accessibility/",
        TemplateView.as_view(template_name="reservations/accessibility.html"),
        name="accessibility",
    ),
]
