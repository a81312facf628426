"""The rush benchmark's report: one JSON file (every figure, and every answer for the checks) and one
Markdown page, written as loadtests/results/<UTC timestamp>-<profile>[-wr].{json,md} and copied to
loadtests/results/latest-<profile>[-wr].{json,md}.

Percentiles are computed here from the raw response times the users recorded (nearest rank), not
from Locust's bucketed statistics.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtests.checks import Answer, CheckResult
    from loadtests.rush import RushPlan, Sample

ENDPOINT_ORDER = [
    "login form",
    "login POST",
    "month grid",
    "book GET",
    "book POST",
    "bare read",
    "ceiling: month grid",
    "bare claim",
    "ceiling: book POST",
]
ERROR_KINDS = ["5xx", "timeout", "connection", "unexpected_4xx", "unexpected_status"]
# The acceptance figures of RUSH.md.
BOOK_P95_MS = 1000.0
BOOK_P99_MS = 2000.0
BOOKING_RATIO = 0.5
AVAILABILITY_RATIO = 0.6
LATENCY_PROFILE = "growth"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of `values` (q in 0..100); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def endpoint_stats(name: str, samples: Sequence[Sample], window: tuple[float, float] | None = None) -> dict[str, Any]:
    """Requests, req/s, percentiles (ms), failures and statuses of one endpoint's samples.

    req/s is over `window` when given, else from the first request's start to the last one's end."""
    times = [s.ms for s in samples]
    if window is None and samples:
        window = (min(s.start for s in samples), max(s.start + s.ms / 1000 for s in samples))
    seconds = max((window[1] - window[0]) if window else 0.0, 1e-9)
    return {
        "name": name,
        "requests": len(samples),
        "seconds": round(seconds, 2),
        "rps": round(len(samples) / seconds, 1) if samples else 0.0,
        "p50_ms": _r(percentile(times, 50)),
        "p95_ms": _r(percentile(times, 95)),
        "p99_ms": _r(percentile(times, 99)),
        "max_ms": _r(max(times) if times else None),
        "failures": sum(1 for s in samples if s.error),
        "statuses": dict(sorted(Counter(str(s.status) for s in samples).items())),
    }


def _by_name(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        out[s.name].append(s)
    return out


def _timeseries(samples: Sequence[Sample], t0: float, until: float) -> list[dict[str, int]]:
    buckets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for s in samples:
        second = math.floor(s.start - t0)
        if -5 <= second <= until - t0:
            buckets[second][0] += 1
            buckets[second][1] += 1 if s.error else 0
    return [{"s": k, "requests": v[0], "errors": v[1]} for k, v in sorted(buckets.items())]


WINDOW_S = 5


def latency_windows(samples: Sequence[Sample], t0: float, until: float) -> list[dict[str, Any]]:
    """Per endpoint and WINDOW_S-second window from just before T0 (by when the request was sent):
    requests a second, p50 and p95. Shows when in the opening the answers slowed down, which the
    whole-run percentiles hide."""
    buckets: dict[tuple[int, str], list[float]] = defaultdict(list)
    for s in samples:
        sent = s.start - t0
        if -WINDOW_S <= sent <= until - t0 and not s.name.endswith("(queued)"):
            buckets[(math.floor(sent / WINDOW_S) * WINDOW_S, s.name)].append(s.ms)
    return [
        {
            "from_s": start,
            "name": name,
            "rps": round(len(times) / WINDOW_S, 1),
            "p50_ms": round(percentile(times, 50) or 0),
            "p95_ms": round(percentile(times, 95) or 0),
        }
        for (start, name), times in sorted(buckets.items())
    ]


def build(
    *,
    profile: str,
    waiting_room: bool,
    began: float,
    t0: float,
    plan: RushPlan,
    samples: Sequence[Sample],
    answers: Sequence[Answer],
    phases: Sequence[dict[str, Any]],
    checks: Sequence[CheckResult],
    hot_status: dict[str, Any],
    fairness: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Everything the JSON file holds (the Markdown page is rendered from it)."""
    rush_samples = [s for s in samples if s.phase == "rush"]
    login_samples = [s for s in samples if s.phase == "login"]
    rush_end = extra["timeline"].get("rush_end", 0.0) + t0
    endpoints = []
    for name, group in sorted(_by_name(s for s in samples if s.phase != "ceiling").items(), key=_order):
        endpoints.append({"phase": group[0].phase, **endpoint_stats(name, group)})
    ceiling = []
    for phase in phases:
        inside = [
            s
            for s in samples
            if s.phase == "ceiling"
            and s.name == phase["endpoint"]
            and phase["start"] <= s.start + s.ms / 1000 <= phase["end"]
        ]
        stats = endpoint_stats(phase["endpoint"], inside, (phase["start"], phase["end"]))
        ceiling.append({"phase": phase["name"], "users": phase["users"], **stats})
        endpoints.append({"phase": "ceiling", **stats})
    rps = {c["name"]: c["rps"] for c in ceiling}
    ratios = {
        "booking_vs_bare_claim": _ratio(rps.get("ceiling: book POST"), rps.get("bare claim")),
        "availability_vs_bare_read": _ratio(rps.get("ceiling: month grid"), rps.get("bare read")),
    }
    errors = Counter(s.error for s in samples if s.error)
    error_samples = [
        {"name": s.name, "status": s.status, "error": s.error, "t_rel_t0_s": round(s.start - t0, 2)}
        for s in samples
        if s.error
    ][:20]
    rush_stats = endpoint_stats("rush (all requests)", rush_samples, (t0, max(rush_end, t0 + 1)))
    failed_at = [s.start - t0 for s in rush_samples if s.error]
    series = _timeseries(rush_samples, t0, rush_end)
    kinds = Counter(f"{a.phase}:{a.method}:{a.kind}" for a in answers)
    codes = Counter(f"{a.kind}:{a.code}:{a.code_source}" for a in answers if a.kind not in ("success", "free"))
    waits = plan.queue.waits
    data: dict[str, Any] = {
        "meta": {
            "profile": profile,
            "waiting_room": waiting_room,
            "started_utc": dt.datetime.fromtimestamp(began, dt.UTC).isoformat(timespec="seconds"),
            "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(dt.datetime.now(dt.UTC).timestamp() - began, 1),
        },
        **extra,
        "endpoints": endpoints,
        "errors": {
            "by_kind": {k: errors.get(k, 0) for k in ERROR_KINDS},
            "by_endpoint": {
                name: dict(Counter(s.error for s in group if s.error))
                for name, group in _by_name(samples).items()
                if any(s.error for s in group)
            },
            "samples": error_samples,
        },
        "rush": {
            **rush_stats,
            "peak_rps_1s": max((b["requests"] for b in series), default=0),
            "errors_from_s": round(min(failed_at), 1) if failed_at else None,
            "errors_until_s": round(max(failed_at), 1) if failed_at else None,
            "timeseries": series,
            "latency_windows": latency_windows(rush_samples, t0, rush_end),
            "login_requests": len(login_samples),
            "finished_users": plan.finished,
        },
        "answers_summary": {
            "by_phase_method_kind": dict(sorted(kinds.items())),
            "refusals": dict(sorted(codes.items())),
        },
        "hot_set": hot_status,
        "fairness": fairness,
        "waiting_room": {
            "enabled": waiting_room,
            **plan.queue.to_dict(),
            "wait_p50_s": _r(percentile(waits, 50), 2),
            "wait_p95_s": _r(percentile(waits, 95), 2),
            "wait_max_s": _r(max(waits) if waits else None, 2),
        },
        "ceiling": {"phases": ceiling, "ratios": ratios},
        "checks": [c.to_dict() for c in checks],
        "answers": [asdict(a) for a in answers],
    }
    data["bookings"]["success_answers"] = sum(1 for a in answers if a.kind == "success")
    data["bookings"]["success_answers_rush"] = sum(1 for a in answers if a.kind == "success" and a.phase == "rush")
    data["targets"] = targets(data)
    data["meta"]["exit_reasons"] = exit_reasons(data)
    return data


def _order(item: tuple[str, list[Any]]) -> tuple[int, str]:
    name = item[0].replace(" (queued)", "")
    return (ENDPOINT_ORDER.index(name) if name in ENDPOINT_ORDER else 99, item[0])


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _endpoint(data: dict[str, Any], name: str, phase: str | None = None) -> dict[str, Any] | None:
    return next((e for e in data["endpoints"] if e["name"] == name and (phase is None or e["phase"] == phase)), None)


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """RUSH.md's targets with pass/fail (None: not applicable to this profile or run)."""
    checks = {c["key"]: c for c in data["checks"]}
    errors = data["errors"]["by_kind"]
    book = _endpoint(data, "book POST", "rush") or {}
    ratios = data["ceiling"]["ratios"]
    profile = data["meta"]["profile"]
    fair = data["fairness"]
    out = [
        {"target": "zero double bookings", "value": checks["a"]["violations"], "passed": checks["a"]["passed"]},
        {
            "target": "zero wrong answers (checks b-f)",
            "value": sum(checks[k]["violations"] for k in "bcdef"),
            "passed": all(checks[k]["passed"] for k in "bcdef"),
        },
        {"target": "zero 5xx", "value": errors["5xx"], "passed": errors["5xx"] == 0},
        {"target": "zero timeouts", "value": errors["timeout"], "passed": errors["timeout"] == 0},
    ]
    applies = profile == LATENCY_PROFILE
    note = "" if applies else f"target applies at {LATENCY_PROFILE}; informational here"
    for label, key, limit in (
        ("booking POST p95 ≤ 1 s", "p95_ms", BOOK_P95_MS),
        ("booking POST p99 ≤ 2 s", "p99_ms", BOOK_P99_MS),
    ):
        value = book.get(key)
        ok = value is not None and value <= limit
        out.append(
            {"target": label, "value": value, "passed": ok if applies else None, "informational_pass": ok, "note": note}
        )
    for label, key, limit in (
        ("booking ≥ 50% of bare claim", "booking_vs_bare_claim", BOOKING_RATIO),
        ("availability ≥ 60% of bare read", "availability_vs_bare_read", AVAILABILITY_RATIO),
    ):
        value = ratios.get(key)
        out.append({"target": label, "value": value, "passed": value is not None and value >= limit})
    wr = data["meta"]["waiting_room"]
    # Their fair number of wins is share x wins; allow two standard deviations of binomial noise.
    wins, share = fair["hot_wins"], fair["share_of_users"]
    allowed = wins * share + 2 * math.sqrt(wins * share * (1 - share))
    out.append(
        {
            "target": "hammerers win no more than their share (waiting room on)",
            "value": f"{fair['hammerer_wins']} of {wins} wins ({fair['share_of_wins']:.1%}) vs {share:.1%} of users",
            "passed": (fair["hammerer_wins"] <= allowed) if wr else None,
            "note": f"at most {allowed:.1f} wins (share + 2σ)"
            if wr
            else "waiting room off: shows the unfairness to beat",
        }
    )
    return out


def exit_reasons(data: dict[str, Any]) -> list[str]:
    """Why the run must fail (correctness, 5xx, timeouts, or a harness that did not work).
    Performance targets never fail it."""
    reasons = [f"check ({c['key']}) failed: {c['title']}" for c in data["checks"] if not c["passed"]]
    errors = data["errors"]["by_kind"]
    for kind in ERROR_KINDS:
        if errors.get(kind):
            reasons.append(f"{errors[kind]} {kind} answers")
    if data["logins"]["failed"]:
        reasons.append(f"{data['logins']['failed']} logins failed")
    if not data["bookings"]["success_answers_rush"]:
        reasons.append("no booking succeeded in the rush (harness or server broken)")
    if len(data["ceiling"]["phases"]) < 4:
        reasons.append("a ceiling phase did not run")
    return reasons


def exit_code(data: dict[str, Any]) -> int:
    return 1 if data["meta"]["exit_reasons"] else 0


# --- Markdown ----------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else "PASS" if passed else "FAIL"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    out += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(data: dict[str, Any], *, other: dict[str, Any] | None = None) -> str:
    """The report page. `other`: the latest report of the same profile with the waiting room the
    other way, for the fairness comparison."""
    meta, run, logins = data["meta"], data["run"], data["logins"]
    wr = " (waiting room on)" if meta["waiting_room"] else ""
    lines = [
        f"# Rush benchmark — profile `{meta['profile']}`{wr}",
        "",
        f"{meta['started_utc']} UTC, {meta['duration_s']:.0f} s; git `{data['git']['commit'][:12]}` when the servers started"
        f"{' + uncommitted changes in ' + ', '.join(data['git']['dirty_files'][:8]) if data['git']['dirty'] else ''}; "
        f"{data['machine']['nproc']} cores, load average {data['machine']['loadavg_before'][0]:.2f} before → "
        f"{data['machine']['loadavg_after'][0]:.2f} after; exit code **{meta['exit_code']}**"
        + (f" ({'; '.join(meta['exit_reasons'])})" if meta["exit_reasons"] else ""),
        "",
        "## Targets (RUSH.md)",
        "",
        *_table(
            ["target", "value", "result"],
            [
                [t["target"], t["value"], _verdict(t["passed"]) + (f" — {t['note']}" if t.get("note") else "")]
                for t in data["targets"]
            ],
        ),
        "",
        "## The run",
        "",
        f"- Use month **{run['month'][:7]}**, T0 = {run['t0_local']} ({run['gate_note']})"
        + (
            f"; T0 was moved later (slow server start or logins; {run.get('t0_postponed_s', 0):.0f} s during the logins)"
            if run["t0_adjusted"]
            else ""
        ),
        f"- {run['users']:,} residents ({run['hammerers']} hammerers), arrival T0 + U(0, 10 s), 1–3 bookings each "
        f"from a hot set of {data['hot_set']['size']} slots (Zipf s = 1.1), up to 6 tries per booking; "
        + _think_note(run.get("think_s", 0.0))
        + f"scenario cap {run['rush_cap_s']:.0f} s after T0",
        f"- Logins: {logins['ok']:,} ok, {logins['failed']} failed, {logins['rate_per_s']:.0f}/s, "
        f"last one {logins['done_rel_t0_s']:+.1f} s from T0 (lead {run['login_lead_s']:.0f} s)",
        f"- Rush: {data['rush']['requests']:,} requests, {data['rush']['rps']:.0f} req/s on average over "
        f"{data['rush']['seconds']:.0f} s, peak {data['rush']['peak_rps_1s']:,} req/s (1 s buckets)"
        + (
            f"; RUSH.md sizing for this profile: ~{run['sizing_req_s'][0]} average, ~{run['sizing_req_s'][1]} burst"
            if run.get("sizing_req_s")
            else ""
        )
        + (
            f"; the requests that failed were sent between T0{data['rush']['errors_from_s']:+.1f} s "
            f"and T0{data['rush']['errors_until_s']:+.1f} s"
            if data["rush"].get("errors_from_s") is not None
            else ""
        ),
        f"- Bookings: {data['bookings']['success_answers_rush']:,} in the rush, {data['bookings']['success_answers']:,} success answers in all; "
        f"{data['bookings']['by_simulated_residents']:,} bookings held by the simulated residents",
        "- Hot set: " + _hot_line(data["hot_set"]),
        "",
        "## Endpoints",
        "",
        "Response times in ms, from the raw times (nearest rank). Rush rows: over each endpoint's own active span.",
        "",
        *_endpoints_and_errors(data),
        *_latency_windows(data["rush"].get("latency_windows", [])),
    ]
    refusals = data["answers_summary"]["refusals"]
    lines += [
        "## Answers",
        "",
        *_table(["phase:method:kind", "count"], data["answers_summary"]["by_phase_method_kind"].items()),
        "",
        "Refusals by code and where the code came from (header = X-Refusal, body = the page's message, status = "
        "the status code alone, time = a 409 before T0):",
        "",
        *_table(["kind:code:source", "count"], refusals.items()),
        "",
        "## Ceiling (same servers, after the rush; closed loop, no wait)",
        "",
        *_table(
            ["phase", "users", "seconds", "requests", "req/s", "p50", "p95", "p99", "statuses"],
            [
                [
                    c["phase"],
                    c["users"],
                    c["seconds"],
                    c["requests"],
                    c["rps"],
                    c["p50_ms"],
                    c["p95_ms"],
                    c["p99_ms"],
                    _statuses(c["statuses"]),
                ]
                for c in data["ceiling"]["phases"]
            ],
        ),
        "",
        f"- booking POST / bare claim = **{_fmt(data['ceiling']['ratios']['booking_vs_bare_claim'])}** (target ≥ 0.5)",
        f"- availability / bare read = **{_fmt(data['ceiling']['ratios']['availability_vs_bare_read'])}** (target ≥ 0.6)",
        "",
        "## Correctness checks (SQL on the run database)",
        "",
        *_table(
            ["check", "result", "checked", "violations"],
            [
                [f"({c['key']}) {c['title']}", _verdict(c["passed"]), c["checked"], c["violations"]]
                for c in data["checks"]
            ],
        ),
        "",
    ]
    for c in data["checks"]:
        if c["samples"]:
            lines += [f"Violations of ({c['key']}), first {len(c['samples'])}:", ""]
            lines += [f"- `{json.dumps(s, ensure_ascii=False)}`" for s in c["samples"]] + [""]
    lines += ["## Fairness of the opening", "", *_fairness(data, other), ""]
    q = data["waiting_room"]
    lines += [
        "## Waiting room",
        "",
        f"- {'enabled (WAITING_ROOM=on)' if q['enabled'] else 'off'}; queued answers {q['responses']:,} to {q['users']:,} residents "
        f"({q.get('never_admitted', 0):,} still queued when the scenario ended), "
        f"largest queue position {q['max_position']:,}; wait until admitted p50 {_fmt(q['wait_p50_s'])} s, "
        f"p95 {_fmt(q['wait_p95_s'])} s, max {_fmt(q['wait_max_s'])} s",
        "",
        "## Servers",
        "",
        *[f"- {name}: `{cmd}`" for name, cmd in data["servers"]["commands"].items()],
        f"- env: {', '.join(f'{k}={v}' for k, v in data['servers']['env'].items())}",
        f"- ready after {data['servers']['startup_s']} s; PostgreSQL {data['machine']['postgres']} "
        f"(max_connections {data['servers']['postgres_max_connections']}); CONN_MAX_AGE {data['servers']['conn_max_age']}; "
        f"password hasher {data['servers']['password_hasher']}",
        f"- template `{data['template']['name']}` ({_template_line(data['template'])}; "
        f"{data['template']['residents']:,} residents, fingerprint {data['template']['fingerprint']})",
        _server_log_line(data),
        "- web server (master + workers) CPU per request: "
        + ", ".join(
            f"{k} {_fmt(v['cpu_ms_per_request'])} ms ({_fmt(v['cpu_s'])} s / {v['requests']:,})"
            for k, v in data["server_cpu"].items()
        ),
        f"- after the rush the web server needed {data['drain']['after_rush_s']:.0f} s to work off its backlog"
        + ("" if data["drain"]["drained"] else " and was STILL BUSY when the ceiling started"),
        "- load generator (this one locust process) CPU, % of one core, max/mean per phase: "
        + ", ".join(f"{k} {_fmt(v['max'])}/{_fmt(v['mean'])}" for k, v in data["load_generator_cpu"].items()),
    ]
    lines += [f"  - `{s[:600]}`" for s in data["server_log"]["samples"]]
    lines.append("")
    return "\n".join(lines)


def _server_log_line(data: dict[str, Any]) -> str:
    line = (
        f"- server logs: {data['server_log']['tracebacks']} tracebacks, {data['server_log']['error_lines']} error lines"
    )
    overflows = data["machine"].get("listen_overflows")
    if overflows is not None:
        line += (
            f"; the kernel dropped {overflows:,} connection attempts on a full listen queue during the run "
            "(TcpExtListenOverflows; each is retried after 1 s, 3 s, …)"
        )
    return line


def _template_line(template: dict[str, Any]) -> str:
    if template["rebuilt"]:
        return f"rebuilt ({template.get('reason', '')}) in {template.get('seconds')} s"
    return "reused"


def _endpoints_and_errors(data: dict[str, Any]) -> list[str]:
    """The endpoint table and the errors by kind, shared by the rush and intake reports."""
    lines = [
        *_table(
            ["phase", "endpoint", "requests", "req/s", "p50", "p95", "p99", "max", "failures", "statuses"],
            [
                [
                    e["phase"],
                    e["name"],
                    e["requests"],
                    e["rps"],
                    e["p50_ms"],
                    e["p95_ms"],
                    e["p99_ms"],
                    e["max_ms"],
                    e["failures"],
                    _statuses(e["statuses"]),
                ]
                for e in data["endpoints"]
            ],
        ),
        "",
        "## Errors by kind",
        "",
        *_table(["kind", "count"], data["errors"]["by_kind"].items()),
        "",
    ]
    if data["errors"]["samples"]:
        lines += ["First errors:", ""] + [f"- `{s}`" for s in data["errors"]["samples"][:5]] + [""]
    return lines


def _latency_windows(windows: Sequence[dict[str, Any]]) -> list[str]:
    names = sorted({w["name"] for w in windows})
    if not names:
        return []
    by_window: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for w in windows:
        by_window[w["from_s"]][w["name"]] = w
    rows = []
    for start, cells in sorted(by_window.items()):
        row: list[Any] = [f"T0{start:+d} s"]
        for name in names:
            w = cells.get(name)
            row.append(f"{w['rps']:,} · {_fmt(w['p50_ms'])} · {_fmt(w['p95_ms'])}" if w else "")
        rows.append(row)
    return [
        "## Latency over the opening",
        "",
        f"By when the request was sent, in {WINDOW_S} s windows: requests a second · p50 ms · p95 ms.",
        "",
        *_table(["window", *names], rows),
        "",
    ]


def _statuses(statuses: dict[str, int]) -> str:
    return " ".join(f"{k}×{v}" for k, v in statuses.items())


def _think_note(think_s: float, after: str = "the grid") -> str:
    if think_s <= 0:
        return "no pause between clicks (everyone a closed loop, as fast as the server answers); "
    return f"everyone pauses U({0.5 * think_s:g}, {1.5 * think_s:g}) s before each click after {after}; "


def _hot_line(hot: dict[str, Any]) -> str:
    if hot["gone"]:
        head = f"all {hot['size']} gone {hot['gone_after_s']} s after T0"
    else:
        head = f"not gone: {hot['remaining']} of {hot['size']} still free when the rush ended"
    return (
        f"{head} (half gone after {_fmt(hot['half_gone_after_s'])} s, 90% after {_fmt(hot['ninety_gone_after_s'])} s)"
    )


def _fairness(data: dict[str, Any], other: dict[str, Any] | None) -> list[str]:
    runs = [data] + ([other] if other else [])
    rows = []
    for d in sorted(runs, key=lambda d: d["meta"]["waiting_room"]):
        f = d["fairness"]
        rows.append(
            [
                "on" if d["meta"]["waiting_room"] else "off",
                d["meta"]["started_utc"],
                f"{f['hammerers']} / {f['users']} ({f['share_of_users']:.1%})",
                f"{f['hammerer_wins']} / {f['hot_wins']} ({f['share_of_wins']:.1%})",
                f["advantage"],
            ]
        )
    note = (
        "Hammerers refresh every 100 ms from 1–2 s before T0 (and while queued); everyone else arrives at T0 + U(0, 10 s)"
        " and waits as long as the waiting room asks (X-Retry-After-Ms, as the page's script does)."
    )
    if other is None:
        note += " Run the same profile with the waiting room the other way to compare."
    return [
        note,
        "",
        *_table(
            ["waiting room", "run (UTC)", "hammerers / users", "hammerer wins / hot wins", "win share ÷ user share"],
            rows,
        ),
        *_admission(data["fairness"]),
    ]


def _admission(fair: dict[str, Any]) -> list[str]:
    """The waiting room's order: hammerers among the first k places and the first k let in."""
    admission = fair.get("admission") or {}
    if not admission:
        return []
    share = fair["share_of_users"]
    rows = [[r["k"], f"{r['k'] * share:.1f}", r["by_promise"], r["by_admission"]] for r in admission["first"]]
    late = [
        [group, v["residents"], _fmt(v["p50_s"]), _fmt(v["p95_s"])]
        for group, v in (("hammerers", admission["late_hammerers"]), ("others", admission["late_others"]))
    ]
    mean, sd = admission.get("hammerers_mean_place"), admission.get("hammerers_mean_place_sd")
    return [
        "",
        "Hammerers among the first k residents, in the order of the instants the room promised them "
        "(their places) and in the order they were let in:",
        "",
        *_table(["first k", "expected", "by place", "by admission"], rows),
        "",
        f"The hammerers' mean place, as a fraction of the line (0 = first): {_fmt(mean)} "
        f"(0.5 ± {_fmt(sd)} by chance alone).",
        "",
        "Seconds from the promised instant (the last queued answer + X-Retry-After-Ms) to the request that was let in:",
        "",
        *_table(["group", "residents", "p50", "p95"], late),
    ]


def write(data: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    """Write the timestamped JSON and Markdown files and refresh latest-<profile>[-wr].*"""
    results_dir.mkdir(parents=True, exist_ok=True)
    meta = data["meta"]
    intake = meta.get("scenario") == "intake"
    suffix = f"{'intake-' if intake else ''}{meta['profile']}{'-wr' if meta['waiting_room'] else ''}"
    stamp = dt.datetime.fromisoformat(meta["started_utc"]).strftime("%Y%m%dT%H%M%SZ")
    other_path = results_dir / f"latest-{meta['profile']}{'' if meta['waiting_room'] else '-wr'}.json"
    other = None
    if not intake and other_path.exists():
        try:
            other = json.loads(other_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            other = None
    json_path = results_dir / f"{stamp}-{suffix}.json"
    md_path = results_dir / f"{stamp}-{suffix}.md"
    json_path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str), encoding="utf-8")
    markdown = render_intake_markdown(data) if intake else render_markdown(data, other=other)
    md_path.write_text(markdown, encoding="utf-8")
    shutil.copyfile(json_path, results_dir / f"latest-{suffix}.json")
    shutil.copyfile(md_path, results_dir / f"latest-{suffix}.md")
    return json_path, md_path


# --- Scenario (b): the lottery intake (loadtests/intake.py) -------------------------------------------

INTAKE_ENDPOINT_ORDER = [
    "login form",
    "login POST",
    "lottery index",
    "round room",
    "apply GET",
    "apply POST",
    "my entries",
    "withdraw POST",
    "rank POST",
]
INTAKE_PHASES = ("opening", "last_hour", "after_close")


def build_intake(
    *,
    profile: str,
    began: float,
    t0: float,
    close: float,
    samples: Sequence[Sample],
    answers: Sequence[Any],
    checks: Sequence[CheckResult],
    extra: dict[str, Any],
    waiting_room: bool = False,
) -> dict[str, Any]:
    """The intake run's JSON (the Markdown page is rendered from it). No ceiling phases."""
    endpoints = []
    for phase in ("login", *INTAKE_PHASES):
        group = [s for s in samples if s.phase == phase]
        by = _by_name(group)
        for name in sorted(by, key=lambda n: (INTAKE_ENDPOINT_ORDER.index(n) if n in INTAKE_ENDPOINT_ORDER else 99, n)):
            endpoints.append({"phase": phase, **endpoint_stats(name, by[name])})
    errors = Counter(s.error for s in samples if s.error)
    work = [s for s in samples if s.phase != "login"]
    end = close + 5.0
    series = _timeseries(work, t0, end)
    kinds = Counter(f"{a.phase}:{a.method}:{a.kind}" for a in answers)
    codes = Counter(f"{a.phase}:{a.kind}:{a.code}:{a.code_source}" for a in answers if a.kind != "success")
    applies = [a for a in answers if a.method == "apply"]
    after = [a for a in applies if a.sent >= close]
    data: dict[str, Any] = {
        "meta": {
            "scenario": "intake",
            "profile": profile,
            "waiting_room": waiting_room,
            "started_utc": dt.datetime.fromtimestamp(began, dt.UTC).isoformat(timespec="seconds"),
            "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(dt.datetime.now(dt.UTC).timestamp() - began, 1),
        },
        **extra,
        "endpoints": endpoints,
        "errors": {
            "by_kind": {k: errors.get(k, 0) for k in ERROR_KINDS},
            "by_endpoint": {
                name: dict(Counter(s.error for s in group if s.error))
                for name, group in _by_name(samples).items()
                if any(s.error for s in group)
            },
            "samples": [
                {"name": s.name, "status": s.status, "error": s.error, "t_rel_t0_s": round(s.start - t0, 2)}
                for s in samples
                if s.error
            ][:20],
        },
        "intake": {
            **endpoint_stats("intake (all requests)", work, (t0, max(end, t0 + 1))),
            "peak_rps_1s": max((b["requests"] for b in series), default=0),
            "timeseries": series,
            "applies_ok": {p: sum(1 for a in applies if a.phase == p and a.kind == "success") for p in INTAKE_PHASES},
            "after_close_attempts": len(after),
            "after_close_refused": sum(1 for a in after if a.kind != "success" and a.code == "intake_closed"),
            "after_close_errors": sum(1 for a in after if a.kind == "error"),
            "after_close_other": sum(
                1 for a in after if a.kind not in ("error", "success") and a.code != "intake_closed"
            ),
            "early_refused_not_open": sum(1 for a in applies if a.t < t0 and a.code == "intake_not_open"),
        },
        "answers_summary": {
            "by_phase_method_kind": dict(sorted(kinds.items())),
            "refusals": dict(sorted(codes.items())),
        },
        "checks": [c.to_dict() for c in checks],
        "answers": [asdict(a) for a in answers],
    }
    data["meta"]["exit_reasons"] = intake_exit_reasons(data)
    return data


def intake_exit_reasons(data: dict[str, Any]) -> list[str]:
    """Why an intake run must fail: correctness, 5xx/timeouts/unexpected statuses, a broken harness."""
    reasons = [f"check ({c['key']}) failed: {c['title']}" for c in data["checks"] if not c["passed"]]
    errors = data["errors"]["by_kind"]
    reasons += [f"{errors[k]} {k} answers" for k in ERROR_KINDS if errors.get(k)]
    if data["logins"]["failed"]:
        reasons.append(f"{data['logins']['failed']} logins failed")
    ok = data["intake"]["applies_ok"]
    if not ok.get("opening"):
        reasons.append("no entry succeeded at the opening (harness or server broken)")
    if not ok.get("last_hour"):
        reasons.append("no entry succeeded in the last hour (harness or server broken)")
    if not data["intake"]["after_close_attempts"]:
        reasons.append("no attempt after the close was made")
    elif data["intake"]["after_close_other"]:
        reasons.append(f"{data['intake']['after_close_other']} attempts after the close refused with another code")
    return reasons


def render_intake_markdown(data: dict[str, Any]) -> str:
    meta, run, logins, intake = data["meta"], data["run"], data["logins"], data["intake"]
    entries = data["entries"]
    lines = [
        f"# Lottery intake benchmark — profile `{meta['profile']}`",
        "",
        f"{meta['started_utc']} UTC, {meta['duration_s']:.0f} s; git `{data['git']['commit'][:12]}` when the servers started"
        f"{' + uncommitted changes' if data['git']['dirty'] else ''}; {data['machine']['nproc']} cores, load average "
        f"{data['machine']['loadavg_before'][0]:.2f} before → {data['machine']['loadavg_after'][0]:.2f} after; "
        f"exit code **{meta['exit_code']}**"
        + (f" ({'; '.join(meta['exit_reasons'])})" if meta["exit_reasons"] else ""),
        "",
        "## The run",
        "",
        f"- Use month **{run['month'][:7]}**: {len(run['rounds'])} rounds (one per facility group), "
        f"{run['lottery_rooms']} lottery rooms; intake opens at T0 = {run['t0_local']} and closes at "
        f"T_close = {run['close_local']} (T0 + {run['opening_s']:.0f} s opening + {run['last_phase_s']:.0f} s compressed "
        f"last hour), on the server's clock"
        + (f"; T0 postponed {run['t0_postponed_s']:.0f} s (logins)" if run["t0_postponed_s"] else ""),
        f"- Opening crowd {run['opening_users']:,} ({run['early_users']} on the form before T0), arrival T0 + U(0, 10 s), "
        f"1–5 entries each from {run['hot_slots']} hot lottery slots (Zipf s = 1.1), cap 10 per round; "
        f"{run['withdrawers']} withdraw one, {run['rank_changers']} move one to first preference; "
        + _think_note(run.get("think_s", 0.0), "the index").rstrip("; "),
        f"- Last-hour crowd {run['last_hour_users']:,}, steady through the last {run['last_phase_s']:.0f} s, 1–3 entries "
        f"each; {run['after_close_users']} try again within {run['after_close_s']:.0f} s after the close",
        "- Waiting room: "
        + (
            "on (the apply step is gated at the intake opening; queued answers are the `(queued)` rows)"
            if data["meta"]["waiting_room"]
            else "off"
        ),
        f"- Logins: {logins['ok']:,} ok, {logins['failed']} failed, {logins['rate_per_s']:.0f}/s, last one "
        f"{logins['done_rel_t0_s']:+.1f} s from T0",
        f"- Requests: {intake['requests']:,} from T0 to T_close + 5 s, {intake['rps']:.1f} req/s on average, "
        f"peak {intake['peak_rps_1s']:,} req/s (1 s buckets)",
        f"- Entries accepted: opening {intake['applies_ok']['opening']:,}, last hour {intake['applies_ok']['last_hour']:,}, "
        f"after the close {intake['applies_ok']['after_close']:,}; in the database {entries['total']:,} "
        f"({entries['active']:,} active, {entries['withdrawn']:,} withdrawn) by {entries['applicants']:,} applicants",
        f"- After the close: {intake['after_close_attempts']} attempts, {intake['after_close_refused']} refused "
        f"`intake_closed`, {intake['after_close_errors']} errors (an accepted one would fail check i4); before T0: {intake['early_refused_not_open']} answers `intake_not_open`",
        f"- Round states after the run: {', '.join(f'{k}: {v}' for k, v in run['round_states_after'].items())}",
        "- Ceiling phases: not run for this scenario (the rush's `make bench-rush` measures them)",
        "",
        "## Endpoints",
        "",
        "Response times in ms, from the raw times (nearest rank); req/s over each endpoint's own active span.",
        "",
        *_endpoints_and_errors(data),
    ]
    lines += [
        "## Answers",
        "",
        *_table(["phase:method:kind", "count"], data["answers_summary"]["by_phase_method_kind"].items()),
        "",
        "Refusals by code and where it came from (header = X-Refusal, body = the page's message, status = the "
        "status code alone, client = the load generator's own error):",
        "",
        *_table(["phase:kind:code:source", "count"], data["answers_summary"]["refusals"].items()),
        "",
        "## Correctness checks (SQL on the run database)",
        "",
        *_table(
            ["check", "result", "checked", "violations"],
            [
                [f"({c['key']}) {c['title']}", _verdict(c["passed"]), c["checked"], c["violations"]]
                for c in data["checks"]
            ],
        ),
        "",
    ]
    for c in data["checks"]:
        if c["samples"]:
            lines += [f"Violations of ({c['key']}), first {len(c['samples'])}:", ""]
            lines += [f"- `{json.dumps(s, ensure_ascii=False)}`" for s in c["samples"]] + [""]
    cpu = data["server_cpu"]
    lines += [
        "## Servers",
        "",
        *[f"- {name}: `{cmd}`" for name, cmd in data["servers"]["commands"].items()],
        f"- ready after {data['servers']['startup_s']} s; PostgreSQL {data['machine']['postgres']}; template "
        f"`{data['template']['name']}` ({_template_line(data['template'])})",
        _server_log_line(data),
        f"- web server CPU {_fmt(cpu['cpu_s'])} s for {cpu['requests']:,} requests "
        f"({_fmt(cpu['cpu_ms_per_request'])} ms each); idle {data['drain']['after_intake_s']:.0f} s after the intake",
        f"- load generator CPU (% of one core) max/mean: {_fmt(data['load_generator_cpu']['max'])}/"
        f"{_fmt(data['load_generator_cpu']['mean'])}",
    ]
    lines += [f"  - `{s[:600]}`" for s in data["server_log"]["samples"]]
    lines.append("")
    return "\n".join(lines)
