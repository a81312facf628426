"""Forms of the public booking pages. They parse and validate input; every rule that decides whether
a booking may be made stays in the services (they check again on every write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django import forms
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import availability_cache, domain, widgets
from .errors import MESSAGES, BookingError
from .models import FacilityKind, Group, Purpose, Resident, ResidentStatus, RoomEquipment, TimeBand
from .selectors import RoomFilter

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Dates outside this range are refused as input: far enough for any booking, and it keeps month and
# week arithmetic (prev/next links) away from the limits of `datetime.date`.
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_CAPACITY = 100_000


def message(code: str) -> StrOrPromise:
    """A service error's message, still lazy (translated when shown)."""
    return cast("StrOrPromise", MESSAGES[code])


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def is_supported_date(day: dt.date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


class RoomFilterForm(forms.Form):
    """What the resident is looking for: a purpose and a number of people (GET)."""

    purpose = forms.ChoiceField(label=_("利用目的"), required=False)
    min_capacity = forms.IntegerField(
        label=_("利用人数（この人数以上の定員）"),
        required=False,
        min_value=1,
        max_value=MAX_CAPACITY,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, purposes: Iterable[Purpose] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if purposes is None:
            purposes = Purpose.objects.order_by("code")
        _choice_field(self, "purpose").choices = [("", _("指定しない"))] + [(p.code, p.name) for p in purposes]

    def room_filter(self) -> RoomFilter:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return RoomFilter(purpose=data.get("purpose") or None, min_capacity=data.get("min_capacity") or None)

    def querystring(self) -> str:
        """The room filters as a query string ("" when none), for links that keep them."""
        room_filter = self.room_filter()
        params = {
            "purpose": room_filter.purpose or "",
            "min_capacity": room_filter.min_capacity or "",
        }
        kept = {k: v for k, v in params.items() if v}
        return f"?{urlencode(kept)}" if kept else ""


class FacilitySearchForm(RoomFilterForm):
    """The home page's search (GET): kind of facility, purpose, people, and the day to look at."""

    kind = forms.ChoiceField(label=_("施設の種類"), required=False, choices=[("", _("すべて")), *FacilityKind.choices])
    date = forms.DateField(
        label=_("利用したい日"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": message("bad_date")},
    )
    field_order = ["kind", "purpose", "min_capacity", "date"]

    def clean_date(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("date")
        if day is not None and not is_supported_date(day):
            raise forms.ValidationError(message("bad_date"))
        return day


def parse_band_ids(raw: Sequence[str], bands: Sequence[TimeBand]) -> list[TimeBand]:
    """The facility's bands named by `raw` (ids from a query string), in order of the day.

    Raises BookingError (400) for anything that is not a run of this facility's neighbouring bands."""
    by_id = {b.pk: b for b in bands}
    try:
        ids = [int(value) for value in raw]
    except ValueError:
        raise BookingError("unknown_band", status=400) from None
    if not ids or any(i not in by_id for i in ids):
        raise BookingError("unknown_band", status=400)
    chosen = sorted({by_id[i] for i in ids}, key=lambda b: b.order)
    if len(chosen) != len(ids) or not domain.is_consecutive([b.order for b in chosen], [b.order for b in bands]):
        raise BookingError(domain.Refusal.BAD_SPAN.value, status=400)
    return chosen


def resident_groups(resident: Resident) -> list[Group]:
    """Active groups the resident may book for: those they represent or belong to.

    From the cache, which any change to a group or its members drops (reservations/group_cache.py):
    every booking page and booking asks, groups rarely change. Inside a transaction they come from
    the database, since that transaction's own uncommitted writes must not be cached. The services
    check the group's status and the resident's membership again, under lock, when they book."""
    if connection.in_atomic_block:
        return _resident_groups_from_db(resident)
    return availability_cache.resident_groups(resident.pk, lambda: _resident_groups_from_db(resident))


def _resident_groups_from_db(resident: Resident) -> list[Group]:
    mine = Group.objects.filter(Q(representative=resident) | Q(members=resident), status=ResidentStatus.ACTIVE)
    unique = {g.pk: g for g in mine}  # a representative who is also a member comes twice
    return sorted(unique.values(), key=lambda g: g.name)


class BookingForm(forms.Form):
    """The confirmation form of one booking (POST). The checkboxes let the resident extend the span
    to neighbouring bands; the service re-checks everything when it books."""

    bands = forms.TypedMultipleChoiceField(
        label=_("時間帯"),
        coerce=int,
        widget=widgets.MultipleHiddenInput,
        error_messages={
            "required": _("時間帯を1つ以上選んでください。"),
            "invalid_choice": message("unknown_band"),
        },
    )
    purpose = forms.TypedChoiceField(
        label=_("利用目的"),
        coerce=int,
        empty_value=None,
        widget=widgets.Select,
        error_messages={"required": _("利用目的を選んでください。")},
    )
    attendees = forms.IntegerField(
        label=_("利用人数"),
        min_value=1,
        max_value=MAX_CAPACITY,
        widget=widgets.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("利用人数を入力してください。")},
    )
    group = forms.TypedChoiceField(
        label=_("予約する名義"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=widgets.Select,
        error_messages={"invalid_choice": message("not_group_member")},
    )
    # Chosen with the bands on the page above (the fee shown includes them), carried here unchanged.
    commercial = forms.BooleanField(label=_("営利目的（商用）で利用する"), required=False, widget=widgets.HiddenInput)
    equipment = forms.TypedMultipleChoiceField(
        label=_("附属設備"),
        coerce=int,
        required=False,
        widget=widgets.MultipleHiddenInput,
        error_messages={"invalid_choice": message("unknown_equipment")},
    )

    def __init__(
        self,
        *args: Any,
        bands: Sequence[TimeBand],
        purposes: Sequence[Purpose],
        groups: Sequence[Group],
        capacity: int,
        equipment: Sequence[RoomEquipment] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.all_bands = list(bands)
        _choice_field(self, "bands").choices = [(b.pk, str(b)) for b in self.all_bands]
        purpose_field = _choice_field(self, "purpose")
        purpose_field.choices = [("", _("選んでください"))] + [(p.pk, p.name) for p in purposes]
        purpose_field.required = bool(purposes)
        self.fields["attendees"].help_text = _("定員 %(capacity)s人") % {"capacity": capacity}
        _choice_field(self, "group").choices = [("", _("個人として予約"))] + [(g.pk, g.name) for g in groups]
        if not groups:
            self.fields["group"].widget = widgets.HiddenInput()
        _choice_field(self, "equipment").choices = [(e.pk, e.name) for e in equipment]

    def clean_bands(self) -> list[int]:
        ids: list[int] = self.cleaned_data["bands"]
        try:
            chosen = parse_band_ids([str(i) for i in ids], self.all_bands)
        except BookingError as error:
            raise forms.ValidationError(error.message) from None
        return [b.pk for b in chosen]
