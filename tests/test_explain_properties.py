"""Statements, next-rank progress and what-if answers against the independent reference, on random closes."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compplan import Members, Orders, close
from compplan.explain import rank_requirements, statement, what_if
from compplan.inputs import Events
from reference import reference_close
from strategies import Scenario, scenarios
from test_properties import engine_state

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "max_examples": 40,
}


def inputs(sc: Scenario) -> dict[str, Any]:
    m = Members.from_columns([r[0] for r in sc.members], [r[1] for r in sc.members], [r[2] for r in sc.members])
    o = Orders.from_columns(
        [r[0] for r in sc.orders], [r[1] for r in sc.orders], [r[2] for r in sc.orders], [r[3] for r in sc.orders]
    )
    kwargs: dict[str, Any] = {"state": engine_state(sc.plan, sc.prior_state)}
    if sc.events is not None:
        kwargs["events"] = Events.from_columns(
            [e[0] for e in sc.events], [e[1] for e in sc.events], [e[2] for e in sc.events]
        )
    return {"members": m, "orders": o, **kwargs}


def reference(sc: Scenario, orders: list[Any] | None = None) -> Any:
    return reference_close(
        sc.plan,
        sc.members,
        sc.orders if orders is None else orders,
        sc.period_start,
        sc.period_end,
        prior_state=sc.prior_state,
        events=sc.events,
    )


def cents(plan: Any, value: Decimal | str) -> int:
    return int(Decimal(str(value)).scaleb(plan.minor_units))


@settings(**SETTINGS)
@given(sc=scenarios(max_members=15), pick=st.randoms(use_true_random=False))
def test_statement_lines_equal_the_reference_ledger_of_that_member(sc: Scenario, pick: Any) -> None:
    ref = reference(sc)
    data = inputs(sc)
    for member in pick.sample([r[0] for r in sc.members], min(3, len(sc.members))):
        res = close(
            sc.plan,
            data["members"],
            data["orders"],
            sc.period_text,
            state=data["state"],
            events=data.get("events"),
            ledger_for=member,
        )
        s = statement(res, member)
        got = Counter(
            (str(line["source"]), b["bonus"], line["kind"], line["level"], cents(sc.plan, line["amount"]))
            for b in s["bonuses"]
            for line in b["lines"]
        )
        want = Counter(
            (str(x.source), x.bonus_id, x.kind, x.level, cents(sc.plan, x.amount))
            for x in ref.ledger
            if x.payee == member
        )
        assert got == want
        assert cents(sc.plan, s["total"]) == cents(sc.plan, ref.members[member].total)
        assert s["rank"]["paid_as"] == ref.members[member].rank


@settings(**SETTINGS)
@given(sc=scenarios(max_members=15))
def test_next_rank_requirements_agree_with_reference_volumes(sc: Scenario) -> None:
    ref = reference(sc)
    data = inputs(sc)
    res = close(
        sc.plan, data["members"], data["orders"], sc.period_text, state=data["state"], events=data.get("events")
    )
    names = sc.plan.rank_names
    vdec = sc.plan.plan.volume_decimals
    by_text = {str(k): v for k, v in ref.members.items()}  # all-integer text ids come back as integers
    for row, member in enumerate(res.ids.tolist()):
        r = by_text[str(member)]
        now = names.index(r.rank)
        assert all(q.met for q in rank_requirements(res, row, now))
        for k in range(now + 1, len(names)):  # no higher rank may have every requirement met
            reqs = rank_requirements(res, row, k)
            assert not all(q.met for q in reqs)
            for q in reqs:
                if q.requirement == "PV":
                    assert Decimal(q.have) == r.pv.quantize(Decimal(1).scaleb(-vdec))
                if q.requirement == "GV":
                    assert Decimal(q.have) == r.gv.quantize(Decimal(1).scaleb(-vdec))


@settings(**SETTINGS)
@given(sc=scenarios(max_members=12, with_prior=False), data=st.data())
def test_what_if_equals_the_reference_on_the_changed_orders(sc: Scenario, data: st.DataObject) -> None:
    member = data.draw(st.sampled_from([r[0] for r in sc.members]))
    on = data.draw(st.sampled_from([r[0] for r in sc.members]))
    add = data.draw(st.decimals(min_value=0, max_value=500, places=2))
    ins = inputs(sc)
    answer = what_if(
        sc.plan, ins["members"], ins["orders"], sc.period_text, member, add_pv=add, on=on, events=ins.get("events")
    )
    changed = [*sc.orders, (on, sc.period_end, add, add)] if add else sc.orders
    ref = reference(sc, changed)
    assert cents(sc.plan, answer["total"]["after"]) == cents(sc.plan, ref.members[member].total)
    assert answer["rank"]["after"] == ref.members[member].rank
