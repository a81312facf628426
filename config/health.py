"""GET /healthz: is this web process able to serve, and is the background work alive?

Checks (each cheap, each bounded by the clients' timeouts):
- database: `SELECT 1` on this process's connection;
- redis: one GET through the cache, which also reads the Celery heartbeat;
- celery: the heartbeat that a beat-scheduled task (`config.health.heartbeat`, executed by a
  worker) writes to Redis every CELERY_HEARTBEAT_SECONDS; older than HEALTH_CELERY_STALE_SECONDS
  means beat, the broker or every worker is stuck.

Answer: JSON {"status": "ok"|"fail", "checks": {name: {"status": "ok"|"fail"|"stale"|"skipped", ...}}},
200 when every check asked for is ok (or skipped), else 503. `?check=database` (repeatable) asks for
a subset: the load balancer should probe only `database` (docs/deployment.md), so that a Redis or
Celery problem, which booking survives, never takes every web machine out of rotation.

No authentication and nothing personal: statuses, milliseconds and the error's class name only
(the error text, which can name hosts, goes to the log).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:celery:heartbeat"
CHECKS = ("database", "redis", "celery")


@shared_task(name="config.health.heartbeat", ignore_result=True)
def heartbeat() -> float:
    """Run by a worker on beat's schedule: proves beat, the broker and a worker all work."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


def _failed(name: str, began: float, error: Exception) -> dict[str, Any]:
    logger.warning("healthz: %s failed: %s: %s", name, type(error).__name__, error)
    return {"status": "fail", "error": type(error).__name__, "ms": _ms(began)}


def check_database() -> dict[str, Any]:
    began = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return _failed("database", began, error)
    return {"status": "ok", "ms": _ms(began)}


def _redis_configured() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def _celery_configured() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


def check_redis_and_celery(*, with_celery: bool) -> dict[str, dict[str, Any]]:
    """One cache round trip answers both: Redis is up if the GET worked; the value is the heartbeat."""
    results: dict[str, dict[str, Any]] = {}
    if not _redis_configured():
        results["redis"] = {"status": "skipped"}
        if with_celery:
            results["celery"] = {"status": "skipped"}
        return results
    began = time.perf_counter()
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception as error:  # noqa: BLE001
        results["redis"] = _failed("redis", began, error)
        if with_celery:
            results["celery"] = {"status": "unknown"}
        return results
    results["redis"] = {"status": "ok", "ms": _ms(began)}
    if with_celery:
        if not _celery_configured():
            results["celery"] = {"status": "skipped"}
        elif beat is None:
            results["celery"] = {"status": "stale", "age_seconds": None}
        else:
            age = max(0.0, time.time() - float(beat))
            fresh = age <= settings.HEALTH_CELERY_STALE_SECONDS
            results["celery"] = {"status": "ok" if fresh else "stale", "age_seconds": round(age, 1)}
    return results


def healthz(request: HttpRequest) -> JsonResponse:
    asked = [c for c in request.GET.getlist("check") if c in CHECKS] or list(CHECKS)
    checks: dict[str, dict[str, Any]] = {}
    if "database" in asked:
        checks["database"] = check_database()
    if "redis" in asked or "celery" in asked:
        found = check_redis_and_celery(with_celery="celery" in asked)
        checks.update({name: result for name, result in found.items() if name in asked})
    healthy = all(c["status"] in ("ok", "skipped") for c in checks.values())
    answer = JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)
    answer["Cache-Control"] = "no-store"
    # A failed check is logged above as a warning; Django's "Service Unavailable" error line for
    # every probe of the load balancer and the monitoring would only repeat it.
    answer._has_been_logged = True  # type: ignore[attr-defined]
    return answer
