"""Hand-worked examples that test the reference implementation (tests/reference.py) itself.

Each :class:`Example` carries numbers worked out by hand in the comments, from docs/semantics.md. The same
examples are run through the engine in tests/test_properties.py, so a failure there is easy to read.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from compplan.spec.loader import load_plan
from compplan.spec.models import Plan
from reference import ROUNDING_MODES, RefResult, canonical_order, reference_close
from strategies import Scenario, scenarios

PLANS = Path(__file__).resolve().parent.parent / "plans"
D = Decimal
OCT1 = datetime.date(2026, 10, 1)
OCT31 = datetime.date(2026, 10, 31)
LONG_AGO = datetime.date(2025, 1, 1)


def day(n: int, month: int = 10) -> datetime.date:
    return datetime.date(2026, month, n)


def make_plan(
    ranks: list[dict[str, Any]] | None = None,
    bonuses: list[dict[str, Any]] | None = None,
    *,
    min_pv: str = "50",
    min_cv: str | None = None,
    currency: str = "USD",
    rounding: str = "half_up",
    minor_units: int | None = None,
) -> Plan:
    meta: dict[str, Any] = {"name": "Example", "currency": currency, "rounding": rounding, "volume_decimals": 2}
    if minor_units is not None:
        meta["minor_units"] = minor_units
    activity: dict[str, Any] = {"min_pv": min_pv}
    if min_cv is not None:
        activity["min_cv"] = min_cv
    return Plan.model_validate(
        {"plan": meta, "activity": activity, "ranks": ranks or [{"name": "Member"}], "bonuses": bonuses or []}
    )


def order(member: Any, amount: str, cv: str | None = None, date: datetime.date = OCT1) -> tuple[Any, Any, D, D]:
    """An order line; ``cv`` defaults to the same amount as ``pv``."""
    return (member, date, D(amount), D(cv if cv is not None else amount))


@dataclass
class Example:
    """A worked example: inputs and the hand-computed outputs.

    ``expect`` maps member id -> {field: value} for any of pv, gv, qv, active, rank, highest_rank, total,
    streak, balance_in, paid, balance_out and ``bonuses`` ({bonus id: amount}); members or bonuses not listed
    are not checked there (the ledger and the totals are checked in full). ``ledger`` is the complete multiset
    of (payee, source, bonus, level, amount[, kind]) (kind defaults to "line"). ``summary`` holds expected
    summary numbers: total_payout, total_paid, balance_carried, and ``payout_cap`` ({limit, before, after, cut,
    binding_short, scale}; scale as an exact fraction text such as "2/3").
    ``prior`` (highest ranks only) or ``prior_state`` ({id: (highest rank, streak, balance)}) is the state in;
    ``events`` the events input rows (member, kind, date); ``run_order`` the expected bonus run order.
    """

    name: str
    plan: Plan
    members: list[tuple[Any, Any, datetime.date]]
    orders: list[tuple[Any, datetime.date, D, D]]
    expect: dict[Any, dict[str, Any]]
    ledger: list[tuple[Any, ...]]
    awards: list[tuple[Any, str, str, str]] = field(default_factory=list)
    prior: dict[Any, str] | None = None
    period: str = "2026-10"
    prior_state: dict[Any, tuple[Any, ...]] | None = None
    events: list[tuple[Any, str, datetime.date]] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    run_order: list[str] | None = None

    @property
    def start(self) -> datetime.date:
        return _period_bounds(self.period)[0]

    @property
    def end(self) -> datetime.date:
        return _period_bounds(self.period)[1]

    @property
    def state_in(self) -> dict[Any, tuple[Any, ...]] | None:
        """The state in as (highest rank, streak, balance Decimal), from ``prior_state`` or ``prior``."""
        if self.prior_state is not None:  # binary plans add (carry left, carry right in points, idle periods)
            return {i: (t[0], t[1], D(t[2]), *(D(x) for x in t[3:5]), *t[5:]) for i, t in self.prior_state.items()}
        if self.prior is not None:
            return {i: (r, 0, D(0)) for i, r in self.prior.items()}
        return None

    def ledger_lines(self) -> list[tuple[Any, Any, str, int, D, str]]:
        """The expected ledger as (payee, source, bonus, level, amount, kind)."""
        return [(ln[0], ln[1], ln[2], ln[3], D(ln[4]), ln[5] if len(ln) > 5 else "line") for ln in self.ledger]


def _period_bounds(text: str) -> tuple[datetime.date, datetime.date]:
    if ".." in text:
        a, b = text.split("..")
        return datetime.date.fromisoformat(a), datetime.date.fromisoformat(b)
    year, month = map(int, text.split("-"))
    first = datetime.date(year, month, 1)
    nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - datetime.timedelta(days=1)


# --------------------------------------------------------------------------------------------------------
# The six-member tree used by several examples:
#
#   A
#   ├── B
#   │   ├── D
#   │   └── E
#   └── C
#       └── F
SIX = [
    ("A", None, LONG_AGO),
    ("B", "A", LONG_AGO),
    ("C", "A", LONG_AGO),
    ("D", "B", LONG_AGO),
    ("E", "B", LONG_AGO),
    ("F", "C", LONG_AGO),
]
# pv = cv: A 100, B 40, C 60, D 100 + 20 = 120, E none, F 80
SIX_ORDERS = [
    order("A", "100"),
    order("B", "40"),
    order("C", "60"),
    order("D", "100"),
    order("D", "20", date=day(15)),
    order("F", "80"),
]
# gv: D 120, E 0, B 40+120+0 = 160, F 80, C 60+80 = 140, A 100+160+140 = 400
# active (min_pv 50): A, C, D, F; not B (40) nor E (0)
SIX_VOLUMES = {
    "A": {"pv": "100", "gv": "400", "qv": "400", "active": True},
    "B": {"pv": "40", "gv": "160", "active": False},
    "C": {"pv": "60", "gv": "140", "active": True},
    "D": {"pv": "120", "gv": "120", "active": True},
    "E": {"pv": "0", "gv": "0", "qv": "0", "active": False},
    "F": {"pv": "80", "gv": "80", "active": True},
}


def _merge(base: dict[Any, dict[str, Any]], extra: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    out = {k: dict(v) for k, v in base.items()}
    for k, v in extra.items():
        out.setdefault(k, {}).update(v)
    return out


EXAMPLES: list[Example] = []

# 1. Unilevel, no compression: an inactive upline's level is simply not paid.
#    rates 10%, 5% on cv.
#    source B (40): L1 A 10% = 4.00
#    source C (60): L1 A = 6.00
#    source D (120): L1 B inactive -> nobody; L2 A 5% = 6.00
#    source E: cv 0, no walk
#    source F (80): L1 C 10% = 8.00; L2 A 5% = 4.00
#    A = 4 + 6 + 6 + 4 = 20.00, C = 8.00
EXAMPLES.append(
    Example(
        name="unilevel_no_compression",
        plan=make_plan(bonuses=[{"id": "uni", "type": "unilevel", "rates": ["10%", "5%"]}]),
        members=SIX,
        orders=SIX_ORDERS,
        expect=_merge(
            SIX_VOLUMES,
            {
                "A": {"bonuses": {"uni": "20.00"}, "total": "20.00", "rank": "Member", "highest_rank": "Member"},
                "B": {"total": "0"},
                "C": {"bonuses": {"uni": "8.00"}, "total": "8.00"},
            },
        ),
        ledger=[
            ("A", "B", "uni", 1, "4.00"),
            ("A", "C", "uni", 1, "6.00"),
            ("A", "D", "uni", 2, "6.00"),
            ("C", "F", "uni", 1, "8.00"),
            ("A", "F", "uni", 2, "4.00"),
        ],
    )
)

# 2. The same with dynamic compression: the inactive B is skipped and does not use up a level.
#    source D (120): B skipped; A is level 1: 10% = 12.00
#    A = 4 + 6 + 12 + 4 = 26.00, C = 8.00
EXAMPLES.append(
    Example(
        name="unilevel_dynamic_compression",
        plan=make_plan(bonuses=[{"id": "uni", "type": "unilevel", "compression": "dynamic", "rates": ["10%", "5%"]}]),
        members=SIX,
        orders=SIX_ORDERS,
        expect=_merge(
            SIX_VOLUMES,
            {"A": {"bonuses": {"uni": "26.00"}, "total": "26.00"}, "C": {"bonuses": {"uni": "8.00"}}},
        ),
        ledger=[
            ("A", "B", "uni", 1, "4.00"),
            ("A", "C", "uni", 1, "6.00"),
            ("A", "D", "uni", 1, "12.00"),
            ("C", "F", "uni", 1, "8.00"),
            ("A", "F", "uni", 2, "4.00"),
        ],
    )
)

# 3. Dynamic compression + paid_levels, integer ids, a chain 1 <- 2 <- 3 <- 4 <- 5.
#    Ranks: Member, Leader (min_pv 200). rates 10%, 5%, 2%; paid_levels Member 1, Leader 3. min_pv 100.
#    pv: 1: 300 (Leader), 2: 100, 3: 100, 4: 50 (inactive), 5: 100.
#    source 5 (100): 4 skipped; 3 = L1 10% = 10.00; 2 = L2 but a Member is paid 1 level -> rate 0, no line,
#                    the level is used up; 1 = L3 (Leader) 2% = 2.00
#    source 4 (50): 3 L1 = 5.00; 2 L2 = 0; 1 L3 2% = 1.00
#    source 3 (100): 2 L1 = 10.00; 1 L2 5% = 5.00
#    source 2 (100): 1 L1 = 10.00
#    1 = 2 + 1 + 5 + 10 = 18.00; 2 = 10.00; 3 = 15.00
EXAMPLES.append(
    Example(
        name="dynamic_compression_paid_levels_int_ids",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Leader", "min_pv": "200"}],
            bonuses=[
                {
                    "id": "uni",
                    "type": "unilevel",
                    "compression": "dynamic",
                    "rates": ["10%", "5%", "2%"],
                    "paid_levels": {"Member": 1, "Leader": 3},
                }
            ],
            min_pv="100",
        ),
        members=[(5, 4, LONG_AGO), (1, None, LONG_AGO), (3, 2, LONG_AGO), (2, 1, LONG_AGO), (4, 3, LONG_AGO)],
        orders=[order(1, "300"), order(2, "100"), order(3, "100"), order(4, "50"), order(5, "100")],
        expect={
            1: {"rank": "Leader", "gv": "650", "bonuses": {"uni": "18.00"}, "total": "18.00"},
            2: {"rank": "Member", "gv": "350", "bonuses": {"uni": "10.00"}},
            3: {"rank": "Member", "bonuses": {"uni": "15.00"}},
            4: {"active": False, "total": "0"},
            5: {"active": True, "total": "0"},
        },
        ledger=[
            (3, 5, "uni", 1, "10.00"),
            (1, 5, "uni", 3, "2.00"),
            (3, 4, "uni", 1, "5.00"),
            (1, 4, "uni", 3, "1.00"),
            (2, 3, "uni", 1, "10.00"),
            (1, 3, "uni", 2, "5.00"),
            (1, 2, "uni", 1, "10.00"),
        ],
    )
)

# 4. rates_by_rank with inheritance. Ranks Member, Bronze (pv 100), Silver (pv 200), Gold (pv 300);
#    rates_by_rank Bronze [10%], Gold [20%, 10%]; Silver inherits Bronze's [10%]; Member gets none.
#    min_pv 0 (all active). Chain G <- S <- B <- M <- X.
#    source X (10): L1 M (Member: no rates) 0; L2 B (Bronze: 1 level) 0; walk stops after level 2
#    source M (10): L1 B 10% = 1.00; L2 S (Silver = Bronze table, 1 level) 0
#    source B (100): L1 S 10% = 10.00; L2 G 10% = 10.00
#    source S (200): L1 G 20% = 40.00
#    G = 50.00, S = 10.00, B = 1.00
EXAMPLES.append(
    Example(
        name="rates_by_rank_inheritance",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Bronze", "min_pv": "100"},
                {"name": "Silver", "min_pv": "200"},
                {"name": "Gold", "min_pv": "300"},
            ],
            bonuses=[{"id": "uni", "type": "unilevel", "rates_by_rank": {"Gold": ["20%", "10%"], "Bronze": ["10%"]}}],
            min_pv="0",
        ),
        members=[
            ("G", None, LONG_AGO),
            ("S", "G", LONG_AGO),
            ("B", "S", LONG_AGO),
            ("M", "B", LONG_AGO),
            ("X", "M", LONG_AGO),
        ],
        orders=[order("G", "300"), order("S", "200"), order("B", "100"), order("M", "10"), order("X", "10")],
        expect={
            "G": {"rank": "Gold", "bonuses": {"uni": "50.00"}},
            "S": {"rank": "Silver", "bonuses": {"uni": "10.00"}},
            "B": {"rank": "Bronze", "bonuses": {"uni": "1.00"}},
            "M": {"rank": "Member", "bonuses": {"uni": "0"}},
            "X": {"rank": "Member", "total": "0"},
        },
        ledger=[
            ("B", "M", "uni", 1, "1.00"),
            ("S", "B", "uni", 1, "10.00"),
            ("G", "B", "uni", 2, "10.00"),
            ("G", "S", "uni", 1, "40.00"),
        ],
    )
)

# 5. min_rank and require_active on a unilevel: rates 10%; min_rank Bronze; require_active false.
#    min_pv 150. Bronze (min_pv 100) sets active: false, so an inactive member can hold it. Chain P <- Q <- R.
#    P: pv 120 -> Bronze (inactive); Q: pv 50 -> Member; R: pv 200 -> Bronze, active.
#    source R (200): L1 Q is Member (< min_rank) -> nothing (no compression); stops after level 1.
#    source Q (50): L1 P Bronze, not active but require_active false: 10% = 5.00
EXAMPLES.append(
    Example(
        name="unilevel_min_rank_require_active_false",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Bronze", "active": False, "min_pv": "100"}],
            bonuses=[
                {"id": "uni", "type": "unilevel", "rates": ["10%"], "min_rank": "Bronze", "require_active": False}
            ],
            min_pv="150",
        ),
        members=[("P", None, LONG_AGO), ("Q", "P", LONG_AGO), ("R", "Q", LONG_AGO)],
        orders=[order("P", "120"), order("Q", "50"), order("R", "200")],
        expect={
            "P": {"rank": "Bronze", "active": False, "bonuses": {"uni": "5.00"}},
            "Q": {"rank": "Member", "total": "0"},
            "R": {"rank": "Bronze", "active": True},
        },
        ledger=[("P", "Q", "uni", 1, "5.00")],
    )
)

# 6. Fast start: days 30, rates 20%, 10% on cv; min_pv 50. Period 2026-10. Chain A <- B <- C <- D, and E under A.
#    B: pv 30 -> inactive, so not qualified: its share is lost (no compression).
#    C enrolled 10-10 (window 10-10 .. 11-08): lines 10-10 100 and 10-31 50 -> basis_fs 150
#      g1 B not qualified; g2 A 10% = 15.00
#    D enrolled 09-05 (window 09-05 .. 10-04): lines 10-04 40 (in), 10-05 60 (out) -> basis_fs 40
#      g1 C 20% = 8.00; g2 B not qualified
#    E enrolled 10-20: lines 10-21 100, 10-22 -30 (a return) -> basis_fs 70: g1 A 20% = 14.00 (no g2: root)
#    A = 29.00, C = 8.00
EXAMPLES.append(
    Example(
        name="fast_start_windows",
        plan=make_plan(bonuses=[{"id": "fs", "type": "fast_start", "days": 30, "rates": ["20%", "10%"]}]),
        members=[
            ("A", None, LONG_AGO),
            ("B", "A", LONG_AGO),
            ("C", "B", day(10)),
            ("D", "C", day(5, 9)),
            ("E", "A", day(20)),
        ],
        orders=[
            order("A", "100"),
            order("B", "30"),
            order("C", "100", date=day(10)),
            order("C", "50", date=day(31)),
            order("D", "40", date=day(4)),
            order("D", "60", date=day(5)),
            order("E", "100", date=day(21)),
            order("E", "-30", date=day(22)),
        ],
        expect={
            "A": {"bonuses": {"fs": "29.00"}, "total": "29.00"},
            "B": {"active": False, "total": "0"},
            "C": {"pv": "150", "bonuses": {"fs": "8.00"}},
            "D": {"pv": "100", "active": True, "total": "0"},
            "E": {"pv": "70", "gv": "70"},
        },
        ledger=[("A", "C", "fs", 2, "15.00"), ("C", "D", "fs", 1, "8.00"), ("A", "E", "fs", 1, "14.00")],
    )
)

# 7. Personal tier. tiers pv 50: 5%, 100: 10%, 200: 12.5% on cv; plus a gv-tier bonus (gv >= 300: 1% of pv).
#    min_pv 50. Star: R with children X, Y, Z, W.
#    R: pv = cv = 250 -> 12.5% = 31.25; gv 250+100+99.99+40+0 = 489.99 >= 300 -> 1% of pv 250 = 2.50
#    X: pv 100, cv 80 -> 10% of 80 = 8.00 (gv 100 < 300)
#    Y: pv = cv = 99.99 -> 5% = 4.9995 -> 5.00 (half_up)
#    Z: pv 40 -> inactive, nothing. W: no orders, inactive.
EXAMPLES.append(
    Example(
        name="personal_tier",
        plan=make_plan(
            bonuses=[
                {
                    "id": "personal",
                    "type": "personal_tier",
                    "tiers": [
                        {"min_volume": "50", "rate": "5%"},
                        {"min_volume": "100", "rate": "10%"},
                        {"min_volume": "200", "rate": "12.5%"},
                    ],
                },
                {
                    "id": "group",
                    "type": "personal_tier",
                    "tier_volume": "gv",
                    "basis": "pv",
                    "tiers": [{"min_volume": "300", "rate": "1%"}],
                },
            ]
        ),
        members=[
            ("R", None, LONG_AGO),
            ("X", "R", LONG_AGO),
            ("Y", "R", LONG_AGO),
            ("Z", "R", LONG_AGO),
            ("W", "R", LONG_AGO),
        ],
        orders=[order("R", "250"), order("X", "100", "80"), order("Y", "99.99"), order("Z", "40")],
        expect={
            "R": {"gv": "489.99", "bonuses": {"personal": "31.25", "group": "2.50"}, "total": "33.75"},
            "X": {"bonuses": {"personal": "8.00", "group": "0"}},
            "Y": {"bonuses": {"personal": "5.00"}},
            "Z": {"active": False, "total": "0"},
            "W": {"total": "0"},
        },
        ledger=[
            ("R", "R", "personal", 0, "31.25"),
            ("X", "X", "personal", 0, "8.00"),
            ("Y", "Y", "personal", 0, "5.00"),
            ("R", "R", "group", 0, "2.50"),
        ],
    )
)


# 8. Rounding ties in each mode: a personal tier of 50% from pv 0, require_active false, on cv.
#    Roots m1..m6 (pv 0, so the pv tier 0 applies even to returns):
#      m1 cv 0.25 -> 0.125;  m2 0.27 -> 0.135;  m3 -0.25 -> -0.125;  m4 -0.27 -> -0.135;
#      m5 1.01 -> 0.505;     m6 0.01 -> 0.005
#    half_up:   0.13  0.14  -0.13  -0.14  0.51  0.01
#    half_even: 0.12  0.14  -0.12  -0.14  0.50  0.00 (omitted)
#    down:      0.12  0.13  -0.12  -0.13  0.50  0.00 (omitted)
def _tie_example(mode: str, expected: list[str]) -> Example:
    cvs = ["0.25", "0.27", "-0.25", "-0.27", "1.01", "0.01"]
    ids = [f"m{i}" for i in range(1, 7)]
    return Example(
        name=f"rounding_ties_{mode}",
        plan=make_plan(
            bonuses=[
                {
                    "id": "half",
                    "type": "personal_tier",
                    "require_active": False,
                    "tiers": [{"min_volume": "0", "rate": "50%"}],
                }
            ],
            rounding=mode,
            min_pv="10",
        ),
        members=[(i, None, LONG_AGO) for i in ids],
        orders=[order(i, "0", cv) for i, cv in zip(ids, cvs, strict=True)],
        expect={i: {"bonuses": {"half": amount}, "total": amount} for i, amount in zip(ids, expected, strict=True)},
        ledger=[(i, i, "half", 0, a) for i, a in zip(ids, expected, strict=True) if D(a) != 0],
    )


EXAMPLES.append(_tie_example("half_up", ["0.13", "0.14", "-0.13", "-0.14", "0.51", "0.01"]))
EXAMPLES.append(_tie_example("half_even", ["0.12", "0.14", "-0.12", "-0.14", "0.50", "0"]))
EXAMPLES.append(_tie_example("down", ["0.12", "0.13", "-0.12", "-0.13", "0.50", "0"]))


# 9. Ties in currencies with 0 and 3 minor units. Personal tier 50% (JPY) / 12.5% (KWD), require_active false.
#    JPY: cv 1 -> 0.5 yen; cv 3 -> 1.5 yen; cv 0.01 -> 0.005 yen
#      half_up 1, 2, 0 | half_even 0, 2, 0 | down 0, 1, 0
#    KWD: cv 0.02 -> 0.0025; cv 0.01 -> 0.00125; cv 0.04 -> 0.005
#      half_up 0.003, 0.001, 0.005 | half_even 0.002, 0.001, 0.005 | down 0.002, 0.001, 0.005
def _currency_example(currency: str, rate: str, mode: str, cvs: list[str], expected: list[str]) -> Example:
    ids = [f"{currency.lower()}{i}" for i in range(len(cvs))]
    return Example(
        name=f"rounding_{currency}_{mode}",
        plan=make_plan(
            bonuses=[
                {
                    "id": "tier",
                    "type": "personal_tier",
                    "require_active": False,
                    "tiers": [{"min_volume": "0", "rate": rate}],
                }
            ],
            currency=currency,
            rounding=mode,
        ),
        members=[(i, None, LONG_AGO) for i in ids],
        orders=[order(i, cv) for i, cv in zip(ids, cvs, strict=True)],
        expect={i: {"bonuses": {"tier": a}, "total": a} for i, a in zip(ids, expected, strict=True)},
        ledger=[(i, i, "tier", 0, a) for i, a in zip(ids, expected, strict=True) if D(a) != 0],
    )


for _mode, _jpy, _kwd in [
    ("half_up", ["1", "2", "0"], ["0.003", "0.001", "0.005"]),
    ("half_even", ["0", "2", "0"], ["0.002", "0.001", "0.005"]),
    ("down", ["0", "1", "0"], ["0.002", "0.001", "0.005"]),
]:
    EXAMPLES.append(_currency_example("JPY", "50%", _mode, ["1", "3", "0.01"], _jpy))
    EXAMPLES.append(_currency_example("KWD", "12.5%", _mode, ["0.02", "0.01", "0.04"], _kwd))

# 10. Returns: negative CV gives negative lines. A <- B, unilevel 10% on cv, min_pv 50.
#     B: 100 then a return of -150.05 -> pv = cv = -50.05; gv(A) = 100 - 50.05 = 49.95; A pv 100 active.
#     source B (-50.05): L1 A 10% = -5.005 -> half_up (away from zero) -5.01
EXAMPLES.append(
    Example(
        name="returns_negative_lines",
        plan=make_plan(bonuses=[{"id": "uni", "type": "unilevel", "rates": ["10%"]}]),
        members=[("A", None, LONG_AGO), ("B", "A", LONG_AGO)],
        orders=[order("A", "100"), order("B", "100"), order("B", "-150.05", date=day(20))],
        expect={
            "A": {"pv": "100", "gv": "49.95", "active": True, "bonuses": {"uni": "-5.01"}, "total": "-5.01"},
            "B": {"pv": "-50.05", "gv": "-50.05", "active": False},
        },
        ledger=[("A", "B", "uni", 1, "-5.01")],
    )
)

# 11. The 50% leg cap (max-per-leg rule). Ranks Member, Leader (min_qv 1000, max_leg_share 50%: cap 500).
#     min_pv 0. R (pv 100) with legs L1 (gv 900), L2 (gv 300), L3 (L3 100 + L3a 100 = 200).
#     qv(R) = 100 + min(900, 500) + 300 + 200 = 1100 >= 1000 -> Leader; qv output 1100; gv 1500.
#     Same shape under S but its second leg has gv 150: qv = 100 + 500 + 150 + 200 = 950 < 1000 although
#     gv = 1350 -> Member; output qv = gv = 1350 (the entry rank sets no min_qv).
EXAMPLES.append(
    Example(
        name="max_leg_share_cap",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Leader", "min_qv": "1000", "max_leg_share": "50%"}], min_pv="0"
        ),
        members=[
            ("R", None, LONG_AGO),
            ("R1", "R", LONG_AGO),
            ("R2", "R", LONG_AGO),
            ("R3", "R", LONG_AGO),
            ("R3a", "R3", LONG_AGO),
            ("S", None, LONG_AGO),
            ("S1", "S", LONG_AGO),
            ("S2", "S", LONG_AGO),
            ("S3", "S", LONG_AGO),
            ("S3a", "S3", LONG_AGO),
        ],
        orders=[
            order("R", "100"),
            order("R1", "900"),
            order("R2", "300"),
            order("R3", "100"),
            order("R3a", "100"),
            order("S", "100"),
            order("S1", "900"),
            order("S2", "150"),
            order("S3", "100"),
            order("S3a", "100"),
        ],
        expect={
            "R": {"rank": "Leader", "qv": "1100", "gv": "1500"},
            "S": {"rank": "Member", "qv": "1350", "gv": "1350"},
            # R1: qv_Leader = 900 (no legs) < 1000 -> Member, qv output = gv
            "R1": {"rank": "Member", "qv": "900"},
        },
        ledger=[],
    )
)

# 12. The cap is floored to volume units: min_qv 100.01 x 50% = 50.005 -> cap 50.00.
#     T (pv 0) with two legs of gv 50.01: qv = 0 + 50.00 + 50.00 = 100.00 < 100.01 -> Member
#     (a cap rounded to 50.01 would give 100.02 and the rank). U (pv 0.01), same legs: 100.01 -> Odd; qv 100.01.
EXAMPLES.append(
    Example(
        name="leg_cap_floor",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Odd", "min_qv": "100.01", "max_leg_share": "50%"}], min_pv="0"
        ),
        members=[
            ("T", None, LONG_AGO),
            ("T1", "T", LONG_AGO),
            ("T2", "T", LONG_AGO),
            ("U", None, LONG_AGO),
            ("U1", "U", LONG_AGO),
            ("U2", "U", LONG_AGO),
        ],
        orders=[
            order("T1", "50.01"),
            order("T2", "50.01"),
            order("U", "0.01"),
            order("U1", "50.01"),
            order("U2", "50.01"),
        ],
        expect={
            "T": {"rank": "Member", "qv": "100.02", "gv": "100.02", "active": True},
            "U": {"rank": "Odd", "qv": "100.01", "gv": "100.03"},
        },
        ledger=[],
    )
)

# 13. Leg rules, min_personal_actives, prior highest rank and rank advancement with skipped ranks.
#     Ranks: Member; Bronze (pv 100); Silver (pv 100, 2 personal actives); Gold (pv 100, legs Silver x 2).
#     min_pv 100.
#       G (100)
#       ├── a (100)           a1, a2 active -> Silver
#       │   ├── a1 (100)      Bronze
#       │   └── a2 (100)      Bronze
#       ├── b (50)            inactive -> Member
#       │   └── b1 (100)      b1x, b1y active -> Silver
#       │       ├── b1x (100) Bronze
#       │       └── b1y (100) Bronze
#       └── c (100)           Bronze
#     G: actives a, c (b is not) = 2 -> Silver met; legs with rank >= Silver: a's leg (a), b's leg (b1, two
#        levels down) = 2 -> Gold.
#     Prior state: G Bronze, a Gold, c Bronze.
#     promo (pay_skipped true): Bronze 10; Silver 50 + "Pin"; Gold 200 + "Trip".
#       G: Bronze -> Gold: Silver 50 (level 2) + Gold 200 (level 3) = 250; awards Pin, Trip
#       a: highest stays Gold (rank Silver): nothing. b: Member: nothing. c: Bronze -> Bronze: nothing.
#       b1: Member -> Silver: 10 + 50 = 60, award Pin. a1, a2, b1x, b1y: 10 each.
#     last (pay_skipped false), same awards: G 200 + Trip; b1 50 + Pin; a1, a2, b1x, b1y 10.
_AWARDS = {"Bronze": {"cash": "10"}, "Silver": {"cash": "50", "award": "Pin"}, "Gold": {"cash": 200, "award": "Trip"}}
EXAMPLES.append(
    Example(
        name="legs_actives_advancement",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Bronze", "min_pv": "100"},
                {"name": "Silver", "min_pv": "100", "min_personal_actives": 2},
                {"name": "Gold", "min_pv": "100", "legs": [{"rank": "Silver", "count": 2}]},
            ],
            bonuses=[
                {"id": "promo", "type": "rank_advancement", "awards": _AWARDS},
                {"id": "last", "type": "rank_advancement", "pay_skipped": False, "awards": _AWARDS},
            ],
            min_pv="100",
        ),
        members=[
            ("G", None, LONG_AGO),
            ("a", "G", LONG_AGO),
            ("a1", "a", LONG_AGO),
            ("a2", "a", LONG_AGO),
            ("b", "G", LONG_AGO),
            ("b1", "b", LONG_AGO),
            ("b1x", "b1", LONG_AGO),
            ("b1y", "b1", LONG_AGO),
            ("c", "G", LONG_AGO),
        ],
        orders=[order(m, "100") for m in ("G", "a", "a1", "a2", "b1", "b1x", "b1y", "c")] + [order("b", "50")],
        prior={"G": "Bronze", "a": "Gold", "c": "Bronze"},
        expect={
            "G": {
                "rank": "Gold",
                "highest_rank": "Gold",
                "bonuses": {"promo": "250", "last": "200"},
                "total": "450",
            },
            "a": {"rank": "Silver", "highest_rank": "Gold", "total": "0"},
            "b": {"rank": "Member", "highest_rank": "Member", "total": "0"},
            "b1": {"rank": "Silver", "highest_rank": "Silver", "bonuses": {"promo": "60", "last": "50"}},
            "c": {"rank": "Bronze", "highest_rank": "Bronze", "total": "0"},
            "a1": {"rank": "Bronze", "bonuses": {"promo": "10", "last": "10"}, "total": "20"},
        },
        ledger=[
            ("G", "G", "promo", 2, "50"),
            ("G", "G", "promo", 3, "200"),
            ("b1", "b1", "promo", 1, "10"),
            ("b1", "b1", "promo", 2, "50"),
            *[(m, m, "promo", 1, "10") for m in ("a1", "a2", "b1x", "b1y")],
            ("G", "G", "last", 3, "200"),
            ("b1", "b1", "last", 2, "50"),
            *[(m, m, "last", 1, "10") for m in ("a1", "a2", "b1x", "b1y")],
        ],
        awards=[
            ("G", "promo", "Silver", "Pin"),
            ("G", "promo", "Gold", "Trip"),
            ("G", "last", "Gold", "Trip"),
            ("b1", "promo", "Silver", "Pin"),
            ("b1", "last", "Silver", "Pin"),
        ],
    )
)

# 14. A leg rule counts a higher rank too, and a deep member counts for its whole leg.
#     Ranks Member, Silver (pv 100), Gold (legs Silver x 2; active by default). min_pv 100.
#     X (100) with Y (100; Y1, Y2 Silver -> Y Gold) and Z (100, Silver): X's legs with rank >= Silver: Y (Gold),
#     Z -> 2 -> Gold. W (100) <- w1 (10, inactive, Member) <- w2 (100, Silver): one leg -> W is Silver.
EXAMPLES.append(
    Example(
        name="leg_rule_counts_higher_and_deep",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Silver", "min_pv": "100"},
                {"name": "Gold", "legs": [{"rank": "Silver", "count": 2}]},
            ],
            min_pv="100",
        ),
        members=[
            ("X", None, LONG_AGO),
            ("Y", "X", LONG_AGO),
            ("Y1", "Y", LONG_AGO),
            ("Y2", "Y", LONG_AGO),
            ("Z", "X", LONG_AGO),
            ("W", None, LONG_AGO),
            ("w1", "W", LONG_AGO),
            ("w2", "w1", LONG_AGO),
        ],
        orders=[order(m, "100") for m in ("X", "Y", "Y1", "Y2", "Z", "W", "w2")] + [order("w1", "10")],
        expect={
            "X": {"rank": "Gold"},
            "Y": {"rank": "Gold"},
            "Y1": {"rank": "Silver"},
            "Z": {"rank": "Silver"},
            "W": {"rank": "Silver"},
            "w1": {"rank": "Member", "active": False},
            "w2": {"rank": "Silver"},
        },
        ledger=[],
    )
)

# 15. Activity needs min_cv too; a rank with active: false ignores activity; the ladder is not required to be
#     met step by step: the paid-as rank is the highest rank met (docs: "the highest R with meets(m, R)").
#     min_pv 50, min_cv 40. Ranks Member, Star (pv 500), Helper (active false, gv 10).
#     P: pv 100, cv 30 -> inactive (cv < 40); gv 100 -> Helper (Star needs pv 500 and activity).
#     Q: pv 600, cv 600 -> active; Star not met? pv 600 >= 500 -> Star met, Helper met -> Helper (highest).
#     R: pv 5, cv 5 -> inactive; gv 5 < 10 -> Member.
EXAMPLES.append(
    Example(
        name="min_cv_active_false_highest_met",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Star", "min_pv": "500"},
                {"name": "Helper", "active": False, "min_gv": "10"},
            ],
            min_pv="50",
            min_cv="40",
        ),
        members=[("P", None, LONG_AGO), ("Q", None, LONG_AGO), ("R", None, LONG_AGO)],
        orders=[order("P", "100", "30"), order("Q", "600"), order("R", "5")],
        expect={
            "P": {"active": False, "rank": "Helper"},
            "Q": {"active": True, "rank": "Helper"},
            "R": {"active": False, "rank": "Member"},
        },
        ledger=[],
    )
)


# 16. plans/wellness_unilevel.yaml (USD, half_up). Period 2026-10.
#       T (100)
#       ├── U (pv 100, cv 80)
#       │   ├── U1 (pv 600, cv 500)
#       │   └── U2 (60)                inactive
#       │       └── U2a (200)          enrolled 10-15
#       ├── V (100)
#       │   └── V1 (pv 1000, cv 900)
#       └── W (150)                    enrolled 09-01: 10-05 100 (in the 60-day window), 10-31 50 (out)
#     gv: U1 600, U2a 200, U2 260, U 960, V1 1000, V 1100, W 150, T 2310.
#     Ranks: U1 Manager (gv 600); U Manager (gv 960; Executive needs 3 actives, has U1 only);
#       V1 Director (gv 1000); V Director (1100); T: actives U, V, W = 3 and gv 2310 -> Executive
#       (Elite: qv = 100 + 960 + 1100 + 150 = 2310 < 3000); U2, U2a, W Member.
#     Unilevel (dynamic; qualified = active; levels Member 2, Manager 3, Director 4, Executive 5):
#       U (80): T L1 2% = 1.60
#       U1 (500): U L1 2% = 10.00; T L2 3% = 15.00
#       U2 (60): U L1 = 1.20; T L2 = 1.80
#       U2a (200): U2 skipped; U L1 = 4.00; T L2 = 6.00
#       V (100): T L1 = 2.00
#       V1 (900): V L1 = 18.00; T L2 = 27.00
#       W (150): T L1 = 3.00
#       T = 1.60 + 15 + 1.80 + 6 + 2 + 27 + 3 = 56.40; U = 15.20; V = 18.00
#     Fast start 20/10/5% (no compression):
#       U2a (200): g1 U2 inactive (lost); g2 U 10% = 20.00; g3 T 5% = 10.00
#       W (100): g1 T 20% = 20.00
#     Rank advancement: nobody reaches Premier.
#     Totals: T 86.40, U 35.20, V 18.00.
def _wellness() -> Example:
    plan = load_plan(PLANS / "wellness_unilevel.yaml")
    return Example(
        name="plan_wellness_unilevel",
        plan=plan,
        members=[
            ("T", None, LONG_AGO),
            ("U", "T", LONG_AGO),
            ("U1", "U", LONG_AGO),
            ("U2", "U", LONG_AGO),
            ("U2a", "U2", day(15)),
            ("V", "T", LONG_AGO),
            ("V1", "V", LONG_AGO),
            ("W", "T", day(1, 9)),
        ],
        orders=[
            order("T", "100"),
            order("U", "100", "80"),
            order("U1", "600", "500"),
            order("U2", "60"),
            order("U2a", "200", date=day(20)),
            order("V", "100"),
            order("V1", "1000", "900"),
            order("W", "100", date=day(5)),
            order("W", "50", date=day(31)),
        ],
        expect={
            "T": {
                "gv": "2310",
                "qv": "2310",
                "rank": "Executive",
                "bonuses": {"unilevel": "56.40", "fast_start": "30.00", "rank_advancement": "0"},
                "total": "86.40",
            },
            "U": {"gv": "960", "rank": "Manager", "bonuses": {"unilevel": "15.20", "fast_start": "20.00"}},
            "U1": {"rank": "Manager", "total": "0"},
            "U2": {"active": False, "rank": "Member", "gv": "260"},
            "U2a": {"rank": "Member"},
            "V": {"rank": "Director", "bonuses": {"unilevel": "18.00"}, "total": "18.00"},
            "V1": {"rank": "Director", "gv": "1000"},
            "W": {"rank": "Member", "pv": "150"},
        },
        ledger=[
            ("T", "U2a", "fast_start", 3, "10.00"),
            ("U", "U2a", "fast_start", 2, "20.00"),
            ("T", "W", "fast_start", 1, "20.00"),
            ("T", "U", "unilevel", 1, "1.60"),
            ("U", "U1", "unilevel", 1, "10.00"),
            ("T", "U1", "unilevel", 2, "15.00"),
            ("U", "U2", "unilevel", 1, "1.20"),
            ("T", "U2", "unilevel", 2, "1.80"),
            ("U", "U2a", "unilevel", 1, "4.00"),
            ("T", "U2a", "unilevel", 2, "6.00"),
            ("T", "V", "unilevel", 1, "2.00"),
            ("V", "V1", "unilevel", 1, "18.00"),
            ("T", "V1", "unilevel", 2, "27.00"),
            ("T", "W", "unilevel", 1, "3.00"),
        ],
    )


# 17. plans/tiered_personal.yaml (EUR, half_even).
#       P (300)
#       ├── Q (pv 200, cv 190.50)
#       │   ├── Q1 (50)
#       │   └── Q2 (pv 60, cv 55.55)
#       ├── R (40)           inactive
#       │   └── R1 (1000)
#       └── S (100)
#     Ranks: P actives Q, S = 2, pv 300 -> Senior Consultant (Team Leader needs 4 actives);
#       Q actives Q1, Q2 -> Senior Consultant; the others Consultant. Prior: R1 was a Team Leader.
#     personal (pv tiers 50: 5%, 250: 10%, 500: 15%, 1000: 20%; on cv):
#       P 10% x 300 = 30.00; Q 5% x 190.50 = 9.525 -> 9.52 (tie to even); Q1 5% x 50 = 2.50;
#       Q2 5% x 55.55 = 2.7775 -> 2.78; R inactive; R1 20% x 1000 = 200.00; S 5% x 100 = 5.00
#     team_override (no compression, min_rank Senior Consultant; SC [3%]):
#       Q (190.50): P L1 3% = 5.715 -> 5.72 (tie to even); Q1 (50): Q L1 = 1.50, P L2 0;
#       Q2 (55.55): Q L1 = 1.6665 -> 1.67; R (40): P L1 = 1.20; R1: R not qualified, P L2 0; S: P L1 = 3.00
#     promotion: nobody reaches Team Leader this period; R1's highest stays Team Leader (no award).
#     Totals: P 39.92, Q 12.69, Q1 2.50, Q2 2.78, R1 200.00, S 5.00.
def _tiered() -> Example:
    plan = load_plan(PLANS / "tiered_personal.yaml")
    return Example(
        name="plan_tiered_personal",
        plan=plan,
        members=[
            ("P", None, LONG_AGO),
            ("Q", "P", LONG_AGO),
            ("Q1", "Q", LONG_AGO),
            ("Q2", "Q", LONG_AGO),
            ("R", "P", LONG_AGO),
            ("R1", "R", LONG_AGO),
            ("S", "P", LONG_AGO),
        ],
        orders=[
            order("P", "300"),
            order("Q", "200", "190.50"),
            order("Q1", "50"),
            order("Q2", "60", "55.55"),
            order("R", "40"),
            order("R1", "1000"),
            order("S", "100"),
        ],
        prior={"R1": "Team Leader"},
        expect={
            "P": {
                "rank": "Senior Consultant",
                "gv": "1750",
                "bonuses": {"personal": "30.00", "team_override": "9.92", "promotion": "0"},
                "total": "39.92",
            },
            "Q": {"rank": "Senior Consultant", "bonuses": {"personal": "9.52", "team_override": "3.17"}},
            "Q1": {"total": "2.50"},
            "Q2": {"total": "2.78"},
            "R": {"active": False, "rank": "Consultant", "total": "0"},
            "R1": {"rank": "Consultant", "highest_rank": "Team Leader", "total": "200.00"},
            "S": {"total": "5.00"},
        },
        ledger=[
            ("P", "P", "personal", 0, "30.00"),
            ("Q", "Q", "personal", 0, "9.52"),
            ("Q1", "Q1", "personal", 0, "2.50"),
            ("Q2", "Q2", "personal", 0, "2.78"),
            ("R1", "R1", "personal", 0, "200.00"),
            ("S", "S", "personal", 0, "5.00"),
            ("P", "Q", "team_override", 1, "5.72"),
            ("Q", "Q1", "team_override", 1, "1.50"),
            ("Q", "Q2", "team_override", 1, "1.67"),
            ("P", "R", "team_override", 1, "1.20"),
            ("P", "S", "team_override", 1, "3.00"),
        ],
    )


EXAMPLES.append(_wellness())
EXAMPLES.append(_tiered())


# --------------------------------------------------------------------------------------------------------
# The bonus types of docs/semantics.md 3.4 from `generation` on, caps (3.5) and balances (3.6).

# 18. Generation, with and without compression. Ranks Member, Leader (active: false, min_pv 100);
#     activity min_pv 50 and min_cv 50. Both bonuses: rates 10%, 5% on pv, default qualification (active).
#     Chain A <- B <- C <- D <- E (A the root):
#       A pv 100 cv 100 -> Leader, active        B pv 60 cv 60 -> Member, active
#       C pv 150 cv 10  -> Leader, NOT active (cv < 50): not qualified
#       D pv 80 cv 80   -> Member, active        E pv 200 cv 200 -> Leader, active
#     gen_none (leaders: rank >= Leader = A, C, E). g for payee u = leaders strictly below u down to s:
#       source E (200): D g=1 (E) 10% = 20.00; C g=1 not qualified; B g=2 (E, C) 5% = 10.00; A g=2 5% = 10.00
#       source D (80):  C g=0; B g=1 (C) 10% = 8.00; A g=1 10% = 8.00
#       source C (150): B g=1 (C itself) 10% = 15.00; A g=1 = 15.00
#       source B (60):  A g=0 (B is no leader): personal group, not paid
#       gen_none: D 20.00, B 33.00, A 33.00
#     gen_dyn (leaders must also be qualified: A, E; C does not end a generation):
#       source E: D g=1 20.00; C not qualified; B g=1 10% = 20.00; A g=1 = 20.00
#       sources D, C, B: g=0 for every ancestor -> nothing
#       gen_dyn: D 20.00, B 20.00, A 20.00
_GEN_CHAIN = [
    ("A", None, LONG_AGO),
    ("B", "A", LONG_AGO),
    ("C", "B", LONG_AGO),
    ("D", "C", LONG_AGO),
    ("E", "D", LONG_AGO),
]
EXAMPLES.append(
    Example(
        name="generation_with_and_without_compression",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Leader", "active": False, "min_pv": "100"}],
            bonuses=[
                {
                    "id": "gen_none",
                    "type": "generation",
                    "generation_rank": "Leader",
                    "basis": "pv",
                    "rates": ["10%", "5%"],
                },
                {
                    "id": "gen_dyn",
                    "type": "generation",
                    "generation_rank": "Leader",
                    "compression": "dynamic",
                    "basis": "pv",
                    "rates": ["10%", "5%"],
                },
            ],
            min_pv="50",
            min_cv="50",
        ),
        members=_GEN_CHAIN,
        orders=[
            order("A", "100"),
            order("B", "60"),
            order("C", "150", "10"),
            order("D", "80"),
            order("E", "200"),
        ],
        expect={
            "A": {"rank": "Leader", "bonuses": {"gen_none": "33.00", "gen_dyn": "20.00"}, "total": "53.00"},
            "B": {"rank": "Member", "bonuses": {"gen_none": "33.00", "gen_dyn": "20.00"}},
            "C": {"rank": "Leader", "active": False, "total": "0"},
            "D": {"bonuses": {"gen_none": "20.00", "gen_dyn": "20.00"}, "total": "40.00"},
            "E": {"rank": "Leader", "total": "0"},
        },
        ledger=[
            ("B", "C", "gen_none", 1, "15.00"),
            ("A", "C", "gen_none", 1, "15.00"),
            ("B", "D", "gen_none", 1, "8.00"),
            ("A", "D", "gen_none", 1, "8.00"),
            ("D", "E", "gen_none", 1, "20.00"),
            ("B", "E", "gen_none", 2, "10.00"),
            ("A", "E", "gen_none", 2, "10.00"),
            ("D", "E", "gen_dyn", 1, "20.00"),
            ("B", "E", "gen_dyn", 1, "20.00"),
            ("A", "E", "gen_dyn", 1, "20.00"),
        ],
    )
)

# 19. Generation with paid_generations and a rank that inherits it. Ranks Member, Leader (min_pv 100),
#     Chief (min_pv 300). rates 10%, 5%, 2%; paid_generations Leader 1, Chief 3 (Member: not listed -> 0);
#     min_rank Leader. min_pv 50, all active. Chain K <- L1 <- m <- L2 <- L3:
#       K pv 300 Chief; L1 pv 100 Leader; m pv 50 Member; L2 pv 100 Leader; L3 pv 100 Leader
#     leaders (>= Leader): K, L1, L2, L3.
#       source L3 (100): L2 g=1 (L3) 10% = 10.00; m not qualified (Member); L1 g=2 (L3, L2) but a Leader is
#         paid 1 generation -> 0; K g=3 (L3, L2, L1) 2% = 2.00
#       source L2 (100): m -; L1 g=1 (L2) 10.00; K g=2 (L2, L1) 5% = 5.00
#       source m (50): L1 g=0; K g=1 (L1) 10% = 5.00
#       source L1 (100): K g=1 10% = 10.00
#       K = 2 + 5 + 5 + 10 = 22.00; L1 = 10.00; L2 = 10.00
EXAMPLES.append(
    Example(
        name="generation_paid_generations",
        plan=make_plan(
            ranks=[{"name": "Member"}, {"name": "Leader", "min_pv": "100"}, {"name": "Chief", "min_pv": "300"}],
            bonuses=[
                {
                    "id": "gen",
                    "type": "generation",
                    "generation_rank": "Leader",
                    "min_rank": "Leader",
                    "rates": ["10%", "5%", "2%"],
                    "paid_generations": {"Leader": 1, "Chief": 3},
                }
            ],
        ),
        members=[
            ("K", None, LONG_AGO),
            ("L1", "K", LONG_AGO),
            ("m", "L1", LONG_AGO),
            ("L2", "m", LONG_AGO),
            ("L3", "L2", LONG_AGO),
        ],
        orders=[order("K", "300"), order("L1", "100"), order("m", "50"), order("L2", "100"), order("L3", "100")],
        expect={
            "K": {"rank": "Chief", "bonuses": {"gen": "22.00"}},
            "L1": {"rank": "Leader", "bonuses": {"gen": "10.00"}},
            "L2": {"bonuses": {"gen": "10.00"}},
            "m": {"rank": "Member", "total": "0"},
        },
        ledger=[
            ("K", "L1", "gen", 1, "10.00"),
            ("K", "m", "gen", 1, "5.00"),
            ("L1", "L2", "gen", 1, "10.00"),
            ("K", "L2", "gen", 2, "5.00"),
            ("L2", "L3", "gen", 1, "10.00"),
            ("K", "L3", "gen", 3, "2.00"),
        ],
    )
)

# 20. Differential with include_self true and false. Ranks Member, Bronze (pv 100), Silver (pv 200),
#     Gold (pv 300); rates Bronze 5%, Silver 8%, Gold 12% on cv; min_pv 50. Chain W <- Z <- Y <- X:
#       X pv 250 Silver; Y pv 100 Bronze; Z pv 300 Gold; W pv 400 Gold.
#     diff_self (include_self true):
#       source X (250): X 8% = 20.00 (level 0); Y 5% <= 8% nothing; Z 12% - 8% = 4% = 10.00 (level 2); W 12% no
#       source Y (100): Y 5% = 5.00; Z 7% = 7.00 (level 1); W no
#       source Z (300): Z 12% = 36.00; W no.    source W (400): W 12% = 48.00
#       X 20.00, Y 5.00, Z 53.00, W 48.00
#     diff_up (include_self false):
#       source X: Y 5% = 12.50 (level 1); Z 7% = 17.50 (level 2); W no
#       source Y: Z 12% = 12.00 (level 1).   source Z: W 12% = 36.00.   source W: no upline
#       Y 12.50, Z 29.50, W 36.00
_DIFF_RATES = {"Bronze": "5%", "Silver": "8%", "Gold": "12%"}
EXAMPLES.append(
    Example(
        name="differential_include_self",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Bronze", "min_pv": "100"},
                {"name": "Silver", "min_pv": "200"},
                {"name": "Gold", "min_pv": "300"},
            ],
            bonuses=[
                {"id": "diff_self", "type": "differential", "rates": _DIFF_RATES},
                {"id": "diff_up", "type": "differential", "include_self": False, "rates": _DIFF_RATES},
            ],
        ),
        members=[("W", None, LONG_AGO), ("Z", "W", LONG_AGO), ("Y", "Z", LONG_AGO), ("X", "Y", LONG_AGO)],
        orders=[order("X", "250"), order("Y", "100"), order("Z", "300"), order("W", "400")],
        expect={
            "X": {"rank": "Silver", "bonuses": {"diff_self": "20.00", "diff_up": "0"}},
            "Y": {"rank": "Bronze", "bonuses": {"diff_self": "5.00", "diff_up": "12.50"}},
            "Z": {"rank": "Gold", "bonuses": {"diff_self": "53.00", "diff_up": "29.50"}, "total": "82.50"},
            "W": {"rank": "Gold", "bonuses": {"diff_self": "48.00", "diff_up": "36.00"}},
        },
        ledger=[
            ("W", "W", "diff_self", 0, "48.00"),
            ("Z", "Z", "diff_self", 0, "36.00"),
            ("Y", "Y", "diff_self", 0, "5.00"),
            ("Z", "Y", "diff_self", 1, "7.00"),
            ("X", "X", "diff_self", 0, "20.00"),
            ("Z", "X", "diff_self", 2, "10.00"),
            ("W", "Z", "diff_up", 1, "36.00"),
            ("Z", "Y", "diff_up", 1, "12.00"),
            ("Y", "X", "diff_up", 1, "12.50"),
            ("Z", "X", "diff_up", 2, "17.50"),
        ],
    )
)

# 21. Matching of a capped bonus. uni: unilevel 10% (1 level), cap_per_member 15; match: rates 50%, 25% on uni,
#     listed BEFORE uni in the file (it still runs after it). min_pv 50, all active.
#       A
#       └── B
#           ├── C
#           │   └── C1
#           └── D
#     pv = cv: A 100, B 100, C 100, D 200, C1 50.
#     uni: source B: A 10.00; C: B 10.00; C1: C 5.00; D: B 20.00 -> B's column 30.00 > 15: a member_cap
#       line (B, B, 0, basis 30.00, -15.00); uni = A 10.00, B 15.00, C 5.00
#     match (basis = uni column after the cap): source B (15.00): A 50% = 7.50;
#       source C (5.00): B 50% = 2.50, A 25% = 1.25; A: no upline; C1, D: 0
#     totals: A 18.75, B 17.50, C 5.00
EXAMPLES.append(
    Example(
        name="matching_a_capped_bonus",
        plan=make_plan(
            bonuses=[
                {"id": "match", "type": "matching", "matches": ["uni"], "rates": ["50%", "25%"]},
                {"id": "uni", "type": "unilevel", "rates": ["10%"], "cap_per_member": "15"},
            ]
        ),
        members=[
            ("A", None, LONG_AGO),
            ("B", "A", LONG_AGO),
            ("C", "B", LONG_AGO),
            ("C1", "C", LONG_AGO),
            ("D", "B", LONG_AGO),
        ],
        orders=[order("A", "100"), order("B", "100"), order("C", "100"), order("D", "200"), order("C1", "50")],
        expect={
            "A": {"bonuses": {"uni": "10.00", "match": "8.75"}, "total": "18.75"},
            "B": {"bonuses": {"uni": "15.00", "match": "2.50"}, "total": "17.50"},
            "C": {"bonuses": {"uni": "5.00", "match": "0"}, "total": "5.00"},
        },
        ledger=[
            ("A", "B", "uni", 1, "10.00"),
            ("B", "C", "uni", 1, "10.00"),
            ("C", "C1", "uni", 1, "5.00"),
            ("B", "D", "uni", 1, "20.00"),
            ("B", "B", "uni", 0, "-15.00", "member_cap"),
            ("A", "B", "match", 1, "7.50"),
            ("B", "C", "match", 1, "2.50"),
            ("A", "C", "match", 2, "1.25"),
        ],
        run_order=["uni", "match"],
        summary={"total_payout": "41.25", "payout_cap": None},
    )
)

# 22. A matching chain run in dependency order. File order: m2 (matches m1 and uni), m1 (matches uni), uni.
#     Run order: uni, m1, m2. Chain A <- B <- C <- D, pv = cv = 100 each, min_pv 50.
#     uni 10% (1 level): source B: A 10.00; C: B 10.00; D: C 10.00
#     m1 50% (1 generation) of uni: source B (10.00): A 5.00; C (10.00): B 5.00; D (0): -; A: no upline
#     m2 20% of m1 + uni: source B (5.00 + 10.00 = 15.00): A 3.00; C (0 + 10.00): B 2.00; D (0): -
#     totals: A 18.00, B 17.00, C 10.00
EXAMPLES.append(
    Example(
        name="matching_chain_run_order",
        plan=make_plan(
            bonuses=[
                {"id": "m2", "type": "matching", "matches": ["m1", "uni"], "rates": ["20%"]},
                {"id": "m1", "type": "matching", "matches": ["uni"], "rates": ["50%"]},
                {"id": "uni", "type": "unilevel", "rates": ["10%"]},
            ]
        ),
        members=[("A", None, LONG_AGO), ("B", "A", LONG_AGO), ("C", "B", LONG_AGO), ("D", "C", LONG_AGO)],
        orders=[order(m, "100") for m in "ABCD"],
        expect={
            "A": {"bonuses": {"uni": "10.00", "m1": "5.00", "m2": "3.00"}, "total": "18.00"},
            "B": {"bonuses": {"uni": "10.00", "m1": "5.00", "m2": "2.00"}, "total": "17.00"},
            "C": {"bonuses": {"uni": "10.00", "m1": "0", "m2": "0"}, "total": "10.00"},
            "D": {"total": "0"},
        },
        ledger=[
            ("A", "B", "uni", 1, "10.00"),
            ("B", "C", "uni", 1, "10.00"),
            ("C", "D", "uni", 1, "10.00"),
            ("A", "B", "m1", 1, "5.00"),
            ("B", "C", "m1", 1, "5.00"),
            ("A", "B", "m2", 1, "3.00"),
            ("B", "C", "m2", 1, "2.00"),
        ],
        run_order=["uni", "m1", "m2"],
    )
)

# 23. Loyalty by active streak and by tenure. Period 2026-03-15..2026-04-14 (a range), min_pv 50; all roots.
#     loyal_streak: tiers 1: 1%; 3: 2% + cash 5; 6: cash 20 (on cv).
#     loyal_tenure (tenure_months; require_active false): tiers 3: cash 10; 12: 1%.
#       p:  enrolled 2026-01-15, 100, state streak 2 -> 3: 2% = 2.00 + 5.00; tenure 01-15 -> 04-14 = 2: none
#       p2: enrolled 2026-01-14, 100, state streak 0 -> 1: 1% = 1.00;   tenure 01-14 -> 04-14 = 3: 10.00
#       q:  enrolled 2025-04-14, 250, state streak 5 -> 6: cash 20.00;  tenure 12: 1% x 250 = 2.50
#       r:  enrolled 2026-01-10, 10 (inactive), state streak 7 -> 0: nothing; tenure 3 (not active, but
#           require_active false): 10.00
#       s:  enrolled 2026-04-01 (inside the period), 60, not in the state -> streak 1: 0.60; tenure 0
#     totals: p 7.00, p2 11.00, q 22.50, r 10.00, s 0.60
_LOYAL_PERIOD = "2026-03-15..2026-04-14"
EXAMPLES.append(
    Example(
        name="loyalty_streak_and_tenure",
        plan=make_plan(
            bonuses=[
                {
                    "id": "loyal_streak",
                    "type": "loyalty",
                    "tiers": [
                        {"min_periods": 1, "rate": "1%"},
                        {"min_periods": 3, "rate": "2%", "cash": "5"},
                        {"min_periods": 6, "cash": "20"},
                    ],
                },
                {
                    "id": "loyal_tenure",
                    "type": "loyalty",
                    "measure": "tenure_months",
                    "require_active": False,
                    "tiers": [{"min_periods": 3, "cash": "10"}, {"min_periods": 12, "rate": "1%"}],
                },
            ]
        ),
        period=_LOYAL_PERIOD,
        members=[
            ("p", None, datetime.date(2026, 1, 15)),
            ("p2", None, datetime.date(2026, 1, 14)),
            ("q", None, datetime.date(2025, 4, 14)),
            ("r", None, datetime.date(2026, 1, 10)),
            ("s", None, datetime.date(2026, 4, 1)),
        ],
        orders=[
            order("p", "100", date=datetime.date(2026, 3, 20)),
            order("p2", "100", date=datetime.date(2026, 4, 14)),
            order("q", "250", date=datetime.date(2026, 3, 15)),
            order("r", "10", date=datetime.date(2026, 3, 31)),
            order("s", "60", date=datetime.date(2026, 4, 2)),
        ],
        prior_state={
            "p": ("Member", 2, "0"),
            "p2": ("Member", 0, "0"),
            "q": ("Member", 5, "0"),
            "r": ("Member", 7, "0"),
        },
        expect={
            "p": {"streak": 3, "bonuses": {"loyal_streak": "7.00", "loyal_tenure": "0"}, "paid": "7.00"},
            "p2": {"streak": 1, "bonuses": {"loyal_streak": "1.00", "loyal_tenure": "10.00"}},
            "q": {"streak": 6, "bonuses": {"loyal_streak": "20.00", "loyal_tenure": "2.50"}},
            "r": {"streak": 0, "active": False, "bonuses": {"loyal_streak": "0", "loyal_tenure": "10.00"}},
            "s": {"streak": 1, "bonuses": {"loyal_streak": "0.60", "loyal_tenure": "0"}},
        },
        ledger=[
            ("p", "p", "loyal_streak", 0, "2.00"),
            ("p", "p", "loyal_streak", 0, "5.00"),
            ("p2", "p2", "loyal_streak", 0, "1.00"),
            ("q", "q", "loyal_streak", 0, "20.00"),
            ("s", "s", "loyal_streak", 0, "0.60"),
            ("p2", "p2", "loyal_tenure", 0, "10.00"),
            ("q", "q", "loyal_tenure", 0, "2.50"),
            ("r", "r", "loyal_tenure", 0, "10.00"),
        ],
        summary={"total_payout": "51.10", "total_paid": "51.10"},
    )
)

# 24. Pool with a largest-remainder tie. share 10%; shares Bronze 1, Gold 2 (Silver inherits Bronze's 1;
#     Member gets none). Ranks Member, Bronze (pv 100), Silver (pv 200), Gold (pv 300); min_pv 50.
#       g1 (pv 300, cv 6.20) Gold
#       ├── b2 (pv 100, cv 1)  Bronze
#       └── s1 (pv 200, cv 2)  Silver
#           └── b1 (pv 100, cv 1) Bronze
#               └── m (pv 60, cv 0) Member
#     total_cv = 10.20 -> P = 10% = 1.02 = 102 cents; T = 1 + 1 + 1 + 2 = 5.
#       b1: 102/5 = 20 rem 2; b2: 20 rem 2; s1: 20 rem 2; g1: 204/5 = 40 rem 4; sum 100, 2 cents left:
#       g1 (rem 4) and then the tie at rem 2 goes to the earliest in canonical order: b1 (b1 < b2 < g1 < m < s1),
#       although b2 comes first in tree order (g1, b2, s1, b1, m).
#     b1 0.21, b2 0.20, s1 0.20, g1 0.41 (sum 1.02); lines (m, m, 0, basis 10.20, rate 10%).
EXAMPLES.append(
    Example(
        name="pool_largest_remainder_tie",
        plan=make_plan(
            ranks=[
                {"name": "Member"},
                {"name": "Bronze", "min_pv": "100"},
                {"name": "Silver", "min_pv": "200"},
                {"name": "Gold", "min_pv": "300"},
            ],
            bonuses=[{"id": "pool", "type": "pool", "share": "10%", "shares_by_rank": {"Bronze": 1, "Gold": 2}}],
        ),
        members=[
            ("g1", None, LONG_AGO),
            ("b2", "g1", LONG_AGO),
            ("s1", "g1", LONG_AGO),
            ("b1", "s1", LONG_AGO),
            ("m", "b1", LONG_AGO),
        ],
        orders=[
            order("g1", "300", "6.20"),
            order("b2", "100", "1"),
            order("s1", "200", "2"),
            order("b1", "100", "1"),
            order("m", "60", "0"),
        ],
        expect={
            "g1": {"rank": "Gold", "bonuses": {"pool": "0.41"}},
            "b1": {"rank": "Bronze", "bonuses": {"pool": "0.21"}},
            "b2": {"rank": "Bronze", "bonuses": {"pool": "0.20"}},
            "s1": {"rank": "Silver", "bonuses": {"pool": "0.20"}},
            "m": {"rank": "Member", "total": "0"},
        },
        ledger=[
            ("g1", "g1", "pool", 0, "0.41"),
            ("b2", "b2", "pool", 0, "0.20"),
            ("s1", "s1", "pool", 0, "0.20"),
            ("b1", "b1", "pool", 0, "0.21"),
        ],
        summary={"total_cv": "10.20", "total_payout": "1.02"},
    )
)

# 25. Team goals: gv >= 500 pays 50 (level 1); new_actives >= 2 pays 20 + "Team pin" (level 2);
#     personal_new_actives >= 2 gives "Recruiter badge" (level 3, no cash). min_pv 50; period 2026-10.
#       L (100, long ago)
#       ├── N1 (100, enrolled 10-05)      new, active
#       │   └── N11 (100, enrolled 10-20) new, active
#       ├── N2 (20, enrolled 10-07)       new, inactive
#       ├── N4 (100, enrolled 10-31)      new, active
#       └── O (40, long ago)              inactive
#           └── N3 (600, enrolled 10-01)  new, active
#     gv: N11 100, N1 200, N2 20, N4 100, N3 600, O 640, L 100 + 200 + 20 + 100 + 640 = 1060.
#     L: gv 1060 -> 50; new actives below: N1, N11, N4, N3 = 4 -> 20 + Team pin;
#        frontline new actives N1, N4 = 2 -> Recruiter badge.
#     N1: gv 200; 1 new active below -> nothing. N3: gv 600 -> 50. O: gv 640 but inactive (not qualified).
EXAMPLES.append(
    Example(
        name="team_goal_measures",
        plan=make_plan(
            bonuses=[
                {
                    "id": "goals",
                    "type": "team_goal",
                    "goals": [
                        {"measure": "gv", "target": "500", "cash": "50"},
                        {"measure": "new_actives", "target": 2, "cash": "20", "award": "Team pin"},
                        {"measure": "personal_new_actives", "target": 2, "award": "Recruiter badge"},
                    ],
                }
            ]
        ),
        members=[
            ("L", None, LONG_AGO),
            ("N1", "L", day(5)),
            ("N11", "N1", day(20)),
            ("N2", "L", day(7)),
            ("N4", "L", day(31)),
            ("O", "L", LONG_AGO),
            ("N3", "O", day(1)),
        ],
        orders=[
            order("L", "100"),
            order("N1", "100", date=day(5)),
            order("N11", "100", date=day(20)),
            order("N2", "20", date=day(8)),
            order("N4", "100", date=day(31)),
            order("O", "40"),
            order("N3", "600", date=day(2)),
        ],
        expect={
            "L": {"gv": "1060", "bonuses": {"goals": "70"}},
            "N1": {"total": "0"},
            "N3": {"bonuses": {"goals": "50"}},
            "O": {"gv": "640", "active": False, "total": "0"},
        },
        ledger=[("L", "L", "goals", 1, "50"), ("L", "L", "goals", 2, "20"), ("N3", "N3", "goals", 1, "50")],
        awards=[("L", "goals", "", "Team pin"), ("L", "goals", "", "Recruiter badge")],
    )
)

# 26. Actions: enrolment paid to the sponsor (10, at most 2 per period), training paid to the member (5 +
#     "Certificate", at most 1), referral paid to the sponsor (3, no limit). min_pv 50; period 2026-10.
#       S (100, long ago): n1 (60, enrolled 10-20), n2 (0, 10-03, inactive), n3 (60, 10-03), n4 (0, 10-12)
#       T (10, long ago, inactive): n5 (100, 10-08)
#     enrolment events: n2 10-03, n3 10-03, n5 10-08, n4 10-12, n1 10-20.
#       S: n2, n3 (the earliest two; same date: canonical id order), not n4, n1 -> 10.00 + 10.00
#       T: inactive, not qualified -> nothing for n5
#     training (events file): n3 10-25, S 10-02, n3 10-04, n2 10-05, n1 10-21, n1 10-21.
#       n3: earliest 10-04 -> 5.00; S: 5.00; n2 inactive: nothing; n1: the first of two on 10-21 -> 5.00
#     referral: n1 10-22, n1 10-23 -> sponsor S 3.00 twice; n5 10-09 -> sponsor T inactive: nothing.
#     S = 10 + 10 + 5 + 3 + 3 = 31.00; n1 5.00; n3 5.00. Awards Certificate: S, n1, n3.
_ACTION_EVENTS = [
    ("n3", "training", day(25)),
    ("S", "training", day(2)),
    ("n3", "training", day(4)),
    ("n2", "training", day(5)),
    ("n1", "training", day(21)),
    ("n1", "training", day(21)),
    ("n1", "referral", day(22)),
    ("n1", "referral", day(23)),
    ("n5", "referral", day(9)),
]
EXAMPLES.append(
    Example(
        name="action_sponsor_max_per_period",
        plan=make_plan(
            bonuses=[
                {
                    "id": "actions",
                    "type": "action",
                    "events": [
                        {"event": "enrolment", "payee": "sponsor", "cash": "10", "max_per_period": 2},
                        {"event": "training", "cash": "5", "award": "Certificate", "max_per_period": 1},
                        {"event": "referral", "payee": "sponsor", "cash": "3"},
                    ],
                }
            ]
        ),
        members=[
            ("S", None, LONG_AGO),
            ("n1", "S", day(20)),
            ("n2", "S", day(3)),
            ("n3", "S", day(3)),
            ("n4", "S", day(12)),
            ("T", None, LONG_AGO),
            ("n5", "T", day(8)),
        ],
        orders=[
            order("S", "100"),
            order("n1", "60", date=day(20)),
            order("n3", "60", date=day(3)),
            order("T", "10"),
            order("n5", "100", date=day(8)),
        ],
        events=_ACTION_EVENTS,
        expect={
            "S": {"bonuses": {"actions": "31.00"}},
            "n1": {"bonuses": {"actions": "5.00"}},
            "n2": {"active": False, "total": "0"},
            "n3": {"bonuses": {"actions": "5.00"}},
            "T": {"total": "0"},
            "n5": {"total": "0"},
        },
        ledger=[
            ("S", "n2", "actions", 0, "10.00"),
            ("S", "n3", "actions", 0, "10.00"),
            ("S", "S", "actions", 0, "5.00"),
            ("n3", "n3", "actions", 0, "5.00"),
            ("n1", "n1", "actions", 0, "5.00"),
            ("S", "n1", "actions", 0, "3.00"),
            ("S", "n1", "actions", 0, "3.00"),
        ],
        awards=[
            ("S", "actions", "", "Certificate"),
            ("n1", "actions", "", "Certificate"),
            ("n3", "actions", "", "Certificate"),
        ],
    )
)

# 27. Company payout cap binding, with a remainder tie. Plan order: pt2 (25% of pv from pv 20), pt (50% of cv),
#     fixed (team goal gv >= 10 pays 1.00, not scalable); payout_cap max_share 20%, scalable [pt, pt2] (listed
#     in the other order: ties follow the plan). min_pv 10. Roots: a (pv 20, cv 10), b (pv 10, cv 10),
#     d (pv 0, cv 40: inactive).
#       pt2: a 5.00.  pt: a 5.00, b 5.00.  fixed: a 1.00, b 1.00.  P = 17.00.
#       total_cv 60.00 -> limit = floor(60 x 20%) = 12.00 < 17.00: binding.
#       positive scalable cells (member, then plan order): (a, pt2) 500, (a, pt) 500, (b, pt) 500; S = 1500
#       S' = 1500 - (1700 - 1200) = 1000; each 500 x 1000 / 1500 = 333 rem 500; 1 cent left over: the tie
#       goes to the earliest member, a, then the earliest bonus in the plan, pt2.
#       (a, pt2) 3.34 (-1.66), (a, pt) 3.33 (-1.67), (b, pt) 3.33 (-1.67); company_cap lines with basis 5.00.
#     totals: a 3.34 + 3.33 + 1.00 = 7.67; b 4.33; total payout 12.00 = the limit.
#     Report: limit 12.00, before 17.00, after 12.00, cut 5.00, scale 1000/1500 = 0.666667, binding_short 0.
EXAMPLES.append(
    Example(
        name="company_cap_remainder_tie",
        plan=Plan.model_validate(
            {
                "plan": {"name": "Capped", "currency": "USD"},
                "activity": {"min_pv": "10"},
                "ranks": [{"name": "Member"}],
                "bonuses": [
                    {
                        "id": "pt2",
                        "type": "personal_tier",
                        "basis": "pv",
                        "tiers": [{"min_volume": "20", "rate": "25%"}],
                    },
                    {"id": "pt", "type": "personal_tier", "tiers": [{"min_volume": "0", "rate": "50%"}]},
                    {"id": "fixed", "type": "team_goal", "goals": [{"measure": "gv", "target": "10", "cash": "1"}]},
                ],
                "payout_cap": {"max_share": "20%", "scalable": ["pt", "pt2"]},
            }
        ),
        members=[("a", None, LONG_AGO), ("b", None, LONG_AGO), ("d", None, LONG_AGO)],
        orders=[order("a", "20", "10"), order("b", "10"), order("d", "0", "40")],
        expect={
            "a": {"bonuses": {"pt2": "3.34", "pt": "3.33", "fixed": "1.00"}, "total": "7.67", "paid": "7.67"},
            "b": {"bonuses": {"pt2": "0", "pt": "3.33", "fixed": "1.00"}, "total": "4.33"},
            "d": {"active": False, "total": "0"},
        },
        ledger=[
            ("a", "a", "pt2", 0, "5.00"),
            ("a", "a", "pt", 0, "5.00"),
            ("b", "b", "pt", 0, "5.00"),
            ("a", "a", "fixed", 1, "1.00"),
            ("b", "b", "fixed", 1, "1.00"),
            ("a", "a", "pt2", 0, "-1.66", "company_cap"),
            ("a", "a", "pt", 0, "-1.67", "company_cap"),
            ("b", "b", "pt", 0, "-1.67", "company_cap"),
        ],
        summary={
            "total_payout": "12.00",
            "total_paid": "12.00",
            "payout_cap": {
                "limit": "12.00",
                "before": "17.00",
                "after": "12.00",
                "cut": "5.00",
                "binding": True,
                "scale": "1000/1500",
                "binding_short": "0",
            },
        },
    )
)

# 28. A company cap that cannot bind fully (S' = 0), and a cap that does not bind. Roots a (pv = cv 10),
#     b (pv = cv 0, inactive). fixed: team goal gv >= 10 pays 10 (not scalable); pt: 10% of cv (scalable).
#     max_share 10%: limit = floor(10 x 10%) = 1.00. P = 10.00 + 1.00 = 11.00 > 1.00;
#     S = 1.00, S' = max(0, 1.00 - 10.00) = 0: pt of a -> 0 (company_cap line -1.00); after 10.00,
#     binding_short 10.00 - 1.00 = 9.00.
EXAMPLES.append(
    Example(
        name="company_cap_binding_short",
        plan=Plan.model_validate(
            {
                "plan": {"name": "Short", "currency": "USD"},
                "activity": {"min_pv": "10"},
                "ranks": [{"name": "Member"}],
                "bonuses": [
                    {"id": "fixed", "type": "team_goal", "goals": [{"measure": "gv", "target": "10", "cash": "10"}]},
                    {"id": "pt", "type": "personal_tier", "tiers": [{"min_volume": "0", "rate": "10%"}]},
                ],
                "payout_cap": {"max_share": "10%", "scalable": ["pt"]},
            }
        ),
        members=[("a", None, LONG_AGO), ("b", None, LONG_AGO)],
        orders=[order("a", "10")],
        expect={"a": {"bonuses": {"fixed": "10.00", "pt": "0"}, "total": "10.00"}},
        ledger=[
            ("a", "a", "fixed", 1, "10.00"),
            ("a", "a", "pt", 0, "1.00"),
            ("a", "a", "pt", 0, "-1.00", "company_cap"),
        ],
        summary={
            "payout_cap": {
                "limit": "1.00",
                "before": "11.00",
                "after": "10.00",
                "cut": "1.00",
                "binding": True,
                "scale": "0/100",
                "binding_short": "9.00",
            }
        },
    )
)

# 29. Balances and the payout minimum (20). Personal tier 10% of cv from pv 0; min_pv 0; roots.
#       p: earns 40.00, state balance -15.00 (a debt) -> payable 25.00 >= 20: paid 25.00, balance out 0
#       q: earns 20.00, state balance -50.00 -> payable -30.00 < 0: paid 0, balance out -30.00 (debt carried)
#       r: earns 15.00, no state -> payable 15.00 < 20: held over, balance out 15.00
#       s: earns 10.00, state balance 12.00 (held over before) -> 22.00: paid 22.00
#       t: earns 0, state balance 5.00 -> 5.00 < 20: balance out 5.00 (pv 0 >= min_pv 0: active, streak 2 -> 3)
#       u: earns 20.00 exactly the minimum -> paid 20.00
#       v: a return: pv 0, cv -30 (inactive: cv < min_cv 0; the pv tier 0 applies) -> -3.00, state balance 0
#          -> payable -3.00: balance out -3.00
#     total_payout 40 + 20 + 15 + 10 + 0 + 20 - 3 = 102.00; total_paid 25 + 22 + 20 = 67.00;
#     balance carried (sum of balance out) -30 + 15 + 5 - 3 = -13.00.
EXAMPLES.append(
    Example(
        name="balances_and_payout_minimum",
        plan=Plan.model_validate(
            {
                "plan": {"name": "Balances", "currency": "USD"},
                "activity": {"min_pv": "0"},
                "ranks": [{"name": "Member"}],
                "bonuses": [
                    {
                        "id": "pt",
                        "type": "personal_tier",
                        "require_active": False,
                        "tiers": [{"min_volume": "0", "rate": "10%"}],
                    }
                ],
                "payout": {"minimum": "20"},
            }
        ),
        members=[(m, None, LONG_AGO) for m in ("p", "q", "r", "s", "t", "u", "v")],
        orders=[
            order("p", "400"),
            order("q", "200"),
            order("r", "150"),
            order("s", "100"),
            order("u", "200"),
            order("v", "0", "-30"),
        ],
        prior_state={
            "p": ("Member", 4, "-15.00"),
            "q": ("Member", 0, "-50.00"),
            "s": ("Member", 1, "12.00"),
            "t": ("Member", 2, "5.00"),
            "v": ("Member", 0, "0"),
        },
        expect={
            "p": {"total": "40.00", "balance_in": "-15.00", "paid": "25.00", "balance_out": "0", "streak": 5},
            "q": {"total": "20.00", "balance_in": "-50.00", "paid": "0", "balance_out": "-30.00"},
            "r": {"total": "15.00", "balance_in": "0", "paid": "0", "balance_out": "15.00"},
            "s": {"total": "10.00", "balance_in": "12.00", "paid": "22.00", "balance_out": "0"},
            "t": {"total": "0", "balance_in": "5.00", "paid": "0", "balance_out": "5.00", "streak": 3},
            "u": {"total": "20.00", "paid": "20.00", "balance_out": "0"},
            "v": {"total": "-3.00", "paid": "0", "balance_out": "-3.00", "active": False},
        },
        ledger=[
            ("p", "p", "pt", 0, "40.00"),
            ("q", "q", "pt", 0, "20.00"),
            ("r", "r", "pt", 0, "15.00"),
            ("s", "s", "pt", 0, "10.00"),
            ("u", "u", "pt", 0, "20.00"),
            ("v", "v", "pt", 0, "-3.00"),
        ],
        summary={"total_payout": "102.00", "total_paid": "67.00", "balance_carried": "-13.00"},
    )
)


# 30. plans/hybrid_leadership.yaml (USD, half_even; activity min_pv 100). Period 2026-10, pv = cv.
#       D (100)
#       ├── M1 (100)
#       │   ├── x1a (2400)
#       │   └── x1b (400)
#       ├── M2 (100)
#       │   ├── x2a (2400)
#       │   └── x2b (300)
#       └── N (200, enrolled 10-10, ordered 10-10)
#     gv: M1 2900, M2 2800, N 200, D 6000. All active.
#     Ranks: x's, N: no active frontline -> Associate. M1, M2: pv 100, gv >= 1500, 2 actives -> Manager
#       (Director needs legs Manager x 2). D: Director: qv = 100 + min(2900, 2500) + min(2800, 2500) + 200 = 5300
#       >= 5000 (leg cap 50% of 5000), legs with a Manager: M1, M2; Executive needs qv 15000.
#     State in: D Manager, streak 11, balance -37.00; M1 Manager, 2; M2 Consultant, 5; x1a Associate, 0;
#       x1b Associate, 0, balance 12.50; x2b Associate, 0, balance -30.00.
#     fast_start (30 days, 25%, 5%): N 200 -> D 25% = 50.00 (D is the root: no generation 2)
#     unilevel (dynamic; 5, 5, 4, ...; Associate 1 level, Manager 5, Director 7):
#       M1 -> D 5.00; x1a -> M1 120.00, D 120.00; x1b -> M1 20.00, D 20.00; M2 -> D 5.00;
#       x2a -> M2 120.00, D 120.00; x2b -> M2 15.00, D 15.00; N -> D 10.00
#       D 295.00, M1 140.00, M2 135.00
#     generation (leaders: qualified Directors = D only): below D nobody is a leader, so every source is in D's
#       personal group (g = 0): nothing.
#     check_match (min_rank Manager; 20%, 10%; Manager 1 generation, Director inherits 1): basis = unilevel +
#       generation: M1 140.00 -> D 28.00; M2 135.00 -> D 27.00. D 55.00 (cap 5000 not reached)
#     loyalty (streak 3: 1%, 6: 2%, 12: 2% + 25): D 11 -> 12: 2.00 + 25.00; M1 2 -> 3: 1.00; M2 5 -> 6: 2.00;
#       the others 0 or absent -> 1: nothing
#     leadership_pool (min_rank Executive): no qualifier -> nothing
#     enrolment (action): N enrolled 10-10 -> sponsor D 10.00; training_completed of x1b 10-12 -> award only
#     advancement: D Manager -> Director: 500.00 (level 3)
#     D = 50 + 295 + 55 + 27 + 10 + 500 = 937.00; M1 141.00; M2 137.00; P = 1215.00
#     payout cap 45% of 6000 = 2700.00: not binding.
#     payout (minimum 20): D 937.00 - 37.00 = 900.00 paid; M1 141.00, M2 137.00 paid; x1b 12.50 < 20 held;
#       x2b -30.00 carried. total_paid 1178.00; balance carried -17.50.
def _hybrid() -> Example:
    plan = load_plan(PLANS / "hybrid_leadership.yaml")
    return Example(
        name="plan_hybrid_leadership",
        plan=plan,
        members=[
            ("D", None, LONG_AGO),
            ("M1", "D", LONG_AGO),
            ("x1a", "M1", LONG_AGO),
            ("x1b", "M1", LONG_AGO),
            ("M2", "D", LONG_AGO),
            ("x2a", "M2", LONG_AGO),
            ("x2b", "M2", LONG_AGO),
            ("N", "D", day(10)),
        ],
        orders=[
            order("D", "100"),
            order("M1", "100"),
            order("x1a", "2400"),
            order("x1b", "400"),
            order("M2", "100"),
            order("x2a", "2400"),
            order("x2b", "300"),
            order("N", "200", date=day(10)),
        ],
        prior_state={
            "D": ("Manager", 11, "-37.00"),
            "M1": ("Manager", 2, "0"),
            "M2": ("Consultant", 5, "0"),
            "x1a": ("Associate", 0, "0"),
            "x1b": ("Associate", 0, "12.50"),
            "x2b": ("Associate", 0, "-30.00"),
        },
        events=[("x1b", "training_completed", day(12))],
        expect={
            "D": {
                "gv": "6000",
                "qv": "5300",
                "rank": "Director",
                "highest_rank": "Director",
                "streak": 12,
                "bonuses": {
                    "fast_start": "50.00",
                    "unilevel": "295.00",
                    "generation": "0",
                    "check_match": "55.00",
                    "loyalty": "27.00",
                    "leadership_pool": "0",
                    "enrolment": "10.00",
                    "advancement": "500.00",
                },
                "total": "937.00",
                "balance_in": "-37.00",
                "paid": "900.00",
                "balance_out": "0",
            },
            "M1": {"rank": "Manager", "gv": "2900", "streak": 3, "total": "141.00", "paid": "141.00"},
            "M2": {"rank": "Manager", "highest_rank": "Manager", "streak": 6, "total": "137.00", "paid": "137.00"},
            "x1a": {"rank": "Associate", "streak": 1, "total": "0"},
            "x1b": {"total": "0", "balance_in": "12.50", "paid": "0", "balance_out": "12.50"},
            "x2b": {"total": "0", "balance_out": "-30.00"},
            "N": {"rank": "Associate", "streak": 1, "total": "0"},
        },
        ledger=[
            ("D", "N", "fast_start", 1, "50.00"),
            ("D", "M1", "unilevel", 1, "5.00"),
            ("M1", "x1a", "unilevel", 1, "120.00"),
            ("D", "x1a", "unilevel", 2, "120.00"),
            ("M1", "x1b", "unilevel", 1, "20.00"),
            ("D", "x1b", "unilevel", 2, "20.00"),
            ("D", "M2", "unilevel", 1, "5.00"),
            ("M2", "x2a", "unilevel", 1, "120.00"),
            ("D", "x2a", "unilevel", 2, "120.00"),
            ("M2", "x2b", "unilevel", 1, "15.00"),
            ("D", "x2b", "unilevel", 2, "15.00"),
            ("D", "N", "unilevel", 1, "10.00"),
            ("D", "M1", "check_match", 1, "28.00"),
            ("D", "M2", "check_match", 1, "27.00"),
            ("D", "D", "loyalty", 0, "2.00"),
            ("D", "D", "loyalty", 0, "25.00"),
            ("M1", "M1", "loyalty", 0, "1.00"),
            ("M2", "M2", "loyalty", 0, "2.00"),
            ("D", "N", "enrolment", 0, "10.00"),
            ("D", "D", "advancement", 3, "500.00"),
        ],
        awards=[("x1b", "enrolment", "", "Training certificate")],
        summary={
            "total_payout": "1215.00",
            "total_paid": "1178.00",
            "balance_carried": "-17.50",
            "total_cv": "6000",
            "payout_cap": {
                "limit": "2700.00",
                "before": "1215.00",
                "after": "1215.00",
                "cut": "0",
                "binding": False,
                "scale": None,
                "binding_short": "0",
            },
        },
    )


EXAMPLES.append(_hybrid())


# 20. plans/binary_weekly.yaml (USD, down), the two weeks of docs/examples.md.
#     Sponsors: A -> B, C; B -> D, E, F (F enrolled 10-01); C -> G. Placement: B = A.L, C = A.R, D = B.L,
#     E = B.R, F = E.L, G = C.L. The state in gives G a left carry of 500 and 3 inactive weeks.
#     Week 1: A 60, B 100, C 80, D 400, E 50, F 300, G 30 (inactive). A, B Builders.
#       A: L = B+D+E+F = 850, R = C+G = 110; B left and C right are active sponsored: pays 10% x 110 = 11.00;
#          carry 740 / 0. B: L = D 400, R = E+F 350; D left, E right: 35.00; carry 50 / 0.
#       C: G is inactive -> not qualified, carry 30 / 0. E: sponsored nobody, carry 300 / 0.
#       G: 500 + 0 carried, but a 4th inactive week flushes it: 0 / 0.
#       check match: A (Builder, 10% of generation 1) on B's 35.00 = 3.50. fast start: F's 300 -> B 60.00.
#     Week 2 (the state of week 1): A 50, B 60, C 3000, E 1700, F 200; D, G nothing.
#       A: L = 740 + (B+E+F = 1960) = 2700, R = 3000: 270.00, capped at 250 (member_cap -20.00); carry 0 / 300.
#       B: L = 50, R = 1900, D (left) inactive: not qualified; carry 50 / 1900 -> max_carry 1500.
#       E: L = 300 + 200 = 500. F's 200 on day 12: fast start B 40.00.
_BINARY_MEMBERS = [
    ("A", None, datetime.date(2026, 1, 5), None, None),
    ("B", "A", datetime.date(2026, 2, 2), "A", "L"),
    ("C", "A", datetime.date(2026, 3, 2), "A", "R"),
    ("D", "B", datetime.date(2026, 4, 6), "B", "L"),
    ("E", "B", datetime.date(2026, 5, 4), "B", "R"),
    ("F", "B", datetime.date(2026, 10, 1), "E", "L"),
    ("G", "C", datetime.date(2026, 6, 1), "C", "L"),
]
EXAMPLES.append(
    Example(
        name="plan_binary_weekly",
        plan=load_plan(PLANS / "binary_weekly.yaml"),
        members=_BINARY_MEMBERS,  # type: ignore[arg-type]
        orders=[
            order("A", "60", date=day(5)),
            order("B", "100", date=day(6)),
            order("C", "80", date=day(6)),
            order("D", "400", date=day(7)),
            order("E", "50", date=day(8)),
            order("F", "300", date=day(6)),
            order("G", "30", date=day(9)),
        ],
        period="2026-10-05..2026-10-11",
        prior_state={"G": ("Affiliate", 0, "0", "500", "0", 3)},
        expect={
            "A": {
                "rank": "Builder",
                "bonuses": {"binary": "11.00", "check_match": "3.50"},
                "total": "14.50",
                "leg_left": "850",
                "leg_right": "110",
                "carry_left": "740",
                "carry_right": "0",
            },
            "B": {
                "rank": "Builder",
                "bonuses": {"binary": "35.00", "fast_start": "60.00"},
                "total": "95.00",
                "carry_left": "50",
                "carry_right": "0",
            },
            "C": {"rank": "Affiliate", "carry_left": "30"},
            "E": {"carry_left": "300"},
            "G": {"active": False, "carry_left": "0", "idle": 4},
        },
        ledger=[
            ("A", "A", "binary", 0, "11.00"),
            ("B", "B", "binary", 0, "35.00"),
            ("A", "B", "check_match", 1, "3.50"),
            ("B", "F", "fast_start", 1, "60.00"),
        ],
    )
)
EXAMPLES.append(
    Example(
        name="binary_weekly_second_week",
        plan=load_plan(PLANS / "binary_weekly.yaml"),
        members=_BINARY_MEMBERS,  # type: ignore[arg-type]
        orders=[
            order("A", "50", date=day(12)),
            order("B", "60", date=day(13)),
            order("C", "3000", date=day(14)),
            order("E", "1700", date=day(15)),
            order("F", "200", date=day(13)),
        ],
        period="2026-10-12..2026-10-18",
        prior_state={
            "A": ("Builder", 1, "0", "740", "0", 0),
            "B": ("Builder", 1, "0", "50", "0", 0),
            "C": ("Affiliate", 1, "0", "30", "0", 0),
            "D": ("Affiliate", 1, "0", "0", "0", 0),
            "E": ("Affiliate", 1, "0", "300", "0", 0),
            "F": ("Affiliate", 1, "0", "0", "0", 0),
            "G": ("Affiliate", 0, "0", "0", "0", 4),
        },
        expect={
            "A": {"bonuses": {"binary": "250.00"}, "total": "250.00", "carry_left": "0", "carry_right": "300"},
            "B": {"bonuses": {"binary": "0", "fast_start": "40.00"}, "carry_left": "50", "carry_right": "1500"},
            "E": {"carry_left": "500"},
            "D": {"active": False, "idle": 1},
        },
        ledger=[
            ("A", "A", "binary", 0, "270.00"),
            ("A", "A", "binary", 0, "-20.00", "member_cap"),
            ("B", "F", "fast_start", 1, "40.00"),
        ],
    )
)


# 21. plans/forced_matrix.yaml (EUR, half_up), placed by `compplan place` as in docs/examples.md.
#     Sponsors: A -> B, C, D, E, G; B -> F; C -> H (G, H enrolled in October). Placement (width 3,
#     breadth first): A: B, C, D; B: E, F, G; C: H. Orders: A 50, B 60, C 40, E 100, F 45, G 200, H 30.
#     Active (>= 40): A, B, C, E, F, G. A and B Associates (paid 4 levels), the rest Members (1 level).
#     Matrix (dynamic, 5%): B, C -> A 3.00, 2.00; E, F, G -> B 5.00, 2.25, 10.00 and A the same at level 2;
#       H -> C 1.50 (level 1), A 1.50 (level 2). A 23.75, B 17.25, C 1.50.
#     Matching (Associates, 20% of personal enrollees' matrix): A on B 17.25 -> 3.45, on C 1.50 -> 0.30.
#     Enrolment (10.00 to the sponsor): G -> A, H -> C. Totals A 37.50, B 17.25, C 11.50.
EXAMPLES.append(
    Example(
        name="plan_forced_matrix",
        plan=load_plan(PLANS / "forced_matrix.yaml"),
        members=[
            ("A", None, day(1, 1), None, None),
            ("B", "A", day(1, 2), "A", 1),
            ("C", "A", day(1, 3), "A", 2),
            ("D", "A", day(1, 4), "A", 3),
            ("E", "A", day(1, 5), "B", 1),
            ("F", "B", day(1, 6), "B", 2),
            ("G", "A", day(5), "B", 3),
            ("H", "C", day(9), "C", 1),
        ],  # type: ignore[list-item]
        orders=[
            order("A", "50", date=day(2)),
            order("B", "60", date=day(3)),
            order("C", "40", date=day(4)),
            order("E", "100", date=day(5)),
            order("F", "45", date=day(6)),
            order("G", "200", date=day(7)),
            order("H", "30", date=day(10)),
        ],
        expect={
            "A": {
                "rank": "Associate",
                "bonuses": {"matrix": "23.75", "matching": "3.75", "enrolment": "10.00"},
                "total": "37.50",
            },
            "B": {"rank": "Associate", "bonuses": {"matrix": "17.25"}, "total": "17.25"},
            "C": {"rank": "Member", "bonuses": {"matrix": "1.50", "enrolment": "10.00"}, "total": "11.50"},
            "D": {"active": False, "total": "0"},
            "H": {"active": False},
        },
        ledger=[
            ("A", "B", "matrix", 1, "3.00"),
            ("A", "C", "matrix", 1, "2.00"),
            ("B", "E", "matrix", 1, "5.00"),
            ("A", "E", "matrix", 2, "5.00"),
            ("B", "F", "matrix", 1, "2.25"),
            ("A", "F", "matrix", 2, "2.25"),
            ("B", "G", "matrix", 1, "10.00"),
            ("A", "G", "matrix", 2, "10.00"),
            ("C", "H", "matrix", 1, "1.50"),
            ("A", "H", "matrix", 2, "1.50"),
            ("A", "B", "matching", 1, "3.45"),
            ("A", "C", "matching", 1, "0.30"),
            ("A", "G", "enrolment", 0, "10.00"),
            ("C", "H", "enrolment", 0, "10.00"),
        ],
    )
)

# 31. Action ties under max_per_period. Period 2026-10, min_pv 0 (everyone active). S sponsors c1, c2, c3, all
#     enrolled 10-05. enrolment (payee sponsor, 10, at most 1): three events on 10-05 -> the tie goes by canonical
#     id: c1 only. training (payee sponsor, 2, at most 1), events file: c3 10-07, c2 10-07, c1 10-08 -> the
#     earliest date is shared by c3 and c2: file order picks c3. webinar (payee member, 1 + "Pin", at most 2):
#     c2 10-09, c2 10-06, c2 10-09, c2 10-09 -> 10-06 and the first 10-09 row: 2 x 1.00 and 2 pins.
#     S = 10.00 (source c1) + 2.00 (source c3); c2 = 2.00.
EXAMPLES.append(
    Example(
        name="action_ties_canonical_and_file_order",
        plan=make_plan(
            bonuses=[
                {
                    "id": "acts",
                    "type": "action",
                    "events": [
                        {"event": "enrolment", "payee": "sponsor", "cash": "10", "max_per_period": 1},
                        {"event": "training", "payee": "sponsor", "cash": "2", "max_per_period": 1},
                        {"event": "webinar", "cash": "1", "award": "Pin", "max_per_period": 2},
                    ],
                }
            ],
            min_pv="0",
        ),
        members=[("S", None, LONG_AGO), ("c3", "S", day(5)), ("c2", "S", day(5)), ("c1", "S", day(5))],
        orders=[],
        events=[
            ("c3", "training", day(7)),
            ("c2", "training", day(7)),
            ("c1", "training", day(8)),
            ("c2", "webinar", day(9)),
            ("c2", "webinar", day(6)),
            ("c2", "webinar", day(9)),
            ("c2", "webinar", day(9)),
        ],
        expect={"S": {"bonuses": {"acts": "12.00"}}, "c2": {"bonuses": {"acts": "2.00"}}, "c1": {"total": "0"}},
        ledger=[
            ("S", "c1", "acts", 0, "10.00"),
            ("S", "c3", "acts", 0, "2.00"),
            ("c2", "c2", "acts", 0, "1.00"),
            ("c2", "c2", "acts", 0, "1.00"),
        ],
        awards=[("c2", "acts", "", "Pin"), ("c2", "acts", "", "Pin")],
    )
)

# 32. Tenure at the end of a month. docs/semantics.md only gives 2026-01-15 -> 2026-04-14 = 2, -> 04-15 = 3.
#     Read literally (a month is complete when the enrolment day of the month is reached), a member enrolled on
#     2026-01-31 has 2 whole months at the end of April (2026-04-30: there is no April 31) and 0 at the end of
#     February; one enrolled 2026-01-30 has 3 at 2026-04-30. Tiers 1: cash 1, 2: cash 2, 3: cash 3 (the last
#     tier reached pays). Period 2026-04, min_pv 0, require_active false; roots without orders.
#       e31 (01-31): 2 -> 2.00;  e30 (01-30): 3 -> 3.00;  e28 (2026-02-28): 2 (02-28 -> 04-28) -> 2.00;
#       e01 (2026-03-31): 0 (04-30 < 04-31 does not exist) -> nothing
EXAMPLES.append(
    Example(
        name="tenure_months_at_month_end",
        plan=make_plan(
            bonuses=[
                {
                    "id": "tenure",
                    "type": "loyalty",
                    "measure": "tenure_months",
                    "require_active": False,
                    "tiers": [
                        {"min_periods": 1, "cash": "1"},
                        {"min_periods": 2, "cash": "2"},
                        {"min_periods": 3, "cash": "3"},
                    ],
                }
            ],
            min_pv="0",
        ),
        period="2026-04",
        members=[
            ("e31", None, datetime.date(2026, 1, 31)),
            ("e30", None, datetime.date(2026, 1, 30)),
            ("e28", None, datetime.date(2026, 2, 28)),
            ("e01", None, datetime.date(2026, 3, 31)),
        ],
        orders=[],
        expect={
            "e31": {"total": "2.00"},
            "e30": {"total": "3.00"},
            "e28": {"total": "2.00"},
            "e01": {"total": "0"},
        },
        ledger=[
            ("e31", "e31", "tenure", 0, "2.00"),
            ("e30", "e30", "tenure", 0, "3.00"),
            ("e28", "e28", "tenure", 0, "2.00"),
        ],
    )
)


# --------------------------------------------------------------------------------------------------------
# Running an example through the reference


def run_reference(ex: Example) -> RefResult:
    return reference_close(ex.plan, ex.members, ex.orders, ex.start, ex.end, prior_state=ex.state_in, events=ex.events)


MONEY_FIELDS = ("total", "balance_in", "paid", "balance_out")


def check_reference(ex: Example, res: RefResult) -> None:
    """Compare the reference result with the hand-computed expectations."""
    for member, fields in ex.expect.items():
        got = res[member]
        for name, want in fields.items():
            if name == "bonuses":
                for bonus_id, amount in want.items():
                    assert got.bonuses[bonus_id] == D(amount), (member, bonus_id, got.bonuses[bonus_id])
            elif name in ("active", "rank", "highest_rank", "streak"):
                assert getattr(got, name) == want, (member, name, getattr(got, name))
            else:
                assert getattr(got, name) == D(want), (member, name, getattr(got, name))
    got_ledger = Counter((ln.payee, ln.source, ln.bonus_id, ln.level, ln.amount, ln.kind) for ln in res.ledger)
    assert got_ledger == Counter(ex.ledger_lines())
    assert [(a.member, a.bonus_id, a.rank_name, a.award_name) for a in res.awards] == ex.awards
    if ex.run_order is not None:
        assert res.run_order == ex.run_order
    check_summary(ex.summary, res)
    check_reconciliation(ex.plan, res)


def check_summary(want: dict[str, Any], res: RefResult) -> None:
    for name in ("total_payout", "total_paid", "balance_carried", "total_cv"):
        if name in want:
            assert getattr(res, name) == D(want[name]), (name, getattr(res, name))
    if "payout_cap" in want:
        cap = want["payout_cap"]
        if cap is None:
            assert res.payout_cap is None
        else:
            assert res.payout_cap is not None
            for name, value in cap.items():
                got = getattr(res.payout_cap, name)
                if name == "scale":
                    if value is None:
                        assert got is None
                    else:
                        num, den = value.split("/")
                        assert got == Fraction(int(num), int(den)), (name, got)
                elif name == "binding":
                    assert got is value
                else:
                    assert got == D(value), (name, got)


def check_reconciliation(plan: Plan, res: RefResult) -> None:
    """Ledger -> columns -> totals -> balances -> summary, by docs/semantics.md 1, 3.5, 3.6."""
    for member, r in res.members.items():
        for bonus_id, amount in r.bonuses.items():
            lines = [ln.amount for ln in res.ledger if ln.payee == member and ln.bonus_id == bonus_id]
            assert sum(lines, D(0)) == amount
        assert r.total == sum(r.bonuses.values(), D(0))
        payable = r.balance_in + r.total
        assert r.paid + r.balance_out == payable
        assert (r.paid == 0 and r.balance_out == payable) or (r.paid == payable and r.balance_out == 0)
        assert r.paid >= 0 and (r.paid == 0 or r.paid >= plan.payout.minimum)
    assert res.total_payout == sum((r.total for r in res.members.values()), D(0))
    assert res.total_payout == sum(res.bonus_totals.values(), D(0))


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda ex: ex.name)
def test_example(ex: Example) -> None:
    check_reference(ex, run_reference(ex))


def test_every_plan_file_has_an_example() -> None:
    names = {ex.name for ex in EXAMPLES}
    for path in PLANS.glob("*.yaml"):
        assert f"plan_{path.stem}" in names


def test_ledger_order_is_tree_order() -> None:
    # Ledger order: bonus in plan order, then source in tree order (depth first from the roots, children in
    # canonical id order; read as pre-order), then level.
    res = run_reference(EXAMPLES[0])
    assert res.tree_order == ["A", "B", "D", "E", "C", "F"]
    assert [(ln.payee, ln.source, ln.level) for ln in res.ledger] == [
        ("A", "B", 1),
        ("A", "D", 2),
        ("A", "C", 1),
        ("C", "F", 1),
        ("A", "F", 2),
    ]


def test_canonical_order() -> None:
    assert canonical_order([10, 9, -3, 0]) == [-3, 0, 9, 10]
    assert canonical_order(["10", "9", "-3"]) == ["-3", "9", "10"]  # all canonical integers: numeric
    assert canonical_order(["10", "9", "09"]) == ["09", "10", "9"]  # "09" is not canonical: text order
    assert canonical_order(["b", "B", "a", "é"]) == ["B", "a", "b", "é"]
    assert canonical_order(["+1", "2"]) == ["+1", "2"]


def test_int_and_str_ids_order_the_same_tree_differently() -> None:
    plan = make_plan(bonuses=[{"id": "uni", "type": "unilevel", "rates": ["10%"]}], min_pv="0")
    members = [(1, None, LONG_AGO), (10, 1, LONG_AGO), (9, 1, LONG_AGO)]
    res = reference_close(plan, members, [order(10, "5"), order(9, "5")], OCT1, OCT31)
    assert res.tree_order == [1, 9, 10]
    smembers = [(str(a), None if b is None else str(b), c) for a, b, c in members]
    sres = reference_close(plan, [(m, s, d) for m, s, d in smembers], [order("10", "5"), order("9", "5")], OCT1, OCT31)
    assert sres.tree_order == ["1", "9", "10"]  # canonical integers as text still order numerically
    xres = reference_close(
        plan, [("x1", None, LONG_AGO), ("x10", "x1", LONG_AGO), ("x9", "x1", LONG_AGO)], [], OCT1, OCT31
    )
    assert xres.tree_order == ["x1", "x10", "x9"]


def test_awards_ordered_by_member_then_bonus() -> None:
    ex = next(e for e in EXAMPLES if e.name == "legs_actives_advancement")
    res = run_reference(ex)
    assert [(a.member, a.bonus_id) for a in res.awards] == [
        ("G", "promo"),
        ("G", "promo"),
        ("G", "last"),
        ("b1", "promo"),
        ("b1", "last"),
    ]


def test_prior_state_above_current_rank_gives_no_award() -> None:
    plan = make_plan(
        ranks=[{"name": "Member"}, {"name": "Pro", "min_pv": "10"}],
        bonuses=[{"id": "adv", "type": "rank_advancement", "awards": {"Pro": {"cash": "5"}}}],
        min_pv="0",
    )
    res = reference_close(plan, [("a", None, LONG_AGO)], [order("a", "20")], OCT1, OCT31, {"a": "Pro"})
    assert res["a"].rank == "Pro" and res["a"].total == 0 and res.ledger == []
    res = reference_close(plan, [("a", None, LONG_AGO)], [order("a", "20")], OCT1, OCT31)
    assert res["a"].total == 5 and [(ln.level, ln.basis, ln.rate) for ln in res.ledger] == [(1, 0, 0)]


# --------------------------------------------------------------------------------------------------------
# The reference on random scenarios: invariants that follow from docs/semantics.md (no engine needed).
# These also exercise tests/strategies.py.


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_reference_invariants(sc: Scenario) -> None:
    plan = sc.plan
    res = reference_close(
        plan, sc.members, sc.orders, sc.period_start, sc.period_end, prior_state=sc.prior_state, events=sc.events
    )
    sponsor = {m: s for m, s, _ in sc.members}
    children: dict[Any, list[Any]] = {m: [] for m in sponsor}
    for m, s in sponsor.items():
        if s is not None:
            children[s].append(m)
    index = plan.rank_index
    minor = D(1).scaleb(-plan.minor_units)
    prior = sc.prior_state or {}
    assert set(res.members) == set(sponsor)
    assert sorted(map(str, res.tree_order)) == sorted(map(str, sponsor))
    for m, r in res.members.items():
        assert r.gv == r.pv + sum((res[c].gv for c in children[m]), D(0))
        assert index(r.highest_rank) >= index(r.rank)
        if m in prior:
            assert index(r.highest_rank) >= index(prior[m][0])
        assert r.streak == ((prior[m][1] if m in prior else 0) + 1 if r.active else 0)
        assert r.balance_in == (prior[m][2] if m in prior else 0)
        if plan.ranks[index(r.rank)].min_qv is None:
            assert r.qv == r.gv
        assert set(r.bonuses) == set(plan.bonus_ids())
        for b in plan.bonuses:
            if b.cap_per_member is not None:
                assert r.bonuses[b.id] <= b.cap_per_member
    check_reconciliation(plan, res)
    # every line: rounded once from basis * rate, non-zero, exact to minor units
    depth = {}
    for m in res.tree_order:
        depth[m] = 0 if sponsor[m] is None else depth[sponsor[m]] + 1
    kinds = {b.id: b for b in plan.bonuses}
    assert [ln.bonus_id for ln in res.ledger if ln.kind != "company_cap"] == sorted(
        (ln.bonus_id for ln in res.ledger if ln.kind != "company_cap"), key=res.run_order.index
    )
    seen_company_cap = False
    for ln in res.ledger:
        assert ln.amount != 0
        assert ln.amount == ln.amount.quantize(minor)
        assert ln.kind in ("line", "member_cap", "company_cap")
        seen_company_cap = seen_company_cap or ln.kind == "company_cap"
        assert ln.kind == "company_cap" or not seen_company_cap, "company_cap lines come last"
        bonus = kinds[ln.bonus_id]
        if ln.kind != "line":
            assert ln.payee == ln.source and ln.level == 0 and ln.rate == 0
            if ln.kind == "member_cap":
                assert ln.basis + ln.amount == bonus.cap_per_member
            else:
                assert ln.basis > 0 and ln.bonus_id in plan.payout_cap.scalable and -ln.basis <= ln.amount < 0
            continue
        if bonus.type not in ("rank_advancement", "pool", "team_goal", "action") and ln.rate != 0:
            assert abs(ln.amount - ln.basis * ln.rate) <= minor
        if bonus.type in ("personal_tier", "rank_advancement", "loyalty", "pool", "team_goal"):
            assert ln.payee == ln.source
        elif bonus.type == "action":
            assert ln.level == 0 and ln.payee in (ln.source, sponsor[ln.source])
        elif bonus.type == "differential":
            assert depth[ln.source] - depth[ln.payee] == ln.level
        elif bonus.type == "generation":
            assert 1 <= ln.level <= depth[ln.source] - depth[ln.payee]
        elif bonus.type == "fast_start" or getattr(bonus, "compression", None) == "none":
            assert depth[ln.source] - depth[ln.payee] == ln.level
        else:
            assert 1 <= ln.level <= depth[ln.source] - depth[ln.payee]
    # the pool is paid exactly
    for b in plan.bonuses:
        if b.type == "pool":
            paid = sum((ln.amount for ln in res.ledger if ln.bonus_id == b.id and ln.kind == "line"), D(0))
            pool = (res.total_cv * b.share).quantize(minor, rounding=ROUNDING_MODES[plan.plan.rounding])
            assert paid in (D(0), pool if res.total_cv > 0 else D(0))
    # the company cap
    cap = res.payout_cap
    if plan.payout_cap is None:
        assert cap is None
    else:
        assert cap is not None
        assert cap.after == res.total_payout
        if cap.binding:
            assert cap.after == cap.limit or cap.scalable_after == 0
        else:
            assert cap.before == cap.after <= cap.limit
    # shuffled input rows give the same result
    again = reference_close(
        plan,
        sc.members[::-1],
        sc.orders[::-1],
        sc.period_start,
        sc.period_end,
        prior_state=sc.prior_state,
        events=sc.events,
    )
    assert again.members == res.members and again.ledger == res.ledger and again.awards == res.awards
