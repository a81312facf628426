"""The machine's ceiling, measured in the same run as the real endpoints (see RUSH.md).

Two bare endpoints under the same server, middleware and connection settings as the app:
one indexed SELECT → small JSON, and one contended INSERT … ON CONFLICT DO NOTHING. Mounted
only when settings.BENCH_ENDPOINTS is on (the benchmark's settings), never in production.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

CLAIM_TABLE = "bench_claim"
CLAIM_KEYS = 200  # a hot set of keys, so most inserts lose, as most bookings do at 09:00


def ensure_claim_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {CLAIM_TABLE} (k integer PRIMARY KEY, who integer NOT NULL)")


@require_GET
def bare_read(request: HttpRequest, pk: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, capacity FROM reservations_room WHERE id = %s", [pk])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"code": "not_found"}, status=404)
    return JsonResponse({"id": row[0], "name": row[1], "capacity": row[2]})


@csrf_exempt
@require_POST
def bare_claim(request: HttpRequest, key: int, who: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CLAIM_TABLE} (k, who) VALUES (%s, %s) ON CONFLICT DO NOTHING",  # noqa: S608 - constant
            [key % CLAIM_KEYS, who],
        )
        won = cursor.rowcount == 1
    return JsonResponse({"won": won}, status=201 if won else 409)


urlpatterns = [
    path("read/<int:pk>/", bare_read, name="bare_read"),
    path("claim/<int:key>/<int:who>/", bare_claim, name="bare_claim"),
]
