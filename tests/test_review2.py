"""Review of the performance round after 4ce0fde: edge cases of the rewritten steps against the reference.

The suite runs every part of one item on three threads (tests/conftest.py), so these small cases also split
the relabel, the fast-start window sums and the totals at every boundary.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from compplan import InputError, Members, Orders, close
from compplan.genealogy import Genealogy
from compplan.kernels import tree as kt
from reference import reference_close
from test_properties import assert_agree, run_engine
from test_reference import LONG_AGO, OCT1, OCT31, make_plan, order

D = Decimal


def _agree(plan: Any, members: list[Any], orders: list[Any], prior: dict[Any, str] | None = None) -> Any:
    """Close with the engine and the reference; they must agree member by member and line by line."""
    ref = reference_close(plan, members, orders, OCT1, OCT31, prior)
    state = {i: (r, 0, D(0)) for i, r in prior.items()} if prior else None
    res = run_engine(plan, members, orders, "2026-10", state)
    assert_agree(plan, ref, res)
    return res


def _column(res: Any, bonus: str) -> dict[str, int]:
    return {str(i): int(a) for i, a in zip(res.ids, res.bonuses[bonus], strict=True)}


@pytest.mark.parametrize("days", [45, 3660])
def test_fast_start_windows_longer_than_the_period(days: int) -> None:
    """``days`` above the period's length: a member enrolled ``days - 1`` days before the first day still has
    that day's line in its window, one enrolled ``days`` days before does not; a member enrolled on the last day
    has that day's line. (The 'enrolled recently enough' flag must not drop any of these.)"""
    plan = make_plan(bonuses=[{"id": "fs", "type": "fast_start", "days": days, "rates": ["10%", "5%"]}], min_pv="0")
    edge_in = OCT1 - datetime.timedelta(days=days - 1)
    edge_out = OCT1 - datetime.timedelta(days=days)
    members = [
        ("r", None, LONG_AGO if days < 1000 else datetime.date(1990, 1, 1)),
        ("in", "r", edge_in),
        ("out", "r", edge_out),
        ("new", "in", OCT31),
    ]
    orders = [
        order("r", "10"),
        order("in", "100"),  # first day of the period, age days - 1: in the window
        order("in", "50", date=OCT31),  # age days + 29: outside
        order("out", "70"),  # age days: just outside
        order("new", "30", date=OCT31),  # enrolled that day, age 0
    ]
    res = _agree(plan, members, orders)
    got = _column(res, "fs")
    # r: 10% of in's 100 (generation 1) and 5% of new's 30 (generation 2); in: 10% of new's 30
    assert got == {"in": 300, "new": 0, "out": 0, "r": 1000 + 150}


def test_pool_whose_shares_times_pool_overflow_int64_is_split_exactly() -> None:
    """Shares of up to a million times a pool of about 10**13 cents is beyond int64: the split takes Python
    integers, still pays the whole pool, and breaks the remainder tie of two equal holders canonically."""
    ranks = [
        {"name": "Member"},
        {"name": "Bronze", "min_pv": "100"},
        {"name": "Silver", "min_pv": "200"},
        {"name": "Gold", "min_pv": "300"},
    ]
    shares = {"Bronze": 3, "Silver": 999_999, "Gold": 1_000_000}
    plan = make_plan(ranks, [{"id": "pool", "type": "pool", "share": "100%", "shares_by_rank": shares}])
    members = [("g", None, LONG_AGO), ("s2", "g", LONG_AGO), ("s1", "g", LONG_AGO), ("b", "s1", LONG_AGO)]
    big = "9999999999.99"  # the largest single line (10**12 volume units)
    orders = [order(m, pv, big) for m, pv in (("g", "100"), ("s2", "66.67"), ("s1", "66.67"), ("b", "33.34"))] * 3
    res = _agree(plan, members, orders)
    got = _column(res, "pool")
    pool = 12 * (10**12 - 1)  # 100% of the CV, in cents
    total = 1_000_000 + 2 * 999_999 + 3
    assert int(np.asarray(list(got.values())).sum()) == pool
    assert pool * 999_999 > 2**63  # the Python-integer path
    assert got["g"] in (pool * 1_000_000 // total, pool * 1_000_000 // total + 1)
    assert got["s1"] - got["s2"] in (0, 1) and got["s1"] >= got["s2"]  # the tie goes to s1 (canonical first)
    assert got["b"] in (pool * 3 // total, pool * 3 // total + 1)


def test_pool_without_share_holders_pays_nothing() -> None:
    ranks = [{"name": "Member"}, {"name": "Gold", "min_pv": "300"}]
    plan = make_plan(ranks, [{"id": "pool", "type": "pool", "share": "10%", "shares_by_rank": {"Gold": 2}}])
    members = [("a", None, LONG_AGO), ("b", "a", LONG_AGO)]
    res = _agree(plan, members, [order("a", "100"), order("b", "299")])
    assert _column(res, "pool") == {"a": 0, "b": 0}
    assert len(res.ledger) == 0


def test_pool_remainder_ties_in_canonical_order() -> None:
    """Seven equal holders and 10 cents: 1 cent each and the 3 left go to the first three in canonical order,
    whatever their tree order."""
    ranks = [{"name": "Member"}, {"name": "Bronze", "min_pv": "100"}]
    plan = make_plan(ranks, [{"id": "pool", "type": "pool", "share": "10%", "shares_by_rank": {"Bronze": 1}}])
    names = ["m7", "m3", "m5", "m1", "m6", "m2", "m4"]
    members = [(names[0], None, LONG_AGO)] + [(x, names[0], LONG_AGO) for x in names[1:]]
    orders = [order(x, "100", "0") for x in names[1:]] + [order(names[0], "100", "1.00")]  # pool 0.10
    res = _agree(plan, members, orders)
    assert _column(res, "pool") == {"m1": 2, "m2": 2, "m3": 2, "m4": 1, "m5": 1, "m6": 1, "m7": 1}


@pytest.mark.parametrize("pay_skipped", [True, False])
def test_rank_advancement_skips_prior_highest_and_jumps(pay_skipped: bool) -> None:
    """Only members whose highest rank rises are paid: a prior highest above the current rank pays nothing, a
    jump over ranks pays every rank passed (pay_skipped) or only the one reached."""
    ranks = [{"name": "Member"}] + [{"name": f"R{k}", "min_pv": str(100 * k)} for k in range(1, 5)]
    awards = {f"R{k}": {"cash": str(10**k)} for k in range(1, 5)}
    plan = make_plan(ranks, [{"id": "adv", "type": "rank_advancement", "awards": awards, "pay_skipped": pay_skipped}])
    members = [("a", None, LONG_AGO), ("b", "a", LONG_AGO), ("c", "a", LONG_AGO), ("d", "c", LONG_AGO)]
    orders = [order("a", "400"), order("b", "100"), order("c", "300"), order("d", "50")]
    prior = {"a": "R1", "b": "R4", "c": "R3"}  # b above its rank, c stays at R3, d new at Member
    res = _agree(plan, members, orders, prior)
    a = 100 + 1000 + 10000 if pay_skipped else 10000  # R1 -> R4
    assert _column(res, "adv") == {"a": a * 100, "b": 0, "c": 0, "d": 0}
    assert [str(p) for p in res.ledger.payee] == ["a"] * (3 if pay_skipped else 1)


def test_one_qualification_shared_by_bonuses_is_not_changed_by_them() -> None:
    """A generation bonus with dynamic compression (its leaders are ``rank >= generation_rank`` and qualified)
    and a dynamic unilevel share one cached ``qualified`` array; both must pay as the reference does."""
    ranks = [{"name": "Member"}, {"name": "Pro", "min_pv": "100"}, {"name": "Lead", "min_pv": "200"}]
    plan = make_plan(
        ranks,
        [
            {
                "id": "gen",
                "type": "generation",
                "generation_rank": "Member",
                "compression": "dynamic",
                "min_rank": "Pro",
                "rates": ["5%", "3%"],
            },
            {"id": "uni", "type": "unilevel", "compression": "dynamic", "min_rank": "Pro", "rates": ["4%", "2%"]},
            {"id": "fs", "type": "fast_start", "days": 10, "min_rank": "Pro", "rates": ["20%"]},
        ],
    )
    members = [("a", None, LONG_AGO), ("b", "a", LONG_AGO), ("c", "b", LONG_AGO), ("d", "c", OCT1), ("e", "d", OCT1)]
    orders = [order("a", "200"), order("b", "60"), order("c", "100"), order("d", "150"), order("e", "80")]
    res = _agree(plan, members, orders)
    # qualified (Pro and up, active): a, c, d; b (Member) is compressed away, e is below the minimum rank
    assert _column(res, "uni") == {"a": 300 + 400 + 240, "b": 0, "c": 600 + 160, "d": 320, "e": 0}
    assert int(res.total.sum()) == sum(int(res.bonuses[b].sum()) for b in ("gen", "uni", "fs"))


def test_relabel_in_parts_names_every_cycle() -> None:
    """Children lists and the inverse permutation in parts: a forest with two cycles and a member cut off below
    one still names each cycle's members, and a forest without cycles relabels as the plain preorder does."""
    ids = list(range(1, 13))
    sponsors: list[int | None] = [None, 1, 1, 2, 6, 7, 5, None, 9, 9, 8, 4]  # 5 -> 6 -> 7 -> 5; 9 is its own
    members = Members.from_columns(ids, sponsors, ["2025-01-01"] * 12)
    with pytest.raises(InputError) as info:
        Genealogy.build(members)
    text = str(info.value)
    assert "sponsor cycle: 5 -> 6 -> 7 -> 5" in text
    assert "member 9 is its own sponsor" in text
    assert "1 more members are cut off" in text  # 10, below 9 (11 and 12 hang on roots)
    ok = [None, 1, 1, 2, 2, 3, None, 7, 8, 8, 1, 4]
    tree = Genealogy.build(Members.from_columns(ids, ok, ["2025-01-01"] * 12))
    parent = np.array([-1 if s is None else s - 1 for s in ok], dtype=np.int64)
    order_, position, visited = kt.preorder(parent)  # the one-core preorder and tree arrays, as the oracle
    parent_pos, end, depth = kt.tree_arrays(order_, position, parent)
    assert visited == 12
    assert np.array_equal(tree.order, order_) and np.array_equal(tree.position, position)
    assert np.array_equal(tree.parent, parent_pos) and np.array_equal(tree.end, end)
    assert np.array_equal(tree.depth, depth)


def test_totals_in_parts_are_the_sum_of_the_bonus_columns() -> None:
    """``total`` (added in parts on threads) equals the sum of every cash column, member by member."""
    plan = make_plan(
        [{"name": "Member"}, {"name": "Pro", "min_pv": "100"}],
        [
            {"id": "uni", "type": "unilevel", "rates": ["10%", "5%", "1%"]},
            {"id": "fs", "type": "fast_start", "days": 40, "rates": ["20%", "7%"]},
            {"id": "pool", "type": "pool", "share": "3%", "shares_by_rank": {"Pro": 1}},
        ],
        min_pv="0",
    )
    n = 23
    members = [(k, None if k == 0 else (k - 1) // 2, OCT1 if k % 3 == 0 else LONG_AGO) for k in range(n)]
    orders = [order(k, str(37 * k + 5), date=OCT1 + datetime.timedelta(days=k)) for k in range(n)]
    res = _agree(plan, members, orders)
    total = sum(np.asarray(res.bonuses[b], dtype=np.int64) for b in ("uni", "fs", "pool"))
    assert np.array_equal(res.total, total) and int(res.total.sum()) > 0


def test_empty_network_and_single_member_close() -> None:
    plan = make_plan(
        [{"name": "Member"}, {"name": "Pro", "min_pv": "10"}],
        [
            {"id": "fs", "type": "fast_start", "days": 3660, "rates": ["20%"]},
            {"id": "pool", "type": "pool", "share": "3%", "shares_by_rank": {"Pro": 1}},
            {"id": "adv", "type": "rank_advancement", "awards": {"Pro": {"cash": "5"}}},
        ],
        min_pv="0",
    )
    empty = close(plan, Members.from_columns([], [], []), Orders.from_columns([], [], [], []), "2026-10", ledger=True)
    assert len(empty.ids) == 0 and len(empty.ledger) == 0 and empty.total_cv == 0
    one = _agree(plan, [("x", None, OCT1)], [order("x", "20", date=OCT1)])
    assert _column(one, "fs") == {"x": 0} and _column(one, "pool") == {"x": 60} and _column(one, "adv") == {"x": 500}
