"""Factories for the booking hub. Rooms are built through `room_save`, the same service staff use."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.hashers import make_password

from reservations.models import (
    Channel,
    Department,
    Facility,
    FacilityGroup,
    FacilityKind,
    Group,
    Purpose,
    Reservation,
    Residency,
    Resident,
    ResidentStatus,
    Room,
    RoomEquipment,
    StaffProfile,
    StaffRole,
    Tariff,
    TimeBand,
    User,
)
from reservations.services import reservation_cancel, room_save

PASSWORD = "correct-horse-battery"
THREE_BANDS = [
    ("am", "午前", dt.time(9, 0), dt.time(12, 0)),
    ("pm", "午後", dt.time(13, 0), dt.time(17, 0)),
    ("ev", "夜間", dt.time(18, 0), dt.time(21, 30)),
]


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = "community"
    name = "地域振興課"


class FacilityGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacilityGroup
        django_get_or_create = ("code",)

    code = "default"
    name = "集会施設"


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"fac-{n}")
    name = factory.Sequence(lambda n: f"テスト区民センター{n}")
    kind = FacilityKind.COMMUNITY
    department = factory.SubFactory(DepartmentFactory)
    group = factory.SubFactory(FacilityGroupFactory)
    address = "東京都文京区春日1-16-21"

    @factory.post_generation
    def bands(self, create: bool, extracted: list[tuple[str, str, dt.time, dt.time]] | None, **kwargs: object) -> None:
        for order, (code, label, start, end) in enumerate(extracted or THREE_BANDS):
            TimeBand.objects.create(facility=self, code=code, label=label, starts_at=start, ends_at=end, order=order)


def make_room(
    facility: Facility,
    code: str,
    *,
    capacity: int = 30,
    unit_codes: list[str] | None = None,
    weekday_fee: int = 1200,
    holiday_fee: int = 1500,
    purposes: list[Purpose] | None = None,
    equipment: list[tuple[str, int]] | None = None,
) -> Room:
    room = room_save(
        room=Room(facility=facility, code=code, name=f"室場{code}", capacity=capacity), unit_codes=unit_codes
    )
    for band in facility.time_bands.all():
        Tariff.objects.create(room=room, time_band=band, weekday_fee=weekday_fee, holiday_fee=holiday_fee)
    if purposes:
        room.purposes.set(purposes)
    RoomEquipment.objects.bulk_create(RoomEquipment(room=room, name=n, fee=f) for n, f in equipment or [])
    return room


def make_divisible_hall(facility: Facility) -> tuple[Room, Room, Room]:
    """A gym whose whole (全面) covers both halves (半面A, 半面B)."""
    whole = make_room(facility, "gym", capacity=200, unit_codes=["gym-a", "gym-b"])
    half_a = make_room(facility, "gym-a", capacity=100, unit_codes=["gym-a"])
    half_b = make_room(facility, "gym-b", capacity=100, unit_codes=["gym-b"])
    return whole, half_a, half_b


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    user_number = factory.Sequence(lambda n: f"{20_000_000 + n}")
    email = factory.LazyAttribute(lambda u: f"u{u.user_number}@example.jp")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))


class StaffFactory(UserFactory):
    user_number = factory.Sequence(lambda n: f"S{n:05d}")
    is_staff = True


def make_staff(role: str = StaffRole.COUNTER, *, facilities=(), departments=(), **fields) -> User:
    """A staff login with a role on the staff terminal, scoped to `facilities` / `departments`."""
    user = StaffFactory(**fields)
    profile = StaffProfile.objects.create(user=user, role=role)
    profile.facilities.set(facilities)
    profile.departments.set(departments)
    return user


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"区民 太郎{n}")
    date_of_birth = dt.date(1980, 4, 1)
    postcode = "112-0003"
    address = "東京都文京区春日1-1-1"
    residency = Residency.LIVES
    status = ResidentStatus.ACTIVE
    registered_channel = Channel.WEB


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"文京卓球クラブ{n}")
    representative = factory.SubFactory(ResidentFactory)
    contact_name = "連絡 花子"
    contact_email = "club@example.jp"
    member_count = 10
    resident_member_count = 8
    status = ResidentStatus.ACTIVE


# --- staff logins with the second factor ----------------------------------------------------------------


def totp_code(device) -> str:
    """The code an authenticator app holding `device`'s key would show now, and which the device
    still accepts (a code is accepted once: take the earliest time step after the last one used).
    The step is one the server accepts both now and after the clock passes into the next step: a
    browser test fills in and posts the code a moment later, and the step `tolerance` before now
    then falls out of the window (a flaky failure, seen in CI)."""
    import time

    from django_otp.oath import hotp

    now_t = (int(time.time()) - device.t0) // device.step + device.drift
    step = max(now_t + 1 - device.tolerance, device.last_t + 1)
    if step > now_t + device.tolerance:
        raise AssertionError("every code of this time window has been used; move the clock on")
    return f"{hotp(device.bin_key, step, digits=device.digits):0{device.digits}d}"


def totp_device(user: User):
    """The staff member's confirmed authenticator, enrolled (with a random key) if missing."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def verify_second_factor(client, user: User) -> None:
    """Pass the second factor the way a person does: post the app's current code to the code page."""
    from django.urls import reverse

    device = totp_device(user)
    response = client.post(reverse("staff:two_factor_verify"), {"code": totp_code(device)})
    assert response.status_code == 302, response.content.decode()[:2000]


def staff_client(user: User, client=None):
    """A test client logged in as the staff member `user` with the second factor verified."""
    from django.test import Client

    client = client or Client()
    client.force_login(user)
    verify_second_factor(client, user)
    return client


def cancel_on_the_web(booking: Reservation, now: dt.datetime) -> Reservation:
    """The booking's resident cancels it on the web site, through the service."""
    return reservation_cancel(
        reservation_id=booking.pk,
        resident=booking.resident,
        cancelled_by=booking.resident.user,
        channel=Channel.WEB,
        now=now,
    )
