"""Plan economics and plan diffs, checked on the hand-worked hybrid example."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compplan import close, load_plan, parse_plan
from compplan.economics import _nearest_rank, economics, plan_diff
from compplan.io.csvio import read_events, read_members, read_orders, read_state

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "plans" / "examples" / "hybrid_leadership"
PLAN_PATH = ROOT / "plans" / "hybrid_leadership.yaml"


def october(plan: object = None) -> object:
    return close(
        plan or load_plan(PLAN_PATH),
        read_members(EX / "members.csv"),
        read_orders(EX / "orders_2026-10.csv"),
        "2026-10",
        state=read_state(EX / "state_2026-09.csv"),
        events=read_events(EX / "events_2026-10.csv"),
    )


def test_nearest_rank_percentiles() -> None:
    values = np.array([15, 20, 35, 40, 50])
    assert [_nearest_rank(values, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]
    assert _nearest_rank(np.array([], dtype=np.int64), 50) == 0


def test_economics_of_the_hybrid_example() -> None:
    e = economics(october())  # type: ignore[arg-type]
    # totals A 846, B 166, C 209, D 100, F 20; E, G, H 0 (docs/examples.md)
    assert e["total_payout"] == "1341.00" and e["total_cv"] == "5600.00" and e["payout_ratio"] == 0.239464
    assert e["earning_members"] == 5
    assert e["bonuses"]["unilevel"] == {"paid": "585.00", "payout_ratio": 0.104464}
    assert e["earnings_percentiles"]["p50"] == "20.00"  # sorted: 0 0 0 20 100 166 209 846 -> 4th of 8
    # Top 1% of the 5 earners is 1 member: A's 846 of 1,341.
    assert e["share_of_payout_top_1pct"] == 0.630872  # 846 / 1341, to 6 decimals
    by_rank = {row["rank"]: row for row in e["income_disclosure"]}
    assert sum(row["members"] for row in by_rank.values()) == 8
    assert by_rank["Manager"]["members"] == 2 and by_rank["Manager"]["mean"] == "187.50"  # (166 + 209) / 2
    assert by_rank["Manager"]["median"] == "166.00" and by_rank["Manager"]["top"] == "209.00"
    assert by_rank["Director"]["annualised_mean"] == "9960.97"  # 846 * 365 / 31
    # 45% of 5,600 = 2,520 theoretical (the cap binds the plan's maximum); the percentage bonuses' columns paid
    # 120 (fast start) + 585 (unilevel) + 67 (check match) + 59 (loyalty, A's 25.00 cash included) = 831.
    assert e["theoretical_maximum_share"] == "0.45" and e["breakage"] == "1689.00"


def test_diff_of_a_plan_with_itself_changes_nothing() -> None:
    d = plan_diff(october(), october())  # type: ignore[arg-type]
    assert d["total_payout"]["change"] == "0.00" and d["members_gaining"] == d["members_losing"] == 0
    assert d["top_gainers"] == d["top_losers"] == []


def test_diff_names_the_members_who_gain_most() -> None:
    richer = parse_plan(
        PLAN_PATH.read_text().replace("rates: [5%, 5%, 4%, 4%, 3%, 3%, 2%]", "rates: [6%, 5%, 4%, 4%, 3%, 3%, 2%]")
    )
    d = plan_diff(october(), october(richer))  # type: ignore[arg-type]
    # level 1 pays 1% more: A on B, C (700 -> 7.00), B on D, E (8.00), C on G, H (19.00), D on F (20.00);
    # the check match follows: A +20% of (8 + 19) = 5.40, B +20% of 20 = 4.00.
    assert d["bonuses"]["unilevel"]["change"] == "54.00"
    assert d["bonuses"]["check_match"]["change"] == "9.40"
    assert [(r["member"], r["change"]) for r in d["top_gainers"]] == [
        ("D", "20.00"),
        ("C", "19.00"),
        ("A", "12.40"),
        ("B", "12.00"),
    ]
    assert d["members_gaining"] == 4 and d["top_losers"] == []


def test_segments_of_the_hybrid_example() -> None:
    e = economics(october())  # type: ignore[arg-type]
    seg = {s["segment"]: s for s in e["segments"]}
    # frontline: A 2 (B, C), B 2 (D, E), C 2 (G, H), D 1 (F); E, F, G, H none. All bought and are active.
    assert seg["customers"]["members"] == 4 and seg["customers"]["earnings"] == "20.00"  # E F G H; F's loyalty
    assert seg["part_time"]["members"] == 4 and seg["part_time"]["earnings"] == "1321.00"  # A B C D
    assert seg["builders"]["members"] == 0 and seg["builders"]["share_of_payout"] == 0.0
    assert seg["leaders"]["members"] == 1 and seg["leaders"]["mean"] == "846.00"
    assert seg["new_this_quarter"]["members"] == 1  # H, enrolled 2026-10-02
