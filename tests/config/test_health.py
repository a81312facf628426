"""GET /healthz (config/health.py): per-check JSON, 200 or 503, no login, nothing personal."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from config.health import HEARTBEAT_KEY, heartbeat

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "config.redis_cache.ReusingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_all_well_is_200_with_each_check(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "celery"}
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["database"]["ms"] >= 0
    assert body["checks"]["redis"]["status"] == "ok"
    # The suite runs tasks eagerly: there is no beat to be late.
    assert body["checks"]["celery"] == {"status": "skipped"}


def test_celery_is_stale_without_a_recent_heartbeat_and_ok_with_one(client: Client, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_CELERY_STALE_SECONDS = 60
    cache.delete(HEARTBEAT_KEY)
    missing = client.get("/healthz")
    assert missing.status_code == 503
    assert missing.json()["checks"]["celery"] == {"status": "stale", "age_seconds": None}

    heartbeat.apply()  # what the worker does on beat's schedule
    fresh = client.get("/healthz")
    assert fresh.status_code == 200
    assert fresh.json()["checks"]["celery"]["status"] == "ok"
    assert fresh.json()["checks"]["celery"]["age_seconds"] < 5

    cache.set(HEARTBEAT_KEY, time.time() - 300, timeout=None)
    old = client.get("/healthz")
    assert old.status_code == 503
    assert old.json()["checks"]["celery"]["status"] == "stale"
    assert old.json()["checks"]["celery"]["age_seconds"] >= 300


def test_redis_down_is_503_but_the_database_check_alone_stays_200(client: Client, settings: Any) -> None:
    settings.CACHES = UNREACHABLE_REDIS
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "fail" and checks["redis"]["error"] == "ConnectionError"
    assert checks["celery"] == {"status": "unknown"}
    # Only the class name of the error: its text names hosts and ports.
    assert "127.0.0.1" not in response.content.decode()

    lb = client.get("/healthz?check=database")
    assert lb.status_code == 200
    assert set(lb.json()["checks"]) == {"database"}


def test_unknown_checks_are_ignored_and_nothing_personal_is_shown(client: Client) -> None:
    response = client.get("/healthz?check=passwords&check=redis")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"redis"}
    assert "Set-Cookie" not in response.headers
