"""Review of the multi-threaded close (compplan.threads and the kernels that run in parts)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import Members, load_plan, threads
from compplan.compile import Ranks, compile_plan
from compplan.genealogy import Genealogy
from compplan.kernels import bonuses as kb
from compplan.kernels import ranks as kr
from compplan.kernels.money import MoneyParams
from compplan.kernels.tree import boundary_ancestors, subtree_sum

PLANS = Path(__file__).resolve().parents[1] / "plans"


def test_a_bigger_pool_for_another_thread_does_not_break_a_run_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two closes on different threads may need pools of different sizes (their networks split into different
    numbers of parts). When one grows the shared pool while the other has just looked it up, the other's
    submissions must still run instead of failing with "cannot schedule new futures after shutdown"."""
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "_pool_size", 0)
    real = threads._executor
    other: list[list[int]] = []
    fired = threading.Event()

    def racing(workers: int):  # type: ignore[no-untyped-def]
        pool = real(workers)
        if not fired.is_set():  # between this thread's lookup and its submit, another thread needs more workers
            fired.set()
            t = threading.Thread(
                target=lambda: other.append(threads.run_parts(lambda x: x + 1, list(range(workers + 4))))
            )
            t.start()
            t.join()
        return pool

    monkeypatch.setattr(threads, "_executor", racing)
    assert threads.run_parts(lambda x: 2 * x, [1, 2, 3]) == [2, 4, 6]
    assert other == [[1, 2, 3, 4, 5, 6]]


@st.composite
def _tree_and_bounds(draw: st.DrawFn) -> tuple[Genealogy, list[tuple[int, int]]]:
    """A random forest (chains, stars and mixed) and an arbitrary split of its positions into parts."""
    n = draw(st.integers(1, 40))
    shape = draw(st.sampled_from(["chain", "star", "mixed"]))
    if shape == "chain":
        sponsors: list[int | None] = [None, *range(n - 1)]
    elif shape == "star":
        sponsors = [None] + [0] * (n - 1)
    else:
        sponsors = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    tree = Genealogy.build(Members.from_columns(list(range(n)), sponsors, ["2025-01-01"] * n))
    cuts = sorted(set(draw(st.lists(st.integers(1, n), max_size=n))) | {n})
    return tree, list(itertools.pairwise([0, *cuts]))


@settings(max_examples=150, deadline=None)
@given(_tree_and_bounds(), st.data())
def test_any_split_gives_the_ranks_and_unilevel_lines_of_one_pass(
    case: tuple[Genealogy, list[tuple[int, int]]], data: st.DataObject
) -> None:
    """Parts of any sizes (not only the equal ones of :func:`threads.parts`): paid-as ranks with the boundary
    ancestors taken afterwards, and unilevel lines whose path stack starts anywhere (a root, deep in a chain)."""
    tree, ranges = case
    n = len(tree)
    ints = st.lists(st.integers(0, 300_000), min_size=n, max_size=n)
    pv = np.array(data.draw(ints), dtype=np.int64)
    gv = subtree_sum(pv, tree.parent, np.empty_like(pv))
    active = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.bool_)
    params = next(
        s.params for s in compile_plan(load_plan(PLANS / "hybrid_leadership.yaml")).steps if isinstance(s, Ranks)
    )
    want_gv, want_rank, want_qv = kr.paid_as_ranks(tree.end, pv, active, params)
    assert np.array_equal(want_gv, gv)  # GV summed in the rank pass is the subtree sum of PV
    got_gv, rank, qv, best = kr.new_rank_arrays(n)
    for lo, hi in reversed(ranges):  # any order: parts are independent
        kr.paid_as_ranks_range(tree.end, pv, active, params, lo, hi, hi, got_gv, rank, qv, best)
    waiting = boundary_ancestors(tree.parent, np.array([hi for _, hi in ranges[:-1]], dtype=np.int64))
    kr.paid_as_ranks_waiting(waiting, tree.end, pv, active, params, got_gv, rank, qv, best)
    assert np.array_equal(rank, want_rank) and np.array_equal(qv, want_qv) and np.array_equal(got_gv, gv)

    qualified = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.bool_)
    counted = qualified if data.draw(st.booleans()) else np.ones(n, dtype=np.bool_)
    rates = np.array([[50_000, 30_000, 20_000, 10_000], [70_000, 40_000, 30_000, 20_000]], dtype=np.int64)
    ranks = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    money = MoneyParams(100, 10**8, 0)

    def lines(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        totals = np.full(n, -7, dtype=np.int64)  # the kernel zeroes its own slice
        spill = np.zeros(int(tree.depth[lo]) if lo < n else 0, dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        args = (tree.parent, tree.depth, counted, lo, hi, pv, qualified, ranks, rates, money, totals, spill)
        count = kb.unilevel(*args, kb.LedgerBuffer(*(empty,) * 6), -1, False)
        buffer = kb.LedgerBuffer(*(np.zeros(count, dtype=np.int64) for _ in range(6)))
        spill[:] = 0
        assert kb.unilevel(*args, buffer, -1, True) == count
        assert (totals[:lo] == -7).all() and (totals[hi:] == -7).all()  # only its own slice is written
        paid = totals.copy()
        paid[:lo] = paid[hi:] = 0
        a = tree.parent[lo] if lo < n else -1
        while a >= 0:  # what it paid before lo went to the ancestors of lo, by depth
            paid[a] += spill[tree.depth[a]]
            a = tree.parent[a]
        assert spill.sum() == sum(int(b) for b, p in zip(buffer.amount, buffer.payee, strict=True) if p < lo)
        return paid, spill, list(buffer)

    one_totals, _, one_lines = lines(0, n)
    split = [lines(lo, hi) for lo, hi in ranges]
    assert np.array_equal(sum(t for t, _, _ in split), one_totals)
    for column in range(6):
        assert np.array_equal(np.concatenate([b[column] for _, _, b in split]), one_lines[column])
