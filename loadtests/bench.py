"""The rush benchmark orchestrator: `python -m loadtests.bench --profile smoke|today|growth|stress`.

It starts the production stack on 127.0.0.1 (uWSGI with config/uwsgi.ini, daphne, Celery worker
and beat, on the running PostgreSQL and Redis), opens first-come booking for next month at T0 on the
server's own clock, logs the simulated residents in before T0, releases them at T0 (scenario (a),
see loadtests/rush.py), measures the machine's ceiling with the bare endpoints in the same run, checks
the answers against the database (loadtests/checks.py), and writes the report (loadtests/report.py).
Everything it starts it stops, in a `finally`, process group by process group, also on Ctrl-C.

Locust runs as a library, in this process (one local runner; geventhttpclient users). This module
keeps its top level free of gevent, locust and psycopg so that the planning helpers (hot set, Zipf
picker, residents) import cleanly in the unit tests; `main()` imports locust (which monkey-patches)
first thing.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hashlib
import json
import math
import os
import platform
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import subprocess

    import psycopg

    from loadtests.checks import Answer, CheckResult, Cursor
    from loadtests.rush import QueueStats, RushPlan, Sample

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "loadtests" / "results"
TMP_DIR = RESULTS_DIR / "tmp"
CALIBRATION = TMP_DIR / "calibration.json"
TOKYO = ZoneInfo("Asia/Tokyo")

HOST = "127.0.0.1"
WEB_PORT = 8200
WS_PORT = 8201
BASE_URL = f"http://{HOST}:{WEB_PORT}"
PG_URL = "postgresql://postgres@127.0.0.1:5432"
ADMIN_DATABASE_URL = f"{PG_URL}/postgres"
RUN_DB = "shisetsu_bench"
RUN_DATABASE_URL = f"{PG_URL}/{RUN_DB}"
REDIS_URL = "redis://127.0.0.1:6379/3"
SECRET_KEY = "bench-only-secret-not-for-production"  # the benchmark's own throwaway key
DEMO_PASSWORD = "demo-pass-2026"  # reservations/demo.py's published demo password
DEMO_LOGINS = ("10000001", "10000002")  # the demo logins people try by hand: never simulated
SEED = 1

HOT_KINDS = ("community", "sports", "academy")
HOT_SET_SIZE = 400
ZIPF_S = 1.1
HAMMERER_SHARE = 0.05
HAMMERER_RETRY_S = 0.1
MAX_TRIES = 6
# A person's pause before each click after the grid (choosing a slot, filling the form, reading a
# "taken" page): U(0.5, 1.5) x this mean. 2 s makes 2,600 residents offer at most ~1,300 req/s,
# RUSH.md's burst for growth (3x its ~430 req/s minute average of ~10 requests each). Hammerers
# pause too: what sets them apart is refreshing every 100 ms while they wait (the fairness target);
# --think 0 makes everyone a closed loop as fast as the server answers (the runs of sessions 1-3).
THINK_S = 2.0
ARRIVAL_WINDOW_S = 10.0
REQUEST_TIMEOUT_S = 10.0
LOGIN_CONCURRENCY = 32  # logins in flight at once before T0: fast, without drowning the workers
DEFAULT_LOGIN_RATE = 150.0  # logins/s assumed until a run has measured it
MAX_POSTPONE_S = 120.0  # T0 moves at most this much later when the logins are slower than assumed
READY_DEADLINE_S = 60.0
CEILING_USERS = 64
CEILING_SECONDS = 12.0
# The server environment each report records (the waiting room's rate and window when set).
REPORTED_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "WAITING_ROOM",
    "WAITING_ROOM_ADMIT_PER_SECOND",
    "WAITING_ROOM_ARRIVAL_SECONDS",
)


@dataclass(frozen=True)
class Profile:
    name: str
    users: int
    residents: int  # seeded into the template
    template: str
    rush_cap_s: float  # the scenario ends this long after T0


PROFILES = {
    "smoke": Profile("smoke", 50, 2000, "shisetsu_bench_template_smoke", 20.0),
    "today": Profile("today", 1100, 15000, "shisetsu_bench_template", 120.0),
    "growth": Profile("growth", 2600, 15000, "shisetsu_bench_template", 120.0),
    "stress": Profile("stress", 5200, 15000, "shisetsu_bench_template", 120.0),
}

# RUSH.md's sizing, for the report.
SIZING = {"today": (180, 550), "growth": (430, 1300), "stress": (870, 2600)}


# --- Planning: pure helpers (unit-tested in tests/loadtests) ---------------------------------------


@dataclass(frozen=True)
class HotSlot:
    """One candidate slot of the hot set: a free (room, date, band) of the use month."""

    rank: int  # 1 = hottest
    room_id: int
    facility_id: int
    date: str  # ISO
    band_id: int
    capacity: int
    score: float


@dataclass(frozen=True)
class Assignment:
    """One simulated resident: who, when they arrive relative to T0, how many bookings they want."""

    index: int
    resident_id: int
    user_number: str
    arrival_offset: float  # seconds after T0 (negative: a hammerer already waiting on the page)
    hammerer: bool
    wants: int
    seed: int
    password: str = DEMO_PASSWORD


class ZipfPicker:
    """Draws ranks 1..n (as indices 0..n-1) with weight 1/rank^s, skipping excluded indices."""

    def __init__(self, n: int, s: float = ZIPF_S) -> None:
        self.n = n
        self.s = s
        self.weights = [1.0 / (rank**s) for rank in range(1, n + 1)]
        self.cumulative: list[float] = []
        total = 0.0
        for w in self.weights:
            total += w
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random, exclude: set[int] | frozenset[int] = frozenset()) -> int | None:
        if self.n == 0 or len(exclude) >= self.n:
            return None
        for _ in range(32):  # rejection sampling: cheap while most of the set is still open
            index = bisect.bisect_left(self.cumulative, rng.random() * self.total)
            index = min(index, self.n - 1)
            if index not in exclude:
                return index
        # Most are excluded: draw among the rest directly.
        rest = [i for i in range(self.n) if i not in exclude]
        if not rest:
            return None
        return rng.choices(rest, weights=[self.weights[i] for i in rest])[0]


def think_pause(rng: random.Random, think_s: float) -> float:
    """A person's pause before a click: U(0.5, 1.5) x think_s (none with think_s 0)."""
    if think_s <= 0:
        return 0.0
    return rng.uniform(0.5, 1.5) * think_s


def slot_score(starts_at: dt.time, day: dt.date, capacity: int, *, holiday: bool) -> float:
    """How wanted a slot is: evenings over afternoons over mornings, weekends and holidays, big rooms."""
    if starts_at >= dt.time(18, 0):
        band = 3.0
    elif starts_at >= dt.time(13, 0):
        band = 1.5
    else:
        band = 0.5
    return band + (2.0 if holiday else 0.0) + 0.5 * math.log2(max(capacity, 1))


HOT_SET_SQL = """
WITH days AS (SELECT d::date AS day FROM generate_series(%s::date, %s::date, interval '1 day') AS d)
SELECT r.id, r.facility_id, r.capacity, b.id, b.starts_at, days.day
FROM reservations_room r
JOIN reservations_facility f ON f.id = r.facility_id
JOIN reservations_timeband b ON b.facility_id = f.id
CROSS JOIN days
WHERE r.is_active AND f.is_active AND f.kind = ANY(%s)
  AND EXISTS (SELECT 1 FROM reservations_room_units ru0 WHERE ru0.room_id = r.id)
  AND NOT EXISTS (
      SELECT 1 FROM reservations_room_units ru
      JOIN reservations_occupancy o ON o.unit_id = ru.roomunit_id
      WHERE ru.room_id = r.id AND o.date = days.day AND o.band_id = b.id)
  AND NOT EXISTS (
      SELECT 1 FROM reservations_closure c
      WHERE c.facility_id = f.id AND c.date = days.day AND (c.room_id IS NULL OR c.room_id = r.id))
"""


def build_hot_set(
    cursor: Cursor,
    month: dt.date,
    *,
    size: int = HOT_SET_SIZE,
    seed: int = SEED,
    kinds: Sequence[str] = HOT_KINDS,
    not_before: dt.date | None = None,
) -> list[HotSlot]:
    """The `size` most wanted free, unclosed slots of `month`, ranked by `slot_score` (ties broken
    by a seeded draw): the candidates the residents' Zipf draws pick from."""
    from reservations.domain import is_holiday

    first = month.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    if not_before is not None and not_before > first:
        first = not_before
    cursor.execute(HOT_SET_SQL, [first, last, list(kinds)])
    rows = cursor.fetchall()
    rng = random.Random(seed)
    scored = []
    for room_id, facility_id, capacity, band_id, starts_at, day in sorted(rows):
        score = slot_score(starts_at, day, capacity, holiday=is_holiday(day))
        scored.append((-score, rng.random(), room_id, facility_id, capacity, band_id, day, score))
    scored.sort()
    return [
        HotSlot(rank, room_id, facility_id, day.isoformat(), band_id, capacity, round(score, 3))
        for rank, (_, _, room_id, facility_id, capacity, band_id, day, score) in enumerate(scored[:size], start=1)
    ]


RESIDENTS_SQL = """
SELECT r.id, u.user_number
FROM reservations_resident r
JOIN reservations_user u ON u.id = r.user_id
WHERE r.status = 'active' AND u.is_active AND NOT (u.user_number = ANY(%s))
  AND NOT EXISTS (SELECT 1 FROM reservations_reservation x WHERE x.resident_id = r.id)
ORDER BY r.id
"""


def select_residents(cursor: Cursor, count: int, *, seed: int = SEED) -> list[tuple[int, str]]:
    """`count` distinct active residents without bookings (never the two demo logins)."""
    cursor.execute(RESIDENTS_SQL, [list(DEMO_LOGINS)])
    rows = [(int(r[0]), str(r[1])) for r in cursor.fetchall()]
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} active residents without bookings; the profile needs {count}")
    return sorted(random.Random(seed).sample(rows, count))


def make_assignments(
    residents: Sequence[tuple[int, str]],
    *,
    seed: int = SEED,
    arrival_window_s: float = ARRIVAL_WINDOW_S,
    hammerer_share: float = HAMMERER_SHARE,
    gated: bool = True,
) -> list[Assignment]:
    """Arrival T0 + U(0, window), 1-3 wanted bookings; hammerers wait on the page from 1-2 s before
    T0 when the server gates the opening (else they are simply first, in the first 0.2 s)."""
    rng = random.Random(seed * 31 + 7)
    n = len(residents)
    hammerers = set(rng.sample(range(n), max(1, round(n * hammerer_share)))) if n else set()
    out = []
    for i, (resident_id, user_number) in enumerate(residents):
        arrival = rng.uniform(0.0, arrival_window_s)
        early = rng.uniform(1.0, 2.0)
        wants = rng.choice([1, 2, 3])
        user_seed = rng.getrandbits(32)
        hammerer = i in hammerers
        if hammerer:
            arrival = -early if gated else early / 10
        out.append(Assignment(i, resident_id, user_number, round(arrival, 3), hammerer, wants, user_seed))
    return out


def use_month(t0_local: dt.datetime) -> dt.date:
    """The use month M whose opening is simulated: the month after T0's (Tokyo) date."""
    first = t0_local.date().replace(day=1)
    return (first + dt.timedelta(days=32)).replace(day=1)


def window_settings(t0_local: dt.datetime) -> tuple[int, dt.time, bool]:
    """(opens_day, opens_time, gated) for FacilityGroup so that M opens at T0 on the server.

    The column allows days 1-28; after the 28th the window is set to day 28 (already open) and only
    the harness's own T0 gates the residents."""
    opens_time = t0_local.time().replace(microsecond=0)
    if t0_local.day <= 28:
        return t0_local.day, opens_time, True
    return 28, opens_time, False


def login_lead(users: int, login_rate: float) -> float:
    """Seconds from now to T0: ~30 s for the servers to start, plus the logins at the measured rate."""
    return 30.0 + users / login_rate


# --- Database ----------------------------------------------------------------------------------------


def _pg(dbname: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(f"{PG_URL}/{dbname}", autocommit=autocommit, connect_timeout=5)


def _git_blob_hash(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def template_fingerprint(profile: Profile, month: dt.date) -> str:
    """Changes when the demo data would: demo.py, seed_demo, any migration, the seed, the size, the
    start month (the demo data is laid out from the current month)."""
    from importlib.metadata import version

    files = [ROOT / "reservations" / "demo.py", ROOT / "reservations" / "management" / "commands" / "seed_demo.py"]
    for app in ("reservations", "lottery", "payments", "kiosks"):
        files += sorted((ROOT / app / "migrations").glob("*.py"))
    parts = [f"{p.relative_to(ROOT)}:{_git_blob_hash(p)}" for p in files if p.exists()]
    parts += [f"seed={SEED}", f"residents={profile.residents}", f"month={month:%Y-%m}", f"django={version('Django')}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _db_exists(admin: psycopg.Connection[Any], name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _template_fingerprint_stored(name: str) -> str | None:
    import psycopg

    try:
        with _pg(name) as conn:
            row = conn.execute("SELECT value FROM bench_template_meta WHERE key = 'fingerprint'").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(name)
    return f'"{name}"'


def _create_from_template(admin: psycopg.Connection[Any], name: str, template: str) -> None:
    """CREATE DATABASE … TEMPLATE fails while anyone is connected to the template: retry briefly."""
    import psycopg

    deadline = time.monotonic() + 20
    while True:
        try:
            admin.execute(f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)}")
            return
        except psycopg.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# --- Processes ---------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    cmd: list[str]
    popen: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path


@dataclass
class Stack:
    """The processes this run started; `stop_all` ends each whole process group."""

    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Proc:
        import subprocess

        log_path = TMP_DIR / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(  # noqa: S603 - our own argv
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc = Proc(name, cmd, popen, log, log_path)
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                tail = p.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{tail}")

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            if p.popen.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in reversed(self.procs):
            while p.popen.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if p.popen.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait(timeout=5)
            else:
                # the group may still hold children (the WSGI server's workers, celery's pool)
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
            p.log.close()
        self.procs.clear()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _http_status(path: str) -> int:
    import http.client

    conn = http.client.HTTPConnection(HOST, WEB_PORT, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def wait_ready(stack: Stack, deadline_s: float = READY_DEADLINE_S) -> float:
    """Until GET / answers 200 and daphne accepts connections; the seconds it took."""
    began = time.monotonic()
    deadline = began + deadline_s
    web = ws = False
    while time.monotonic() < deadline:
        stack.check_alive()
        web = web or _http_status("/") == 200
        ws = ws or _port_open(WS_PORT)
        if web and ws:
            return time.monotonic() - began
        time.sleep(0.25)
    raise RuntimeError(f"servers not ready after {deadline_s:.0f} s (web={web}, websocket={ws})")


def server_cpu_seconds(proc: Proc) -> float:
    """CPU seconds used so far by a server's whole process tree (the WSGI server: master and workers)."""
    import psutil

    try:
        root = psutil.Process(proc.popen.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            with suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total
    except psutil.Error:
        return 0.0


def wait_idle(proc: Proc, *, deadline_s: float = 180.0, busy_pct: float = 15.0) -> tuple[float, bool]:
    """Wait until the web server has worked off its backlog: under overload it keeps answering
    requests whose clients timed out long ago (and may still commit their bookings). Idle = its
    process tree under `busy_pct` % of one core for 2 s in a row and GET / answering. Returns
    (seconds waited, drained)."""
    began = time.monotonic()
    quiet = 0
    last = server_cpu_seconds(proc)
    while time.monotonic() - began < deadline_s:
        time.sleep(1.0)
        now = server_cpu_seconds(proc)
        quiet = quiet + 1 if (now - last) * 100 < busy_pct else 0
        last = now
        if quiet >= 2 and _http_status("/") == 200:
            return time.monotonic() - began, True
    return time.monotonic() - began, False


def waiting_room_span_s(users: int) -> float:
    """Seconds from the opening until the waiting room has let `users` in: nobody before the
    arrival window ends, then admit_per_second (the server's settings, as the environment sets
    them for the run; defaults in config/settings/base.py)."""
    from reservations.domain import WaitingRoomRules

    defaults = WaitingRoomRules()
    arrival = float(os.environ.get("WAITING_ROOM_ARRIVAL_SECONDS", defaults.arrival_seconds))
    admit = float(os.environ.get("WAITING_ROOM_ADMIT_PER_SECOND", defaults.admit_per_second))
    return arrival + users / admit


def server_env(waiting_room: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.bench",
        DATABASE_URL=RUN_DATABASE_URL,
        SECRET_KEY=SECRET_KEY,
        REDIS_URL=REDIS_URL,
        WAITING_ROOM="on" if waiting_room else "off",
        PYTHONUNBUFFERED="1",
    )
    return env


def uwsgi_command(address: str, *, processes: int, threads: int, module: str = "config.wsgi:application") -> list[str]:
    """uWSGI as production starts it (config/uwsgi.ini), on `address` with the given workers; the
    benchmark, the chaos tests and the server tests append their own options."""
    return [
        str(Path(sys.executable).with_name("uwsgi")), "--ini", str(ROOT / "config" / "uwsgi.ini"),
        "--module", module, "--http-socket", address, "--processes", str(processes), "--threads", str(threads),
    ]  # fmt: skip


def web_command(args: argparse.Namespace) -> list[str]:
    """The WSGI server: uWSGI with production's config/uwsgi.ini, or for comparison gunicorn or
    granian with the same workers and threads (`--server`)."""
    py = sys.executable
    if args.server == "uwsgi":
        return [
            *uwsgi_command(f"{HOST}:{WEB_PORT}", processes=args.workers, threads=args.threads),
            "--listen", str(args.backlog), "--disable-logging", "--logto", str(TMP_DIR / "uwsgi.log"),
        ]  # fmt: skip
    if args.server == "granian":
        return [
            py, "-m", "granian", "--interface", "wsgi", "config.wsgi:application",
            "--host", HOST, "--port", str(WEB_PORT), "--workers", str(args.workers),
            "--blocking-threads", str(args.threads), "--backlog", str(args.backlog),
            "--backpressure", str(args.backpressure),
            "--http", "1", "--no-ws", "--log-level", "warning",
        ]  # fmt: skip
    gunicorn = [
        py, "-m", "gunicorn", "config.wsgi",
        "-b", f"{HOST}:{WEB_PORT}",
        "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
        "--keep-alive", str(args.keep_alive), "--backlog", str(args.backlog), "--timeout", "30",
        "--error-logfile", str(TMP_DIR / "gunicorn-error.log"), "--log-level", "warning",
    ]  # fmt: skip
    if args.worker_connections:
        gunicorn += ["--worker-connections", str(args.worker_connections)]
    return gunicorn


def server_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "web": web_command(args),
        "daphne": [py, "-m", "daphne", "-b", HOST, "-p", str(WS_PORT), "config.asgi:application"],
        "celery-worker": [py, "-m", "celery", "-A", "config", "worker", "-c", "1", "--loglevel", "WARNING"],
        "celery-beat": [
            py,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "WARNING",
            "-s",
            str(TMP_DIR / "celerybeat-schedule"),
            f"--pidfile={TMP_DIR / 'celerybeat.pid'}",
        ],
    }


def _git(*argv: str) -> str:
    import subprocess

    try:
        out = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603, S607
    except OSError:
        return ""
    return out.stdout.rstrip()


def git_state() -> dict[str, Any]:
    """The commit the servers load, and what differs from it (results files aside)."""
    dirty = [
        line[3:]
        for line in _git("status", "--porcelain", "--untracked-files=all").splitlines()
        if not line[3:].startswith("loadtests/results/")
    ]
    return {"commit": _git("rev-parse", "HEAD"), "dirty": bool(dirty), "dirty_files": dirty[:50]}


def listen_overflows() -> int | None:
    """How many connection attempts the kernel has dropped so far because a listen queue was full
    (TcpExtListenOverflows of this network namespace), or None where /proc/net/netstat lacks it.
    A dropped attempt is retried by the client's TCP after 1 s, 3 s, 7 s…: a full queue shows up
    as answers seconds late, or as timeouts."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        if head.startswith("TcpExt:"):
            counters = dict(zip(head.split()[1:], values.split()[1:], strict=False))
            return int(counters["ListenOverflows"]) if "ListenOverflows" in counters else None
    return None


@dataclass(frozen=True)
class MachineBefore:
    """The machine as a run starts: its load, and the kernel's listen-queue drops so far."""

    load: tuple[float, ...]
    listen_overflows: int | None


def machine_before() -> MachineBefore:
    return MachineBefore(os.getloadavg(), listen_overflows())


def machine_info(before: MachineBefore, postgres: str | None = None) -> dict[str, Any]:
    """What a report says of the machine: cores, load before and now, versions, and the connection
    attempts dropped on a full listen queue since `before`."""
    overflows = listen_overflows()
    return {
        "nproc": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in before.load],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "postgres": postgres,
        "platform": platform.platform(),
        "listen_overflows": (
            None if overflows is None or before.listen_overflows is None else overflows - before.listen_overflows
        ),
    }


# --- The run -----------------------------------------------------------------------------------------


@dataclass
class Timeline:
    """Epoch seconds of the run's milestones (for the report)."""

    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()


def _load_calibration() -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(CALIBRATION.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_calibration(values: dict[str, float]) -> None:
    data = _load_calibration()
    data.update(values)
    CALIBRATION.write_text(json.dumps(data, indent=2))


def ensure_template(profile: Profile, month: dt.date, *, fresh: bool, log: Any) -> dict[str, Any]:
    """Build the template database once (migrate + seed_demo) and again when its inputs changed."""
    import subprocess

    name = profile.template
    fingerprint = template_fingerprint(profile, month)
    with _pg("postgres") as admin:
        exists = _db_exists(admin, name)
    stored = _template_fingerprint_stored(name) if exists else None
    if exists and not fresh and stored == fingerprint:
        return {"name": name, "rebuilt": False, "fingerprint": fingerprint, "residents": profile.residents}
    reason = "--fresh-template" if fresh else "missing" if not exists else "inputs changed"
    log(f"building template {name} ({reason}): migrate + seed_demo --residents {profile.residents}")
    began = time.monotonic()
    building = f"{name}_building"
    with _pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_quote(building)} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {_quote(building)}")
    env = server_env(False)
    env["DATABASE_URL"] = f"{PG_URL}/{building}"
    build_log = TMP_DIR / "template-build.log"
    with build_log.open("wb") as out:
        for argv in (
            ["migrate", "--noinput"],
            [
                "seed_demo",
                "--seed",
                str(SEED),
                "--residents",
                str(profile.residents),
                "--start-month",
                f"{month:%Y-%m}",
            ],
        ):
            done = subprocess.run(  # noqa: S603 - our own argv
                [sys.executable, "manage.py", *argv],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"manage.py {argv[0]} failed; see {build_log}")
    with _pg(building) as conn:
        conn.execute("CREATE TABLE bench_template_meta (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute(
            "INSERT INTO bench_template_meta VALUES ('fingerprint', %s), ('built_at', %s), ('residents', %s)",
            [fingerprint, dt.datetime.now(dt.UTC).isoformat(), str(profile.residents)],
        )
    with _pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        admin.execute(f"ALTER DATABASE {_quote(building)} RENAME TO {_quote(name)}")
    seconds = time.monotonic() - began
    log(f"template {name} built in {seconds:.1f} s")
    return {
        "name": name,
        "rebuilt": True,
        "reason": reason,
        "seconds": round(seconds, 1),
        "fingerprint": fingerprint,
        "residents": profile.residents,
    }


def set_opening(conn: psycopg.Connection[Any], t0: float) -> tuple[dt.date, bool, str]:
    """Open first-come booking for M at T0 on the server: every facility group opens 1 month before
    on T0's day at T0's time. Returns (M, gated, note)."""
    t0_local = dt.datetime.fromtimestamp(t0, TOKYO)
    month = use_month(t0_local)
    day, opens_time, gated = window_settings(t0_local)
    conn.execute(
        "UPDATE reservations_facilitygroup SET first_come_opens_months_before = 1, "
        "first_come_opens_day = %s, first_come_opens_time = %s",
        [day, opens_time],
    )
    note = (
        f"server opens {month:%Y-%m} at {t0_local:%Y-%m-%d %H:%M:%S} JST (day {day})"
        if gated
        else f"today is day {t0_local.day} > 28: opens_day set to 28, the window is already open; "
        "only the harness's T0 gates the residents"
    )
    return month, gated, note


def hot_set_status(conn: psycopg.Connection[Any], hot: Sequence[HotSlot], t0: float) -> dict[str, Any]:
    """Which hot slots are taken, and when each went (its first holder's booking time)."""
    rows = conn.execute(
        """
        WITH h AS (SELECT * FROM unnest(%s::int[], %s::int[], %s::date[], %s::int[]) AS t(idx, room_id, day, band_id))
        SELECT h.idx, min(extract(epoch FROM r.created_at))::float8, bool_or(o.closure_id IS NOT NULL)
        FROM h
        JOIN reservations_room_units ru ON ru.room_id = h.room_id
        JOIN reservations_occupancy o ON o.unit_id = ru.roomunit_id AND o.date = h.day AND o.band_id = h.band_id
        LEFT JOIN reservations_reservation r ON r.id = o.reservation_id
        GROUP BY h.idx
        """,
        [
            [s.rank for s in hot],
            [s.room_id for s in hot],
            [dt.date.fromisoformat(s.date) for s in hot],
            [s.band_id for s in hot],
        ],
    ).fetchall()
    went = sorted(float(r[1]) - t0 for r in rows if r[1] is not None)
    taken = len(rows)
    size = len(hot)

    def quantile(share: float) -> float | None:
        need = math.ceil(size * share)
        return round(went[need - 1], 2) if need and len(went) >= need else None

    return {
        "size": size,
        "taken": taken,
        "remaining": size - taken,
        "gone": taken == size,
        "gone_after_s": round(went[-1], 2) if taken == size and went else None,
        "half_gone_after_s": quantile(0.5),
        "ninety_gone_after_s": quantile(0.9),
        "taken_by_closure": sum(1 for r in rows if r[2]),
    }


def fairness(answers: Sequence[Answer], assignments: Sequence[Assignment]) -> dict[str, Any]:
    """Hot-slot wins in the rush: do the hammerers win more than their share of the crowd?"""
    hammerers = {a.resident_id for a in assignments if a.hammerer}
    wins = [a for a in answers if a.phase == "rush" and a.kind == "success"]
    theirs = sum(1 for a in wins if a.resident_id in hammerers)
    share_users = len(hammerers) / len(assignments) if assignments else 0.0
    share_wins = theirs / len(wins) if wins else 0.0
    winners = {a.resident_id for a in wins}
    return {
        "hammerers": len(hammerers),
        "users": len(assignments),
        "share_of_users": round(share_users, 4),
        "hot_wins": len(wins),
        "hammerer_wins": theirs,
        "share_of_wins": round(share_wins, 4),
        "advantage": round(share_wins / share_users, 2) if share_users else None,
        "hammerers_with_a_win": sum(1 for r in hammerers if r in winners),
        "others_with_a_win": len(winners - hammerers),
    }


ADMISSION_FIRST = (50, 100, 200, 400)


def admission_order(queue: QueueStats, assignments: Sequence[Assignment]) -> dict[str, Any]:
    """Where an edge at the waiting room would show: the hammerers' share among the first k
    residents in the order the room promised (their places) and in the order they were let in,
    and how late each group came after its promised instant (the last queued answer's arrival +
    X-Retry-After-Ms, on this machine's clock). Empty without the room."""
    from loadtests.report import _r, percentile

    hammerers = {a.index for a in assignments if a.hammerer}
    both = [i for i in queue.admitted if i in queue.promised]
    if not both:
        return {}
    by_promise = sorted(both, key=lambda i: queue.promised[i])
    by_admission = sorted(both, key=lambda i: queue.admitted[i])

    def share(order: list[int], k: int) -> int:
        return sum(1 for i in order[:k] if i in hammerers)

    def lateness(group: list[int]) -> dict[str, float | None]:
        late = [queue.admitted[i] - queue.promised[i] for i in group]
        return {"residents": len(late), "p50_s": _r(percentile(late, 50), 3), "p95_s": _r(percentile(late, 95), 3)}

    # Their mean place as a fraction of the line (0 = first, 1 = last): 0.5 by chance, with a
    # standard deviation of sqrt(1/12/m) for m hammerers drawn at random.
    mine = [n for n, i in enumerate(by_promise) if i in hammerers]
    mean_place = sum(mine) / len(mine) / max(1, len(by_promise) - 1) if mine else None
    return {
        "hammerers_mean_place": _r(mean_place, 3),
        "hammerers_mean_place_sd": round(math.sqrt(1 / 12 / len(mine)), 3) if mine else None,
        "first": [
            {"k": k, "by_promise": share(by_promise, k), "by_admission": share(by_admission, k)}
            for k in ADMISSION_FIRST
            if k <= len(both)
        ],
        "late_hammerers": lateness([i for i in both if i in hammerers]),
        "late_others": lateness([i for i in both if i not in hammerers]),
    }


def _server_log_summary() -> dict[str, Any]:
    tracebacks = 0
    errors = 0
    samples: list[str] = []
    for path in sorted(TMP_DIR.glob("*.log")):
        if path.name == "template-build.log":
            continue
        lines = path.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                tracebacks += 1
                if len(samples) < 3:
                    samples.append(f"{path.name}: " + " | ".join(lines[max(0, i - 2) : i + 14]))
            elif " ERROR" in line or "[ERROR]" in line or line.startswith("ERROR"):
                errors += 1
                if len(samples) < 3:
                    samples.append(f"{path.name}: {line}")
    return {"tracebacks": tracebacks, "error_lines": errors, "samples": samples}


def _cpu(values: Sequence[float]) -> dict[str, float | None]:
    """The load generator's CPU (% of one core, one sample a second)."""
    return {
        "max": round(max(values), 1) if values else None,
        "mean": round(sum(values) / len(values), 1) if values else None,
    }


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run through the `finally` that stops the servers (SIGINT too when
    this was started in the background, where the shell ignores it)."""

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, terminate),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description="The 09:00 rush benchmark.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="growth")
    parser.add_argument(
        "--scenario",
        choices=["rush", "intake", "day"],
        default="rush",
        help="rush: (a) the first-come opening; intake: (b) the lottery intake opening and its close; "
        "day: (c) an ordinary day (kiosks, staff terminals, browsing residents; profiles smoke, today)",
    )
    parser.add_argument("--waiting-room", action="store_true", help="start the web server with WAITING_ROOM=on")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the run database {RUN_DB} afterwards")
    parser.add_argument("--fresh-template", action="store_true", help="rebuild the template database")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep-alive", type=int, default=5)
    parser.add_argument(
        "--backlog",
        type=int,
        default=4096,
        help="the listen queue (config/uwsgi.ini's listen; at most net.core.somaxconn)",
    )
    parser.add_argument(
        "--server",
        choices=["uwsgi", "gunicorn", "granian"],
        default="uwsgi",
        help="the WSGI server: uwsgi as in production (config/uwsgi.ini); gunicorn (gthread) and granian "
        "for comparison, see docs/performance.md",
    )
    parser.add_argument(
        "--backpressure", type=int, default=4096, help="granian's, per worker: above the crowd's open connections"
    )
    parser.add_argument("--worker-connections", type=int, default=0, help="gunicorn's; 0 = its default (1000)")
    parser.add_argument("--ceiling-seconds", type=float, default=CEILING_SECONDS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--think",
        type=float,
        default=THINK_S,
        help=f"residents' mean pause before each click after the grid, seconds (default {THINK_S}; 0 = none)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    # gevent's default resolver hands every name lookup to a thread pool; the load generator
    # connects to a literal 127.0.0.1, so that was pure overhead on the machine under test (about a
    # quarter of the load generator's Python time at the opening, when the crowd reconnects at once).
    os.environ.setdefault("GEVENT_RESOLVER", "block")
    import locust  # noqa: F401 - monkey-patches the standard library for gevent, before anything else

    args = parse_args(argv)
    profile = PROFILES[args.profile]
    TMP_DIR.mkdir(parents=True, exist_ok=True)
    for old in TMP_DIR.glob("*.log"):
        old.unlink()
    began = time.time()

    def log(message: str) -> None:
        print(f"[bench {time.time() - began:6.1f}s] {message}", flush=True)

    for port in (WEB_PORT, WS_PORT):
        if _port_open(port):  # before anything is touched: the run database may be that bench's
            log(f"port {port} on {HOST} is already in use: another bench (or server) is running; nothing done")
            return 2
    stack = Stack()
    exit_code = 2
    with _stop_on_signals():
        try:
            if args.scenario == "intake":
                from loadtests import intake

                exit_code = intake.run_bench(args, profile, stack, log, began)
            elif args.scenario == "day":
                from loadtests import day

                exit_code = day.run_bench(args, profile, stack, log, began)
            else:
                exit_code = _run(args, profile, stack, log, began)
        except KeyboardInterrupt:
            log("interrupted")
            exit_code = 130
        except SystemExit as stop:
            log(f"stopped ({stop.code})")
            exit_code = stop.code if isinstance(stop.code, int) else 2
        finally:
            stack.stop_all()
            log("servers stopped")
            if not args.keep_db:
                with suppress(Exception), _pg("postgres") as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {_quote(RUN_DB)} WITH (FORCE)")
                log(f"dropped {RUN_DB}")
            else:
                log(f"kept {RUN_DB} ({RUN_DATABASE_URL})")
    return exit_code


def _run(args: argparse.Namespace, profile: Profile, stack: Stack, log: Any, began: float) -> int:
    import redis

    from loadtests import checks, report, rush
    from loadtests.bare import CLAIM_KEYS, CLAIM_TABLE

    timeline = Timeline()
    machine_at_start = machine_before()
    calibration = _load_calibration()
    login_rate = min(max(calibration.get("login_rate", DEFAULT_LOGIN_RATE) * 0.7, 50.0), 400.0)

    # 1. Databases
    now_local = dt.datetime.now(TOKYO)
    template = ensure_template(profile, now_local.date().replace(day=1), fresh=args.fresh_template, log=log)
    with _pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_quote(RUN_DB)} WITH (FORCE)")
        _create_from_template(admin, RUN_DB, profile.template)
    redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
    timeline.mark("run_db_ready")

    # 2. T0 and the opening, before the servers start
    lead = login_lead(profile.users, login_rate)
    t0 = float(math.ceil(time.time() + lead))
    with _pg(RUN_DB) as conn:
        month, gated, gate_note = set_opening(conn, t0)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {CLAIM_TABLE} (k integer PRIMARY KEY, who integer NOT NULL)")
        residents = select_residents(conn.cursor(), profile.users, seed=args.seed)
        hot = build_hot_set(conn.cursor(), month, seed=args.seed)
        rooms = [r[0] for r in conn.execute("SELECT id FROM reservations_room WHERE is_active ORDER BY id").fetchall()]
        facilities = [
            r[0] for r in conn.execute("SELECT id FROM reservations_facility WHERE is_active ORDER BY id").fetchall()
        ]
        purposes = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT DISTINCT ON (rp.room_id) rp.room_id, p.id FROM reservations_room_purposes rp "
                "JOIN reservations_purpose p ON p.id = rp.purpose_id ORDER BY rp.room_id, p.code"
            ).fetchall()
        }
        pg_version = conn.execute("SHOW server_version").fetchone()
        max_connections = conn.execute("SHOW max_connections").fetchone()
    assignments = make_assignments(residents, seed=args.seed, gated=gated)
    log(f"T0 in {t0 - time.time():.0f} s; {gate_note}; {len(hot)} hot slots; {len(assignments)} residents")

    # 3. Servers (the code they load is the code measured: record it now, others keep committing)
    git = git_state()
    env = server_env(args.waiting_room)
    commands = server_commands(args)
    for name, cmd in commands.items():
        stack.start(name, cmd, env)
    ready_s = wait_ready(stack)
    timeline.mark("servers_ready")
    log(f"servers ready in {ready_s:.1f} s")
    t0_adjusted = False
    needed = profile.users / login_rate + 5.0
    if t0 - time.time() < needed:
        t0 = float(math.ceil(time.time() + needed))
        with _pg(RUN_DB) as conn:
            month, gated, gate_note = set_opening(conn, t0)
        t0_adjusted = True
        log(f"T0 moved later (servers slow to start): {gate_note}")

    # 4. The rush
    rush_cap = profile.rush_cap_s
    if args.waiting_room:  # give the last one let in a minute to book
        rush_cap = max(rush_cap, waiting_room_span_s(len(assignments)) + 60.0)
    plan = rush.RushPlan(
        t0=t0,
        stop_at=t0 + rush_cap,
        month=month,
        hot=hot,
        assignments=assignments,
        gated=gated,
        waiting_room=args.waiting_room,
        think_s=args.think,
    )
    log(f"logging {len(assignments)} residents in before T0, then the rush (cap {rush_cap:.0f} s)")
    timeline.mark("rush_spawn")

    def postpone(new_t0: float) -> bool:
        nonlocal month, gated, gate_note, t0_adjusted
        if use_month(dt.datetime.fromtimestamp(new_t0, TOKYO)) != month:
            return False  # would change the month under test
        with _pg(RUN_DB) as conn:
            month, gated, gate_note = set_opening(conn, new_t0)
        t0_adjusted = True
        log(f"logins slower than assumed ({plan.logins_done}/{len(assignments)}): T0 postponed; {gate_note}")
        return True

    web = stack.procs[0]
    cpu_before_rush = server_cpu_seconds(web)
    rush.run_rush(plan, postpone=postpone)
    t0 = plan.t0
    drained_s, drained = wait_idle(web)
    server_cpu: dict[str, dict[str, float]] = {
        "logins + rush (until drained)": {
            "cpu_s": server_cpu_seconds(web) - cpu_before_rush,
            "requests": len(plan.samples),
        }
    }
    log(f"web server {'idle' if drained else 'STILL BUSY'} {drained_s:.0f} s after the rush")
    timeline.mark("rush_end")
    login_seconds = max(plan.login_last - plan.login_first, 0.001)
    measured_rate = plan.logins_done / login_seconds
    log(
        f"rush done: {plan.logins_ok} logins ({measured_rate:.0f}/s, done {plan.login_last - t0:+.1f} s from T0), "
        f"{sum(1 for a in plan.answers if a.kind == 'success')} bookings, {len(plan.samples)} requests"
    )
    with _pg(RUN_DB) as conn:
        hot_status = hot_set_status(conn, hot, t0)

    # 5. Ceiling
    ceiling = rush.CeilingPlan(
        month=month,
        rooms=rooms,
        facilities=facilities,
        hot=hot,
        sessions=plan.sessions[: max(CEILING_USERS, 1)],
        purposes=purposes,
        claim_keys=CLAIM_KEYS,
        seed=args.seed,
    )
    phases = []
    ceiling_classes = [
        ("bare read", rush.BareReadUser),
        ("availability (month grid)", rush.AvailabilityUser),
        ("bare claim", rush.BareClaimUser),
        ("booking POST", rush.BookingPostUser),
    ]
    for name, cls in ceiling_classes:
        if cls is rush.BookingPostUser and not ceiling.sessions:
            log("no logged-in session for the booking phase: skipped")
            continue
        before = server_cpu_seconds(web)
        counted = len(ceiling.samples)
        window = rush.run_ceiling_phase(ceiling, cls, name, users=CEILING_USERS, seconds=args.ceiling_seconds)
        server_cpu[name] = {"cpu_s": server_cpu_seconds(web) - before, "requests": len(ceiling.samples) - counted}
        phases.append(window)
        log(f"ceiling {name}: done")
        waited, idle = wait_idle(web, deadline_s=60)
        if not idle:
            log(f"web server still busy {waited:.0f} s after the {name} phase")
    timeline.mark("ceiling_end")

    # 6. Checks
    answers = plan.answers + ceiling.answers
    with _pg(RUN_DB) as conn, conn.cursor() as cursor:
        results: list[CheckResult] = checks.run_all(
            cursor, answers, resident_ids=[a.resident_id for a in assignments], month=month, t0=t0, gated=gated
        )
        bookings_made = conn.execute(
            "SELECT count(*) FILTER (WHERE created_at < to_timestamp(%s)), count(*) FROM reservations_reservation "
            "WHERE resident_id = ANY(%s)",
            [timeline.marks["rush_end"], [a.resident_id for a in assignments]],
        ).fetchone()
    timeline.mark("checks_end")
    for r in results:
        log(f"check ({r.key}) {'PASS' if r.passed else 'FAIL'}: {r.title} ({r.checked} checked, {r.violations} bad)")

    # 7. Report
    if profile.users >= 500:  # small runs measure the workers' warm-up, not their login rate
        _save_calibration({"login_rate": round(measured_rate, 1), "server_start_s": round(ready_s, 1)})
    samples: list[Sample] = plan.samples + ceiling.samples
    data = report.build(
        profile=profile.name,
        waiting_room=args.waiting_room,
        began=began,
        t0=t0,
        plan=plan,
        samples=samples,
        answers=answers,
        phases=[asdict(p) for p in phases],
        checks=results,
        hot_status=hot_status,
        fairness={**fairness(answers, assignments), "admission": admission_order(plan.queue, assignments)},
        extra={
            "machine": machine_info(machine_at_start, pg_version[0] if pg_version else None),
            "git": git,
            "servers": {
                "commands": {k: " ".join(v[1:]) for k, v in commands.items()},
                "env": {k: env[k] for k in REPORTED_ENV if k in env},
                "startup_s": round(ready_s, 1),
                "postgres_max_connections": max_connections[0] if max_connections else None,
                "conn_max_age": "None (persistent), health checks on (config/settings/bench.py)",
                "password_hasher": "MD5 (bench settings only)",
            },
            "template": template,
            "run": {
                "month": month.isoformat(),
                "t0_epoch": t0,
                "t0_local": dt.datetime.fromtimestamp(t0, TOKYO).isoformat(),
                "t0_adjusted": t0_adjusted,
                "t0_postponed_s": round(plan.postponed_s, 1),
                "server_gated": gated,
                "gate_note": gate_note,
                "login_lead_s": round(lead, 1),
                "login_rate_assumed": round(login_rate, 1),
                "users": len(assignments),
                "hammerers": sum(1 for a in assignments if a.hammerer),
                "seed": args.seed,
                "rush_cap_s": rush_cap,
                "think_s": args.think,
                "hot_set": [asdict(h) for h in hot],
                "resident_ids": [a.resident_id for a in assignments],
                "sizing_req_s": SIZING.get(profile.name),
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
            "bookings": {
                "by_simulated_residents": int(bookings_made[1]) if bookings_made else 0,
                "during_rush": int(bookings_made[0]) if bookings_made else 0,
            },
            "server_log": _server_log_summary(),
            "drain": {"after_rush_s": round(drained_s, 1), "drained": drained},
            "server_cpu": {
                k: {
                    "cpu_s": round(v["cpu_s"], 1),
                    "requests": int(v["requests"]),
                    "cpu_ms_per_request": round(1000 * v["cpu_s"] / v["requests"], 2) if v["requests"] else None,
                }
                for k, v in server_cpu.items()
            },
            "load_generator_cpu": {
                "rush": _cpu(plan.cpu),
                **{name: _cpu(values) for name, values in ceiling.cpu.items()},
            },
        },
    )
    exit_code = report.exit_code(data)
    data["meta"]["exit_code"] = exit_code
    json_path, md_path = report.write(data, RESULTS_DIR)
    log(f"report: {md_path.relative_to(ROOT)} and {json_path.relative_to(ROOT)}")
    for reason in data["meta"]["exit_reasons"]:
        log(f"FAIL: {reason}")
    return exit_code


def standalone_plan(url: str, *, users: int, t0: float, seed: int = SEED) -> RushPlan:
    """A rush plan for `locust -f loadtests/rush.py` against a prepared run database."""
    import psycopg

    from loadtests.rush import RushPlan

    with psycopg.connect(url, autocommit=True) as conn:
        t0_local = dt.datetime.fromtimestamp(t0, TOKYO)
        month = use_month(t0_local)
        residents = select_residents(conn.cursor(), users, seed=seed)
        hot = build_hot_set(conn.cursor(), month, seed=seed)
    return RushPlan(
        t0=t0,
        stop_at=t0 + 120,
        month=month,
        hot=hot,
        assignments=make_assignments(residents, seed=seed),
        gated=False,
        waiting_room=False,
        think_s=float(os.environ.get("RUSH_THINK_S", THINK_S)),
    )


if __name__ == "__main__":
    # Run the importable module's main, so that loadtests.rush and this file share one set of classes.
    from loadtests import bench as _bench

    sys.exit(_bench.main())
