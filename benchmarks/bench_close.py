"""Benchmark a period close: in-process steps (warm), CLI end to end from CSV (cold and warm), peak memory.

Usage::

    .venv/bin/python benchmarks/bench_close.py --sizes 10000 100000 1000000 [--plan plans/wellness_unilevel.yaml]

Writes a markdown table to stdout and a JSON file to ``benchmarks/results/close.json``. The baseline column is
the pure-Python decimal reference implementation (``tests/reference.py``) on the same data, at the sizes where it
finishes in reasonable time (``--reference-max``), with its results checked equal to the engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def write_csv_inputs(
    n: int, folder: Path, seed: int, shape: str = "realistic", data: tuple[Any, Any] | None = None
) -> None:
    from compplan.io.csvio import Column, write_csv
    from compplan.synthetic import generate

    m, o = data if data is not None else generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    # Integer columns and a label table of the distinct days, so 10M members need no 10M Python strings;
    # the few roots (empty sponsor) are appended as text after the other members.
    days_m, which = np.unique(m.enrolled_on, return_inverse=True)
    child = np.flatnonzero(~m.is_root)
    write_csv(
        folder / "members.csv",
        ["id", "sponsor_id", "enrolled_on"],
        [
            Column.ids(m.ids[child]),  # text ids (generate(ids="text")) through a label table
            Column.ids(m.sponsor_ids[child]),
            Column.label(which[child], [str(d) for d in days_m]),
        ],
    )
    with (folder / "members.csv").open("a") as f:
        f.writelines(f"{m.ids[r]},,{m.enrolled_on[r]}\n" for r in np.flatnonzero(m.is_root))
    days = o.dates.astype(np.int64)
    first = int(days.min()) if len(days) else 0
    labels = [str(np.datetime64(first + k, "D")) for k in range(int(days.max()) - first + 1)] if len(days) else []
    write_csv(
        folder / "orders.csv",
        ["member_id", "date", "pv", "cv"],
        [
            Column.ids(o.member_ids),
            Column.label(days - first, labels),
            Column.decimal(o.pv, 2),
            Column.decimal(o.cv, 2),
        ],
    )


def write_parquet_inputs(
    n: int,
    folder: Path,
    seed: int,
    shape: str = "realistic",
    volumes: str = "decimal",
    data: tuple[Any, Any] | None = None,
) -> None:
    """The same network as Parquet: int64 ids (null sponsor for roots), date32 dates, volumes as
    ``decimal128(12, 2)`` (``volumes="decimal"``, built from the exact unscaled integers) or decimal text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from compplan.synthetic import generate

    m, o = data if data is not None else generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    sponsor = pa.array(m.sponsor_ids, mask=m.is_root)
    pq.write_table(pa.table({"id": m.ids, "sponsor_id": sponsor, "enrolled_on": m.enrolled_on}), folder / "m.parquet")
    vol = _decimal128 if volumes == "decimal" else _decimal_text
    pq.write_table(
        pa.table({"member_id": o.member_ids, "date": o.dates, "pv": vol(o.pv), "cv": vol(o.cv)}),
        folder / "o.parquet",
    )


def _decimal128(units: np.ndarray) -> Any:
    """Hundredths as an Arrow ``decimal128(12, 2)`` array, from the unscaled integers (no float anywhere)."""
    import pyarrow as pa

    words = np.empty((len(units), 2), dtype=np.int64)  # little-endian 128-bit: low word, then the sign extension
    words[:, 0] = units
    words[:, 1] = np.where(units < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(units), [None, pa.py_buffer(words)])


def _decimal_text(units: np.ndarray) -> np.ndarray:
    """Hundredths as exact decimal text (Parquet string columns; the reader parses them exactly)."""
    magnitude = np.abs(units)
    whole = (magnitude // 100).astype(np.str_)
    frac = np.char.zfill((magnitude % 100).astype(np.str_), 2)
    return np.char.add(np.char.add(np.where(units < 0, "-", ""), whole), np.char.add(".", frac))


def cli_run(
    plan: Path, folder: Path, cache: str | None, members: str = "members.csv", orders: str = "orders.csv"
) -> dict[str, float]:
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    out = Path(tempfile.mkdtemp(dir=folder)) / "out"
    code = (
        "import resource, sys, time; t = time.perf_counter(); from compplan.cli import main; "
        "rc = main(sys.argv[1:]); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
    )
    args = [
        "close",
        "--plan",
        str(plan),
        "--members",
        str(folder / members),
        "--orders",
        str(folder / orders),
        "--period",
        "2026-10",
        "--out",
        str(out),
        "--quiet",
    ]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - start
    seconds, rss_kb = proc.stdout.split()
    return {"wall_s": wall, "in_process_s": float(seconds), "peak_rss_mb": int(rss_kb) / 1024}


def in_process(
    plan_path: Path,
    n: int,
    seed: int,
    repeats: int = 3,
    shape: str = "realistic",
    data: tuple[Any, Any] | None = None,
) -> dict[str, object]:
    from compplan import close, load_plan
    from compplan.synthetic import generate

    plan = load_plan(plan_path)
    m, o = data if data is not None else generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    close(plan, m, o, "2026-10")  # compile / load the cache
    best: dict[str, float] = {}
    runs = []
    r = None
    for _ in range(repeats):
        r = None  # let the previous result go first, so the peak RSS is that of one close
        r = close(plan, m, o, "2026-10")
        runs.append(sum(r.timings.values()))
        for k, v in r.timings.items():
            best[k] = min(best.get(k, v), v)
    total = sum(best.values())
    return {
        "steps_s": best,
        "total_s": total,
        "runs_s": runs,
        "ns_per_member": total / n * 1e9,
        "orders": len(o),
        "result": r,
    }


def reference_run(plan_path: Path, n: int, seed: int, engine_result: object, shape: str = "realistic") -> float:
    import datetime as dt

    from compplan import load_plan
    from compplan.synthetic import generate
    from reference import reference_close

    plan = load_plan(plan_path)
    m, o = generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    members = [
        (int(i), None if r else int(s), d.astype(dt.date))
        for i, s, r, d in zip(m.ids, m.sponsor_ids, m.is_root, m.enrolled_on, strict=True)
    ]
    from decimal import Decimal

    orders = [
        (int(i), d.astype(dt.date), Decimal(int(p)) / 100, Decimal(int(c)) / 100)
        for i, d, p, c in zip(o.member_ids, o.dates, o.pv, o.cv, strict=True)
    ]
    start = time.perf_counter()
    ref = reference_close(plan, members, orders, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    seconds = time.perf_counter() - start
    res = engine_result
    scale = 10**plan.minor_units
    for row, member_id in enumerate(res.ids.tolist()):  # type: ignore[attr-defined]
        want = int(ref.members[member_id].total * scale)
        if int(res.total[row]) != want:  # type: ignore[attr-defined]
            raise SystemExit(f"engine and reference disagree on member {member_id}: {res.total[row]} != {want}")  # type: ignore[attr-defined]
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--plan", type=Path, default=ROOT / "plans" / "wellness_unilevel.yaml")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reference-max", type=int, default=100_000)
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end CSV runs")
    p.add_argument("--shape", default="realistic", choices=["realistic", "uniform", "chain", "star"])
    p.add_argument("--parquet", action="store_true", help="also time the CLI from Parquet (needs the [arrow] extra)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "close.json")
    args = p.parse_args()
    rows = []
    for n in args.sizes:
        ip = in_process(args.plan, n, args.seed, shape=args.shape)
        row: dict[str, object] = {
            "members": n,
            "orders": ip["orders"],
            "warm_close_s": ip["total_s"],
            "ns_per_member": ip["ns_per_member"],
            "steps_s": ip["steps_s"],
        }
        if n <= args.reference_max:
            row["reference_s"] = reference_run(args.plan, n, args.seed, ip["result"], args.shape)
        if not args.no_cli:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                write_csv_inputs(n, folder, args.seed, args.shape)
                row["cli_cold"] = cli_run(args.plan, folder, cache=tempfile.mkdtemp(dir=folder))
                row["cli_warm"] = cli_run(args.plan, folder, cache=None)
                if args.parquet:
                    write_parquet_inputs(n, folder, args.seed, args.shape)
                    row["cli_parquet_warm"] = cli_run(args.plan, folder, None, "m.parquet", "o.parquet")
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "steps_s"}), file=sys.stderr)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "max_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"plan": str(args.plan.relative_to(ROOT)), "machine": machine, "rows": rows}, indent=2, default=float
        )
        + "\n"
    )
    print(
        "| members | orders | warm close (in process) | ns/member | reference (decimal) "
        "| CLI CSV cold | CLI CSV warm | peak RSS (warm) | CLI Parquet warm |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ref = f"{r['reference_s']:.2f} s" if "reference_s" in r else "-"
        cold = r.get("cli_cold", {})
        warm = r.get("cli_warm", {})
        print(
            f"| {r['members']:,} | {r['orders']:,} | {r['warm_close_s']:.3f} s | {r['ns_per_member']:.0f} | {ref} | "
            f"{cold.get('wall_s', float('nan')):.2f} s | {warm.get('wall_s', float('nan')):.2f} s | "
            f"{warm.get('peak_rss_mb', float('nan')):.0f} MB | "
            f"{r.get('cli_parquet_warm', {}).get('wall_s', float('nan')):.2f} s |"
        )


if __name__ == "__main__":
    main()
