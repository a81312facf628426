"""What one staff account may see and do: its role and the facilities it is scoped to.

Every staff page and every staff read of personal data goes through a `StaffScope`, so "staff of
facility A cannot see facility B's residents" is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Facility, Reservation, Resident, StaffProfile, StaffRole, User

# Roles that may change things (everyone but the auditor).
WRITING_ROLES = frozenset(
    {StaffRole.COUNTER, StaffRole.FACILITY_MANAGER, StaffRole.DEPARTMENT_ADMIN, StaffRole.SYSTEM_ADMIN}
)
# Roles that see every facility.
WARD_WIDE_ROLES = frozenset({StaffRole.SYSTEM_ADMIN, StaffRole.AUDITOR})


@dataclass(frozen=True)
class StaffScope:
    user_id: int
    role: StaffRole
    # None: every facility (system admin, auditor); otherwise the ids this account works for.
    facility_ids: frozenset[int] | None

    @property
    def can_write(self) -> bool:
        return self.role in WRITING_ROLES

    @property
    def ward_wide(self) -> bool:
        return self.facility_ids is None

    def has_role(self, *roles: StaffRole) -> bool:
        return self.role in roles

    def sees_facility(self, facility_id: int) -> bool:
        return self.facility_ids is None or facility_id in self.facility_ids

    def facilities(self) -> QuerySet[Facility]:
        found = Facility.objects.all()
        return found if self.facility_ids is None else found.filter(pk__in=self.facility_ids)

    def facility_q(self, field: str = "facility") -> Q:
        """A filter for rows whose `field` (a Facility foreign key path) is within scope."""
        return Q() if self.facility_ids is None else Q(**{f"{field}__in": self.facility_ids})

    def residents(self) -> QuerySet[Resident]:
        """The residents this account may look up by name: every one for ward-wide roles; otherwise
        those registered at one of its counters or holding a booking at one of its facilities."""
        found = Resident.objects.all()
        if self.facility_ids is None:
            return found
        booked_here = Reservation.objects.filter(resident=OuterRef("pk"), room__facility__in=self.facility_ids)
        return found.filter(Q(registered_facility__in=self.facility_ids) | Exists(booked_here))

    def sees_resident(self, resident_id: int) -> bool:
        return self.residents().filter(pk=resident_id).exists()


def staff_scope(user: User) -> StaffScope | None:
    """The scope of an active staff login, or None if it may do nothing on the staff terminal.

    A superuser without a profile counts as a system admin (the first account `createsuperuser`
    makes must be able to set up the others)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    profile = StaffProfile.objects.filter(user=user).first()
    if profile is None:
        if user.is_superuser:
            return StaffScope(user_id=user.pk, role=StaffRole.SYSTEM_ADMIN, facility_ids=None)
        return None
    role = StaffRole(profile.role)
    if role in WARD_WIDE_ROLES:
        return StaffScope(user_id=user.pk, role=role, facility_ids=None)
    ids = set(profile.facilities.values_list("pk", flat=True))
    if role == StaffRole.DEPARTMENT_ADMIN:
        ids |= set(Facility.objects.filter(department__in=profile.departments.all()).values_list("pk", flat=True))
    return StaffScope(user_id=user.pk, role=role, facility_ids=frozenset(ids))
