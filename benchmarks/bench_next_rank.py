"""Time next-rank progress (docs/semantics.md 3.10) against the plain close and progress report, warm cache.

Usage::

    .venv/bin/python benchmarks/bench_next_rank.py --members 1000000 [--plan plans/hybrid_leadership.yaml]
        [--shape realistic] [--repeats 3]

Prints the best of ``--repeats`` warm runs of: close, progress() (the table in memory), writing progress.csv,
then the same with ``close(..., next_rank=True)``, and the per-bonus ``next_rank:*`` timings of the close.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from compplan import close, load_plan
    from compplan.compile import compile_plan
    from compplan.explain import progress
    from compplan.genealogy import Genealogy
    from compplan.io.csvio import write_csv
    from compplan.synthetic import generate

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--members", type=int, default=1_000_000)
    p.add_argument("--plan", default=str(ROOT / "plans" / "hybrid_leadership.yaml"))
    p.add_argument("--shape", default="realistic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    program = compile_plan(load_plan(args.plan))
    members, orders = generate(args.members, seed=args.seed, shape=args.shape)  # type: ignore[arg-type]
    tree = Genealogy.build(members)
    small_m, small_o = generate(1000, seed=1)
    close(program, small_m, small_o, "2026-10", next_rank=True)  # load / compile the numba cache
    best: dict[str, float] = {}
    steps: dict[str, float] = {}
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for label, flag in (("plain", False), ("next_rank", True)):
                t0 = time.perf_counter()
                res = close(program, tree, orders, "2026-10", next_rank=flag)
                t1 = time.perf_counter()
                header, columns = progress(res)
                t2 = time.perf_counter()
                write_csv(Path(tmp) / "progress.csv", header, columns)
                t3 = time.perf_counter()
                rows = len(columns[0].values)
                for key, seconds in ((f"{label}: close", t1 - t0), (f"{label}: progress", t2 - t1)):
                    best[key] = min(best.get(key, seconds), seconds)
                key = f"{label}: write progress.csv"
                best[key] = min(best.get(key, t3 - t2), t3 - t2)
                if flag:
                    for k, v in res.timings.items():
                        if k.startswith("next_rank"):
                            steps[k] = min(steps.get(k, v), v)
    print(f"{args.members:,} members, {Path(args.plan).name}, shape {args.shape}, {rows:,} progress rows")
    for key, seconds in best.items():
        print(f"  {key:<34} {seconds:8.3f} s")
    for key, seconds in steps.items():
        print(f"    {key:<32} {seconds:8.3f} s")


if __name__ == "__main__":
    main()
