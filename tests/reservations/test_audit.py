"""reservations/audit.py: the hash-chained, append-only audit log; what is recorded automatically;
`manage.py audit_verify`; and the auditor's pages on the staff terminal (kiosks/audit_views.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import execute_from_command_line
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse

from reservations import audit
from reservations.domain import TOKYO
from reservations.models import AuditEntry, Channel, Closure, Purpose, StaffRole
from reservations.services import reservation_create
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    ResidentFactory,
    StaffFactory,
    make_room,
    make_staff,
    staff_client,
)
from tests.reservations.test_concurrency import race

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)


def chain() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("seq"))


# --- the chain --------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_entries_are_numbered_and_each_hash_covers_the_previous_one():
    staff = StaffFactory()
    first = audit.record(actor=staff, action="staff.view", target="staff:index", details={"q": "白山", "n": 1.5})
    second = audit.record(actor=None, action="system.test")
    third = audit.record(actor=staff, action="staff.action", target="x", details={"nested": {"b": [1, 2], "a": None}})
    assert [e.seq for e in chain()] == [1, 2, 3]
    assert first.prev_hash == audit.GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    # What was hashed is what the database gives back (jsonb reorders keys; floats kept as text).
    for stored in chain():
        assert audit.entry_hash(stored) == stored.hash
    assert chain()[0].details == {"q": "白山", "n": "1.5"} and chain()[0].actor_label == staff.user_number
    report = audit.verify_chain()
    assert report.ok and report.checked == 3 and report.head_hash == third.hash


def test_the_database_refuses_to_change_or_delete_entries():
    entry = audit.record(actor=None, action="system.test", details={"x": 1})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(target="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM reservations_auditentry")
    assert AuditEntry.objects.get(pk=entry.pk).target == ""


def test_a_sequence_number_is_used_once():
    entry = audit.record(actor=None, action="system.test")
    copy = AuditEntry(seq=entry.seq, at=entry.at, action="forged", prev_hash=entry.prev_hash, hash="f" * 64, details={})
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save(force_insert=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("concurrency")
def test_concurrent_appends_keep_one_unbroken_chain():
    staff = StaffFactory()
    per_thread = 15

    def appender(n: int):
        def run() -> int:
            for i in range(per_thread):
                audit.record(actor=staff, action="staff.view", target=f"t{n}-{i}")
            return n

        return run

    outcomes = race([appender(n) for n in range(12)])
    assert [o.error for o in outcomes] == [None] * 12
    entries = chain()
    assert [e.seq for e in entries] == list(range(1, 12 * per_thread + 1))
    assert audit.verify_chain().ok
    assert len({e.target for e in entries}) == 12 * per_thread


# --- audit_verify -----------------------------------------------------------------------------------


def run_verify(capsys) -> tuple[int, str]:
    try:
        execute_from_command_line(["manage.py", "audit_verify"])
    except SystemExit as stop:
        code = int(stop.code or 0)
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def tamper(sql: str, params: list) -> None:
    """What someone with the database owner's rights could do: switch the trigger off, edit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks on the table
        cursor.execute("ALTER TABLE reservations_auditentry DISABLE TRIGGER reservations_auditentry_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE reservations_auditentry ENABLE TRIGGER reservations_auditentry_append_only")


@pytest.fixture
def five_entries():
    staff = StaffFactory()
    return [audit.record(actor=staff, action="staff.view", target=f"page-{i}", details={"i": i}) for i in range(5)]


def test_audit_verify_passes_an_intact_chain(capsys, five_entries):
    code, output = run_verify(capsys)
    assert code == 0
    assert "5" in output and five_entries[-1].hash in output


def test_audit_verify_names_an_edited_entry(capsys, five_entries):
    tamper("UPDATE reservations_auditentry SET details = %s WHERE seq = 3", ['{"i": 99}'])
    code, output = run_verify(capsys)
    assert code == 1
    assert "#3" in output and "書き換え" in output


def test_audit_verify_names_a_deleted_entry(capsys, five_entries):
    tamper("DELETE FROM reservations_auditentry WHERE seq = 2", [])
    code, output = run_verify(capsys)
    assert code == 1 and "#3" in output and "通番 2" in output


def test_audit_verify_catches_an_entry_rewritten_with_a_fresh_hash(capsys, five_entries):
    """An editor who recomputes the edited entry's hash still breaks the next link."""
    edited = AuditEntry.objects.get(seq=2)
    edited.target = "nothing-to-see"
    tamper(
        "UPDATE reservations_auditentry SET target = %s, hash = %s WHERE seq = 2",
        [edited.target, audit.entry_hash(edited)],
    )
    code, output = run_verify(capsys)
    assert code == 1 and "#3" in output and "直前のエントリ" in output


# --- what is recorded automatically -----------------------------------------------------------------


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_staff_terminal_requests_are_recorded_with_view_arguments_and_form(clock):
    facility = FacilityFactory()
    room = make_room(facility, "r1")
    resident = ResidentFactory(full_name="白山 花子")
    booking = reservation_create(
        resident=resident,
        room_id=room.pk,
        date=NOW.date(),
        band_ids=[facility.time_bands.get(code="pm").pk],
        channel=Channel.COUNTER,
        booked_by=StaffFactory(),
        now=NOW.replace(hour=8),
    )
    desk_user = make_staff(StaffRole.COUNTER, facilities=[facility])
    desk = staff_client(desk_user, Client(REMOTE_ADDR="192.0.2.10"))
    before = AuditEntry.objects.count()

    desk.get(reverse("staff:index"), {"q": "白山"})
    desk.get(reverse("staff:today", args=[facility.pk]))
    desk.post(reverse("staff:check_in", args=[facility.pk]), {"reference": booking.reference})
    desk.get(reverse("staff:today", args=[facility.pk + 999]))  # not theirs: 404, still recorded

    view, today, action, refused = AuditEntry.objects.filter(seq__gt=before).order_by("seq")
    assert (view.action, view.target, view.details["query"]) == ("staff.view", "staff:index", {"q": "白山"})
    assert view.actor == desk_user and view.actor_role == StaffRole.COUNTER and view.ip == "192.0.2.10"
    assert today.details["kwargs"] == {"facility_id": facility.pk} and today.details["status"] == 200
    assert action.action == "staff.action" and action.target == "staff:check_in"
    assert action.details["form"]["reference"] == booking.reference
    assert "csrfmiddlewaretoken" not in action.details["form"] or action.details["form"]["csrfmiddlewaretoken"] == "***"
    assert refused.details["status"] == 404
    assert view.request_id and view.request_id != today.request_id


def test_auditors_refused_writes_are_recorded(clock):
    facility = FacilityFactory()
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    assert auditor.post(reverse("staff:check_in", args=[facility.pk]), {"reference": "X"}).status_code == 403
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "staff.action" and entry.details["status"] == 403


def test_resident_requests_are_not_recorded(clock):
    resident = ResidentFactory()
    client = Client()
    assert (
        client.post(reverse("login"), {"username": resident.user.user_number, "password": PASSWORD}).status_code == 302
    )
    client.get(reverse("reservations:home"))
    client.get(reverse("reservations:my_bookings"))
    client.post(reverse("login"), {"username": resident.user.user_number, "password": "wrong"})
    assert not AuditEntry.objects.exists()


def test_staff_logins_logouts_and_wrong_passwords_are_recorded(clock):
    staff = make_staff(StaffRole.COUNTER)
    client = Client()
    client.post(reverse("login"), {"username": staff.user_number, "password": "wrong"})
    client.post(reverse("login"), {"username": staff.user_number, "password": PASSWORD})
    client.post(reverse("logout"))
    assert [(e.action, e.target) for e in chain()] == [
        ("login.failed", staff.user_number),
        ("login", staff.user_number),
        ("logout", staff.user_number),
    ]


def test_admin_views_of_residents_and_admin_changes_are_recorded(clock, admin_client, admin_user):
    resident = ResidentFactory()
    room = make_room(FacilityFactory(), "r1")
    before = AuditEntry.objects.count()
    admin_client.get(reverse("admin:reservations_resident_change", args=[resident.pk]))
    admin_client.get(reverse("admin:reservations_resident_changelist"), {"q": resident.user.user_number})
    day = NOW.date() + dt.timedelta(days=30)
    response = admin_client.post(
        reverse("admin:reservations_closure_add"),
        {"facility": room.facility_id, "date": day.isoformat(), "reason": "設備点検"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    closure = Closure.objects.get(date=day)
    admin_client.post(
        reverse("admin:auth_user_password_change", args=[resident.user.pk]),
        {"password1": "N3w-secret-pass!", "password2": "N3w-secret-pass!", "usable_password": "true"},
    )

    entries = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    by_action = [(e.action, e.target) for e in entries]
    assert by_action[0] == ("admin.view", "admin:reservations_resident_change")
    assert entries[0].details["kwargs"] == {"object_id": str(resident.pk)}
    assert by_action[1] == ("admin.view", "admin:reservations_resident_changelist")
    assert ("admin.add", f"reservations.closure:{closure.pk}") in by_action
    assert ("admin.action", "admin:reservations_closure_add") in by_action
    password_post = next(e for e in entries if e.target == "admin:auth_user_password_change")
    assert password_post.details["form"]["password1"] == "***"
    assert "N3w-secret-pass!" not in str([e.details for e in entries])
    assert all(e.actor == admin_user for e in entries)
    assert audit.verify_chain().ok


# --- the auditor's pages ----------------------------------------------------------------------------


@pytest.fixture
def history(clock):
    """Entries over three days by two staff members."""
    alice, bob = make_staff(StaffRole.COUNTER), make_staff(StaffRole.COUNTER)
    for day in range(3):
        clock.move_to(NOW + dt.timedelta(days=day))
        audit.record(actor=alice, action="staff.view", target="staff:today", details={"day": day})
        audit.record(actor=bob, action="staff.action", target="staff:check_in", details={"day": day})
    audit.record(actor=bob, action="admin.change", target="reservations.room:7")
    clock.move_to(NOW + dt.timedelta(days=3))
    return alice, bob


def test_only_auditors_and_system_admins_see_the_audit_log(history):
    for role in (StaffRole.COUNTER, StaffRole.FACILITY_MANAGER, StaffRole.DEPARTMENT_ADMIN):
        client = staff_client(make_staff(role))
        assert reverse("staff:audit") not in client.get(reverse("staff:index")).content.decode()
        assert client.get(reverse("staff:audit")).status_code == 403
        assert client.get(reverse("staff:audit_export")).status_code == 403
    for role in (StaffRole.AUDITOR, StaffRole.SYSTEM_ADMIN):
        client = staff_client(make_staff(role))
        page = client.get(reverse("staff:index")).content.decode()
        assert reverse("staff:audit") in page
        assert client.get(reverse("staff:audit")).status_code == 200


def test_the_audit_log_is_searched_by_actor_action_target_and_dates(history):
    alice, bob = history
    auditor = staff_client(make_staff(StaffRole.AUDITOR))

    def found(**query) -> list[str]:
        page = auditor.get(reverse("staff:audit"), query)
        assert page.status_code == 200
        return [e.target for e in page.context["page"]]

    assert found(actor=alice.user_number) == ["staff:today"] * 3
    assert "{&quot;day&quot;: 2}" in auditor.get(reverse("staff:audit"), {"actor": alice.user_number}).content.decode()
    assert found(actor=bob.user_number, action="admin") == ["reservations.room:7"]
    assert found(action="staff.action") == ["staff:check_in"] * 3
    assert found(target="check_in", date_from=(NOW.date() + dt.timedelta(days=1)).isoformat()) == ["staff:check_in"] * 2
    day_one = (NOW.date() + dt.timedelta(days=1)).isoformat()
    assert sorted(found(date_from=day_one, date_to=day_one, actor=alice.user_number)) == ["staff:today"]
    bad = auditor.get(reverse("staff:audit"), {"date_from": "2026-12-02", "date_to": "2026-12-01"})
    assert "開始日は終了日より前にしてください" in bad.content.decode()


def test_the_audit_log_is_paginated(clock):
    for i in range(120):
        audit.record(actor=None, action="system.test", target=f"n{i:03d}")
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    first = auditor.get(reverse("staff:audit"), {"action": "system"})
    assert [e.target for e in first.context["page"]][:2] == ["n119", "n118"]
    assert first.context["page"].paginator.num_pages == 3
    third = auditor.get(reverse("staff:audit"), {"action": "system", "page": 3})
    assert [e.target for e in third.context["page"]][-1] == "n000"
    assert "page=2" in third.content.decode()


def test_csv_export_of_the_search_is_itself_recorded(history):
    alice, _bob = history
    auditor_user = make_staff(StaffRole.AUDITOR)
    auditor = staff_client(auditor_user)
    response = auditor.get(reverse("staff:audit_export"), {"actor": alice.user_number})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["target"] for r in rows] == ["staff:today"] * 3
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    stored = AuditEntry.objects.get(seq=int(rows[0]["seq"]))
    assert rows[0]["hash"] == stored.hash and rows[0]["actor"] == alice.user_number

    export = AuditEntry.objects.filter(actor=auditor_user).order_by("-seq").first()
    assert export.action == "staff.export" and export.target == "audit_log"
    assert export.details["rows"] == 3 and export.details["filters"] == {"actor": alice.user_number}


def test_bulk_deletions_in_the_admin_are_recorded_one_entry_per_object(clock, admin_client):
    purposes = [Purpose.objects.create(code=f"p{i}", name=f"目的{i}") for i in range(2)]
    response = admin_client.post(
        reverse("admin:reservations_purpose_changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in purposes], "post": "yes"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Purpose.objects.exists()
    deleted = AuditEntry.objects.filter(action="admin.delete").order_by("seq")
    assert [e.target for e in deleted] == [f"reservations.purpose:{p.pk}" for p in purposes]
    action = AuditEntry.objects.get(action="admin.action")
    assert action.details["form"]["action"] == "delete_selected" and action.seq > deleted.last().seq
