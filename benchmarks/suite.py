"""The benchmark suite in one command: period close from 10^4 to 10^7 members (3x10^7 with ``--huge``).

Usage::

    .venv/bin/pip install -e '.[bench,arrow]'
    .venv/bin/python benchmarks/suite.py                      # 1e4 1e5 1e6 1e7, shape realistic
    .venv/bin/python benchmarks/suite.py --sizes 10000 1000000 --shapes realistic chain --huge

For every shape and size, on seeded synthetic data (``compplan.synthetic.generate``) and the hybrid plan
(``plans/hybrid_leadership.yaml``: ranks with leg rules, compressed unilevel, fast start, generations, check
match, loyalty, pool, payout cap), it records

* **warm compute**: ``compplan.close`` on in-memory arrays in a fresh process with the inputs loaded from
  ``.npy`` files, numba cache loaded, best of ``--repeats`` per step (``CloseResult.timings``, relabel
  included) and the best whole run; ns per member; the process's peak RSS without and then with the ledger;
* **end to end**: ``compplan close`` (the CLI) from CSV and, with pyarrow, from Parquet (int64 ids, date32,
  decimal128 volumes), best of ``--cli-repeats``, wall time and peak RSS (``getrusage`` of the child);
* **baselines on identical data, results checked equal**: the DuckDB SQL GV + 7-level compressed unilevel of
  ``duckdb_baseline.py`` (up to ``--duckdb-max`` members) and the decimal reference implementation
  (``tests/reference.py``, up to ``--reference-max`` members);
* once: ``compplan close`` on a 1,000-member input with an empty numba cache (cold: every kernel compiles) and
  then with that cache filled (cached start).

After the start-up runs, one close with and one without the ledger, big enough to run in parts on every core,
fill that cache with every kernel the measured runs call; the warm compute and CLI processes all load it, so no
measured time or peak RSS includes a compilation (a fresh clone's cache is empty).

The machine is shared, so the 1-minute load average is stored next to every measurement. Writes
``benchmarks/results/suite.json`` and ``benchmarks/results/suite.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_close as bc  # noqa: E402
import duckdb_baseline as ddb  # noqa: E402
from compplan import threads  # noqa: E402

DEFAULT_SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
HUGE = 30_000_000
PERIOD = "2026-10"


def calibration() -> float:
    """Seconds for 10M iterations of a plain Python loop, best of 3: the machine's speed at the moment.

    The VM's speed drifts (other guests on the host); stored at the start and the end of a run so that runs can
    be compared. It measures the core, not the memory system, so it catches only part of the drift.
    """
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


def load() -> float:
    """The 1-minute load average (other jobs share the machine)."""
    return os.getloadavg()[0]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------------------------------------- the data


def save_data(members: Any, orders: Any, folder: Path) -> None:
    for name, arr in (
        ("ids", members.ids),
        ("sponsor_ids", members.sponsor_ids),
        ("is_root", members.is_root),
        ("enrolled_on", members.enrolled_on),
        ("member_ids", orders.member_ids),
        ("dates", orders.dates),
        ("pv", orders.pv),
        ("cv", orders.cv),
    ):
        np.save(folder / f"{name}.npy", arr)


def load_data(folder: Path) -> tuple[Any, Any]:
    from compplan.inputs import Members, Orders

    a = {p.stem: np.load(p) for p in folder.glob("*.npy")}
    members = Members(a["ids"], a["sponsor_ids"], a["is_root"], a["enrolled_on"], "synthetic members")
    orders = Orders(a["member_ids"], a["dates"], a["pv"], a["cv"], 2, "synthetic orders")
    return members, orders


def data_worker(n: int, seed: int, shape: str, folder: Path, parquet: bool) -> dict[str, Any]:
    """Generate once; write .npy (for the in-process runs), CSV and Parquet (for the CLI)."""
    from compplan.synthetic import generate

    start = time.perf_counter()
    members, orders = generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    info: dict[str, Any] = {"generate_s": time.perf_counter() - start, "orders": len(orders)}
    save_data(members, orders, folder)
    start = time.perf_counter()
    bc.write_csv_inputs(n, folder, seed, shape, data=(members, orders))
    info["write_csv_s"] = time.perf_counter() - start
    info["csv_mb"] = sum((folder / f).stat().st_size for f in ("members.csv", "orders.csv")) / 2**20
    if parquet:
        start = time.perf_counter()
        bc.write_parquet_inputs(n, folder, seed, shape, data=(members, orders))
        info["write_parquet_s"] = time.perf_counter() - start
        info["parquet_mb"] = sum((folder / f).stat().st_size for f in ("m.parquet", "o.parquet")) / 2**20
    return info


# --------------------------------------------------------------------------------- warm compute in process


def compute_worker(
    plan: Path, n: int, seed: int, shape: str, folder: Path, repeats: int, reference_max: int, ledger: bool
) -> dict[str, Any]:
    from compplan import close, load_plan

    data = load_data(folder)
    info: dict[str, Any] = {"rss_inputs_mb": current_rss_mb(), "load_before": load()}
    ip = bc.in_process(plan, n, seed, repeats=repeats, shape=shape, data=data)
    res = ip.pop("result")
    info.update(ip)
    info["best_run_s"] = min(ip["runs_s"])  # type: ignore[type-var]
    info["peak_rss_mb"] = rss_mb()
    if n <= reference_max:
        info["reference_s"] = bc.reference_run(plan, n, seed, res, shape)  # exits non-zero on any difference
        info["reference_checked"] = True
    del res, ip
    if ledger:
        start = time.perf_counter()
        with_ledger = close(load_plan(plan), *data, PERIOD, ledger=True)
        info["ledger_close_s"] = time.perf_counter() - start
        info["ledger_lines"] = len(with_ledger.ledger) if with_ledger.ledger is not None else 0
        info["peak_rss_ledger_mb"] = rss_mb()
        del with_ledger
    info["load_after"] = load()
    return info


def warm_worker(plan: Path, seed: int, shape: str) -> dict[str, Any]:
    """Closes (with and without the ledger) big enough to run in parts on every core, so that the numba cache
    holds every kernel the measured runs call: their peak RSS and first runs then include no compilation."""
    from compplan import close, load_plan
    from compplan.synthetic import generate

    n = 2 * threads.MIN_PART * max(2, threads.thread_count())
    m, o = generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    start = time.perf_counter()
    for ledger in (False, True):
        close(load_plan(plan), m, o, PERIOD, ledger=ledger)
    return {"members": n, "seconds": time.perf_counter() - start}


def spawn(args: list[str], cwd: Path | None = None, cache: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache) if cache is not None else None
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------------------------- the CLI


def cli_best(plan: Path, folder: Path, cache: str, repeats: int, members: str, orders: str) -> dict[str, Any]:
    """Best wall time of ``repeats`` runs of ``compplan close``; peak RSS is the largest seen."""
    runs = []
    for _ in range(repeats):
        before = load()
        r = bc.cli_run(plan, folder, cache, members, orders)
        r["load"] = before
        runs.append(r)
        for out in folder.glob("tmp*"):
            shutil.rmtree(out, ignore_errors=True)
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "runs_s": [r["wall_s"] for r in runs], "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def start_times(plan: Path, seed: int, cache: str) -> dict[str, Any]:
    """Cold (empty numba cache) and cached ``compplan close`` on 1,000 members."""
    with tempfile.TemporaryDirectory(prefix="compplan-suite-") as tmp:
        folder = Path(tmp)
        bc.write_csv_inputs(1000, folder, seed)
        cold = bc.cli_run(plan, folder, cache)
        cold["load"] = load()
        cached = cli_best(plan, folder, cache, 3, "members.csv", "orders.csv")
    return {"members": 1000, "cold": cold, "cached": cached}


# ------------------------------------------------------------------------------------------------ DuckDB


def duckdb_compare(n: int, seed: int, timeout: float) -> dict[str, Any]:
    """``duckdb_baseline.py``'s two engines on the same data, each in its own process, results compared."""
    with tempfile.TemporaryDirectory(prefix="compplan-duckdb-") as tmp:
        folder = Path(tmp)
        before = load()
        cp = ddb.spawn("compplan", n, seed, folder, timeout)
        db = ddb.spawn("duckdb", n, seed, folder, timeout)
        want, got = ddb.load_results(folder)
    problems = ddb.compare(f"n={n}", want, got)
    if problems:
        raise SystemExit("DuckDB and compplan disagree:\n" + "\n".join(problems))
    sql = None if db["gv_s"] is None or db["uni_s"] is None else db["gv_s"] + db["uni_s"]
    return {
        "load": before,
        "duckdb_version": db["duckdb_version"],
        "duckdb_threads": db["threads"],
        "duckdb_load_s": db["load_s"],
        "duckdb_gv_s": db["gv_s"],
        "duckdb_unilevel_s": db["uni_s"],
        "duckdb_peak_rss_mb": db["peak_rss_mb"],
        "compplan_close_s": cp["close_s"],
        "compplan_peak_rss_mb": cp["peak_rss_mb"],
        "speedup": None if sql is None else sql / cp["close_s"],
        "checked_equal": [c for c in ("gv", "uni") if got[c] is not None],
    }


# ---------------------------------------------------------------------------------------------- report


def _s(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _mb(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1024:.2f} GB" if x >= 1024 else f"{x:.0f} MB"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# Benchmark suite: `{result['plan']}`",
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']:.0f} GiB, Python {m['python']}, numpy {m['numpy']}, "
        f"numba {m['numba']}, compplan threads {m.get('compplan_threads', 1)}, commit {m.get('git_commit', '?')}; "
        f"started {result['started']}, load average at start {result['load_start']:.2f}; machine speed "
        f"(10M-iteration Python loop, lower is faster): {result.get('calibration_start_s', 0):.2f} s at the "
        f"start, {result.get('calibration_end_s', 0):.2f} s at the end.",
        "",
    ]
    for shape, rows in result["shapes"].items():
        lines += [
            f"## Shape `{shape}`",
            "",
            "| members | orders | warm compute | relabel | input checks | ns/member | peak RSS (close) "
            "| + ledger | CLI CSV | CLI Parquet | peak RSS (CLI CSV) | DuckDB GV + unilevel | speed-up "
            "| reference | load |",
            "|" + " ---: |" * 15,
        ]
        for r in rows:
            c = r["compute"]
            st = c["steps_s"]
            csv, pq, db = r.get("cli_csv"), r.get("cli_parquet"), r.get("duckdb")
            sql = None if db is None or db["speedup"] is None else db["duckdb_gv_s"] + db["duckdb_unilevel_s"]
            speedup = "-" if sql is None else f"{db['speedup']:.0f}x"
            lines.append(
                f"| {r['members']:,} | {r['orders']:,} | {_s(c['best_run_s'])} s | {_s(st['relabel'])} s "
                f"| {_s(st['check_inputs'])} s | {c['ns_per_member']:.0f} | {_mb(c['peak_rss_mb'])} "
                f"| {_mb(c.get('peak_rss_ledger_mb'))} "
                f"| {_s(csv and csv['wall_s'], 2)} s | {_s(pq and pq['wall_s'], 2)} s "
                f"| {_mb(csv and csv['peak_rss_mb'])} "
                f"| {_s(sql)} s | {speedup} "
                f"| {_s(c.get('reference_s'), 2)} s | {c['load_before']:.1f} |"
            )
        names = list(rows[0]["compute"]["steps_s"]) if rows else []
        lines += ["", "Per step, best of the warm runs (ms):", ""]
        lines.append("| step | " + " | ".join(f"{r['members']:,}" for r in rows) + " |")
        lines.append("| --- |" + " ---: |" * len(rows))
        for name in names:
            cells = [f"{r['compute']['steps_s'].get(name, float('nan')) * 1000:.1f}" for r in rows]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    s = result["start"]
    lines += [
        "## Start-up (`compplan close`, 1,000 members, CSV)",
        "",
        f"Cold (empty numba cache, every kernel compiled): {s['cold']['wall_s']:.1f} s; "
        f"cached: {s['cached']['wall_s']:.2f} s (best of 3).",
        "",
        "Columns: *warm compute* = best whole `compplan.close` run in process (relabel, input checks, every "
        "step); *relabel*, *input checks* = best of the runs for that phase; *peak RSS (close)* = peak RSS of the "
        "process holding the inputs and running the closes, *+ ledger* after one more close with the ledger; "
        "*CLI* = `compplan close` end to end (read, close, write), best wall; *DuckDB* = warm GV + compressed "
        "unilevel queries of `duckdb_baseline.py`, *speed-up* = those over compplan's whole close of the "
        "same work (plan of `duckdb_baseline.py`), every member's GV and unilevel checked equal; *reference* = "
        "the decimal reference implementation, every member's total checked equal; *load* = 1-minute load "
        "average before the compute runs.",
    ]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    import numba

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "compplan_threads": threads.thread_count(),
        "git_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip(),
    }


def has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    p.add_argument("--huge", action="store_true", help=f"add {HUGE:,} members")
    p.add_argument("--shapes", nargs="+", default=["realistic"], choices=["realistic", "uniform", "chain", "star"])
    p.add_argument("--plan", type=Path, default=ROOT / "plans" / "hybrid_leadership.yaml")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="warm in-process closes (best of)")
    p.add_argument("--cli-repeats", type=int, default=2, help="CLI runs per input format (best of)")
    p.add_argument("--reference-max", type=int, default=10_000)
    p.add_argument("--duckdb-max", type=int, default=1_000_000)
    p.add_argument("--duckdb-timeout", type=float, default=600.0)
    p.add_argument("--no-cli", action="store_true")
    p.add_argument("--no-ledger", action="store_true", help="skip the close with the ledger")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "suite")
    p.add_argument("--worker", choices=["data", "compute", "start", "warm"], help=argparse.SUPPRESS)
    p.add_argument("--cache", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--shape", default="realistic", help=argparse.SUPPRESS)
    p.add_argument("--parquet", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "data":
        print(json.dumps(data_worker(args.sizes[0], args.seed, args.shape, args.folder, args.parquet)))
        return
    if args.worker == "start":
        print(json.dumps(start_times(args.plan, args.seed, args.cache)))
        return
    if args.worker == "warm":
        print(json.dumps(warm_worker(args.plan, args.seed, args.shape)))
        return
    if args.worker == "compute":
        info = compute_worker(
            args.plan, args.sizes[0], args.seed, args.shape, args.folder, args.repeats, args.reference_max,
            not args.no_ledger,
        )  # fmt: skip
        print(json.dumps(info, default=float))
        return

    sizes = sorted(set(args.sizes + ([HUGE] if args.huge else [])))
    parquet = has_pyarrow()
    result: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "benchmarks/suite.py", *sys.argv[1:]]),
        "plan": str(args.plan.resolve().relative_to(ROOT)),
        "seed": args.seed,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_start": load(),
        "calibration_start_s": calibration(),
        "shapes": {},
    }
    with tempfile.TemporaryDirectory(prefix="compplan-suite-cache-") as cache:
        # In a child: the parent never imports compplan, so its peak RSS (which Linux carries into every child
        # it starts) stays small.
        start = ["--worker", "start", "--plan", str(args.plan), "--seed", str(args.seed), "--cache", cache]
        result["start"] = spawn(start)
        print(f"start: {json.dumps(result['start'])}", file=sys.stderr)
        # every measured process below loads its kernels from this cache, now complete
        warm = ["--worker", "warm", "--plan", str(args.plan), "--seed", str(args.seed)]
        for shape in args.shapes:
            result.setdefault("warm", []).append(spawn([*warm, "--shape", shape], cache=cache))
        for shape in args.shapes:
            rows = result["shapes"].setdefault(shape, [])
            for n in sizes:
                with tempfile.TemporaryDirectory(prefix="compplan-suite-") as tmp:
                    folder = Path(tmp)
                    common = ["--sizes", str(n), "--seed", str(args.seed), "--shape", shape, "--folder", tmp]
                    data = spawn(["--worker", "data", *common, *(["--parquet"] if parquet else [])])
                    row: dict[str, Any] = {"members": n, "orders": data["orders"], "data": data}
                    extra = ["--repeats", str(args.repeats), "--reference-max", str(args.reference_max)]
                    extra += ["--plan", str(args.plan)] + (["--no-ledger"] if args.no_ledger else [])
                    row["compute"] = spawn(["--worker", "compute", *common, *extra], cache=cache)
                    if not args.no_cli:
                        reps = args.cli_repeats
                        row["cli_csv"] = cli_best(args.plan, folder, cache, reps, "members.csv", "orders.csv")
                        if parquet:
                            row["cli_parquet"] = cli_best(args.plan, folder, cache, reps, "m.parquet", "o.parquet")
                if shape == "realistic" and n <= args.duckdb_max:
                    row["duckdb"] = duckdb_compare(n, args.seed, args.duckdb_timeout)
                rows.append(row)
                print(json.dumps({"shape": shape, **row}, default=float), file=sys.stderr)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    result["calibration_end_s"] = calibration()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    text = markdown(result)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
