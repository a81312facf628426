"""Fault (b): Redis stops (cache, sessions' cache, broker, channel layer), then comes back empty;
and Redis freezes (SIGSTOP: it accepts connections but never answers).

Booking never needs Redis: the availability cache computes from the database, sessions come from
the database (config/sessions.py), the live push is skipped. /healthz says what is down. New
logins are refused with 503 while Redis is down, because the login rate limits cannot count
(fail closed; the rest of the site fails open). When Redis is back the same processes use it again:
the Celery worker and beat reconnect on their own, which the heartbeat in /healthz shows.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import Counter
from typing import Any

import pytest
import requests

from loadtests import checks
from loadtests.checks import SUCCESS, Answer

from .client import ResidentClient, bookable_slots, fresh_residents
from .stack import Postgres, Redis, Services, wait_for

pytestmark = pytest.mark.chaos


def _healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    response = requests.get(f"{base_url}/healthz", timeout=10)
    return response.status_code, response.json()


def _healthy(base_url: str) -> bool:
    return _healthz(base_url)[0] == 200


def _book_some(
    clients: list[ResidentClient], slots: list[Any], rng: random.Random, n: int
) -> list[tuple[float, Answer]]:
    made = []
    for i in range(n):
        began = time.monotonic()
        _, answer = clients[i % len(clients)].book(rng.choice(slots))
        made.append((time.monotonic() - began, answer))
    return made


def _sql_checks(postgres: Postgres, database: str, answers: list[Answer], resident_ids: list[int]) -> list[Any]:
    months = {dt.date.fromisoformat(a.date).replace(day=1) for a in answers}
    with postgres.connect(database) as conn, conn.cursor() as cursor:
        results = [checks.check_no_double_occupancy(cursor, month) for month in sorted(months)]
        results += [
            checks.check_success_answers(cursor, answers),
            checks.check_failure_answers(cursor, answers),
            checks.check_no_silent_bookings(cursor, answers, resident_ids),
        ]
    return results


def test_booking_goes_on_while_redis_is_down(
    postgres: Postgres, database: str, redis_server: Redis, stack: Services
) -> None:
    for name in ("web", "worker", "beat"):
        stack.start(name)
    wait_for(lambda: _healthy(stack.base_url), timeout=60, what="healthz ok with a Celery heartbeat")
    with postgres.connect(database) as conn:
        people = fresh_residents(conn, 7)
    clients = [ResidentClient(stack.base_url, p) for p in people[:6]]
    late = ResidentClient(stack.base_url, people[6])  # logs in only during the outage
    for client in clients:
        assert client.login().status_code == 302
    slots = bookable_slots(stack.base_url)
    rng = random.Random(1)
    before = _book_some(clients, slots, rng, 12)
    assert any(a.kind == SUCCESS for _, a in before)
    facility_id = requests.get(f"{stack.base_url}/api/v1/facilities", timeout=10).json()[0]["id"]
    month = dt.date.today() + dt.timedelta(days=3)
    page = f"{stack.base_url}/facilities/{facility_id}/month/{month.year}/{month.month}/"

    redis_server.stop()
    down_at = time.monotonic()
    during = _book_some(clients, slots, rng, 24)
    page_status = requests.get(page, timeout=15).status_code
    health_status, health = _healthz(stack.base_url)
    db_only = requests.get(f"{stack.base_url}/healthz?check=database", timeout=10).status_code
    login = late.login()
    time.sleep(3)  # a few beat ticks while the broker is gone
    down_s = time.monotonic() - down_at

    assert {a.status for _, a in during} <= {201, 409}, Counter(a.status for _, a in during)
    assert any(a.kind == SUCCESS for _, a in during)
    assert max(seconds for seconds, _ in during) < 5
    assert page_status == 200
    assert health_status == 503
    assert health["checks"]["database"]["status"] == "ok"
    assert health["checks"]["redis"] == {
        "status": "fail",
        "error": "ConnectionError",
        "ms": health["checks"]["redis"]["ms"],
    }
    assert db_only == 200  # what the load balancer probes: this machine still serves
    assert login.status_code == 503 and login.headers["Retry-After"] == "5"
    assert "しばらく待ってから" in login.text

    redis_server.start()  # empty: no data survives a Redis restart
    back_at = time.monotonic()
    recovered_s = wait_for(lambda: _healthy(stack.base_url), timeout=60, what="healthz ok again (heartbeat resumed)")
    after = _book_some(clients, slots, rng, 12)
    assert {a.status for _, a in after} <= {201, 409}
    assert any(a.kind == SUCCESS for _, a in after)
    assert late.login().status_code == 302
    assert all(stack.procs[name].popen.poll() is None for name in ("web", "worker", "beat"))

    answers = [a for _, a in before + during + after]
    results = _sql_checks(postgres, database, answers, [p.resident_id for p in people])
    assert not [r for r in results if not r.passed], [r.to_dict() for r in results if not r.passed]
    summary = {
        "fault": "Redis stopped for about 5 s during bookings, then started empty",
        "bookings_during_outage": dict(Counter(a.status for _, a in during)),
        "slowest_booking_during_outage_s": round(max(s for s, _ in during), 2),
        "availability_page_during_outage": page_status,
        "healthz_during_outage": health,
        "login_during_outage": login.status_code,
        "outage_s": round(down_s, 1),
        "healthz_ok_again_after_s": round(recovered_s, 1),
        "restart_to_recovery_s": round(time.monotonic() - back_at, 1),
        "checks": {r.key: {"passed": r.passed, "checked": r.checked} for r in results},
    }
    (stack.logdir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))


def test_a_frozen_redis_costs_seconds_not_minutes(
    postgres: Postgres, database: str, redis_server: Redis, stack: Services
) -> None:
    stack.start("web")
    with postgres.connect(database) as conn:
        people = fresh_residents(conn, 4)
    clients = [ResidentClient(stack.base_url, p) for p in people]
    for client in clients:
        assert client.login().status_code == 302
    slots = bookable_slots(stack.base_url)
    rng = random.Random(2)

    redis_server.freeze()
    try:
        during = _book_some(clients, slots, rng, 24)
        health_began = time.monotonic()
        health_status, health = _healthz(stack.base_url)
        health_s = time.monotonic() - health_began
    finally:
        redis_server.thaw()
    after = _book_some(clients, slots, rng, 8)

    seconds = sorted(s for s, _ in during)
    assert {a.status for _, a in during} <= {201, 409}, Counter(a.status for _, a in during)
    assert any(a.kind == SUCCESS for _, a in during)
    # The cache's 2 s socket timeout is paid by the first requests of each process; then the cache
    # is bypassed for CACHE_REDIS_DOWN_SECONDS, so most answers take no longer than usual.
    assert seconds[-1] < 8, seconds
    assert seconds[len(seconds) // 2] < 1.0, seconds
    assert health_status == 503 and health["checks"]["redis"]["status"] == "fail" and health_s < 5
    assert {a.status for _, a in after} <= {201, 409}

    answers = [a for _, a in during + after]
    results = _sql_checks(postgres, database, answers, [p.resident_id for p in people])
    assert not [r for r in results if not r.passed], [r.to_dict() for r in results if not r.passed]
    summary = {
        "fault": "Redis frozen with SIGSTOP (accepts connections, never answers) during 24 bookings",
        "bookings": dict(Counter(a.status for _, a in during)),
        "answer_seconds_median": round(seconds[len(seconds) // 2], 2),
        "answer_seconds_max": round(seconds[-1], 2),
        "healthz": {"status": health_status, "seconds": round(health_s, 2)},
        "checks": {r.key: {"passed": r.passed, "checked": r.checked} for r in results},
    }
    (stack.logdir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
