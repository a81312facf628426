"""Fault (c): the Celery worker is killed (SIGKILL, the whole process group) in the middle of a
lottery draw, then started again.

The draw claims its round and writes every outcome, win and e-mail marker in one transaction, so
the kill rolls all of it back: the round is still CLOSED with nothing drawn. Beat keeps ticking
(the ticks queued while no worker ran expire instead of piling up); the restarted worker's next
tick draws the round, once: one outcome per entry, one reservation per win, one results e-mail
per person, and the published digest verifies.
"""

from __future__ import annotations

import email
import email.header
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .stack import ROOT, Postgres, Services, wait_for

pytestmark = pytest.mark.chaos

# Django's file e-mail backend writes a connection's messages one after another, each followed by this.
MAIL_SEPARATOR = "-" * 79
RESULTS_SUBJECT = "抽選結果"  # templates/lottery/email/results_subject.txt

DRAWING_SQL = """
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE c.relname = 'lottery_lotteryoutcome' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()
"""


def _one(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _mail_recipients(maildir: Path) -> list[str]:
    """Who got a lottery results e-mail. Other mail is left out: the hourly reminder task (minute 5,
    08:00-20:00) mails the seeded bookings near today whenever the test runs across such a minute."""
    recipients = []
    for path in maildir.glob("*.log") if maildir.is_dir() else []:
        for text in path.read_text().split(MAIL_SEPARATOR):
            message = email.message_from_string(text.strip())
            subject = str(email.header.make_header(email.header.decode_header(message.get("Subject", ""))))
            if RESULTS_SUBJECT in subject:
                recipients.append(str(message["To"]))
    return recipients


def test_a_draw_interrupted_by_a_killed_worker_completes_exactly_once(
    postgres: Postgres, database: str, stack: Services
) -> None:
    seeded = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tests.chaos.seed_lottery"],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    round_id = seeded["round_id"]
    with postgres.connect(database) as conn:
        # Intake closed a minute ago and the draw is due: the next lottery tick closes and draws.
        conn.execute(
            "UPDATE lottery_lotteryround SET intake_closes_at = now() - interval '1 minute', "
            "draw_at = now() - interval '1 minute' WHERE id = %s",
            [round_id],
        )
    stack.start("beat")
    stack.start("worker")

    with postgres.connect(database) as conn:
        wait_for(lambda: _one(conn, DRAWING_SQL) > 0, timeout=120, what="the draw writing its outcomes", interval=0.02)
        time.sleep(0.3)  # well inside the draw: outcomes written, wins being created
        killed_at = time.monotonic()
        stack.kill("worker", signal.SIGKILL)
        # PostgreSQL rolls the draw back once it notices its client is gone.
        wait_for(lambda: _one(conn, DRAWING_SQL) == 0, timeout=60, what="the killed draw rolled back")
        state, commitment, seed = conn.execute(
            "SELECT state, seed_commitment, seed FROM lottery_lotteryround WHERE id = %s", [round_id]
        ).fetchone() or (None, None, None)
        assert state == "closed"  # closed (committed before the draw), not drawing, not published
        assert commitment and seed
        assert _one(conn, "SELECT count(*) FROM lottery_lotteryoutcome WHERE round_id = %s", round_id) == 0
        assert _one(conn, "SELECT count(*) FROM reservations_reservation WHERE kind = 'lottery'") == 0
        assert _one(conn, "SELECT count(*) FROM lottery_lotterymail WHERE round_id = %s", round_id) == 0
    assert _mail_recipients(stack.logdir / "mail") == []

    time.sleep(5)  # beat goes on ticking with no worker: those ticks must expire, not pile up
    restarted_at = time.monotonic()
    stack.start("worker")
    with postgres.connect(database) as conn:
        wait_for(
            lambda: _one(conn, "SELECT state FROM lottery_lotteryround WHERE id = %s", round_id) == "published",
            timeout=180,
            what="the round drawn after the restart",
            interval=0.2,
        )
        drawn_s = time.monotonic() - restarted_at
        active = _one(
            conn, "SELECT count(*) FROM lottery_lotteryentry WHERE round_id = %s AND status = 'active'", round_id
        )
        outcomes = _one(conn, "SELECT count(*) FROM lottery_lotteryoutcome WHERE round_id = %s", round_id)
        without = _one(
            conn,
            "SELECT count(*) FROM lottery_lotteryentry e WHERE e.round_id = %s AND e.status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM lottery_lotteryoutcome o WHERE o.entry_id = e.id)",
            round_id,
        )
        offered = _one(
            conn,
            "SELECT count(*) FROM lottery_lotteryoutcome WHERE round_id = %s AND reservation_id IS NOT NULL",
            round_id,
        )
        lottery_bookings = _one(conn, "SELECT count(*) FROM reservations_reservation WHERE kind = 'lottery'")
        double = _one(
            conn,
            "SELECT count(*) FROM (SELECT 1 FROM reservations_occupancy GROUP BY unit_id, date, band_id "
            "HAVING count(*) > 1) d",
        )
        people = _one(conn, "SELECT count(DISTINCT person_id) FROM lottery_lotteryentry WHERE round_id = %s", round_id)
        marks = _one(
            conn, "SELECT count(*) FROM lottery_lotterymail WHERE round_id = %s AND event = 'results'", round_id
        )
        with_email = _one(
            conn,
            "SELECT count(DISTINCT e.person_id) FROM lottery_lotteryentry e JOIN reservations_resident r "
            "ON r.id = e.person_id JOIN reservations_user u ON u.id = r.user_id WHERE e.round_id = %s AND u.email <> ''",
            round_id,
        )
        final_seed = _one(conn, "SELECT seed FROM lottery_lotteryround WHERE id = %s", round_id)
    assert outcomes == active > 0 and without == 0
    assert offered == lottery_bookings > 0
    assert double == 0
    assert marks == people
    assert final_seed == seed  # the seed committed at close is the one the draw used
    recipients = wait_for_mail(stack.logdir / "mail", with_email)
    assert len(recipients) == len(set(recipients)) == with_email
    verify = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "lottery_verify", str(round_id)],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr

    summary = {
        "fault": "Celery worker (process group) killed with SIGKILL 0.3 s into writing a draw's outcomes",
        "entries": seeded["entries"],
        "drawn_entries": outcomes,
        "wins_offered": offered,
        "results_emails": len(recipients),
        "state_after_kill": state,
        "seconds_from_kill_to_restart": round(restarted_at - killed_at, 1),
        "seconds_from_restart_to_published": round(drawn_s, 1),
        "lottery_verify": verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else "",
    }
    (stack.logdir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))


def wait_for_mail(maildir: Path, expected: int) -> list[str]:
    """The results e-mails go out right after the draw commits."""
    found: list[str] = []

    def arrived() -> bool:
        nonlocal found
        found = _mail_recipients(maildir)
        return len(found) >= expected

    wait_for(arrived, timeout=30, what=f"{expected} results e-mails")
    time.sleep(1)  # and no more than that
    return _mail_recipients(maildir)
