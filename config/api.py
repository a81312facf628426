"""The JSON API (/api/v1/). Each app contributes a router; the schema is at /api/v1/openapi.json."""

from ninja import NinjaAPI

from reservations.api import router as reservations_router

api = NinjaAPI(
    title="施設予約 API",
    version="1",
    description="Facilities, rooms, availability and first-come bookings. Errors carry a code and a message.",
    urls_namespace="api",
)
api.add_router("/", reservations_router)
