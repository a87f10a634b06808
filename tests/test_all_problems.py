"""Every problem of every input in one run: no fix-and-rerun loop for a payroll."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders, State, arrays, close, load_plan
from compplan.cli import main
from compplan.genealogy import Genealogy

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "wellness_unilevel.yaml"


def members(rows: list[tuple[str, str]]) -> Members:
    ids = np.array([r[0] for r in rows])
    sponsors = np.array([r[1] for r in rows])
    enrolled = np.array(["2025-01-01"] * len(rows), dtype="datetime64[D]")
    return Members(ids, sponsors, is_root=sponsors == "", enrolled_on=enrolled)


def test_duplicates_unknown_sponsors_and_cycles_together() -> None:
    bad = members([("A", ""), ("B", "A"), ("B", "A"), ("C", "Z"), ("D", "E"), ("E", "D"), ("F", "F"), ("G", "C")])
    with pytest.raises(InputError) as err:
        Genealogy.build(bad)
    assert sorted(err.value.codes) == ["cycle", "cycle", "duplicate_id", "unknown_sponsor"]
    text = err.value.report()
    assert "invalid members" in text
    assert "sponsor cycle: D -> E -> D" in text and "member F is its own sponsor" in text
    assert "member C: sponsor Z is not a member" in text  # G, below C, is not a cycle


def test_only_cycles_keep_their_title() -> None:
    with pytest.raises(InputError, match="the sponsor tree has a cycle") as err:
        Genealogy.build(members([("A", ""), ("D", "E"), ("E", "D")]))
    assert err.value.codes == ["cycle"]


def test_orders_state_and_events_checked_together() -> None:
    plan = load_plan(PLAN)
    tree = members([("A", ""), ("B", "A")])
    orders = Orders(
        np.array(["A", "Q"]),
        np.array(["2026-10-01", "2026-11-01"], dtype="datetime64[D]"),
        np.array([100, 100]),
        np.array([100, 100]),
        decimals=0,
    )
    state = State(np.array(["B", "Y"]), np.array(["Member", "Nobody"]), np.array([0, 0]), np.array([0, 0]))
    with pytest.raises(InputError) as err:
        close(plan, tree, orders, "2026-10", state=state)
    codes = err.value.codes
    assert "unknown_member" in codes and "outside_period" in codes  # the orders
    assert "unknown_rank" in codes  # the state, in the same error
    text = err.value.report()
    assert "invalid orders" in text and "invalid state" in text


def test_cli_reports_bad_orders_and_a_bad_tree_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,sponsor_id,enrolled_on\nA,,2025-01-01\nB,Z,2025-01-01\nC,D,2025-01-01\nD,C,2025-01-01\n")
    o = tmp_path / "o.csv"
    o.write_text("member_id,date,pv,cv\nA,2026-10-01,abc,1\n")
    out = tmp_path / "out"
    args = ["close", "--plan", str(PLAN), "--members", str(m), "--orders", str(o), "--period", "2026-10"]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{m}:3: member B: sponsor Z is not a member" in err
    assert "sponsor cycle: C -> D -> C" in err
    assert f"{o}:2: pv 'abc' is not a decimal number" in err
    assert "Traceback" not in err and not out.exists()


def test_together_of_one_error_is_that_error() -> None:
    one = InputError("x is bad", title="t")
    again = InputError.together([one])
    assert type(again) is InputError and again.report() == one.report() == "t\nx is bad"
    both = InputError.together([one, InputError("y is bad", title="u")])
    assert both.report() == "t\nx is bad\nu\ny is bad" and str(both) == both.report()
    # a merged error merged again gives its parts, not a nest: every title once, str() the same report
    again = InputError.together([both, InputError("z is bad", title="v")])
    assert [p.title for p in again.parts] == ["t", "u", "v"] and str(again) == again.report()
    assert str(InputError.together([both])) == both.report()


def test_a_failed_close_holds_no_arrays_once_its_error_is_gone() -> None:
    # the checks collect their errors in a list: without care, list -> error -> traceback -> frame -> list is a
    # cycle that keeps every pooled array of the failed run until the garbage collector happens to run
    plan = load_plan(PLAN)
    tree = members([("A", ""), ("B", "A")] + [(f"M{i}", "A") for i in range(20_000)])
    orders = Orders(np.array(["Q"]), np.array(["2026-10-01"], dtype="datetime64[D]"), np.array([1]), np.array([1]))
    state = State(np.array(["Y"]), np.array(["Member"]), np.array([0]), np.array([0]))
    for _ in range(2):  # compiled first (numba's compiler leaves garbage cycles that may hold the arguments)
        with pytest.raises(InputError):
            close(plan, tree, orders, "2026-10", state=state)
    gc.collect()
    arrays.release()
    gc.disable()
    try:
        for one_input in (False, True):
            try:
                close(plan, tree, orders, "2026-10", state=None if one_input else state)
            except InputError as exc:
                assert exc.codes == ["unknown_member"] if one_input else ["unknown_member", "unknown_member"]
            assert arrays.pooled_bytes()[0] == 0  # nothing of the failed run still in use
    finally:
        gc.enable()


def test_cli_reads_every_file_before_reporting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,sponsor_id,enrolled_on\nA,,2025-01-01\nB,A,2025-13-01\n")
    o = tmp_path / "o.csv"
    o.write_text("member_id,date,pv,cv\nA,2026-10-01,1,x\n")
    st = tmp_path / "st.csv"
    st.write_text("id,highest_rank,streak,balance\nA,Member,0,1.2.3\n")
    ev = tmp_path / "ev.csv"
    ev.write_text("member_id,kind,date\nA,signup,2026-10-99\n")
    args = ["close", "--plan", str(PLAN), "--members", str(m), "--orders", str(o), "--period", "2026-10"]
    assert main([*args, "--state", str(st), "--events", str(ev), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    for path, line in ((m, 3), (o, 2), (st, 2), (ev, 2)):
        assert f"{path}:{line}:" in err, (path, err)
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_state_without_its_first_line_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # its plan, currency and period could not be checked: a state of another period would be applied silently
    ex = ROOT / "plans" / "examples" / "hybrid_leadership"
    lines = (ex / "state_2026-09.csv").read_text().splitlines(keepends=True)
    plain, partial = tmp_path / "plain.csv", tmp_path / "partial.csv"
    plain.write_text("".join(lines[1:]))
    partial.write_text("# compplan state; plan=Hybrid Leadership\n" + "".join(lines[1:]))
    args = ["close", "--plan", str(ROOT / "plans" / "hybrid_leadership.yaml"), "--members", str(ex / "members.csv")]
    args += ["--orders", str(ex / "orders_2026-10.csv"), "--events", str(ex / "events_2026-10.csv")]
    args += ["--period", "2026-10", "--quiet"]
    for state, missing in ((plain, "plan=, currency=, end="), (partial, "currency=, end=")):
        assert main([*args, "--state", str(state), "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert f"{state}:1: the first line must be '# compplan state; plan=NAME;" in err and f"(no {missing})" in err
    assert main([*args, "--state", str(ex / "state_2026-09.csv"), "--out", str(tmp_path / "out")]) == 0
