"""config/sessions.py: with Redis down, people still log in, stay logged in and log out (the
sessions live in the database; Redis only speeds them up)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore as DjangoCachedDB
from django.test import Client

from tests.factories import PASSWORD, ResidentFactory

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "config.redis_cache.ReusingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.fixture
def redis_down(settings: Any) -> None:
    settings.SESSION_ENGINE = "config.sessions"
    settings.CACHES = UNREACHABLE_REDIS
    settings.RATELIMIT_ENABLE = False  # the login limits count in Redis (they refuse while it is down)


def test_login_pages_and_logout_work_while_redis_is_down(client: Client, redis_down: None) -> None:
    resident = ResidentFactory()
    login = client.post("/accounts/login/", {"username": resident.user.user_number, "password": PASSWORD})
    assert login.status_code == 302
    page = client.get("/my/bookings/")
    assert page.status_code == 200 and "ログアウト" in page.content.decode()  # the logged-in menu
    logout = client.post("/accounts/logout/")
    assert logout.status_code == 302
    assert client.get("/my/bookings/").status_code == 302  # logged out: back to the login page


def test_django_s_own_cached_db_would_fail_there(redis_down: None) -> None:
    """Why config/sessions.py exists: cached_db raises on exists() (a login) with Redis down."""
    with pytest.raises(Exception, match=r"Connection refused|unreachable"):
        DjangoCachedDB().exists("some-session-key")
    from config.sessions import SessionStore

    assert SessionStore().exists("some-session-key") is False


def test_with_redis_up_sessions_are_cached(client: Client, settings: Any) -> None:
    from django.core.cache import cache

    settings.SESSION_ENGINE = "config.sessions"
    resident = ResidentFactory()
    client.force_login(resident.user)
    key = client.session.session_key
    assert cache.get("django.contrib.sessions.cached_db" + key) is not None
