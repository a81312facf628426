"""reservations/forms.resident_groups: the groups a resident may book for, cached until any group or
its member list changes (reservations/group_cache.py). These tests commit (transaction=True): the
cache is used only outside a transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse

from reservations.forms import resident_groups
from reservations.models import ResidentStatus
from reservations.services import group_activate
from tests.factories import PASSWORD, GroupFactory, ResidentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _names(resident) -> list[str]:
    return [g.name for g in resident_groups(resident)]


def test_a_second_ask_is_answered_from_the_cache(django_assert_num_queries):
    group = GroupFactory(name="卓球")
    member = ResidentFactory()
    group.members.add(member)

    with django_assert_num_queries(1):
        assert _names(member) == ["卓球"]
    with django_assert_num_queries(0):
        assert _names(member) == ["卓球"]


def test_joining_leaving_and_a_group_suspended_reach_a_warm_cache():
    table_tennis = GroupFactory(name="卓球")
    resident = ResidentFactory()
    assert _names(resident) == []  # now cached

    table_tennis.members.add(resident)
    assert _names(resident) == ["卓球"]

    choir = GroupFactory(name="合唱", representative=resident)
    assert _names(resident) == ["卓球", "合唱"]  # by name

    table_tennis.members.remove(resident)
    assert _names(resident) == ["合唱"]

    choir.status = ResidentStatus.SUSPENDED
    choir.save()
    assert _names(resident) == []


def test_a_group_activated_at_the_counter_reaches_a_warm_cache():
    representative = ResidentFactory()
    group = GroupFactory(name="囲碁", representative=representative, status=ResidentStatus.PENDING)
    assert _names(representative) == []  # now cached

    group_activate(group_id=group.pk, now=dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))

    assert _names(representative) == ["囲碁"]


def test_what_a_rolled_back_transaction_saw_is_not_cached():
    resident = ResidentFactory()
    assert _names(resident) == []

    with pytest.raises(RuntimeError), transaction.atomic():
        GroupFactory(name="将棋").members.add(resident)
        assert _names(resident) == ["将棋"]  # its own uncommitted write counts inside
        raise RuntimeError("rolled back")

    assert _names(resident) == []


def test_logging_in_puts_the_residents_groups_in_the_cache(client, django_assert_num_queries):
    """Residents log in just before 09:00: their first booking page then asks PostgreSQL nothing
    about their groups."""
    group = GroupFactory(name="合唱")
    member = ResidentFactory()
    group.members.add(member)

    response = client.post(reverse("login"), {"username": member.user.user_number, "password": PASSWORD})

    assert response.status_code == 302
    with django_assert_num_queries(0):
        assert _names(member) == ["合唱"]
