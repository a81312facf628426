"""reservations/auth.py: the user behind a session, with the resident in the same query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.auth import UserWithResidentBackend
from reservations.models import Resident, User
from tests.factories import ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_comes_with_the_resident_in_one_query():
    resident = ResidentFactory()

    with CaptureQueriesContext(connection) as queries:
        user = UserWithResidentBackend().get_user(resident.user.pk)
        assert user is not None
        assert user.resident.full_name == resident.full_name

    assert user == resident.user
    assert len(queries) == 1


def test_a_user_without_a_resident_is_still_a_user():
    staff = UserFactory()

    assert UserWithResidentBackend().get_user(staff.pk) == staff


def test_an_unknown_or_deactivated_user_is_nobody():
    gone = UserFactory(is_active=False)

    assert UserWithResidentBackend().get_user(gone.pk) is None
    assert UserWithResidentBackend().get_user(gone.pk + 1000) is None


def _fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}  # type: ignore[attr-defined]


@pytest.mark.smoke  # SQLite too: its converters turn text into datetimes and integers into booleans
def test_the_objects_are_those_the_orm_builds():
    """Every field as the ORM gives it (the backend's converters applied: dates, booleans), and
    both ends of the link cached as select_related leaves them: no further query."""
    resident = ResidentFactory(activated_at=timezone.now())
    expected = User.objects.select_related("resident").get(pk=resident.user.pk)

    user = UserWithResidentBackend().get_user(str(resident.user.pk))  # the session keeps it as text
    assert user is not None
    with CaptureQueriesContext(connection) as queries:
        loaded = user.resident
        assert loaded.user is user

    assert len(queries) == 0
    assert _fields(user) == _fields(expected)
    assert _fields(loaded) == _fields(expected.resident)
    assert type(user.date_joined) is dt.datetime and user.date_joined.tzinfo is not None
    assert user.is_active is True
    assert user._state.db == expected._state.db and not user._state.adding
    assert loaded._state.db == expected.resident._state.db and not loaded._state.adding


def test_a_user_without_a_resident_says_so_without_a_query():
    staff = UserFactory()
    user = UserWithResidentBackend().get_user(staff.pk)
    assert user is not None

    with CaptureQueriesContext(connection) as queries, pytest.raises(Resident.DoesNotExist):
        _ = user.resident

    assert len(queries) == 0


def test_an_id_that_is_not_one_is_nobody():
    assert UserWithResidentBackend().get_user("not-a-number") is None  # type: ignore[arg-type]
