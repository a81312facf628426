"""Websocket routes, served by the ASGI process (config/asgi.py) under /ws/."""

from django.urls import re_path

from .consumers import AvailabilityConsumer

websocket_urlpatterns = [
    re_path(r"^ws/availability/(?P<facility_id>\d+)/(?P<month>\d{4}-\d{2})/$", AvailabilityConsumer.as_asgi()),
]
