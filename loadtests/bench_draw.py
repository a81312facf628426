"""The draw benchmark (`make bench-draw`): lottery.domain.draw over 100,000 and 1,000,000 synthetic
entries on one core, the pure function alone (no database), with the check that recomputing gives
the same digest.

The synthetic month is shaped like a ward's, scaled up: applicants enter 1-10 slots (mean about 3),
preferring popular rooms, weekends and evenings (Zipf-like), with divisible halls whose whole
overlaps its halves. Usage: python -m loadtests.bench_draw [--sizes 100000 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import time

from lottery import domain

BANDS = ("am", "pm", "ev")


def synthetic(entries: int, seed: int) -> list[domain.Entry]:
    """About `entries` canonical entries over a month of ~2,000 rooms (~180,000 slots)."""
    rng = random.Random(seed)
    rooms = max(50, entries // 500)
    days = 30
    # Room popularity: a few halls draw most of the demand.
    weights = [1 / (r + 1) ** 0.8 for r in range(rooms)]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    made: list[domain.Entry] = []
    applicant = 0
    while len(made) < entries:
        wanted = min(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 7, 10)), entries - len(made))
        seen: set[str] = set()
        rank = 0
        while rank < wanted:
            room = _pick(rng, cumulative, total)
            day = rng.randrange(days)
            band = BANDS[2] if rng.random() < 0.5 else rng.choice(BANDS)
            divisible = room % 10 == 0
            if divisible and rng.random() < 0.4:
                slot = f"r{room}/{day}/{band}"
                cells: tuple[str, ...] = (f"r{room}a/{day}/{band}", f"r{room}b/{day}/{band}")
            else:
                part = ("a" if rng.random() < 0.5 else "b") if divisible else ""
                slot = f"r{room}{part}/{day}/{band}"
                cells = (f"r{room}{part or 'a'}/{day}/{band}",)
            if slot in seen:
                continue
            seen.add(slot)
            rank += 1
            made.append(domain.Entry(applicant, rank, slot, cells))
        applicant += 1
    return made


def _pick(rng: random.Random, cumulative: list[float], total: float) -> int:
    import bisect

    return bisect.bisect_left(cumulative, rng.random() * total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} python {platform.python_version()}"
    )
    for size in args.sizes:
        began = time.perf_counter()
        entries = synthetic(size, args.seed)
        built = time.perf_counter() - began
        seed = hashlib.sha256(f"bench-{args.seed}-{size}".encode()).digest()
        rules = domain.Rules(max_wins=4, runner_ups=2)
        began = time.perf_counter()
        result = domain.draw(seed, entries, rules)
        drew = time.perf_counter() - began
        began = time.perf_counter()
        digest = result.digest()
        digested = time.perf_counter() - began
        again = domain.draw(seed, entries, rules).digest()
        won = sum(1 for r in result.results if r.outcome is domain.Outcome.WON)
        print(
            f"{size:>9,} entries, {len(result.order):>8,} applicants: draw {drew:6.2f} s "
            f"(+ digest {digested:.2f} s; synthetic list built in {built:.1f} s), passes {result.passes}, "
            f"won {won:,}, recomputed identical: {again == digest}"
        )


if __name__ == "__main__":
    main()
