"""The demo ward's staff accounts have staff terminal roles (reservations/demo.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from reservations import demo
from reservations.models import StaffProfile, StaffRole, User
from reservations.staff import staff_scope

pytestmark = pytest.mark.django_db


def test_demo_staff_accounts_have_roles_and_scopes() -> None:
    call_command("seed_demo", seed=3, residents=20, start_month="2026-11", stdout=StringIO())
    counter = staff_scope(User.objects.get(user_number=demo.STAFF_USER))
    manager = staff_scope(User.objects.get(user_number=demo.MANAGER_USER))
    department = staff_scope(User.objects.get(user_number=demo.DEPARTMENT_USER))
    auditor = staff_scope(User.objects.get(user_number=demo.AUDITOR_USER))
    assert counter is not None and manager is not None and department is not None and auditor is not None
    assert counter.role == StaffRole.COUNTER and manager.role == StaffRole.FACILITY_MANAGER
    counters = set(counter.facilities().values_list("code", flat=True))
    assert counters == set(demo.DEMO_COUNTERS) == set(manager.facilities().values_list("code", flat=True))
    assert counters < set(department.facilities().values_list("code", flat=True))
    assert auditor.ward_wide and not auditor.can_write
    assert StaffProfile.objects.count() == 4
    for user_number in (demo.MANAGER_USER, demo.DEPARTMENT_USER, demo.AUDITOR_USER):
        assert User.objects.get(user_number=user_number).check_password(demo.STAFF_PASSWORD)

    out = StringIO()
    call_command("demo_logins", stdout=out)
    for user_number in (demo.MANAGER_USER, demo.DEPARTMENT_USER, demo.AUDITOR_USER, "/staff/"):
        assert user_number in out.getvalue()
