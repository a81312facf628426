"""`python -m tests.chaos.seed_lottery`: a lottery round with a few thousand entries, open, for the
worker-kill test (tests/chaos/test_worker_killed.py). Run with the stack's environment
(DJANGO_SETTINGS_MODULE, DATABASE_URL); prints the round's id and entry count as JSON.

The entries are inserted in bulk (test data, not what is under test): ten per active resident on
random lottery slots of the month after next; the draw then handles them like any other.
"""

from __future__ import annotations

import datetime as dt
import json
import random


def main() -> None:
    import django

    django.setup()

    from django.utils import timezone

    from lottery import demo
    from lottery.models import Eligibility, EntryStatus, LotteryEntry, LotteryRound, RoundState
    from reservations import domain as booking_domain
    from reservations.models import Channel, Resident, ResidentStatus, TimeBand

    rng = random.Random(11)
    now = timezone.now()
    rooms = [lr for lr in demo._lottery_rooms() if lr.eligibility == Eligibility.ANYONE]
    by_group: dict[int, list] = {}
    for lottery_room in rooms:
        by_group.setdefault(lottery_room.room.facility.group_id, []).append(lottery_room)
    group_id, group_rooms = max(by_group.items(), key=lambda item: len(item[1]))
    this_month = booking_domain.month_start(now.astimezone(booking_domain.TOKYO).date())
    use_month = booking_domain.add_months(this_month, 2)
    lottery_round = LotteryRound.objects.create(
        facility_group_id=group_id,
        use_month=use_month,
        state=RoundState.OPEN,
        intake_opens_at=now - dt.timedelta(days=2),
        intake_closes_at=now + dt.timedelta(days=1),
        draw_at=now + dt.timedelta(days=1),
        confirm_by=now + dt.timedelta(days=3),
        release_at=now + dt.timedelta(days=4),
    )
    slots = []
    for lottery_room in group_rooms:
        bands = list(TimeBand.objects.filter(facility_id=lottery_room.room.facility_id).order_by("order"))
        for day in booking_domain.month_days(use_month):
            slots.extend((lottery_room.room_id, day, band.pk) for band in bands)
    people = list(Resident.objects.filter(status=ResidentStatus.ACTIVE, user__is_staff=False).select_related("user"))
    entries = []
    for person in people:
        for rank, (room_id, day, band_id) in enumerate(rng.sample(slots, 10), start=1):
            entries.append(
                LotteryEntry(
                    round=lottery_round,
                    applicant=f"r{person.pk}",
                    resident=person,
                    person=person,
                    room_id=room_id,
                    date=day,
                    band_from_id=band_id,
                    band_to_id=band_id,
                    rank=rank,
                    status=EntryStatus.ACTIVE,
                    channel=Channel.WEB,
                    created_by=person.user,
                    created_at=now - dt.timedelta(days=1),
                )
            )
    LotteryEntry.objects.bulk_create(entries, batch_size=1000)
    print(json.dumps({"round_id": lottery_round.pk, "entries": len(entries), "people": len(people)}))


if __name__ == "__main__":
    main()
