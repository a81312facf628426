"""config/unavailable.py and the PostgreSQL timeouts in settings: a database that cannot answer in
time is a 503 with Retry-After and a message in the person's language, never a 500 or a hang.

The faults here are real: another connection holds a table lock and our request's lock_timeout
runs out (the whole outage, with PostgreSQL stopped, is tests/chaos/test_database_restart.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from config.unavailable import server_error
from reservations.models import Resident
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def test_the_connections_carry_the_timeouts() -> None:
    with connection.cursor() as cursor:
        shown = {}
        for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
    assert shown == {
        "statement_timeout": "30s",
        "lock_timeout": "10s",
        "idle_in_transaction_session_timeout": "1min",
    }
    # Client-side: bounded connection attempts, and a vanished server noticed within a minute.
    options = connection.settings_dict["OPTIONS"]
    assert options["connect_timeout"] > 0 and options["tcp_user_timeout"] == 60_000 and options["keepalives"] == 1


@pytest.fixture
def locked_bookings() -> Iterator[None]:
    """Another session holds an exclusive lock on the bookings table (a long migration, say), and
    this one waits at most 200 ms for a lock."""
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        connect_timeout=5,
    )
    try:
        other.execute("SET lock_timeout = '5s'")
        other.execute("LOCK TABLE reservations_reservation IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        yield
    finally:
        other.rollback()
        other.close()


@pytest.fixture
def resident() -> Resident:
    return ResidentFactory()


def test_the_api_answers_503_when_the_database_cannot_answer_in_time(
    client: Client, resident: Resident, locked_bookings: None
) -> None:
    client.force_login(resident.user)
    response = client.get("/api/v1/me/bookings")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "code": "service_unavailable",
        "message": "ただいまシステムに接続しにくくなっています。しばらく待ってから、もう一度お試しください。"
        "予約や申込が済んだかどうかは「予約の確認・取消」でご確認いただけます。",
    }


def test_a_page_answers_503_in_english_when_english_is_chosen(
    client: Client, resident: Resident, locked_bookings: None
) -> None:
    client.force_login(resident.user)
    response = client.get("/my/bookings/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    text = response.content.decode()
    assert "Please wait" in text and "10 seconds" in text
    assert "My bookings" in text  # the message says where to check whether it went through


def _real_operational_error() -> OperationalError:
    with pytest.raises(OperationalError) as caught, connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '20ms'")
        cursor.execute("SELECT pg_sleep(2)")
    return caught.value


def test_a_failure_outside_any_view_is_a_503_too() -> None:
    """handler500 is called while the exception is being handled (e.g. a session save in a
    middleware failed): a database error is answered 503, anything else stays Django's 500."""
    error = _real_operational_error()
    request = RequestFactory().get("/")
    try:
        raise error
    except OperationalError:
        assert sys.exc_info()[1] is error
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "10"
    try:
        raise ValueError("a bug")
    except ValueError:
        other = server_error(request)
    assert other.status_code == 500


def test_statement_timeout_cancels_a_runaway_query_quickly() -> None:
    import time

    began = time.monotonic()
    error: Any = _real_operational_error()
    assert time.monotonic() - began < 1.5
    assert "statement timeout" in str(error)
