"""The lottery intake scenario's planning (scenario (b), see loadtests/intake.py), free of gevent and
locust so that the unit tests import it: the crowds, the use month, the rounds and lottery rooms
set up in the run database, the hot lottery slots, and the refusal messages of the lottery pages."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loadtests.bench import DEMO_PASSWORD, TOKYO, slot_score

# The rooms lottery/demo.py puts in the lottery (every facility group, eligibility "anyone").
HALL_CODES = ("hall", "dai-hall", "sho-hall")
LAST_HOUR_SHARE = 0.2
EARLY_SHARE = 0.05
EARLY_RETRY_S = 0.2
WITHDRAW_SHARE = 0.15
RANK_SHARE = 0.10
AFTER_CLOSE_SHARE = 0.5
MAX_ENTRIES = 10
LAST_PHASE_S = {"smoke": 15.0}  # the compressed last hour; others: DEFAULT_LAST_PHASE_S
DEFAULT_LAST_PHASE_S = 60.0
AFTER_CLOSE_S = 4.0  # the after-close attempts are made within this many seconds of T_close

ENTRY_ID_RE = re.compile(r"/lottery/my/entries/(\d+)/withdraw/")
# The pages' own messages (Accept-Language: ja), for answers without an X-Refusal header.
REFUSAL_TEXTS = [
    ("intake_not_open", "この抽選の申込受付はまだ始まっていません"),
    ("intake_closed", "この抽選の申込受付は終了しました"),
    ("entry_cap", "この抽選への申込件数が上限に達しています"),
    ("duplicate_entry", "この枠にはすでに申し込んでいます"),
    ("same_person", "同じ方が、個人と代表する団体"),
    ("not_eligible_ward_groups", "区内団体のみ申し込めます。団体名義で"),
    ("not_eligible_ward", "区内在住・在勤・在学の方と区内団体のみ"),
    ("slot_unavailable", "この枠は休館日または公用・優先予約のため"),
    ("not_in_lottery", "この室場・時間帯は抽選の対象ではありません"),
    ("no_round", "この月の抽選はありません"),
    ("unknown_entry", "指定された抽選申込が見つかりません"),
    ("bad_rank", "希望順位の指定が正しくありません"),
]


@dataclass(frozen=True)
class LotterySlot:
    """One candidate slot of a round: a free (lottery room, date, band) of the use month."""

    rank: int
    round_id: int
    room_id: int
    date: str
    band_id: int
    score: float


@dataclass(frozen=True)
class IntakeAssignment:
    index: int
    resident_id: int
    user_number: str
    crowd: str  # opening | last_hour
    arrival_offset: float  # seconds after T0
    wants: int
    action: str  # "" | withdraw | rank
    after_close: bool
    early: bool
    seed: int
    password: str = DEMO_PASSWORD


def make_intake_assignments(
    residents: Sequence[tuple[int, str]],
    *,
    opening_users: int,
    opening_s: float,
    last_s: float,
    seed: int,
    arrival_window_s: float = 10.0,
) -> list[IntakeAssignment]:
    """The first `opening_users` residents are the opening crowd, the rest the last-hour crowd."""
    rng = random.Random(seed * 37 + 11)
    out = []
    for i, (resident_id, user_number) in enumerate(residents):
        user_seed = rng.getrandbits(32)
        if i < opening_users:
            early = rng.random() < EARLY_SHARE
            arrival = -rng.uniform(1.0, 2.0) if early else rng.uniform(0.0, arrival_window_s)
            roll = rng.random()
            action = "withdraw" if roll < WITHDRAW_SHARE else "rank" if roll < WITHDRAW_SHARE + RANK_SHARE else ""
            out.append(
                IntakeAssignment(
                    i,
                    resident_id,
                    user_number,
                    "opening",
                    round(arrival, 3),
                    rng.randint(1, 5),
                    action,
                    False,
                    early,
                    user_seed,
                )
            )
        else:
            arrival = opening_s + rng.uniform(0.0, max(last_s - 1.0, 1.0))
            after = rng.random() < AFTER_CLOSE_SHARE
            out.append(
                IntakeAssignment(
                    i,
                    resident_id,
                    user_number,
                    "last_hour",
                    round(arrival, 3),
                    rng.randint(1, 3),
                    "",
                    after,
                    False,
                    user_seed,
                )
            )
    return out


def lottery_use_month(t0_local: dt.datetime) -> dt.date:
    """Intake on day 1 of M-2 is for use month M: two months after T0's (Tokyo) month."""
    first = t0_local.date().replace(day=1)
    return (first + dt.timedelta(days=62)).replace(day=1)


LOTTERY_SLOTS_SQL = """
WITH days AS (SELECT d::date AS day FROM generate_series(%s::date, %s::date, interval '1 day') AS d)
SELECT r.id, f.group_id, r.capacity, b.id, b.starts_at, days.day
FROM lottery_lotteryroom lr
JOIN reservations_room r ON r.id = lr.room_id
JOIN reservations_facility f ON f.id = r.facility_id
JOIN reservations_timeband b ON b.facility_id = f.id
CROSS JOIN days
WHERE lr.is_active AND r.is_active AND f.is_active
  AND NOT EXISTS (
      SELECT 1 FROM reservations_room_units ru
      JOIN reservations_occupancy o ON o.unit_id = ru.roomunit_id
      WHERE ru.room_id = r.id AND o.date = days.day AND o.band_id = b.id)
"""


def build_lottery_slots(
    cursor: Any, month: dt.date, rounds: dict[int, int], *, size: int = 400, seed: int = 1
) -> list[LotterySlot]:
    """The `size` most wanted free lottery slots of `month` (ranked as bench.slot_score ranks)."""
    from reservations.domain import is_holiday

    first = month.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    cursor.execute(LOTTERY_SLOTS_SQL, [first, last])
    rng = random.Random(seed)
    scored = []
    for room_id, group_id, capacity, band_id, starts_at, day in sorted(cursor.fetchall()):
        if group_id not in rounds:
            continue
        score = slot_score(starts_at, day, capacity, holiday=is_holiday(day))
        scored.append((-score, rng.random(), rounds[group_id], room_id, day, band_id, score))
    scored.sort()
    return [
        LotterySlot(rank, round_id, room_id, day.isoformat(), band_id, round(score, 3))
        for rank, (_, _, round_id, room_id, day, band_id, score) in enumerate(scored[:size], start=1)
    ]


def setup_rounds(
    conn: Any, t0: float, close: float, *, max_entries: int = MAX_ENTRIES
) -> tuple[dt.date, dict[int, int]]:
    """Lottery rooms as lottery/demo.py picks them (eligibility "anyone", every band), and one round
    per facility group for the use month, intake from T0 to `close`. Returns (M, {group id: round id})."""
    month = lottery_use_month(dt.datetime.fromtimestamp(t0, TOKYO))
    conn.execute(
        """
        INSERT INTO lottery_lotteryroom (room_id, eligibility, is_active)
        SELECT r.id, 'anyone', true FROM reservations_room r
        WHERE r.is_active AND (r.code = ANY(%s) OR r.code LIKE 'dai-taiiku%%' OR r.code LIKE 'tennis-%%')
        ON CONFLICT (room_id) DO UPDATE SET eligibility = 'anyone', is_active = true
        """,
        [list(HALL_CODES)],
    )
    day = dt.timedelta(days=1)
    opens = dt.datetime.fromtimestamp(t0, dt.UTC)
    closes = dt.datetime.fromtimestamp(close, dt.UTC)
    rounds: dict[int, int] = {}
    for (group_id,) in conn.execute("SELECT id FROM reservations_facilitygroup ORDER BY id").fetchall():
        row = conn.execute(
            """
            INSERT INTO lottery_lotteryround (
                facility_group_id, use_month, state, intake_opens_at, intake_closes_at, draw_at, confirm_by,
                release_at, runner_up_days, max_entries, max_wins, runner_ups, loser_bonus, seed_commitment, seed,
                algorithm, results_digest, entry_count, applicant_count)
            VALUES (%s, %s, 'scheduled', %s, %s, %s, %s, %s, 3, %s, 4, 2, false, '', '', '', '', 0, 0)
            ON CONFLICT (facility_group_id, use_month) DO UPDATE SET state = 'scheduled',
                intake_opens_at = EXCLUDED.intake_opens_at, intake_closes_at = EXCLUDED.intake_closes_at,
                draw_at = EXCLUDED.draw_at, confirm_by = EXCLUDED.confirm_by, release_at = EXCLUDED.release_at
            RETURNING id
            """,
            [group_id, month, opens, closes, closes + day, closes + 3 * day, closes + 4 * day, max_entries],
        ).fetchone()
        rounds[group_id] = int(row[0])
    return month, rounds


def move_rounds(conn: Any, round_ids: Sequence[int], t0: float, close: float) -> None:
    """Postpone the opening (and the close by as much) when the logins are slow."""
    conn.execute(
        "UPDATE lottery_lotteryround SET intake_opens_at = %s, intake_closes_at = %s WHERE id = ANY(%s)",
        [dt.datetime.fromtimestamp(t0, dt.UTC), dt.datetime.fromtimestamp(close, dt.UTC), list(round_ids)],
    )


def refusal_text(body: str) -> tuple[str | None, str]:
    for name, text in REFUSAL_TEXTS:
        if text in body:
            return name, "body"
    return None, "status"
