"""Scenario (a), the first-come opening rush, as Locust users (FastHttpUser, geventhttpclient).

`RushResident` is one simulated resident: before T0 it logs in through the real login page; at its
arrival time (T0 + U(0, 10 s)) it loads its target facility's month grid for the use month, then
tries to book 1-3 slots drawn from a Zipf-hot set, opening the booking page first (200 = free,
409 = taken: pick another) and posting it (302 = booked, 409 slot_taken = pick another, quota =
stop), up to 6 tries per wanted booking. Every answer about a slot is recorded as a
`loadtests.checks.Answer`; every request as a `Sample` with its own response time.

Hammerers (5 %, flagged) are the bots of RUSH.md: they wait on the page from just before T0 and
refresh every 100 ms while it says "not yet open" or, with the waiting room on, "queued"; everyone
else waits as long as the server asks (X-Retry-After-Ms, which the page's script follows, else Retry-After).

The ceiling users (`BareReadUser`, `AvailabilityUser`, `BareClaimUser`, `BookingPostUser`) run the
closed-loop phases after the rush; they are abstract so that `locust -f loadtests/rush.py` runs only
the residents.

Two ways to run it:
- `python -m loadtests.bench` (the orchestrator) builds the plan, installs it with `install_plan`
  and drives a local runner in-process (`run_rush`, `run_ceiling_phase`).
- `locust -f loadtests/rush.py --headless -u 200 -r 200 -H http://127.0.0.1:8200` against a running
  bench server: the plan is then built at start-up from `BENCH_DATABASE_URL` (default: the run
  database `shisetsu_bench`), with T0 = `RUSH_T0` (epoch seconds) or now + 30 s + users/150 s; set
  `RUSH_ANSWERS_OUT=answers.json` to keep the answers. The server's own opening time is whatever the
  database says (the orchestrator sets it; standalone runs do not).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.cookiejar import Cookie
from typing import Any, NamedTuple
from urllib.parse import urlencode

import gevent
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from loadtests.bench import (
    BASE_URL,
    HAMMERER_RETRY_S,
    LOGIN_CONCURRENCY,
    MAX_POSTPONE_S,
    MAX_TRIES,
    REQUEST_TIMEOUT_S,
    Assignment,
    HotSlot,
    ZipfPicker,
    think_pause,
)
from loadtests.checks import ERROR, FREE, QUOTA, REFUSED, SUCCESS, TAKEN, Answer
from loadtests.cookies import QuickCookieJar

logger = logging.getLogger("loadtests.rush")

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PURPOSE_SELECT_RE = re.compile(r'<select[^>]*name="purpose"[^>]*>(.*?)</select>', re.S)
OPTION_RE = re.compile(r'<option value="([^"]+)"')
DONE_RE = re.compile(r"/bookings/(\d+)/done/")
# Used only when a refusal comes without the X-Refusal header: the page's own message.
REFUSAL_TEXTS = [
    ("slot_taken", "たった今ほかの方が予約しました"),
    ("slot_taken", "すでに予約済みの枠が含まれています"),
    ("not_yet_open", "まだ受付開始前です"),
    ("quota", "予約件数が上限に達しています"),
]
# What each request may answer without it being an error.
EXPECTED: dict[str, frozenset[int]] = {
    "login form": frozenset({200}),
    "login POST": frozenset({302}),
    "month grid": frozenset({200}),
    "book GET": frozenset({200, 409}),
    "book POST": frozenset({302, 409}),
    "bare read": frozenset({200}),
    "bare claim": frozenset({201, 409}),
    "ceiling: month grid": frozenset({200}),
    "ceiling: book POST": frozenset({302, 409}),
}
TIMEOUT_NAMES = ("timeout", "timed out")


class Sample(NamedTuple):
    """One HTTP request as the client saw it."""

    name: str
    start: float  # epoch seconds
    ms: float  # response time, body included
    status: int  # 0 when there was no response
    error: str | None  # None, or: 5xx, timeout, connection, unexpected_4xx, unexpected_status
    phase: str


@dataclass
class QueueStats:
    """What the waiting room told the residents (empty until the server has one)."""

    responses: int = 0
    users: set[int] = field(default_factory=set)
    max_position: int = 0
    waits: list[float] = field(default_factory=list)  # seconds from first "queued" to the real page
    gave_up: set[int] = field(default_factory=set)  # still queued when the scenario ended
    # Per resident (assignment index): when the last queued answer said they would be let in
    # (its arrival + X-Retry-After-Ms), and when the request that got the real page was sent.
    promised: dict[int, float] = field(default_factory=dict)
    admitted: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "responses": self.responses,
            "users": len(self.users),
            "max_position": self.max_position,
            "never_admitted": len(self.gave_up),
        }


@dataclass
class Session:
    """A logged-in resident's cookies, reused by the ceiling's booking phase."""

    resident_id: int
    user_number: str
    cookies: list[Cookie]

    @property
    def csrf(self) -> str:
        return next((c.value or "" for c in self.cookies if c.name == "csrftoken"), "")


@dataclass
class RushPlan:
    """Everything the residents share: who they are, when T0 is, what they want, what they got."""

    t0: float
    stop_at: float  # no new request after this (in-flight ones finish)
    month: dt.date
    hot: list[HotSlot]
    assignments: list[Assignment]
    gated: bool  # the server itself opens at T0 (else only the harness's T0 gates)
    waiting_room: bool
    think_s: float = 0.0  # residents' mean pause before each click after the grid (bench.THINK_S)
    zipf_s: float = 1.1
    login_concurrency: int = LOGIN_CONCURRENCY
    picker: ZipfPicker = field(init=False)
    answers: list[Answer] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    login_failures: list[dict[str, Any]] = field(default_factory=list)
    logins_ok: int = 0
    login_first: float = 0.0
    login_last: float = 0.0
    taken: int = 0
    postponed_s: float = 0.0
    finished: int = 0
    in_flight: int = 0
    queue: QueueStats = field(default_factory=QueueStats)
    cpu: list[float] = field(default_factory=list)  # this (the load generator's) process, % of one core
    _gate: BoundedSemaphore | None = None

    def __post_init__(self) -> None:
        self.picker = ZipfPicker(len(self.hot), self.zipf_s)

    @property
    def gate(self) -> BoundedSemaphore:
        if self._gate is None:
            self._gate = BoundedSemaphore(self.login_concurrency)
        return self._gate

    def take(self) -> Assignment | None:
        if self.taken >= len(self.assignments):
            return None
        self.taken += 1
        return self.assignments[self.taken - 1]

    @property
    def logins_done(self) -> int:
        return self.logins_ok + len(self.login_failures)

    def stopping(self) -> bool:
        return time.time() >= self.stop_at


@dataclass
class CeilingPlan:
    """The closed-loop ceiling phases: what to ask for, and the switch that starts and stops them."""

    month: dt.date
    rooms: list[int]
    facilities: list[int]
    hot: list[HotSlot]
    sessions: list[Session]
    purposes: dict[int, int]  # room id: the first purpose a booking form offers
    claim_keys: int
    seed: int
    zipf_s: float = 1.1
    active: bool = False
    in_flight: int = 0
    samples: list[Sample] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # phase: the load generator's CPU %
    picker: ZipfPicker = field(init=False)

    def __post_init__(self) -> None:
        self.picker = ZipfPicker(len(self.hot), self.zipf_s)


class _QuietSpawnRate(logging.Filter):
    """Locust warns about spawn rates over 100/s; here they are on purpose (idle users, logins gated)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "spawn rate is very high" not in record.getMessage()


logging.getLogger("locust.runners").addFilter(_QuietSpawnRate())


def _environment(user_class: type[FastHttpUser]) -> Environment:
    return Environment(user_classes=[user_class], host=BASE_URL, stop_timeout=1)


def finish_in_flight(plan: Any, grace_s: float, poll_s: float = 0.1) -> None:
    """Let the requests still in flight answer (at most `grace_s` more seconds), so that no answer
    a check needs is cut off when the users stop."""
    deadline = time.time() + grace_s
    while plan.in_flight > 0 and time.time() < deadline:
        gevent.sleep(poll_s)


class CpuMeter:
    """This process's CPU use (% of one core) each second: is the load generator the bottleneck?"""

    def __init__(self, into: list[float]) -> None:
        self.into = into
        self.greenlet: gevent.Greenlet[Any, Any] | None = None

    def _run(self) -> None:
        last_cpu, last_wall = _cpu_seconds(), time.monotonic()
        while True:
            gevent.sleep(1.0)
            cpu, wall = _cpu_seconds(), time.monotonic()
            self.into.append(100.0 * (cpu - last_cpu) / max(wall - last_wall, 1e-6))
            last_cpu, last_wall = cpu, wall

    def __enter__(self) -> CpuMeter:
        self.greenlet = gevent.spawn(self._run)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=False)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


PLAN: RushPlan | None = None
CEILING: CeilingPlan | None = None
_user_ids = itertools.count()


def install_plan(plan: RushPlan | None) -> None:
    global PLAN
    PLAN = plan


def install_ceiling(plan: CeilingPlan | None) -> None:
    global CEILING
    CEILING = plan


# --- Requests, answers and their classification --------------------------------------------------


def error_kind(name: str, status: int, exc: BaseException | None) -> str | None:
    if status == 0:
        text = f"{type(exc).__name__} {exc}".lower() if exc else ""
        if isinstance(exc, TimeoutError | gevent.Timeout) or any(t in text for t in TIMEOUT_NAMES):
            return "timeout"
        return "connection"
    if status >= 500:
        return "5xx"
    if status in EXPECTED.get(name, frozenset({200})):
        return None
    if 400 <= status < 500:
        return "unexpected_4xx"
    return "unexpected_status"


def refusal(resp: Any) -> tuple[str | None, str]:
    """The refusal code of a non-2xx answer and where it came from (header, body or status)."""
    headers = resp.headers
    code = headers.get("X-Refusal") if headers is not None else None
    if code:
        return str(code).strip(), "header"
    if 400 <= resp.status_code < 500:
        body = resp.text or ""
        for name, text in REFUSAL_TEXTS:
            if text in body:
                return name, "body"
    return None, "status"


def kind_of(status: int, code: str | None) -> str:
    if code:
        if "taken" in code or "not_free" in code:
            return TAKEN
        if code in ("quota", "group_quota"):
            return QUOTA
        return REFUSED
    if status == 409:
        return TAKEN  # the status code's meaning when nothing more specific is said
    return ERROR


def _exception(resp: Any) -> BaseException | None:
    error = getattr(resp, "error", None)
    return error if isinstance(error, BaseException) else None


class _Client:
    """Mixin: one request, timed and recorded, retried while the waiting room says "queued"."""

    client: Any
    # The run's plan: counts requests in flight, collects samples, says when the run stops.
    plan: Any
    hammerer: bool = False
    think_rng: random.Random = random.Random()  # each user seeds its own (on_start)

    def _in_flight(self, delta: int) -> None:
        self.plan.in_flight += delta

    def _record(self, sample: Sample) -> None:
        self.plan.samples.append(sample)

    def _deadline(self) -> float:
        return float(self.plan.stop_at)

    def _think(self) -> None:
        """A person's pause before the next click, U(0.5, 1.5) x the plan's think_s (hammerers too:
        they differ in refreshing while they wait); never past the scenario's end."""
        pause = think_pause(self.think_rng, self.plan.think_s)
        if pause > 0:
            gevent.sleep(max(0.0, min(pause, self._deadline() - time.time())))

    def _on_queued(self, resp: Any, since: float) -> None:
        """Hook: the waiting room answered instead of the page."""

    def _on_admitted(self, waited: float, sent: float) -> None:
        """Hook: the real page came after `waited` seconds in the queue, for the request sent at `sent`."""

    def send(self, method: str, path: str, name: str, phase: str, data: dict[str, Any] | None = None) -> Any:
        headers = {"Accept-Language": "ja"}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        queued_since: float | None = None
        while True:
            start = time.time()
            began = time.perf_counter()
            self._in_flight(1)
            try:
                resp = self.client.request(method, path, name=name, data=body, headers=headers, allow_redirects=False)
                _ = resp.content  # read the body inside the timing
            finally:
                self._in_flight(-1)
            ms = (time.perf_counter() - began) * 1000
            status = resp.status_code or 0
            if is_queued(resp):
                self._record(Sample(f"{name} (queued)", start, ms, status, None, phase))
                if queued_since is None:
                    queued_since = start
                self._on_queued(resp, queued_since)
                delay = HAMMERER_RETRY_S if self.hammerer else _retry_after(resp.headers)
                if time.time() + delay >= self._deadline():
                    return resp
                gevent.sleep(delay)
                continue
            self._record(Sample(name, start, ms, status, error_kind(name, status, _exception(resp)), phase))
            if queued_since is not None:
                self._on_admitted(time.time() - queued_since, start)
            return resp

    def _login(self) -> bool:
        """Log in through the real login form (GET for its CSRF token, then POST), recording the
        outcome on the plan; before T0, so the crowd is logged in when the opening comes."""
        assert self.a is not None
        started = time.time()
        if not self.plan.login_first:
            self.plan.login_first = started
        form = self.send("GET", "/accounts/login/", "login form", "login")
        token, _ = _form_fields(form.text or "") if form.status_code == 200 else ("", "")
        ok = False
        resp = None
        if token:
            resp = self.send(
                "POST",
                "/accounts/login/",
                "login POST",
                "login",
                {"csrfmiddlewaretoken": token, "username": self.a.user_number, "password": self.a.password, "next": ""},
            )
            location = str(resp.headers.get("Location", "")) if resp.headers is not None else ""
            ok = resp.status_code == 302 and "/accounts/login/" not in location
        self.plan.login_last = time.time()
        if ok:
            self.plan.logins_ok += 1
            cookies = list(self.client.cookiejar)
            self.plan.sessions.append(Session(self.a.resident_id, self.a.user_number, cookies))
        else:
            self.plan.login_failures.append(
                {
                    "user_number": self.a.user_number,
                    "form_status": form.status_code,
                    "post_status": resp.status_code if resp is not None else None,
                    "error": str(_exception(resp or form) or ""),
                }
            )
        return ok


def is_queued(resp: Any) -> bool:
    """The waiting room answered instead of the page (any status; the page itself says 200)."""
    headers = resp.headers
    return headers is not None and str(headers.get("X-Waiting-Room", "")).lower() == "queued"


def _retry_after(headers: Any) -> float:
    """How long a browser waits before it asks again: the page's script reloads at the
    millisecond X-Retry-After-Ms gives (static/js/waiting-room.js); without it, Retry-After."""
    try:
        precise = headers.get("X-Retry-After-Ms")
        if precise is not None:
            return max(0.02, min(float(precise) / 1000, 30.0))
        return max(0.1, min(float(headers.get("Retry-After", "1")), 30.0))
    except (TypeError, ValueError):
        return 1.0


def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        gevent.sleep(delay)


def _sleep_until_t0_plus(plan: RushPlan, offset: float) -> None:
    """Sleep until T0 + offset, following T0 if it is postponed meanwhile."""
    while (delay := plan.t0 + offset - time.time()) > 0:
        gevent.sleep(delay)


def _form_fields(html: str) -> tuple[str, str]:
    """The CSRF token and the first purpose with a value ("" when the room has none)."""
    token = CSRF_RE.search(html)
    select = PURPOSE_SELECT_RE.search(html)
    purpose = ""
    if select:
        option = OPTION_RE.search(select.group(1))
        purpose = option.group(1) if option else ""
    return (token.group(1) if token else ""), purpose


class LoadUser(_Client, FastHttpUser):
    """A simulated browser of the harness: one connection, the harness's timeouts, no wait of
    Locust's own between tasks (each user paces itself)."""

    abstract = True
    host = BASE_URL
    network_timeout = REQUEST_TIMEOUT_S
    connection_timeout = REQUEST_TIMEOUT_S
    concurrency = 1
    wait_time = constant(0)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        jar = QuickCookieJar()  # the same cookies as Locust's jar, a tenth of a millisecond less a request
        self.client.cookiejar = jar
        self.client.client.cookiejar = jar


# --- The rush ---------------------------------------------------------------------------------------


class RushResident(LoadUser):
    """One resident at the 09:00 opening (see the module docstring)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if PLAN is None:
            raise RuntimeError("no rush plan installed (run through loadtests.bench, or set BENCH_DATABASE_URL)")
        self.plan: RushPlan = PLAN
        self.a: Assignment | None = None
        self.logged_in = False
        self.done = False
        self.seen: set[int] = set()
        self.rng = random.Random()

    # hooks of _Client
    def _on_queued(self, resp: Any, since: float) -> None:
        q = self.plan.queue
        q.responses += 1
        if self.a is not None:
            q.users.add(self.a.index)
        try:
            q.max_position = max(q.max_position, int(resp.headers.get("X-Queue-Position", "0")))
            if self.a is not None:
                q.promised[self.a.index] = time.time() + float(resp.headers["X-Retry-After-Ms"]) / 1000
        except (KeyError, TypeError, ValueError):
            pass

    def _on_admitted(self, waited: float, sent: float) -> None:
        self.plan.queue.waits.append(waited)
        if self.a is not None:
            self.plan.queue.admitted.setdefault(self.a.index, sent)

    def on_start(self) -> None:
        self.a = self.plan.take()
        if self.a is None:
            return
        self.hammerer = self.a.hammerer
        self.rng = random.Random(self.a.seed)
        self.think_rng = random.Random(self.a.seed ^ 0x7415)  # its own stream: the slots drawn stay the same
        with self.plan.gate:
            self.logged_in = self._login()

    @task
    def rush(self) -> None:
        if self.done or self.a is None:
            gevent.sleep(1.0)
            return
        try:
            if self.logged_in:
                self._rush(self.a)
        finally:
            self.done = True
            self.plan.finished += 1

    def _pick(self) -> int | None:
        return self.plan.picker.pick(self.rng, self.seen)

    def _answer(self, slot: HotSlot, method: str, kind: str, resp: Any, **extra: Any) -> None:
        assert self.a is not None
        self.plan.answers.append(
            _make_answer(
                self.a.resident_id, self.a.user_number, slot, method, kind, resp, "rush", self.a.hammerer, extra
            )
        )

    def _rush(self, a: Assignment) -> None:
        plan = self.plan
        _sleep_until_t0_plus(plan, a.arrival_offset)
        first = self._pick()
        if first is None or plan.stopping():
            return
        target = plan.hot[first]
        self.send(
            "GET", f"/facilities/{target.facility_id}/month/{plan.month.year}/{plan.month.month}/", "month grid", "rush"
        )
        pending: int | None = first
        for _want in range(a.wants):
            for _try in range(MAX_TRIES):
                if plan.stopping():
                    return
                index = pending if pending is not None else self._pick()
                pending = None
                if index is None:
                    return  # every hot slot is known taken
                self.seen.add(index)
                self._think()  # choosing the slot (on the grid, or after a "taken" page)
                if plan.stopping():
                    return
                outcome = self._try_slot(plan.hot[index])
                if outcome == SUCCESS:
                    break
                if outcome in (QUOTA, "stop"):
                    return

    def _try_slot(self, slot: HotSlot) -> str:
        """Open the booking page, then book; returns the answer kind (or "stop")."""
        plan = self.plan
        path = f"/book/{slot.room_id}/{slot.date}/?bands={slot.band_id}"
        while True:
            page = self.send("GET", path, "book GET", "rush")
            if is_queued(page):
                self.plan.queue.gave_up.add(self.a.index if self.a else -1)
                return "stop"  # still queued when the scenario ended
            status = page.status_code or 0
            if status == 200:
                self._answer(slot, "GET", FREE, page)
                break
            code, source = refusal(page) if status else (None, "client")
            if status == 409 and (code == "not_yet_open" or (code is None and time.time() < plan.t0 + 1.0)):
                # Not open yet: the bots refresh every 100 ms, people after a second.
                self._answer(slot, "GET", REFUSED, page, code="not_yet_open", code_source=source if code else "time")
                if plan.stopping() or time.time() > plan.t0 + 10:
                    return "stop"
                gevent.sleep(HAMMERER_RETRY_S if self.hammerer else 1.0)
                continue
            kind = kind_of(status, code) if status else ERROR
            self._answer(slot, "GET", kind, page, code=code or _error_code(page), code_source=source)
            return kind
        token, purpose = _form_fields(page.text or "")
        self._think()  # filling in the form
        data = {
            "csrfmiddlewaretoken": token,
            "bands": str(slot.band_id),
            "purpose": purpose,
            "attendees": str(self.rng.randint(1, max(1, slot.capacity))),
            "group": "",
        }
        resp = self.send("POST", path, "book POST", "rush", data)
        if is_queued(resp):
            self.plan.queue.gave_up.add(self.a.index if self.a else -1)
            return "stop"
        return _post_outcome(resp, lambda kind, **kw: self._answer(slot, "POST", kind, resp, **kw))


def _make_answer(
    resident_id: int,
    user_number: str,
    slot: HotSlot,
    method: str,
    kind: str,
    resp: Any,
    phase: str,
    hammerer: bool,
    extra: dict[str, Any],
) -> Answer:
    exc = _exception(resp)
    error = extra.pop("error", None)
    return Answer(
        resident_id=resident_id,
        user_number=user_number,
        room_id=slot.room_id,
        date=slot.date,
        band_id=slot.band_id,
        method=method,
        kind=kind,
        status=resp.status_code or 0,
        t=time.time(),
        error=f"{type(exc).__name__}: {exc}" if exc else error,
        phase=phase,
        hammerer=hammerer,
        rank=slot.rank,
        **extra,
    )


def _error_code(resp: Any) -> str | None:
    exc = _exception(resp)
    if exc is not None:
        return "timeout" if error_kind("", 0, exc) == "timeout" else "connection"
    return f"http_{resp.status_code}" if resp.status_code else None


def _post_outcome(resp: Any, answer: Callable[..., None]) -> str:
    """Record the answer to a booking POST; returns its kind."""
    status = resp.status_code or 0
    if status == 302:
        location = str(resp.headers.get("Location", ""))
        match = DONE_RE.search(location)
        if match:
            answer(SUCCESS, booking_id=int(match.group(1)), code_source="status")
            return SUCCESS
        answer(ERROR, code="redirect", code_source="status", error=f"302 to {location}")
        return ERROR
    if status == 0:
        answer(ERROR, code=_error_code(resp), code_source="client")
        return ERROR
    code, source = refusal(resp)
    kind = kind_of(status, code)
    if kind == ERROR:
        code = code or _error_code(resp)
    answer(kind, code=code, code_source=source)
    return kind


def run_rush(
    plan: RushPlan,
    *,
    postpone: Callable[[float], bool] | None = None,
    spawn_rate: float = 500.0,
    grace_s: float = REQUEST_TIMEOUT_S + 5,
) -> None:
    """Spawn one resident per assignment in a local runner; return when all are done, or at the cap
    once the requests in flight have finished (an answer cut off would look like a silent booking).

    If the logins are not all done 3 s before T0, T0 moves later (`postpone(new_t0)` moves the
    server's opening too and says whether it could): the rush must start with everyone logged in."""
    install_plan(plan)
    env = _environment(RushResident)
    runner = env.create_local_runner()
    users = len(plan.assignments)
    try:
        runner.start(users, spawn_rate=spawn_rate)
        moved = 0.0
        while True:
            _sleep_until(plan.t0 - 3)
            if plan.logins_done >= users or postpone is None or moved > MAX_POSTPONE_S:
                break
            elapsed = max(time.time() - plan.login_first, 1.0) if plan.login_first else 1.0
            rate = max(plan.logins_done / elapsed, 1.0)
            new_t0 = float(math.ceil(time.time() + (users - plan.logins_done) / rate + 5))
            if not postpone(new_t0):
                break
            moved += new_t0 - plan.t0
            plan.stop_at += new_t0 - plan.t0
            plan.t0 = new_t0
            plan.postponed_s = moved
            logger.warning("logins not done (%s of %s): T0 postponed by %.0f s", plan.logins_done, users, moved)
        with CpuMeter(plan.cpu):
            while plan.finished < users and not plan.stopping():
                gevent.sleep(0.2)
            finish_in_flight(plan, grace_s)
    finally:
        runner.quit()


# --- The ceiling phases ----------------------------------------------------------------------------


class _CeilingUser(LoadUser):
    abstract = True
    endpoint = ""  # the request name its samples carry

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if CEILING is None:
            raise RuntimeError("no ceiling plan installed")
        self.plan: CeilingPlan = CEILING
        self.index = next(_user_ids)
        self.rng = random.Random(self.plan.seed * 7919 + self.index)

    def _deadline(self) -> float:
        return math.inf

    @task
    def loop(self) -> None:
        if not self.plan.active:
            gevent.sleep(0.02)
            return
        self.once()

    def once(self) -> None:
        raise NotImplementedError


class BareReadUser(_CeilingUser):
    """(i) GET /bench/bare/read/<room>/: one indexed SELECT → JSON."""

    abstract = True
    endpoint = "bare read"

    def once(self) -> None:
        self.send("GET", f"/bench/bare/read/{self.rng.choice(self.plan.rooms)}/", self.endpoint, "ceiling")


class AvailabilityUser(_CeilingUser):
    """(ii) the real availability: a random facility's month grid for the use month."""

    abstract = True
    endpoint = "ceiling: month grid"

    def once(self) -> None:
        month = self.plan.month
        facility = self.rng.choice(self.plan.facilities)
        self.send("GET", f"/facilities/{facility}/month/{month.year}/{month.month}/", self.endpoint, "ceiling")


class BareClaimUser(_CeilingUser):
    """(iii) POST /bench/bare/claim/<key>/<who>/: a contended INSERT … ON CONFLICT DO NOTHING."""

    abstract = True
    endpoint = "bare claim"

    def once(self) -> None:
        key = self.rng.randrange(self.plan.claim_keys)
        self.send("POST", f"/bench/bare/claim/{key}/{self.index}/", self.endpoint, "ceiling", {})


class BookingPostUser(_CeilingUser):
    """(iv) the real booking POST for hot slots by logged-in residents (mostly 409 taken)."""

    abstract = True
    endpoint = "ceiling: book POST"

    def on_start(self) -> None:
        self.session = self.plan.sessions[self.index % len(self.plan.sessions)]
        for cookie in self.session.cookies:
            self.client.cookiejar.set_cookie(cookie)

    def once(self) -> None:
        index = self.plan.picker.pick(self.rng, set())
        if index is None:
            return
        slot = self.plan.hot[index]
        data = {
            "csrfmiddlewaretoken": self.session.csrf,
            "bands": str(slot.band_id),
            "purpose": str(self.plan.purposes.get(slot.room_id, "")),
            "attendees": "1",
            "group": "",
        }
        path = f"/book/{slot.room_id}/{slot.date}/?bands={slot.band_id}"
        resp = self.send("POST", path, self.endpoint, "ceiling", data)

        def answer(kind: str, **extra: Any) -> None:
            self.plan.answers.append(
                _make_answer(
                    self.session.resident_id,
                    self.session.user_number,
                    slot,
                    "POST",
                    kind,
                    resp,
                    "ceiling",
                    False,
                    extra,
                )
            )

        _post_outcome(resp, answer)


@dataclass
class PhaseWindow:
    name: str
    endpoint: str
    users: int
    start: float
    end: float


def run_ceiling_phase(
    plan: CeilingPlan, user_class: type[_CeilingUser], name: str, *, users: int, seconds: float
) -> PhaseWindow:
    """One closed-loop phase: `users` users, no wait; measured from when all are spawned."""
    install_ceiling(plan)
    plan.active = False
    env = _environment(user_class)
    runner = env.create_local_runner()
    try:
        runner.start(users, spawn_rate=max(users, 1) * 10)
        deadline = time.time() + 30
        while runner.user_count < users and time.time() < deadline:
            gevent.sleep(0.05)
        gevent.sleep(0.5)  # let on_start finish everywhere
        start = time.time()
        plan.active = True
        with CpuMeter(plan.cpu.setdefault(name, [])):
            gevent.sleep(seconds)
        plan.active = False
        end = time.time()
        finish_in_flight(plan, REQUEST_TIMEOUT_S + 5, poll_s=0.05)
    finally:
        plan.active = False
        runner.quit()
    return PhaseWindow(name, user_class.endpoint, users, start, end)


# --- Standalone: `locust -f loadtests/rush.py` -----------------------------------------------------


@events.init.add_listener
def _standalone_plan(environment: Environment, **_kwargs: Any) -> None:
    """Under the plain locust CLI, build a plan from the run database (see the module docstring)."""
    if PLAN is not None or environment.parsed_options is None:
        return
    from loadtests import bench

    users = int(getattr(environment.parsed_options, "num_users", 0) or os.environ.get("RUSH_USERS", 100))
    url = os.environ.get("BENCH_DATABASE_URL", bench.RUN_DATABASE_URL)
    t0 = float(os.environ.get("RUSH_T0", "0")) or math.ceil(time.time() + 30 + users / 150)
    install_plan(bench.standalone_plan(url, users=users, t0=t0, seed=int(os.environ.get("RUSH_SEED", "1"))))
    logger.warning("rush plan: %s users, T0 in %.0f s", users, t0 - time.time())


@events.quitting.add_listener
def _standalone_answers(environment: Environment, **_kwargs: Any) -> None:
    out = os.environ.get("RUSH_ANSWERS_OUT")
    if PLAN is not None and out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump([asdict(a) for a in PLAN.answers], fh, ensure_ascii=False)
