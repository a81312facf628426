"""Staff counter terminal pages under /staff/ (namespace "staff")."""

from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.index, name="index"),
    path("facilities/<int:facility_id>/today/", staff_views.today, name="today"),
    path("facilities/<int:facility_id>/check-in/", staff_views.check_in, name="check_in"),
    path("facilities/<int:facility_id>/no-show/<int:reservation_id>/", staff_views.no_show, name="no_show"),
]
