"""Scenario (c), an ordinary day: kiosks, staff terminals and browsing residents as steady side
loads (`python -m loadtests.bench --scenario day --profile smoke|today`).

- KioskTablet (one per kiosk): activated once through the real /kiosk/activate/ page with a one-time
  code from `kiosks.services.kiosk_create` (loadtests/day_setup.py); then loops: keypad login with
  a resident card + PIN, a day's availability, sometimes (30 %) book a free slot the page offers and
  cancel it again, log out, idle.
- StaffTerminal (one per staff account, COUNTER role at one facility, confirmed TOTP device with a
  known key): /accounts/login/, /staff/2fa/verify/ with the code computed from the key
  (django_otp.oath.totp); then loops: search a resident by card number (opens their page), today's
  bookings of the facility, sometimes (10 %) a counter booking of a free slot, idle.
- ResidentBrowser (anonymous): a facility's month grid and a week grid, then a long idle.

Every request is a `loadtests.rush.Sample`; every booking/cancel answer a `DayAnswer`, checked
against the database afterwards (no double occupancy; every success exists with its channel).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import task

from loadtests import rush
from loadtests.bench import BASE_URL, REQUEST_TIMEOUT_S, ROOT
from loadtests.rush import CSRF_RE, CpuMeter, LoadUser, Sample, _form_fields, finish_in_flight

rush.EXPECTED.update(
    {
        "kiosk activate form": frozenset({200}),
        "kiosk activate POST": frozenset({302}),
        "kiosk login form": frozenset({200}),
        "kiosk login POST": frozenset({302}),
        "kiosk availability": frozenset({200}),
        "kiosk book GET": frozenset({200, 409}),
        "kiosk book POST": frozenset({302, 409}),
        "kiosk cancel GET": frozenset({200}),
        "kiosk cancel POST": frozenset({302}),
        "kiosk logout": frozenset({302}),
        "staff login form": frozenset({200}),
        "staff login POST": frozenset({302}),
        "staff 2fa form": frozenset({200}),
        "staff 2fa POST": frozenset({302}),
        "staff search": frozenset({302}),
        "staff resident": frozenset({200}),
        "staff today": frozenset({200}),
        "counter book GET": frozenset({200, 409}),
        "counter book POST": frozenset({302, 409}),
        "browse month": frozenset({200}),
        "browse week": frozenset({200}),
    }
)

KIOSK_BOOK_RE = re.compile(r'href="/kiosk/book/(\d+)/(\d{4}-\d{2}-\d{2})/(\d+)/"')
KIOSK_DONE_RE = re.compile(r"/kiosk/bookings/(\d+)/")
COUNTER_DONE_RE = re.compile(r"/staff/bookings/(\d+)/")
STAFF_RESIDENT_RE = re.compile(r"/staff/residents/(\d+)/")


@dataclass(frozen=True)
class DayProfile:
    name: str
    kiosks: int
    staff: int
    browsers: int
    seconds: float
    kiosk_idle: tuple[float, float]  # seconds between two residents at a kiosk
    staff_idle: tuple[float, float]  # seconds between two counter tasks
    browser_idle: tuple[float, float]  # seconds between two looks at the grids


# DOMAIN.md's daytime: a few hundred residents browsing at once; kiosks and counters serve one
# person every minute or two. Compressed a little so a short run sees every path.
DAY_PROFILES = {
    "smoke": DayProfile("smoke", 4, 6, 20, 30.0, (2.0, 6.0), (2.0, 6.0), (5.0, 15.0)),
    "today": DayProfile("today", 40, 91, 200, 180.0, (10.0, 40.0), (10.0, 40.0), (10.0, 30.0)),
}


@dataclass
class DayAnswer:
    actor: str  # kiosk-<id> or a staff login
    channel: str  # kiosk | counter
    method: str  # book | cancel
    kind: str  # success | refused | error
    status: int
    resident_id: int
    booking_id: int | None = None
    room_id: int | None = None
    date: str | None = None
    band_id: int | None = None
    code: str | None = None
    t: float = 0.0


@dataclass
class DayPlan:
    profile: DayProfile
    setup: dict[str, Any]
    stop_at: float
    answers: list[DayAnswer] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # activations and logins that failed
    started: Counter[str] = field(default_factory=Counter)
    ready: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    cpu: list[float] = field(default_factory=list)

    def stopping(self) -> bool:
        return time.time() >= self.stop_at


PLAN: DayPlan | None = None


class _DayUser(LoadUser):
    abstract = True
    role = ""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if PLAN is None:
            raise RuntimeError("no day plan installed (run through python -m loadtests.bench --scenario day)")
        self.plan: DayPlan = PLAN
        self.index = self.plan.started[self.role]
        self.plan.started[self.role] += 1
        self.rng = random.Random(f"{self.role}-{self.index}")
        self.ok = False

    def idle(self, bounds: tuple[float, float]) -> None:
        gevent.sleep(max(0.0, min(self.rng.uniform(*bounds), self.plan.stop_at - time.time())))

    def fail(self, what: str, resp: Any) -> None:
        self.plan.failures.append(
            {
                "role": self.role,
                "index": self.index,
                "what": what,
                "status": resp.status_code,
                "error": str(rush._exception(resp) or ""),
            }
        )

    def answer(self, channel: str, method: str, kind: str, resp: Any, resident_id: int, **extra: Any) -> None:
        self.plan.answers.append(
            DayAnswer(
                actor=f"{self.role}-{self.index}",
                channel=channel,
                method=method,
                kind=kind,
                status=resp.status_code or 0,
                resident_id=resident_id,
                t=time.time(),
                **extra,
            )
        )


def _token(resp: Any) -> str:
    match = CSRF_RE.search(resp.text or "") if resp.status_code == 200 else None
    return match.group(1) if match else ""


def _refusal_kind(resp: Any) -> tuple[str, str | None]:
    if not resp.status_code or resp.status_code >= 500:
        return "error", rush._error_code(resp)
    code, _ = rush.refusal(resp)
    return ("refused" if resp.status_code == 409 else "error"), code or rush._error_code(resp)


class KioskTablet(_DayUser):
    role = "kiosk"

    def on_start(self) -> None:
        kiosks = self.plan.setup["kiosks"]
        if self.index >= len(kiosks):
            return
        self.kiosk = kiosks[self.index]
        cards = self.plan.setup["cards"]
        self.cards = cards[self.index :: len(kiosks)] or cards
        form = self.send("GET", f"/kiosk/activate/?code={self.kiosk['code']}", "kiosk activate form", "day")
        resp = self.send(
            "POST",
            "/kiosk/activate/",
            "kiosk activate POST",
            "day",
            {"csrfmiddlewaretoken": _token(form), "code": self.kiosk["code"]},
        )
        if resp.status_code != 302:
            self.fail("activate", resp)
            return
        self.ok = True
        self.plan.ready[self.role] += 1

    @task
    def visit(self) -> None:
        if not self.ok or self.plan.stopping():
            gevent.sleep(1.0)
            return
        card = self.rng.choice(self.cards)
        form = self.send("GET", "/kiosk/login/", "kiosk login form", "day")
        data = {"csrfmiddlewaretoken": _token(form), "user_number": card["user_number"], "pin": self.plan.setup["pin"]}
        resp = self.send("POST", "/kiosk/login/", "kiosk login POST", "day", data)
        if resp.status_code != 302:
            self.fail("kiosk login", resp)
            self.idle(self.plan.profile.kiosk_idle)
            return
        today = dt.date.fromisoformat(self.plan.setup["today"])
        day = today + dt.timedelta(days=self.rng.randint(1, 14))
        page = self.send("GET", f"/kiosk/availability/?day={day.isoformat()}", "kiosk availability", "day")
        token = _token(page)
        slots = KIOSK_BOOK_RE.findall(page.text or "") if page.status_code == 200 else []
        if slots and self.rng.random() < 0.3 and not self.plan.stopping():
            token = self._book_and_cancel(card, self.rng.choice(slots)) or token
        self.send("POST", "/kiosk/logout/", "kiosk logout", "day", {"csrfmiddlewaretoken": token})
        self.idle(self.plan.profile.kiosk_idle)

    def _book_and_cancel(self, card: dict[str, Any], slot: tuple[str, str, str]) -> str:
        room, day, band = int(slot[0]), slot[1], int(slot[2])
        where = {"room_id": room, "date": day, "band_id": band}
        path = f"/kiosk/book/{room}/{day}/{band}/"
        page = self.send("GET", path, "kiosk book GET", "day")
        if page.status_code != 200:
            kind, code = _refusal_kind(page)
            self.answer("kiosk", "book", kind, page, card["resident_id"], code=code, **where)
            return ""
        resp = self.send("POST", path, "kiosk book POST", "day", {"csrfmiddlewaretoken": _token(page)})
        match = KIOSK_DONE_RE.search(str(resp.headers.get("Location", ""))) if resp.status_code == 302 else None
        if match is None:
            kind, code = _refusal_kind(resp)
            self.answer("kiosk", "book", kind, resp, card["resident_id"], code=code, **where)
            return _token(page)
        booking_id = int(match.group(1))
        self.answer("kiosk", "book", "success", resp, card["resident_id"], booking_id=booking_id, **where)
        form = self.send("GET", f"/kiosk/bookings/{booking_id}/cancel/", "kiosk cancel GET", "day")
        token = _token(form)
        resp = self.send(
            "POST", f"/kiosk/bookings/{booking_id}/cancel/", "kiosk cancel POST", "day", {"csrfmiddlewaretoken": token}
        )
        ok = resp.status_code == 302 and "cancelled=" in str(resp.headers.get("Location", ""))
        kind, code = ("success", None) if ok else _refusal_kind(resp)
        self.answer("kiosk", "cancel", kind, resp, card["resident_id"], booking_id=booking_id, code=code, **where)
        return token


class StaffTerminal(_DayUser):
    role = "staff"

    def on_start(self) -> None:
        from django_otp.oath import totp

        accounts = self.plan.setup["staff"]
        if self.index >= len(accounts):
            return
        self.account = accounts[self.index]
        form = self.send("GET", "/accounts/login/", "staff login form", "day")
        data = {
            "csrfmiddlewaretoken": _token(form),
            "username": self.account["user_number"],
            "password": self.plan.setup["staff_password"],
            "next": "/staff/",
        }
        resp = self.send("POST", "/accounts/login/", "staff login POST", "day", data)
        if resp.status_code != 302 or "/accounts/login/" in str(resp.headers.get("Location", "")):
            self.fail("staff login", resp)
            return
        form = self.send("GET", "/staff/2fa/verify/?next=/staff/", "staff 2fa form", "day")
        code = f"{totp(bytes.fromhex(self.plan.setup['totp_key_hex'])):06d}"
        resp = self.send(
            "POST",
            "/staff/2fa/verify/",
            "staff 2fa POST",
            "day",
            {"csrfmiddlewaretoken": _token(form), "code": code, "next": "/staff/"},
        )
        if resp.status_code != 302:
            self.fail("staff 2fa", resp)
            return
        self.ok = True
        self.plan.ready[self.role] += 1

    @task
    def serve(self) -> None:
        if not self.ok or self.plan.stopping():
            gevent.sleep(1.0)
            return
        card = self.rng.choice(self.plan.setup["cards"])
        resp = self.send("GET", f"/staff/?q={card['user_number']}", "staff search", "day")
        match = STAFF_RESIDENT_RE.search(str(resp.headers.get("Location", ""))) if resp.status_code == 302 else None
        if match:
            self.send("GET", f"/staff/residents/{match.group(1)}/", "staff resident", "day")
        facility_id = self.account["facility_id"]
        self.send("GET", f"/staff/facilities/{facility_id}/today/", "staff today", "day")
        free = self.plan.setup["free_slots"].get(str(facility_id)) or []
        if match and free and self.rng.random() < 0.1 and not self.plan.stopping():
            self._counter_book(card, self.rng.choice(free))
        self.idle(self.plan.profile.staff_idle)

    def _counter_book(self, card: dict[str, Any], slot: list[Any]) -> None:
        room, day, band = slot
        where = {"room_id": room, "date": day, "band_id": band}
        path = f"/staff/residents/{card['resident_id']}/book/{room}/{day}/"
        page = self.send("GET", f"{path}?bands={band}", "counter book GET", "day")
        if page.status_code != 200:
            kind, code = _refusal_kind(page)
            self.answer("counter", "book", kind, page, card["resident_id"], code=code, **where)
            return
        token, purpose = _form_fields(page.text or "")
        data = {"csrfmiddlewaretoken": token, "bands": str(band), "purpose": purpose, "attendees": "1", "group": ""}
        resp = self.send("POST", path, "counter book POST", "day", data)
        match = COUNTER_DONE_RE.search(str(resp.headers.get("Location", ""))) if resp.status_code == 302 else None
        if match is None:
            kind, code = _refusal_kind(resp)
            self.answer("counter", "book", kind, resp, card["resident_id"], code=code, **where)
            return
        self.answer("counter", "book", "success", resp, card["resident_id"], booking_id=int(match.group(1)), **where)


class ResidentBrowser(_DayUser):
    role = "browser"

    def on_start(self) -> None:
        self.ok = True
        self.idle((0.0, self.plan.profile.browser_idle[1]))  # spread the first looks

    @task
    def browse(self) -> None:
        if self.plan.stopping():
            gevent.sleep(1.0)
            return
        facility = self.rng.choice(self.plan.setup["browse_facilities"])
        today = dt.date.fromisoformat(self.plan.setup["today"])
        month = today if self.rng.random() < 0.6 else (today.replace(day=1) + dt.timedelta(days=32))
        self.send("GET", f"/facilities/{facility}/month/{month.year}/{month.month}/", "browse month", "day")
        start = today + dt.timedelta(days=self.rng.randint(0, 20))
        self.send("GET", f"/facilities/{facility}/week/{start.isoformat()}/", "browse week", "day")
        self.idle(self.plan.profile.browser_idle)


def run_day(plan: DayPlan, *, grace_s: float = REQUEST_TIMEOUT_S + 5) -> None:
    global PLAN
    PLAN = plan
    from locust.env import Environment

    p = plan.profile
    KioskTablet.fixed_count, StaffTerminal.fixed_count, ResidentBrowser.fixed_count = p.kiosks, p.staff, p.browsers
    env = Environment(user_classes=[KioskTablet, StaffTerminal, ResidentBrowser], host=BASE_URL, stop_timeout=1)
    runner = env.create_local_runner()
    try:
        runner.start(p.kiosks + p.staff + p.browsers, spawn_rate=50.0)
        with CpuMeter(plan.cpu):
            while not plan.stopping():
                gevent.sleep(0.5)
            finish_in_flight(plan, grace_s)
    finally:
        runner.quit()
        PLAN = None


# --- Checks ------------------------------------------------------------------------------------------


def check_success_answers(cursor: Any, answers: list[DayAnswer]) -> Any:
    """(d1) Every booking a kiosk or counter was told it made exists, for that resident, room, date
    and band, with that channel; every cancel told done left it cancelled."""
    from loadtests.checks import _result

    wins = [a for a in answers if a.kind == "success"]
    ids = sorted({a.booking_id for a in wins if a.booking_id is not None})
    cursor.execute(
        "SELECT r.id, r.resident_id, r.room_id, r.date, r.band_from_id, r.channel, r.state, r.cancel_channel "
        "FROM reservations_reservation r WHERE r.id = ANY(%s)",
        [ids],
    )
    rows = {row[0]: row for row in cursor.fetchall()}
    bad: list[dict[str, Any]] = []
    books = Counter(a.booking_id for a in wins if a.method == "book")
    for a in wins:
        row = rows.get(a.booking_id)
        problem = None
        if row is None:
            problem = "no such booking"
        elif (row[1], row[2], row[3].isoformat(), row[4]) != (a.resident_id, a.room_id, a.date, a.band_id):
            problem = "booking differs from what was asked"
        elif row[5] != a.channel:
            problem = f"channel {row[5]}, expected {a.channel}"
        elif a.method == "book" and books[a.booking_id] > 1:
            problem = "booking named by two success answers"
        elif a.method == "cancel" and (row[6] != "cancelled" or row[7] != a.channel):
            problem = f"cancel told done, booking state {row[6]} ({row[7] or 'no cancel channel'})"
        if problem:
            bad.append({**asdict(a), "problem": problem})
    return _result(
        "d1", "Every kiosk/counter success exists with its channel; told-cancelled ones are cancelled", len(wins), bad
    )


# --- Orchestration and report ------------------------------------------------------------------------


def run_bench(args: argparse.Namespace, profile: Any, stack: Any, log: Any, began: float) -> int:
    import redis

    from loadtests import bench, checks, report

    day_profile = DAY_PROFILES.get(profile.name)
    if day_profile is None:
        raise SystemExit(f"scenario day has the profiles {', '.join(DAY_PROFILES)}, not {profile.name}")
    machine_at_start = bench.machine_before()
    now_local = dt.datetime.now(bench.TOKYO)
    template = bench.ensure_template(profile, now_local.date().replace(day=1), fresh=args.fresh_template, log=log)
    with bench._pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {bench._quote(bench.RUN_DB)} WITH (FORCE)")
        bench._create_from_template(admin, bench.RUN_DB, profile.template)
    redis.Redis.from_url(bench.REDIS_URL, socket_timeout=5).flushdb()

    env = bench.server_env(False)
    cards = max(10, day_profile.kiosks * 5)
    out = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "loadtests.day_setup", "--kiosks", str(day_profile.kiosks), "--staff", str(day_profile.staff),
         "--cards", str(cards), "--seed", str(args.seed)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"day set-up failed:\n{out.stderr[-3000:]}")
    setup = json.loads(out.stdout)
    log(
        f"set-up: {len(setup['kiosks'])} kiosk codes, {len(setup['cards'])} cards with PINs, {len(setup['staff'])} staff"
    )

    commands = bench.server_commands(args)
    for name, cmd in commands.items():
        stack.start(name, cmd, env)
    ready_s = bench.wait_ready(stack)
    log(f"servers ready in {ready_s:.1f} s; the day runs {day_profile.seconds:.0f} s")
    web = stack.procs[0]
    cpu_before = bench.server_cpu_seconds(web)
    start = time.time()
    plan = DayPlan(profile=day_profile, setup=setup, stop_at=start + day_profile.seconds)
    run_day(plan)
    drained_s, drained = bench.wait_idle(web)
    server_cpu_s = bench.server_cpu_seconds(web) - cpu_before
    end = time.time()
    log(f"day done: {len(plan.samples)} requests, {len(plan.answers)} booking answers; drained in {drained_s:.0f} s")

    with bench._pg(bench.RUN_DB) as conn, conn.cursor() as cursor:
        results = [checks.check_no_double_occupancy(cursor), check_success_answers(cursor, plan.answers)]
    for r in results:
        log(f"check ({r.key}) {'PASS' if r.passed else 'FAIL'}: {r.title} ({r.checked} checked, {r.violations} bad)")

    by_name: dict[str, list[Sample]] = {}
    for s in plan.samples:
        by_name.setdefault(s.name, []).append(s)
    endpoints = [report.endpoint_stats(name, by_name[name], (start, end)) for name in rush.EXPECTED if name in by_name]
    errors = Counter(s.error for s in plan.samples if s.error)
    answers = Counter(f"{a.channel} {a.method} {a.kind}{' ' + a.code if a.code else ''}" for a in plan.answers)
    reasons = [f"check ({r.key}) failed: {r.title}" for r in results if not r.passed]
    reasons += [f"{n} {kind} answers" for kind, n in errors.items()]
    if plan.failures:
        reasons.append(f"{len(plan.failures)} activations or logins failed")
    for role, wanted in (("kiosk", day_profile.kiosks), ("staff", day_profile.staff)):
        if plan.ready[role] < wanted:
            reasons.append(f"only {plan.ready[role]} of {wanted} {role} users got going")
    if not any(a.kind == "success" and a.channel == "kiosk" for a in plan.answers):
        reasons.append("no kiosk booking succeeded (harness or server broken)")
    data = {
        "meta": {
            "scenario": "day",
            "profile": profile.name,
            "started_utc": dt.datetime.fromtimestamp(began, dt.UTC).isoformat(),
            "exit_reasons": reasons,
            "exit_code": 1 if reasons else 0,
        },
        "profile": asdict(day_profile),
        "machine": bench.machine_info(machine_at_start),
        "git": bench.git_state(),
        "template": template,
        "servers": {"commands": {k: " ".join(v[1:]) for k, v in commands.items()}, "startup_s": round(ready_s, 1)},
        "run": {"seconds": round(end - start, 1), "requests": len(plan.samples), "rps": round(len(plan.samples) / max(end - start, 1e-9), 1)},
        "users": {"ready": dict(plan.ready), "failures": plan.failures[:20]},
        "endpoints": endpoints,
        "errors": {"by_kind": dict(errors), "samples": [s._asdict() for s in plan.samples if s.error][:10]},
        "answers": dict(sorted(answers.items())),
        "answer_list": [asdict(a) for a in plan.answers],
        "checks": [r.to_dict() for r in results],
        "server_log": bench._server_log_summary(),
        "drain": {"after_s": round(drained_s, 1), "drained": drained},
        "server_cpu": {"cpu_s": round(server_cpu_s, 1), "cpu_ms_per_request": round(1000 * server_cpu_s / len(plan.samples), 2) if plan.samples else None},
        "load_generator_cpu": bench._cpu(plan.cpu),
    }  # fmt: skip
    json_path, md_path = write(data, bench.RESULTS_DIR)
    log(f"report: {md_path.relative_to(bench.ROOT)} and {json_path.relative_to(bench.ROOT)}")
    for reason in reasons:
        log(f"FAIL: {reason}")
    return 1 if reasons else 0


def render_markdown(data: dict[str, Any]) -> str:
    from loadtests.report import _endpoints_and_errors, _table

    meta, run, machine = data["meta"], data["run"], data["machine"]
    p = data["profile"]
    lines = [
        f"# Scenario (c), an ordinary day: {meta['profile']} ({meta['started_utc']})",
        "",
        f"**Result: {'PASS' if not meta['exit_reasons'] else 'FAIL'}**"
        + "".join(f"\n- {r}" for r in meta["exit_reasons"]),
        "",
        f"- users: {p['kiosks']} kiosks, {p['staff']} staff terminals, {p['browsers']} browsing residents; "
        f"ready: {data['users']['ready']}",
        f"- {run['seconds']} s, {run['requests']} requests ({run['rps']} req/s); web server CPU "
        f"{data['server_cpu']['cpu_s']} s ({data['server_cpu']['cpu_ms_per_request']} ms/request); "
        f"load generator CPU {data['load_generator_cpu']}",
        f"- machine: {machine['nproc']} cores, load {machine['loadavg_before']} → {machine['loadavg_after']}; "
        f"commit {data['git']['commit'][:10]}",
        "",
        "## Endpoints (ms)",
        "",
        *_endpoints_and_errors(
            {"endpoints": [{**e, "phase": "day"} for e in data["endpoints"]], "errors": data["errors"]}
        ),
        "## Booking answers",
        "",
        *_table(["answer", "count"], data["answers"].items()),
        "",
        "## Correctness checks",
        "",
        *_table(
            ["check", "result", "checked", "violations", "title"],
            [
                [c["key"], "PASS" if c["passed"] else "FAIL", c["checked"], c["violations"], c["title"]]
                for c in data["checks"]
            ],
        ),
        "",
    ]
    for c in data["checks"]:
        lines += [f"- ({c['key']}) `{json.dumps(s, ensure_ascii=False)}`" for s in c["samples"]]
    return "\n".join(lines) + "\n"


def write(data: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    import shutil

    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.fromisoformat(data["meta"]["started_utc"]).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"day-{data['meta']['profile']}"
    json_path = results_dir / f"{stamp}-{suffix}.json"
    md_path = results_dir / f"{stamp}-{suffix}.md"
    json_path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str), encoding="utf-8")
    md_path.write_text(render_markdown(data), encoding="utf-8")
    shutil.copyfile(json_path, results_dir / f"latest-{suffix}.json")
    shutil.copyfile(md_path, results_dir / f"latest-{suffix}.md")
    return json_path, md_path
