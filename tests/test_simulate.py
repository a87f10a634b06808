"""Month-by-month simulation: state carried, deterministic, growing."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from compplan import load_plan
from compplan.simulate import Growth, simulate

ROOT = Path(__file__).resolve().parents[1]


def test_simulation_grows_and_is_deterministic() -> None:
    plan = load_plan(ROOT / "plans" / "hybrid_leadership.yaml")
    a = simulate(plan, 3000, 4, start="2026-11", seed=5, growth=Growth(recruit_rate=0.1, churn=0.05))
    b = simulate(plan, 3000, 4, start="2026-11", seed=5, growth=Growth(recruit_rate=0.1, churn=0.05))
    assert a == b
    assert [h["period"] for h in a] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert all(x["members"] <= y["members"] for x, y in itertools.pairwise(a))
    assert a[-1]["members"] > a[0]["members"] and a[-1]["churned"] > 0
    # loyalty starts paying only once streaks reach 3 months, which needs the state carried between closes
    assert a[0]["bonuses"]["loyalty"] == a[1]["bonuses"]["loyalty"] == "0.00" != a[2]["bonuses"]["loyalty"]
    assert sum(a[0]["ranks"].values()) == a[0]["members"]


def test_simulate_command() -> None:
    args = [
        sys.executable,
        "-m",
        "compplan",
        "simulate",
        "--plan",
        str(ROOT / "plans" / "wellness_unilevel.yaml"),
        "--members",
        "2000",
        "--months",
        "3",
    ]
    proc = subprocess.run([*args, "--json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout)
    assert len(history) == 3 and all(h["payout_ratio"] is not None for h in history)
    table = subprocess.run(args, capture_output=True, text=True, check=False).stdout.splitlines()
    assert table[0].startswith("period") and len(table) == 4
