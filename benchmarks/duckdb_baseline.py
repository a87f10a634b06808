"""DuckDB baseline: group volume and a 7-level dynamically compressed unilevel in SQL, next to compplan.

What a back office would write in SQL (recursive CTEs over the sponsor table), run by DuckDB in memory, on the
same synthetic data as compplan, with every member's GV and unilevel amount checked equal to ``compplan.close``.

Usage::

    .venv/bin/pip install -e '.[bench]'      # or: .venv/bin/pip install duckdb
    .venv/bin/python benchmarks/duckdb_baseline.py --sizes 10000 100000 1000000

Prints a markdown table and writes ``benchmarks/results/duckdb.json``. Each size runs in two fresh child
processes (one for DuckDB, one for compplan) so that each peak RSS (``getrusage``) belongs to one engine; the
parent compares their per-member results and exits 1 on any mismatch. Before the timed sizes, a correctness check
runs both engines on small networks with extra return lines (negative CV, members below the activity threshold by
returns) that the synthetic generator alone never produces.

Timings: DuckDB ``load`` = numpy columns -> DuckDB tables (the numpy buffers are scanned in place, then copied
into DuckDB's native storage once); each SQL query runs twice and the second (warm) run is reported, including
fetching its one-row-per-member result into numpy. compplan ``close`` runs three times and the best of the last
two is reported; it computes the whole close (tree relabel and checks, volumes, activity, ranks, the bonus,
totals) from the raw arrays. ``speed-up`` = (DuckDB GV + DuckDB unilevel) / compplan close; DuckDB's load is
excluded. A query still running after ``--timeout`` seconds is interrupted and reported as ``> T s``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
PERIOD_START, PERIOD_END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
MIN_PV = 10_000  # activity.min_pv = 100 points, in hundredths
RATES_PPM = (50_000, 50_000, 40_000, 40_000, 30_000, 30_000, 20_000)  # 5%, 5%, 4%, 4%, 3%, 3%, 2%

PLAN_YAML = """\
plan:
  name: bench
  currency: USD
  rounding: half_up

activity:
  min_pv: 100

ranks:
  - name: Member

bonuses:
  - id: uni
    type: unilevel
    compression: dynamic
    rates: [5%, 5%, 4%, 4%, 3%, 3%, 2%]
"""

# Tables: members(id BIGINT, sponsor_id BIGINT, NULL for a root, enrolled_on DATE)
#         orders(member_id BIGINT, date DATE, pv BIGINT, cv BIGINT), volumes in hundredths of a point.
# Both queries start from these base tables and return one row per member in id order.

_VOLUMES = f"""\
vol AS (  -- 3.1: a member's PV and CV are the sums of its order lines in the period
    SELECT member_id AS id, sum(pv) AS pv, sum(cv) AS cv
    FROM orders
    WHERE date BETWEEN DATE '{PERIOD_START}' AND DATE '{PERIOD_END}'
    GROUP BY member_id
)"""

SQL_GV = f"""\
WITH RECURSIVE
{_VOLUMES},
up(node, pv) AS (  -- every member's PV, pushed to itself and then to each ancestor in turn
    SELECT id, pv FROM vol WHERE pv <> 0
    UNION ALL
    SELECT m.sponsor_id, up.pv
    FROM up JOIN members m ON m.id = up.node
    WHERE m.sponsor_id IS NOT NULL
),
gv AS (SELECT node AS id, sum(pv) AS gv FROM up GROUP BY node)
SELECT m.id, coalesce(gv.gv, 0)::BIGINT AS gv
FROM members m LEFT JOIN gv ON gv.id = m.id
ORDER BY m.id
"""

_RATES = ", ".join(f"({level}, {ppm})" for level, ppm in enumerate(RATES_PPM, start=1))

SQL_UNILEVEL = f"""\
WITH RECURSIVE
{_VOLUMES},
tree AS (  -- 3.2 / 3.4: one rank, no min_rank, so qualified = active = pv >= min_pv and cv >= min_cv (0)
    SELECT m.id, m.sponsor_id, coalesce(v.pv, 0) >= {MIN_PV} AND coalesce(v.cv, 0) >= 0 AS qualified
    FROM members m LEFT JOIN vol v ON v.id = m.id
),
rates(level, ppm) AS (VALUES {_RATES}),
walk(source, cv, payee, below) AS (
    -- Walk up from every source (cv <> 0). ``payee`` is the ancestor being visited and ``below`` the number of
    -- qualified ancestors strictly between the source and it, so a qualified payee is at level below + 1
    -- (dynamic compression: unqualified uplines do not use up a level). Stop above the 7th qualified upline.
    SELECT t.id, v.cv, t.sponsor_id, 0
    FROM vol v JOIN tree t ON t.id = v.id
    WHERE v.cv <> 0 AND t.sponsor_id IS NOT NULL
    UNION ALL
    SELECT w.source, w.cv, t.sponsor_id, w.below + t.qualified::INTEGER
    FROM walk w JOIN tree t ON t.id = w.payee
    WHERE t.sponsor_id IS NOT NULL AND w.below + t.qualified::INTEGER < {len(RATES_PPM)}
),
lines AS (  -- one ledger line per (payee, source): cv * rate to the cent, half away from zero, in integers
    SELECT w.payee, sign(w.cv) * ((abs(w.cv)::HUGEINT * r.ppm + 500000) // 1000000) AS amount
    FROM walk w
    JOIN tree t ON t.id = w.payee AND t.qualified
    JOIN rates r ON r.level = w.below + 1
),
paid AS (SELECT payee AS id, sum(amount) AS amount FROM lines GROUP BY payee)
SELECT m.id, coalesce(paid.amount, 0)::BIGINT AS uni
FROM members m LEFT JOIN paid ON paid.id = m.id
ORDER BY m.id
"""


def _rss_mb() -> float:
    """Peak RSS of this process (``getrusage``; Linux keeps the value across ``exec``, see ``spawn``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _vm_hwm_mb() -> float | None:
    """Peak RSS of this process image (``VmHWM``, Linux only), as a cross-check of ``getrusage``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def make_data(n: int, seed: int, shape: str = "realistic", returns: float = 0.0) -> tuple[Any, Any]:
    """Synthetic members and orders; with ``returns > 0`` add return lines dated at the period end.

    The extra lines hit a random ``returns`` share of the members with odd amounts, so some members end up with
    negative PV/CV (negative sources, rounding ties below zero) or drop below the activity threshold.
    """
    from compplan.inputs import Orders
    from compplan.synthetic import generate

    members, orders = generate(n, seed=seed, shape=shape)  # type: ignore[arg-type]
    if returns <= 0:
        return members, orders
    rng = np.random.default_rng(seed + 1)
    who = members.ids[rng.random(n) < returns]
    pv = -rng.integers(1, 30_000, len(who))
    cv = -(rng.integers(0, 1_500, len(who)) * 20 + 10)  # 10 (mod 20): alone, a half-cent tie at 5%
    orders = Orders(
        member_ids=np.concatenate([orders.member_ids, who]),
        dates=np.concatenate([orders.dates, np.full(len(who), np.datetime64(PERIOD_END, "D"))]),
        pv=np.concatenate([orders.pv, pv]),
        cv=np.concatenate([orders.cv, cv]),
        decimals=orders.decimals,
        source="synthetic orders + returns",
    )
    return members, orders


# --------------------------------------------------------------------------------------------------- DuckDB


def duckdb_load(con: Any, members: Any, orders: Any) -> float:
    """Create the ``members`` and ``orders`` tables from the numpy columns; returns the seconds taken."""
    start = time.perf_counter()
    con.register(
        "members_np",
        {
            "id": members.ids,
            "sponsor_id": members.sponsor_ids,
            "is_root": members.is_root,
            "enrolled_on": members.enrolled_on.astype(np.int64).astype(np.int32),  # days since 1970-01-01
        },
    )
    con.register(
        "orders_np",
        {
            "member_id": orders.member_ids,
            "date": orders.dates.astype(np.int64).astype(np.int32),
            "pv": orders.pv,
            "cv": orders.cv,
        },
    )
    con.execute(
        "CREATE TABLE members AS SELECT id, CASE WHEN is_root THEN NULL ELSE sponsor_id END AS sponsor_id, "
        "DATE '1970-01-01' + enrolled_on AS enrolled_on FROM members_np"
    )
    con.execute("CREATE TABLE orders AS SELECT member_id, DATE '1970-01-01' + date AS date, pv, cv FROM orders_np")
    con.unregister("members_np")
    con.unregister("orders_np")
    return time.perf_counter() - start


def run_query(con: Any, sql: str, timeout: float) -> tuple[float | None, dict[str, np.ndarray] | None]:
    """Run ``sql`` and fetch it into numpy: (seconds, columns), or (None, None) when interrupted at ``timeout``."""
    import duckdb

    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    start = time.perf_counter()
    try:
        cols = con.execute(sql).fetchnumpy()
    except duckdb.InterruptException:
        return None, None
    finally:
        timer.cancel()
    return time.perf_counter() - start, {k: np.asarray(v) for k, v in cols.items()}


def duckdb_side(members: Any, orders: Any, timeout: float, repeats: int = 2) -> dict[str, Any]:
    """Load, then run each query ``repeats`` times; report the last run and keep its result."""
    import duckdb

    con = duckdb.connect()  # in memory, default settings (threads = cores)
    out: dict[str, Any] = {
        "duckdb_version": duckdb.__version__,
        "threads": int(con.execute("SELECT current_setting('threads')").fetchall()[0][0]),
        "memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0],
        "load_s": duckdb_load(con, members, orders),
    }
    for name, sql in (("gv", SQL_GV), ("uni", SQL_UNILEVEL)):
        runs: list[float | None] = []
        cols = None
        for _ in range(repeats):
            seconds, cols = run_query(con, sql, timeout)
            runs.append(seconds)
            if seconds is None:
                break
        out[f"{name}_runs_s"] = runs
        out[f"{name}_s"] = runs[-1]
        out[name] = cols
    con.close()
    return out


# ------------------------------------------------------------------------------------------------- compplan


def compplan_side(members: Any, orders: Any, repeats: int = 3) -> dict[str, Any]:
    """Close ``repeats`` times; the time is the best of all runs but the first (compilation, cache load)."""
    import compplan

    plan = compplan.parse_plan(PLAN_YAML, "bench.yaml")
    runs = []
    res = None
    for _ in range(repeats):
        res = None  # the previous result goes first: its arrays return to the pool (as in bench_close.in_process)
        start = time.perf_counter()
        res = compplan.close(plan, members, orders, PERIOD)
        runs.append(time.perf_counter() - start)
    assert res is not None
    return {
        "close_runs_s": runs,
        "close_s": min(runs[1:] or runs),
        "ids": res.ids,
        "gv": res.gv,
        "uni": res.bonuses["uni"],
    }


# ------------------------------------------------------------------------------------------------ checking


def compare(label: str, want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Differences between compplan's columns (``want``) and DuckDB's (``got``), as messages."""
    problems = []
    ids = np.asarray(want["ids"])
    for col in ("gv", "uni"):
        if got.get(col) is None:
            continue  # timed out: nothing to compare
        sql_ids, sql_vals = got[col]["id"], got[col][col]
        if len(sql_ids) != len(ids) or not np.array_equal(sql_ids, ids):
            problems.append(f"{label} {col}: SQL returned {len(sql_ids)} rows / other ids than the {len(ids)} members")
            continue
        bad = np.flatnonzero(sql_vals != want[col])
        if len(bad):
            first = ", ".join(f"id {ids[i]}: compplan {want[col][i]} sql {sql_vals[i]}" for i in bad[:5])
            problems.append(f"{label} {col}: {len(bad)} members differ ({first})")
    return problems


def correctness_check(timeout: float) -> dict[str, Any]:
    """Both engines on small networks with returns (negative and tie amounts); the timed sizes have none."""
    cases = [("realistic", 5_000, 0.05), ("uniform", 5_000, 0.05), ("chain", 1_000, 0.2)]
    report: dict[str, Any] = {"cases": [], "problems": []}
    for shape, n, returns in cases:
        members, orders = make_data(n, seed=7, shape=shape, returns=returns)
        want = compplan_side(members, orders, repeats=1)
        got = duckdb_side(members, orders, timeout, repeats=1)
        label = f"check {shape} n={n}"
        report["problems"] += compare(label, want, got)
        report["cases"].append(
            {
                "shape": shape,
                "members": n,
                "orders": len(orders),
                "negative_cv_members": int(
                    (
                        np.bincount(np.searchsorted(want["ids"], orders.member_ids), weights=orders.cv, minlength=n) < 0
                    ).sum()
                ),
                "paid_members": int((want["uni"] != 0).sum()),
                "negative_paid_members": int((want["uni"] < 0).sum()),
                "checked": [c for c in ("gv", "uni") if got.get(c) is not None],
            }
        )
    return report


# ------------------------------------------------------------------------------------------------- workers


def worker(engine: str, n: int, seed: int, out_dir: Path, timeout: float) -> None:
    """Child process: one engine on one size (arrays to ``out_dir``), or the check; a JSON line on stdout."""
    if engine == "check":
        print(json.dumps(correctness_check(timeout)))
        return
    members, orders = make_data(n, seed)
    info: dict[str, Any] = {"members": n, "orders": len(orders), "rss_after_data_mb": _rss_mb()}
    if engine == "duckdb":
        res = duckdb_side(members, orders, timeout)
        for col in ("gv", "uni"):
            cols = res.pop(col)
            if cols is not None:
                np.save(out_dir / f"sql_{col}_id.npy", cols["id"])
                np.save(out_dir / f"sql_{col}.npy", cols[col])
    else:
        res = compplan_side(members, orders)
        for col in ("ids", "gv", "uni"):
            np.save(out_dir / f"cp_{col}.npy", res.pop(col))
    info.update(res)
    info["peak_rss_mb"] = _rss_mb()
    info["vm_hwm_mb"] = _vm_hwm_mb()
    print(json.dumps(info))


def spawn(engine: str, n: int, seed: int, out_dir: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, "--sizes", str(n), "--seed", str(seed)]
    cmd += ["--timeout", str(timeout), "--work-dir", str(out_dir)]
    # cwd = the scratch folder: an in-memory DuckDB spills to ./.tmp if it runs out of memory. The parent stays
    # small (it imports neither duckdb nor compplan): Linux carries ru_maxrss across fork + exec into the child.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out_dir, timeout=6 * timeout + 600)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} worker failed for n={n}:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def load_results(out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    want = {k: np.load(out_dir / f"cp_{k}.npy") for k in ("ids", "gv", "uni")}
    got: dict[str, Any] = {}
    for col in ("gv", "uni"):
        path = out_dir / f"sql_{col}.npy"
        got[col] = {"id": np.load(out_dir / f"sql_{col}_id.npy"), col: np.load(path)} if path.exists() else None
    return want, got


def _fmt(seconds: float | None, timeout: float) -> str:
    return f"> {timeout:g} s" if seconds is None else f"{seconds:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before one SQL query is interrupted")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "duckdb.json")
    p.add_argument("--skip-check", action="store_true", help="skip the small correctness check with returns")
    p.add_argument("--worker", choices=["duckdb", "compplan", "check"], help=argparse.SUPPRESS)
    p.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.worker, args.sizes[0], args.seed, args.work_dir, args.timeout)
        return

    problems: list[str] = []
    check = None
    if not args.skip_check:
        with tempfile.TemporaryDirectory(prefix="compplan-duckdb-") as tmp:
            check = spawn("check", 0, args.seed, Path(tmp), args.timeout)
        problems += check["problems"]
        print(f"correctness check with returns: {check['cases']}", file=sys.stderr)

    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="compplan-duckdb-") as tmp:
            folder = Path(tmp)
            cp = spawn("compplan", n, args.seed, folder, args.timeout)
            db = spawn("duckdb", n, args.seed, folder, args.timeout)
            want, got = load_results(folder)
        found = compare(f"n={n}", want, got)
        problems += found
        sql_total = None if db["gv_s"] is None or db["uni_s"] is None else db["gv_s"] + db["uni_s"]
        row = {
            "members": n,
            "orders": cp["orders"],
            "duckdb": {k: v for k, v in db.items() if k not in ("members", "orders")},
            "compplan": {k: v for k, v in cp.items() if k not in ("members", "orders")},
            "speedup": None if sql_total is None else sql_total / cp["close_s"],
            "checked_equal": {c: got[c] is not None and not any(f" {c}:" in msg for msg in found) for c in got},
            "paid_members": int((want["uni"] != 0).sum()),
        }
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items()}), file=sys.stderr)

    first = rows[0]["duckdb"] if rows else {}
    result = {
        "benchmark": "DuckDB SQL baseline vs compplan.close: GV + unilevel (7 levels, dynamic compression)",
        "command": " ".join([".venv/bin/python", "benchmarks/duckdb_baseline.py", *sys.argv[1:]]),
        "seed": args.seed,
        "period": PERIOD,
        "timeout_s": args.timeout,
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "duckdb": first.get("duckdb_version"),
            "duckdb_threads": first.get("threads"),
            "duckdb_memory_limit": first.get("memory_limit"),
            "numpy": np.__version__,
        },
        "plan_yaml": PLAN_YAML,
        "sql": {"gv": SQL_GV, "unilevel": SQL_UNILEVEL},
        "correctness_check": check,
        "rows": rows,
        "problems": problems,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")

    print(f"DuckDB {first.get('duckdb_version')} (in memory, threads={first.get('threads')}), {os.cpu_count()} CPUs\n")
    print(
        "| members | orders | duckdb load s | duckdb GV s | duckdb unilevel s | compplan close s | speed-up "
        "| peak RSS duckdb / compplan |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        d, c = r["duckdb"], r["compplan"]
        speed = "-" if r["speedup"] is None else f"{r['speedup']:.0f}x"
        print(
            f"| {r['members']:,} | {r['orders']:,} | {d['load_s']:.3f} | {_fmt(d['gv_s'], args.timeout)} | "
            f"{_fmt(d['uni_s'], args.timeout)} | {c['close_s']:.4f} | {speed} | "
            f"{d['peak_rss_mb']:.0f} / {c['peak_rss_mb']:.0f} MB |"
        )
    if problems:
        print("\nMISMATCH between DuckDB and compplan:", *problems, sep="\n", file=sys.stderr)
        raise SystemExit(1)
    unchecked = [f"{c} at n={r['members']:,}" for r in rows for c, ok in r["checked_equal"].items() if not ok]
    if unchecked:
        print(f"\nNot compared (query timed out): {', '.join(unchecked)}; every other result equals compplan's.")
    else:
        print("\nAll DuckDB results equal compplan's, member by member.")


if __name__ == "__main__":
    main()
