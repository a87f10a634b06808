"""Hypothesis strategies: random sponsor forests, orders, events, periods, prior states and valid plans.

Everything is generated as plain Python values (ids, dates, ``Decimal`` volumes) and plans as dicts validated by
``compplan.spec.models.Plan.model_validate``, so the same scenario can be fed to the reference and to the engine.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from compplan.spec.models import Action, Generation, Plan

#: ``(id, sponsor, enrolled_on)``; with a placement tree ``(id, sponsor, enrolled_on, placement_id, slot)`` where the
#: slot is ``"L"`` / ``"R"`` (binary) or a position ``1..W`` (matrix); placement_id and slot None when empty.
MemberRow = tuple[Any, ...]
OrderRow = tuple[Any, datetime.date, Decimal, Decimal]
EventRow = tuple[Any, str, datetime.date]
#: highest rank name, streak, balance (currency units); with a binary bonus also carry_left, carry_right (points)
#: and idle periods.
StateRow = tuple[Any, ...]

RANK_NAMES = [
    "Member",
    "Bronze",
    "Silver",
    "Gold",
    "Platinum",
    "Diamond",
    "Team Leader",
    "Étoile",
    "Executive",
    "Z",
]
# Money decimals of the currencies used (docs: from the ISO 4217 table unless plan.minor_units is set).
CURRENCIES = {"USD": 2, "JPY": 0, "KWD": 3, "EUR": 2}
# Rates that make rounding ties likely on bases with whole cents (x.xx5 products) and some awkward ones.
RATE_TEXTS = [
    "5%",
    "0.0375",
    "2.5%",
    "12.5%",
    "50%",
    "1%",
    "10%",
    "3%",
    "7%",
    "0.333333",
    "100%",
    "0%",
    "0.000001",
    "3.125%",
    "0.05",
    "20%",
    "0.125",
    "0.5",
    "37.5%",
    "0.0125",
]
# Volume thresholds (points, at most 2 decimals) near the volumes the orders produce.
THRESHOLDS = ["0", "0.01", "10", "25", "49.99", "50", "100", "100.01", "150", "200", "250", "500", "1000", "2000"]
# Rank thresholds that members of a small random forest actually reach, so ranks vary within a forest.
PV_THRESHOLDS = ["0", "0.01", "10", "50", "99.99", "100", "100.01", "150"]
GV_THRESHOLDS = ["50", "100", "200", "250.5", "300", "500", "1000"]
QV_THRESHOLDS = ["50", "100", "100.01", "200", "300", "333.33", "500", "1000"]
# Per minor units: rates whose products with common bases land on half a minor unit.
TIE_RATES = {
    0: ["50%", "0.5%", "5%", "25%"],
    1: ["5%", "50%", "0.5%"],
    2: ["50%", "5%", "0.5%", "10%", "2.5%", "12.5%", "1%"],
    3: ["5%", "0.5%", "0.05%", "12.5%"],
}
LEG_SHARES = ["50%", "60%", "0.333333", "33.3333%", "40%", "100%", "0.5", "75%", "0.000001"]


@dataclass
class Scenario:
    """One random close: a plan, its inputs, the period and the state before it.

    ``prior_state`` maps member id -> (highest rank name, streak, balance in currency units); ``events`` are
    ``(member id, kind, date)`` rows in events-file order (None: no events input).
    """

    plan: Plan
    plan_dict: dict[str, Any]
    members: list[MemberRow]
    orders: list[OrderRow]
    period_text: str
    period_start: datetime.date
    period_end: datetime.date
    prior_state: dict[Any, StateRow] | None
    events: list[EventRow] | None = None

    @property
    def prior(self) -> dict[Any, str] | None:
        """The prior highest ranks alone."""
        if self.prior_state is None:
            return None
        return {i: row[0] for i, row in self.prior_state.items()}

    def __repr__(self) -> str:  # readable falsifying examples
        lines = [
            "Scenario(",
            f"  plan_dict={self.plan_dict!r},",
            f"  period={self.period_text!r},",
            f"  members={self.members!r},",
            f"  orders={self.orders!r},",
            f"  prior_state={self.prior_state!r},",
            f"  events={self.events!r},",
            ")",
        ]
        return "\n".join(lines)


@dataclass
class PeriodInput:
    """The inputs of one period of a multi-period run."""

    period_text: str
    period_start: datetime.date
    period_end: datetime.date
    members: list[MemberRow]
    orders: list[OrderRow]
    events: list[EventRow] | None


@dataclass
class MultiScenario:
    """Consecutive closes of one plan: each period starts the day after the previous one ends."""

    plan: Plan
    plan_dict: dict[str, Any]
    prior_state: dict[Any, StateRow] | None
    periods: list[PeriodInput]

    def __repr__(self) -> str:
        lines = ["MultiScenario(", f"  plan_dict={self.plan_dict!r},", f"  prior_state={self.prior_state!r},"]
        for p in self.periods:
            lines += [
                f"  period={p.period_text!r},",
                f"    members={p.members!r},",
                f"    orders={p.orders!r},",
                f"    events={p.events!r},",
            ]
        lines.append(")")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------
# Periods


@st.composite
def periods(draw: st.DrawFn) -> tuple[str, datetime.date, datetime.date]:
    """A period as text (``YYYY-MM`` or ``YYYY-MM-DD..YYYY-MM-DD``) with its inclusive bounds."""
    year = draw(st.integers(2024, 2027))
    month = draw(st.integers(1, 12))
    if draw(st.booleans()):
        last = calendar.monthrange(year, month)[1]
        return f"{year:04d}-{month:02d}", datetime.date(year, month, 1), datetime.date(year, month, last)
    start = datetime.date(year, month, draw(st.integers(1, 28)))
    end = start + datetime.timedelta(days=draw(st.integers(0, 45)))
    return f"{start.isoformat()}..{end.isoformat()}", start, end


@st.composite
def next_periods(
    draw: st.DrawFn, previous: tuple[str, datetime.date, datetime.date]
) -> tuple[str, datetime.date, datetime.date]:
    """The period that starts the day after ``previous`` ends (the next month after a month)."""
    text, _start, end = previous
    start = end + datetime.timedelta(days=1)
    if ".." not in text and draw(st.integers(0, 3)):
        last = calendar.monthrange(start.year, start.month)[1]
        return f"{start.year:04d}-{start.month:02d}", start, datetime.date(start.year, start.month, last)
    end = start + datetime.timedelta(days=draw(st.integers(0, 40)))
    return f"{start.isoformat()}..{end.isoformat()}", start, end


# ------------------------------------------------------------------------------------------------------
# Forests


def _parents(draw: st.DrawFn, n: int) -> list[int | None]:
    """Parent index of each node 0..n-1 (always an earlier node, so the result is a forest)."""
    shape = draw(st.sampled_from(["chain", "star", "bushy", "random", "deep", "roots"]))
    if shape == "chain":
        parents: list[int | None] = [None, *list(range(n - 1))]
    elif shape == "star":
        parents = [None] + [0] * (n - 1)
    elif shape == "bushy":
        k = draw(st.integers(2, 4))
        parents = [None] + [(i - 1) // k for i in range(1, n)]
    elif shape == "roots":  # many small trees
        parents = [None if draw(st.integers(0, 3)) == 0 else draw(st.integers(0, i - 1)) for i in range(1, n)]
        parents = [None, *parents]
    elif shape == "deep":  # mostly a chain with branches
        parents = [None] + [i - 1 if draw(st.integers(0, 4)) else draw(st.integers(0, i - 1)) for i in range(1, n)]
    else:
        parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    # cut a few extra roots out of any shape
    for i in draw(st.sets(st.integers(1, max(1, n - 1)), max_size=2)):
        if i < n:
            parents[i] = None
    return parents


_ID_ALPHABET = "abcxyzABXZ0179_-.é"


def _ids(draw: st.DrawFn, n: int) -> list[Any]:
    kind = draw(st.sampled_from(["small_int", "int", "str", "numeric_str"]))
    if kind == "small_int":
        ints = st.integers(-5, 3 * n + 5)
    elif kind == "int":
        ints = st.integers(-(2**40), 2**40)
    if kind in ("small_int", "int"):
        return draw(st.lists(ints, min_size=n, max_size=n, unique=True))
    if kind == "numeric_str":  # text ids of digits: canonical integers or not ("07")
        text = st.from_regex(r"\A(0|-?[1-9][0-9]{0,3}|0[0-9]{1,2})\Z")
    else:
        text = st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=5)
    return draw(st.lists(text, min_size=n, max_size=n, unique=True))


@st.composite
def forests(
    draw: st.DrawFn, period_start: datetime.date, period_end: datetime.date, min_size: int = 1, max_size: int = 25
) -> list[MemberRow]:
    """Member rows ``(id, sponsor id or None, enrolled_on)`` of a random forest, in shuffled row order.

    Enrolment dates fall before or inside the period (never after its end), often close enough to the period
    for fast-start windows to cover part of it.
    """
    n = draw(st.one_of(st.integers(min_size, max_size), st.integers(max(min_size, max_size // 2), max_size)))
    parents = _parents(draw, n)
    ids = _ids(draw, n)
    rows = []
    for i in range(n):
        offset = draw(
            st.one_of(
                st.integers(0, (period_end - period_start).days),  # inside the period
                st.integers(0, (period_end - period_start).days),
                st.integers(-120, 0),  # shortly before it
                st.just(-2000),  # long ago
            )
        )
        enrolled = min(period_start + datetime.timedelta(days=offset), period_end)
        if draw(st.integers(0, 7)) == 0:  # the last days of an earlier month (tenure_months: 29th..31st)
            month_start = datetime.date(enrolled.year, enrolled.month, 1)
            last = month_start - datetime.timedelta(days=draw(st.integers(1, 3)))
            enrolled = min(last, enrolled)
        rows.append((ids[i], None if parents[i] is None else ids[parents[i]], enrolled))
    return draw(st.permutations(rows))


@st.composite
def grown_forests(
    draw: st.DrawFn, members: list[MemberRow], period_start: datetime.date, period_end: datetime.date, max_new: int = 4
) -> list[MemberRow]:
    """``members`` plus a few members enrolled inside the new period, under existing or new sponsors (or roots).

    New ids have the type of the existing ones (all ints or all text); text ids may change the id order from
    numeric to text (a new ``n...`` id among digit ids), which the state must survive.
    """
    rows = list(members)
    ids = [m[0] for m in rows]
    ints = all(isinstance(i, int) for i in ids)
    for k in range(draw(st.integers(0, max_new))):
        if ints:
            new_id: Any = max(ids) + 1 + draw(st.integers(0, 5))
        else:
            new_id = draw(st.sampled_from([f"n{len(ids)}", f"{len(ids) + 900}", f"Z{k}x"]))
            if new_id in ids:
                continue
        sponsor = None if draw(st.integers(0, 4)) == 0 else draw(st.sampled_from(ids))
        enrolled = period_start + datetime.timedelta(days=draw(st.integers(0, (period_end - period_start).days)))
        rows.append((new_id, sponsor, enrolled))
        ids.append(new_id)
    return draw(st.permutations(rows))


# ------------------------------------------------------------------------------------------------------
# Orders


MAX_LINE_POINTS = 10**10  # docs/semantics.md 1: |pv|, |cv| <= 10^12 volume units per line (2 decimals)


def _big_volume() -> st.SearchStrategy[Decimal]:
    """Volumes up to the per-line bound, so ``basis * rate`` overflows 64 bits unless done carefully."""
    edge = Decimal(MAX_LINE_POINTS)
    return st.one_of(
        st.sampled_from([edge, -edge, edge - Decimal("0.01"), edge - Decimal("0.05"), Decimal("9223372036.85")]),
        st.decimals(min_value=-edge, max_value=edge, places=2, allow_nan=False, allow_infinity=False),
        st.integers(-(10**12), 10**12).map(lambda u: Decimal(u).scaleb(-2)),
    )


def _volume() -> st.SearchStrategy[Decimal]:
    nice = st.sampled_from(
        ["0", "10", "25", "50", "99.99", "100", "150", "200", "250", "500", "1000", "0.01", "0.25"]
    ).map(Decimal)
    # whole points plus a fraction that makes x.xx5 products with the common rates (ties in every currency)
    tie_prone = st.tuples(st.integers(0, 600), st.sampled_from(["0.05", "0.1", "0.5", "0.25", "0.01", "0.75"])).map(
        lambda p: p[0] + Decimal(p[1])
    )
    return st.one_of(
        nice,
        nice,
        tie_prone,
        tie_prone,
        st.decimals(min_value=0, max_value=600, places=2, allow_nan=False, allow_infinity=False),
        st.decimals(min_value=-150, max_value=0, places=2, allow_nan=False, allow_infinity=False),  # returns
        st.integers(0, 99).map(lambda c: Decimal(c).scaleb(-2)),  # a few cents
    )


@st.composite
def order_lines(
    draw: st.DrawFn,
    members: list[MemberRow],
    period_start: datetime.date,
    period_end: datetime.date,
    window_days: tuple[int, ...] = (),
    big: bool = False,
) -> list[OrderRow]:
    """Order lines: 0..3 per member, dated inside the period and not before the member's enrolment.

    Dates are often placed on the edges of the fast-start windows ``enrolled_on + d - 1`` and
    ``enrolled_on + d`` for each ``d`` in ``window_days``. ``big`` draws volumes up to the per-line bound.
    """
    volume = _big_volume() if big else _volume()
    lines: list[OrderRow] = []
    for row in members:
        member_id, enrolled = row[0], row[2]
        first = max(enrolled, period_start)
        edges = [enrolled + datetime.timedelta(days=d + k) for d in window_days for k in (-1, 0) if d + k >= 0]
        edges = [e for e in edges if first <= e <= period_end]
        for _ in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3]))):
            if edges and draw(st.booleans()):
                date = draw(st.sampled_from(edges))
            else:
                date = first + datetime.timedelta(days=draw(st.integers(0, (period_end - first).days)))
            pv = draw(volume)
            cv = pv if draw(st.booleans()) else draw(volume)
            lines.append((member_id, date, pv, cv))
    return draw(st.permutations(lines))


# ------------------------------------------------------------------------------------------------------
# Plans


def _rate_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(RATE_TEXTS),
        st.sampled_from(RATE_TEXTS),
        st.sampled_from(RATE_TEXTS),
        st.integers(0, 10**6).map(lambda ppm: f"{Decimal(ppm).scaleb(-6):f}"),
        st.integers(0, 10**6).map(lambda ppm: f"{Decimal(ppm).scaleb(-4):f}%"),
    )


def _threshold() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(THRESHOLDS),
        st.decimals(min_value=0, max_value=3000, places=2, allow_nan=False, allow_infinity=False).map(str),
    )


def _maybe(draw: st.DrawFn, out: dict[str, Any], key: str, strategy: st.SearchStrategy[Any], p: int = 2) -> None:
    """Set ``out[key]`` to a drawn value with probability about 1/p."""
    if draw(st.integers(0, p - 1)) == 0:
        out[key] = draw(strategy)


def _reachable(values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(values), st.sampled_from(values), _threshold())


def _rank(draw: st.DrawFn, index: int, names: list[str]) -> dict[str, Any]:
    rank: dict[str, Any] = {"name": names[index]}
    _maybe(draw, rank, "active", st.booleans(), p=4)
    _maybe(draw, rank, "min_pv", _reachable(PV_THRESHOLDS))
    _maybe(draw, rank, "min_gv", _reachable(GV_THRESHOLDS), p=3)
    if draw(st.integers(0, 2)) == 0:
        rank["min_qv"] = draw(_reachable(QV_THRESHOLDS))
        _maybe(draw, rank, "max_leg_share", st.sampled_from(LEG_SHARES), p=1 if draw(st.booleans()) else 3)
    _maybe(draw, rank, "min_personal_actives", st.integers(0, 3), p=3)
    if draw(st.integers(0, 2)) == 0:
        # mostly rules on lower ranks (a ladder), sometimes on any rank
        lower = st.sampled_from(names[:index]) if draw(st.integers(0, 3)) else st.sampled_from(names)
        rank["legs"] = draw(
            st.lists(
                st.fixed_dictionaries({"rank": lower, "count": st.sampled_from([1, 1, 2, 3])}),
                min_size=1,
                max_size=2,
            )
        )
    return rank


def _ladder_rank(draw: st.DrawFn, index: int, names: list[str]) -> dict[str, Any]:
    """A rank that builds on the one below it: growing group volume, legs of lower ranks."""
    rank: dict[str, Any] = {"name": names[index]}
    _maybe(draw, rank, "active", st.booleans(), p=6)
    _maybe(draw, rank, "min_pv", st.sampled_from(["0", "10", "50", "100"]), p=3)
    step = Decimal(draw(st.sampled_from(["50", "100", "150.5", "200"])))
    if draw(st.integers(0, 2)):
        rank["min_gv"] = str(step * index)
    else:
        rank["min_qv"] = str(step * index)
        _maybe(draw, rank, "max_leg_share", st.sampled_from(LEG_SHARES), p=1)
    if index >= 2 and draw(st.booleans()):
        below = names[draw(st.integers(1, index - 1))]
        rank["legs"] = [{"rank": below, "count": draw(st.sampled_from([1, 2, 2, 3]))}]
    _maybe(draw, rank, "min_personal_actives", st.integers(0, 2), p=3)
    return rank


def _qualification(draw: st.DrawFn, bonus: dict[str, Any], names: list[str], basis: bool = True) -> None:
    _maybe(draw, bonus, "min_rank", st.sampled_from(names), p=3)
    _maybe(draw, bonus, "require_active", st.booleans(), p=3)
    if basis:
        _maybe(draw, bonus, "basis", st.sampled_from(["cv", "pv"]), p=3)


def _level_rates(
    draw: st.DrawFn, bonus: dict[str, Any], names: list[str], rate: st.SearchStrategy[str], depth_key: str
) -> None:
    """``rates`` (+ ``depth_key``: paid_levels / paid_generations) or ``rates_by_rank``."""
    if draw(st.booleans()):
        rates = draw(st.lists(rate, min_size=1, max_size=6))
        bonus["rates"] = rates
        if draw(st.booleans()):
            listed = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=len(names)))
            paid = {n: draw(st.integers(0, len(rates))) for n in listed}
            if len(names) > 1 and draw(st.booleans()):  # the entry rank paid shallower than the ranks above
                paid[names[0]] = draw(st.integers(0, 1))
                paid[names[-1]] = len(rates)
            bonus[depth_key] = paid
    else:
        listed = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
        bonus["rates_by_rank"] = {n: draw(st.lists(rate, max_size=5)) for n in listed}
        if len(names) > 1 and draw(st.booleans()):  # deeper tables for higher ranks
            bonus["rates_by_rank"][names[0]] = draw(st.lists(rate, max_size=1))
            bonus["rates_by_rank"][names[-1]] = draw(st.lists(rate, min_size=2, max_size=5))


def _unilevel(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "unilevel"}
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "compression", st.sampled_from(["none", "dynamic"]), p=1)
    _level_rates(draw, bonus, names, rate, "paid_levels")
    return bonus


def _fast_start(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "fast_start"}
    _qualification(draw, bonus, names)
    bonus["days"] = draw(st.one_of(st.integers(1, 90), st.sampled_from([1, 30, 60])))
    bonus["rates"] = draw(st.lists(rate, min_size=1, max_size=4))
    return bonus


def _personal_tier(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "personal_tier"}
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "tier_volume", st.sampled_from(["pv", "gv"]))
    volumes = sorted(set(draw(st.lists(_threshold(), min_size=1, max_size=4))), key=Decimal)
    volumes = [v for i, v in enumerate(volumes) if i == 0 or Decimal(v) != Decimal(volumes[i - 1])]
    bonus["tiers"] = [{"min_volume": v, "rate": draw(rate)} for v in volumes]
    return bonus


def _rank_advancement(draw: st.DrawFn, bonus_id: str, names: list[str], minor_units: int) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "rank_advancement"}
    _maybe(draw, bonus, "pay_skipped", st.booleans())
    listed = draw(st.lists(st.sampled_from(names[1:]), unique=True, min_size=1, max_size=len(names) - 1))
    awards = {}
    for name in listed:
        award: dict[str, Any] = {}
        if draw(st.integers(0, 3)):
            award["cash"] = f"{Decimal(draw(st.integers(0, 10**6))).scaleb(-minor_units):f}"
        if draw(st.integers(0, 2)) == 0 or Decimal(award.get("cash", "0")) == 0:
            award["award"] = draw(st.sampled_from(["Pin", "Trip", "Cruise for two", "Watch"]))
        awards[name] = award
    bonus["awards"] = awards
    return bonus


def _money_text(draw: st.DrawFn, minor_units: int, max_units: int = 5000, zero: bool = False) -> str:
    """A cash amount with at most ``minor_units`` decimals (``max_units`` minor units at most)."""
    units = draw(st.one_of(st.integers(0 if zero else 1, max_units), st.sampled_from([1, 5, 100, 250, 1000])))
    return f"{Decimal(units).scaleb(-minor_units):f}"


PAID_GENERATIONS = "paid_generations" if "paid_generations" in Generation.model_fields else "paid_levels"
AWARD_NAMES = ["Pin", "Trip", "Cruise for two", "Watch", "Certificate"]
#: Event kinds of action bonuses: ``enrolment`` is built in, the others come from the events input.
EVENT_KINDS = ["enrolment", "training", "webinar", "referral"]


def _generation(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "generation", "generation_rank": draw(st.sampled_from(names))}
    if len(names) > 1 and draw(st.booleans()):  # leaders above the entry rank: real generations
        bonus["generation_rank"] = draw(st.sampled_from(names[1:]))
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "compression", st.sampled_from(["none", "dynamic"]), p=1)
    _level_rates(draw, bonus, names, rate, PAID_GENERATIONS)
    return bonus


def _rate_value(text: str) -> Decimal:
    return Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)


def _differential(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "differential"}
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "include_self", st.booleans())
    listed = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=len(names)))
    rates = draw(st.lists(rate, min_size=len(listed), max_size=len(listed)))
    if draw(st.integers(0, 2)):  # mostly a stairstep: higher ranks get higher rates
        listed = sorted(listed, key=names.index)
        rates = sorted(rates, key=_rate_value)
    bonus["rates"] = dict(zip(listed, rates, strict=True))
    return bonus


def _matching(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "matching", "matches": []}  # matches filled in later
    _qualification(draw, bonus, names, basis=False)
    _maybe(draw, bonus, "compression", st.sampled_from(["none", "dynamic"]), p=1)
    _level_rates(draw, bonus, names, rate, PAID_GENERATIONS)
    return bonus


def _loyalty(
    draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str], minor_units: int
) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "loyalty"}
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "measure", st.sampled_from(["active_streak", "tenure_months"]), p=1)
    periods = sorted(draw(st.sets(st.one_of(st.integers(1, 4), st.integers(1, 30)), min_size=1, max_size=3)))
    tiers = []
    for n in periods:
        tier: dict[str, Any] = {"min_periods": n}
        what = draw(st.sampled_from(["rate", "cash", "both"]))
        if what in ("rate", "both"):
            tier["rate"] = draw(rate)
        if what in ("cash", "both"):
            tier["cash"] = _money_text(draw, minor_units, zero=what == "both")
        tiers.append(tier)
    bonus["tiers"] = tiers
    return bonus


def _pool(draw: st.DrawFn, bonus_id: str, names: list[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "pool"}
    _qualification(draw, bonus, names, basis=False)
    bonus["share"] = draw(
        st.one_of(
            st.sampled_from(["1%", "2.5%", "0.5%", "3%", "10%", "0.333333", "0.000001", "0%"]),
            st.integers(0, 10**5).map(lambda ppm: f"{Decimal(ppm).scaleb(-6):f}"),
        )
    )
    listed = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=len(names)))
    bonus["shares_by_rank"] = {n: draw(st.sampled_from([0, 1, 1, 2, 3, 7])) for n in listed}
    return bonus


def _cash_or_award(draw: st.DrawFn, out: dict[str, Any], minor_units: int) -> None:
    what = draw(st.sampled_from(["cash", "cash", "award", "both"]))
    if what in ("cash", "both"):
        out["cash"] = _money_text(draw, minor_units)
    if what in ("award", "both"):
        out["award"] = draw(st.sampled_from(AWARD_NAMES))


def _team_goal(draw: st.DrawFn, bonus_id: str, names: list[str], minor_units: int) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "team_goal"}
    _qualification(draw, bonus, names, basis=False)
    goals = []
    for _ in range(draw(st.integers(1, 3))):
        measure = draw(st.sampled_from(["gv", "new_actives", "personal_new_actives"]))
        target = draw(_reachable(GV_THRESHOLDS)) if measure == "gv" else str(draw(st.integers(0, 3)))
        goal: dict[str, Any] = {"measure": measure, "target": target}
        _cash_or_award(draw, goal, minor_units)
        goals.append(goal)
    bonus["goals"] = goals
    return bonus


def _action(draw: st.DrawFn, bonus_id: str, names: list[str], minor_units: int) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "action"}
    _qualification(draw, bonus, names, basis=False)
    events = []
    for kind in draw(st.lists(st.sampled_from(EVENT_KINDS), unique=True, min_size=1, max_size=3)):
        ev: dict[str, Any] = {"event": kind}
        _maybe(draw, ev, "payee", st.sampled_from(["member", "sponsor"]), p=1)
        _cash_or_award(draw, ev, minor_units)
        _maybe(draw, ev, "max_per_period", st.sampled_from([1, 1, 2, 3]))
        events.append(ev)
    bonus["events"] = events
    return bonus


#: Bonus types the random plans draw from.
BONUS_KINDS = (
    "unilevel",
    "fast_start",
    "personal_tier",
    "rank_advancement",
    "generation",
    "differential",
    "matching",
    "loyalty",
    "pool",
    "team_goal",
    "action",
)


def _link_matches(
    draw: st.DrawFn, bonuses: list[dict[str, Any]], names: list[str], rate: st.SearchStrategy[str]
) -> None:
    """Give every matching bonus targets, earlier or later in the plan, without a cycle.

    A random priority orders the bonuses; a matching bonus matches only bonuses of lower priority (which may be
    matching bonuses too: chains). A matching bonus with nothing to match becomes a unilevel.
    """
    priority = draw(st.permutations(range(len(bonuses))))
    for i, bonus in enumerate(bonuses):
        if bonus["type"] != "matching":
            continue
        candidates = [b["id"] for j, b in enumerate(bonuses) if priority[j] < priority[i]]
        if not candidates:
            bonuses[i] = _unilevel(draw, bonus["id"], names, rate)
            continue
        bonus["matches"] = draw(st.lists(st.sampled_from(candidates), unique=True, min_size=1, max_size=3))


@st.composite
def plan_dicts(
    draw: st.DrawFn, kinds: tuple[str, ...] | None = None, max_bonuses: int = 5, tree: str | None = None
) -> dict[str, Any]:
    """A random valid plan as a dict (validate with ``Plan.model_validate``).

    ``kinds`` restricts the bonus types (default: all of :data:`BONUS_KINDS`). Bonuses may carry a
    ``cap_per_member``; the plan may have a company ``payout_cap`` and a ``payout.minimum``.
    With ``tree`` (``"binary"`` or ``"matrix"``) the plan gains a ``placement:`` section and one ``binary`` bonus
    or one or two ``matrix`` bonuses among the others (matching bonuses may match them; a binary plan often has a
    check match on the binary).
    """
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    meta: dict[str, Any] = {
        "name": "Random plan",
        "currency": currency,
        "rounding": draw(st.sampled_from(["half_up", "half_even", "down"])),
        "volume_decimals": 2,
    }
    minor_units = CURRENCIES[currency]
    if draw(st.integers(0, 9)) == 0:
        minor_units = draw(st.integers(0, 3))
        meta["minor_units"] = minor_units
    activity: dict[str, Any] = {"min_pv": draw(st.sampled_from(["0", "0", "20", "50", "99.99", "100"]))}
    _maybe(draw, activity, "min_cv", st.sampled_from(["0", "10", "50"]), p=4)

    n_ranks = draw(st.integers(1, 5))
    names = draw(st.permutations(RANK_NAMES))[:n_ranks]
    make_rank = _ladder_rank if draw(st.booleans()) else _rank
    ranks = [{"name": names[0]}] + [make_rank(draw, i, names) for i in range(1, n_ranks)]

    # Some plans use only rates that make ties on typical bases in their currency (x.xx5 products).
    tie_rates = TIE_RATES[min(minor_units, 3)]
    rate = (
        st.one_of(st.sampled_from(tie_rates), st.sampled_from(tie_rates), _rate_text())
        if draw(st.booleans())
        else _rate_text()
    )
    allowed = [k for k in (kinds or BONUS_KINDS) if k != "rank_advancement" or n_ranks > 1]
    bonuses: list[dict[str, Any]] = []
    for i, kind in enumerate(draw(st.lists(st.sampled_from(allowed), max_size=max_bonuses))):
        bonus_id = f"b{i}_{kind}"
        if kind == "unilevel":
            bonus = _unilevel(draw, bonus_id, names, rate)
        elif kind == "fast_start":
            bonus = _fast_start(draw, bonus_id, names, rate)
        elif kind == "personal_tier":
            bonus = _personal_tier(draw, bonus_id, names, rate)
        elif kind == "rank_advancement":
            bonus = _rank_advancement(draw, bonus_id, names, minor_units)
        elif kind == "generation":
            bonus = _generation(draw, bonus_id, names, rate)
        elif kind == "differential":
            bonus = _differential(draw, bonus_id, names, rate)
        elif kind == "matching":
            bonus = _matching(draw, bonus_id, names, rate)
        elif kind == "loyalty":
            bonus = _loyalty(draw, bonus_id, names, rate, minor_units)
        elif kind == "pool":
            bonus = _pool(draw, bonus_id, names)
        elif kind == "team_goal":
            bonus = _team_goal(draw, bonus_id, names, minor_units)
        else:
            bonus = _action(draw, bonus_id, names, minor_units)
        bonuses.append(bonus)
    placement: dict[str, Any] | None = None
    if tree is not None:
        placement = _placement_section(draw, tree)
        if tree == "binary":
            tree_bonuses = [_binary(draw, f"b{len(bonuses)}_binary", names, minor_units)]
        else:
            n = draw(st.integers(1, 2))
            tree_bonuses = [_matrix(draw, f"b{len(bonuses) + k}_matrix", names, rate) for k in range(n)]
        for bonus in tree_bonuses:
            bonuses.insert(draw(st.integers(0, len(bonuses))), bonus)
    _link_matches(draw, bonuses, names, rate)
    if tree == "binary" and draw(st.booleans()):  # a check match on the binary earnings
        match = _matching(draw, f"b{len(bonuses)}_match", names, rate)
        binary_id = next(b["id"] for b in bonuses if b["type"] == "binary")
        others = [b["id"] for b in bonuses if b["type"] != "matching" and b["id"] != binary_id]
        match["matches"] = (
            [binary_id, *draw(st.lists(st.sampled_from(others), unique=True, max_size=1))] if others else [binary_id]
        )
        bonuses.insert(draw(st.integers(0, len(bonuses))), match)
    for bonus in bonuses:
        if draw(st.integers(0, 2)) == 0:
            bonus["cap_per_member"] = _money_text(draw, minor_units, max_units=3000, zero=True)
    plan: dict[str, Any] = {"plan": meta, "activity": activity, "ranks": ranks, "bonuses": bonuses}
    if placement is not None:
        plan["placement"] = placement
    if bonuses and draw(st.integers(0, 2)) == 0:
        plan["payout_cap"] = {
            "max_share": draw(
                st.one_of(
                    st.sampled_from(["0%", "1%", "2.5%", "5%", "10%", "20%", "45%", "100%"]),
                    st.integers(0, 10**6).map(lambda ppm: f"{Decimal(ppm).scaleb(-6):f}"),
                )
            ),
            "scalable": draw(st.lists(st.sampled_from([b["id"] for b in bonuses]), unique=True, min_size=1)),
        }
    if draw(st.integers(0, 2)) == 0:
        plan["payout"] = {"minimum": _money_text(draw, minor_units, max_units=5000, zero=True)}
    return plan


def plans() -> st.SearchStrategy[Plan]:
    """Random valid :class:`Plan` objects."""
    return plan_dicts().map(Plan.model_validate)


def listed_event_kinds(plan: Plan) -> list[str]:
    """Event kinds of the plan's action bonuses that come from the events input (not ``enrolment``)."""
    kinds = {ev.event for b in plan.bonuses if isinstance(b, Action) for ev in b.events}
    return sorted(kinds - {"enrolment"})


# ------------------------------------------------------------------------------------------------------
# Events and prior states


@st.composite
def event_rows(
    draw: st.DrawFn, members: list[MemberRow], period_start: datetime.date, period_end: datetime.date, kinds: list[str]
) -> list[EventRow] | None:
    """Events input rows of the given kinds, dated inside the period (None when no kind is listed).

    Dates come from a few days so that ties (same payee, same kind, same date) under ``max_per_period`` are
    common; most are on or after the member's enrolment, a few before it (docs/semantics.md does not forbid it).
    """
    if not kinds:
        return None
    ids = [m[0] for m in members]
    enrolled = {m[0]: m[2] for m in members}
    span = (period_end - period_start).days
    days = [
        period_start + datetime.timedelta(days=d)
        for d in sorted(draw(st.sets(st.integers(0, span), min_size=1, max_size=2)))
    ]
    # Often only the frontline of one sponsor has events: ties between siblings for a sponsor payee.
    families: dict[Any, list[Any]] = {}
    for m, sponsor, *_rest in members:
        if sponsor is not None:
            families.setdefault(sponsor, []).append(m)
    siblings = [kids for kids in families.values() if len(kids) > 1]
    pool = ids
    if siblings and draw(st.booleans()):
        pool = draw(st.sampled_from(siblings))
    rows: list[EventRow] = []
    for _ in range(draw(st.integers(0, min(16, 3 * len(ids))))):
        member = draw(st.sampled_from(pool))
        first = max(enrolled[member], period_start)
        if draw(st.integers(0, 5)) == 0:
            first = period_start
        candidates = [d for d in days if d >= first] or [first]
        rows.append((member, draw(st.sampled_from(kinds)), draw(st.sampled_from(candidates))))
    return rows


@st.composite
def prior_states(draw: st.DrawFn, members: list[MemberRow], plan: Plan) -> dict[Any, StateRow]:
    """A state for a random subset of the members: highest rank, streak and balance (often a debt)."""
    ids = [m[0] for m in members]
    chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    minor = plan.minor_units
    balance = st.one_of(st.just(0), st.just(0), st.integers(-(10**5), 10**5), st.integers(-500, 500)).map(
        lambda u: Decimal(u).scaleb(-minor)
    )
    streak = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 40))
    if not any(b.type == "binary" for b in plan.bonuses):
        return {i: (draw(st.sampled_from(plan.rank_names)), draw(streak), draw(balance)) for i in chosen}
    carry = st.one_of(
        st.just(Decimal(0)),
        st.sampled_from(["0.01", "50", "99.99", "100", "150", "300", "1000"]).map(Decimal),
        st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False, allow_infinity=False),
    )
    idle = st.one_of(st.just(0), st.integers(0, 4))
    rows: dict[Any, StateRow] = {}
    for i in chosen:
        left = draw(carry)
        right = left if draw(st.integers(0, 3)) == 0 else draw(carry)  # equal legs: which side is the stronger
        rows[i] = (draw(st.sampled_from(plan.rank_names)), draw(streak), draw(balance), left, right, draw(idle))
    return rows


# ------------------------------------------------------------------------------------------------------
# Whole scenarios


@st.composite
def scenarios(
    draw: st.DrawFn,
    max_members: int = 25,
    with_prior: bool = True,
    big_volumes: bool = False,
    kinds: tuple[str, ...] | None = None,
) -> Scenario:
    """A random plan, forest, orders, events and (sometimes) a prior state, for one period.

    With ``big_volumes`` the order lines go up to the documented per-line bound (at most 10^15 volume units in
    all, which 25 members x 3 lines x 10^12 cannot exceed).
    """
    period_text, start, end = draw(periods())
    plan_dict = draw(plan_dicts(kinds))
    plan = Plan.model_validate(plan_dict)
    members = draw(forests(start, end, max_size=max_members))
    windows = tuple(b.days for b in plan.bonuses if b.type == "fast_start")
    orders = draw(order_lines(members, start, end, windows, big=big_volumes))
    prior = draw(prior_states(members, plan)) if with_prior and draw(st.booleans()) else None
    events = draw(event_rows(members, start, end, listed_event_kinds(plan)))
    return Scenario(plan, plan_dict, members, orders, period_text, start, end, prior, events)


@st.composite
def multi_scenarios(
    draw: st.DrawFn, max_periods: int = 3, max_members: int = 12, kinds: tuple[str, ...] | None = None
) -> MultiScenario:
    """2..``max_periods`` consecutive periods of one plan; members only join (enrolled inside their period)."""
    plan_dict = draw(plan_dicts(kinds))
    plan = Plan.model_validate(plan_dict)
    windows = tuple(b.days for b in plan.bonuses if b.type == "fast_start")
    kinds_listed = listed_event_kinds(plan)
    period = draw(periods())
    members = draw(forests(period[1], period[2], max_size=max_members))
    prior = draw(prior_states(members, plan)) if draw(st.booleans()) else None
    inputs = []
    for n in range(draw(st.integers(2, max_periods))):
        if n:
            period = draw(next_periods(period))
            members = draw(grown_forests(members, period[1], period[2]))
        text, start, end = period
        orders = draw(order_lines(members, start, end, windows))
        events = draw(event_rows(members, start, end, kinds_listed))
        inputs.append(PeriodInput(text, start, end, members, orders, events))
    return MultiScenario(plan, plan_dict, prior, inputs)


@st.composite
def action_tie_scenarios(draw: st.DrawFn, max_members: int = 15) -> Scenario:
    """Action bonuses paid to sponsors with a small ``max_per_period``, and many events on one or two days: the
    choice of which events are paid (earliest date, then events-file order; canonical id for ``enrolment``)
    decides the ledger's sources. Random plans reach such ties rarely."""
    period_text, start, end = draw(periods())
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    minor_units = CURRENCIES[currency]
    events = [
        {"event": kind, "payee": draw(st.sampled_from(["sponsor", "sponsor", "member"])), "max_per_period": k}
        for kind, k in (("enrolment", draw(st.integers(1, 2))), ("training", draw(st.integers(1, 2))))
    ]
    for ev in events:
        _cash_or_award(draw, ev, minor_units)
    bonus: dict[str, Any] = {"id": "acts", "type": "action", "events": events}
    if draw(st.booleans()):
        bonus["require_active"] = False
    plan_dict: dict[str, Any] = {
        "plan": {"name": "Ties", "currency": currency},
        "activity": {"min_pv": draw(st.sampled_from(["0", "50"]))},
        "ranks": [{"name": "Member"}],
        "bonuses": [bonus],
    }
    plan = Plan.model_validate(plan_dict)
    members = draw(forests(start, end, max_size=max_members))
    if draw(st.booleans()):  # many enrolled on the same day inside the period
        same = start + datetime.timedelta(days=draw(st.integers(0, (end - start).days)))
        members = [(m, s, same if draw(st.booleans()) else e) for m, s, e in members]
    orders = draw(order_lines(members, start, end))
    return Scenario(
        plan,
        plan_dict,
        members,
        orders,
        period_text,
        start,
        end,
        None,
        draw(event_rows(members, start, end, ["training"])),
    )


# ------------------------------------------------------------------------------------------------------
# Placement trees, binary and matrix plans (docs/semantics.md 2 "Placement", 3.4 binary / matrix)

#: Pair volumes, first-pair volumes and carry caps (points) near the leg volumes of small random trees.
PAIR_VOLUMES = ["100", "50", "25.5", "200", "0.01", "99.99", "300"]
CARRY_CAPS = ["0", "0.01", "50", "100", "250", "500", "1000"]
BINARY_RATES = ["10%", "12.5%", "5%", "20%", "7.5%", "0.333333", "2.5%"]


def _placement_section(draw: st.DrawFn, tree: str) -> dict[str, Any]:
    section: dict[str, Any] = {"tree": tree}
    if tree == "matrix":
        section["width"] = draw(st.integers(2, 4))
        _maybe(draw, section, "auto", st.just("breadth_first"), p=3)
    else:
        _maybe(draw, section, "auto", st.sampled_from(["left", "right", "weaker_leg"]))
    _maybe(draw, section, "within_sponsor", st.booleans())
    return section


def _binary(draw: st.DrawFn, bonus_id: str, names: list[str], minor_units: int) -> dict[str, Any]:
    """A binary bonus: percentage or pairs (first pair, max pairs), qualification, carry cap and flush."""
    bonus: dict[str, Any] = {"id": bonus_id, "type": "binary"}
    _qualification(draw, bonus, names, basis=False)
    _maybe(draw, bonus, "volume", st.sampled_from(["cv", "pv"]), p=3)
    if draw(st.booleans()):
        bonus["rate"] = draw(st.one_of(st.sampled_from(BINARY_RATES), _rate_text()))
    else:
        pair = Decimal(draw(st.one_of(st.sampled_from(PAIR_VOLUMES), st.sampled_from(PAIR_VOLUMES), _threshold())))
        if pair == 0:
            pair = Decimal(100)
        bonus["pair_volume"] = str(pair)
        bonus["pair_cash"] = _money_text(draw, minor_units, max_units=5000, zero=draw(st.integers(0, 9)) == 0)
        if draw(st.booleans()):
            extra = draw(st.sampled_from(["0", "0", "100", "50", "0.01", "150.5"]))
            bonus["first_pair_volume"] = str(pair + Decimal(extra))
        _maybe(draw, bonus, "max_pairs", st.sampled_from([1, 1, 2, 3, 5, 20]))
    _maybe(draw, bonus, "min_sponsored_per_side", st.sampled_from([0, 1, 1, 2]))
    _maybe(draw, bonus, "max_carry", st.one_of(st.sampled_from(CARRY_CAPS), _threshold()), p=3)
    _maybe(draw, bonus, "flush_after_inactive", st.sampled_from([1, 1, 2, 3]), p=3)
    return bonus


def _matrix(draw: st.DrawFn, bonus_id: str, names: list[str], rate: st.SearchStrategy[str]) -> dict[str, Any]:
    bonus: dict[str, Any] = {"id": bonus_id, "type": "matrix"}
    _qualification(draw, bonus, names)
    _maybe(draw, bonus, "compression", st.sampled_from(["none", "dynamic"]), p=1)
    _level_rates(draw, bonus, names, rate, "paid_levels")
    return bonus


def _sponsor_first(draw: st.DrawFn, rows: list[MemberRow]) -> list[Any]:
    """Member ids in a random order where every sponsor comes before its recruits."""
    sponsor = {r[0]: r[1] for r in rows}
    waiting = {r[0] for r in rows}
    order: list[Any] = []
    done: set[Any] = set()
    ids = [r[0] for r in rows]  # row order is already random
    while waiting:
        ready = [i for i in ids if i in waiting and (sponsor[i] is None or sponsor[i] in done)]
        # mostly the first ready member (row order), sometimes another one: orders differ between examples
        pick = ready[0] if draw(st.integers(0, 2)) else draw(st.sampled_from(ready))
        order.append(pick)
        done.add(pick)
        waiting.discard(pick)
    return order


class _Tree:
    """A placement tree being grown: ``parent`` / ``slot`` per placed member, ``children[m][slot]``."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.parent: dict[Any, Any] = {}
        self.slot: dict[Any, int | None] = {}
        self.children: dict[Any, dict[int, Any]] = {}

    def add(self, m: Any, parent: Any, slot: int | None) -> None:
        self.parent[m], self.slot[m] = parent, slot
        self.children.setdefault(m, {})
        if parent is not None:
            self.children[parent][slot] = m  # type: ignore[index]

    def psub(self, x: Any) -> list[Any]:
        """``x`` and everything below it, breadth first, children by slot."""
        out, head = [x], 0
        while head < len(out):
            m = out[head]
            head += 1
            out.extend(self.children[m][k] for k in sorted(self.children[m]))
        return out

    def free(self, m: Any) -> list[int]:
        return [k for k in range(1, self.slots + 1) if k not in self.children[m]]


def _choose_slot(draw: st.DrawFn, tree: _Tree, top: Any, style: str) -> tuple[Any, int]:
    """A free slot in ``psub(top)``: the outside of a leg (deep spillover chains), the first free one breadth
    first, or any free one."""
    if style == "outside":
        side = draw(st.integers(1, tree.slots)) if draw(st.integers(0, 3)) else 1
        cur = top
        while side in tree.children[cur]:
            cur = tree.children[cur][side]
        return cur, side
    nodes = tree.psub(top)
    if style == "bfs":
        for m in nodes:
            free = tree.free(m)
            if free:
                return m, free[0]
    options = [(m, k) for m in nodes for k in tree.free(m)]
    return draw(st.sampled_from(options))


def _place_member(draw: st.DrawFn, tree: _Tree, m: Any, sponsor: Any, within_sponsor: bool, style: str) -> None:
    placed = list(tree.parent)
    if sponsor is None:
        # a sponsor root: usually a placement root, sometimes placed under anyone
        if placed and draw(st.integers(0, 4)) == 0:
            tree.add(
                m,
                *_choose_slot(
                    draw, tree, draw(st.sampled_from([r for r in placed if tree.parent[r] is None])), "random"
                ),
            )
        else:
            tree.add(m, None, None)
        return
    top = sponsor
    if not within_sponsor and draw(st.integers(0, 2)) == 0:  # anywhere in the forest
        top = draw(st.sampled_from([r for r in placed if tree.parent[r] is None]))
    tree.add(m, *_choose_slot(draw, tree, top, style))


def _slot_text(tree_kind: str, slot: int | None) -> Any:
    if slot is None:
        return None
    return ("L", "R")[slot - 1] if tree_kind == "binary" else slot


@st.composite
def placed_forests(draw: st.DrawFn, members: list[MemberRow], placement: dict[str, Any]) -> list[MemberRow]:
    """``members`` (a sponsor forest) with a valid placement: rows ``(id, sponsor, enrolled, placement_id, slot)``
    in the same row order.

    Members are placed sponsors first, each in a free slot of its sponsor's placement subtree (anywhere, now and
    then, when ``within_sponsor`` is false): on the outside of a leg (deep spillover chains), the first free slot
    breadth first, or any free slot. Sponsor roots are placement roots, or now and then placed under another
    tree.
    """
    kind = placement["tree"]
    slots = 2 if kind == "binary" else int(placement["width"])
    within = placement.get("within_sponsor", True)
    tree = _Tree(slots)
    style = draw(st.sampled_from(["outside", "bfs", "bfs", "random", "random", "mixed", "mixed"]))
    sponsor = {r[0]: r[1] for r in members}
    for m in _sponsor_first(draw, members):
        s = style if style != "mixed" else draw(st.sampled_from(["outside", "bfs", "random"]))
        _place_member(draw, tree, m, sponsor[m], within, s)
    return [(r[0], r[1], r[2], tree.parent[r[0]], _slot_text(kind, tree.slot[r[0]])) for r in members]


@st.composite
def grown_placed_forests(
    draw: st.DrawFn,
    members: list[MemberRow],
    placement: dict[str, Any],
    period_start: datetime.date,
    period_end: datetime.date,
    max_new: int = 4,
) -> list[MemberRow]:
    """Placed ``members`` plus a few members enrolled inside the new period, placed as new leaves (the
    placements of the others never change)."""
    grown = draw(grown_forests([r[:3] for r in members], period_start, period_end, max_new=max_new))
    kind = placement["tree"]
    tree = _Tree(2 if kind == "binary" else int(placement["width"]))
    by_id = {r[0]: r for r in members}
    pending = [r[0] for r in members]
    while pending:  # parents first
        rest = []
        for m in pending:
            p = by_id[m][3]
            if p is None or p in tree.parent:
                slot = None if p is None else (("L", "R").index(by_id[m][4]) + 1 if kind == "binary" else by_id[m][4])
                tree.add(m, p, slot)
            else:
                rest.append(m)
        pending = rest
    style = draw(st.sampled_from(["outside", "bfs", "random"]))
    sponsor = {r[0]: r[1] for r in grown}
    for m in _sponsor_first(draw, grown):  # a new member may sponsor another new one
        if m not in by_id:
            _place_member(draw, tree, m, sponsor[m], placement.get("within_sponsor", True), style)
    return [(r[0], r[1], r[2], tree.parent[r[0]], _slot_text(kind, tree.slot[r[0]])) for r in grown]


@st.composite
def partly_placed(draw: st.DrawFn, members: list[MemberRow], placement: dict[str, Any]) -> list[MemberRow]:
    """A valid placement with some sponsored members unplaced (``compplan place`` input).

    Sometimes nobody is placed. An unplaced binary member may keep its side (the side it asks for). With
    ``within_sponsor`` the given placements stay consistent: a placed member is below its sponsor through given
    placements alone (otherwise it is unplaced too), so every completed placement is valid.
    """
    kind = placement["tree"]
    sponsored = [r[0] for r in members if r[1] is not None]
    if not sponsored:
        return members
    if draw(st.integers(0, 3)) == 0:
        unplaced = set(sponsored)
    else:
        unplaced = set(draw(st.lists(st.sampled_from(sponsored), unique=True, min_size=1)))
    parent = {r[0]: r[3] for r in members}
    sponsor = {r[0]: r[1] for r in members}
    if placement.get("within_sponsor", True):
        changed = True
        while changed:
            changed = False
            for m in sponsored:
                if m in unplaced:
                    continue
                a = m
                while a is not None and a != sponsor[m]:
                    a = None if a in unplaced and a != m else parent[a]
                if a is None:  # the chain up to the sponsor goes through an unplaced member
                    unplaced.add(m)
                    changed = True
    keep_side = kind == "binary" and draw(st.booleans())
    out = []
    for r in members:
        if r[0] in unplaced:
            side = r[4] if keep_side and draw(st.booleans()) else None
            out.append((r[0], r[1], r[2], None, side))
        else:
            out.append(r)
    return out


@st.composite
def placement_scenarios(
    draw: st.DrawFn,
    tree: str | None = None,
    max_members: int = 25,
    kinds: tuple[str, ...] | None = None,
    max_bonuses: int = 3,
    with_prior: bool = True,
) -> Scenario:
    """A random binary or matrix plan (``tree``, or either) with other bonuses, a placed forest, orders, events
    and (sometimes) a prior state with carry."""
    tree = tree or draw(st.sampled_from(["binary", "matrix"]))
    period_text, start, end = draw(periods())
    plan_dict = draw(plan_dicts(kinds, max_bonuses=max_bonuses, tree=tree))
    plan = Plan.model_validate(plan_dict)
    placement = plan_dict["placement"]
    members = draw(
        placed_forests(draw(forests(start, end, min_size=min(5, max_members), max_size=max_members)), placement)
    )
    windows = tuple(b.days for b in plan.bonuses if b.type == "fast_start")
    orders = draw(order_lines(members, start, end, windows))
    if draw(st.integers(0, 2)) == 0:  # a busy period: every member orders (both legs have volume, pairs form)
        orders += draw(busy_orders(members, end))
    prior = draw(prior_states(members, plan)) if with_prior and draw(st.booleans()) else None
    events = draw(event_rows(members, start, end, listed_event_kinds(plan)))
    return Scenario(plan, plan_dict, members, orders, period_text, start, end, prior, events)


@st.composite
def placement_multi_scenarios(
    draw: st.DrawFn,
    tree: str | None = None,
    max_periods: int = 3,
    max_members: int = 12,
    kinds: tuple[str, ...] | None = None,
    max_bonuses: int = 3,
) -> MultiScenario:
    """2..``max_periods`` consecutive periods of a binary or matrix plan; new members join as placement leaves."""
    tree = tree or draw(st.sampled_from(["binary", "binary", "matrix"]))
    plan_dict = draw(plan_dicts(kinds, max_bonuses=max_bonuses, tree=tree))
    plan = Plan.model_validate(plan_dict)
    placement = plan_dict["placement"]
    windows = tuple(b.days for b in plan.bonuses if b.type == "fast_start")
    kinds_listed = listed_event_kinds(plan)
    period = draw(periods())
    members = draw(placed_forests(draw(forests(period[1], period[2], max_size=max_members)), placement))
    prior = draw(prior_states(members, plan)) if draw(st.booleans()) else None
    inputs = []
    for n in range(draw(st.integers(2, max_periods))):
        if n:
            period = draw(next_periods(period))
            members = draw(grown_placed_forests(members, placement, period[1], period[2]))
        text, start, end = period
        orders = draw(order_lines(members, start, end, windows))
        if draw(st.integers(0, 2)) == 0:
            orders += draw(busy_orders(members, end))
        events = draw(event_rows(members, start, end, kinds_listed))
        inputs.append(PeriodInput(text, start, end, members, orders, events))
    return MultiScenario(plan, plan_dict, prior, inputs)


@st.composite
def busy_orders(draw: st.DrawFn, members: list[MemberRow], period_end: datetime.date) -> list[OrderRow]:
    """One more order line for every member on the last day of the period, 10..300 points (pv = cv)."""
    volume = st.one_of(st.sampled_from(["100", "50", "200", "25.5"]), st.integers(10, 300).map(str)).map(Decimal)
    lines = []
    for r in members:
        v = draw(volume)
        lines.append((r[0], period_end, v, v))
    return lines


@dataclass
class PlaceInput:
    """A ``compplan place`` input: a placement plan and members with some (or no) placements."""

    plan: Plan
    plan_dict: dict[str, Any]
    members: list[MemberRow]

    def __repr__(self) -> str:
        return f"PlaceInput(\n  plan_dict={self.plan_dict!r},\n  members={self.members!r},\n)"


@st.composite
def place_inputs(draw: st.DrawFn, tree: str | None = None, max_members: int = 30) -> PlaceInput:
    """A binary or matrix plan and a partly placed forest (enrolment dates with many ties)."""
    tree = tree or draw(st.sampled_from(["binary", "matrix"]))
    plan_dict = draw(plan_dicts(max_bonuses=1, tree=tree))
    start = datetime.date(2026, 10, 1)
    end = datetime.date(2026, 10, 31)
    rows = draw(forests(start, end, max_size=max_members))
    if draw(st.booleans()):  # few distinct dates: the canonical id decides; recruits before their sponsors
        days = draw(st.lists(st.integers(0, 30), min_size=1, max_size=3))
        rows = [(r[0], r[1], start + datetime.timedelta(days=draw(st.sampled_from(days)))) for r in rows]
    members = draw(partly_placed(draw(placed_forests(rows, plan_dict["placement"])), plan_dict["placement"]))
    return PlaceInput(Plan.model_validate(plan_dict), plan_dict, members)
