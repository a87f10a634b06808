"""The synthetic network generator: determinism, valid trees for every shape, valid orders, realistic shape."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from compplan import load_plan
from compplan.engine import close
from compplan.genealogy import Genealogy
from compplan.inputs import Members, Orders, Period
from compplan.synthetic import SHAPES, _realistic_sponsors, generate

PLANS = Path(__file__).resolve().parent.parent / "plans"
START, END = np.datetime64("2026-10-01"), np.datetime64("2026-10-31")


def _same(a: Members | Orders, b: Members | Orders) -> bool:
    fields = (
        ("ids", "sponsor_ids", "is_root", "enrolled_on")
        if isinstance(a, Members)
        else ("member_ids", "dates", "pv", "cv")
    )
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


def _children(g: Genealogy) -> np.ndarray:
    return np.bincount(g.parent[g.parent >= 0], minlength=len(g))


@pytest.fixture(scope="module")
def realistic() -> tuple[Members, Orders]:
    return generate(20_000, seed=3)


def test_same_seed_same_arrays_other_seed_other_arrays() -> None:
    m1, o1 = generate(3000, seed=7)
    m2, o2 = generate(3000, seed=7)
    m3, o3 = generate(3000, seed=8)
    assert _same(m1, m2) and _same(o1, o2)
    assert not _same(m1, m3) and not _same(o1, o3)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_is_a_valid_tree_with_valid_orders(shape: str) -> None:
    n = 2000
    members, orders = generate(n, shape=shape, seed=1)  # type: ignore[arg-type]
    assert members.source == "synthetic members" and orders.source == "synthetic orders"
    assert members.ids.dtype == np.int64 and members.sponsor_ids.dtype == np.int64
    assert members.is_root.dtype == np.bool_ and members.enrolled_on.dtype == np.dtype("datetime64[D]")
    assert np.array_equal(np.sort(members.ids), np.arange(1, n + 1))
    assert not np.array_equal(members.ids, np.sort(members.ids))  # shuffled: the input is not in tree order
    g = Genealogy.build(members)
    assert members.is_root.sum() == 1 == (g.parent < 0).sum()
    # sponsors enrol on or before their recruits, nobody after the period end
    sponsor_day = g.enrolled[np.maximum(g.parent, 0)]
    assert np.all(sponsor_day[g.parent >= 0] <= g.enrolled[g.parent >= 0])
    assert members.enrolled_on.max() <= END
    if shape == "chain":
        assert g.depth.max() == n - 1
    if shape == "star":
        assert _children(g)[g.parent < 0].item() == n - 1 and g.depth.max() == 1

    assert orders.member_ids.dtype == np.int64 and orders.pv.dtype == np.int64 and orders.cv.dtype == np.int64
    assert orders.dates.dtype == np.dtype("datetime64[D]") and orders.decimals == 2
    assert 4500 < len(orders) < 7500  # about 3 lines per member
    rows, found = g.lookup(orders.member_ids)
    assert found.all()
    assert np.all((orders.dates >= START) & (orders.dates <= END))
    assert np.all(orders.dates.astype(np.int64) >= g.enrolled[g.position[rows]])
    assert np.all(np.diff(orders.dates.astype(np.int64)) >= 0)  # an export sorted by date
    # returns exist, and never exceed what the member bought in the period
    assert (orders.pv < 0).any()
    assert np.all(np.bincount(rows, weights=orders.pv, minlength=n) >= 0)
    assert np.all(np.bincount(rows, weights=orders.cv, minlength=n) >= 0)
    close(load_plan(PLANS / "wellness_unilevel.yaml"), members, orders, "2026-10")  # the engine accepts it


def test_realistic_shape_looks_like_a_network(realistic: tuple[Members, Orders]) -> None:
    members, orders = realistic
    n = len(members)
    g = Genealogy.build(members)
    children = _children(g)
    assert children.max() > 50 * children.mean()  # heavy-tailed fan-out (the mean is ~1)
    assert np.mean(children == 0) > 0.7  # most members recruit nobody
    assert 8 <= g.depth.max() <= 100  # depth in the tens
    buyers = np.isin(members.ids, orders.member_ids)
    assert 0.6 <= 1 - buyers.mean() <= 0.8  # mostly inactive
    assert 0.01 <= np.mean(members.enrolled_on >= START) <= 0.06  # a few percent enrol inside the period
    span = (members.enrolled_on.max() - members.enrolled_on.min()).astype(int)
    assert span > 3 * 365  # enrolments spread over years
    points = orders.pv[orders.pv > 0] / 100
    assert 50 <= np.median(points) <= 120
    assert 0.8 <= orders.cv.sum() / orders.pv.sum() <= 1.0
    assert 0.002 <= np.mean(orders.pv < 0) <= 0.03
    # leaders (many recruits) buy far more than the average buyer
    rows = g.lookup(orders.member_ids)[0]
    pv = np.bincount(rows, weights=orders.pv, minlength=n)
    leaders = children[g.position] >= 10
    assert pv[leaders].mean() > 3 * pv[buyers[g.input_row]].mean()


def test_realistic_forest_with_several_roots() -> None:
    sponsor = _realistic_sponsors(50_000, 3, np.random.default_rng(0))
    assert np.array_equal(np.flatnonzero(sponsor < 0), [0, 1, 2])
    assert np.all(sponsor[3:] < np.arange(3, 50_000)) and np.all(sponsor[3:] >= 0)


def test_close_on_a_realistic_network_pays(realistic: tuple[Members, Orders]) -> None:
    members, orders = realistic
    result = close(load_plan(PLANS / "wellness_unilevel.yaml"), members, orders, "2026-10")
    assert result.total.sum() > 0
    assert all(col.sum() > 0 for col in result.bonuses.values())  # fast start, unilevel, rank advancement
    assert 0.05 < result.summary["payout_ratio"] < 0.6
    assert (result.rank > 1).sum() > 0


def test_period_argument_and_order_volume() -> None:
    members, orders = generate(1000, period=Period(dt.date(2026, 3, 5), dt.date(2026, 3, 20), "custom"), seed=2)
    assert orders.dates.min() >= np.datetime64("2026-03-05") and orders.dates.max() <= np.datetime64("2026-03-20")
    assert members.enrolled_on.max() <= np.datetime64("2026-03-20")
    _, few = generate(1000, orders_per_member=0.1, return_rate=0.0)
    assert len(few) == 100 and len(np.unique(few.member_ids)) == 100 and (few.pv > 0).all()
    _, none = generate(1000, orders_per_member=0.0)
    assert len(none) == 0
    _, many = generate(1000, orders_per_member=10.0)
    assert 9000 < len(many) < 11000


@pytest.mark.parametrize("shape", SHAPES)
def test_a_single_member(shape: str) -> None:
    members, _ = generate(1, shape=shape)  # type: ignore[arg-type]
    assert members.is_root.tolist() == [True] and len(Genealogy.build(members)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"n_members": 0}, {"n_members": 10, "shape": "binary"}, {"n_members": 10, "return_rate": 0.9},
     {"n_members": 10, "orders_per_member": -1.0}],
)  # fmt: skip
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)  # type: ignore[arg-type]


def test_id_kinds_give_the_same_network_under_other_ids() -> None:
    # Sparse and text ids are a renaming of the dense ones: same tree, same orders, same close per member.
    plan = load_plan(Path(__file__).resolve().parents[1] / "plans" / "hybrid_leadership.yaml")
    dense_m, dense_o = generate(3000, seed=5)
    results = {}
    for kind in ("dense", "sparse", "text"):
        m, o = generate(3000, seed=5, ids=kind)
        assert len(np.unique(m.ids)) == 3000 and (m.ids.dtype.kind == "U") == (kind == "text")
        rename = dict(zip(dense_m.ids.tolist(), m.ids.tolist(), strict=True))
        assert [rename[i] for i in dense_m.sponsor_ids.tolist()] == m.sponsor_ids.tolist()
        assert [rename[i] for i in dense_o.member_ids.tolist()] == o.member_ids.tolist()
        r = close(plan, m, o, "2026-10")
        row = {v: c for c, v in enumerate(r.tree.ids.tolist())}
        where = [row[rename[i]] for i in range(1, 3001)]
        results[kind] = {c: r.column(c)[where].tolist() for c in ("pv", "gv", "qv", "rank", "total")}
    dense = results["dense"]
    assert sum(dense["total"]) > 0
    for kind in ("sparse", "text"):
        got = results[kind]
        assert all(got[c] == dense[c] for c in ("pv", "gv", "qv", "rank"))
        # the pool's leftover cents go to the earliest members in id order: other ids, other members
        assert sum(got["total"]) == sum(dense["total"])
        assert max(abs(a - b) for a, b in zip(got["total"], dense["total"], strict=True)) <= 1
    with pytest.raises(ValueError, match="unknown ids"):
        generate(10, ids="uuid")  # type: ignore[arg-type]
