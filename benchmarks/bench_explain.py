"""One member's statement on a large close: the close re-run with the payee filter, then the statement.

    .venv/bin/python benchmarks/bench_explain.py --members 1000000

For a typical member (the middle id) and the top earner: wall time of ``close(..., ledger_for=member)`` and of
``statement`` + ``format_statement`` (best of ``--repeat``, warm numba cache), with and without
``next_rank=True``, and the number of ledger lines in the statement. The full ledger is never built.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from compplan import close, load_plan
from compplan.explain import format_statement, statement
from compplan.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--plan", type=Path, default=ROOT / "plans" / "hybrid_leadership.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    plan = load_plan(args.plan)
    members, orders = generate(args.members, period="2026-10", seed=args.seed)
    full = close(plan, members, orders, "2026-10")
    who = {"typical": full.ids[len(full.ids) // 2].item(), "top earner": full.ids[full.total.argmax()].item()}
    print("| member | next rank | close (payee filter) | statement | lines |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, member in who.items():
        for next_rank in (False, True):
            best = (float("inf"), float("inf"), 0)
            for _ in range(args.repeat + 1):  # the first run loads the kernels
                t0 = time.perf_counter()
                result = close(plan, members, orders, "2026-10", ledger_for=member, next_rank=next_rank)
                t1 = time.perf_counter()
                s = statement(result, member)
                format_statement(s)
                t2 = time.perf_counter()
                lines = sum(len(b["lines"]) for b in s["bonuses"])
                best = (min(best[0], t1 - t0), min(best[1], t2 - t1), lines)
            print(
                f"| {label} {member} | {'yes' if next_rank else 'no'} | {best[0]:.3f} s | {best[1]:.3f} s "
                f"| {best[2]:,} |"
            )


if __name__ == "__main__":
    main()
