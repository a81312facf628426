"""Suite-wide set-up. On PostgreSQL settings the suite refuses to run (never skips) without the
real servers, and says how to start them."""

from __future__ import annotations

import datetime as dt
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

from reservations.domain import TOKYO

# Timing is for benchmarks, not unit tests: on a shared machine a deadline only adds flakiness.
hypothesis_settings.register_profile("suite", deadline=None, print_blob=True)
hypothesis_settings.load_profile("suite")

HOW_TO_START = """
make test needs PostgreSQL and Redis.
  Start them on this machine:
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  Or install them (Debian): apt-get install postgresql redis-server
  Or point the suite elsewhere: DATABASE_URL=postgres://user@host:5432/db REDIS_URL=redis://host:6379/0
"""


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return
    missing = []
    if not _reachable(f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432):
        missing.append(f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')}")
    if not _reachable(settings.REDIS_URL, 6379):
        missing.append(f"Redis at {settings.REDIS_URL}")
    if missing:
        pytest.exit("Not reachable: " + ", ".join(missing) + "\n" + HOW_TO_START, returncode=1)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from tests.cache import clear_test_cache

    clear_test_cache()


@pytest.fixture
def now() -> dt.datetime:
    """A fixed moment inside an open first-come window for next month's slots (tests pass it in)."""
    return dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client, with the second factor the admin site requires verified."""
    from tests.factories import staff_client

    return staff_client(admin_user)
