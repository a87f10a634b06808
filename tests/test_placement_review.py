"""Review of placement trees, binary and matrix bonuses: bugs found on bad or unusual input (one test each)."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders, State, close, parse_plan
from compplan.cli import main
from compplan.io.csvio import read_members
from compplan.placement import place

BINARY = """
plan: {name: B, currency: USD%s}
activity: {min_pv: 10}
ranks: [{name: member}]
placement: {tree: binary%s}
bonuses:
  - {id: binary, type: binary, require_active: false, %s}
"""

MATRIX = """
plan: {name: M, currency: USD}
activity: {min_pv: 10}
ranks: [{name: member}]
placement: {tree: matrix, width: 2}
bonuses:
  - {id: mx, type: matrix, rates: [10%, 5%], require_active: false}
"""

UNILEVEL = """
plan: {name: U, currency: USD}
activity: {min_pv: 10}
ranks: [{name: member}]
bonuses:
  - {id: uni, type: unilevel, rates: [10%, 5%], require_active: false}
"""


def binary_plan(bonus: str = "rate: 10%", placement: str = "", plan: str = "") -> object:
    return parse_plan(BINARY % (plan, placement, bonus))


def _unplaced_csv(path: Path, n: int) -> Path:
    """Members 1..n, all sponsored by 1, with empty placement columns (what `compplan place` reads)."""
    rows = "".join(f"{i},1,2026-01-01,,\n" for i in range(2, n + 1))
    path.write_text("id,sponsor_id,enrolled_on,placement_id,placement_side\n1,,2026-01-01,,\n" + rows)
    return path


def _placements(m: Members) -> dict[int, int | None]:
    assert m.placed is not None and m.placement_ids is not None
    return {int(i): (int(p) if ok else None) for i, p, ok in zip(m.ids, m.placement_ids, m.placed, strict=True)}


# -- id kinds: integer ids must stay integers whatever the source ------------------------------------------


def test_frame_with_blank_placement_fields_places_like_the_csv(tmp_path: Path) -> None:
    """`pd.read_csv(dtype=str, keep_default_na=False)` gives "" for empty fields; integer ids must stay integers.

    Today the "" turns every id into text, so the canonical order becomes 1, 10, 11, 2, ... and `place()` (which
    places in canonical id order) puts members in different slots than from the very same CSV file.
    """
    pd = pytest.importorskip("pandas")
    src = _unplaced_csv(tmp_path / "members.csv", 11)
    plan = binary_plan(placement=", auto: left")
    from_csv = place(plan, read_members(src))
    from_frame = place(plan, Members.from_frame(pd.read_csv(src, dtype=str, keep_default_na=False)))
    assert from_frame.ids.dtype.kind == "i"
    assert _placements(from_frame) == _placements(from_csv)


def test_frame_blank_placement_id_alone_keeps_integer_ids() -> None:
    """Only the placement_id column holds "" (sponsors are a nullable integer column): ids stay int64."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "id": [1, 2, 10],
            "sponsor_id": pd.array([None, 1, 1], dtype="Int64"),
            "enrolled_on": ["2026-01-01"] * 3,
            "placement_id": ["", "1", "1"],
            "placement_side": ["", "L", "R"],
        }
    )
    m = Members.from_frame(frame)
    assert m.ids.dtype.kind == "i"
    r = close(binary_plan(), m, None, "2026-10")
    assert r.ids.tolist() == [1, 2, 10]  # integer order, as from a CSV file


def test_text_placement_id_in_an_ignored_column_keeps_the_integer_order(tmp_path: Path) -> None:
    """docs 2: the placement columns are ignored by plans without a placement tree.

    A stray text value in placement_id must not turn integer ids into text (Members.from_columns keeps them
    as integers; read_members does not, so the member table comes out in text order 1, 10, 11, 2, ...).
    """
    src = tmp_path / "members.csv"
    src.write_text(
        "id,sponsor_id,enrolled_on,placement_id\n1,,2026-01-01,\n"
        + "".join(f"{i},1,2026-01-01,{'x' if i == 5 else ''}\n" for i in range(2, 12))
    )
    r = close(parse_plan(UNILEVEL), read_members(src), None, "2026-10")
    assert r.ids.tolist() == list(range(1, 12))


# -- bad placement positions: located input errors, never tracebacks ----------------------------------------


@pytest.mark.parametrize("text", ["--1", "\u00b2", "99999999999999999999"])
def test_frame_bad_placement_position_is_an_input_error(text: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "id": ["1", "2"],
            "sponsor_id": ["", "1"],
            "enrolled_on": ["2026-01-01"] * 2,
            "placement_id": ["", "1"],
            "placement_position": ["", text],
        }
    )
    with pytest.raises(InputError, match="row 2"):
        Members.from_frame(frame)


def test_from_columns_huge_placement_position_is_an_input_error() -> None:
    with pytest.raises(InputError, match="placement_position"):
        Members.from_columns(
            [1, 2],
            [None, 1],
            ["2026-01-01"] * 2,
            placement_ids=[None, 1],
            placement_positions=[None, "99999999999999999999"],
        )


def test_matrix_position_zero_without_a_parent_is_not_silently_ignored() -> None:
    """docs 2: a matrix placement_position without a placement_id is an error; 0 is a given value, not empty."""
    m = Members.from_columns(
        [1, 2], [None, 1], ["2026-01-01"] * 2, placement_ids=[None, None], placement_positions=[None, "0"]
    )
    with pytest.raises(InputError, match="member 2"):
        place(parse_plan(MATRIX), m)


def test_matrix_position_zero_is_reported_as_out_of_range_not_as_empty() -> None:
    m = Members.from_columns(
        [1, 2], [None, 1], ["2026-01-01"] * 2, placement_ids=[None, 1], placement_positions=[None, 0]
    )
    with pytest.raises(InputError) as exc:
        close(parse_plan(MATRIX), m, None, "2026-10")
    assert "placement_position 0 is not in 1..2" in exc.value.report()


# -- binary money and carry ----------------------------------------------------------------------------------


def test_max_pairs_bounds_the_overflow_guard() -> None:
    """With max_pairs the paid amount is at most max_pairs x pair_cash; the guard must not refuse the close."""
    plan = binary_plan("pair_volume: 0.01, pair_cash: 1000000, max_pairs: 10")
    m = Members.from_columns(
        [1, 2, 3], [None, 1, 1], ["2026-01-01"] * 3, placement_ids=[None, 1, 1], placement_sides=[None, "L", "R"]
    )
    o = Orders.from_columns([2, 3], ["2026-10-02"] * 2, ["1000000000"] * 2, ["1000000000"] * 2)
    r = close(plan, m, o, "2026-10")
    assert r.bonuses["binary"].tolist() == [10 * 1000000 * 100, 0, 0]  # 10 pairs of 1,000,000.00, in cents


def test_a_state_written_by_a_close_is_read_back_by_the_next_close(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The carry grows past the 10^15 bound the state reader enforces: the next close rejects our own state."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(BINARY % ("", "", "rate: 10%"))
    members_csv = tmp_path / "members.csv"
    members_csv.write_text(
        "id,sponsor_id,enrolled_on,placement_id,placement_side\n"
        "1,,2026-01-01,,\n2,1,2026-01-01,1,L\n3,1,2026-01-01,1,R\n"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text("member_id,date,pv,cv\n2,2026-10-02,100,100\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("member_id,date,pv,cv\n")
    state = tmp_path / "state.csv"
    state.write_text(
        "# compplan state; plan=B; currency=USD; period=2026-09; end=2026-09-30\n"
        "id,highest_rank,streak,balance,carry_left,carry_right,idle\n"
        "1,member,0,0.00,10000000000000.00,0.00,0\n"  # 10^15 volume units: the largest carry a state may hold
    )
    common = ["close", "--plan", str(plan), "--members", str(members_csv), "--quiet"]
    first = main(
        [*common, "--orders", str(orders), "--state", str(state), "--period", "2026-10", "--out", str(tmp_path / "o1")]
    )
    if first == 0:  # a close that accepts the carry must write a state the next close accepts
        second = [*common, "--orders", str(empty), "--state", str(tmp_path / "o1" / "state.csv")]
        assert main([*second, "--period", "2026-11", "--out", str(tmp_path / "o2")]) == 0, capsys.readouterr().err
    else:  # or it stops with an input error about the carry
        assert "carry" in capsys.readouterr().err


def test_state_carry_cannot_overflow_the_total_payout() -> None:
    """docs 1: int64 overflow is impossible, not silent. Twelve carries at the per-member bound wrap the sum."""
    plan = binary_plan("rate: 100%", plan=", minor_units: 3, volume_decimals: 0")
    n = 12
    ids = list(range(1, n + 1))
    m = Members.from_columns(ids, [None] * n, ["2026-01-01"] * n, placement_ids=[None] * n, placement_sides=[None] * n)
    big = 10**15
    state = State.from_mapping(
        {i: "member" for i in ids}, carry_left=dict.fromkeys(ids, big), carry_right=dict.fromkeys(ids, big)
    )
    try:
        r = close(plan, m, None, "2026-10", state=state)
    except InputError:
        return  # refusing the state (a bound on the summed carry) is a fine answer
    exact = Decimal(n * big * 1000).scaleb(-3)
    assert Decimal(r.summary["total_payout"]) == exact


# -- edge cases worth keeping (these pass today) -------------------------------------------------------------


def test_matrix_statement_ledger_equals_the_full_ledger_for_every_member() -> None:
    """ledger_for relabels the `only` payee into placement positions (compression and a member cap included)."""
    plan = parse_plan(
        """
        plan: {name: M, currency: USD}
        activity: {min_pv: 10}
        ranks: [{name: member}]
        placement: {tree: matrix, width: 3}
        bonuses:
          - {id: mx, type: matrix, rates: [10%, 5%, 3%], compression: dynamic, cap_per_member: 4}
        """
    )
    rng = random.Random(3)
    n = 30
    ids = [f"m{i:02d}" for i in range(n)]
    rng.shuffle(ids)
    sponsors = [None] + [ids[rng.randrange(i)] for i in range(1, n)]
    m = place(plan, Members.from_columns(ids, sponsors, ["2026-01-01"] * n))
    volumes = [str(rng.choice([0, 5, 20, 60])) for _ in ids]
    o = Orders.from_columns(ids, ["2026-10-02"] * n, volumes, volumes)
    full = close(plan, m, o, "2026-10", ledger=True).ledger
    assert full is not None and len(full) > 0
    for who in ids:
        mine = close(plan, m, o, "2026-10", ledger_for=who).ledger
        assert mine is not None
        keep = full.payee == who
        expected = list(zip(full.source[keep], full.kind[keep], full.level[keep], full.amount[keep], strict=True))
        assert list(zip(mine.source, mine.kind, mine.level, mine.amount, strict=True)) == expected


@pytest.mark.parametrize("rows", ["", "5,,2026-01-01,,\n"])
def test_place_and_close_an_empty_table_and_a_single_member(tmp_path: Path, rows: str) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(BINARY % ("", "", "rate: 10%"))
    src = tmp_path / "members.csv"
    src.write_text("id,sponsor_id,enrolled_on,placement_id,placement_side\n" + rows)
    out = tmp_path / "placed.csv"
    assert main(["place", "--plan", str(plan), "--members", str(src), "--out", str(out), "--quiet"]) == 0
    assert out.read_text() == src.read_text()
    orders = tmp_path / "orders.csv"
    orders.write_text("member_id,date,pv,cv\n")
    args = ["--members", str(out), "--orders", str(orders), "--period", "2026-10", "--out", str(tmp_path / "o")]
    assert main(["close", "--plan", str(plan), *args, "--quiet"]) == 0
    state = (tmp_path / "o" / "state.csv").read_text().splitlines()
    assert state[1] == "id,highest_rank,streak,balance,carry_left,carry_right,idle"
    assert state[2:] == (["5,member,0,0.00,0.00,0.00,1"] if rows else [])
    assert np.array_equal(read_members(out).ids, read_members(src).ids)
