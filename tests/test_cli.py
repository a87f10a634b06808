"""The command line end to end: golden worked examples, exit codes, atomic output, determinism."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from compplan.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "plans" / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compplan", *args], capture_output=True, text=True, cwd=ROOT)


def close_args(
    example: str, out: Path, *extra: str, members: Path | None = None, orders: Path | None = None
) -> list[str]:
    d = EXAMPLES / example
    return [
        "close",
        "--plan",
        str(ROOT / "plans" / f"{example}.yaml"),
        "--members",
        str(members or d / "members.csv"),
        "--orders",
        str(orders or d / "orders.csv"),
        "--period",
        "2026-10",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


@pytest.mark.parametrize("example", ["wellness_unilevel", "tiered_personal"])
def test_golden_worked_examples(example: str, tmp_path: Path) -> None:
    """The hand-worked examples of docs/examples.md, to the cent."""
    out = tmp_path / "out"
    assert main(close_args(example, out, "--ledger")) == 0
    expected = (EXAMPLES / example / "expected_members.csv").read_text()
    assert (out / "members.csv").read_text() == expected
    summary = json.loads((out / "summary.json").read_text())
    header, *rows = expected.splitlines()
    at = header.split(",").index("total")
    totals = [line.split(",")[at] for line in rows]
    cents = sum(int(t.replace(".", "")) for t in totals)
    assert summary["total_payout"] == f"{cents // 100}.{cents % 100:02d}"
    ledger = (out / "ledger.csv").read_text().splitlines()[1:]
    assert sum(int(line.rsplit(",", 1)[1].replace(".", "")) for line in ledger) == cents
    assert sorted(p.name for p in out.iterdir()) == [
        "awards.csv",
        "ledger.csv",
        "members.csv",
        "state.csv",
        "summary.json",
    ]


def test_outputs_are_byte_identical_whatever_the_row_order(tmp_path: Path) -> None:
    ex = EXAMPLES / "tiered_personal"
    outs = []
    for seed in range(3):
        rng = random.Random(seed)
        files = {}
        for name in ("members.csv", "orders.csv"):
            head, *rows = (ex / name).read_text().splitlines()
            rng.shuffle(rows)
            files[name] = tmp_path / f"{seed}-{name}"
            files[name].write_text("\n".join([head, *rows]) + "\n")
        out = tmp_path / f"out{seed}"
        assert (
            main(
                close_args("tiered_personal", out, "--ledger", members=files["members.csv"], orders=files["orders.csv"])
            )
            == 0
        )
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1] == outs[2]


def test_state_carries_highest_rank_into_the_next_close(tmp_path: Path) -> None:
    first = tmp_path / "oct"
    assert main(close_args("tiered_personal", first)) == 0
    second = tmp_path / "nov"
    ex = EXAMPLES / "tiered_personal"
    orders = tmp_path / "nov.csv"
    orders.write_text("member_id,date,pv,cv\nC,2026-11-02,10,10\n")
    args = close_args("tiered_personal", second, "--state", str(first / "state.csv"), orders=orders)
    args[args.index("2026-10")] = "2026-11"
    assert main(args) == 0
    rows = (second / "members.csv").read_text().splitlines()
    assert rows[1].startswith("A,0.00,10.00,10.00,false,Consultant,Senior Consultant,")
    assert (ex / "members.csv").exists()


def test_bad_input_exits_1_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    members = tmp_path / "m.csv"
    members.write_text("id,sponsor_id,enrolled_on\n1,,2025-01-01\n2,9,2025-01-01\n3,3,2025-01-01\n")
    out = tmp_path / "out"
    proc = run(*close_args("tiered_personal", out, members=members))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{members}:3: member 2: sponsor 9 is not a member" in proc.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["m.csv"]


def test_bad_orders_report_every_line(tmp_path: Path) -> None:
    orders = tmp_path / "o.csv"
    orders.write_text("member_id,date,pv,cv\nA,2026-10-01,1,1\nZ,2026-10-01,1,1\nA,2026-11-01,1,1\nA,2026-10-01,x,1\n")
    proc = run(*close_args("tiered_personal", tmp_path / "out", orders=orders))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{orders}:5: pv 'x' is not a decimal number" in proc.stderr
    orders.write_text("member_id,date,pv,cv\nA,2026-10-01,1,1\nZ,2026-10-01,1,1\nA,2026-11-01,1,1\n")
    proc = run(*close_args("tiered_personal", tmp_path / "out", orders=orders))
    assert f"{orders}:3: order for unknown member Z" in proc.stderr
    assert f"{orders}:4: order dated 2026-11-01 is outside the period 2026-10-01..2026-10-31" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(close_args("wellness_unilevel", out)) == 0
    (out / "marker").write_text("old")
    assert main(close_args("wellness_unilevel", out)) == 1
    assert (out / "marker").exists()
    assert main(close_args("wellness_unilevel", out, "--overwrite")) == 0
    assert not (out / "marker").exists() and (out / "members.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary directories left behind


def test_validate_and_schema_commands(tmp_path: Path) -> None:
    proc = run("validate", *map(str, sorted((ROOT / "plans").glob("*.yaml"))))
    assert proc.returncode == 0, proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("plan: {name: x, currency: USD}\nactivity: {min_pv: 1}\nranks: []\n")
    proc = run("validate", str(bad), str(ROOT / "plans" / "wellness_unilevel.yaml"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}:3:8: ranks: List should have at least 1 item" in proc.stderr
    assert "1 of 2 plan files are invalid" in proc.stderr
    schema = json.loads(run("schema").stdout)
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    assert (ROOT / "docs" / "plan.schema.json").read_text() == run("schema").stdout, "regenerate docs/plan.schema.json"


def test_usage_errors_exit_2() -> None:
    proc = run("close", "--plan", "x.yaml")
    assert proc.returncode == 2 and "required" in proc.stderr


def test_missing_plan_file_is_a_clean_error(tmp_path: Path) -> None:
    proc = run("validate", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 1 and "cannot read plan file" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_closes_a_synthetic_network(tmp_path: Path) -> None:
    proc = run("demo", "--members", "3000", "--seed", "3", "--out", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert "synthetic network: 3,000 members" in proc.stdout and "total payout" in proc.stdout
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    members = (tmp_path / "demo" / "members.csv").read_text().splitlines()
    assert summary["members"] == 3000 and len(members) == 3001
    at = members[0].split(",").index("total")
    cents = sum(int(line.split(",")[at].replace(".", "")) for line in members[1:])
    assert summary["total_payout"] == f"{cents // 100}.{cents % 100:02d}" and cents > 0


def test_golden_hybrid_two_months(tmp_path: Path) -> None:
    """The hand-worked two-month example of docs/examples.md: state in, state out, state in again."""
    d = EXAMPLES / "hybrid_leadership"
    plan = str(ROOT / "plans" / "hybrid_leadership.yaml")
    common = ["--plan", plan, "--members", str(d / "members.csv"), "--ledger", "--quiet"]
    october, november = tmp_path / "2026-10", tmp_path / "2026-11"
    assert (
        main(
            [
                "close",
                *common,
                "--orders",
                str(d / "orders_2026-10.csv"),
                "--events",
                str(d / "events_2026-10.csv"),
                "--state",
                str(d / "state_2026-09.csv"),
                "--period",
                "2026-10",
                "--out",
                str(october),
            ]
        )
        == 0
    )
    assert (october / "members.csv").read_text() == (d / "expected_2026-10.csv").read_text()
    assert (october / "awards.csv").read_text().splitlines()[1:] == ["E,enrolment,,Training certificate"]
    assert (
        main(
            [
                "close",
                *common,
                "--orders",
                str(d / "orders_2026-11.csv"),
                "--state",
                str(october / "state.csv"),
                "--period",
                "2026-11",
                "--out",
                str(november),
            ]
        )
        == 0
    )
    assert (november / "members.csv").read_text() == (d / "expected_2026-11.csv").read_text()
    state = (november / "state.csv").read_text().splitlines()
    assert state[0].endswith("period=2026-11; end=2026-11-30") and "G,Associate,3,15.00" in state


def test_progress_has_next_rank_earnings_and_says_why_when_it_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compplan import close, load_plan
    from compplan.io.csvio import read_events, read_members, read_orders, read_state

    d = EXAMPLES / "hybrid_leadership"
    files = ["--state", str(d / "state_2026-09.csv"), "--events", str(d / "events_2026-10.csv"), "--progress"]
    out = tmp_path / "out"
    orders = d / "orders_2026-10.csv"
    assert main(close_args("hybrid_leadership", out, *files, orders=orders)) == 0
    plan = load_plan(ROOT / "plans" / "hybrid_leadership.yaml")
    res = close(
        plan,
        read_members(d / "members.csv"),
        read_orders(orders),
        "2026-10",
        state=read_state(d / "state_2026-09.csv"),
        events=read_events(d / "events_2026-10.csv"),
        next_rank=True,
    )
    assert res.next_rank_total is not None
    totals = zip(res.ids.tolist(), res.next_rank_total.tolist(), strict=True)
    want = {str(i): f"{t // 100}.{t % 100:02d}" for i, t in totals}
    header, *rows = (out / "progress.csv").read_text().splitlines()
    assert header.split(",")[-1] == "next_rank_earnings"
    assert rows and all(r.split(",")[-1] == want[r.split(",")[0]] for r in rows)
    assert want["B"] == "666.00"  # Manager -> Director: what B earns now (166.00) and the 500.00 advancement

    text = (ROOT / "plans" / "hybrid_leadership.yaml").read_text()
    bad = tmp_path / "hybrid_leadership.yaml"
    bad.write_text(text.replace("matches: [unilevel, generation]", "matches: [unilevel, leadership_pool]"))
    args = close_args("hybrid_leadership", tmp_path / "bad", *files, orders=orders)
    args[args.index("--plan") + 1] = str(bad)
    capsys.readouterr()
    assert main(args) == 0
    assert "next_rank_earnings left empty: matching bonus 'check_match' matches pool" in capsys.readouterr().err
    rows = (tmp_path / "bad" / "progress.csv").read_text().splitlines()[1:]
    assert rows and all(r.endswith(",") for r in rows)
