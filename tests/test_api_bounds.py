"""Bounds and argument checks of the Python API that an audit found open (docs/semantics.md 1, Bounds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders, PlanError, State, close, load_plan, parse_plan
from compplan.next_rank import NEXT_RANK_TOTAL

ROOT = Path(__file__).resolve().parents[1]
PLAN = load_plan(ROOT / "plans" / "tiered_personal.yaml")
DAY = np.datetime64("2026-10-02", "D")


def members(n: int = 2) -> Members:
    ids = np.arange(1, n + 1, dtype=np.int64)
    sponsors = np.where(ids == 1, 0, 1).astype(np.int64)
    return Members(ids, sponsors, ids == 1, np.full(n, np.datetime64("2025-01-01", "D")))


def orders(pv: list[int], decimals: int = 2) -> Orders:
    n = len(pv)
    ids = np.ones(n, dtype=np.int64)
    return Orders(ids, np.full(n, DAY), np.array(pv, dtype=np.int64), np.ones(n, dtype=np.int64), decimals=decimals)


def test_next_rank_total_is_a_reserved_bonus_id() -> None:
    # it was accepted, and close(next_rank=True) then overwrote that bonus's column with next-rank figures
    text = (ROOT / "plans" / "tiered_personal.yaml").read_text()
    bonus_id = text.split("- id: ", 1)[1].split()[0]
    with pytest.raises(PlanError) as err:
        parse_plan(text.replace(f"- id: {bonus_id}", f"- id: {NEXT_RANK_TOTAL}", 1))
    assert "reserved_id" in err.value.codes


@pytest.mark.parametrize("decimals", [2, 0])
def test_the_smallest_int64_volume_is_out_of_range(decimals: int) -> None:
    # np.abs(-2**63) is -2**63, under any bound: the line closed with a wrapped group volume
    with pytest.raises(InputError) as err:
        close(PLAN, members(), orders([-(2**63), 100], decimals), "2026-10")
    assert err.value.codes == ["out_of_range"]
    assert f"pv {'-9223372036854775808' if decimals == 0 else '-92233720368547758.08'} is beyond" in str(err.value)


def test_volumes_in_fewer_decimals_are_bounded_before_they_are_scaled() -> None:
    # 2**62 points scaled by 100 to the plan's units would wrap; 10**10 points is the bound itself
    with pytest.raises(InputError, match=r"pv 4611686018427387904 is beyond the bound of 10000000000\.00"):
        close(PLAN, members(), orders([2**62, 1], decimals=0), "2026-10")
    result = close(PLAN, members(), orders([10**10, 1], decimals=0), "2026-10")
    assert int(result.pv[0]) == 10**12 + 100


def test_carried_balances_are_bounded_each_and_in_sum() -> None:
    ids = np.array([1, 2], dtype=np.int64)
    ranks = np.array([PLAN.rank_names[0]] * 2)
    zero = np.zeros(2, dtype=np.int64)
    for balance, message in (
        ([10**15 + 1, 0], "member 1: balance 10000000000000.01 is beyond the bound of 10000000000000.00"),
        ([-(2**63), 0], "member 1: balance -92233720368547758.08 is beyond"),
        ([6 * 10**14, -(6 * 10**14)], "the sum of |balance| over the state is beyond the bound"),
    ):
        state = State(ids, ranks, zero, np.array(balance, dtype=np.int64))
        with pytest.raises(InputError, match="invalid state") as err:
            close(PLAN, members(), orders([100]), "2026-10", state=state)
        assert err.value.codes == ["out_of_range"] and message in str(err.value)
    near = State(ids, ranks, zero, np.array([10**15 - 5, -5], dtype=np.int64))
    assert close(PLAN, members(), orders([100]), "2026-10", state=near).summary["members"] == 2


def test_a_period_of_another_type_is_an_input_error() -> None:
    for period in (None, 202610, np.datetime64("2026-10")):
        with pytest.raises(InputError, match="period: expected 'YYYY-MM'"):
            close(PLAN, members(), orders([100]), period)  # type: ignore[arg-type]


def test_parse_plan_takes_text_and_column_names_its_choices() -> None:
    with pytest.raises(PlanError, match="parse_plan takes the plan's YAML text, got dict"):
        parse_plan({"plan": {"name": "x"}})  # type: ignore[arg-type]
    result = close(PLAN, members(), orders([100]), "2026-10")
    with pytest.raises(KeyError, match=r"no member column .nope.; the columns are .*pv"):
        result.column("nope")


def test_plan_messages_a_reader_can_act_on() -> None:
    text = (ROOT / "plans" / "tiered_personal.yaml").read_text()
    bonus_type = text.split("type: ", 1)[1].split()[0]
    with pytest.raises(PlanError) as err:  # pydantic said "Unable to extract tag using discriminator"
        parse_plan(text.replace(f"type: {bonus_type}", "note: no type", 1), "p.yaml")
    assert "missing" in err.value.codes
    assert "required field is missing: the bonus type, one of:" in str(err.value)
    big = "\n".join(
        line.replace(line.split(":", 1)[1], " 99999999999") if line.strip().startswith("min_pv:") else line
        for line in text.splitlines()
    )
    with pytest.raises(PlanError) as err:  # the bound was printed in volume units next to a value in points
        parse_plan(big, "p.yaml")
    assert "99999999999 is above the bound of 10000000000.00 (10^12 volume units)" in str(err.value)


def test_a_period_is_written_in_ascii_digits() -> None:
    from compplan import Period

    with pytest.raises(InputError, match="expected YYYY-MM"):
        Period.parse("\uff12\uff10\uff12\uff16-10")  # full-width digits were taken, and kept as the label
    assert Period.parse(" 2026-10 ").label == "2026-10"


def test_timestamps_with_a_zone_give_their_own_date_in_the_python_api() -> None:
    # the DataFrame and Arrow readers take the date in the timestamp's zone; numpy alone takes the UTC date
    import datetime as dt
    from zoneinfo import ZoneInfo

    from compplan import Events

    late = dt.datetime(2026, 10, 31, 22, 0, tzinfo=ZoneInfo("America/New_York"))  # 02:00 UTC on Nov 1
    texts = ["2026-10-31T22:00-04:00", "2026-10-31T23:30", " 2026-10-31 "]
    o = Orders.from_columns(["A"] * 4, [late, *texts], [1] * 4, [1] * 4)
    assert o.dates.astype(str).tolist() == ["2026-10-31"] * 4
    e = Events.from_columns(["A"], ["training"], [late])
    assert e.dates.astype(str).tolist() == ["2026-10-31"]
    with pytest.raises(InputError, match="is not a valid date"):
        Orders.from_columns(["A"], ["2026-10-31Tgarbage"], [1], [1])


def test_a_plan_file_that_is_not_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    plan = tmp_path / "p.yaml"
    plan.write_bytes(b"plan:\n  name: Caf\xe9 plan\n")  # Latin-1
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    assert str(err.value) == f"{plan}:2:12: plan file is not UTF-8 text (byte 0xe9); save it as UTF-8"
    plan.write_bytes(b"\xef\xbb\xbf" + (ROOT / "plans" / "tiered_personal.yaml").read_bytes())  # a BOM still loads
    assert load_plan(plan).plan.name == PLAN.plan.name
