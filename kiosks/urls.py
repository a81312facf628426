"""Kiosk tablet pages under /kiosk/ (namespace "kiosks")."""

from django.urls import path

import reservations.urls  # noqa: F401  (registers the "date" path converter used below)

from . import views

app_name = "kiosks"

urlpatterns = [
    path("", views.home, name="home"),
    path("activate/", views.activate, name="activate"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("availability/", views.availability, name="availability"),
    path("book/<int:room_id>/<date:day>/<int:band_id>/", views.book, name="book"),
    path("bookings/", views.my_bookings, name="my_bookings"),
    path("bookings/<int:reservation_id>/", views.booking_done, name="booking_done"),
    path("bookings/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
    path("check-in/", views.check_in, name="check_in"),
    path("pin/", views.set_pin, name="set_pin"),
]
