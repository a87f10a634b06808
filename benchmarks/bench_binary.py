"""Binary and matrix closes at scale: placement, relabelling, the close, peak memory.

    .venv/bin/python benchmarks/bench_binary.py --sizes 100000 1000000 --plans binary_weekly forced_matrix

For each size and plan: a seeded synthetic network (`compplan.synthetic.generate`), placed with the plan's own
auto-placement (`compplan.place`: weaker leg / breadth-first spillover, so the binary tree has deep outside
legs), then a warm in-process close (best of `--repeat`) with its step timings. Peak RSS is the process's
high-water mark after each size. Writes a markdown table to stdout and JSON to `--json`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from compplan import close, load_plan
from compplan.genealogy import Genealogy
from compplan.placement import Placement, place
from compplan.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, plan_name: str, repeat: int, seed: int) -> dict[str, object]:
    plan = load_plan(ROOT / "plans" / f"{plan_name}.yaml")
    members, orders = generate(n, period="2026-10", seed=seed)
    t0 = time.perf_counter()
    placed = place(plan, members)
    t_place = time.perf_counter() - t0
    assert plan.placement is not None
    tree = Genealogy.build(placed)
    depth = Placement.build(tree, plan.placement).depth
    best = None
    for _ in range(repeat + 1):  # the first run compiles / loads the kernels
        t = time.perf_counter()
        result = close(plan, placed, orders, "2026-10")
        wall = time.perf_counter() - t
        if best is None or wall < best[0]:
            best = (wall, result.timings, result.summary)
    assert best is not None
    wall, timings, summary = best
    return {
        "plan": plan_name,
        "members": n,
        "order_lines": len(orders),
        "place_s": round(t_place, 3),
        "placement_depth_max": int(depth.max()),
        "placement_depth_mean": round(float(depth.mean()), 1),
        "close_s": round(wall, 3),
        "ns_per_member": round(wall / n * 1e9),
        "steps_ms": {k: round(v * 1000, 1) for k, v in timings.items()},
        "total_payout": summary["total_payout"],
        "payout_ratio": summary["payout_ratio"],
        "peak_rss_mb": round(peak_rss_mb()),
        "load": " ".join(f"{x:.2f}" for x in np.array(__import__("os").getloadavg())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--plans", nargs="+", default=["binary_weekly", "forced_matrix"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = [run(n, p, args.repeat, args.seed) for n in args.sizes for p in args.plans]
    print("| plan | members | order lines | place | depth max / mean | warm close | ns/member | peak RSS | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(
            f"| {r['plan']} | {r['members']:,} | {r['order_lines']:,} | {r['place_s']} s | "
            f"{r['placement_depth_max']:,} / {r['placement_depth_mean']} | {r['close_s']} s | {r['ns_per_member']} | "
            f"{r['peak_rss_mb']:,} MB | {r['load']} |"
        )
    for r in rows:
        steps = r["steps_ms"]
        assert isinstance(steps, dict)
        top = sorted(steps.items(), key=lambda kv: -kv[1])[:6]
        print(f"{r['plan']} {r['members']:,}: " + ", ".join(f"{k} {v} ms" for k, v in top))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
