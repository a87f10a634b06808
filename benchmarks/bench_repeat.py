"""Many closes in one process: wall time, kernel time and page faults per close.

    .venv/bin/python benchmarks/bench_repeat.py --members 1000000 --closes 10
    MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_MMAP_THRESHOLD_=33554432 .venv/bin/python benchmarks/bench_repeat.py

For a process that closes again and again (a statement service, ``compplan simulate``), after three warm-up
closes: the mean and best wall time of ``--closes`` closes, and per close the user and kernel CPU time and the
minor page faults (``getrusage``). Run it under different allocator settings in the environment to compare them
(docs/performance.md, "Tuning the allocator").
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from compplan import close, load_plan
from compplan.compile import compile_plan
from compplan.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--closes", type=int, default=10)
    ap.add_argument("--plan", type=Path, default=ROOT / "plans" / "hybrid_leadership.yaml")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    members, orders = generate(args.members, seed=args.seed, period="2026-10")
    program = compile_plan(load_plan(args.plan))
    for _ in range(3):
        close(program, members, orders, "2026-10")
    before = resource.getrusage(resource.RUSAGE_SELF)
    walls = []
    for _ in range(args.closes):
        start = time.perf_counter()
        close(program, members, orders, "2026-10")
        walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    k = args.closes
    print(
        f"{args.members:,} members, {k} closes: mean {sum(walls) / k * 1e3:.0f} ms, best {min(walls) * 1e3:.0f} ms; "
        f"per close user {(after.ru_utime - before.ru_utime) / k * 1e3:.0f} ms, "
        f"kernel {(after.ru_stime - before.ru_stime) / k * 1e3:.0f} ms, "
        f"minor page faults {(after.ru_minflt - before.ru_minflt) / k:,.0f}"
    )


if __name__ == "__main__":
    main()
