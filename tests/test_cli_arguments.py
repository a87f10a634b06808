"""Bad command-line arguments: one clear line per problem naming the argument, exit 1 or 2, no traceback.

Argument types (argparse) reject a malformed value with ``compplan CMD: error: argument --NAME: ...`` and exit
code 2; checks that need the plan, the period or the members table raise InputError (exit code 1). Either way
nothing is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from compplan.cli import main
from compplan.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PLAN = str(ROOT / "plans" / "wellness_unilevel.yaml")
EXAMPLE = ROOT / "plans" / "examples" / "wellness_unilevel"
MEMBERS = str(EXAMPLE / "members.csv")
ORDERS = str(EXAMPLE / "orders.csv")
INPUTS = ["--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS, "--period", "2026-10"]


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], code: int, *expected: str) -> str:
    """Run the command line, expect exit ``code``, and return stderr (which must hold every ``expected`` text)."""
    if code == 2:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    else:
        assert main(argv) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out == ""
    for text in expected:
        assert text in captured.err, captured.err
    return captured.err


# --- whatif -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "1e400", "1,5", ""])
def test_whatif_add_pv_that_is_not_a_decimal(capsys: pytest.CaptureFixture[str], value: str) -> None:
    fails(
        capsys,
        ["whatif", *INPUTS, "--id", "1", "--add-pv", value],
        2,
        "argument --add-pv: expected a decimal number",
        repr(value),
    )


def test_whatif_add_pv_finer_than_the_plans_volume_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(capsys, ["whatif", *INPUTS, "--id", "1", "--add-pv", "1.234"], 1, "--add-pv 1.234")
    assert "more than 2 decimal places" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["99999999999999999999", "10000000000.01", "-10000000000.01"])
def test_whatif_add_pv_beyond_the_order_line_bound(capsys: pytest.CaptureFixture[str], value: str) -> None:
    fails(capsys, ["whatif", *INPUTS, "--id", "1", "--add-pv", value], 1, f"--add-pv {value}: beyond the bound")


def test_whatif_add_pv_at_the_plans_precision_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatif", *INPUTS, "--id", "2", "--add-pv", "0.50"]) == 0
    assert "What if 2 buys 0.50 more points (member 2):" in capsys.readouterr().out


def test_whatif_zero_add_pv_written_with_decimals_is_no_purchase(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatif", *INPUTS, "--id", "1", "--add-pv", "0.00"]) == 0
    assert "What if nothing changes (member 1):" in capsys.readouterr().out


def test_whatif_negative_recruits(capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["whatif", *INPUTS, "--id", "1", "--recruits", "-1"], 2, "argument --recruits", "at least 0", "'-1'")


def test_whatif_unknown_on_names_the_member_and_the_members_file(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(capsys, ["whatif", *INPUTS, "--id", "1", "--on", "99", "--add-pv", "5"], 1)
    assert err.strip() == f"--on: member 99 is not in {MEMBERS}"
    assert "orders.csv" not in err  # it used to blame a row of the orders file


def test_whatif_reports_every_problem_together(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(capsys, ["whatif", *INPUTS, "--id", "99", "--on", "text-id", "--add-pv", "1.001"], 1)
    assert err.strip().splitlines() == [
        "--add-pv 1.001: more than 2 decimal places (the plan's volume_decimals)",
        f"--id: member 99 is not in {MEMBERS}",
        f"--on: member text-id is not in {MEMBERS}",
    ]


@pytest.mark.parametrize("option", ["--on", "--id"])
def test_whatif_empty_member_id(capsys: pytest.CaptureFixture[str], option: str) -> None:
    argv = ["whatif", *INPUTS, "--id", "1", option, ""]
    fails(capsys, argv, 2, f"argument {option}: expected a member id, got an empty value")


def test_explain_unknown_id_says_the_same_as_whatif(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(capsys, ["explain", *INPUTS, "--id", "99"], 1)
    assert err.strip() == f"--id: member 99 is not in {MEMBERS}"
    err = fails(capsys, ["whatif", *INPUTS, "--id", "99"], 1)
    assert err.strip() == f"--id: member 99 is not in {MEMBERS}"


def test_what_if_library_names_an_unknown_buyer_and_negative_recruits() -> None:
    from compplan.explain import what_if
    from compplan.io.csvio import read_members, read_orders
    from compplan.spec import load_plan

    members, orders = read_members(MEMBERS), read_orders(ORDERS, 2)
    with pytest.raises(InputError) as exc:
        what_if(load_plan(PLAN), members, orders, "2026-10", 1, add_pv="5", on=99, recruits=-1)
    assert exc.value.codes == ["unknown_member", "out_of_range"]
    assert f"member 99 is not in {MEMBERS}" in exc.value.report()


# --- close --as-of -----------------------------------------------------------------------------------------


def close_argv(out: Path, *extra: str) -> list[str]:
    return ["close", *INPUTS, "--out", str(out), "--quiet", *extra]


def test_close_as_of_that_is_not_a_date(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = close_argv(out, "--progress", "--as-of", "2026-13-01")
    fails(capsys, argv, 2, "argument --as-of: expected a date YYYY-MM-DD, got '2026-13-01'")
    assert not out.exists()


@pytest.mark.parametrize("day", ["2026-09-01", "2026-09-30", "2026-11-01"])
def test_close_as_of_outside_the_period(capsys: pytest.CaptureFixture[str], tmp_path: Path, day: str) -> None:
    out = tmp_path / "out"
    err = fails(capsys, close_argv(out, "--progress", "--as-of", day), 1, f"--as-of {day}: not in period 2026-10")
    assert "from 2026-10-01 to 2026-10-31" in err
    assert not out.exists()


def test_close_as_of_without_progress(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    fails(capsys, close_argv(out, "--as-of", "2026-10-20"), 1, "--as-of needs --progress")
    assert not out.exists()


@pytest.mark.parametrize(("day", "left"), [("2026-10-01", "30"), ("2026-10-20", "11"), ("2026-10-31", "0")])
def test_close_as_of_inside_the_period(tmp_path: Path, day: str, left: str) -> None:
    out = tmp_path / "out"
    assert main(close_argv(out, "--progress", "--as-of", day)) == 0
    header, *rows = (out / "progress.csv").read_text().splitlines()
    at = header.split(",").index("days_left")
    assert rows
    assert {r.split(",")[at] for r in rows} == {left}


def test_progress_library_rejects_a_day_outside_the_period() -> None:
    from compplan.engine import close
    from compplan.explain import progress
    from compplan.io.csvio import read_members, read_orders
    from compplan.spec import load_plan

    result = close(load_plan(PLAN), read_members(MEMBERS), read_orders(ORDERS, 2), "2026-10")
    with pytest.raises(InputError, match="as_of 2026-09-01 is not in period 2026-10"):
        progress(result, dt.date(2026, 9, 1))


# --- diff and report ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "word"), [(1, "once"), (3, "3 times")])
def test_diff_needs_exactly_two_plans(capsys: pytest.CaptureFixture[str], count: int, word: str) -> None:
    argv = ["diff", *[a for _ in range(count) for a in ("--plan", PLAN)], "--synthetic", "10"]
    err = fails(capsys, argv, 1, "give --plan exactly twice", f"not {word}")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["diff", "report"])
@pytest.mark.parametrize(
    ("given", "missing", "path"), [("--members", "--orders", MEMBERS), ("--orders", "--members", ORDERS)]
)
def test_members_and_orders_go_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, given: str, missing: str, path: str
) -> None:
    out = tmp_path / "r.html"
    plans = ["--plan", PLAN, "--plan", PLAN] if command == "diff" else ["--plan", PLAN, "--out", str(out)]
    fails(capsys, [command, *plans, given, path], 1, f"{given} needs {missing}: give both")
    assert not out.exists()


def test_report_state_and_events_need_members(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    argv = ["report", "--plan", PLAN, "--out", str(out), "--state", "s.csv", "--events", "e.csv"]
    err = fails(capsys, argv, 1, "--state needs --members and --orders", "--events needs --members and --orders")
    assert len(err.strip().splitlines()) == 2
    assert not out.exists()


@pytest.mark.parametrize("option", ["--synthetic", "--seed"])
def test_synthetic_options_with_members_are_not_silently_ignored(
    capsys: pytest.CaptureFixture[str], option: str
) -> None:
    argv = ["diff", "--plan", PLAN, "--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS, option, "5"]
    fails(capsys, argv, 1, f"{option} is for a synthetic network")


def test_diff_and_report_on_real_inputs_still_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["diff", "--plan", PLAN, "--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS]) == 0
    assert f"on {MEMBERS}, {ORDERS}, period 2026-10" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["report", "--plan", PLAN, "--synthetic", "50", "--seed", "3", "--out", str(out)]) == 0
    assert "a synthetic network of 50 members (seed 3)" in capsys.readouterr().out
    assert out.is_file()


# --- sizes, seeds, counts, rates, months and periods -------------------------------------------------------

SIZE_CASES = [
    (["diff", "--plan", PLAN, "--plan", PLAN], "--synthetic"),
    (["report", "--plan", PLAN, "--out", "never.html"], "--synthetic"),
    (["demo"], "--members"),
    (["simulate", "--plan", PLAN], "--members"),
]


@pytest.mark.parametrize(("prefix", "option"), SIZE_CASES)
@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5"])
def test_network_size_is_a_positive_whole_number(
    capsys: pytest.CaptureFixture[str], prefix: list[str], option: str, value: str
) -> None:
    fails(capsys, [*prefix, option, value], 2, f"argument {option}: expected a whole number of at least 1", repr(value))


def test_network_size_has_an_upper_bound(capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["demo", "--members", "3000000000"], 2, "argument --members: expected a whole number of at most")


@pytest.mark.parametrize("prefix", [p for p, _ in SIZE_CASES])
def test_seed_is_a_non_negative_whole_number(capsys: pytest.CaptureFixture[str], prefix: list[str]) -> None:
    fails(capsys, [*prefix, "--seed", "-1"], 2, "argument --seed: expected a whole number of at least 0, got '-1'")


def test_diff_top_is_not_negative(capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["diff", "--plan", PLAN, "--plan", PLAN, "--top", "-1"], 2, "argument --top", "'-1'")


@pytest.mark.parametrize("option", ["--recruit-rate", "--churn", "--retention", "--order-rate"])
@pytest.mark.parametrize("value", ["-1", "-0.5", "1.5", "2", "nan", "inf", "x"])
def test_simulate_rates_are_between_0_and_1(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    argv = ["simulate", "--plan", PLAN, option, value]
    fails(capsys, argv, 2, f"argument {option}: expected a number from 0 to 1, got {value!r}")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_simulate_months_at_least_one(capsys: pytest.CaptureFixture[str], value: str) -> None:
    fails(capsys, ["simulate", "--plan", PLAN, "--months", value], 2, "argument --months", "at least 1", repr(value))


@pytest.mark.parametrize("value", ["2026-1", "2026-13", "2026-01-01..2026-01-31", "January"])
def test_simulate_start_is_a_month(capsys: pytest.CaptureFixture[str], value: str) -> None:
    fails(capsys, ["simulate", "--plan", PLAN, "--start", value], 2, "argument --start: expected a month YYYY-MM")


def test_simulate_library_reports_every_bad_parameter() -> None:
    from compplan.simulate import Growth, simulate
    from compplan.spec import load_plan

    growth = Growth(recruit_rate=-1.0, churn=1.5, retention=float("nan"), order_rate=0.1)
    with pytest.raises(InputError) as exc:
        simulate(load_plan(PLAN), 0, 0, start="2026-01-01..2026-01-31", seed=-1, growth=growth)
    report = exc.value.report().splitlines()
    assert report == [
        "members 0: expected 1 or more",
        "months 0: expected 1 or more",
        "seed -1: expected 0 or more",
        "recruit_rate -1.0: expected a number from 0 to 1",
        "churn 1.5: expected a number from 0 to 1",
        "retention nan: expected a number from 0 to 1",
        "start '2026-01-01..2026-01-31': expected a month YYYY-MM",
    ]


def test_synthetic_generate_rejects_a_negative_seed() -> None:
    from compplan.synthetic import generate

    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        generate(10, seed=-1)


PERIOD_CASES = [
    ["close", "--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS, "--out", "never"],
    ["explain", "--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS, "--id", "1"],
    ["whatif", "--plan", PLAN, "--members", MEMBERS, "--orders", ORDERS, "--id", "1"],
    ["diff", "--plan", PLAN, "--plan", PLAN],
    ["report", "--plan", PLAN, "--out", "never.html"],
    ["demo"],
]


@pytest.mark.parametrize("prefix", PERIOD_CASES, ids=lambda p: p[0])
@pytest.mark.parametrize("value", ["2026-13", "2026-10-09..2026-10-02"])
def test_period_is_checked_before_any_work(capsys: pytest.CaptureFixture[str], prefix: list[str], value: str) -> None:
    fails(capsys, [*prefix, "--period", value], 2, "argument --period:", repr(value))
    assert not Path("never").exists()
    assert not Path("never.html").exists()
