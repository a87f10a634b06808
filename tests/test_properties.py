"""The engine against the independent reference (tests/reference.py), member by member, to the unit.

Random forests, plans, orders, events and prior states come from tests/strategies.py; the worked examples from
tests/test_reference.py are run through the engine too, so a failure there reads like the hand computation.
Several consecutive periods are closed too (tests/test_multiperiod.py), feeding each close's state to the next.

While the engine gains the bonus types one by one, a close of a plan with a type it does not support yet raises
``PlanError`` with the single code ``unsupported``; the tests skip on exactly that error and nothing else.
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

from compplan import Members, Orders, Period, PlanError, State, close
from compplan.inputs import Events
from compplan.spec.models import Plan
from reference import RefResult, StateRow, reference_close
from strategies import BONUS_KINDS, Scenario, action_tie_scenarios, scenarios
from test_reference import EXAMPLES, Example

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
#: The bonus types of docs/semantics.md 3.4 added after the first four.
NEW_KINDS = ("generation", "differential", "matching", "loyalty", "pool", "team_goal", "action")


# --------------------------------------------------------------------------------------------------------
# Running the engine


def close_or_skip(plan: Plan, *args: Any, **kwargs: Any) -> Any:
    """``close``, skipping the test when the engine does not support one of the plan's bonus types yet."""
    try:
        return close(plan, *args, **kwargs)
    except PlanError as exc:
        if exc.codes == ["unsupported"]:
            pytest.skip(f"engine: {exc}")
        raise


def engine_state(plan: Plan, prior_state: dict[Any, StateRow] | None) -> State | None:
    """A :class:`State` (no plan or period metadata) from (highest rank, streak, balance in currency units)."""
    if prior_state is None:
        return None
    return State.from_mapping(
        {i: row[0] for i, row in prior_state.items()},
        streak={i: row[1] for i, row in prior_state.items()},
        balance={i: _units(row[2], plan.minor_units) for i, row in prior_state.items()},
    )


def run_engine(
    plan: Plan,
    members: list[tuple[Any, Any, datetime.date]],
    orders: list[tuple[Any, datetime.date, Decimal, Decimal]],
    period_text: str,
    prior_state: dict[Any, StateRow] | State | None,
    *,
    events: list[tuple[Any, str, datetime.date]] | None = None,
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
    state = prior_state if isinstance(prior_state, State) else engine_state(plan, prior_state)
    if state is not None:
        kwargs["state"] = state
    if events is not None:
        kwargs["events"] = Events.from_columns(
            member_ids=[e[0] for e in events], kinds=[e[1] for e in events], dates=[e[2] for e in events]
        )
    return close_or_skip(plan, m, o, period, **kwargs)


# --------------------------------------------------------------------------------------------------------
# Both results in one comparable shape: ids as text, volumes in volume units, money in minor units,
# rates in parts per million, ranks by name.


def _key(x: Any) -> str:
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return str(x)


def _units(value: Decimal, places: int) -> int:
    scaled = Decimal(value).scaleb(places)
    assert scaled == scaled.to_integral_value(), f"{value} is not a whole number of 10^-{places}"
    return int(scaled)


MEMBER_FIELDS = (
    "pv",
    "gv",
    "qv",
    "active",
    "rank",
    "highest_rank",
    "bonuses",
    "total",
    "streak",
    "balance_in",
    "paid",
    "balance_out",
)


def ref_view(plan: Plan, ref: RefResult) -> dict[str, Any]:
    vd, mu = plan.plan.volume_decimals, plan.minor_units
    types = {b.id: b.type for b in plan.bonuses}
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
            "streak": r.streak,
            "balance_in": _units(r.balance_in, mu),
            "paid": _units(r.paid, mu),
            "balance_out": _units(r.balance_out, mu),
        }
    ledger = []
    for ln in ref.ledger:
        money_basis = ln.kind != "line" or types[ln.bonus_id] == "matching"  # docs 3.7: basis is money there
        ledger.append(
            (
                _key(ln.payee),
                _key(ln.source),
                ln.bonus_id,
                ln.kind,
                ln.level,
                _units(ln.basis, mu if money_basis else vd),
                _units(ln.rate, 6),
                _units(ln.amount, mu),
            )
        )
    awards = [(_key(a.member), a.bonus_id, a.rank_name, a.award_name) for a in ref.awards]
    state = [(_key(i), name, streak, _units(balance, mu)) for i, (name, streak, balance) in ref.state().items()]
    return {
        "ids": [_key(i) for i in ref.canonical_ids],
        "members": members,
        "ledger": ledger,
        "awards": awards,
        "state": state,
        "total_payout": ref.total_payout,
        "bonus_totals": dict(ref.bonus_totals),
        "total_cv": ref.total_cv,
        "payout_ratio": ref.payout_ratio,
        "tree_order": [_key(i) for i in ref.tree_order],
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
            "streak": int(res.streak[n]),
            "balance_in": int(res.balance_in[n]),
            "paid": int(res.paid[n]),
            "balance_out": int(res.balance_out[n]),
        }
    lg = res.ledger
    ledger = [
        (
            _key(lg.payee[k]),
            _key(lg.source[k]),
            str(lg.bonus[k]),
            str(lg.kind[k]),
            int(lg.level[k]),
            int(lg.basis[k]),
            int(lg.rate[k]),
            int(lg.amount[k]),
        )
        for k in range(len(lg))
    ]
    awards = [(_key(m), str(b), str(r), str(a)) for m, b, r, a in res.awards]
    st_ = res.state()
    state = [
        (_key(st_.ids[k]), str(st_.highest_rank[k]), int(st_.streak[k]), int(st_.balance[k])) for k in range(len(st_))
    ]
    return {"ids": ids, "members": members, "ledger": ledger, "awards": awards, "state": state}


def assert_agree(plan: Plan, ref: RefResult, res: Any) -> None:
    """Engine == reference on every member, the ledger (as a multiset), the awards, the summary and the state."""
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
    # ledger: a multiset of (payee, source, bonus, kind, level, basis, rate ppm, amount)
    missing = Counter(want["ledger"]) - Counter(got["ledger"])
    extra = Counter(got["ledger"]) - Counter(want["ledger"])
    assert not missing and not extra, f"ledger: only in reference {dict(missing)}, only in engine {dict(extra)}"
    assert len(res.ledger) == len(want["ledger"])
    # ledger sums per (payee, bonus) equal the bonus columns
    sums: Counter[tuple[str, str]] = Counter()
    for payee, _s, bonus, _k, _l, _b, _r, amount in got["ledger"]:
        sums[(payee, bonus)] += amount
    for i, row in got["members"].items():
        for b, amount in row["bonuses"].items():
            assert sums.get((i, b), 0) == amount, (i, b)
        assert row["total"] == sum(row["bonuses"].values())
    # awards: same multiset, ordered by member (canonical) then bonus
    assert Counter(got["awards"]) == Counter(want["awards"]), "awards"
    assert [a[:2] for a in got["awards"]] == [a[:2] for a in want["awards"]], "award order"
    # state out (docs 3.7, 3.8): every member, canonical order
    assert got["state"] == want["state"], "state out"
    # summary
    summary = res.summary
    total_payout = Decimal(summary["total_payout"])
    assert total_payout == want["total_payout"]
    assert total_payout.scaleb(mu) == sum(int(t) for t in res.total)
    assert {b: Decimal(v) for b, v in summary["bonuses"].items()} == want["bonus_totals"]
    assert Decimal(summary["total_paid"]) == ref.total_paid
    if "balance_carried" in summary:  # not in docs/semantics.md; read as the sum of balance_out
        assert Decimal(summary["balance_carried"]) == ref.balance_carried
    if "total_cv" in summary:
        assert Decimal(summary["total_cv"]) == want["total_cv"]
    if "payout_ratio" in summary:
        ratio = summary["payout_ratio"]
        if want["payout_ratio"] is None:
            assert ratio is None
        else:  # 6 decimals; the rounding mode of the ratio is not specified, so allow one unit either way
            assert abs(Decimal(str(ratio)) - want["payout_ratio"]) <= Decimal("0.000001")
    assert_cap_report(plan, ref, summary.get("payout_cap"))


def assert_cap_report(plan: Plan, ref: RefResult, report: dict[str, Any] | None) -> None:
    """The summary's ``payout_cap`` (docs 3.5): limit, before, after, cut, scale, binding_short."""
    cap = ref.payout_cap
    if cap is None:
        assert report is None, "payout_cap reported for a plan without one"
        return
    assert report is not None, "payout_cap missing from the summary"
    # a cap that does not bind may leave out cut and scale (docs 3.5 lists them without saying when)
    names = ("limit", "before", "after", "cut") if cap.binding else ("limit", "before", "after")
    for name in names:
        assert Decimal(report[name]) == getattr(cap, name), (name, report[name], getattr(cap, name))
        assert -Decimal(report[name]).as_tuple().exponent == plan.minor_units, (name, report[name])
    if not cap.binding and report.get("cut") is not None:
        assert Decimal(report["cut"]) == 0
    if cap.binding and cap.scale is not None:  # S'/S to 6 decimals (rounding of the report not specified)
        scale = Decimal(report["scale"])
        assert -scale.as_tuple().exponent == 6, report["scale"]
        exact = Decimal(cap.scale.numerator) / Decimal(cap.scale.denominator)
        assert abs(scale - exact) < Decimal("0.000001"), (report["scale"], cap.scale)
    if cap.binding_short > 0:
        assert Decimal(report["binding_short"]) == cap.binding_short
    elif "binding_short" in report and report["binding_short"] is not None:
        assert Decimal(report["binding_short"]) == 0


def assert_ledger_order(plan: Plan, ref: RefResult, res: Any) -> None:
    """docs 3.7: bonuses in run order; inside one, lines by source in tree order then level, then the
    ``member_cap`` lines by payee (canonical); ``company_cap`` lines last (their order among themselves is not
    specified). Lines of one source and level (several events of a member, loyalty rate and cash) may come in
    any order, so the comparison is on (bonus, kind, source, level)."""
    want, got = ref_view(plan, ref), engine_view(plan, res)

    def keys(ledger: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        head = [(b, k, s, lvl) for _p, s, b, k, lvl, *_ in ledger if k != "company_cap"]
        tail = [ln for ln in ledger if ln[3] == "company_cap"]
        assert all(ln[3] == "company_cap" for ln in ledger[len(head) :]), "company_cap lines are not last"
        return head, sorted(tail)

    assert keys(got["ledger"]) == keys(want["ledger"])


def reference_for(sc: Scenario) -> RefResult:
    return reference_close(
        sc.plan, sc.members, sc.orders, sc.period_start, sc.period_end, prior_state=sc.prior_state, events=sc.events
    )


def engine_for(sc: Scenario, **kwargs: Any) -> Any:
    return run_engine(sc.plan, sc.members, sc.orders, sc.period_text, sc.prior_state, events=sc.events, **kwargs)


# --------------------------------------------------------------------------------------------------------
# Worked examples through the engine


def _expected_units(plan: Plan, field: str, value: Any) -> Any:
    if field in ("pv", "gv", "qv"):
        return _units(Decimal(value), plan.plan.volume_decimals)
    if field in ("total", "balance_in", "paid", "balance_out"):
        return _units(Decimal(value), plan.minor_units)
    return value


def _engine_for_example(ex: Example) -> Any:
    return run_engine(ex.plan, ex.members, ex.orders, ex.period, ex.state_in, events=ex.events)


@pytest.mark.parametrize(
    "ex", [ex for ex in EXAMPLES if ex.plan.placement is None], ids=lambda ex: ex.name
)  # placement plans: tests/test_placement_properties.py::test_placement_worked_examples
def test_worked_example(ex: Example) -> None:
    plan = ex.plan
    res = _engine_for_example(ex)
    got = engine_view(plan, res)
    # first the hand-computed numbers, so a failure reads like the comment in test_reference.py
    for member, fields in ex.expect.items():
        row = got["members"][_key(member)]
        for name, want in fields.items():
            if name == "bonuses":
                for b, amount in want.items():
                    assert row["bonuses"][b] == _units(Decimal(amount), plan.minor_units), (member, b)
            else:
                assert row[name] == _expected_units(plan, name, want), (member, name, row[name])
    want_ledger = Counter(
        (_key(p), _key(s), b, lvl, _units(a, plan.minor_units), kind) for p, s, b, lvl, a, kind in ex.ledger_lines()
    )
    assert Counter((p, s, b, lvl, a, k) for p, s, b, k, lvl, _bs, _r, a in got["ledger"]) == want_ledger
    assert got["awards"] == [(_key(m), b, r, a) for m, b, r, a in ex.awards]
    summary = res.summary
    for name in ("total_payout", "total_paid", "balance_carried", "total_cv"):
        if name in ex.summary and name in summary:
            assert Decimal(summary[name]) == Decimal(ex.summary[name]), name
    if ex.summary.get("payout_cap"):
        for name, value in ex.summary["payout_cap"].items():
            if name in ("limit", "before", "after", "cut", "binding_short") and name in summary["payout_cap"]:
                assert Decimal(summary["payout_cap"][name]) == Decimal(value), name
    # then everything against the reference
    ref = reference_close(plan, ex.members, ex.orders, ex.start, ex.end, prior_state=ex.state_in, events=ex.events)
    assert_agree(plan, ref, res)
    assert_ledger_order(plan, ref, res)
    # summary amounts are decimal text with exactly minor_units decimals (docs/semantics.md 1)
    for text in [summary["total_payout"], summary["total_paid"], *summary["bonuses"].values()]:
        assert isinstance(text, str) and -Decimal(text).as_tuple().exponent == plan.minor_units, text


def test_worked_example_ledger_order() -> None:
    ex = EXAMPLES[0]  # unilevel on the six-member tree; tree order A, B, D, E, C, F
    got = engine_view(ex.plan, _engine_for_example(ex))
    assert [(p, s, lvl) for p, s, _b, _k, lvl, *_ in got["ledger"]] == [
        ("A", "B", 1),
        ("A", "D", 2),
        ("A", "C", 1),
        ("C", "F", 1),
        ("A", "F", 2),
    ]


def test_worked_example_matching_chain_ledger_in_run_order() -> None:
    ex = next(e for e in EXAMPLES if e.name == "matching_chain_run_order")  # file order m2, m1, uni
    got = engine_view(ex.plan, _engine_for_example(ex))
    assert [b for _p, _s, b, *_ in got["ledger"]] == ["uni"] * 3 + ["m1"] * 2 + ["m2"] * 2
    assert list(_engine_for_example(ex).bonuses) == ["m2", "m1", "uni"]  # member-table columns: plan order


def test_int_ids_give_an_int64_id_column() -> None:
    ex = next(e for e in EXAMPLES if e.name == "dynamic_compression_paid_levels_int_ids")
    res = _engine_for_example(ex)
    assert res.ids.dtype == np.int64 and list(res.ids) == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=200, **SETTINGS)
@given(scenarios(kinds=("unilevel", "fast_start", "personal_tier", "rank_advancement")), st.booleans())
def test_engine_equals_reference_first_types(sc: Scenario, volumes_as_text: bool) -> None:
    """The first four bonus types, with caps, balances and prior states."""
    res = engine_for(sc, volumes_as_text=volumes_as_text)
    assert_agree(sc.plan, reference_for(sc), res)


@pytest.mark.parametrize("kind", NEW_KINDS)
@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_engine_equals_reference_by_type(kind: str, data: st.DataObject) -> None:
    """Each new bonus type, alone or with others of its kind and the first types (a type the engine does not
    support yet skips only its own test)."""
    kinds = (kind, kind, "unilevel", "personal_tier", "rank_advancement")
    if kind == "matching":
        kinds = (kind, kind, "unilevel", "fast_start", "personal_tier", "rank_advancement")
    sc = data.draw(scenarios(max_members=15, kinds=kinds))
    assert_agree(sc.plan, reference_for(sc), engine_for(sc))


@settings(max_examples=60, **SETTINGS)
@given(action_tie_scenarios())
def test_engine_equals_reference_action_ties(sc: Scenario) -> None:
    """Which events ``max_per_period`` pays: the earliest by date, then by events-file order (canonical id for
    ``enrolment``)."""
    ref = reference_for(sc)
    res = engine_for(sc)
    assert_agree(sc.plan, ref, res)
    assert_ledger_order(sc.plan, ref, res)


@settings(max_examples=150, **SETTINGS)
@given(scenarios())
def test_engine_equals_reference(sc: Scenario) -> None:
    """Every bonus type, caps, balances, prior states and events together."""
    assert_agree(sc.plan, reference_for(sc), engine_for(sc))


@settings(max_examples=40, **SETTINGS)
@given(scenarios(big_volumes=True))
def test_engine_equals_reference_near_the_volume_bounds(sc: Scenario) -> None:
    """Bases up to 3 x 10^12 volume units times rates up to 10^6 ppm: products beyond int64."""
    assert_agree(sc.plan, reference_for(sc), engine_for(sc))


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


@settings(max_examples=50, **SETTINGS)
@given(scenarios(max_members=15))
def test_ledger_and_awards_in_documented_order(sc: Scenario) -> None:
    """Bonuses in run order, then source in tree order (pre-order, children by canonical id), then level; the
    member_cap lines after each bonus's lines; company_cap lines last."""
    res = engine_for(sc)
    ref = reference_for(sc)
    assert_ledger_order(sc.plan, ref, res)
    # awards by member, then bonus, then rank (several awards of one event or goal bonus: any order)
    assert [a[:3] for a in engine_view(sc.plan, res)["awards"]] == [a[:3] for a in ref_view(sc.plan, ref)["awards"]]


@settings(max_examples=50, **SETTINGS)
@given(scenarios(max_members=15), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(sc: Scenario, rnd: Any) -> None:
    """Member and order rows in any order give identical outputs (the events file order is meaningful)."""
    res = engine_for(sc)
    members, orders = list(sc.members), list(sc.orders)
    rnd.shuffle(members)
    rnd.shuffle(orders)
    again = run_engine(sc.plan, members, orders, sc.period_text, sc.prior_state, events=sc.events)
    assert list(res.ids) == list(again.ids)
    for name in ("pv", "gv", "qv", "active", "rank", "highest_rank", "total", "streak", "balance_in", "paid"):
        assert np.array_equal(getattr(res, name), getattr(again, name)), name
    assert np.array_equal(res.balance_out, again.balance_out)
    assert list(res.bonuses) == list(again.bonuses)
    for b in res.bonuses:
        assert np.array_equal(res.bonuses[b], again.bonuses[b]), b
    for col in ("payee", "source", "bonus", "kind", "level", "basis", "rate", "amount"):
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


def test_deep_chain_new_types() -> None:
    # A 1200-deep chain under a 800-member star with the walking bonuses of the new types (the reference walks
    # every source to the root: quadratic in the depth).
    oct1 = datetime.date(2026, 10, 1)
    plan = Plan.model_validate(
        {
            "plan": {"name": "Deep", "currency": "USD", "rounding": "half_up"},
            "activity": {"min_pv": "100"},
            "ranks": [{"name": "Member"}, {"name": "Leader", "min_gv": "20000"}],
            "bonuses": [
                {"id": "uni", "type": "unilevel", "rates": ["5%"], "cap_per_member": "100"},
                {"id": "gen", "type": "generation", "generation_rank": "Leader", "rates": ["1%", "0.5%"]},
                {"id": "diff", "type": "differential", "rates": {"Member": "1%", "Leader": "3%"}},
                {"id": "match", "type": "matching", "matches": ["uni", "gen"], "rates": ["10%", "5%"]},
                {"id": "pool", "type": "pool", "share": "1%", "shares_by_rank": {"Leader": 1}},
            ],
            "payout_cap": {"max_share": "5%", "scalable": ["gen", "diff", "match"]},
        }
    )
    members = [(0, None, oct1)] + [(i, 0, oct1) for i in range(1, 801)]
    members += [(801, 0, oct1)] + [(i, i - 1, oct1) for i in range(802, 2001)]
    orders = [(i, oct1, Decimal(100), Decimal("50.05")) for i in range(2001) if i % 7 != 3]
    res = run_engine(plan, members, orders, "2026-10", None)
    assert_agree(plan, reference_close(plan, members, orders, oct1, datetime.date(2026, 10, 31)), res)


@pytest.mark.parametrize("kind", BONUS_KINDS)
def test_every_type_compiles(kind: str) -> None:
    """A one-bonus plan of each type compiles (or is reported as not supported yet, and skipped)."""
    from compplan.compile import compile_plan

    bonus: dict[str, Any] = {
        "unilevel": {"type": "unilevel", "rates": ["5%"]},
        "fast_start": {"type": "fast_start", "days": 30, "rates": ["5%"]},
        "personal_tier": {"type": "personal_tier", "tiers": [{"min_volume": "0", "rate": "5%"}]},
        "rank_advancement": {"type": "rank_advancement", "awards": {"Pro": {"cash": "5"}}},
        "generation": {"type": "generation", "generation_rank": "Pro", "rates": ["5%"]},
        "differential": {"type": "differential", "rates": {"Pro": "5%"}},
        "matching": {"type": "matching", "matches": ["base"], "rates": ["5%"]},
        "loyalty": {"type": "loyalty", "tiers": [{"min_periods": 1, "rate": "1%"}]},
        "pool": {"type": "pool", "share": "1%", "shares_by_rank": {"Pro": 1}},
        "team_goal": {"type": "team_goal", "goals": [{"measure": "gv", "target": "1", "cash": "1"}]},
        "action": {"type": "action", "events": [{"event": "enrolment", "cash": "1"}]},
    }[kind]
    plan = Plan.model_validate(
        {
            "plan": {"name": "One", "currency": "USD"},
            "activity": {"min_pv": "0"},
            "ranks": [{"name": "Member"}, {"name": "Pro", "min_pv": "10"}],
            "bonuses": [
                {"id": "base", "type": "personal_tier", "tiers": [{"min_volume": "0", "rate": "1%"}]},
                {"id": "x", **bonus, "cap_per_member": "100"},
            ],
            "payout_cap": {"max_share": "50%", "scalable": ["x"]},
        }
    )
    try:
        compile_plan(plan)
    except PlanError as exc:
        if exc.codes == ["unsupported"]:
            pytest.skip(f"engine: {exc}")
        raise
