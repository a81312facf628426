"""Every write of the booking hub. One transaction each; side effects only in on_commit.

Locking contract (the global order, to avoid deadlocks): Resident row, then Group row, then the
Reservation row. Slot conflicts are never decided by locks: the UNIQUE constraint on Occupancy
decides them, so two people racing for one slot never wait on each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence

from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, IntegrityError, transaction

from . import availability_cache, domain, group_cache, selectors
from .errors import BookingError, NotFound, SlotTaken
from .models import (
    ACTIVE_STATES,
    Channel,
    Closure,
    Department,
    Facility,
    FacilityGroup,
    Group,
    Occupancy,
    Purpose,
    Reservation,
    ReservationKind,
    ReservationState,
    Resident,
    ResidentPreference,
    ResidentStatus,
    Room,
    RoomEquipment,
    RoomUnit,
    Tariff,
    TimeBand,
    User,
    booking_rules,
)
from .notifications import availability_changed

logger = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUP_MIN_MEMBERS = 5
PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 8


def new_reference() -> str:
    """A booking reference residents can read out at a counter (no 0/O, 1/I)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def _notify_after_commit(facility_id: int, dates: Sequence[dt.date]) -> None:
    """Drop the facility's cached availability now and again after commit, then tell listeners."""
    availability_cache.bump_facility(facility_id, dates)

    def after_commit() -> None:
        availability_cache.bump_facility(facility_id, dates)
        try:
            selectors.day_cells_warm(facility_id, list(dates))
        except DatabaseError:  # only a warm-up: the next reader computes them
            logger.warning("could not warm the availability of facility %s", facility_id, exc_info=True)
        availability_changed(facility_id, list(dates))

    transaction.on_commit(after_commit)


def _catalogue_changed() -> None:
    availability_cache.bump_catalogue()
    transaction.on_commit(availability_cache.bump_catalogue)


def _is_occupancy_conflict(error: IntegrityError) -> bool:
    text = str(error).lower()
    return "occupancy_unique_unit_date_band" in text or "reservations_occupancy" in text


def _resolve_bands(room: Room, band_ids: Sequence[int], bands: Sequence[TimeBand] | None = None) -> list[TimeBand]:
    """The facility's bands named by `band_ids` (`bands`: all of them, in order, if already read)."""
    if bands is None:
        bands = list(TimeBand.objects.filter(facility_id=room.facility_id).order_by("order"))
    by_id = {b.pk: b for b in bands}
    if not band_ids or any(b not in by_id for b in band_ids):
        raise BookingError("unknown_band", status=400)
    chosen = sorted((by_id[b] for b in set(band_ids)), key=lambda b: b.order)
    if len(chosen) != len(band_ids) or not domain.is_consecutive([b.order for b in chosen], [b.order for b in bands]):
        raise BookingError(domain.Refusal.BAD_SPAN.value, status=400)
    return chosen


def _fee(
    *,
    room: Room,
    bands: Sequence[TimeBand],
    date: dt.date,
    resident: Resident,
    group: Group | None,
    rules: domain.BookingRules,
    commercial: bool = False,
    equipment: Sequence[RoomEquipment] = (),
) -> int:
    """The usage fee frozen on a booking: the booker's residency, or the group's when booking for
    one; the commercial surcharge when for profit (営利目的); the chosen equipment (附属設備)."""
    tariffs = {t.time_band_id: t for t in room.tariffs.all()}  # prefetched on a catalogue room
    return domain.fee_for(
        band_fees=[(tariffs[b.pk].weekday_fee, tariffs[b.pk].holiday_fee) for b in bands if b.pk in tariffs],
        use_date=date,
        outsider=resident.is_outsider if group is None else not group.is_ward_group,
        rules=rules,
        commercial=commercial,
        equipment_fees=[item.fee for item in equipment],
    )


def _resolve_equipment(room: Room, equipment_ids: Sequence[int]) -> list[RoomEquipment]:
    """The room's equipment items named by `equipment_ids`; any other id is refused."""
    wanted = set(equipment_ids)
    if not wanted:
        return []
    items = sorted((e for e in room.equipment_items.all() if e.pk in wanted), key=lambda e: e.pk)
    if len(items) != len(wanted):
        raise BookingError("unknown_equipment", status=400)
    return items


def _month_bounds(date: dt.date) -> tuple[dt.date, dt.date]:
    first = domain.month_start(date)
    return first, domain.add_months(first, 1)


def _insert_slot(
    reservation: Reservation, unit_ids: Sequence[int], bands: Sequence[TimeBand], *, savepoint: bool = True
) -> None:
    """Insert the reservation and its occupancy rows; a lost race raises SlotTaken.

    Runs inside the caller's transaction; the savepoint lets the caller's transaction carry on
    cleanly after a lost race (nothing of the loser's is left behind). A caller whose transaction
    ends with the SlotTaken anyway passes savepoint=False and saves two round trips."""
    try:
        with transaction.atomic(savepoint=savepoint):
            reservation.save(force_insert=True)
            Occupancy.objects.bulk_create(
                Occupancy(reservation=reservation, unit_id=u, date=reservation.date, band=b)
                for u in unit_ids
                for b in bands
            )
    except IntegrityError as error:
        if _is_occupancy_conflict(error):
            raise SlotTaken from error
        raise


def reservation_create(
    *,
    resident: Resident,
    room_id: int,
    date: dt.date,
    band_ids: Sequence[int],
    channel: str,
    booked_by: User,
    now: dt.datetime,
    group: Group | None = None,
    purpose_id: int | None = None,
    attendees: int | None = None,
    commercial: bool = False,
    equipment_ids: Sequence[int] = (),
) -> Reservation:
    """Book `room_id` on `date` for consecutive `band_ids` first-come (随時予約).

    Locks the resident's row, then the group's, to make the monthly cap exact; the slot itself is
    taken by inserting Occupancy rows, whose UNIQUE constraint lets exactly one racer win. A cheap
    read first turns most losers away before they write anything: the day's cached cells, current
    but for writes still in flight (the constraint decides those).

    The room, its bands, purposes, units, tariffs and equipment come from the catalogue cache
    (selectors.room_with_bands): catalogue edits bump its version, which every process re-reads
    within CATALOGUE_VERSION_MEMO_SECONDS, so an edit reaches bookings as it reaches the pages.
    """
    found = selectors.room_with_bands(room_id)
    if found is None:
        raise NotFound("unknown_room")
    room, facility_bands = found
    bands = _resolve_bands(room, band_ids, facility_bands)
    rules = booking_rules(room.facility.group)

    if resident.status != ResidentStatus.ACTIVE:
        raise BookingError("not_active", status=403)
    if group is not None:
        if group.status != ResidentStatus.ACTIVE:
            raise BookingError("group_not_active", status=403)
        if group.representative_id != resident.pk and not group.members.filter(pk=resident.pk).exists():
            raise BookingError("not_group_member", status=403)

    refusal = domain.window_refusal(use_date=date, band_start=bands[0].starts_at, now=now, rules=rules)
    if refusal is domain.Refusal.CLOSED_FOR_BOOKING and channel == Channel.COUNTER:
        refusal = None  # same-day and day-before bookings are taken at the counter
    if refusal is not None:
        raise BookingError(refusal.value, status=400 if refusal is domain.Refusal.PAST else 409)
    occupied, closed = selectors.day_cells(room.facility_id, date)
    if (None, date) in closed or (room.pk, date) in closed:
        raise BookingError(domain.Refusal.FACILITY_CLOSED.value)

    purpose = None
    if purpose_id is not None:
        purpose = next((p for p in room.purposes.all() if p.pk == purpose_id), None)
        if purpose is None:
            raise BookingError("purpose_not_allowed", status=400)
    if attendees is not None and attendees > room.capacity:
        raise BookingError("over_capacity", status=400)
    equipment = _resolve_equipment(room, equipment_ids)

    unit_ids = sorted(unit.pk for unit in room.units.all())
    if any((unit_id, date, band.pk) in occupied for unit_id in unit_ids for band in bands):
        raise SlotTaken

    fee = _fee(
        room=room,
        bands=bands,
        date=date,
        resident=resident,
        group=group,
        rules=rules,
        commercial=commercial,
        equipment=equipment,
    )
    month_from, month_to = _month_bounds(date)

    with transaction.atomic():
        # The status is read again from the locked rows: a suspension that commits while this
        # booking waits for the lock must still refuse it.
        if Resident.objects.select_for_update().values_list("status", flat=True).get(pk=resident.pk) != (
            ResidentStatus.ACTIVE
        ):
            raise BookingError("not_active", status=403)
        mine = Reservation.objects.filter(
            resident=resident, group__isnull=True, state__in=ACTIVE_STATES, date__gte=month_from, date__lt=month_to
        ).filter(kind=ReservationKind.FIRST_COME)  # caps are per kind: lottery wins have their own cap
        if group is None:
            refusal = domain.quota_refusal(active_this_month=mine.count(), cap=rules.max_active_per_month)
        else:
            if Group.objects.select_for_update().values_list("status", flat=True).get(pk=group.pk) != (
                ResidentStatus.ACTIVE
            ):
                raise BookingError("group_not_active", status=403)
            theirs = Reservation.objects.filter(
                group=group, state__in=ACTIVE_STATES, date__gte=month_from, date__lt=month_to
            ).filter(kind=ReservationKind.FIRST_COME)
            refusal = domain.quota_refusal(
                active_this_month=theirs.count(), cap=rules.max_group_active_per_month, group=True
            )
        if refusal is not None:
            raise BookingError(refusal.value)

        reservation = Reservation(
            reference=new_reference(),
            kind=ReservationKind.FIRST_COME,
            state=ReservationState.PROVISIONAL if fee > 0 else ReservationState.CONFIRMED,
            resident=resident,
            group=group,
            room=room,
            date=date,
            band_from=bands[0],
            band_to=bands[-1],
            purpose=purpose,
            attendees=attendees,
            commercial=commercial,
            fee=fee,
            payment_deadline=domain.payment_deadline(booked_at=now, use_date=date, rules=rules) if fee > 0 else None,
            channel=channel,
            booked_by=booked_by,
            created_at=now,
        )
        _insert_slot(reservation, unit_ids, bands, savepoint=False)  # SlotTaken ends this transaction
        if equipment:
            reservation.equipment_items.set(equipment)
        _notify_after_commit(room.facility_id, [date])
    return reservation


def reservation_cancel(
    *, reservation_id: int, resident: Resident | None, cancelled_by: User, channel: str, now: dt.datetime
) -> Reservation:
    """Cancel a booking and free its slot at once.

    `resident` is the person asking (None for staff acting at the counter, who may cancel any
    booking of their facilities; the view checks that scope). A resident may cancel their own
    bookings and those of groups they represent. Locks the reservation row; idempotent refusals.
    """
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("room", "group")
            .filter(pk=reservation_id)
            .first()
        )
        if reservation is None or (resident is not None and not _may_act_for(resident, reservation)):
            raise NotFound("unknown_reservation")
        if reservation.state not in ACTIVE_STATES:
            raise BookingError("already_ended")
        if reservation.date < now.astimezone(domain.TOKYO).date():
            raise BookingError("not_cancellable")
        reservation.state = ReservationState.CANCELLED
        reservation.cancelled_at = now
        reservation.cancel_channel = channel
        reservation.cancelled_by = cancelled_by
        reservation.save(update_fields=["state", "cancelled_at", "cancel_channel", "cancelled_by"])
        reservation.occupancies.all().delete()
        _notify_after_commit(reservation.room.facility_id, [reservation.date])
    return reservation


def reservation_check_in(*, reference: str, facility_id: int, channel: str, now: dt.datetime) -> Reservation:
    """Record arrival (来館受付) for today's confirmed booking at `facility_id`, found by its reference.

    A conditional UPDATE on a not-yet-checked-in row: a second check-in changes nothing and returns
    the booking with its first check-in time. Unpaid (provisional) bookings are sent to the counter."""
    today = now.astimezone(domain.TOKYO).date()
    reservation = (
        Reservation.objects.select_related("room", "band_from", "band_to")
        .filter(reference=reference.strip().upper(), room__facility_id=facility_id, date=today)
        .exclude(kind=ReservationKind.BLOCK)
        .first()
    )
    if reservation is None:
        raise NotFound("unknown_reservation")
    if reservation.state == ReservationState.PROVISIONAL:
        raise BookingError("check_in_unpaid")
    if reservation.state != ReservationState.CONFIRMED:
        raise BookingError("already_ended")
    Reservation.objects.filter(pk=reservation.pk, checked_in_at__isnull=True).update(
        checked_in_at=now, checked_in_channel=channel, no_show_at=None
    )
    reservation.refresh_from_db(fields=["checked_in_at", "checked_in_channel"])
    return reservation


def reservation_mark_no_show(*, reservation_id: int, facility_id: int, now: dt.datetime) -> bool:
    """Staff record that nobody came (不来館) for a booking at `facility_id` of today or earlier that
    was not checked in. A conditional UPDATE; False when the booking does not qualify, belongs to
    another facility or is already marked."""
    today = now.astimezone(domain.TOKYO).date()
    return bool(
        Reservation.objects.filter(
            pk=reservation_id,
            room__facility_id=facility_id,
            state__in=ACTIVE_STATES,
            date__lte=today,
            checked_in_at__isnull=True,
            no_show_at__isnull=True,
        ).update(no_show_at=now)
    )


def _may_act_for(resident: Resident, reservation: Reservation) -> bool:
    if reservation.resident_id == resident.pk:
        return True
    return reservation.group is not None and reservation.group.representative_id == resident.pk


def block_create(
    *, room_id: int, date: dt.date, band_ids: Sequence[int], note: str, staff_user: User, now: dt.datetime
) -> Reservation:
    """Place a staff block (公用・優先予約) on a slot, before the lottery or any time after.

    Shares the Occupancy constraint with bookings, so a block can never overlap a booking."""
    room = Room.objects.select_related("facility").filter(pk=room_id).first()
    if room is None:
        raise NotFound("unknown_room")
    bands = _resolve_bands(room, band_ids)
    unit_ids = list(room.units.order_by("pk").values_list("pk", flat=True))
    reservation = Reservation(
        reference=new_reference(),
        kind=ReservationKind.BLOCK,
        state=ReservationState.CONFIRMED,
        room=room,
        date=date,
        band_from=bands[0],
        band_to=bands[-1],
        note=note,
        channel=Channel.COUNTER,
        booked_by=staff_user,
        created_at=now,
    )
    with transaction.atomic():
        _insert_slot(reservation, unit_ids, bands)
        _notify_after_commit(room.facility_id, [date])
    return reservation


def closure_create(*, facility: Facility, date: dt.date, reason: str, room: Room | None = None) -> Closure:
    """Close a facility (or one room) for a day.

    The closure takes the Occupancy rows of every unit and band it closes, so the UNIQUE constraint
    decides a race with a booking: a day holding an active booking cannot be closed (staff cancel
    the booking first) and a booking in flight cannot land on a day closed meanwhile."""
    units = RoomUnit.objects.filter(facility=facility).order_by("pk")
    if room is not None:
        units = units.filter(rooms=room)
    unit_ids = list(units.values_list("pk", flat=True))
    bands = list(TimeBand.objects.filter(facility=facility).order_by("order"))
    with transaction.atomic():
        existing = Closure.objects.filter(facility=facility, date=date, room=room).first()
        if existing is not None:
            return existing
        closure = Closure.objects.create(facility=facility, room=room, date=date, reason=reason)
        # Cells an earlier room closure already holds stay with it.
        held = set(
            Occupancy.objects.filter(closure__isnull=False, unit_id__in=unit_ids, date=date).values_list(
                "unit_id", "band_id"
            )
        )
        try:
            with transaction.atomic():
                Occupancy.objects.bulk_create(
                    Occupancy(closure=closure, unit_id=u, date=date, band=b)
                    for u in unit_ids
                    for b in bands
                    if (u, b.pk) not in held
                )
        except IntegrityError as error:
            if _is_occupancy_conflict(error):
                raise BookingError("closure_has_bookings") from error
            raise
        _notify_after_commit(facility.pk, [date])
    return closure


def room_save(*, room: Room, unit_codes: Sequence[str] | None = None) -> Room:
    """Create or update a room. A room always covers at least one unit: a plain room gets a unit of
    its own; a divisible hall's whole and halves name the shared units by code."""
    with transaction.atomic():
        room.full_clean(exclude=["units", "purposes"])
        room.save()
        if unit_codes:
            units = [RoomUnit.objects.get_or_create(facility_id=room.facility_id, code=c)[0] for c in unit_codes]
            room.units.set(units)
        elif not room.units.exists():
            unit, _ = RoomUnit.objects.get_or_create(facility_id=room.facility_id, code=room.code)
            room.units.add(unit)
        _catalogue_changed()
    return room


def catalogue_save(*, obj: Department | FacilityGroup | Facility | TimeBand | Tariff | Purpose | RoomEquipment) -> None:
    """Validate and save a catalogue record (admin edits go through here, never a bare save)."""
    with transaction.atomic():
        obj.full_clean()
        obj.save()
        _catalogue_changed()


def _new_user_number() -> str:
    return str(10_000_000 + secrets.randbelow(90_000_000))


def resident_register(
    *,
    full_name: str,
    date_of_birth: dt.date,
    postcode: str,
    address: str,
    residency: str,
    email: str,
    password: str,
    channel: str,
    now: dt.datetime,
    activated_by: User | None = None,
    facility: Facility | None = None,
) -> Resident:
    """Register an individual. Online registrations are provisional (仮登録) until counter staff
    check an ID; a counter registration by staff (`activated_by`) is active at once, and records the
    counter's `facility` (what staff scoping looks at)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                user = User.objects.create_user(_new_user_number(), password, email=email)
                active = activated_by is not None
                return Resident.objects.create(
                    user=user,
                    full_name=full_name,
                    date_of_birth=date_of_birth,
                    postcode=postcode,
                    address=address,
                    residency=residency,
                    status=ResidentStatus.ACTIVE if active else ResidentStatus.PENDING,
                    registered_channel=channel,
                    registered_at=now,
                    activated_at=now if active else None,
                    activated_by=activated_by,
                    registered_facility=facility,
                )
        except IntegrityError:
            continue  # a user-number collision: draw another
    raise RuntimeError("could not allocate a user number")


def resident_activate(
    *, resident_id: int, staff_user: User, now: dt.datetime, facility: Facility | None = None
) -> Resident:
    """Activate a pre-registered resident after an ID check at the counter (`facility`, when given,
    becomes the resident's registered counter). A conditional UPDATE: two staff clicking at once
    activate once."""
    fields: dict[str, object] = {"status": ResidentStatus.ACTIVE, "activated_at": now, "activated_by": staff_user}
    if facility is not None:
        fields["registered_facility"] = facility
    changed = Resident.objects.filter(pk=resident_id, status=ResidentStatus.PENDING).update(**fields)
    if not changed:
        if not Resident.objects.filter(pk=resident_id).exists():
            raise NotFound("unknown_resident")
        raise BookingError("not_pending")
    return Resident.objects.get(pk=resident_id)


def resident_update_profile(*, resident: Resident, postcode: str, address: str, email: str) -> Resident:
    """A resident edits their contact data. Name, birth date and residency change only at a counter."""
    with transaction.atomic():
        resident.postcode = postcode
        resident.address = address
        resident.save(update_fields=["postcode", "address"])
        resident.user.email = email
        resident.user.save(update_fields=["email"])
    return resident


def resident_set_pin(*, resident_id: int, pin: str) -> None:
    """Set (or replace) the resident's kiosk PIN: 4 to 8 digits, stored hashed like a password.
    Only the hash is written, with a plain UPDATE: no lock is needed."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        raise BookingError("bad_pin", status=400)
    if not Resident.objects.filter(pk=resident_id).update(kiosk_pin=make_password(pin)):
        raise NotFound("unknown_resident")


def group_register(
    *,
    representative: Resident,
    name: str,
    contact_name: str,
    contact_email: str,
    member_count: int,
    resident_member_count: int,
    now: dt.datetime,
    channel: str = Channel.WEB,
) -> Group:
    """Register a group (団体登録), pending until counter staff check its member list. `channel`
    is where it was registered (online by its representative, or at a counter)."""
    if representative.status != ResidentStatus.ACTIVE:
        raise BookingError("not_active", status=403)
    if member_count < GROUP_MIN_MEMBERS:
        raise BookingError("group_too_small", status=400)
    if resident_member_count > member_count:
        raise BookingError("group_residents_exceed", status=400)
    with transaction.atomic():
        group = Group.objects.create(
            name=name,
            representative=representative,
            contact_name=contact_name,
            contact_email=contact_email,
            member_count=member_count,
            resident_member_count=resident_member_count,
            registered_channel=channel,
            registered_at=now,
        )
        group.members.add(representative)
    return group


def group_activate(*, group_id: int, now: dt.datetime) -> Group:
    changed = Group.objects.filter(pk=group_id, status=ResidentStatus.PENDING).update(
        status=ResidentStatus.ACTIVE, activated_at=now
    )
    if not changed:
        raise BookingError("not_pending")
    group_cache.groups_changed()  # an update() sends no post_save
    return Group.objects.get(pk=group_id)


# --- lottery wins ---
# A lottery win becomes a reservation here, so wins, blocks and bookings share the one Occupancy
# constraint. Lottery wins do not count toward the first-come monthly cap (caps are per kind: the
# lottery has its own win cap per round); once confirmed they are ordinary provisional bookings.


def lottery_win_create(
    *,
    resident: Resident,
    room_id: int,
    date: dt.date,
    band_ids: Sequence[int],
    channel: str,
    booked_by: User,
    now: dt.datetime,
    group: Group | None = None,
) -> Reservation:
    """Hold a won slot for its winner (state AWAITING) until they confirm it or the offer lapses.

    No booking window or first-come cap applies (the lottery checked its own rules); the slot is
    taken by inserting Occupancy rows, so a slot held meanwhile raises SlotTaken. The fee is worked
    out now, so the winner sees it before confirming."""
    room = Room.objects.select_related("facility__group").filter(pk=room_id).first()
    if room is None:
        raise NotFound("unknown_room")
    bands = _resolve_bands(room, band_ids)
    rules = booking_rules(room.facility.group)
    unit_ids = list(room.units.order_by("pk").values_list("pk", flat=True))
    fee = _fee(room=room, bands=bands, date=date, resident=resident, group=group, rules=rules)
    reservation = Reservation(
        reference=new_reference(),
        kind=ReservationKind.LOTTERY,
        state=ReservationState.AWAITING,
        resident=resident,
        group=group,
        room=room,
        date=date,
        band_from=bands[0],
        band_to=bands[-1],
        fee=fee,
        channel=channel,
        booked_by=booked_by,
        created_at=now,
    )
    with transaction.atomic():
        _insert_slot(reservation, unit_ids, bands)
        _notify_after_commit(room.facility_id, [date])
    return reservation


def _locked_awaiting_win(reservation_id: int) -> Reservation:
    """The lottery win, locked, if it still awaits its winner's answer (inside a transaction)."""
    reservation = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("room__facility__group")
        .filter(pk=reservation_id, kind=ReservationKind.LOTTERY)
        .first()
    )
    if reservation is None:
        raise NotFound("unknown_reservation")
    if reservation.state != ReservationState.AWAITING:
        raise BookingError("not_awaiting")
    return reservation


def lottery_win_confirm(*, reservation_id: int, now: dt.datetime) -> Reservation:
    """The winner confirms (当選確定): AWAITING becomes a provisional booking with a payment
    deadline (or confirmed at once when there is no fee), like a first-come booking.

    Locks the reservation row; a win that is no longer awaiting raises `not_awaiting`."""
    with transaction.atomic():
        reservation = _locked_awaiting_win(reservation_id)
        rules = booking_rules(reservation.room.facility.group)
        if reservation.fee > 0:
            reservation.state = ReservationState.PROVISIONAL
            reservation.payment_deadline = domain.payment_deadline(
                booked_at=now, use_date=reservation.date, rules=rules
            )
        else:
            reservation.state = ReservationState.CONFIRMED
        reservation.save(update_fields=["state", "payment_deadline"])
    return reservation


def lottery_win_release(
    *, reservation_id: int, state: str, now: dt.datetime, released_by: User | None = None, channel: str = ""
) -> Reservation:
    """End a win that was not confirmed: EXPIRED (the deadline passed) or CANCELLED (declined).
    Its slot is free at once (Occupancy rows deleted); listeners hear of it after commit.

    Locks the reservation row; a win that is no longer awaiting raises `not_awaiting`."""
    if state not in (ReservationState.EXPIRED, ReservationState.CANCELLED):
        raise ValueError(f"a released win ends as expired or cancelled, not {state!r}")
    with transaction.atomic():
        reservation = _locked_awaiting_win(reservation_id)
        reservation.state = state
        reservation.cancelled_at = now
        reservation.cancelled_by = released_by
        reservation.cancel_channel = channel
        reservation.save(update_fields=["state", "cancelled_at", "cancelled_by", "cancel_channel"])
        reservation.occupancies.all().delete()
        _notify_after_commit(reservation.room.facility_id, [reservation.date])
    return reservation


# --- payments ---
# The payments app pays reservations through these two services; reservations never imports it.


def reservation_mark_paid(*, reservation_id: int, now: dt.datetime) -> bool:
    """A provisional booking whose fee was paid (or waived) becomes confirmed (本予約).

    Idempotent: a booking that is already confirmed returns True and changes nothing; a booking
    that has ended (expired, cancelled) returns False, and the caller refunds the money. Locks the
    reservation row; callers that also lock a payment lock this row first."""
    with transaction.atomic():
        state = (
            Reservation.objects.select_for_update(of=("self",))
            .filter(pk=reservation_id)
            .values_list("state", flat=True)
            .first()
        )
        if state is None:
            raise NotFound("unknown_reservation")
        if state == ReservationState.CONFIRMED:
            return True
        if state != ReservationState.PROVISIONAL:
            return False
        Reservation.objects.filter(pk=reservation_id).update(state=ReservationState.CONFIRMED)
    return True


def reservation_expire_unpaid(*, now: dt.datetime) -> list[int]:
    """Expire every provisional booking whose payment deadline has passed and free its slot.

    One short transaction per booking, each locking its row and checking the state again, so a
    payment confirmed meanwhile wins and a doubled tick does nothing. Returns the expired ids."""
    expired: list[int] = []
    due = Reservation.objects.filter(state=ReservationState.PROVISIONAL, payment_deadline__lt=now).values_list(
        "pk", flat=True
    )
    for reservation_id in list(due):
        with transaction.atomic():
            reservation = (
                Reservation.objects.select_for_update(of=("self",))
                .select_related("room")
                .filter(pk=reservation_id, state=ReservationState.PROVISIONAL, payment_deadline__lt=now)
                .first()
            )
            if reservation is None:
                continue
            reservation.state = ReservationState.EXPIRED
            reservation.cancelled_at = now
            reservation.save(update_fields=["state", "cancelled_at"])
            reservation.occupancies.all().delete()
            _notify_after_commit(reservation.room.facility_id, [reservation.date])
        expired.append(reservation_id)
    return expired


# --- residents' own settings (calendar feed, language of e-mails) ----------------------------------


def resident_calendar_token_reset(*, resident_id: int, now: dt.datetime, enable: bool = True) -> str | None:
    """Give the resident's calendar feed a new secret token (the old URL stops working at once), or
    with `enable=False` stop the feed. Returns the new token (None when stopped). One UPSERT-like
    write on the resident's own preference row; the token is unique in the database."""
    token = secrets.token_urlsafe(32) if enable else None
    with transaction.atomic():
        preference, _ = ResidentPreference.objects.select_for_update().get_or_create(resident_id=resident_id)
        preference.calendar_token = token
        preference.calendar_token_created_at = now if enable else None
        preference.save(update_fields=["calendar_token", "calendar_token_created_at"])
    return token


def resident_language_set(*, resident_id: int, language: str) -> None:
    """Remember the language the resident chose on the site, for the e-mails sent to them."""
    ResidentPreference.objects.update_or_create(resident_id=resident_id, defaults={"language": language})
