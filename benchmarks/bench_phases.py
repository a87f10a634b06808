"""The phases of ``compplan close`` in one process, on one thread and on every core, alternating.

    .venv/bin/python benchmarks/bench_phases.py --members 10000000 --threads 1 2 --repeat 3

Writes the network once as CSV and Parquet (``bench_close.write_csv_inputs`` / ``write_parquet_inputs``) into a
temporary folder, then times, for each thread count in turn (``COMPPLAN_THREADS``, read by every call), the
phases the CLI runs: reading members and orders from CSV and from Parquet (``pip install -e '.[arrow]'``), the
relabel (``Genealogy.build``), the whole close and writing the result files (``write_result``). Each phase is
the best of ``--repeat`` rounds; rounds alternate the thread counts, so a change of machine speed hits both.
Results are checked equal across thread counts (the files written byte for byte). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_close as bc  # noqa: E402


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    from compplan import close, load_plan
    from compplan.compile import compile_plan
    from compplan.genealogy import Genealogy
    from compplan.io.csvio import read_members, read_orders
    from compplan.io.output import write_result
    from compplan.synthetic import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--plan", type=Path, default=ROOT / "plans" / "hybrid_leadership.yaml")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    try:
        import pyarrow  # noqa: F401

        parquet = True
    except ImportError:
        parquet = False
    program = compile_plan(load_plan(args.plan))
    folder = Path(tempfile.mkdtemp(prefix="compplan-phases-"))
    try:
        data = generate(args.members, seed=args.seed, period="2026-10")
        bc.write_csv_inputs(args.members, folder, args.seed, data=data)
        if parquet:
            bc.write_parquet_inputs(args.members, folder, args.seed, data=data)
        del data
        best: dict[tuple[str, int], float] = {}

        def one_round(count: int) -> None:
            os.environ["COMPPLAN_THREADS"] = str(count)

            def note(phase: str, seconds: float) -> None:
                best[phase, count] = min(best.get((phase, count), float("inf")), seconds)

            seconds, members = _timed(lambda: read_members(folder / "members.csv"))
            note("read members CSV", seconds)
            seconds, orders = _timed(lambda: read_orders(folder / "orders.csv", 2))
            note("read orders CSV", seconds)
            if parquet:
                from compplan.io.parquet import read_members_parquet, read_orders_parquet

                note("read members Parquet", _timed(lambda: read_members_parquet(folder / "m.parquet"))[0])
                note("read orders Parquet", _timed(lambda: read_orders_parquet(folder / "o.parquet", 2))[0])
            note("relabel (Genealogy.build)", _timed(lambda: Genealogy.build(members))[0])
            seconds, result = _timed(lambda: close(program, members, orders, "2026-10"))
            note("close (relabel included)", seconds)
            out = folder / f"out{count}"
            shutil.rmtree(out, ignore_errors=True)
            note("write result files", _timed(lambda: write_result(result, out))[0])

        for round_ in range(args.repeat):
            for count in args.threads if round_ % 2 == 0 else args.threads[::-1]:
                one_round(count)
        outs = [folder / f"out{count}" for count in args.threads]
        names = sorted(p.name for p in outs[0].iterdir())
        same = all(filecmp.cmp(outs[0] / f, o / f, shallow=False) for o in outs[1:] for f in names)
        if not same:
            raise SystemExit("the result files differ between thread counts")
        phases = list(dict.fromkeys(phase for phase, _ in best))
        print(f"{args.members:,} members, plan {args.plan.name}, best of {args.repeat}; result files identical")
        print()
        print("| phase | " + " | ".join(f"{c} thread{'s' if c > 1 else ''}" for c in args.threads) + " |")
        print("| --- |" + " ---: |" * len(args.threads))
        for phase in phases:
            print(f"| {phase} | " + " | ".join(f"{best[phase, c]:.3f} s" for c in args.threads) + " |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
