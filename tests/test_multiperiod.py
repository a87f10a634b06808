"""Consecutive closes: each close's state (highest rank, streak, balance) feeds the next (docs/semantics.md 3.8).

The engine chains ``res.state()``; the reference chains its own ``RefResult.state()``; both must agree in every
period, on every member, ledger line, award, summary number and on the state itself.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from compplan import InputError, Members, Orders, State, close
from compplan.spec.models import Plan
from reference import RefResult, reference_close
from strategies import MultiScenario, multi_scenarios
from test_properties import SETTINGS, assert_agree, assert_ledger_order, close_or_skip, engine_state, run_engine

D = Decimal
LONG_AGO = datetime.date(2025, 1, 1)


def chain(sc: MultiScenario) -> list[tuple[RefResult, Any]]:
    """Close every period of ``sc`` with the reference and the engine, each fed its own previous state."""
    ref_state: Any = sc.prior_state
    eng_state: Any = engine_state(sc.plan, sc.prior_state)
    out = []
    for p in sc.periods:
        ref = reference_close(
            sc.plan, p.members, p.orders, p.period_start, p.period_end, prior_state=ref_state, events=p.events
        )
        res = run_engine(sc.plan, p.members, p.orders, p.period_text, eng_state, events=p.events)
        out.append((ref, res))
        ref_state = ref.state()
        eng_state = res.state()
        assert eng_state.end == p.period_end
        assert eng_state.plan_name == sc.plan.plan.name and eng_state.currency == sc.plan.plan.currency
    return out


@settings(max_examples=100, **SETTINGS)
@given(multi_scenarios())
def test_consecutive_periods_engine_equals_reference(sc: MultiScenario) -> None:
    for n, (ref, res) in enumerate(chain(sc), start=1):
        try:
            assert_agree(sc.plan, ref, res)
            assert_ledger_order(sc.plan, ref, res)
        except AssertionError as exc:
            raise AssertionError(f"period {n} ({sc.periods[n - 1].period_text}): {exc}") from exc


# --------------------------------------------------------------------------------------------------------
# Worked by hand: a debt carried and offset, a small amount held over, a one-time award, a streak.

_PLAN = Plan.model_validate(
    {
        "plan": {"name": "Three months", "currency": "USD", "rounding": "half_up"},
        "activity": {"min_pv": "50"},
        "ranks": [{"name": "Member"}, {"name": "Pro", "min_pv": "100"}],
        "bonuses": [
            {"id": "uni", "type": "unilevel", "rates": ["10%"]},
            {"id": "adv", "type": "rank_advancement", "awards": {"Pro": {"cash": "25"}}},
            {
                "id": "loyal",
                "type": "loyalty",
                "tiers": [{"min_periods": 2, "cash": "1"}, {"min_periods": 3, "cash": "3"}],
            },
        ],
        "payout": {"minimum": "10"},
    }
)


def _o(member: str, amount: str, date: datetime.date) -> tuple[str, datetime.date, D, D]:
    return (member, date, D(amount), D(amount))


# A (root) sponsors B; C joins under B on 2026-11-15. pv = cv.
#
# 2026-10: A 100 (Pro, active); B 100 then a return of -400 -> -300 (inactive).
#   uni: B -300 -> A 10% = -30.00. adv: A reaches Pro: 25.00. loyal: A streak 1: nothing.
#   A total -5.00 -> payable -5.00 < 0: paid 0, balance out -5.00 (a debt).   State A (Pro, 1, -5.00), B (Member, 0, 0)
# 2026-11: A 60 (Member, active; highest stays Pro); B 120 (Pro, active); C joins, no orders.
#   uni: B 120 -> A 12.00. adv: A already Pro (nothing); B reaches Pro: 25.00. loyal: A streak 2: 1.00.
#   A total 13.00 -> payable -5.00 + 13.00 = 8.00 < 10: held, balance out 8.00. B paid 25.00.
#                                                     State A (Pro, 2, 8.00), B (Pro, 1, 0), C (Member, 0, 0)
# 2026-12: A 50 (active); B 20 (inactive); C 10 (inactive).
#   uni: B 20 -> A 2.00; C 10 -> B inactive, not qualified: nothing. adv: nothing. loyal: A streak 3: 3.00.
#   A total 5.00 -> payable 8.00 + 5.00 = 13.00 >= 10: paid 13.00, balance out 0.
#                                                     State A (Pro, 3, 0), B (Pro, 0, 0), C (Member, 0, 0)
_PERIODS = [
    ("2026-10", [("A", None, LONG_AGO), ("B", "A", LONG_AGO)], [
        _o("A", "100", datetime.date(2026, 10, 1)),
        _o("B", "100", datetime.date(2026, 10, 1)),
        _o("B", "-400", datetime.date(2026, 10, 20)),
    ]),
    ("2026-11", [("A", None, LONG_AGO), ("B", "A", LONG_AGO), ("C", "B", datetime.date(2026, 11, 15))], [
        _o("A", "60", datetime.date(2026, 11, 3)),
        _o("B", "120", datetime.date(2026, 11, 30)),
    ]),
    ("2026-12", [("A", None, LONG_AGO), ("B", "A", LONG_AGO), ("C", "B", datetime.date(2026, 11, 15))], [
        _o("A", "50", datetime.date(2026, 12, 1)),
        _o("B", "20", datetime.date(2026, 12, 2)),
        _o("C", "10", datetime.date(2026, 12, 31)),
    ]),
]  # fmt: skip
_EXPECTED = [
    # member: (total, balance_in, paid, balance_out, streak, highest_rank)
    {"A": ("-5.00", "0", "0", "-5.00", 1, "Pro"), "B": ("0", "0", "0", "0", 0, "Member")},
    {
        "A": ("13.00", "-5.00", "0", "8.00", 2, "Pro"),
        "B": ("25.00", "0", "25.00", "0", 1, "Pro"),
        "C": ("0", "0", "0", "0", 0, "Member"),
    },
    {
        "A": ("5.00", "8.00", "13.00", "0", 3, "Pro"),
        "B": ("0", "0", "0", "0", 0, "Pro"),
        "C": ("0", "0", "0", "0", 0, "Member"),
    },
]
_BOUNDS = {
    "2026-10": (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)),
    "2026-11": (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
    "2026-12": (datetime.date(2026, 12, 1), datetime.date(2026, 12, 31)),
}


def test_worked_three_periods_reference() -> None:
    state = None
    for (period, members, orders), expected in zip(_PERIODS, _EXPECTED, strict=True):
        ref = reference_close(_PLAN, members, orders, *_BOUNDS[period], prior_state=state)
        for m, (total, b_in, paid, b_out, streak, highest) in expected.items():
            r = ref[m]
            assert (r.total, r.balance_in, r.paid, r.balance_out) == (D(total), D(b_in), D(paid), D(b_out)), (period, m)
            assert (r.streak, r.highest_rank) == (streak, highest), (period, m)
        state = ref.state()
    assert state == {"A": ("Pro", 3, D(0)), "B": ("Pro", 0, D(0)), "C": ("Member", 0, D(0))}


def test_worked_three_periods_engine() -> None:
    state: State | None = None
    ref_state = None
    for (period, members, orders), expected in zip(_PERIODS, _EXPECTED, strict=True):
        res = run_engine(_PLAN, members, orders, period, state)
        ids = [str(i) for i in res.ids]
        for m, (total, b_in, paid, b_out, streak, highest) in expected.items():
            k = ids.index(m)
            got = (int(res.total[k]), int(res.balance_in[k]), int(res.paid[k]), int(res.balance_out[k]))
            assert got == tuple(int(D(x) * 100) for x in (total, b_in, paid, b_out)), (period, m)
            assert int(res.streak[k]) == streak and _PLAN.rank_names[int(res.highest_rank[k])] == highest
        ref = reference_close(_PLAN, members, orders, *_BOUNDS[period], prior_state=ref_state)
        assert_agree(_PLAN, ref, res)
        state, ref_state = res.state(), ref.state()
    assert state is not None and state.end == datetime.date(2026, 12, 31)
    assert list(state.balance) == [0, 0, 0] and list(state.streak) == [3, 0, 0]


def test_summary_of_the_second_period() -> None:
    # 2026-11: total payout 13 + 25 = 38.00; paid 25.00; carried 8.00 (A's held-over amount).
    state = None
    for period, members, orders in _PERIODS[:2]:
        res = run_engine(_PLAN, members, orders, period, state)
        state = res.state()
    assert res.summary["total_payout"] == "38.00"
    assert res.summary["total_paid"] == "25.00"
    if "balance_carried" in res.summary:
        assert res.summary["balance_carried"] == "8.00"


# --------------------------------------------------------------------------------------------------------
# docs/semantics.md 3.8: a state from another plan or from a non-adjacent period is an input error.


def _close_period(period: str, state: State | None) -> Any:
    _p, members, orders = next(p for p in _PERIODS if p[0] == period)
    m = Members.from_columns(
        ids=[r[0] for r in members], sponsor_ids=[r[1] for r in members], enrolled_on=[r[2] for r in members]
    )
    o = Orders.from_columns(
        member_ids=[r[0] for r in orders],
        dates=[r[1] for r in orders],
        pv=[r[2] for r in orders],
        cv=[r[3] for r in orders],
    )
    return close_or_skip(_PLAN, m, o, period, state=state)


def test_a_skipped_period_is_an_error() -> None:
    october = _close_period("2026-10", None)
    with pytest.raises(InputError):
        _close_period("2026-12", october.state())


def test_a_repeated_period_is_an_error() -> None:
    october = _close_period("2026-10", None)
    with pytest.raises(InputError):
        _close_period("2026-10", october.state())


def test_a_state_of_another_plan_is_an_error() -> None:
    other = _PLAN.model_copy(update={"plan": _PLAN.plan.model_copy(update={"name": "Another plan"})})
    _p, members, orders = _PERIODS[0]
    m = Members.from_columns(
        ids=[r[0] for r in members], sponsor_ids=[r[1] for r in members], enrolled_on=[r[2] for r in members]
    )
    o = Orders.from_columns(
        member_ids=[r[0] for r in orders],
        dates=[r[1] for r in orders],
        pv=[r[2] for r in orders],
        cv=[r[3] for r in orders],
    )
    october = close(other, m, o, "2026-10")
    with pytest.raises(InputError):
        _close_period("2026-11", october.state())


def test_state_errors() -> None:
    # docs 3.8: members in the state but not in the members input, and unknown rank names, are errors.
    with pytest.raises(InputError):
        _close_period("2026-10", State.from_mapping({"A": "Pro", "Z": "Member"}))
    with pytest.raises(InputError):
        _close_period("2026-10", State.from_mapping({"A": "Platinum"}))
    # a state without plan/period metadata is not checked for adjacency
    res = _close_period("2026-12", State.from_mapping({"A": "Pro"}, streak={"A": 7}, balance={"A": -250}))
    assert list(res.balance_in) == [-250, 0, 0] and list(res.streak) == [8, 0, 0]


def test_event_errors() -> None:
    # docs 2 (Events): each row names an existing member and is dated inside the period; docs 3.4 (action): a
    # kind the plan does not list is an error.
    plan = Plan.model_validate(
        {
            "plan": {"name": "Events", "currency": "USD"},
            "activity": {"min_pv": "0"},
            "ranks": [{"name": "Member"}],
            "bonuses": [{"id": "act", "type": "action", "events": [{"event": "training", "cash": "1"}]}],
        }
    )
    members = [("A", None, LONG_AGO)]
    oct5 = datetime.date(2026, 10, 5)
    ok = run_engine(plan, members, [], "2026-10", None, events=[("A", "training", oct5)])
    assert list(ok.bonuses["act"]) == [100]
    for bad in [("Z", "training", oct5), ("A", "training", datetime.date(2026, 11, 1)), ("A", "webinar", oct5)]:
        with pytest.raises(InputError):
            run_engine(plan, members, [], "2026-10", None, events=[bad])
