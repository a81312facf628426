"""Scenario (b), the lottery intake opening and its last hour, as Locust users (FastHttpUser).

The intake of the monthly lottery opens at 09:00 on day 1 of M-2 for use month M. The orchestrator
(`python -m loadtests.bench --scenario intake`) sets up one open round per facility group whose
intake opens at T0 on the server's own clock and closes at T_close = T0 + opening phase + last
phase, with the popular halls, main gyms and tennis courts as lottery rooms (as lottery/demo.py
picks them), then runs two crowds, all logged in through the real login page before T0:

- the opening crowd (the profile's size) arrives at T0 + U(0, 10 s): the lottery index, the round's
  room page (entries per day and band), then 1-5 entries, each on a slot drawn from a Zipf-hot set
  of the round's lottery slots, through the real apply form (GET for the CSRF token, POST; 302 to
  /lottery/my/ = applied, whose page then shows the new entry's id; a 409 page with the message
  = refused: duplicate -> another slot, entry cap or intake closed -> stop). 5 % ("early") are on the
  form from 1-2 s before T0 and re-post every 200 ms while it says "not yet open". Afterwards 15 %
  withdraw one entry and 10 % move their last entry to first preference (the my-entries page's
  forms);
- the last-hour crowd (20 % of it, other residents) applies steadily through the compressed "last
  hour" before T_close, 1-3 entries each with a second or two between; half of them try once more
  right after T_close (which must be refused).

Refusals are classified by the X-Refusal header the apply answers carry (`code_source` "header"),
else by the page's message ("body"), else by the status alone. Every answer is a
`loadtests.checks.IntakeAnswer`; every request a `loadtests.rush.Sample`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from locust import task

from loadtests import rush
from loadtests.bench import (
    BASE_URL,
    LOGIN_CONCURRENCY,
    MAX_POSTPONE_S,
    MAX_TRIES,
    REPORTED_ENV,
    REQUEST_TIMEOUT_S,
    TOKYO,
    ZipfPicker,
)
from loadtests.checks import ERROR, QUOTA, REFUSED, SUCCESS, IntakeAnswer
from loadtests.intake_plan import (
    AFTER_CLOSE_S,
    DEFAULT_LAST_PHASE_S,
    EARLY_RETRY_S,
    ENTRY_ID_RE,
    LAST_HOUR_SHARE,
    LAST_PHASE_S,
    REFUSAL_TEXTS,
    IntakeAssignment,
    LotterySlot,
    build_lottery_slots,
    lottery_use_month,
    make_intake_assignments,
    move_rounds,
    refusal_text,
    setup_rounds,
)
from loadtests.rush import CSRF_RE, CpuMeter, LoadUser, Sample, Session, _exception, finish_in_flight

# What each request may answer without it being an error (the login names are rush.py's).
rush.EXPECTED.update(
    {
        "lottery index": frozenset({200}),
        "round room": frozenset({200}),
        "apply GET": frozenset({200}),
        "apply POST": frozenset({302, 409}),
        "my entries": frozenset({200}),
        "withdraw POST": frozenset({302}),
        "rank POST": frozenset({302}),
    }
)


# --- The users ---------------------------------------------------------------------------------------


@dataclass
class IntakePlan:
    t0: float
    close: float  # T_close: the rounds' intake_closes_at
    stop_at: float  # no new request after this
    month: dt.date
    slots: list[LotterySlot]
    assignments: list[IntakeAssignment]
    think_s: float = 0.0  # residents' mean pause before each click after the index (bench.THINK_S)
    zipf_s: float = 1.1
    picker: ZipfPicker = field(init=False)
    answers: list[IntakeAnswer] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    login_failures: list[dict[str, Any]] = field(default_factory=list)
    logins_ok: int = 0
    login_first: float = 0.0
    login_last: float = 0.0
    taken: int = 0
    finished: int = 0
    in_flight: int = 0
    postponed_s: float = 0.0
    cpu: list[float] = field(default_factory=list)
    unidentified: int = 0  # apply successes whose entry id the page did not show (matched by slot)
    _gate: BoundedSemaphore | None = None

    def __post_init__(self) -> None:
        self.picker = ZipfPicker(len(self.slots), self.zipf_s)

    @property
    def gate(self) -> BoundedSemaphore:
        if self._gate is None:
            self._gate = BoundedSemaphore(LOGIN_CONCURRENCY)
        return self._gate

    @property
    def logins_done(self) -> int:
        return self.logins_ok + len(self.login_failures)

    def take(self) -> IntakeAssignment | None:
        if self.taken >= len(self.assignments):
            return None
        self.taken += 1
        return self.assignments[self.taken - 1]

    def stopping(self) -> bool:
        return time.time() >= self.stop_at


PLAN: IntakePlan | None = None


def refusal(resp: Any) -> tuple[str | None, str]:
    """The refusal code of a lottery page: its X-Refusal header, else its message."""
    headers = resp.headers
    code = headers.get("X-Refusal") if headers is not None else None
    if code:
        return str(code).strip(), "header"
    body = resp.text or ""
    for name, text in REFUSAL_TEXTS:
        if text in body:
            return name, "body"
    return None, "status"


def kind_of(status: int, code: str | None) -> str:
    if code == "entry_cap":
        return QUOTA
    if code or status == 409:
        return REFUSED
    return ERROR


class IntakeResident(LoadUser):
    """One resident applying to the lottery (see the module docstring)."""

    abstract = True  # run through the orchestrator only

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if PLAN is None:
            raise RuntimeError("no intake plan installed (run through python -m loadtests.bench --scenario intake)")
        self.plan: IntakePlan = PLAN
        self.a: IntakeAssignment | None = None
        self.logged_in = False
        self.done = False
        self.seen: set[int] = set()
        self.known: set[int] = set()  # my active entry ids, as the my-entries page last showed them
        self.mine: dict[int, LotterySlot] = {}  # entry id: its slot
        self.my_page = ""
        self.rng = random.Random()
        self.phase = "opening"

    def on_start(self) -> None:
        self.a = self.plan.take()
        if self.a is None:
            return
        self.rng = random.Random(self.a.seed)
        self.think_rng = random.Random(self.a.seed ^ 0x7415)  # its own stream: the slots drawn stay the same
        self.phase = self.a.crowd
        with self.plan.gate:
            self.logged_in = self._login()

    @task
    def intake(self) -> None:
        if self.done or self.a is None:
            gevent.sleep(1.0)
            return
        try:
            if self.logged_in:
                self._run(self.a)
        finally:
            self.done = True
            self.plan.finished += 1

    def _answer(self, slot: LotterySlot, method: str, kind: str, resp: Any, sent: float, **extra: Any) -> None:
        assert self.a is not None
        exc = _exception(resp)
        error = extra.pop("error", None)
        self.plan.answers.append(
            IntakeAnswer(
                resident_id=self.a.resident_id,
                user_number=self.a.user_number,
                round_id=slot.round_id,
                room_id=slot.room_id,
                date=slot.date,
                band_id=slot.band_id,
                method=method,
                kind=kind,
                status=resp.status_code or 0,
                sent=sent,
                t=time.time(),
                error=f"{type(exc).__name__}: {exc}" if exc else error,
                phase=self.phase,
                hammerer=self.a.early,
                **extra,
            )
        )

    def _sleep_until(self, offset: float) -> None:
        while (delay := self.plan.t0 + offset - time.time()) > 0:
            gevent.sleep(delay)

    def _run(self, a: IntakeAssignment) -> None:
        plan = self.plan
        self._sleep_until(a.arrival_offset)
        if plan.stopping():
            return
        self.send("GET", "/lottery/", "lottery index", self.phase)
        room: int | None = None
        for _want in range(a.wants):
            outcome = ""
            for _try in range(MAX_TRIES):
                if plan.stopping() or time.time() >= plan.close:
                    break
                index = plan.picker.pick(self.rng, self.seen)
                if index is None:
                    break
                self.seen.add(index)
                slot = plan.slots[index]
                if slot.room_id != room:  # back to the round's room page (entries per day and band)
                    room = slot.room_id
                    self._think()  # choosing the room
                    self.send("GET", f"/lottery/rounds/{slot.round_id}/rooms/{room}/", "round room", self.phase)
                self._think()  # choosing the slot
                if plan.stopping():
                    break
                outcome = self._apply(slot)
                if outcome in (SUCCESS, QUOTA, "stop"):
                    break
            if outcome in (QUOTA, "stop"):
                break
            if a.crowd == "last_hour":
                gevent.sleep(self.rng.uniform(1.0, 2.0))  # steady, not a burst
        if a.action and self.mine and not plan.stopping() and time.time() < plan.close - 1:
            self._withdraw_or_rank(a.action)
        if a.after_close:
            self._sleep_until(plan.close - plan.t0 + self.rng.uniform(0.2, AFTER_CLOSE_S - 1.0))
            self.phase = "after_close"
            index = plan.picker.pick(self.rng, self.seen)
            if index is not None:
                self.seen.add(index)
                self._apply(plan.slots[index])

    def _apply(self, slot: LotterySlot) -> str:
        """The apply form: GET (the CSRF token), POST; returns the answer kind (or "stop")."""
        path = f"/lottery/apply/{slot.room_id}/{slot.date}/?bands={slot.band_id}"
        sent = time.time()
        page = self.send("GET", path, "apply GET", self.phase)
        token = CSRF_RE.search(page.text or "") if page.status_code == 200 else None
        if token is None:
            code, source = refusal(page) if page.status_code else (None, "client")
            kind = ERROR if not page.status_code else kind_of(page.status_code, code)
            self._answer(slot, "apply", kind, page, sent, code=code or rush._error_code(page), code_source=source)
            return kind
        data = {"csrfmiddlewaretoken": token.group(1), "bands": str(slot.band_id), "group": ""}
        self._think()  # reading the form
        while True:
            sent = time.time()
            resp = self.send("POST", path, "apply POST", self.phase, data)
            status = resp.status_code or 0
            if status == 302:
                location = str(resp.headers.get("Location", ""))
                if not location.rstrip("/").endswith("/lottery/my"):
                    self._answer(slot, "apply", ERROR, resp, sent, code="redirect", error=f"302 to {location}")
                    return ERROR
                entry_id = self._new_entry()
                if entry_id is None:
                    self.plan.unidentified += 1
                else:
                    self.mine[entry_id] = slot
                self._answer(slot, "apply", SUCCESS, resp, sent, entry_id=entry_id, code_source="status")
                return SUCCESS
            if status == 0:
                self._answer(slot, "apply", ERROR, resp, sent, code=rush._error_code(resp), code_source="client")
                return ERROR
            code, source = refusal(resp)
            kind = kind_of(status, code)
            self._answer(slot, "apply", kind, resp, sent, code=code or rush._error_code(resp), code_source=source)
            if code == "intake_not_open" and time.time() < self.plan.t0 + 5:
                gevent.sleep(EARLY_RETRY_S if self.a is not None and self.a.early else 1.0)
                continue
            if code == "intake_closed":
                return "stop"
            return kind

    def _my_entries(self) -> set[int] | None:
        page = self.send("GET", "/lottery/my/", "my entries", self.phase)
        if page.status_code != 200:
            return None
        self.my_page = page.text or ""
        return {int(x) for x in ENTRY_ID_RE.findall(self.my_page)}

    def _new_entry(self) -> int | None:
        """The browser follows the redirect to my entries: the new id is the one not seen before.
        (After the close the page shows no forms, so no ids: the checks then match by slot.)"""
        ids = self._my_entries()
        if ids is None:
            return None
        new = ids - self.known
        self.known = ids
        return next(iter(new)) if len(new) == 1 else None

    def _withdraw_or_rank(self, action: str) -> None:
        entry_id = self.rng.choice(sorted(self.mine))
        slot = self.mine[entry_id]
        token = CSRF_RE.search(self.my_page)
        if token is None or entry_id not in self.known:
            return
        data: dict[str, Any] = {"csrfmiddlewaretoken": token.group(1)}
        if action == "rank":
            data["rank"] = "1"
        name = "withdraw POST" if action == "withdraw" else "rank POST"
        self._think()  # finding the entry on the page
        sent = time.time()
        resp = self.send("POST", f"/lottery/my/entries/{entry_id}/{action}/", name, self.phase, data)
        if resp.status_code != 302:
            code, source = refusal(resp) if resp.status_code else (None, "client")
            kind = ERROR if not resp.status_code else kind_of(resp.status_code, code)
            self._answer(slot, action, kind, resp, sent, entry_id=entry_id, code=code, code_source=source)
            return
        # The outcome shows on the my-entries page the redirect leads to.
        ids = self._my_entries()
        if ids is None:
            self._answer(slot, action, ERROR, resp, sent, entry_id=entry_id, code="my_entries_failed")
            return
        self.known = ids
        code, _ = refusal_text(self.my_page)
        if code is not None:  # the page says why not (e.g. intake closed: it then shows no forms at all)
            ok = False
        elif action == "withdraw":
            ok = entry_id not in ids
        else:
            match = re.search(rf'id="rank-{entry_id}"[^>]*value="(\d+)"', self.my_page)
            ok = match is not None and match.group(1) == "1"
        if ok:
            if action == "withdraw":
                self.mine.pop(entry_id, None)
            self._answer(slot, action, SUCCESS, resp, sent, entry_id=entry_id, code_source="page")
        else:
            self._answer(slot, action, kind_of(409, code), resp, sent, entry_id=entry_id, code=code, code_source="body")


def forget_lottery_cache() -> None:
    """The rounds were moved in SQL behind the servers' back (lottery/page_cache.py caches them and
    their pages, versioned by what the services bump): drop those entries from the bench's Redis db;
    their versions start again from values never used before."""
    import redis

    from loadtests.bench import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    for key in client.scan_iter(match="*lottery:*", count=1000):
        client.delete(key)


def run_intake(
    plan: IntakePlan, *, postpone: Callable[[float], bool] | None = None, grace_s: float = REQUEST_TIMEOUT_S + 5
) -> None:
    """Spawn one user per assignment; log everyone in before T0 (postponing T0 when the logins are
    slow); return when all are done, or at the cap once the requests in flight have finished."""
    global PLAN
    PLAN = plan
    from locust.env import Environment

    env = Environment(user_classes=[IntakeResident], host=BASE_URL, stop_timeout=1)
    runner = env.create_local_runner()
    users = len(plan.assignments)
    try:
        runner.start(users, spawn_rate=500.0)
        moved = 0.0
        while True:
            rush._sleep_until(plan.t0 - 3)
            if plan.logins_done >= users or postpone is None or moved > MAX_POSTPONE_S:
                break
            elapsed = max(time.time() - plan.login_first, 1.0) if plan.login_first else 1.0
            rate = max(plan.logins_done / elapsed, 1.0)
            new_t0 = float(math.ceil(time.time() + (users - plan.logins_done) / rate + 5))
            if not postpone(new_t0):
                break
            delta = new_t0 - plan.t0
            moved += delta
            plan.t0, plan.close, plan.stop_at = new_t0, plan.close + delta, plan.stop_at + delta
            plan.postponed_s = moved
        with CpuMeter(plan.cpu):
            while plan.finished < users and not plan.stopping():
                gevent.sleep(0.2)
            finish_in_flight(plan, grace_s)
    finally:
        runner.quit()
        PLAN = None


# --- The orchestration (python -m loadtests.bench --scenario intake) ---------------------------------


def run_bench(args: argparse.Namespace, profile: Any, stack: Any, log: Callable[[str], None], began: float) -> int:
    """Scenario (b) end to end on the bench stack (see loadtests/README.md). No ceiling phases."""
    import redis

    from loadtests import bench, checks, report

    timeline = bench.Timeline()
    machine_at_start = bench.machine_before()
    calibration = bench._load_calibration()
    login_rate = min(max(calibration.get("login_rate", bench.DEFAULT_LOGIN_RATE) * 0.7, 50.0), 400.0)

    # 1. Databases
    now_local = dt.datetime.now(TOKYO)
    template = bench.ensure_template(profile, now_local.date().replace(day=1), fresh=args.fresh_template, log=log)
    with bench._pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {bench._quote(bench.RUN_DB)} WITH (FORCE)")
        bench._create_from_template(admin, bench.RUN_DB, profile.template)
    redis.Redis.from_url(bench.REDIS_URL, socket_timeout=5).flushdb()
    timeline.mark("run_db_ready")

    # 2. T0, the close, the rounds
    opening_users = profile.users
    last_users = max(5, round(profile.users * LAST_HOUR_SHARE))
    opening_s = profile.rush_cap_s
    if args.waiting_room:  # everyone let in, with a minute to apply, before the compressed last hour
        opening_s = max(opening_s, bench.waiting_room_span_s(opening_users) + 60.0)
    last_s = LAST_PHASE_S.get(profile.name, DEFAULT_LAST_PHASE_S)
    lead = bench.login_lead(opening_users + last_users, login_rate)
    t0 = float(math.ceil(time.time() + lead))
    close = t0 + opening_s + last_s
    with bench._pg(bench.RUN_DB) as conn:
        month, rounds = setup_rounds(conn, t0, close)
        slots = build_lottery_slots(conn.cursor(), month, rounds, seed=args.seed)
        residents = bench.select_residents(conn.cursor(), opening_users + last_users, seed=args.seed)
        lottery_rooms = conn.execute("SELECT count(*) FROM lottery_lotteryroom WHERE is_active").fetchone()
        pg_version = conn.execute("SHOW server_version").fetchone()
    assignments = make_intake_assignments(
        residents, opening_users=opening_users, opening_s=opening_s, last_s=last_s, seed=args.seed
    )
    round_ids = sorted(rounds.values())
    log(
        f"T0 in {t0 - time.time():.0f} s, close T0+{close - t0:.0f} s; use month {month:%Y-%m}; "
        f"{len(round_ids)} rounds; {len(slots)} hot lottery slots; {opening_users} + {last_users} residents"
    )

    # 3. Servers
    git = bench.git_state()
    env = bench.server_env(args.waiting_room)
    commands = bench.server_commands(args)
    for name, cmd in commands.items():
        stack.start(name, cmd, env)
    ready_s = bench.wait_ready(stack)
    timeline.mark("servers_ready")
    log(f"servers ready in {ready_s:.1f} s")
    needed = (opening_users + last_users) / login_rate + 5.0
    if t0 - time.time() < needed:
        delta = float(math.ceil(time.time() + needed)) - t0
        t0, close = t0 + delta, close + delta
        with bench._pg(bench.RUN_DB) as conn:
            move_rounds(conn, round_ids, t0, close)
        forget_lottery_cache()
        log(f"T0 moved {delta:.0f} s later (servers slow to start)")

    # 4. The intake
    stop_at = close + AFTER_CLOSE_S
    plan = IntakePlan(
        t0=t0, close=close, stop_at=stop_at, month=month, slots=slots, assignments=assignments, think_s=args.think
    )

    def postpone(new_t0: float) -> bool:
        delta = new_t0 - plan.t0
        if lottery_use_month(dt.datetime.fromtimestamp(new_t0, TOKYO)) != month:
            return False
        with bench._pg(bench.RUN_DB) as conn:
            move_rounds(conn, round_ids, new_t0, plan.close + delta)
        forget_lottery_cache()
        log(f"logins slower than assumed ({plan.logins_done}/{len(assignments)}): T0 postponed {delta:.0f} s")
        return True

    log(f"logging {len(assignments)} residents in before T0, then the intake (until T_close + {AFTER_CLOSE_S:.0f} s)")
    web = stack.procs[0]
    cpu_before = bench.server_cpu_seconds(web)
    run_intake(plan, postpone=postpone)
    t0, close = plan.t0, plan.close
    drained_s, drained = bench.wait_idle(web)
    server_cpu_s = bench.server_cpu_seconds(web) - cpu_before
    timeline.mark("intake_end")
    login_seconds = max(plan.login_last - plan.login_first, 0.001)
    measured_rate = plan.logins_done / login_seconds
    log(
        f"intake done: {plan.logins_ok} logins ({measured_rate:.0f}/s), "
        f"{sum(1 for a in plan.answers if a.kind == SUCCESS and a.method == 'apply')} entries, {len(plan.samples)} requests"
    )

    # 5. Checks
    with bench._pg(bench.RUN_DB) as conn, conn.cursor() as cursor:
        results = checks.run_intake_checks(
            cursor, plan.answers, resident_ids=[a.resident_id for a in assignments], round_ids=round_ids, t0=t0
        )
        counts = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'withdrawn'), "
            "count(DISTINCT applicant) FROM lottery_lotteryentry WHERE round_id = ANY(%s)",
            [round_ids],
        ).fetchone()
        states = dict(
            conn.execute("SELECT id, state FROM lottery_lotteryround WHERE id = ANY(%s)", [round_ids]).fetchall()
        )
    timeline.mark("checks_end")
    for r in results:
        log(f"check ({r.key}) {'PASS' if r.passed else 'FAIL'}: {r.title} ({r.checked} checked, {r.violations} bad)")

    # 6. Report
    data = report.build_intake(
        profile=profile.name,
        waiting_room=args.waiting_room,
        began=began,
        t0=t0,
        close=close,
        samples=plan.samples,
        answers=plan.answers,
        checks=results,
        extra={
            "machine": bench.machine_info(machine_at_start, pg_version[0] if pg_version else None),
            "git": git,
            "servers": {
                "commands": {k: " ".join(v[1:]) for k, v in commands.items()},
                "env": {k: env[k] for k in REPORTED_ENV if k in env},
                "startup_s": round(ready_s, 1),
            },
            "template": template,
            "run": {
                "scenario": "intake",
                "month": month.isoformat(),
                "t0_epoch": t0,
                "t0_local": dt.datetime.fromtimestamp(t0, TOKYO).isoformat(),
                "close_epoch": close,
                "close_local": dt.datetime.fromtimestamp(close, TOKYO).isoformat(),
                "t0_postponed_s": round(plan.postponed_s, 1),
                "opening_s": opening_s,
                "last_phase_s": last_s,
                "after_close_s": AFTER_CLOSE_S,
                "rounds": {str(k): v for k, v in rounds.items()},
                "round_states_after": {str(k): v for k, v in states.items()},
                "lottery_rooms": int(lottery_rooms[0]) if lottery_rooms else 0,
                "opening_users": opening_users,
                "last_hour_users": last_users,
                "early_users": sum(1 for a in assignments if a.early),
                "after_close_users": sum(1 for a in assignments if a.after_close),
                "withdrawers": sum(1 for a in assignments if a.action == "withdraw"),
                "rank_changers": sum(1 for a in assignments if a.action == "rank"),
                "think_s": args.think,
                "seed": args.seed,
                "hot_slots": len(slots),
                "hot_set": [asdict(s) for s in slots[:50]],
                "resident_ids": [a.resident_id for a in assignments],
                "round_ids": round_ids,
                "login_lead_s": round(lead, 1),
                "unidentified_successes": plan.unidentified,
            },
            "timeline": {k: round(v - t0, 2) for k, v in timeline.marks.items()},
            "logins": {
                "ok": plan.logins_ok,
                "failed": len(plan.login_failures),
                "failed_samples": plan.login_failures[:10],
                "rate_per_s": round(measured_rate, 1),
                "seconds": round(login_seconds, 1),
                "done_rel_t0_s": round(plan.login_last - t0, 2),
            },
            "entries": {
                "total": int(counts[0]) if counts else 0,
                "active": int(counts[1]) if counts else 0,
                "withdrawn": int(counts[2]) if counts else 0,
                "applicants": int(counts[3]) if counts else 0,
            },
            "server_log": bench._server_log_summary(),
            "drain": {"after_intake_s": round(drained_s, 1), "drained": drained},
            "server_cpu": {
                "cpu_s": round(server_cpu_s, 1),
                "requests": len(plan.samples),
                "cpu_ms_per_request": round(1000 * server_cpu_s / len(plan.samples), 2) if plan.samples else None,
            },
            "load_generator_cpu": bench._cpu(plan.cpu),
        },
    )
    code = report.exit_code(data)
    data["meta"]["exit_code"] = code
    json_path, md_path = report.write(data, bench.RESULTS_DIR)
    log(f"report: {md_path.relative_to(bench.ROOT)} and {json_path.relative_to(bench.ROOT)}")
    for reason in data["meta"]["exit_reasons"]:
        log(f"FAIL: {reason}")
    return code
