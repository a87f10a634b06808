"""Member ids of three kinds on the same network: dense integers, sparse integers, text.

Usage::

    .venv/bin/python benchmarks/bench_ids.py --sizes 1000000 10000000 [--cli]

``compplan.synthetic.generate(ids=...)`` renames the members of one seeded network: ``dense`` (a permutation of
``1..n``, the direct id table), ``sparse`` (12-digit member numbers) and ``text`` (``"US-424242424242"``; both
through the hash table of ``compplan.kernels.idhash``). For each kind and size, in a fresh process each: the
warm close of ``plans/hybrid_leadership.yaml`` on in-memory arrays (best of ``--repeats`` after one warm-up,
the relabel and input checks apart) and, with ``--cli``, ``compplan close`` from CSV (wall time, peak RSS;
started from this script's own small process, since Linux keeps a child's peak RSS from before its exec).
Every member's PV, GV and rank are checked equal across the kinds (totals may differ by a cent where the
pool's leftover cents go to the earliest members in id order). Prints a markdown table and writes
``benchmarks/results/ids.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_close as bc  # noqa: E402

PLAN = ROOT / "plans" / "hybrid_leadership.yaml"
KINDS = ("dense", "sparse", "text")


def worker(n: int, kind: str, seed: int, repeats: int, cli: bool, folder: Path) -> dict[str, Any]:
    """One kind and size: warm close in this process, then (``cli``) the inputs written as CSV into ``folder``."""
    from compplan.synthetic import generate

    members, orders = generate(n, seed=seed, ids=kind)  # type: ignore[arg-type]
    run = bc.in_process(PLAN, n, seed, repeats=repeats, data=(members, orders))  # one warm-up, best of repeats
    r: Any = run["result"]
    best: dict[str, float] = run["steps_s"]  # type: ignore[assignment]
    dense_ids = generate(n, seed=seed)[0].ids  # the same members by their dense ids, for the check
    rename = np.empty(n, dtype=members.ids.dtype)
    rename[dense_ids - 1] = members.ids
    rows = r.tree.index.lookup(rename)[0]
    out: dict[str, Any] = {
        "members": n,
        "ids": kind,
        "close_s": min(run["runs_s"]),  # type: ignore[type-var]
        "relabel_s": best["relabel"],
        "check_inputs_s": best["check_inputs"],
        # PV, GV and rank of the members in dense-id order, one digest each
        "checksum": {c: _digest(np.asarray(r.column(c))[rows]) for c in ("pv", "gv", "rank")},
    }
    if cli:
        r = run = None
        bc.write_csv_inputs(n, folder, seed, data=(members, orders))
    return out


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.int64).tobytes()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cli", action="store_true", help="also run compplan close from CSV")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ids.json")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        n, kind, folder = int(args.worker[0]), args.worker[1], Path(args.worker[2])
        print(json.dumps(worker(n, kind, args.seed, args.repeats, args.cli, folder)))
        return
    rows = []
    for n in args.sizes:
        sums: dict[str, Any] = {}
        for kind in args.kinds:
            with tempfile.TemporaryDirectory() as tmp:
                cmd = [sys.executable, __file__, "--worker", str(n), kind, tmp, "--seed", str(args.seed)]
                cmd += ["--repeats", str(args.repeats)] + (["--cli"] if args.cli else [])
                start = time.perf_counter()
                row = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                row["process_s"] = time.perf_counter() - start
                if args.cli:  # from this small process: a child's peak RSS counts what it shared at the fork
                    row["cli"] = bc.cli_run(PLAN, Path(tmp), None)
            if sums and row["checksum"] != sums:
                sys.exit(f"{kind} ids at {n}: PV, GV or rank differ from the {args.kinds[0]} ids")
            sums = row.pop("checksum")
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    lines = [
        "| members | ids | warm close | relabel | input checks | CLI from CSV | peak RSS (CLI) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cli = r.get("cli") or {}
        wall = f"{cli['wall_s']:.2f} s" if cli else "-"
        rss = f"{cli['peak_rss_mb'] / 1024:.2f} GB" if cli else "-"
        lines.append(
            f"| {r['members']:,} | {r['ids']} | {r['close_s']:.3f} s | {r['relabel_s'] * 1e3:.0f} ms "
            f"| {r['check_inputs_s'] * 1e3:.0f} ms | {wall} | {rss} |"
        )
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
