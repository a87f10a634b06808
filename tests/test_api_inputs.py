"""Input validation of the Python API tables (Members, Orders, State, Events) and their constructors.

Every user mistake is an :class:`InputError` with a stable code naming the field and row, never a raw
exception, an out-of-bounds read in a kernel, or a silently different result.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from compplan import InputError, Members, Orders, close, load_plan
from compplan.inputs import Events, State

DAY = np.array(["2026-10-02"], dtype="datetime64[D]")
DAYS2 = np.array(["2026-10-02", "2026-10-03"], dtype="datetime64[D]")


def problems(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as exc:
        call()
    return [(p.code, f"{p.where}: {p.message}") for p in exc.value.problems]


# -- 1. tables built directly are checked: lengths, shapes, dtypes ---------------------------------------------


def test_direct_members_with_short_columns_are_refused() -> None:
    found = problems(lambda: Members(np.array([1, 2]), np.array([0, 1]), np.array([True]), DAY))
    assert found == [
        ("column_length", "members: is_root has 1 values but ids has 2: one per row"),
        ("column_length", "members: enrolled_on has 1 values but ids has 2: one per row"),
    ]


def test_direct_members_optional_columns_must_match_too() -> None:
    found = problems(
        lambda: Members(np.array([1, 2]), np.array([1, 1]), np.array([True, False]), DAYS2, placed=np.array([False]))
    )
    assert found == [("column_length", "members: placed has 1 values but ids has 2: one per row")]


def test_direct_orders_with_a_short_volume_column_are_refused() -> None:
    found = problems(lambda: Orders(np.array([1, 2]), DAYS2, np.array([100]), np.array([100, 200])))
    assert found == [("column_length", "orders: pv has 1 values but member_ids has 2: one per row")]


@pytest.mark.parametrize("pv", [np.array([1.0]), np.array(["1"]), np.array([True])])
def test_direct_orders_volumes_must_be_integers_not_cast(pv: Any) -> None:
    found = problems(lambda: Orders(np.array([1]), DAY, pv, np.array([1])))
    assert [c for c, _ in found] == ["bad_column"]
    assert "pv must be an array of integers" in found[0][1]


def test_direct_tables_refuse_2d_arrays_and_wrong_kinds() -> None:
    grid = np.array([[1, 2]])
    found = problems(lambda: Members(grid, grid, np.array([[True, False]]), np.array([DAYS2])))
    assert [c for c, _ in found] == ["bad_column"] * 4
    assert "ids must be a 1-D array, got 2 dimensions" in found[0][1]
    found = problems(lambda: Members(np.array([1.5]), np.array([1.5]), np.array([1]), DAY))
    assert [m for _, m in found] == [
        "members: ids must be an array of integers or text, got dtype float64",
        "members: sponsor_ids must be an array of integers or text, got dtype float64",
        "members: is_root must be an array of booleans, got dtype int64",
    ]


def test_direct_members_from_plain_lists() -> None:
    # lists are turned into arrays; dates as text are refused with a pointer to from_columns
    found = problems(lambda: Members([1, 2], [1, 1], [True, False], ["2025-01-01", "2025-01-02"]))
    assert found == [
        (
            "bad_column",
            "members: enrolled_on must be an array of datetime64 dates, got dtype <U10 "
            "(from_columns converts Python values)",
        )
    ]
    m = Members([1, 2], [1, 1], [True, False], DAYS2)
    assert m.ids.dtype == np.int64 and m.is_root.tolist() == [True, False]


def test_direct_dates_of_other_units_become_days_and_nat_is_refused() -> None:
    m = Members(np.array([1]), np.array([1]), np.array([True]), np.array(["2025-01-01T23:59"], "datetime64[m]"))
    assert m.enrolled_on.dtype == np.dtype("datetime64[D]") and str(m.enrolled_on[0]) == "2025-01-01"
    found = problems(
        lambda: Members(
            np.array([1, 2]), np.array([1, 1]), np.array([True, False]), np.array(["2025-01-01", "NaT"], "M8[D]")
        )
    )
    assert found == [("bad_column", "members: enrolled_on is missing (NaT) in 1 rows, first row 2")]


def test_direct_uint64_volumes_beyond_int64_are_refused_and_small_ints_widened() -> None:
    found = problems(lambda: Orders(np.array([1]), DAY, np.array([2**63], np.uint64), np.array([1])))
    assert found == [("bad_column", "orders: pv has values beyond the 64-bit integer range")]
    o = Orders(np.array([1], np.int32), DAY, np.array([5], np.int16), np.array([5], np.uint32))
    assert o.pv.dtype == o.cv.dtype == o.member_ids.dtype == np.int64


def test_events_from_columns_with_mismatched_lengths_is_refused() -> None:
    found = problems(lambda: Events.from_columns([1, 2], ["training"], ["2026-10-02"]))
    assert found == [("column_length", "events: member_ids, kinds and dates must have the same length")]


def test_direct_state_and_events_are_checked() -> None:
    found = problems(lambda: State(np.array([1, 2]), np.array(["a", "b"]), np.array([0]), np.array([0, 0])))
    assert found == [("column_length", "state: streak has 1 values but ids has 2: one per row")]
    found = problems(lambda: Events(np.array([1]), np.array([3]), DAY))
    assert found == [("bad_column", "events: kinds must be an array of text (numpy str), got dtype int64")]


# -- 2. numpy integer volumes are points, like Python ints -----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _readme_close(pv: Any, cv: Any) -> Any:
    plan = load_plan(ROOT / "plans" / "tiered_personal.yaml")
    members = Members.from_columns(ids=["A", "B"], sponsor_ids=[None, "A"], enrolled_on=["2025-01-01", "2025-02-01"])
    orders = Orders.from_columns(member_ids=["A", "B"], dates=["2026-10-02", "2026-10-03"], pv=pv, cv=cv)
    return close(plan, members, orders, "2026-10", ledger=True)


def test_readme_example_still_prints_its_total() -> None:
    result = _readme_close(["300", "120.50"], ["250", "120.50"])
    assert result.summary["total_payout"] == "31.02"


def test_numpy_integer_volumes_mean_points_like_python_ints() -> None:
    as_ints = Orders.from_columns([1, 2], ["2026-10-02"] * 2, [300, 120], [250, 120])
    as_array = Orders.from_columns([1, 2], ["2026-10-02"] * 2, np.array([300, 120]), np.array([250, 120], np.int32))
    as_text = Orders.from_columns([1, 2], ["2026-10-02"] * 2, ["300", "120"], ["250", "120.00"])
    for o in (as_ints, as_array, as_text):
        assert o.pv.tolist() == [30000, 12000] and o.cv.tolist() == [25000, 12000]
    # the same close whether the volumes come as text or as a numpy integer array
    text = _readme_close(["300", "120"], ["250", "120"])
    array = _readme_close(np.array([300, 120]), np.array([250, 120], np.uint16))
    assert text.summary["total_payout"] == array.summary["total_payout"] != "0.00"
    assert text.total.tolist() == array.total.tolist()


def test_integer_volumes_that_would_overflow_are_input_errors() -> None:
    limit = 10**15  # points at 2 decimals: 10**17 units, the bound of every parsed number
    ok = Orders.from_columns([1], ["2026-10-02"], np.array([limit]), [-limit])
    assert ok.pv.tolist() == [10**17] and ok.cv.tolist() == [-(10**17)]
    found = problems(lambda: Orders.from_columns([1, 2], ["2026-10-02"] * 2, np.array([limit + 1, 1]), [1, 2**70]))
    assert found == [
        ("bad_pv", "orders row 1: pv 1000000000000001 is beyond 1000000000000000.00 points"),
        ("bad_cv", "orders row 2: cv 1180591620717411303424 is beyond 1000000000000000.00 points"),
    ]
    # a line within int64 but beyond the per-line bound is the close's to report, with the other problems
    m = Members.from_columns([1], [None], ["2025-01-01"])
    big = Orders.from_columns([1], ["2026-10-02"], np.array([10**10 + 1]), [1])
    with pytest.raises(InputError) as exc:
        close(load_plan(ROOT / "plans" / "tiered_personal.yaml"), m, big, "2026-10")
    assert [str(p) for p in exc.value.problems] == [
        "orders row 1: pv 10000000001.00 is beyond the bound of 10000000000.00 per order line"
    ]
    found = problems(lambda: Orders.from_columns([1], ["2026-10-02"], np.array([2**64 - 1], np.uint64), [1]))
    assert [c for c, _ in found] == ["bad_pv"]
    found = problems(lambda: Orders.from_columns([1, 2], ["2026-10-02"] * 2, np.array([1.5, 2.0]), [1, np.float32(2)]))
    assert [c for c, _ in found] == ["bad_pv", "bad_pv", "bad_cv"]
    assert "is a float; pass text or Decimal" in found[0][1]


# -- 3. ids and enrolment dates in from_columns ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "id is missing"),
        ("", "id is missing"),
        ("  ", "id is missing"),
        (math.nan, "id nan is a float; ids must be integers or text"),
        (True, "id True is a boolean; ids must be integers or text"),
        (np.True_, "id True is a boolean; ids must be integers or text"),
        (1.0, "id 1.0 is a float; ids must be integers or text"),
        (Decimal(1), "id Decimal('1') is a Decimal; ids must be integers or text"),
        (2**70, "id 1180591620717411303424 is beyond the 64-bit integer range; pass such an id as text"),
        (-(2**63), "id -9223372036854775808 is beyond the 64-bit integer range; pass such an id as text"),
    ],
)
def test_members_from_columns_refuses_bad_ids(bad: Any, message: str) -> None:
    found = problems(lambda: Members.from_columns(["A", bad], [None, "A"], ["2025-01-01"] * 2))
    assert found == [("bad_id", f"members row 2: {message}")]


def test_members_from_columns_refuses_nested_ids_and_bad_sponsors() -> None:
    found = problems(lambda: Members.from_columns(np.array([["A"], ["B"]]), [None, "A"], ["2025-01-01"] * 2))
    assert found == [("bad_column", "members: ids must be 1-D, got 2 dimensions (2, 1)")]
    found = problems(lambda: Members.from_columns([["A"]], [None], ["2025-01-01"]))
    assert found == [("bad_id", "members row 1: id ['A'] is a list; ids must be integers or text")]
    found = problems(lambda: Members.from_columns(["A", "B"], [None, math.nan], ["2025-01-01"] * 2))
    assert found == [("bad_sponsor_id", "members row 2: sponsor_id nan is a float; ids must be integers or text")]
    found = problems(lambda: Members.from_columns([1, 2], [None, 2**64], ["2025-01-01"] * 2))
    assert [c for c, _ in found] == ["bad_sponsor_id"]


def test_valid_ids_still_convert_as_before() -> None:
    m = Members.from_columns([3, "1", np.int64(2)], [None, 3, "3"], ["2025-01-01"] * 3)
    assert m.ids.dtype == np.int64 and m.ids.tolist() == [3, 1, 2] and m.sponsor_ids.tolist()[1:] == [3, 3]
    m = Members.from_columns(np.array([5, 6], np.uint64), np.array([5, 5]), np.array(["2025-01-01"] * 2, "M8[D]"))
    assert m.ids.dtype == np.int64 and m.is_root.tolist() == [False, False]
    t = Members.from_columns(["A", "B"], [None, "A"], ["2025-01-01"] * 2)
    assert t.ids.tolist() == ["A", "B"] and t.is_root.tolist() == [True, False]
    text_id = Members.from_columns([str(2**70)], [None], ["2025-01-01"])
    assert text_id.ids.tolist() == [str(2**70)]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (None, "enrolled_on is missing"),
        ("", "enrolled_on is missing"),
        (math.nan, "enrolled_on is missing"),
        (np.datetime64("NaT"), "enrolled_on is missing"),
        ("2025-13-01", "enrolled_on '2025-13-01' is not a valid date (YYYY-MM-DD)"),
        (20250101, "enrolled_on 20250101 is not a date (YYYY-MM-DD text, a date or a datetime64)"),
    ],
)
def test_members_from_columns_refuses_missing_or_bad_enrolment(day: Any, message: str) -> None:
    found = problems(lambda: Members.from_columns(["A", "B"], [None, "A"], ["2025-01-01", day]))
    assert found == [("bad_enrolled_on", f"members row 2: {message}")]
    found = problems(lambda: Members.from_columns(["A"], [None], np.array(["NaT"], "M8[D]")))
    assert found == [("bad_enrolled_on", "members row 1: enrolled_on is missing")]


def test_from_columns_accepts_dates_datetimes_and_datetime64() -> None:
    m = Members.from_columns(
        ["A", "B", "C"],
        [None, "A", "A"],
        [dt.date(2025, 1, 1), dt.datetime(2025, 1, 2, 23, 59), np.datetime64("2025-01-03")],
    )
    assert [str(d) for d in m.enrolled_on] == ["2025-01-01", "2025-01-02", "2025-01-03"]


# -- 4. raw exceptions that are now input errors ---------------------------------------------------------------


def test_bad_order_and_event_dates_are_input_errors() -> None:
    found = problems(lambda: Orders.from_columns(["A", "B"], ["2026-10-01", "2026-10-32"], [1, 1], [1, 1]))
    assert found == [("bad_date", "orders row 2: date '2026-10-32' is not a valid date (YYYY-MM-DD)")]
    found = problems(lambda: Events.from_columns(["A"], ["training"], ["2026-10-32"]))
    assert found == [("bad_date", "events row 1: date '2026-10-32' is not a valid date (YYYY-MM-DD)")]
    found = problems(lambda: Events.from_columns(["A", True], [None, "training"], ["2026-10-01"] * 2))
    assert sorted(c for c, _ in found) == ["bad_kind", "bad_member_id"]


def test_order_member_ids_beyond_int64_are_input_errors() -> None:
    day = ["2026-10-02"] * 2
    found = problems(lambda: Orders.from_columns([2**70, 1], day, [1, 1], [1, 1]))
    assert found == [
        (
            "bad_member_id",
            "orders row 1: member_id 1180591620717411303424 is beyond the 64-bit integer range; "
            "pass such an id as text",
        )
    ]
    found = problems(lambda: Orders.from_columns(np.array([2**64 - 1, 1], np.uint64), day, [1, 1], [1, 1]))
    assert [c for c, _ in found] == ["bad_member_id"]
    found = problems(lambda: Orders.from_columns(np.array([[1, 2]]), day, [1, 1], [1, 1]))
    assert found == [("bad_column", "orders: member_ids must be 1-D, got 2 dimensions (1, 2)")]
    o = Orders.from_columns(np.array([7, 8], np.uint64), day, [1, 1], [1, 1])
    assert o.member_ids.dtype == np.int64 and o.member_ids.tolist() == [7, 8]


# -- 5. State.from_mapping: exact balances, bounded, integer streaks --------------------------------------------

RANK = {"A": "Consultant"}


def _state(*args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    return problems(lambda: State.from_mapping(RANK, *args, **kwargs))


def test_state_balances_are_exact_or_refused() -> None:
    currency_amount = "is a currency amount: pass minor_units= (the plan's) to convert it exactly"
    for value in (Decimal("12.50"), "12.50"):
        (found,) = _state(None, {"A": value})
        assert found[0] == "bad_balance" and currency_amount in found[1]
    assert _state(None, {"A": 12.5}) == [
        ("bad_balance", "state row 1: balance 12.5 is a float; it must be an integer in minor units or a Decimal")
    ]
    assert _state(None, {"A": "12.505"}, minor_units=2) == [
        ("bad_balance", "state row 1: balance 12.505 has more than 2 decimal places")
    ]
    assert State.from_mapping(RANK, None, {"A": Decimal("12.50")}, minor_units=2).balance.tolist() == [1250]
    assert State.from_mapping(RANK, None, {"A": "-7"}, minor_units=0).balance.tolist() == [-7]
    # integers are minor units, as the state's column stores them (and as earlier callers pass them)
    assert State.from_mapping(RANK, None, {"A": -250}).balance.tolist() == [-250]
    assert State.from_mapping(RANK, None, {"A": np.int64(1250)}, minor_units=2).balance.tolist() == [1250]


def test_state_balances_beyond_the_bound_are_refused_not_wrapped() -> None:
    for value in (2**63 - 1, 2**64, -(10**17) - 1):
        (found,) = _state(None, {"A": value})
        assert found == ("bad_balance", f"state row 1: balance {value} is not in -{10**17}..{10**17}")
    assert State.from_mapping(RANK, None, {"A": 10**17}).balance.tolist() == [10**17]
    (found,) = _state(None, {"A": "1000000000000000.01"}, minor_units=2)
    assert found[0] == "bad_balance"


def test_state_streaks_and_carry_must_be_integers() -> None:
    assert _state({"A": -1}) == [("bad_streak", f"state row 1: streak -1 is not in 0..{10**17}")]
    assert _state({"A": 1.0}) == [("bad_streak", "state row 1: streak 1.0 is a float; it must be an integer")]
    assert _state({"A": True}) == [("bad_streak", "state row 1: streak True is a bool; it must be an integer")]
    assert [c for c, _ in _state(carry_left={"A": 2**64}, idle={"A": "1"})] == ["bad_carry_left", "bad_idle"]
    assert _state({"B": 3}) == [("unknown_member", "state: streak given for 'B', which has no highest rank")]
    found = problems(lambda: State.from_mapping({"A": None, None: "Consultant"}))
    assert found == [
        ("bad_id", "state row 2: id is missing"),
        ("bad_highest_rank", "state row 1: highest rank None is not a rank name"),
    ]
    s = State.from_mapping({"A": "Consultant", 7: "Pro"}, {"A": 3}, carry_left={7: 10**15}, idle={"A": 2})
    assert s.streak.tolist() == [3, 0] and s.carry_left is not None and s.carry_left.tolist() == [0, 10**15]
    assert s.carry_right is not None and s.carry_right.tolist() == [0, 0]
    assert s.idle is not None and s.idle.tolist() == [2, 0]
