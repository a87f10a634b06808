"""Closing month after month through the command line: state, streaks, balances, caps, re-runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from compplan.cli import main

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "hybrid_leadership.yaml"

# A small network: 1 sponsors 2..6; 2 sponsors 7..9; 7 sponsors 10.
MEMBERS = (
    "id,sponsor_id,enrolled_on\n1,,2024-01-10\n"
    + "".join(
        f"{i},{s},2025-0{1 + i % 8}-15\n" for i, s in [(2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 2), (8, 2), (9, 2)]
    )
    + "10,7,2026-11-03\n"
)


def orders(month: str, extra: str = "") -> str:
    rows = [
        f"{i},{month}-05,{pv},{pv}"
        for i, pv in [(1, 150), (2, 300), (3, 120), (4, 100), (5, 110), (6, 40), (7, 200), (8, 100), (9, 105)]
    ]
    return "member_id,date,pv,cv\n" + "\n".join(rows) + "\n" + extra


def close(tmp: Path, month: str, state: Path | None, *extra: str, order_text: str | None = None) -> int:
    (tmp / f"o{month}.csv").write_text(order_text if order_text is not None else orders(month))
    args = [
        "close",
        "--plan",
        str(PLAN),
        "--members",
        str(tmp / "m.csv"),
        "--orders",
        str(tmp / f"o{month}.csv"),
        "--period",
        month,
        "--out",
        str(tmp / month),
        "--quiet",
        "--ledger",
        *extra,
    ]
    if state is not None:
        args += ["--state", str(state)]
    return main(args)


def rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {r["id"]: r for r in csv.DictReader(line for line in f if not line.startswith("#"))}


def ledger(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.fixture
def three_months(tmp_path: Path) -> Path:
    (tmp_path / "m.csv").write_text(MEMBERS.replace("10,7,2026-11-03\n", ""))
    assert close(tmp_path, "2026-09", None) == 0
    assert close(tmp_path, "2026-10", tmp_path / "2026-09" / "state.csv") == 0
    (tmp_path / "m.csv").write_text(MEMBERS)
    assert close(tmp_path, "2026-11", tmp_path / "2026-10" / "state.csv") == 0
    return tmp_path


def test_streak_and_loyalty_after_three_active_months(three_months: Path) -> None:
    nov = rows(three_months / "2026-11" / "members.csv")
    state = rows(three_months / "2026-11" / "state.csv")
    assert state["1"]["streak"] == "3" and state["6"]["streak"] == "0" and state["10"]["streak"] == "0"
    # 1% of own CV from the third consecutive active month: member 2 bought 300.00
    assert nov["2"]["loyalty"] == "3.00" and nov["6"]["loyalty"] == "0.00"
    oct_ = rows(three_months / "2026-10" / "members.csv")
    assert oct_["2"]["loyalty"] == "0.00"


def test_new_member_enrolment_pays_the_sponsor(three_months: Path) -> None:
    nov = rows(three_months / "2026-11" / "members.csv")
    assert nov["7"]["enrolment"] == "10.00"
    lines = ledger(three_months / "2026-11" / "ledger.csv")
    assert [(r["payee"], r["source"], r["kind"], r["amount"]) for r in lines if r["bonus"] == "enrolment"] == [
        ("7", "10", "line", "10.00")
    ]


def test_rerunning_a_period_is_byte_identical(three_months: Path) -> None:
    first = {p.name: p.read_bytes() for p in (three_months / "2026-11").iterdir()}
    assert close(three_months, "2026-11", three_months / "2026-10" / "state.csv", "--overwrite") == 0
    assert {p.name: p.read_bytes() for p in (three_months / "2026-11").iterdir()} == first


def test_state_from_the_wrong_period_or_plan_is_refused(three_months: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert close(three_months, "2026-12", three_months / "2026-10" / "state.csv") == 1
    err = capsys.readouterr().err
    assert (
        "the state is from period 2026-10 (ending 2026-10-31); this close needs the state of the period ending "
        "2026-11-30" in err
    )
    assert not (three_months / "2026-12").exists()
    other = three_months / "other.csv"
    text = (three_months / "2026-11" / "state.csv").read_text().replace("plan=Hybrid Leadership", "plan=Other")
    other.write_text(text)
    assert close(three_months, "2026-12", other) == 1
    assert "the state was written by plan 'Other', not 'Hybrid Leadership'" in capsys.readouterr().err


def test_returns_carry_a_negative_balance_that_later_earnings_offset(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(MEMBERS.replace("10,7,2026-11-03\n", ""))
    assert close(tmp_path, "2026-09", None) == 0
    sep = rows(tmp_path / "2026-09" / "members.csv")
    earned = sep["1"]["unilevel"]
    assert sep["1"]["paid"] == sep["1"]["total"] != "0.00"
    # October: member 2 returns far more than it bought; member 1's unilevel on it is negative.
    october = orders("2026-10", "2,2026-10-20,-2000,-2000\n")
    assert close(tmp_path, "2026-10", tmp_path / "2026-09" / "state.csv", order_text=october) == 0
    oct_ = rows(tmp_path / "2026-10" / "members.csv")
    assert oct_["1"]["paid"] == "0.00" and oct_["1"]["balance_out"].startswith("-")
    debt = oct_["1"]["balance_out"]
    state = rows(tmp_path / "2026-10" / "state.csv")
    assert state["1"]["balance"] == debt
    # November: the debt is taken from what member 1 earns before anything is paid.
    assert close(tmp_path, "2026-11", tmp_path / "2026-10" / "state.csv") == 0
    nov = rows(tmp_path / "2026-11" / "members.csv")
    assert nov["1"]["balance_in"] == debt

    def cents(text: str) -> int:
        return int(text.replace(".", ""))

    assert cents(nov["1"]["paid"]) + cents(nov["1"]["balance_out"]) == cents(debt) + cents(nov["1"]["total"])
    assert earned


def test_company_cap_scales_exactly(tmp_path: Path) -> None:
    plan = tmp_path / "capped.yaml"
    plan.write_text(PLAN.read_text().replace("max_share: 45%", "max_share: 5%"))
    (tmp_path / "m.csv").write_text(MEMBERS.replace("10,7,2026-11-03\n", ""))
    (tmp_path / "o.csv").write_text(orders("2026-09"))
    out = tmp_path / "out"
    args = [
        "close",
        "--plan",
        str(plan),
        "--members",
        str(tmp_path / "m.csv"),
        "--orders",
        str(tmp_path / "o.csv"),
        "--period",
        "2026-09",
        "--out",
        str(out),
        "--quiet",
        "--ledger",
    ]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    cap = summary["payout_cap"]
    assert cap["binding"] is True and cap["limit"] == "61.25"  # 5% of CV 1225.00
    assert cap["after"] == summary["total_payout"] == cap["limit"] and cap["binding_short"] == "0.00"
    lines = ledger(out / "ledger.csv")
    cut = sum(int(r["amount"].replace(".", "")) for r in lines if r["kind"] == "company_cap")
    assert -cut == int(cap["cut"].replace(".", "")) > 0
    total = sum(int(r["amount"].replace(".", "")) for r in lines)
    assert f"{total // 100}.{total % 100:02d}" == summary["total_payout"]


def test_enrolment_rows_in_the_events_file_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.csv").write_text(MEMBERS.replace("10,7,2026-11-03\n", ""))
    events = tmp_path / "e.csv"
    events.write_text("member_id,kind,date\n2,enrolment,2026-09-03\n3,webinar,2026-09-04\n")
    assert close(tmp_path, "2026-09", None, "--events", str(events)) == 1
    err = capsys.readouterr().err
    assert f"{events}:2: 'enrolment' events come from the members' enrolled_on dates; remove this row" in err
    assert f"{events}:3: event kind 'webinar' is not listed by the plan's action bonuses (training_completed)" in err


def test_a_bonus_listed_twice_is_refused() -> None:
    from compplan import PlanError, parse_plan

    text = PLAN.read_text().replace("matches: [unilevel, generation]", "matches: [unilevel, unilevel]")
    with pytest.raises(PlanError, match=r"bonuses\[3\]\.matches\[1\]: 'unilevel' is listed twice"):
        parse_plan(text, "p.yaml")
