"""loadtests/report.py: the latency of the opening window by window."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from loadtests.report import latency_windows

T0 = 1_000_000.0


def sample(name: str, after_t0: float, ms: float) -> Any:
    """What the report reads of loadtests.rush.Sample (importing it would start gevent's patching)."""
    return SimpleNamespace(name=name, start=T0 + after_t0, ms=ms, status=200, error=None, phase="rush")


def test_windows_split_by_when_the_request_was_sent_and_leave_queued_answers_out():
    samples = [
        sample("book POST", 0.5, 100),
        sample("book POST", 4.9, 300),
        sample("book POST", 5.0, 2000),
        sample("book GET", -1.0, 10),
        sample("book GET (queued)", 1.0, 1),
    ]

    windows = latency_windows(samples, T0, T0 + 60)

    assert windows == [
        {"from_s": -5, "name": "book GET", "rps": 0.2, "p50_ms": 10, "p95_ms": 10},
        {"from_s": 0, "name": "book POST", "rps": 0.4, "p50_ms": 100, "p95_ms": 300},
        {"from_s": 5, "name": "book POST", "rps": 0.2, "p50_ms": 2000, "p95_ms": 2000},
    ]


def test_requests_after_the_rush_or_long_before_t0_are_not_counted():
    samples = [sample("book GET", -30, 5), sample("book GET", 61, 5), sample("book GET", 59, 7)]

    assert [w["from_s"] for w in latency_windows(samples, T0, T0 + 60)] == [55]


def test_admission_order_counts_hammerers_among_the_first_places_and_the_first_let_in():
    from loadtests.bench import Assignment, admission_order

    hammerers = (50, 51)
    assignments = [Assignment(i, 100 + i, str(i), 0.0, i in hammerers, 1, i) for i in range(60)]
    # Place i was promised at 0.1 * i s. The hammerers came 0.05 s after theirs, the others 0.9 s
    # after: by place neither hammerer is among the first 50, by admission both are (43 others
    # were let in before 5.15 s). Resident 59 was never let in.
    queue = SimpleNamespace(
        promised={i: 0.1 * i for i in range(60)},
        admitted={i: 0.1 * i + (0.05 if i in hammerers else 0.9) for i in range(59)},
    )

    result = admission_order(queue, assignments)

    assert result["first"] == [{"k": 50, "by_promise": 0, "by_admission": 2}]
    assert result["hammerers_mean_place"] == round(50.5 / 58, 3)  # places 50 and 51 of 0..58
    assert result["late_hammerers"] == {"residents": 2, "p50_s": 0.05, "p95_s": 0.05}
    assert result["late_others"] == {"residents": 57, "p50_s": 0.9, "p95_s": 0.9}
    assert admission_order(SimpleNamespace(promised={}, admitted={}), assignments) == {}
