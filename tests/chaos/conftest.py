"""Fixtures of the fault tests (`make chaos`; docs/reliability.md).

A session builds one template database on a private PostgreSQL cluster (migrate + a small demo
ward); each test gets a fresh copy, a private Redis and the application's processes on
config.settings.chaos. None of it touches the machine's shared PostgreSQL (5432) or Redis (6379),
and the suite's own database fixtures are not used.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .stack import LOG_ROOT, ROOT, Postgres, Redis, Services, make_workdir

TEMPLATE = "chaos_template"
RESIDENTS = 200
SECRET_KEY = "chaos-only-secret-not-for-production"  # these servers' own throwaway key
STRIPE_SECRET_KEY = "sk_test_chaos"
STRIPE_WEBHOOK_SECRET = "whsec_chaos"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Overrides the suite's autouse fixture: these tests never use the shared Redis."""


def base_env(*, database_url: str, redis_url: str, logdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.chaos",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        # Fast clocks so that a test sees several ticks and heartbeats within seconds.
        TICK_SECONDS="2",
        CELERY_HEARTBEAT_SECONDS="1",
        HEALTH_CELERY_STALE_SECONDS="6",
        SERVICE_UNAVAILABLE_RETRY_AFTER="5",
        STRIPE_API_BASE="http://127.0.0.1:9",
        STRIPE_SECRET_KEY=STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        STRIPE_TIMEOUT_SECONDS="1",
        EMAIL_FILE_PATH=str(logdir / "mail"),
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres(make_workdir("shisetsu-chaos-pg-"))
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="session")
def template_db(postgres: Postgres) -> str:
    """Migrated and seeded once per session (about half a minute)."""
    redis = Redis(make_workdir("shisetsu-chaos-seed-redis-"))
    redis.start()
    logdir = LOG_ROOT / "setup"
    try:
        postgres.create_db(TEMPLATE)
        services = Services(
            env=base_env(database_url=postgres.url(TEMPLATE), redis_url=redis.url(), logdir=logdir), logdir=logdir
        )
        services.manage("migrate", "--noinput")
        services.manage("seed_demo", "--seed", "7", "--residents", str(RESIDENTS))
    finally:
        redis.stop()
        shutil.rmtree(redis.workdir, ignore_errors=True)
    return TEMPLATE


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    redis = Redis(make_workdir("shisetsu-chaos-redis-"))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(redis.workdir, ignore_errors=True)


@pytest.fixture
def database(postgres: Postgres, template_db: str, request: pytest.FixtureRequest) -> str:
    name = "chaos_" + request.node.name.replace("test_", "", 1)[:40].replace("-", "_")
    postgres.create_db(name, template=template_db)
    return name


@pytest.fixture
def stack(postgres: Postgres, redis_server: Redis, database: str, request: pytest.FixtureRequest) -> Iterator[Services]:
    """The application's processes for one test (started by the test: which ones it needs)."""
    logdir = LOG_ROOT / request.node.name
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    services = Services(
        env=base_env(database_url=postgres.url(database), redis_url=redis_server.url(), logdir=logdir), logdir=logdir
    )
    try:
        yield services
    finally:
        services.stop_all()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            sys.stderr.write(f"\nlogs in {logdir}\n{services.tail()}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
