"""reservations/auth.py: the user behind a session, with the resident in the same query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.auth import UserWithResidentBackend
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
