"""Placement trees, binary and matrix bonuses: hand-worked examples, `compplan place`, and every input error."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders, PlanError, State, close, parse_plan
from compplan.cli import main
from compplan.inputs import NO_POSITION
from compplan.io.csvio import read_members, read_state
from compplan.placement import place

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "plans" / "examples"

BINARY = """
plan: {name: B, currency: USD}
activity: {min_pv: 10}
ranks: [{name: member}]
placement: {tree: binary%s}
bonuses:
  - {id: binary, type: binary, require_active: false, %s}
"""


def binary_plan(bonus: str = "rate: 10%", placement: str = "") -> object:
    return parse_plan(BINARY % (placement, bonus))


def members(rows: list[tuple[object, object, object, object]], **kw: object) -> Members:
    """Rows of (id, sponsor, placement parent, side or position)."""
    ids, sponsors, parents, slots = (list(c) for c in zip(*rows, strict=True))
    key = "placement_positions" if any(isinstance(s, int) for s in slots) else "placement_sides"
    return Members.from_columns(ids, sponsors, ["2026-01-01"] * len(ids), placement_ids=parents, **{key: slots}, **kw)


def orders(volumes: dict[int, str], day: str = "2026-10-02") -> Orders:
    keys = list(volumes)
    return Orders.from_columns(keys, [day] * len(keys), [volumes[k] for k in keys], [volumes[k] for k in keys])


def messages(exc: pytest.ExceptionInfo[InputError]) -> str:
    return exc.value.report()


# -- hand-worked examples (docs/examples.md) ------------------------------------------------------------------


def test_golden_binary_two_weeks(tmp_path: Path) -> None:
    """docs/examples.md: weaker leg, carry, qualification per side, flush, carry cap, weekly cap, check match."""
    d = EX / "binary_weekly"
    common = ["close", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), "--members", str(d / "members.csv")]
    week1, week2 = tmp_path / "w1", tmp_path / "w2"
    args1 = ["--orders", str(d / "orders_2026-10-05.csv"), "--state", str(d / "state_2026-10-04.csv")]
    assert (
        main([*common, *args1, "--period", "2026-10-05..2026-10-11", "--out", str(week1), "--ledger", "--quiet"]) == 0
    )
    assert (week1 / "members.csv").read_text() == (d / "expected_2026-10-05.csv").read_text()
    state1 = (week1 / "state.csv").read_text().splitlines()
    assert state1[1] == "id,highest_rank,streak,balance,carry_left,carry_right,idle"
    assert "A,Builder,1,0.00,740.00,0.00,0" in state1 and "G,Affiliate,0,0.00,0.00,0.00,4" in state1  # G flushed
    args2 = ["--orders", str(d / "orders_2026-10-12.csv"), "--state", str(week1 / "state.csv")]
    assert (
        main([*common, *args2, "--period", "2026-10-12..2026-10-18", "--out", str(week2), "--ledger", "--quiet"]) == 0
    )
    assert (week2 / "members.csv").read_text() == (d / "expected_2026-10-12.csv").read_text()
    ledger = (week2 / "ledger.csv").read_text().splitlines()
    assert "A,A,binary,line,0,2700.00,0.100000,270.00" in ledger
    assert "A,A,binary,member_cap,0,270.00,0.000000,-20.00" in ledger
    assert "B,Builder,2,0.00,50.00,1500.00,0" in (week2 / "state.csv").read_text().splitlines()  # max_carry


def test_golden_matrix_place_then_close(tmp_path: Path) -> None:
    """docs/examples.md: breadth-first spillover by `compplan place`, then a compressed 3-wide matrix."""
    d = EX / "forced_matrix"
    plan = str(ROOT / "plans" / "forced_matrix.yaml")
    placed = tmp_path / "placed.csv"
    assert main(["place", "--plan", plan, "--members", str(d / "members.csv"), "--out", str(placed), "--quiet"]) == 0
    assert placed.read_text() == (d / "expected_placed.csv").read_text()
    out = tmp_path / "out"
    args = ["--members", str(placed), "--orders", str(d / "orders.csv"), "--period", "2026-10", "--out", str(out)]
    assert main(["close", "--plan", plan, *args, "--ledger", "--quiet"]) == 0
    assert (out / "members.csv").read_text() == (d / "expected_members.csv").read_text()
    ledger = (out / "ledger.csv").read_text().splitlines()
    assert "A,H,matrix,line,2,30.00,0.050000,1.50" in ledger  # H's level 2 is A: C is active, so not compressed


# -- the binary rules, small cases --------------------------------------------------------------------------


TREE = [(1, None, None, None), (2, 1, 1, "L"), (3, 1, 1, "R"), (4, 2, 2, "L"), (5, 2, 2, "R")]


def test_percentage_pays_the_weaker_leg_and_carries_the_rest() -> None:
    r = close(binary_plan(), members(TREE), orders({2: "100", 3: "50", 4: "30", 5: "20"}), "2026-10", ledger=True)
    assert r.column("leg_left").tolist() == [15000, 3000, 0, 0, 0]
    assert r.column("leg_right").tolist() == [5000, 2000, 0, 0, 0]
    assert r.bonuses["binary"].tolist() == [500, 200, 0, 0, 0]
    assert r.column("carry_left").tolist() == [10000, 1000, 0, 0, 0]
    assert r.column("carry_right").tolist() == [0, 0, 0, 0, 0]
    assert r.ledger is not None and r.ledger.basis.tolist() == [5000, 2000]


def test_pairs_first_pair_max_pairs_and_flushed_pairs() -> None:
    plan = binary_plan("pair_volume: 100, pair_cash: 10, first_pair_volume: 200, max_pairs: 2")
    # member 1: left 750, right 420. First pair 200 (left, the stronger) + 100 (right); then
    # min((750-200)//100, (420-100)//100) = min(5, 3) = 3 more: p = 4 pairs, paid q = 2 (max_pairs), 2 flushed.
    # consumed: left 200 + 3*100 = 500, right 4*100 = 400; carry 250 / 20.
    r = close(plan, members(TREE[:3]), orders({2: "750", 3: "420"}), "2026-10", ledger=True)
    assert r.bonuses["binary"].tolist() == [2000, 0, 0]
    assert r.column("carry_left").tolist()[0] == 25000 and r.column("carry_right").tolist()[0] == 2000
    assert r.ledger is not None and (r.ledger.level[0], r.ledger.basis[0]) == (2, 40000)  # q paid, p * V basis


def test_first_pair_needs_both_sides() -> None:
    plan = binary_plan("pair_volume: 100, pair_cash: 10, first_pair_volume: 200")
    r = close(plan, members(TREE[:3]), orders({2: "150", 3: "900"}), "2026-10")
    # the stronger side is right (900 >= 200) but left 150 >= 100: one first pair, then min(7, 0) = 0 more
    assert r.bonuses["binary"].tolist() == [1000, 0, 0]
    assert (r.column("carry_left")[0], r.column("carry_right")[0]) == (5000, 70000)
    r = close(plan, members(TREE[:3]), orders({2: "150", 3: "150"}), "2026-10")
    assert r.bonuses["binary"].tolist() == [0, 0, 0]  # neither side reaches 200: no pair, everything carries
    assert (r.column("carry_left")[0], r.column("carry_right")[0]) == (15000, 15000)


def test_returns_never_take_the_carry_below_zero() -> None:
    state = State.from_mapping({1: "member"}, carry_left={1: 3000}, carry_right={1: 0}, idle={1: 0})
    r = close(binary_plan(), members(TREE[:3]), orders({2: "-50", 3: "10"}), "2026-10", state=state)
    # left = max(0, 30 - 50) = 0; right = 10: nothing paid, carry 0 / 10
    assert r.bonuses["binary"].tolist() == [0, 0, 0]
    assert (r.column("carry_left")[0], r.column("carry_right")[0]) == (0, 1000)


def test_qualification_needs_a_sponsored_active_member_on_each_side() -> None:
    plan = binary_plan("rate: 10%, min_sponsored_per_side: 1", ", within_sponsor: false")
    # 4 and 5 are sponsored by 1 but placed under 2 (left leg); 3 is sponsored by 2, placed right of 1
    tree = [(1, None, None, None), (2, 1, 1, "L"), (3, 2, 1, "R"), (4, 1, 2, "L"), (5, 1, 2, "R")]
    r = close(
        plan,
        members(
            tree,
        ),
        orders({2: "40", 3: "50", 4: "30", 5: "20"}),
        "2026-10",
    )
    assert r.bonuses["binary"][0] == 0 and r.column("carry_right")[0] == 5000  # nobody 1 sponsored is on the right
    tree[2] = (3, 1, 1, "R")
    r = close(plan, members(tree), orders({2: "40", 3: "50", 4: "30", 5: "20"}), "2026-10")
    assert r.bonuses["binary"][0] == 500


def test_flush_after_inactive_periods_and_carry_cap() -> None:
    plan = binary_plan("rate: 10%, flush_after_inactive: 2, max_carry: 60", placement="")
    state = State.from_mapping({1: "member", 2: "member"}, carry_left={1: 9000, 2: 100}, idle={1: 1, 2: 0})
    r = close(plan, members(TREE), orders({2: "5", 4: "30"}), "2026-10", state=state)
    # 1 is inactive for the second period: its carry (90 + 35 left) is forfeited; 2: left 1 + 30, capped at 60? no
    assert r.column("idle").tolist()[:2] == [2, 1]
    assert r.column("carry_left").tolist()[:2] == [0, 3100]
    state = State.from_mapping({2: "member"}, carry_left={2: 9000}, idle={2: 0})
    r = close(plan, members(TREE), orders({2: "20", 4: "30"}), "2026-10", state=state)
    assert r.column("carry_left")[1] == 6000  # 90 + 30 = 120 carried, capped at 60


def test_state_round_trip_keeps_the_carry(tmp_path: Path) -> None:
    r = close(binary_plan(), members(TREE), orders({2: "100", 3: "50", 4: "30", 5: "20"}), "2026-10")
    from compplan.io.output import write_result

    write_result(r, tmp_path / "out")
    state = read_state(tmp_path / "out" / "state.csv", 2, 2)
    assert state.carry_left is not None and state.carry_left.tolist() == r.column("carry_left").tolist()
    again = close(binary_plan(), members(TREE), orders({3: "150"}, "2026-11-03"), "2026-11", state=state)
    # member 1 carried 100 / 0 from October; now left 100, right 0 + 150: pays 10.00 on 100, carries 0 / 50
    assert again.bonuses["binary"][0] == 1000 and again.column("carry_right")[0] == 5000


def test_matrix_is_a_unilevel_over_the_placement_tree() -> None:
    plan = parse_plan(
        """
        plan: {name: M, currency: USD}
        activity: {min_pv: 10}
        ranks: [{name: member}]
        placement: {tree: matrix, width: 2, within_sponsor: false}
        bonuses:
          - {id: mx, type: matrix, rates: [10%, 5%], require_active: false}
          - {id: uni, type: unilevel, rates: [10%, 5%], require_active: false}
        """
    )
    # sponsor tree: everyone sponsored by 1; placement: a chain 1 <- 2 <- 3
    m = members([(1, None, None, None), (2, 1, 1, 1), (3, 1, 2, 1)])
    r = close(plan, m, orders({3: "100"}), "2026-10")
    assert r.bonuses["mx"].tolist() == [500, 1000, 0] and r.bonuses["uni"].tolist() == [1000, 0, 0]


# -- compplan place ----------------------------------------------------------------------------------------


def _chain_members(n: int, sides: list[str] | None = None) -> Members:
    # everyone sponsored by 1; enrolled in id order; nobody placed
    return Members.from_columns(
        list(range(1, n + 1)),
        [None] + [1] * (n - 1),
        [f"2026-01-{d:02d}" for d in range(1, n + 1)],
        placement_ids=[None] * n,
        placement_sides=sides or [None] * n,
    )


@pytest.mark.parametrize(
    ("auto", "parents", "sides"),
    [
        ("left", [1, 2, 3, 4], ["L"] * 4),  # the outside of the left leg: a chain
        ("right", [1, 2, 3, 4], ["R"] * 4),
        ("weaker_leg", [1, 1, 2, 3], ["L", "R", "L", "R"]),  # 2 L (tie), 3 R, 4 outside-left, 5 outside-right
    ],
)
def test_place_binary_methods(auto: str, parents: list[int], sides: list[str]) -> None:
    plan = binary_plan(placement=f", auto: {auto}")
    placed = place(plan, _chain_members(5))  # type: ignore[arg-type]
    assert placed.placement_ids is not None and placed.placement_sides is not None
    assert placed.placement_ids[1:].tolist() == parents
    assert placed.placement_sides[1:].tolist() == sides


def test_place_keeps_existing_placements_and_honours_a_wanted_side() -> None:
    plan = binary_plan(placement=", auto: left")
    m = Members.from_columns(
        [1, 2, 3, 4],
        [None, 1, 1, 1],
        ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"],
        placement_ids=[None, 1, None, None],
        placement_sides=[None, "R", "R", None],  # 2 is placed on R; 3 wants R; 4 goes left
    )
    placed = place(plan, m)  # type: ignore[arg-type]
    assert placed.placement_ids is not None and placed.placement_sides is not None
    assert placed.placement_ids.tolist()[1:] == [1, 2, 1]
    assert placed.placement_sides.tolist()[1:] == ["R", "R", "L"]


def test_place_puts_an_unplaced_sponsor_first_and_ignores_row_order() -> None:
    plan = parse_plan(
        "plan: {name: M, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: m}]\n"
        "placement: {tree: matrix, width: 2}\n"
    )
    rows = [
        (1, None, "2026-01-01"),
        (2, 1, "2026-03-01"),
        (3, 2, "2026-02-01"),
        (4, 1, "2026-02-02"),
        (5, 1, "2026-04-01"),
    ]
    outs = []
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        ids, sponsors, days = (list(c) for c in zip(*shuffled, strict=True))
        m = Members.from_columns(ids, sponsors, days, placement_ids=[None] * 5, placement_positions=[None] * 5)
        p = place(plan, m)  # type: ignore[arg-type]
        assert p.placement_ids is not None and p.placement_positions is not None
        outs.append((p.ids.tolist(), p.placement_ids.tolist(), p.placement_positions.tolist()))
    assert outs[0] == outs[1] == outs[2]
    # 3 (enrolled first) needs its sponsor 2 placed first: 2 -> 1/1, 3 -> 2/1, then 4 -> 1/2, 5 -> 2/2
    assert outs[0][1][1:] == [1, 2, 1, 2] and outs[0][2][1:] == [1, 1, 2, 2]


def test_place_cli_output_closes(tmp_path: Path) -> None:
    src = tmp_path / "members.csv"
    src.write_text(
        "id,sponsor_id,enrolled_on\n"
        + "\n".join(f"{i},{'' if i == 1 else (i + 1) // 3},2026-01-01" for i in range(1, 41))
        + "\n"
    )
    out = tmp_path / "placed.csv"
    place_args = ["place", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), "--members", str(src), "--quiet"]
    assert main([*place_args, "--out", str(out)]) == 0
    placed = read_members(out)
    assert placed.placed is not None and int(placed.placed.sum()) == 39
    assert main([*place_args, "--out", str(out)]) == 1  # the file exists: nothing is overwritten without --overwrite
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text(
        "member_id,date,pv,cv\n" + "\n".join(f"{i},2026-10-06,60.00,60.00" for i in range(1, 41)) + "\n"
    )
    args = [
        "--members",
        str(out),
        "--orders",
        str(orders_csv),
        "--period",
        "2026-10-05..2026-10-11",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(["close", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), *args, "--quiet"]) == 0


# -- bad input ---------------------------------------------------------------------------------------------


def test_every_placement_problem_is_reported_together() -> None:
    m = Members.from_columns(
        [1, 2, 3, 4, 5, 6, 7],
        [None, 1, 1, 1, 1, 1, 1],
        ["2026-01-01"] * 7,
        placement_ids=[None, 1, 1, 99, None, 2, 1],
        placement_sides=[None, "L", "L", "R", None, "X", ""],
    )
    with pytest.raises(InputError) as exc:
        close(binary_plan(), m, None, "2026-10")
    text = messages(exc)
    assert "members row 6: member 6: placement_side 'X' is not L or R" in text
    assert "members row 7: member 7: placement_side is empty" in text
    assert "members row 5: member 5 has a sponsor but no placement_id; run `compplan place`" in text
    assert "members row 4: member 4: placement parent 99 is not a member" in text


def test_slot_taken_cycle_and_outside_sponsor() -> None:
    taken = members([(1, None, None, None), (2, 1, 1, "L"), (3, 1, 1, "L")])
    with pytest.raises(InputError, match="member 3: slot L of 1 is already taken"):
        close(binary_plan(), taken, None, "2026-10")
    cycle = members([(1, None, None, None), (2, 1, 3, "L"), (3, 1, 2, "L")])
    with pytest.raises(InputError, match="placement cycle: 2 -> 3 -> 2"):
        close(binary_plan(), cycle, None, "2026-10")
    outside = members([(1, None, None, None), (2, 1, 1, "L"), (3, 1, 1, "R"), (4, 2, 3, "L")])
    with pytest.raises(InputError, match="member 4 is placed outside the placement subtree of its sponsor 2"):
        close(binary_plan(), outside, None, "2026-10")
    close(binary_plan(placement=", within_sponsor: false"), outside, None, "2026-10")  # allowed when not required


def test_matrix_position_out_of_range_and_wrong_column() -> None:
    plan = parse_plan(
        "plan: {name: M, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: m}]\n"
        "placement: {tree: matrix, width: 3}\nbonuses: [{id: mx, type: matrix, rates: [5%]}]\n"
    )
    with pytest.raises(InputError, match=r"member 2: placement_position 4 is not in 1..3"):
        close(plan, members([(1, None, None, None), (2, 1, 1, 4)]), None, "2026-10")
    with pytest.raises(InputError, match="a matrix placement needs the column 'placement_position'"):
        close(plan, members([(1, None, None, None), (2, 1, 1, "L")]), None, "2026-10")


def test_placement_errors_through_the_cli_write_nothing(tmp_path: Path) -> None:
    src = tmp_path / "members.csv"
    src.write_text(
        "id,sponsor_id,enrolled_on,placement_id,placement_side\n1,,2026-01-01,,\n2,1,2026-01-01,1,L\n3,1,2026-01-01,1,L\n"
    )
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text("member_id,date,pv,cv\n2,2026-10-06,60.00,60.00\n")
    out = tmp_path / "out"
    args = ["--members", str(src), "--orders", str(orders_csv), "--period", "2026-10-05..2026-10-11", "--out", str(out)]
    assert main(["close", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), *args]) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("bonus", "placement", "message"),
    [
        ("rate: 10%", "", None),
        ("rate: 10%, pair_volume: 100, pair_cash: 5", "", "give either 'rate'"),
        ("pair_volume: 100", "", "pair mode needs both"),
        ("rate: 10%, max_pairs: 3", "", "go with pair mode"),
        ("pair_volume: 100, pair_cash: 5, first_pair_volume: 50", "", "must be at least 'pair_volume'"),
        ("rate: 10%", ", width: 3", "a binary tree has width 2"),
    ],
)
def test_binary_plan_validation(bonus: str, placement: str, message: str | None) -> None:
    if message is None:
        binary_plan(bonus, placement)
        return
    with pytest.raises(PlanError, match=message):
        binary_plan(bonus, placement)


def test_binary_and_matrix_need_their_tree() -> None:
    with pytest.raises(PlanError, match="a binary bonus needs a binary placement tree"):
        parse_plan("plan: {name: X, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: m}]\n"
                   "bonuses: [{id: b, type: binary, rate: 5%}]\n")  # fmt: skip
    with pytest.raises(PlanError, match=re.escape("a matrix bonus needs 'placement: {tree: matrix")):
        parse_plan("plan: {name: X, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: m}]\n"
                   "placement: {tree: binary}\nbonuses: [{id: b, type: matrix, rates: [5%]}]\n")  # fmt: skip
    with pytest.raises(PlanError, match="at most one binary bonus"):
        parse_plan("plan: {name: X, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: m}]\n"
                   "placement: {tree: binary}\nbonuses: [{id: a, type: binary, rate: 5%},\n"
                   "  {id: b, type: binary, rate: 5%}]\n")  # fmt: skip


def test_state_carry_must_be_in_range() -> None:
    state = State.from_mapping({2: "member"}, carry_left={2: -5})
    with pytest.raises(InputError, match=re.escape("member 2: carry_left -0.05 is not in 0..10000000000000.00")):
        close(binary_plan(), members(TREE), None, "2026-10", state=state)


def test_leg_volumes_equal_placement_subtree_sums_on_a_random_tree() -> None:
    rng = np.random.default_rng(5)
    n = 300
    m = place(binary_plan(), Members.from_columns(  # type: ignore[arg-type]
        list(range(n)), [None] + [int(rng.integers(0, i)) for i in range(1, n)], ["2026-01-01"] * n,
        placement_ids=[None] * n, placement_sides=[None] * n))  # fmt: skip
    vol = {i: str(int(rng.integers(0, 100))) for i in range(n)}
    r = close(binary_plan(), m, orders(vol), "2026-10")
    assert m.placement_ids is not None and m.placement_sides is not None
    kids: dict[int, dict[str, int]] = {}
    for i in range(1, n):
        kids.setdefault(int(m.placement_ids[i]), {})[str(m.placement_sides[i])] = i

    def total(x: int) -> int:
        return int(vol[x]) * 100 + sum(total(c) for c in kids.get(x, {}).values())

    for i in range(n):
        for side, col in (("L", "leg_left"), ("R", "leg_right")):
            c = kids.get(i, {}).get(side)
            assert r.column(col)[i] == (total(c) if c is not None else 0)


def test_statement_and_what_if_on_a_binary_plan() -> None:
    from compplan.explain import format_statement, statement, what_if

    plan = binary_plan("rate: 10%, min_sponsored_per_side: 1")
    m = members(TREE)
    o = orders({2: "100", 3: "50", 4: "30", 5: "20"})
    s = statement(close(plan, m, o, "2026-10", ledger_for=1), 1)
    assert s["binary"] == {
        "leg_left": "150.00",
        "leg_right": "50.00",
        "carry_in_left": "0.00",
        "carry_in_right": "0.00",
        "carry_left": "100.00",
        "carry_right": "0.00",
        "inactive_periods": 1,
    }
    assert "weaker leg 50.00 x 10% = 5.00" in format_statement(s)
    # member 2 sponsored 4 and 5 (both left and right of it); member 3 sponsored nobody: a recruit of 3 is
    # placed by the plan's auto-placement (weaker leg: left) and is active, but 3 still lacks a right-side one
    assert what_if(plan, m, o, "2026-10", 3, recruits=1)["total"]["change"] == "0.00"
    # two recruits, one per side, each buying the activity minimum of 10 points: 10% of 10 = 1.00
    assert what_if(plan, m, o, "2026-10", 3, recruits=2)["total"]["change"] == "1.00"


def test_synthetic_demo_and_simulation_are_placed_by_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    from compplan.simulate import simulate
    from compplan.spec import load_plan

    assert main(["demo", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), "--members", "2000"]) == 0
    assert "binary" in capsys.readouterr().out
    history = simulate(load_plan(ROOT / "plans" / "forced_matrix.yaml"), 800, 3, seed=3)
    assert [h["members"] for h in history] == sorted(h["members"] for h in history)
    assert all(float(h["bonuses"]["matrix"]) > 0 for h in history)


def test_earnings_at_the_next_rank_on_binary_and_matrix_plans() -> None:
    ranks = "ranks: [{name: member}, {name: pro, min_pv: 20}]\n"
    binary = parse_plan(
        "plan: {name: B, currency: USD}\nactivity: {min_pv: 10}\n" + ranks + "placement: {tree: binary}\n"
        "bonuses: [{id: binary, type: binary, rate: 10%, min_rank: pro}]\n"
    )
    r = close(binary, members(TREE), orders({1: "10", 2: "100", 3: "50", 4: "30", 5: "20"}), "2026-10", next_rank=True)
    # 1 is a member (PV 10 < 20): no binary now; as a pro it would get 10% of its weaker leg (3: 50) = 5.00.
    # 2 (PV 100) is a pro already: the top rank, no figure.
    assert r.bonuses["binary"].tolist() == [0, 200, 0, 0, 0]
    assert r.next_rank_total is not None and r.next_rank_total.tolist() == [500, 0, 0, 0, 0]
    matrix = parse_plan(
        "plan: {name: M, currency: USD}\nactivity: {min_pv: 10}\n" + ranks + "placement: {tree: matrix, width: 2}\n"
        "bonuses: [{id: mx, type: matrix, compression: dynamic, rates_by_rank: {member: [10%], pro: [10%, 5%]}}]\n"
    )
    m = members([(1, None, None, None), (2, 1, 1, 1), (3, 1, 1, 2), (4, 2, 2, 1), (5, 2, 2, 2)])
    r = close(matrix, m, orders({1: "10", 2: "10", 3: "50", 4: "30", 5: "20"}), "2026-10", next_rank=True)
    # members 1 and 2 are active members paid one level; as pros, 1 would also get 5% of level 2 (4, 5: 2.50);
    # 2's level 2 is empty. 3, 4, 5 are pros already.
    assert r.bonuses["mx"].tolist() == [600, 500, 0, 0, 0]
    assert r.next_rank_total is not None and r.next_rank_total.tolist() == [850, 500, 0, 0, 0]


def test_explain_shows_earnings_at_the_next_rank(capsys: pytest.CaptureFixture[str]) -> None:
    d = EX / "binary_weekly"
    args = ["explain", "--plan", str(ROOT / "plans" / "binary_weekly.yaml"), "--members", str(d / "members.csv")]
    args += ["--orders", str(d / "orders_2026-10-05.csv"), "--state", str(d / "state_2026-10-04.csv")]
    args += ["--period", "2026-10-05..2026-10-11", "--id", "A"]
    assert main([*args, "--next-rank"]) == 0
    # A is a Builder; as a Leader its check match would be 20% (not 10%) of B's 35.00 binary: 11.00 + 7.00
    assert "at Leader you would have earned 18.00 USD this period" in capsys.readouterr().out
    assert main(args) == 0
    assert "would have earned" not in capsys.readouterr().out


def test_slot_relabel_orders_children_by_slot() -> None:
    """Children follow their parent in slot order whatever their rows; subtrees are contiguous."""
    from compplan.kernels.placement import slot_relabel

    rng = np.random.default_rng(11)
    for n, slots in ((1, 2), (7, 2), (200, 2), (300, 3), (500, 5)):
        parent = np.full(n, -1, dtype=np.int64)
        slot = np.full(n, -1, dtype=np.int64)
        free: list[tuple[int, int]] = []
        for v in range(n):
            if v and rng.random() < 0.95 and free:  # a few extra roots
                p, k = free.pop(int(rng.integers(len(free))))
                parent[v], slot[v] = p, k
            free += [(v, k) for k in range(slots)]
        shuffle = rng.permutation(n)  # rows in any order: the relabel must not depend on parents coming first
        rows = np.empty(n, dtype=np.int64)
        rows[shuffle] = np.arange(n)
        parent_s = np.where(parent[shuffle] >= 0, rows[np.maximum(parent[shuffle], 0)], -1)
        order, position, parent_pos, end, depth, visited, taken = slot_relabel(parent_s, slot[shuffle])
        assert visited == n and not taken.any()
        assert sorted(order.tolist()) == list(range(n))
        for v in range(n):  # in original labels
            pos = position[rows[v]]
            kids = sorted((int(slot[c]), int(c)) for c in np.nonzero(parent == v)[0])
            at = pos + 1
            for _, c in kids:
                assert position[rows[c]] == at and parent_pos[at] == pos and depth[at] == depth[pos] + 1
                at += int(np.sum(_in_subtree(parent, c)))
            assert end[pos] == at


def _in_subtree(parent: np.ndarray, root: int) -> np.ndarray:
    inside = np.zeros(len(parent), dtype=bool)
    inside[root] = True
    for v in range(len(parent)):  # parents come first
        if parent[v] >= 0 and inside[parent[v]]:
            inside[v] = True
    return inside


def test_place_refuses_given_placements_outside_the_sponsor() -> None:
    m = members([(1, None, None, None), (2, 1, 1, "L"), (3, 1, 1, "R"), (4, 2, 3, "L"), (5, 1, None, None)])
    with pytest.raises(InputError, match="member 4 is placed outside the placement subtree of its sponsor 2"):
        place(binary_plan(), m)  # type: ignore[arg-type]
    placed = place(binary_plan(placement=", within_sponsor: false"), m)  # type: ignore[arg-type]
    assert placed.placed is not None and bool(placed.placed[4])


def test_placement_columns_from_frames_and_parquet(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    d = EX / "binary_weekly"
    plan = parse_plan((ROOT / "plans" / "binary_weekly.yaml").read_text())
    state = read_state(d / "state_2026-10-04.csv")
    o = Orders.from_frame(pd.read_csv(d / "orders_2026-10-05.csv", dtype=str))
    frame = pd.read_csv(d / "members.csv", dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "members.parquet")
    from compplan.io.parquet import read_members_parquet

    totals = set()
    for m in (
        read_members(d / "members.csv"),
        Members.from_frame(frame),
        read_members_parquet(tmp_path / "members.parquet"),
    ):
        assert m.placed is not None and m.placed.tolist() == [False] + [True] * 6
        totals.add(close(plan, m, o, "2026-10-05..2026-10-11", state=state).summary["total_payout"])
    assert totals == {"109.50"}
    matrix = pd.read_csv(EX / "forced_matrix" / "expected_placed.csv")  # positions become floats with gaps
    m = Members.from_frame(matrix)
    assert m.placement_positions is not None and m.placement_positions.tolist()[1:] == [1, 2, 3, 1, 2, 3, 1]
    assert m.placement_positions[0] == NO_POSITION  # the root's empty cell
