"""The engine against the independent reference (tests/reference.py), member by member, to the unit.

Random forests, plans, orders and prior states come from tests/strategies.py; the worked examples from
tests/test_reference.py are run through the engine too, so a failure there reads like the hand computation.
"""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compplan import Members, Orders, Period, State, close
from compplan.spec.models import Plan
from reference import RefResult, reference_close
from strategies import Scenario, scenarios
from test_reference import EXAMPLES, Example

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


# --------------------------------------------------------------------------------------------------------
# Running the engine


def run_engine(
    plan: Plan,
    members: list[tuple[Any, Any, datetime.date]],
    orders: list[tuple[Any, datetime.date, Decimal, Decimal]],
    period_text: str,
    prior: dict[Any, str] | None,
    *,
    volumes_as_text: bool = False,
) -> Any:
    def volume(v: Decimal) -> Decimal | str:
        return str(v) if volumes_as_text else v

    m = Members.from_columns(
        ids=[r[0] for r in members], sponsor_ids=[r[1] for r in members], enrolled_on=[r[2] for r in members]
    )
    o = Orders.from_columns(
        member_ids=[r[0] for r in orders],
        dates=[r[1] for r in orders],
        pv=[volume(r[2]) for r in orders],
        cv=[volume(r[3]) for r in orders],
    )
    period = Period.parse(period_text)
    kwargs: dict[str, Any] = {"ledger": True}
    if prior is not None:
        kwargs["state"] = State.from_mapping(prior)
    return close(plan, m, o, period, **kwargs)


# --------------------------------------------------------------------------------------------------------
# Both results in one comparable shape: ids as text, volumes in volume units, money in minor units,
# rates in parts per million, ranks by name.


def _key(x: Any) -> str:
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return str(x)


def _units(value: Decimal, places: int) -> int:
    scaled = value.scaleb(places)
    assert scaled == scaled.to_integral_value(), f"{value} is not a whole number of 10^-{places}"
    return int(scaled)


def ref_view(plan: Plan, ref: RefResult) -> dict[str, Any]:
    vd, mu = plan.plan.volume_decimals, plan.minor_units
    members = {}
    for i, r in ref.members.items():
        members[_key(i)] = {
            "pv": _units(r.pv, vd),
            "gv": _units(r.gv, vd),
            "qv": _units(r.qv, vd),
            "active": r.active,
            "rank": r.rank,
            "highest_rank": r.highest_rank,
            "bonuses": {b: _units(a, mu) for b, a in r.bonuses.items()},
            "total": _units(r.total, mu),
        }
    ledger = [
        (
            _key(ln.payee),
            _key(ln.source),
            ln.bonus_id,
            ln.level,
            _units(ln.basis, vd),
            _units(ln.rate, 6),
            _units(ln.amount, mu),
        )
        for ln in ref.ledger
    ]
    awards = [(_key(a.member), a.bonus_id, a.rank_name, a.award_name) for a in ref.awards]
    return {
        "ids": [_key(i) for i in ref.canonical_ids],
        "members": members,
        "ledger": ledger,
        "awards": awards,
        "total_payout": ref.total_payout,
        "bonus_totals": dict(ref.bonus_totals),
        "total_cv": ref.total_cv,
        "payout_ratio": ref.payout_ratio,
    }


def engine_view(plan: Plan, res: Any) -> dict[str, Any]:
    names = plan.rank_names
    ids = [_key(i) for i in res.ids]
    members = {}
    for n, i in enumerate(ids):
        members[i] = {
            "pv": int(res.pv[n]),
            "gv": int(res.gv[n]),
            "qv": int(res.qv[n]),
            "active": bool(res.active[n]),
            "rank": names[int(res.rank[n])],
            "highest_rank": names[int(res.highest_rank[n])],
            "bonuses": {b: int(col[n]) for b, col in res.bonuses.items()},
            "total": int(res.total[n]),
        }
    lg = res.ledger
    ledger = [
        (
            _key(lg.payee[k]),
            _key(lg.source[k]),
            str(lg.bonus[k]),
            int(lg.level[k]),
            int(lg.basis[k]),
            int(lg.rate[k]),
            int(lg.amount[k]),
        )
        for k in range(len(lg))
    ]
    awards = [(_key(m), str(b), str(r), str(a)) for m, b, r, a in res.awards]
    return {"ids": ids, "members": members, "ledger": ledger, "awards": awards}


def assert_agree(plan: Plan, ref: RefResult, res: Any) -> None:
    """Engine == reference on every member, the ledger (as a multiset), the awards and the summary."""
    want, got = ref_view(plan, ref), engine_view(plan, res)
    mu = plan.minor_units
    assert sorted(got["ids"]) == sorted(want["ids"]), "member ids"
    assert got["ids"] == want["ids"], "member table not in canonical id order"
    assert list(res.bonuses) == plan.bonus_ids(), "bonus columns"
    bad = {i: (want["members"][i], got["members"][i]) for i in want["ids"] if want["members"][i] != got["members"][i]}
    if bad:
        i, (w, g) = next(iter(bad.items()))
        diff = {f: (w[f], g[f]) for f in w if w[f] != g[f]}
        pytest.fail(f"{len(bad)} member(s) differ; first {i!r}: (reference, engine) = {diff}")
    # ledger: a multiset of (payee, source, bonus, level, basis, rate ppm, amount)
    missing = Counter(want["ledger"]) - Counter(got["ledger"])
    extra = Counter(got["ledger"]) - Counter(want["ledger"])
    assert not missing and not extra, f"ledger: only in reference {dict(missing)}, only in engine {dict(extra)}"
    assert len(res.ledger) == len(want["ledger"])
    # ledger sums per (payee, bonus) equal the bonus columns
    sums: Counter[tuple[str, str]] = Counter()
    for payee, _s, bonus, _l, _b, _r, amount in got["ledger"]:
        sums[(payee, bonus)] += amount
    for i, row in got["members"].items():
        for b, amount in row["bonuses"].items():
            assert sums.get((i, b), 0) == amount, (i, b)
        assert row["total"] == sum(row["bonuses"].values())
    # awards: same multiset, ordered by member (canonical) then bonus
    assert Counter(got["awards"]) == Counter(want["awards"]), "awards"
    assert [a[:2] for a in got["awards"]] == [a[:2] for a in want["awards"]], "award order"
    # summary
    summary = res.summary
    total_payout = Decimal(summary["total_payout"])
    assert total_payout == want["total_payout"]
    assert total_payout.scaleb(mu) == sum(int(t) for t in res.total)
    assert {b: Decimal(v) for b, v in summary["bonuses"].items()} == want["bonus_totals"]
    if "total_cv" in summary:
        assert Decimal(summary["total_cv"]) == want["total_cv"]
    if "payout_ratio" in summary:
        ratio = summary["payout_ratio"]
        if want["payout_ratio"] is None:
            assert ratio is None
        else:  # 6 decimals; the rounding mode of the ratio is not specified, so allow one unit either way
            assert abs(Decimal(str(ratio)) - want["payout_ratio"]) <= Decimal("0.000001")


def reference_for(sc: Scenario) -> RefResult:
    return reference_close(sc.plan, sc.members, sc.orders, sc.period_start, sc.period_end, sc.prior)


# --------------------------------------------------------------------------------------------------------
# Worked examples through the engine


def _expected_units(plan: Plan, field: str, value: Any) -> Any:
    if field in ("pv", "gv", "qv"):
        return _units(Decimal(value), plan.plan.volume_decimals)
    if field == "total":
        return _units(Decimal(value), plan.minor_units)
    return value


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda ex: ex.name)
def test_worked_example(ex: Example) -> None:
    plan = ex.plan
    res = run_engine(plan, ex.members, ex.orders, ex.period, ex.prior)
    got = engine_view(plan, res)
    # first the hand-computed numbers, so a failure reads like the comment in test_reference.py
    for member, fields in ex.expect.items():
        row = got["members"][_key(member)]
        for name, want in fields.items():
            if name == "bonuses":
                for b, amount in want.items():
                    assert row["bonuses"][b] == _units(Decimal(amount), plan.minor_units), (member, b)
            else:
                assert row[name] == _expected_units(plan, name, want), (member, name)
    want_ledger = Counter(
        (_key(p), _key(s), b, lvl, _units(Decimal(a), plan.minor_units)) for p, s, b, lvl, a in ex.ledger
    )
    assert Counter(ln[:4] + ln[6:] for ln in got["ledger"]) == want_ledger
    assert got["awards"] == [(_key(m), b, r, a) for m, b, r, a in ex.awards]
    # then everything against the reference
    ref = reference_close(plan, ex.members, ex.orders, ex.start, ex.end, ex.prior)
    assert_agree(plan, ref, res)
    # summary amounts are decimal text with exactly minor_units decimals (docs/semantics.md 1)
    for text in [res.summary["total_payout"], *res.summary["bonuses"].values()]:
        assert isinstance(text, str) and -Decimal(text).as_tuple().exponent == plan.minor_units, text


def test_worked_example_ledger_order() -> None:
    ex = EXAMPLES[0]  # unilevel on the six-member tree; tree order A, B, D, E, C, F
    got = engine_view(ex.plan, run_engine(ex.plan, ex.members, ex.orders, ex.period, ex.prior))
    assert [(p, s, lvl) for p, s, _b, lvl, *_ in got["ledger"]] == [
        ("A", "B", 1),
        ("A", "D", 2),
        ("A", "C", 1),
        ("C", "F", 1),
        ("A", "F", 2),
    ]


def test_int_ids_give_an_int64_id_column() -> None:
    ex = next(e for e in EXAMPLES if e.name == "dynamic_compression_paid_levels_int_ids")
    res = run_engine(ex.plan, ex.members, ex.orders, ex.period, ex.prior)
    assert res.ids.dtype == np.int64 and list(res.ids) == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=300, **SETTINGS)
@given(scenarios(), st.booleans())
def test_engine_equals_reference(sc: Scenario, volumes_as_text: bool) -> None:
    res = run_engine(sc.plan, sc.members, sc.orders, sc.period_text, sc.prior, volumes_as_text=volumes_as_text)
    assert_agree(sc.plan, reference_for(sc), res)


@settings(max_examples=75, **SETTINGS)
@given(scenarios(big_volumes=True))
def test_engine_equals_reference_near_the_volume_bounds(sc: Scenario) -> None:
    """Bases up to 3 x 10^12 volume units times rates up to 10^6 ppm: products beyond int64."""
    res = run_engine(sc.plan, sc.members, sc.orders, sc.period_text, sc.prior)
    assert_agree(sc.plan, reference_for(sc), res)


@pytest.mark.parametrize("mode", ["half_up", "half_even", "down"])
def test_extreme_basis_at_the_total_bound(mode: str) -> None:
    # B orders 10^15 - 1 volume units in all (999 lines of 10^12 and one of 10^12 - 1): the period bound.
    # personal 50%: (10^13 - 0.01) / 2 = 4999999999999.995 points -> a tie at 10^15 magnitude
    #   half_up 5000000000000.00, half_even 5000000000000.00 (...00 is even), down 4999999999999.99
    # unilevel 0.999999 to A: 9999989999999.99000001 -> 9999989999999.99 (down too)
    plan = Plan.model_validate(
        {
            "plan": {"name": "Big", "currency": "USD", "rounding": mode},
            "activity": {"min_pv": "0"},
            "ranks": [{"name": "Member"}],
            "bonuses": [
                {"id": "personal", "type": "personal_tier", "tiers": [{"min_volume": "0", "rate": "50%"}]},
                {"id": "uni", "type": "unilevel", "rates": ["0.999999"]},
            ],
        }
    )
    oct1 = datetime.date(2026, 10, 1)
    members = [("A", None, oct1), ("B", "A", oct1)]
    big = Decimal(10**10)
    orders = [("B", oct1, big, big)] * 999 + [("B", oct1, big - Decimal("0.01"), big - Decimal("0.01"))]
    res = run_engine(plan, members, orders, "2026-10", None)
    ref = reference_close(plan, members, orders, oct1, datetime.date(2026, 10, 31))
    personal = {"half_up": 500000000000000, "half_even": 500000000000000, "down": 499999999999999}[mode]
    assert list(res.bonuses["personal"]) == [0, personal]
    assert list(res.bonuses["uni"]) == [999998999999999, 0]
    assert list(res.gv) == [10**15 - 1, 10**15 - 1]
    assert_agree(plan, ref, res)


@settings(max_examples=75, **SETTINGS)
@given(scenarios(max_members=15))
def test_ledger_and_awards_in_documented_order(sc: Scenario) -> None:
    """Bonus in plan order, then source in tree order (pre-order, children by canonical id), then level."""
    res = run_engine(sc.plan, sc.members, sc.orders, sc.period_text, sc.prior)
    want, got = ref_view(sc.plan, reference_for(sc)), engine_view(sc.plan, res)
    assert [ln[:4] for ln in got["ledger"]] == [ln[:4] for ln in want["ledger"]]
    assert got["awards"] == want["awards"]


@settings(max_examples=75, **SETTINGS)
@given(scenarios(max_members=15), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(sc: Scenario, rnd: Any) -> None:
    res = run_engine(sc.plan, sc.members, sc.orders, sc.period_text, sc.prior)
    members, orders = list(sc.members), list(sc.orders)
    rnd.shuffle(members)
    rnd.shuffle(orders)
    again = run_engine(sc.plan, members, orders, sc.period_text, sc.prior)
    assert list(res.ids) == list(again.ids)
    for name in ("pv", "gv", "qv", "active", "rank", "highest_rank", "total"):
        assert np.array_equal(getattr(res, name), getattr(again, name)), name
    assert list(res.bonuses) == list(again.bonuses)
    for b in res.bonuses:
        assert np.array_equal(res.bonuses[b], again.bonuses[b]), b
    for col in ("payee", "source", "bonus", "level", "basis", "rate", "amount"):
        assert np.array_equal(getattr(res.ledger, col), getattr(again.ledger, col)), col
    assert list(res.awards) == list(again.awards)
    assert res.summary == again.summary


def test_deep_chain_and_wide_star() -> None:
    # 3000-deep chain (no recursion limits) under a 2000-member star, every member active with 100 PV / 50.05 CV.
    oct1 = datetime.date(2026, 10, 1)
    plan = Plan.model_validate(
        {
            "plan": {"name": "Deep", "currency": "USD", "rounding": "half_even"},
            "activity": {"min_pv": "100"},
            "ranks": [
                {"name": "Member"},
                {"name": "Leader", "min_qv": "1000", "max_leg_share": "40%"},
                {"name": "Chief", "legs": [{"rank": "Leader", "count": 2}]},
            ],
            "bonuses": [
                {"id": "uni", "type": "unilevel", "compression": "dynamic", "rates": ["5%", "2.5%", "1%"]},
                {"id": "fs", "type": "fast_start", "days": 30, "rates": ["10%", "5%"]},
            ],
        }
    )
    members = [(0, None, oct1)] + [(i, 0, oct1) for i in range(1, 2001)]
    members += [(2001, 0, oct1)] + [(i, i - 1, oct1) for i in range(2002, 5001)]
    orders = [(i, oct1, Decimal(100), Decimal("50.05")) for i in range(5001) if i % 7 != 3]
    res = run_engine(plan, members, orders, "2026-10", None)
    assert_agree(plan, reference_close(plan, members, orders, oct1, datetime.date(2026, 10, 31)), res)
