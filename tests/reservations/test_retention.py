"""The retention rule (reservations/retention.py): residents inactive for the period lose their
personal data; their bookings stay for the statistics; anyone with activity, or with something
still open in another app, is left alone."""

from __future__ import annotations

import datetime as dt
import io
from itertools import count

import pytest
import time_machine
from django.core.management import call_command

from lottery.models import EntryStatus, LotteryEntry, LotteryRound, RoundState
from payments.models import Method, Payment, Refund, RefundState, State
from reservations.domain import TOKYO
from reservations.models import (
    Channel,
    Reservation,
    ReservationKind,
    ReservationState,
    Resident,
    ResidentPreference,
    Room,
)
from reservations.retention import ANONYMISED_NAME, inactive_residents, residents_anonymise
from tests.factories import FacilityFactory, GroupFactory, ResidentFactory, make_room, make_staff

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 4, 1, 3, 30, tzinfo=TOKYO)
DAYS = 3 * 365
LONG_AGO = dt.datetime(2026, 1, 15, 10, 0, tzinfo=TOKYO)
RECENTLY = NOW - dt.timedelta(days=30)
_refs = count(1)


@pytest.fixture
def room() -> Room:
    return make_room(FacilityFactory(), "r1")


def old_resident(**fields: object) -> Resident:
    """Registered, last logged in and last booked years ago."""
    resident = ResidentFactory(registered_at=LONG_AGO, activated_at=LONG_AGO, **fields)
    user = resident.user
    user.date_joined = LONG_AGO
    user.last_login = LONG_AGO
    user.save(update_fields=["date_joined", "last_login"])
    return resident


def booking(resident: Resident, room: Room, *, date: dt.date, created_at: dt.datetime, **fields: object) -> Reservation:
    band = room.facility.time_bands.order_by("order").first()
    return Reservation.objects.create(
        reference=f"T{next(_refs):07d}",
        kind=ReservationKind.FIRST_COME,
        state=fields.pop("state", ReservationState.CONFIRMED),
        resident=resident,
        room=room,
        date=date,
        band_from=band,
        band_to=band,
        channel=Channel.WEB,
        booked_by=resident.user,
        created_at=created_at,
        fee=1200,
        **fields,
    )


def test_an_inactive_resident_is_anonymised_and_their_bookings_are_kept(room: Room) -> None:
    resident = old_resident(full_name="文京 花子", date_of_birth=dt.date(1961, 7, 23))
    kept = booking(resident, room, date=dt.date(2026, 2, 1), created_at=LONG_AGO, note="車椅子で伺います 090-1234-5678")
    group = GroupFactory(representative=resident, contact_name="文京 花子", contact_email="hanako@example.jp")
    ResidentPreference.objects.create(resident=resident, language="en", calendar_token="secret-feed-token")

    result = residents_anonymise(now=NOW, days=DAYS)

    assert result.anonymised == [resident.pk]
    resident.refresh_from_db()
    user = resident.user
    user.refresh_from_db()
    assert resident.full_name == ANONYMISED_NAME
    assert resident.date_of_birth == dt.date(1961, 1, 1)  # the year stays, for age statistics
    assert (resident.postcode, resident.address, resident.kiosk_pin) == ("", "", "")
    assert resident.anonymised_at == NOW
    assert user.email == "" and not user.is_active and not user.has_usable_password()
    kept.refresh_from_db()
    assert (kept.room_id, kept.date, kept.fee, kept.state) == (room.pk, dt.date(2026, 2, 1), 1200, "confirmed")
    assert kept.note == ""
    group.refresh_from_db()
    assert (group.contact_name, group.contact_email) == (ANONYMISED_NAME, "")
    assert ResidentPreference.objects.get(resident=resident).calendar_token is None


def test_activity_of_any_kind_keeps_a_resident(room: Room) -> None:
    logged_in = old_resident()
    logged_in.user.last_login = RECENTLY
    logged_in.user.save(update_fields=["last_login"])
    booked_lately = old_resident()
    booking(booked_lately, room, date=dt.date(2026, 3, 1), created_at=RECENTLY)
    used_lately = old_resident()
    booking(used_lately, room, date=(NOW - dt.timedelta(days=40)).date(), created_at=LONG_AGO)
    booked_ahead = old_resident()
    booking(booked_ahead, room, date=(NOW + dt.timedelta(days=20)).date(), created_at=LONG_AGO)
    newcomer = ResidentFactory(registered_at=RECENTLY)
    staff_resident = old_resident(user=make_staff())
    group_rep = old_resident()
    group = GroupFactory(representative=group_rep)
    member = ResidentFactory()
    booking(member, room, date=(NOW - dt.timedelta(days=10)).date(), created_at=RECENTLY, group=group)
    inactive = old_resident()

    found = list(inactive_residents(now=NOW, days=DAYS).values_list("pk", flat=True))

    assert found == [inactive.pk]
    kept = [logged_in, booked_lately, used_lately, booked_ahead, newcomer, staff_resident, group_rep]
    assert not set(found) & {r.pk for r in kept}


def test_a_lottery_entry_or_money_still_open_keeps_a_resident(room: Room) -> None:
    """Other apps tell the rule what they still need (their activity sources)."""
    applicant = old_resident()
    lottery_round = LotteryRound.objects.create(
        facility_group=room.facility.group,
        use_month=dt.date(2030, 6, 1),
        state=RoundState.OPEN,
        intake_opens_at=NOW - dt.timedelta(days=5),
        intake_closes_at=NOW + dt.timedelta(days=5),
        draw_at=NOW + dt.timedelta(days=6),
        confirm_by=NOW + dt.timedelta(days=12),
        release_at=NOW + dt.timedelta(days=18),
    )
    band = room.facility.time_bands.order_by("order").first()
    LotteryEntry.objects.create(
        round=lottery_round,
        applicant=f"r{applicant.pk}",
        resident=applicant,
        person=applicant,
        room=room,
        date=dt.date(2030, 6, 10),
        band_from=band,
        band_to=band,
        rank=1,
        status=EntryStatus.ACTIVE,
        channel=Channel.COUNTER,
        created_by=make_staff(),
        created_at=RECENTLY,
    )
    owed = old_resident()
    paid = booking(owed, room, date=dt.date(2026, 2, 2), created_at=LONG_AGO, state=ReservationState.CANCELLED,
                   cancelled_at=LONG_AGO)  # fmt: skip
    payment = Payment.objects.create(
        reservation=paid, facility=room.facility, method=Method.CASH, state=State.SUCCEEDED, amount=1200,
        receipt_number="A-1", created_at=LONG_AGO,
    )  # fmt: skip
    Refund.objects.create(
        payment=payment, amount=1200, reason="取消", state=RefundState.REQUESTED, requested_at=LONG_AGO
    )
    inactive = old_resident()

    assert list(inactive_residents(now=NOW, days=DAYS).values_list("pk", flat=True)) == [inactive.pk]


def test_running_again_changes_nothing_and_a_dry_run_changes_nothing() -> None:
    first = old_resident()
    dry = residents_anonymise(now=NOW, days=DAYS, dry_run=True)
    assert dry.candidates == 1 and dry.anonymised == []
    first.refresh_from_db()
    assert first.anonymised_at is None

    assert residents_anonymise(now=NOW, days=DAYS).anonymised == [first.pk]
    again = residents_anonymise(now=NOW, days=DAYS)
    assert again.candidates == 0 and again.anonymised == []


def test_zero_days_turns_the_rule_off(settings) -> None:
    old_resident()
    settings.RETENTION_INACTIVE_DAYS = 0
    assert residents_anonymise(now=NOW).anonymised == []


def test_the_command(settings) -> None:
    settings.RETENTION_INACTIVE_DAYS = DAYS
    resident = old_resident()
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("anonymise_inactive_residents", "--dry-run", stdout=out)
        assert "dry run: 1 residents" in out.getvalue()
        resident.refresh_from_db()
        assert resident.anonymised_at is None
        call_command("anonymise_inactive_residents", stdout=out)
    assert "anonymised 1 of 1" in out.getvalue()
    assert Resident.objects.get(pk=resident.pk).full_name == ANONYMISED_NAME
