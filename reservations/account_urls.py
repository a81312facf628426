"""Registration, profile and group registration under /accounts/ (namespace "accounts")."""

from django.urls import path

from . import account_views

app_name = "accounts"

urlpatterns = [
    path("register/", account_views.register, name="register"),
    path("register/done/", account_views.register_done, name="register_done"),
    path("profile/", account_views.profile, name="profile"),
    path("groups/new/", account_views.group_register, name="group_register"),
    path("groups/<int:group_id>/registered/", account_views.group_registered, name="group_registered"),
]
