"""What the lottery still needs of a resident, for the retention rule (reservations/retention.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from .models import LotteryEntry, RoundState


def people_with_entries(cutoff: dt.datetime) -> QuerySet[Any]:
    """Everyone who applied since the cutoff, or whose entry's round is not finished yet."""
    return LotteryEntry.objects.filter(Q(created_at__gte=cutoff) | ~Q(round__state=RoundState.FINISHED)).values(
        "person_id"
    )
