"""Lottery pages (namespace "lottery"), under /lottery/."""

from __future__ import annotations

from django.urls import path

import reservations.urls  # noqa: F401 - registers the "date" path converter

from . import views

app_name = "lottery"

urlpatterns = [
    path("", views.index, name="index"),
    path("rounds/<int:round_id>/", views.round_detail, name="round"),
    path("rounds/<int:round_id>/rooms/<int:room_id>/", views.round_room, name="round_room"),
    path("rounds/<int:round_id>/entries.json", views.round_download, name="round_download"),
    path("rounds/<int:round_id>/verify/", views.round_verify, name="round_verify"),
    path("apply/<int:room_id>/<date:day>/", views.apply, name="apply"),
    path("my/", views.my_entries, name="my_entries"),
    path("my/entries/<int:entry_id>/withdraw/", views.entry_withdraw, name="entry_withdraw"),
    path("my/entries/<int:entry_id>/rank/", views.entry_rank, name="entry_rank"),
    path("my/outcomes/<int:outcome_id>/confirm/", views.outcome_confirm, name="outcome_confirm"),
    path("my/outcomes/<int:outcome_id>/decline/", views.outcome_decline, name="outcome_decline"),
]
