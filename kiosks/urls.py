"""Kiosk tablet pages under /kiosk/ (namespace "kiosks")."""

from django.urls import path

import reservations.urls  # noqa: F401  (registers the "date" path converter used below)

from . import lottery_views, views

app_name = "kiosks"

urlpatterns = [
    path("", views.home, name="home"),
    path("activate/", views.activate, name="activate"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("availability/", views.availability, name="availability"),
    path("availability/week/", views.availability_week, name="availability_week"),
    path("availability/month/", views.availability_month, name="availability_month"),
    path("book/<int:room_id>/<date:day>/<int:band_id>/", views.book, name="book"),
    path("bookings/", views.my_bookings, name="my_bookings"),
    path("bookings/<int:reservation_id>/", views.booking_done, name="booking_done"),
    path("bookings/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
    path("check-in/", views.check_in, name="check_in"),
    path("lottery/", lottery_views.lottery_index, name="lottery"),
    path("lottery/<int:round_id>/rooms/<int:room_id>/", lottery_views.lottery_room, name="lottery_room"),
    path("lottery/apply/<int:room_id>/<date:day>/<int:band_id>/", lottery_views.lottery_apply, name="lottery_apply"),
    path("lottery/my/", lottery_views.lottery_my, name="lottery_my"),
    path("lottery/my/outcomes/<int:outcome_id>/confirm/", lottery_views.lottery_confirm, name="lottery_confirm"),
    path("lottery/my/entries/<int:entry_id>/withdraw/", lottery_views.lottery_withdraw, name="lottery_withdraw"),
    path("pin/", views.set_pin, name="set_pin"),
]
