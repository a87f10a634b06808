"""The fused relabel, the dense id index and the one-pass order checks agree with the general code."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, Period
from compplan.engine import _check_orders, _orders
from compplan.genealogy import Genealogy
from compplan.inputs import MAX_LINE_UNITS
from compplan.kernels.tree import preorder, relabel, tree_arrays

D = dt.date(2026, 1, 1)
PERIOD = Period.parse("2026-01")


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_relabel_equals_preorder_and_tree_arrays(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 60))
    parent = np.array(data.draw(st.lists(st.integers(-1, max(n - 1, 0)), min_size=n, max_size=n)), dtype=np.int64)
    if n:
        parent[parent >= n] = -1
    values = np.array(data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=n, max_size=n)), dtype=np.int64)
    order, position, visited = preorder(parent)
    got = relabel(parent, values)
    assert got[6] == visited
    assert np.array_equal(got[1], position)  # -1 for members on or under a cycle
    if visited == n:
        parent_pos, end, depth = tree_arrays(order, position, parent)
        for want, have in zip((order, position, parent_pos, end, depth, values[order]), got[:6], strict=True):
            assert np.array_equal(want, have)


def forest(data: st.DataObject, n: int) -> tuple[list[int], list[int | None], list[dt.date]]:
    parents = [None] + [data.draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    perm = data.draw(st.permutations(range(n)))
    days = [D - dt.timedelta(days=data.draw(st.integers(0, 400))) for _ in range(n)]
    rows = [perm.index(i) for i in range(n)]  # member i sits at input row rows[i]
    return rows, parents, days


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(2, 40))
def test_dense_and_sorted_ids_build_the_same_tree(data: st.DataObject, n: int) -> None:
    rows, parents, days = forest(data, n)
    base = data.draw(st.integers(-(10**6), 10**6))

    def build(stride: int) -> Genealogy:
        ids = [0] * n
        sponsors: list[object] = [None] * n
        enrolled = [D] * n
        for i in range(n):
            ids[rows[i]] = base + i * stride
            p = parents[i]
            sponsors[rows[i]] = None if p is None else base + p * stride
            enrolled[rows[i]] = days[i]
        return Genealogy.build(Members.from_columns(ids, sponsors, enrolled))

    dense, spread = build(1), build(10**12 + 3)  # a direct table; argsort + searchsorted (same id order)
    assert dense.index.table is not None and dense.pairs is not None
    assert spread.index.table is None and spread.pairs is None
    for name in ("order", "position", "parent", "end", "depth", "enrolled", "input_row"):
        assert np.array_equal(getattr(dense, name), getattr(spread, name)), name
    rows_found, found = dense.lookup([base - 1, base + n - 1, base, base + n, 2**62, -(2**63), 2**63 - 1])
    assert found.tolist() == [False, True, True, False, False, False, False]
    assert rows_found[1:3].tolist() == [n - 1, 0]


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 30))
def test_one_pass_order_checks_equal_the_general_checks(data: st.DataObject, n: int) -> None:
    rows, parents, days = forest(data, n)
    ids = [0] * n
    sponsors: list[object] = [None] * n
    enrolled = [D] * n
    for i in range(n):
        ids[rows[i]], enrolled[rows[i]] = i + 1, days[i]
        sponsors[rows[i]] = None if parents[i] is None else parents[i] + 1  # type: ignore[operator]
    tree = Genealogy.build(Members.from_columns(ids, sponsors, enrolled))
    lines = data.draw(st.integers(0, 30))
    member = st.one_of(st.integers(1, n), st.integers(1, n), st.integers(1, n), st.sampled_from([0, n + 1, -(2**63)]))
    day = st.dates(D - dt.timedelta(days=400), dt.date(2026, 2, 3))
    volume = st.one_of(
        st.integers(-(10**6), 10**6), st.sampled_from([MAX_LINE_UNITS, MAX_LINE_UNITS + 1, -(2**63), 2**63 - 1])
    )
    orders = Orders(
        np.array(data.draw(st.lists(member, min_size=lines, max_size=lines)), dtype=np.int64),
        np.array(data.draw(st.lists(day, min_size=lines, max_size=lines)), dtype="datetime64[D]"),
        np.array(data.draw(st.lists(volume, min_size=lines, max_size=lines)), dtype=np.int64),
        np.array(data.draw(st.lists(volume, min_size=lines, max_size=lines)), dtype=np.int64),
    )

    def run(check: object) -> object:
        try:
            cols = check(tree, orders, PERIOD, 2)  # type: ignore[operator]
        except InputError as exc:
            return [str(p) for p in exc.problems]
        return [c.tolist() for c in (cols.position, cols.day, cols.pv, cols.cv)]

    assert run(_orders) == run(_check_orders)


def test_sum_of_line_volumes_bound_in_one_pass() -> None:
    tree = Genealogy.build(Members.from_columns([1], [None], [D]))
    big = np.full(1001, MAX_LINE_UNITS - 1, dtype=np.int64)
    orders = Orders(np.ones(1001, dtype=np.int64), np.full(1001, np.datetime64(D, "D")), big, big)
    with pytest.raises(InputError, match=r"sum of \|pv\| over all order lines is beyond the bound"):
        _orders(tree, orders, PERIOD, 2)
    ok = _orders(tree, Orders(orders.member_ids[:900], orders.dates[:900], big[:900], big[:900]), PERIOD, 2)
    assert ok.pv is not None and int(ok.position.sum()) == 0
