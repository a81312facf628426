"""kiosks/services.py and kiosks/selectors.py: provisioning, activation, revocation, counting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password

from kiosks import selectors, services
from kiosks.models import Kiosk, KioskAccess
from reservations.errors import BookingError
from reservations.models import Resident
from reservations.services import resident_set_pin
from tests.factories import ResidentFactory
from tests.kiosks.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_a_code_activates_one_kiosk_once_and_only_hashes_are_stored(facility, staff):
    kiosk, code = services.kiosk_create(facility=facility, name="ロビー", created_by=staff, now=NOW)
    stored = Kiosk.objects.values_list("code_hash", "key_hash").get(pk=kiosk.pk)
    assert services.normalise_code(code) not in "".join(stored)

    activated, key = services.kiosk_activate(code=code.lower(), now=NOW + dt.timedelta(minutes=5))
    assert activated.pk == kiosk.pk
    assert selectors.kiosk_for_key(key) == kiosk
    row = Kiosk.objects.get(pk=kiosk.pk)
    assert row.key_hash == services.key_hash(key) and key not in row.key_hash and row.code_hash == ""

    with pytest.raises(services.ActivationRefused):
        services.kiosk_activate(code=code, now=NOW + dt.timedelta(minutes=6))


def test_an_expired_or_revoked_code_does_not_activate(facility, staff):
    _kiosk, code = services.kiosk_create(facility=facility, name="a", created_by=staff, now=NOW)
    with pytest.raises(services.ActivationRefused):
        services.kiosk_activate(code=code, now=NOW + services.CODE_VALID_FOR + dt.timedelta(seconds=1))

    other, other_code = services.kiosk_create(facility=facility, name="b", created_by=staff, now=NOW)
    assert services.kiosk_revoke(kiosk_id=other.pk, now=NOW)
    with pytest.raises(services.ActivationRefused):
        services.kiosk_activate(code=other_code, now=NOW)


def test_revoking_stops_the_key_at_once(facility, staff):
    kiosk, code = services.kiosk_create(facility=facility, name="a", created_by=staff, now=NOW)
    _kiosk, key = services.kiosk_activate(code=code, now=NOW)
    assert services.kiosk_revoke(kiosk_id=kiosk.pk, now=NOW)
    assert selectors.kiosk_for_key(key) is None
    assert not services.kiosk_revoke(kiosk_id=kiosk.pk, now=NOW)  # already revoked


def test_accesses_are_counted_per_kiosk_and_day_in_one_row(facility, staff):
    kiosk, _code = services.kiosk_create(facility=facility, name="a", created_by=staff, now=NOW)
    other, _code = services.kiosk_create(facility=facility, name="b", created_by=staff, now=NOW)
    day = dt.date(2026, 11, 10)
    for _ in range(3):
        services.kiosk_access_record(kiosk_id=kiosk.pk, date=day)
    services.kiosk_access_record(kiosk_id=kiosk.pk, date=day + dt.timedelta(days=1))
    services.kiosk_access_record(kiosk_id=other.pk, date=day)

    assert KioskAccess.objects.get(kiosk=kiosk, date=day).count == 3
    assert KioskAccess.objects.filter(kiosk=kiosk).count() == 2
    assert selectors.access_count(kiosk=kiosk, first=day, last=day + dt.timedelta(days=1)) == 4
    assert selectors.access_count(kiosk=other, first=day, last=day) == 1


def test_the_kiosk_pin_is_stored_hashed_and_must_be_4_to_8_digits():
    resident = ResidentFactory()
    resident_set_pin(resident_id=resident.pk, pin="0042")
    stored = Resident.objects.get(pk=resident.pk).kiosk_pin
    assert stored != "0042" and check_password("0042", stored)
    assert selectors.resident_by_card_and_pin(resident.user.user_number, "0042") == resident
    assert selectors.resident_by_card_and_pin(resident.user.user_number, "0043") is None
    for bad in ("123", "123456789", "12a4", "１２３４"):
        with pytest.raises(BookingError) as refused:
            resident_set_pin(resident_id=resident.pk, pin=bad)
        assert refused.value.code == "bad_pin"
