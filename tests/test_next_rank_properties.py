"""Earnings at the next rank (docs/semantics.md 3.10): the engine against the literal reference, on random closes.

The reference closes the period again for every member with only that member's rank (and activity) changed;
the engine computes every member at once. They must agree to the minor unit for every member.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import Members, close
from compplan.compile import compile_plan
from compplan.errors import InputError
from compplan.next_rank import blockers
from compplan.spec.models import Plan
from reference import reference_next_rank_earnings
from strategies import Scenario, forests, order_lines, periods, prior_states, scenarios
from test_explain_properties import SETTINGS, inputs

FEW = {**SETTINGS, "max_examples": 25}


def check(sc: Scenario, data: dict[str, Any] | None = None) -> None:
    """Engine == reference for every member; ``data`` (members, orders, state, events) defaults to ``inputs``."""
    data = data if data is not None else inputs(sc)
    program = compile_plan(sc.plan)

    def run() -> Any:
        return close(
            program,
            data["members"],
            data["orders"],
            sc.period_text,
            state=data["state"],
            events=data.get("events"),
            next_rank=True,
        )

    if blockers(program):  # a matching bonus that matches a pool: refused, never a wrong number
        with pytest.raises(InputError, match="matches pool"):
            run()
        return
    res = run()
    want = reference_next_rank_earnings(
        sc.plan,
        sc.members,
        sc.orders,
        sc.period_start,
        sc.period_end,
        prior_state=sc.prior_state,
        events=sc.events,
    )
    got = res.next_rank_total
    assert got is not None
    by_text = {str(k): v for k, v in want.items()}
    for row, member in enumerate(res.ids.tolist()):
        expected = by_text[str(member)]
        units = 0 if expected is None else int(Decimal(expected).scaleb(sc.plan.minor_units))
        assert int(got[row]) == units, (member, res.rank_names[row], int(got[row]), units)


@settings(**SETTINGS)
@given(sc=scenarios(max_members=12))
def test_next_rank_earnings_equal_the_reference_for_every_member(sc: Scenario) -> None:
    check(sc)


@settings(**FEW)
@given(sc=scenarios(max_members=14, kinds=("unilevel", "matching", "generation", "differential")))
def test_next_rank_earnings_of_the_upline_bonuses(sc: Scenario) -> None:
    check(sc)


@settings(**FEW)
@given(sc=scenarios(max_members=14, kinds=("pool", "rank_advancement", "team_goal", "action", "loyalty")))
def test_next_rank_earnings_of_the_pool_and_fixed_awards(sc: Scenario) -> None:
    check(sc)


@st.composite
def pool_tie_scenarios(draw: st.DrawFn) -> Scenario:
    """A small pool split among many qualifiers with few distinct share counts: the leftover minor units and
    the ties of the largest-remainder order decide who gets one more, and a member's new shares move both."""
    period_text, start, end = draw(periods())
    names = ["Member", "Bronze", "Silver", "Gold"][: draw(st.integers(2, 4))]
    ranks: list[dict[str, Any]] = [{"name": names[0]}]
    for i, name in enumerate(names[1:], start=1):
        rank: dict[str, Any] = {"name": name, "min_pv": str(50 * i)}
        if draw(st.booleans()):
            rank["active"] = False
        ranks.append(rank)
    pool: dict[str, Any] = {
        "id": "pool",
        "type": "pool",
        "share": draw(st.sampled_from(["0.0001", "0.00013", "0.001", "0.000007", "1%"])),
        "shares_by_rank": {n: draw(st.sampled_from([0, 1, 1, 2, 3, 5, 7])) for n in names},
    }
    if draw(st.booleans()):
        pool["require_active"] = False
    if draw(st.integers(0, 3)) == 0:
        pool["min_rank"] = draw(st.sampled_from(names))
    plan_dict: dict[str, Any] = {
        "plan": {"name": "Pool ties", "currency": draw(st.sampled_from(["USD", "JPY", "KWD"]))},
        "activity": {"min_pv": draw(st.sampled_from(["0", "20", "50"]))},
        "ranks": ranks,
        "bonuses": [pool],
    }
    plan = Plan.model_validate(plan_dict)
    members = draw(forests(start, end, min_size=2, max_size=25))
    orders = draw(order_lines(members, start, end))
    prior = draw(prior_states(members, plan)) if draw(st.booleans()) else None
    return Scenario(plan, plan_dict, members, orders, period_text, start, end, prior, None)


@settings(**SETTINGS)
@given(sc=pool_tie_scenarios())
def test_next_rank_pool_share_with_ties_and_leftovers(sc: Scenario) -> None:
    check(sc)


def test_a_step_class_must_define_at_rank_itself() -> None:
    """A subclass that changes ``run`` (as a matrix walk over the placement tree would) does not inherit the
    parent's ``at_rank``: the figure is refused, never silently computed for the wrong walk."""
    from dataclasses import dataclass, replace

    from compplan.compile import UnilevelStep

    @dataclass(frozen=True)
    class OtherWalk(UnilevelStep):
        pass

    plan = Plan.model_validate(
        {
            "plan": {"name": "p", "currency": "USD"},
            "activity": {"min_pv": 0},
            "ranks": [{"name": "Member"}, {"name": "Bronze", "min_pv": 10}],
            "bonuses": [{"id": "u", "type": "unilevel", "rates": ["10%"]}],
        }
    )
    program = compile_plan(plan)
    assert blockers(program) == []
    steps = tuple(OtherWalk(**vars(s)) if isinstance(s, UnilevelStep) else s for s in program.steps)
    odd = replace(program, steps=steps)
    assert blockers(odd) == ["bonus 'u' (OtherWalk) does not compute earnings at another rank (BonusStep.at_rank)"]
    with pytest.raises(InputError, match="OtherWalk"):
        close(odd, Members.from_columns(["a"], [None], ["2026-01-01"]), None, "2026-10", next_rank=True)
