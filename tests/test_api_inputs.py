"""Input validation of the Python API tables (Members, Orders, State, Events) and their constructors.

Every user mistake is an :class:`InputError` with a stable code naming the field and row, never a raw
exception, an out-of-bounds read in a kernel, or a silently different result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from compplan import InputError, Members, Orders
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
    assert [c for c, _ in found] == ["column_length", "column_length"]


def test_direct_state_and_events_are_checked() -> None:
    found = problems(lambda: State(np.array([1, 2]), np.array(["a", "b"]), np.array([0]), np.array([0, 0])))
    assert found == [("column_length", "state: streak has 1 values but ids has 2: one per row")]
    found = problems(lambda: Events(np.array([1]), np.array([3]), DAY))
    assert found == [("bad_column", "events: kinds must be an array of text (numpy str), got dtype int64")]
