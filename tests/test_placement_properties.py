"""Placement trees, ``binary`` and ``matrix`` bonuses and ``compplan place`` (docs/semantics.md 2 "Placement", 3.4
``binary`` / ``matrix``, 3.7, 3.8).

First the reference itself on examples worked by hand (numbers in the comments), then the engine against the
reference on random placement trees, plans and several periods carrying the binary state.
"""

from __future__ import annotations

import csv
import datetime
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, Period, State, close
from compplan.inputs import Events
from compplan.placement import place
from compplan.spec.loader import load_plan
from compplan.spec.models import Plan
from reference import RefResult, StateRow, placement_problems, reference_close, reference_place
from strategies import (
    MemberRow,
    MultiScenario,
    PlaceInput,
    Scenario,
    forests,
    place_inputs,
    placed_forests,
    placement_multi_scenarios,
    placement_scenarios,
    plan_dicts,
)
from test_properties import SETTINGS, _key, _units, assert_agree, assert_ledger_order
from test_reference import EXAMPLES as WORKED
from test_reference import Example

D = Decimal
LONG_AGO = datetime.date(2025, 1, 1)
OCT = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
NOV = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))


def _plan(bonuses: list[dict[str, Any]], placement: dict[str, Any], min_pv: str = "50") -> Plan:
    return Plan.model_validate(
        {
            "plan": {"name": "Placement", "currency": "USD", "rounding": "half_up"},
            "activity": {"min_pv": min_pv},
            "ranks": [{"name": "Member"}],
            "placement": placement,
            "bonuses": bonuses,
        }
    )


def _orders(amounts: dict[str, str], date: datetime.date) -> list[tuple[str, datetime.date, D, D]]:
    return [(m, date, D(a), D(a)) for m, a in amounts.items()]


# --------------------------------------------------------------------------------------------------------
# Binary, worked by hand: seven members, two periods with carry.
#
# Sponsor tree: A root; A sponsors B, C, G; B sponsors D, E; C sponsors F.
# Placement:        A
#                 /   \
#               B       C
#              / \     /
#             D   E   F
#            /
#           G          (G, sponsored by A, sits deep in A's left leg)
#
# Plan: activity min_pv 50; binary 10% of the weaker leg, min_sponsored_per_side 1, max_carry 300,
# flush_after_inactive 2. State in: E carries (40, 70) and has been idle 1 period.
#
# 2026-10, pv = cv: A 100, B 100, C 50, D 200, E -, F 300, G 150. Active: all but E (idle 1 + 1 = 2).
#   psub volume: G 150, D 350, E 0, B 450, F 300, C 350, A 900.
#   A: L = 450, R = 350; sponsored actives: left B, G; right C -> qualified. w = 350 -> 35.00; carry (100, 0).
#   B: L = 350 (D), R = 0 (E); right: E inactive -> not qualified; carry (350, 0) -> max_carry (300, 0).
#   C: L = 300 (F), R = 0; nobody sponsored on the right -> not qualified; carry (300, 0).
#   D: L = 150 (G), R = 0; sponsors nobody -> not qualified; carry (150, 0).
#   E: carry in (40, 70), no legs: L = 40, R = 70; inactive; idle 2 >= 2 -> flushed (0, 0).
#   F, G: (0, 0).
# 2026-11: A 60, B -, C 400, D 100, E 80, F -150 (a return), G 50. Active: A, C, D, E, G; idle B 1, F 1.
#   psub volume: G 50, D 150, E 80, B 230, F -150, C 250, A 540.
#   A: L = 100 + 230 = 330, R = 0 + 250 = 250; left G active, right C active -> w = 250 -> 25.00; carry (80, 0).
#   B: L = 300 + 150 = 450, R = 0 + 80 = 80; inactive -> carry (450, 80) -> max_carry (300, 80).
#   C: L = max(0, 300 - 150) = 150, R = 0; F inactive -> not qualified; carry (150, 0).
#   D: L = 150 + 50 = 200, R = 0 -> carry (200, 0).
#   E, F, G: (0, 0).
BINARY_PLAN = _plan(
    [
        {
            "id": "bin",
            "type": "binary",
            "rate": "10%",
            "min_sponsored_per_side": 1,
            "max_carry": "300",
            "flush_after_inactive": 2,
        }
    ],
    {"tree": "binary"},
)
SEVEN = [
    ("A", None, LONG_AGO, None, None),
    ("B", "A", LONG_AGO, "A", "L"),
    ("C", "A", LONG_AGO, "A", "R"),
    ("D", "B", LONG_AGO, "B", "L"),
    ("E", "B", LONG_AGO, "B", "R"),
    ("F", "C", LONG_AGO, "C", "L"),
    ("G", "A", LONG_AGO, "D", "L"),
]
SEVEN_OCT = _orders({"A": "100", "B": "100", "C": "50", "D": "200", "F": "300", "G": "150"}, OCT[0])
SEVEN_NOV = _orders({"A": "60", "C": "400", "D": "100", "E": "80", "F": "-150", "G": "50"}, NOV[0])
SEVEN_STATE = {"E": ("Member", 0, D(0), D(40), D(70), 1)}
# member: (leg_left, leg_right, carry_left, carry_right, idle, bin)
SEVEN_EXPECTED = [
    {
        "A": ("450", "350", "100", "0", 0, "35.00"),
        "B": ("350", "0", "300", "0", 0, "0"),
        "C": ("300", "0", "300", "0", 0, "0"),
        "D": ("150", "0", "150", "0", 0, "0"),
        "E": ("0", "0", "0", "0", 2, "0"),
        "F": ("0", "0", "0", "0", 0, "0"),
        "G": ("0", "0", "0", "0", 0, "0"),
    },
    {
        "A": ("230", "250", "80", "0", 0, "25.00"),
        "B": ("150", "80", "300", "80", 1, "0"),
        "C": ("-150", "0", "150", "0", 0, "0"),
        "D": ("50", "0", "200", "0", 0, "0"),
        "E": ("0", "0", "0", "0", 0, "0"),
        "F": ("0", "0", "0", "0", 1, "0"),
        "G": ("0", "0", "0", "0", 0, "0"),
    },
]


def test_binary_seven_members_two_periods_reference() -> None:
    state: Any = SEVEN_STATE
    for orders, bounds, expected in zip((SEVEN_OCT, SEVEN_NOV), (OCT, NOV), SEVEN_EXPECTED, strict=True):
        ref = reference_close(BINARY_PLAN, SEVEN, orders, *bounds, prior_state=state)
        for m, (leg_l, leg_r, carry_l, carry_r, idle, amount) in expected.items():
            r = ref[m]
            assert (r.leg_left, r.leg_right, r.carry_left, r.carry_right) == tuple(
                map(D, (leg_l, leg_r, carry_l, carry_r))
            ), (bounds[0], m)
            assert r.idle == idle and r.bonuses["bin"] == D(amount), (bounds[0], m)
        paying = list(ref.ledger)
        assert len(paying) == 1 and paying[0].payee == "A" and paying[0].level == 0
        assert paying[0].basis == D(350 if bounds is OCT else 250) and paying[0].rate == D("0.1")
        state = ref.state()
        assert state["A"][3:] == (D(expected["A"][2]), D(expected["A"][3]), 0)
    assert state["B"] == ("Member", 0, D(0), D(300), D(80), 1)


# Pairs on the same tree and October volumes, no state: pair_volume 100, pair_cash 10.
#   A: L = 450, R = 350.
#   without first_pair_volume: p = min(4, 3) = 3, each side consumes 300; carry (150, 50).
#   with first_pair_volume 200: stronger L (450 >= 200), weaker R >= 100: p = 1 + min(250 // 100, 250 // 100) = 3;
#     L consumes 200 + 2 * 100 = 400, R 300; carry (50, 50).
#   max_pairs 2: q = 2 -> 20.00 (the third pair is consumed, not paid); without it 30.00. Basis p * V = 300.
#   B: L 350, R 0 -> p = 0 (B is qualified: min_sponsored_per_side 0), carry (350, 0). E inactive: (0, 0).
def test_binary_pairs_reference() -> None:
    for first, max_pairs, carry_a, paid in [
        (None, None, ("150", "50"), "30.00"),
        (None, 2, ("150", "50"), "20.00"),
        ("200", None, ("50", "50"), "30.00"),
        ("200", 2, ("50", "50"), "20.00"),
    ]:
        bonus: dict[str, Any] = {"id": "bin", "type": "binary", "pair_volume": "100", "pair_cash": "10"}
        if first is not None:
            bonus["first_pair_volume"] = first
        if max_pairs is not None:
            bonus["max_pairs"] = max_pairs
        ref = reference_close(_plan([bonus], {"tree": "binary"}), SEVEN, SEVEN_OCT, *OCT)
        assert (ref["A"].carry_left, ref["A"].carry_right) == (D(carry_a[0]), D(carry_a[1])), (first, max_pairs)
        assert (ref["B"].carry_left, ref["B"].carry_right) == (D(350), D(0))
        assert (ref["E"].carry_left, ref["E"].carry_right) == (D(0), D(0))
        q = 2 if max_pairs else 3
        assert [(ln.payee, ln.level, ln.basis, ln.rate, ln.amount) for ln in ref.ledger] == [
            ("A", q, D(300), D(0), D(paid))
        ]


# The first pair with a right leg stronger, and a tie (L is the stronger side on a tie):
#   X: L = 150, R = 250, F = 200, V = 100: stronger R: p = 1 + min(50 // 100, 50 // 100) = 1; R consumes 200,
#      L 100 -> carry (50, 50).
#   tie L = R = 200: stronger L: p = 1 + min(0, 1) = 1; L consumes 200, R 100 -> carry (0, 100).
def test_binary_first_pair_sides_reference() -> None:
    plan = _plan(
        [{"id": "bin", "type": "binary", "pair_volume": "100", "pair_cash": "7", "first_pair_volume": "200"}],
        {"tree": "binary"},
        min_pv="0",
    )
    members = [("X", None, LONG_AGO, None, None), ("l", "X", LONG_AGO, "X", "L"), ("r", "X", LONG_AGO, "X", "R")]
    for left, right, carry in [("150", "250", ("50", "50")), ("200", "200", ("0", "100"))]:
        ref = reference_close(plan, members, _orders({"l": left, "r": right}, OCT[0]), *OCT)
        assert (ref["X"].carry_left, ref["X"].carry_right) == (D(carry[0]), D(carry[1]))
        assert ref["X"].bonuses["bin"] == D(7)


# --------------------------------------------------------------------------------------------------------
# Matrix, worked by hand: width 3, two levels (10%, 5%).
#
# Placement:         A
#                 /  |  \
#               B    C    D        (positions 1, 2, 3)
#              / \     \
#             E   F     G          (E at B.1, F at B.2, G at C.3)
# Everyone is sponsored by A (spillover). min_pv 50; orders pv = cv: A 100, B 100, C 100, D -, E 200, F 50,
# G 40. Active: A, B, C, E, F.
#   Sources in placement order A, B, E, F, C, G, D:
#   B 100: A level 1 10% = 10.00.
#   E 200: B level 1 = 20.00; A level 2 5% = 10.00.   F 50: B 5.00; A 2.50.
#   C 100: A 10.00.   G 40: C 4.00; A 2.00.   D: no volume.
#   A 34.50, B 25.00, C 4.00.
# Dynamic compression with C at 10 (inactive): C 10: A level 1 = 1.00; G 40: C skipped, A level 1 = 4.00.
#   A 10 + 10 + 2.50 + 1 + 4 + ... : B 10.00, E 10.00, F 2.50, C 1.00, G 4.00 = 27.50; B 25.00; C 0.
MATRIX_MEMBERS = [
    ("A", None, LONG_AGO, None, None),
    ("B", "A", LONG_AGO, "A", 1),
    ("C", "A", LONG_AGO, "A", 2),
    ("D", "A", LONG_AGO, "A", 3),
    ("E", "A", LONG_AGO, "B", 1),
    ("F", "A", LONG_AGO, "B", 2),
    ("G", "A", LONG_AGO, "C", 3),
]


def test_matrix_three_by_two_reference() -> None:
    plan = _plan([{"id": "mx", "type": "matrix", "rates": ["10%", "5%"]}], {"tree": "matrix", "width": 3})
    orders = _orders({"A": "100", "B": "100", "C": "100", "E": "200", "F": "50", "G": "40"}, OCT[0])
    ref = reference_close(plan, MATRIX_MEMBERS, orders, *OCT)
    assert ref.placement_order == ["A", "B", "E", "F", "C", "G", "D"]
    assert [(ln.payee, ln.source, ln.level, ln.amount) for ln in ref.ledger] == [
        ("A", "B", 1, D("10.00")),
        ("B", "E", 1, D("20.00")),
        ("A", "E", 2, D("10.00")),
        ("B", "F", 1, D("5.00")),
        ("A", "F", 2, D("2.50")),
        ("A", "C", 1, D("10.00")),
        ("C", "G", 1, D("4.00")),
        ("A", "G", 2, D("2.00")),
    ]
    assert {m: ref[m].bonuses["mx"] for m in "ABC"} == {"A": D("34.50"), "B": D("25.00"), "C": D("4.00")}
    dynamic = _plan(
        [{"id": "mx", "type": "matrix", "rates": ["10%", "5%"], "compression": "dynamic"}],
        {"tree": "matrix", "width": 3},
    )
    orders = _orders({"A": "100", "B": "100", "C": "10", "E": "200", "F": "50", "G": "40"}, OCT[0])
    ref = reference_close(dynamic, MATRIX_MEMBERS, orders, *OCT)
    assert {m: ref[m].bonuses["mx"] for m in "ABC"} == {"A": D("27.50"), "B": D("25.00"), "C": D(0)}
    assert ("A", "G", 1) in [(ln.payee, ln.source, ln.level) for ln in ref.ledger]


# --------------------------------------------------------------------------------------------------------
# compplan place, worked by hand. A root; A sponsors B, C, D, E (enrolled in that order); B sponsors F.
#   weaker_leg: B -> A.L (tie 0:0 -> L); C -> A.R (1:0); D: tie 1:1 -> L, A.L is B -> B.L; E: 2:1 -> R, A.R is
#     C -> C.R; F (sponsor B): B.L has 1, B.R 0 -> B.R.
#   left: B -> A.L; C -> B.L; D -> C.L; E -> D.L; F (sponsor B): B.L = C, C.L = D, D.L = E -> E.L.
#   right: the mirror image.
#   matrix width 2 with F enrolled first (its unplaced sponsor B goes first): B -> A.1, F -> B.1, C -> A.2,
#     D: A full; breadth first A, B (F only) -> B.2; E: A full, B full -> C.1.
def _day(n: int) -> datetime.date:
    return datetime.date(2026, 9, n)


PLACE_MEMBERS = [
    ("A", None, _day(1)),
    ("B", "A", _day(2)),
    ("C", "A", _day(3)),
    ("D", "A", _day(4)),
    ("E", "A", _day(5)),
    ("F", "B", _day(6)),
]


def test_place_reference() -> None:
    weaker = reference_place(_plan([], {"tree": "binary"}), PLACE_MEMBERS)
    assert [(r[0], r[3], r[4]) for r in weaker] == [
        ("A", None, None),
        ("B", "A", "L"),
        ("C", "A", "R"),
        ("D", "B", "L"),
        ("E", "C", "R"),
        ("F", "B", "R"),
    ]
    left = reference_place(_plan([], {"tree": "binary", "auto": "left"}), PLACE_MEMBERS)
    assert [(r[0], r[3], r[4]) for r in left][1:] == [
        ("B", "A", "L"),
        ("C", "B", "L"),
        ("D", "C", "L"),
        ("E", "D", "L"),
        ("F", "E", "L"),
    ]
    right = reference_place(_plan([], {"tree": "binary", "auto": "right"}), PLACE_MEMBERS)
    assert [(r[3], r[4]) for r in right][1:] == [("A", "R"), ("B", "R"), ("C", "R"), ("D", "R"), ("E", "R")]
    first_f = [*PLACE_MEMBERS[:5], ("F", "B", _day(1))]
    matrix = reference_place(_plan([], {"tree": "matrix", "width": 2}), first_f)
    assert [(r[0], r[3], r[4]) for r in matrix][1:] == [
        ("B", "A", 1),
        ("C", "A", 2),
        ("D", "B", 2),
        ("E", "C", 1),
        ("F", "B", 1),
    ]
    # given placements stay and count: F sits at B.R from the start, so B's leg has 2 members once B is placed.
    # B -> A.L; C: 2:0 -> A.R; D: 2:1 -> R: A.R is C -> C.R; E asks for L (its own side): A.L is B -> B.L.
    own = [*PLACE_MEMBERS[:4], ("E", "A", _day(5), None, "L"), ("F", "B", _day(6), "B", "R")]
    placed = {r[0]: (r[3], r[4]) for r in reference_place(_plan([], {"tree": "binary"}), own)}
    assert placed == {
        "A": (None, None),
        "B": ("A", "L"),
        "C": ("A", "R"),
        "D": ("C", "R"),
        "E": ("B", "L"),
        "F": ("B", "R"),
    }
    for plan, rows in [
        (_plan([], {"tree": "binary"}), weaker),
        (_plan([], {"tree": "binary"}), left),
        (_plan([], {"tree": "matrix", "width": 2}), matrix),
    ]:
        assert placement_problems(plan, rows) == []


def test_placement_problems_reference() -> None:
    plan = _plan([{"id": "bin", "type": "binary", "rate": "10%"}], {"tree": "binary"})
    ok = [("A", None, LONG_AGO, None, None), ("B", "A", LONG_AGO, "A", "L"), ("C", "A", LONG_AGO, "A", "R")]
    assert placement_problems(plan, ok) == []
    cases = {
        "bad_slot": [*ok[:2], ("C", "A", LONG_AGO, "A", "X")],
        "unplaced": [*ok[:2], ("C", "A", LONG_AGO, None, None)],
        "unknown_parent": [*ok[:2], ("C", "A", LONG_AGO, "Z", "R")],
        "slot_taken": [*ok[:2], ("C", "A", LONG_AGO, "A", "L")],
        "cycle": [("A", None, LONG_AGO, "B", "L"), ("B", "A", LONG_AGO, "A", "L")],
        "outside_sponsor": [*ok, ("D", "C", LONG_AGO, "B", "L")],
    }
    for code, rows in cases.items():
        assert code in {c for _m, c in placement_problems(plan, rows)}, code
    free = _plan([{"id": "bin", "type": "binary", "rate": "10%"}], {"tree": "binary", "within_sponsor": False})
    assert placement_problems(free, cases["outside_sponsor"]) == []
    # a side without a placement_id is an error at the close (compplan place reads it as the wanted side)
    assert placement_problems(plan, [*ok[:2], ("C", "A", LONG_AGO, None, "R")]) == [("C", "bad_slot")]
    matrix = _plan([{"id": "mx", "type": "matrix", "rates": ["5%"]}], {"tree": "matrix", "width": 2})
    assert placement_problems(matrix, [ok[0], ("B", "A", LONG_AGO, "A", 3)]) == [("B", "bad_slot")]
    assert placement_problems(matrix, [ok[0], ("B", "A", LONG_AGO, "A", 2)]) == []


# --------------------------------------------------------------------------------------------------------
# The shipped plans' worked examples (plans/examples/, docs/examples.md), recomputed by the reference

EXAMPLES = Path(__file__).resolve().parent.parent / "plans" / "examples"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _member_rows(path: Path) -> list[MemberRow]:
    rows: list[MemberRow] = []
    for r in _csv(path):
        slot: Any = r.get("placement_side") or (int(r["placement_position"]) if r.get("placement_position") else None)
        enrolled = datetime.date.fromisoformat(r["enrolled_on"])
        rows.append((r["id"], r["sponsor_id"] or None, enrolled, r.get("placement_id") or None, slot))
    return rows


def _order_rows(path: Path) -> list[tuple[str, datetime.date, D, D]]:
    return [(r["member_id"], datetime.date.fromisoformat(r["date"]), D(r["pv"]), D(r["cv"])) for r in _csv(path)]


def _check_expected(plan: Plan, ref: RefResult, path: Path) -> None:
    """Every column of an expected members CSV against the reference (numbers compared as decimals)."""
    for row in _csv(path):
        r = ref[row["id"]]
        for name, text in row.items():
            if name == "id":
                continue
            if name in plan.bonus_ids():
                got: Any = r.bonuses[name]
            elif name == "active":
                got, text = r.active, text == "true"  # type: ignore[assignment]
            else:
                got = getattr(r, name)
            want: Any = text if isinstance(text, bool) or name in ("rank", "highest_rank") else D(text)
            assert got == want, (path.name, row["id"], name, got, want)


def test_binary_weekly_example_reference() -> None:
    d = EXAMPLES / "binary_weekly"
    plan = load_plan(Path(__file__).resolve().parent.parent / "plans" / "binary_weekly.yaml")
    members = _member_rows(d / "members.csv")
    state: Any = {
        r["id"]: (
            r["highest_rank"],
            int(r["streak"]),
            D(r["balance"]),
            D(r["carry_left"]),
            D(r["carry_right"]),
            int(r["idle"]),
        )
        for r in _csv(d / "state_2026-10-04.csv")
    }
    for start, end in [("2026-10-05", "2026-10-11"), ("2026-10-12", "2026-10-18")]:
        bounds = (datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
        ref = reference_close(plan, members, _order_rows(d / f"orders_{start}.csv"), *bounds, prior_state=state)
        _check_expected(plan, ref, d / f"expected_{start}.csv")
        state = ref.state()


def test_forced_matrix_example_reference() -> None:
    d = EXAMPLES / "forced_matrix"
    plan = load_plan(Path(__file__).resolve().parent.parent / "plans" / "forced_matrix.yaml")
    placed = reference_place(plan, _member_rows(d / "members.csv"))
    assert _same_ids(placed) == _same_ids(_member_rows(d / "expected_placed.csv"))
    ref = reference_close(plan, placed, _order_rows(d / "orders.csv"), *OCT)
    _check_expected(plan, ref, d / "expected_members.csv")


# --------------------------------------------------------------------------------------------------------
# Running the engine on reference-style rows


def engine_members(plan: Plan, rows: list[MemberRow]) -> Members:
    """Members with placement columns: ``placement_sides`` for a binary tree, ``placement_positions`` for a
    matrix (rows of three fields: no placement columns)."""
    ids, sponsors, enrolled = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    if all(len(r) <= 3 for r in rows) or plan.placement is None:
        return Members.from_columns(ids, sponsors, enrolled)
    parents = [r[3] if len(r) > 3 else None for r in rows]
    slots = [r[4] if len(r) > 4 else None for r in rows]
    key = "placement_sides" if plan.placement.tree == "binary" else "placement_positions"
    return Members.from_columns(ids, sponsors, enrolled, placement_ids=parents, **{key: slots})


def engine_state(plan: Plan, prior: dict[Any, StateRow] | None) -> State | None:
    """A metadata-free :class:`State`; carry in volume units, balances in minor units."""
    if prior is None:
        return None
    vd, mu = plan.plan.volume_decimals, plan.minor_units
    kwargs: dict[str, Any] = {}
    if any(len(r) > 3 for r in prior.values()):
        kwargs = {
            "carry_left": {i: _units(r[3], vd) for i, r in prior.items()},
            "carry_right": {i: _units(r[4], vd) for i, r in prior.items()},
            "idle": {i: int(r[5]) for i, r in prior.items()},
        }
    return State.from_mapping(
        {i: r[0] for i, r in prior.items()},
        streak={i: r[1] for i, r in prior.items()},
        balance={i: _units(r[2], mu) for i, r in prior.items()},
        **kwargs,
    )


def run_engine(
    plan: Plan,
    members: list[MemberRow],
    orders: list[tuple[Any, datetime.date, Decimal, Decimal]],
    period_text: str,
    state: State | dict[Any, StateRow] | None,
    events: list[tuple[Any, str, datetime.date]] | None = None,
) -> Any:
    o = Orders.from_columns(
        member_ids=[r[0] for r in orders],
        dates=[r[1] for r in orders],
        pv=[r[2] for r in orders],
        cv=[r[3] for r in orders],
    )
    kwargs: dict[str, Any] = {"ledger": True}
    st_ = state if isinstance(state, State) or state is None else engine_state(plan, state)
    if st_ is not None:
        kwargs["state"] = st_
    if events is not None:
        kwargs["events"] = Events.from_columns(
            member_ids=[e[0] for e in events], kinds=[e[1] for e in events], dates=[e[2] for e in events]
        )
    return close(plan, engine_members(plan, members), o, Period.parse(period_text), **kwargs)


BINARY_COLUMNS = ("leg_left", "leg_right", "carry_left", "carry_right", "idle")


def assert_agree_placement(plan: Plan, ref: RefResult, res: Any) -> None:
    """Everything :func:`test_properties.assert_agree` checks (members, ledger, awards, summary, core state) and
    the documented ledger order, plus the binary columns and the binary state (carry in volume units, idle)."""
    core = ref.core()
    assert_agree(plan, core, res)
    assert_ledger_order(plan, core, res)
    vd = plan.plan.volume_decimals
    state = res.state()
    if not ref.binary:
        assert state.carry_left is None and state.carry_right is None and state.idle is None
        return
    want = {
        name: [
            getattr(ref.members[i], name) if name == "idle" else _units(getattr(ref.members[i], name), vd)
            for i in ref.canonical_ids
        ]
        for name in BINARY_COLUMNS
    }
    for name in BINARY_COLUMNS:
        got = [int(x) for x in res.column(name)]
        if got != want[name]:
            k = next(k for k in range(len(got)) if got[k] != want[name][k])
            pytest.fail(f"{name} of {ref.canonical_ids[k]!r}: reference {want[name][k]}, engine {got[k]}")
    assert [int(x) for x in state.carry_left] == want["carry_left"]
    assert [int(x) for x in state.carry_right] == want["carry_right"]
    assert [int(x) for x in state.idle] == want["idle"]
    assert [_key(i) for i in state.ids] == [_key(i) for i in ref.canonical_ids]


def reference_for(sc: Scenario) -> RefResult:
    return reference_close(
        sc.plan, sc.members, sc.orders, sc.period_start, sc.period_end, prior_state=sc.prior_state, events=sc.events
    )


def engine_for(sc: Scenario, members: list[MemberRow] | None = None) -> Any:
    return run_engine(sc.plan, members or sc.members, sc.orders, sc.period_text, sc.prior_state, sc.events)


# --------------------------------------------------------------------------------------------------------
# The hand-worked examples through the engine


def test_binary_seven_members_two_periods_engine() -> None:
    state: Any = engine_state(BINARY_PLAN, SEVEN_STATE)
    ref_state: Any = SEVEN_STATE
    for orders, bounds, period, expected in zip(
        (SEVEN_OCT, SEVEN_NOV), (OCT, NOV), ("2026-10", "2026-11"), SEVEN_EXPECTED, strict=True
    ):
        res = run_engine(BINARY_PLAN, SEVEN, orders, period, state)
        ids = [str(i) for i in res.ids]
        for m, (leg_l, leg_r, carry_l, carry_r, idle, amount) in expected.items():
            k = ids.index(m)
            got = tuple(int(res.column(c)[k]) for c in BINARY_COLUMNS[:4])
            assert got == tuple(_units(D(x), 2) for x in (leg_l, leg_r, carry_l, carry_r)), (period, m)
            assert int(res.column("idle")[k]) == idle and int(res.bonuses["bin"][k]) == _units(D(amount), 2)
        ref = reference_close(BINARY_PLAN, SEVEN, orders, *bounds, prior_state=ref_state)
        assert_agree_placement(BINARY_PLAN, ref, res)
        state, ref_state = res.state(), ref.state()


def test_binary_pairs_engine() -> None:
    for extra in [{}, {"max_pairs": 2}, {"first_pair_volume": "200"}, {"first_pair_volume": "200", "max_pairs": 2}]:
        bonus = {"id": "bin", "type": "binary", "pair_volume": "100", "pair_cash": "10", **extra}
        plan = _plan([bonus], {"tree": "binary"})
        res = run_engine(plan, SEVEN, SEVEN_OCT, "2026-10", None)
        assert_agree_placement(plan, reference_close(plan, SEVEN, SEVEN_OCT, *OCT), res)


def test_binary_first_pair_sides_engine() -> None:
    plan = _plan(
        [{"id": "bin", "type": "binary", "pair_volume": "100", "pair_cash": "7", "first_pair_volume": "200"}],
        {"tree": "binary"},
        min_pv="0",
    )
    members = [("X", None, LONG_AGO, None, None), ("l", "X", LONG_AGO, "X", "L"), ("r", "X", LONG_AGO, "X", "R")]
    for left, right, carry in [("150", "250", [50, 50]), ("200", "200", [0, 100])]:
        orders = _orders({"l": left, "r": right}, OCT[0])
        res = run_engine(plan, members, orders, "2026-10", None)
        assert [int(res.column(c)[0]) for c in ("carry_left", "carry_right")] == [100 * c for c in carry]
        assert_agree_placement(plan, reference_close(plan, members, orders, *OCT), res)


def test_matrix_three_by_two_engine() -> None:
    for compression, c_volume in [("none", "100"), ("dynamic", "10")]:
        plan = _plan(
            [{"id": "mx", "type": "matrix", "rates": ["10%", "5%"], "compression": compression}],
            {"tree": "matrix", "width": 3},
        )
        orders = _orders({"A": "100", "B": "100", "C": c_volume, "E": "200", "F": "50", "G": "40"}, OCT[0])
        res = run_engine(plan, MATRIX_MEMBERS, orders, "2026-10", None)
        assert_agree_placement(plan, reference_close(plan, MATRIX_MEMBERS, orders, *OCT), res)
        want = {"none": [3450, 2500, 400], "dynamic": [2750, 2500, 0]}[compression]
        assert [int(x) for x in res.bonuses["mx"][:3]] == want


def placed_rows(plan: Plan, out: Members) -> list[MemberRow]:
    """The engine's ``place`` output as reference rows ``(id, sponsor, enrolled, placement_id, slot)``."""
    assert out.placed is not None and out.placement_ids is not None
    binary = plan.placement is not None and plan.placement.tree == "binary"
    rows = []
    for k in range(len(out)):
        i = _native(out.ids[k])
        sponsor = None if out.is_root[k] else _native(out.sponsor_ids[k])
        enrolled = out.enrolled_on[k].astype(datetime.date)
        if not out.placed[k]:
            rows.append((i, sponsor, enrolled, None, None))
            continue
        assert out.placement_sides is not None or out.placement_positions is not None
        slot: Any = str(out.placement_sides[k]) if binary else int(out.placement_positions[k])  # type: ignore[index]
        rows.append((i, sponsor, enrolled, _native(out.placement_ids[k]), slot))
    return rows


def _native(x: Any) -> Any:
    return int(x) if isinstance(x, (int, np.integer)) else str(x)


def _same_ids(rows: list[MemberRow]) -> list[tuple[Any, ...]]:
    """Rows with ids and slots as comparable text."""
    return [
        (_key(r[0]), None if r[1] is None else _key(r[1]), r[2], None if r[3] is None else _key(r[3]), r[4])
        for r in rows
    ]


def test_place_engine() -> None:
    first_f = [*PLACE_MEMBERS[:5], ("F", "B", _day(1))]
    own = [*PLACE_MEMBERS[:4], ("E", "A", _day(5), None, "L"), ("F", "B", _day(6), "B", "R")]
    for placement, rows in [
        ({"tree": "binary"}, PLACE_MEMBERS),
        ({"tree": "binary", "auto": "left"}, PLACE_MEMBERS),
        ({"tree": "binary", "auto": "right"}, PLACE_MEMBERS),
        ({"tree": "matrix", "width": 2}, first_f),
        ({"tree": "binary"}, own),
    ]:
        plan = _plan([], placement)
        got = placed_rows(plan, place(plan, engine_members(plan, rows)))
        assert _same_ids(got) == _same_ids(reference_place(plan, rows)), placement


# --------------------------------------------------------------------------------------------------------
# Properties: engine == reference on random placement trees


@settings(max_examples=80, **SETTINGS)
@given(placement_scenarios(tree="binary"))
def test_binary_engine_equals_reference(sc: Scenario) -> None:
    """Binary plans (both modes, every option, a check match on the binary now and then) with other bonuses,
    caps, balances and a prior state with carry and idle periods."""
    assert_agree_placement(sc.plan, reference_for(sc), engine_for(sc))


@settings(max_examples=60, **SETTINGS)
@given(placement_scenarios(tree="matrix"))
def test_matrix_engine_equals_reference(sc: Scenario) -> None:
    """Matrix plans (widths 2..4, compression, per-rank depth) with other bonuses."""
    assert_agree_placement(sc.plan, reference_for(sc), engine_for(sc))


@settings(max_examples=50, **SETTINGS)
@given(placement_multi_scenarios())
def test_consecutive_periods_with_carry(sc: MultiScenario) -> None:
    """2-3 consecutive periods: each side feeds its own state (carry, idle, balance, streak) to the next."""
    ref_state: Any = sc.prior_state
    eng_state: Any = engine_state(sc.plan, sc.prior_state)
    for n, p in enumerate(sc.periods, start=1):
        ref = reference_close(
            sc.plan, p.members, p.orders, p.period_start, p.period_end, prior_state=ref_state, events=p.events
        )
        res = run_engine(sc.plan, p.members, p.orders, p.period_text, eng_state, p.events)
        try:
            assert_agree_placement(sc.plan, ref, res)
        except AssertionError as exc:
            raise AssertionError(f"period {n} ({p.period_text}): {exc}") from exc
        ref_state, eng_state = ref.state(), res.state()
        assert eng_state.end == p.period_end


@settings(max_examples=30, **SETTINGS)
@given(placement_scenarios(max_members=15), st.randoms(use_true_random=False))
def test_placement_row_order_does_not_matter(sc: Scenario, rnd: random.Random) -> None:
    """Member and order rows in any order give identical outputs."""
    res = engine_for(sc)
    members, orders = list(sc.members), list(sc.orders)
    rnd.shuffle(members)
    rnd.shuffle(orders)
    again = run_engine(sc.plan, members, orders, sc.period_text, sc.prior_state, sc.events)
    assert list(res.ids) == list(again.ids)
    names = ["pv", "gv", "rank", "total", "paid", "balance_out", *sc.plan.bonus_ids()]
    if sc.plan.binary is not None:
        names += list(BINARY_COLUMNS)
    for name in names:
        assert np.array_equal(res.column(name), again.column(name)), name
    for col in ("payee", "source", "bonus", "kind", "level", "basis", "rate", "amount"):
        assert np.array_equal(getattr(res.ledger, col), getattr(again.ledger, col)), col
    assert res.summary == again.summary


@settings(max_examples=80, **SETTINGS)
@given(place_inputs())
def test_place_engine_equals_reference(pi: PlaceInput) -> None:
    """``place`` on partly placed forests: the engine's placements are the reference's, every member is placed,
    the result validates (reference rules and the engine's close), and row order does not matter."""
    out = place(pi.plan, engine_members(pi.plan, pi.members))
    got = placed_rows(pi.plan, out)
    want = reference_place(pi.plan, pi.members)
    assert _same_ids(got) == _same_ids(want)
    assert placement_problems(pi.plan, got) == []
    res = close(pi.plan, out, Orders.empty(), Period.parse("2026-10"))
    assert len(res) == len(pi.members)
    again = place(pi.plan, engine_members(pi.plan, list(reversed(pi.members))))
    assert _same_ids(placed_rows(pi.plan, again)) == _same_ids(got)


# --------------------------------------------------------------------------------------------------------
# Placement errors: the engine refuses a members table exactly when the reference finds a problem


@st.composite
def broken_placements(draw: st.DrawFn) -> tuple[Plan, list[MemberRow], list[tuple[Any, str]]]:
    """A valid placed forest with a few random edits (new parent, self, unknown parent, another or a bad slot,
    no placement), and the reference's problems with it (possibly none)."""
    tree = draw(st.sampled_from(["binary", "matrix"]))
    plan_dict = draw(plan_dicts(max_bonuses=0, tree=tree))
    plan = Plan.model_validate(plan_dict)
    start, end = datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)
    rows = list(draw(placed_forests(draw(forests(start, end, max_size=12)), plan_dict["placement"])))
    ids = [r[0] for r in rows]
    width = 2 if tree == "binary" else plan_dict["placement"]["width"]
    good_slots: list[Any] = ["L", "R"] if tree == "binary" else list(range(1, width + 1))
    bad_slots: list[Any] = ["X", "l", ""] if tree == "binary" else [0, width + 1, -1]
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(rows) - 1))
        i, sponsor, enrolled, parent, slot = rows[k]
        edit = draw(st.sampled_from(["parent", "self", "unknown", "slot", "bad_slot", "unplace", "root_slot"]))
        if edit == "parent":
            parent = draw(st.sampled_from(ids))
            slot = draw(st.sampled_from(good_slots))
        elif edit == "self":
            parent, slot = i, draw(st.sampled_from(good_slots))
        elif edit == "unknown":
            parent = "nobody" if isinstance(i, str) else max(ids) + 1
            slot = draw(st.sampled_from(good_slots))
        elif edit == "slot" and parent is not None:
            slot = draw(st.sampled_from(good_slots))
        elif edit == "bad_slot" and parent is not None:
            slot = draw(st.sampled_from(bad_slots))
        elif edit == "unplace":
            parent, slot = None, None
        elif edit == "root_slot" and parent is None:
            slot = draw(st.sampled_from(good_slots))
        rows[k] = (i, sponsor, enrolled, parent, slot)
    return plan, rows, placement_problems(plan, rows)


@settings(max_examples=80, **SETTINGS)
@given(broken_placements())
def test_placement_errors(case: tuple[Plan, list[MemberRow], list[tuple[Any, str]]]) -> None:
    """An input error exactly when the reference finds a problem; the report names a member it finds."""
    plan, rows, problems = case
    if not problems:
        run_engine(plan, rows, [], "2026-10", None)
        return
    with pytest.raises(InputError) as exc:
        run_engine(plan, rows, [], "2026-10", None)
    report = exc.value.report()
    assert any(_key(m) in report for m, _code in problems), (problems, report)


def test_all_placement_errors_reported_together() -> None:
    plan = _plan([{"id": "bin", "type": "binary", "rate": "10%"}], {"tree": "binary"})
    rows = [
        ("A", None, LONG_AGO, None, None),
        ("B", "A", LONG_AGO, "A", "L"),
        ("C", "B", LONG_AGO, "A", "R"),  # outside its sponsor B's placement subtree
        ("D", "A", LONG_AGO, "B", "X"),  # not a side
    ]
    assert {(m, c) for m, c in placement_problems(plan, rows)} == {("C", "outside_sponsor"), ("D", "bad_slot")}
    with pytest.raises(InputError) as exc:
        run_engine(plan, rows, [], "2026-10", None)
    report = exc.value.report()
    assert "member C" in report and "member D" in report, report


def test_deep_spillover_chains() -> None:
    # One root sponsors 1200 members enrolled one a day. weaker_leg placement alternates L and R at the root and
    # goes down the outside of each leg: two 600-deep chains. Everyone orders 100 (20.05 CV for every third).
    # Binary 10% with one sponsored active per side: only the root qualifies. A width-2 breadth-first matrix of
    # the same members is a complete binary tree.
    n = 1200
    rows: list[MemberRow] = [(0, None, datetime.date(2020, 1, 1))]
    rows += [(i, 0, datetime.date(2020, 1, 1) + datetime.timedelta(days=i)) for i in range(1, n)]
    orders = [(i, OCT[0], D(100), D("20.05") if i % 3 == 0 else D(100)) for i in range(n)]
    bonuses: list[dict[str, Any]] = [
        {"id": "bin", "type": "binary", "rate": "10%", "min_sponsored_per_side": 1, "max_carry": "5000"},
        {"id": "match", "type": "matching", "matches": ["bin"], "rates": ["10%"], "require_active": False},
    ]
    binary = _plan(bonuses, {"tree": "binary"})
    placed = reference_place(binary, rows)
    assert _same_ids(placed_rows(binary, place(binary, engine_members(binary, rows)))) == _same_ids(placed)
    # odd members down the outside of the left leg, even ones down the right: 1 and 2 under the root, i under i - 2
    assert all(placed[i][3:] == (max(i - 2, 0), "L" if i % 2 else "R") for i in range(1, n))
    ref = reference_close(binary, placed, orders, *OCT)
    res = run_engine(binary, placed, orders, "2026-10", None)
    assert_agree_placement(binary, ref, res)
    assert ref[0].bonuses["bin"] > 0 and sum(1 for ln in ref.ledger if ln.bonus_id == "bin") == 1
    matrix = _plan(
        [{"id": "mx", "type": "matrix", "rates": ["5%", "4%", "3%", "2%", "1%"]}], {"tree": "matrix", "width": 2}
    )
    placed = reference_place(matrix, rows)
    assert _same_ids(placed_rows(matrix, place(matrix, engine_members(matrix, rows)))) == _same_ids(placed)
    assert all(placed[i][3:] == ((i - 1) // 2, 1 if i % 2 else 2) for i in range(1, n))  # level by level
    assert_agree_placement(
        matrix, reference_close(matrix, placed, orders, *OCT), run_engine(matrix, placed, orders, "2026-10", None)
    )


# --------------------------------------------------------------------------------------------------------
# Earnings at the next rank (docs/semantics.md 3.10) on placement plans


@settings(max_examples=40, **SETTINGS)
@given(placement_scenarios(max_members=14))
def test_next_rank_earnings_on_placement_plans(sc: Scenario) -> None:
    """Binary and matrix steps compute each member's own figure at its next rank like every other bonus."""
    from test_next_rank_properties import check

    o = Orders.from_columns([r[0] for r in sc.orders], [r[1] for r in sc.orders], [r[2] for r in sc.orders],
                            [r[3] for r in sc.orders])  # fmt: skip
    data: dict[str, Any] = {
        "members": engine_members(sc.plan, sc.members),
        "orders": o,
        "state": engine_state(sc.plan, sc.prior_state),
    }
    if sc.events is not None:
        data["events"] = Events.from_columns(
            [e[0] for e in sc.events], [e[1] for e in sc.events], [e[2] for e in sc.events]
        )
    check(sc, data)


@pytest.mark.parametrize("ex", [ex for ex in WORKED if ex.plan.placement is not None], ids=lambda ex: ex.name)
def test_placement_worked_examples(ex: Example) -> None:
    """The hand-worked placement examples of tests/test_reference.py through the engine, and against the reference."""
    plan = ex.plan
    res = run_engine(plan, ex.members, ex.orders, ex.period, ex.state_in, ex.events)
    rows = {_key(m): r for r, m in enumerate(res.ids.tolist())}
    for member, fields in ex.expect.items():
        r = rows[_key(member)]
        for name, want in fields.items():
            if name == "bonuses":
                for b, amount in want.items():
                    assert int(res.bonuses[b][r]) == _units(Decimal(amount), plan.minor_units), (member, b)
            elif name in ("active", "idle"):
                assert res.column(name)[r] == want, (member, name)
            elif name in ("rank", "highest_rank"):
                assert plan.rank_names[int(res.column(name)[r])] == want, (member, name)
            elif name in ("total", "balance_in", "paid", "balance_out"):
                assert int(res.column(name)[r]) == _units(Decimal(want), plan.minor_units), (member, name)
            else:  # volumes and carry
                assert int(res.column(name)[r]) == _units(Decimal(want), plan.plan.volume_decimals), (member, name)
    led = res.ledger
    got = Counter(
        (_key(p), _key(s), b, int(lvl), int(a), k)
        for p, s, b, lvl, a, k in zip(led.payee, led.source, led.bonus, led.level, led.amount, led.kind, strict=True)
    )
    assert got == Counter(
        (_key(p), _key(s), b, lvl, _units(a, plan.minor_units), kind) for p, s, b, lvl, a, kind in ex.ledger_lines()
    )
    ref = reference_close(plan, ex.members, ex.orders, ex.start, ex.end, prior_state=ex.state_in, events=ex.events)
    assert_agree_placement(plan, ref, res)
