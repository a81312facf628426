"""The JSON API's request and response shapes (django-ninja schemas).

Output schemas read model attributes directly; anything computed (labels, nested summaries) has a
`resolve_*` method that only follows relations the selectors already loaded, so serialising never
adds queries per row.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, Field, WithJsonSchema

from .models import Facility, FacilityKind, Reservation, Room, TimeBand
from .selectors import Availability

SlotState = Literal["free", "taken", "closed", "unavailable"]

# Moments are given in Japan time (+09:00) whether they come from the database (UTC) or a service.
LocalDateTime = Annotated[dt.datetime, AfterValidator(timezone.localtime)]
# A time of day in Japan ("09:00:00"). Documented by its pattern: JSON Schema's "time" format means
# RFC 3339's full-time, with an offset, which a wall-clock time of a facility does not have.
LocalTime = Annotated[
    dt.time,
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", "example": "09:00:00"}),
]


class ErrorOut(Schema):
    """Every error answer: a stable code for programs and a message for people."""

    code: str = Field(description="Stable machine-readable code, e.g. slot_taken, not_yet_open, invalid")
    message: str = Field(description="Human-readable message in the request's language (Japanese by default)")
    detail: list[dict[str, Any]] | None = Field(None, description="Per-field problems (validation errors only)")


# --- catalogue ---------------------------------------------------------------------------------


class PurposeOut(Schema):
    id: int
    code: str
    name: str


class TimeBandOut(Schema):
    id: int
    code: str
    label: str
    starts_at: LocalTime
    ends_at: LocalTime


class RoomOut(Schema):
    id: int
    code: str
    name: str
    capacity: int
    area_m2: int | None
    equipment: list[str]
    purposes: list[PurposeOut]
    units: list[str] = Field(description="Codes of the units the room covers (a whole hall covers its halves' units)")

    @staticmethod
    def resolve_purposes(obj: Room) -> list[Any]:
        return list(obj.purposes.all())

    @staticmethod
    def resolve_units(obj: Room) -> list[str]:
        return [unit.code for unit in obj.units.all()]


class FacilityOut(Schema):
    id: int
    code: str
    name: str
    kind: FacilityKind
    kind_label: str
    postcode: str
    address: str
    department: str
    accessibility: str

    @staticmethod
    def resolve_kind_label(obj: Facility) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_department(obj: Facility) -> str:
        return obj.department.name


class FacilityListItemOut(FacilityOut):
    matching_rooms: int = Field(description="How many active rooms match the purpose and capacity filters")


@dataclass(frozen=True)
class FacilityDetail:
    """A facility with its active rooms and time bands; reads through to the facility's fields."""

    facility: Facility
    rooms: list[Room]
    time_bands: list[TimeBand]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.facility, name)


class FacilityDetailOut(FacilityOut):
    opens_at: LocalTime
    closes_at: LocalTime
    rooms: list[RoomOut]
    time_bands: list[TimeBandOut]


# --- availability --------------------------------------------------------------------------------


class RoomBriefOut(Schema):
    id: int
    code: str
    name: str
    capacity: int


class SlotOut(Schema):
    room_id: int
    date: dt.date
    band_id: int
    state: SlotState
    bookable: bool = Field(description="Free and inside the first-come booking window right now")


class AvailabilityOut(Schema):
    facility_id: int
    start: dt.date
    days: int
    first_come_opens_at: dict[str, LocalDateTime] = Field(
        description='When first-come booking opens for each month in the range, keyed "YYYY-MM"'
    )
    rooms: list[RoomBriefOut]
    time_bands: list[TimeBandOut]
    slots: list[SlotOut]

    @classmethod
    def build(cls, grid: Availability) -> "AvailabilityOut":
        months = sorted({day.replace(day=1) for day in grid.days})
        return cls(
            facility_id=grid.facility.pk,
            start=grid.days[0],
            days=len(grid.days),
            first_come_opens_at={f"{m:%Y-%m}": grid.window_opens_at(m) for m in months},
            rooms=[RoomBriefOut.from_orm(room) for room in grid.rooms],
            time_bands=[TimeBandOut.from_orm(band) for band in grid.bands],
            slots=[
                SlotOut(
                    room_id=room.pk,
                    date=day,
                    band_id=band.pk,
                    state=cast(SlotState, grid.slot(room, day, band).value),
                    bookable=grid.bookable(room, day, band),
                )
                for room in grid.rooms
                for day in grid.days
                for band in grid.bands
            ],
        )


# --- bookings ----------------------------------------------------------------------------------


class FacilityRefOut(Schema):
    id: int
    name: str


class RoomRefOut(Schema):
    id: int
    code: str
    name: str


class GroupRefOut(Schema):
    id: int
    name: str


class PurposeRefOut(Schema):
    id: int
    name: str


class BookingOut(Schema):
    id: int
    reference: str
    facility: FacilityRefOut
    room: RoomRefOut
    date: dt.date
    band_from: TimeBandOut
    band_to: TimeBandOut
    state: str = Field(description="provisional | confirmed | cancelled | expired")
    state_label: str
    kind: str = Field(description="first_come | lottery | block")
    channel: str = Field(description="web | kiosk | counter")
    fee: int = Field(description="Usage fee in yen")
    payment_deadline: LocalDateTime | None
    group: GroupRefOut | None
    purpose: PurposeRefOut | None
    attendees: int | None
    commercial: bool = Field(description="For profit (営利目的)")
    created_at: LocalDateTime
    cancelled_at: LocalDateTime | None

    @staticmethod
    def resolve_facility(obj: Reservation) -> Facility:
        return obj.room.facility

    @staticmethod
    def resolve_state_label(obj: Reservation) -> str:
        return str(obj.get_state_display())


class BookingIn(Schema):
    room_id: int
    date: dt.date = Field(description="The day of use, YYYY-MM-DD")
    band_ids: list[int] = Field(min_length=1, description="One or more consecutive time bands of that day")
    purpose_id: int | None = None
    attendees: int | None = Field(None, ge=1)
    group_id: int | None = Field(None, description="Book for a group you represent or belong to")
    commercial: bool = Field(False, description="For profit (営利目的): the group's commercial surcharge applies")
    equipment_ids: list[int] = Field(
        default_factory=list, description="Equipment (附属設備) of the room, flat fee each"
    )
