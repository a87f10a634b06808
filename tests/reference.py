"""Independent reference implementation of a compplan period close.

Written from docs/semantics.md alone: plain Python, exact ``decimal.Decimal`` arithmetic, dicts and simple loops.
It shares no code with the engine (only the pydantic plan models of ``compplan.spec`` are used, as input).
Readable rather than fast; no input validation (inputs are assumed valid).

Units used here (not the engine's scaled integers):

* volumes (pv, cv, gv, qv, basis): ``Decimal`` points;
* rates: ``Decimal`` fractions (``5%`` is ``Decimal("0.05")``);
* money (ledger amounts, bonus columns, totals): ``Decimal`` currency units, exact to the plan's minor units.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from compplan.spec.models import FastStart, PersonalTier, Plan, RankAdvancement, Unilevel

MemberId = Any  # an int or a str
MemberRow = tuple[MemberId, MemberId | None, datetime.date]
OrderRow = tuple[MemberId, datetime.date, Decimal, Decimal]

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
ZERO = Decimal(0)


@dataclass(frozen=True)
class LedgerLine:
    """One ledger line: ``amount`` is ``basis * rate`` rounded once (or a fixed cash award)."""

    payee: MemberId
    source: MemberId
    bonus_id: str
    level: int
    basis: Decimal  # points
    rate: Decimal  # fraction
    amount: Decimal  # currency units


@dataclass(frozen=True)
class Award:
    """A non-cash rank-advancement award."""

    member: MemberId
    bonus_id: str
    rank_name: str
    award_name: str


@dataclass
class MemberResult:
    """Everything the close computes for one member."""

    pv: Decimal
    cv: Decimal
    gv: Decimal
    qv: Decimal
    active: bool
    rank: str
    highest_rank: str
    bonuses: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO


@dataclass
class RefResult:
    """The result of :func:`reference_close`.

    ``members`` maps each member id to its :class:`MemberResult`; ``ledger`` is in the documented ledger order
    (bonus in plan order, then source in tree order, then level); ``awards`` in the documented award order.
    """

    members: dict[MemberId, MemberResult]
    ledger: list[LedgerLine]
    awards: list[Award]
    bonus_totals: dict[str, Decimal]
    total_payout: Decimal
    total_cv: Decimal
    canonical_ids: list[MemberId]
    tree_order: list[MemberId]

    def __getitem__(self, member_id: MemberId) -> MemberResult:
        return self.members[member_id]

    @property
    def payout_ratio(self) -> Decimal | None:
        """Exact ``total_payout / total_cv`` (unrounded), or None when total_cv <= 0."""
        if self.total_cv <= 0:
            return None
        return self.total_payout / self.total_cv


# ----------------------------------------------------------------------------------------------------------
# Canonical id order (docs/semantics.md 2, Members)


def _is_canonical_int(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    if digits == "0":
        return text == "0"  # "-0" is not canonical
    return not digits.startswith("0")


def canonical_order(ids: list[MemberId]) -> list[MemberId]:
    """Ids sorted as integers when every id is a canonical integer, else as text by code points."""
    texts = [str(i) for i in ids]
    if all(_is_canonical_int(t) for t in texts):
        return [i for _, i in sorted(zip((int(t) for t in texts), ids, strict=True), key=lambda p: p[0])]
    return [i for _, i in sorted(zip(texts, ids, strict=True), key=lambda p: p[0])]


# ----------------------------------------------------------------------------------------------------------
# The close


def reference_close(
    plan: Plan,
    members: list[MemberRow],
    orders: list[OrderRow],
    period_start: datetime.date,
    period_end: datetime.date,
    prior_highest: dict[MemberId, str] | None = None,
) -> RefResult:
    """Close one period by docs/semantics.md, section 3, step by step."""
    with decimal.localcontext() as ctx:
        ctx.prec = 120  # far more than any product of a 10^15-unit basis and a 6-decimal rate needs
        ctx.traps[decimal.Inexact] = False
        return _close(plan, members, orders, period_start, period_end, prior_highest or {})


def _close(
    plan: Plan,
    members: list[MemberRow],
    orders: list[OrderRow],
    period_start: datetime.date,
    period_end: datetime.date,
    prior_highest: dict[MemberId, str],
) -> RefResult:
    rank_names = [r.name for r in plan.ranks]
    index_of = {name: i for i, name in enumerate(rank_names)}
    volume_quantum = Decimal(1).scaleb(-plan.plan.volume_decimals)
    money_quantum = Decimal(1).scaleb(-plan.minor_units)
    rounding = ROUNDING_MODES[plan.plan.rounding]

    # --- the tree ---
    ids = [m[0] for m in members]
    sponsor = {m[0]: m[1] for m in members}
    enrolled = {m[0]: m[2] for m in members}
    canon = canonical_order(ids)
    children: dict[MemberId, list[MemberId]] = {i: [] for i in canon}
    for i in canon:  # canonical order, so every child list is in canonical order
        if sponsor[i] is not None:
            children[sponsor[i]].append(i)
    roots = [i for i in canon if sponsor[i] is None]

    # Tree order: depth first (pre-order) from the roots, children in canonical id order.
    tree_order: list[MemberId] = []
    stack = list(reversed(roots))
    while stack:
        m = stack.pop()
        tree_order.append(m)
        stack.extend(reversed(children[m]))
    # Post-order (every member after all of its descendants), for the bottom-up steps.
    bottom_up = list(reversed(tree_order))

    def ancestors(m: MemberId) -> Iterator[MemberId]:
        """Sponsor, sponsor's sponsor, ... up to the root."""
        a = sponsor[m]
        while a is not None:
            yield a
            a = sponsor[a]

    # --- 3.1 volumes ---
    pv = {i: ZERO for i in ids}
    cv = {i: ZERO for i in ids}
    lines_of: dict[MemberId, list[tuple[datetime.date, Decimal, Decimal]]] = {i: [] for i in ids}
    for member_id, date, o_pv, o_cv in orders:
        pv[member_id] += Decimal(o_pv)
        cv[member_id] += Decimal(o_cv)
        lines_of[member_id].append((date, Decimal(o_pv), Decimal(o_cv)))
    gv: dict[MemberId, Decimal] = {}
    for m in bottom_up:
        gv[m] = pv[m] + sum((gv[c] for c in children[m]), ZERO)

    # --- 3.2 activity ---
    active = {i: pv[i] >= plan.activity.min_pv and cv[i] >= plan.activity.min_cv for i in ids}

    # --- 3.3 ranks, bottom-up ---
    def leg_share_cap(rank_index: int) -> Decimal:
        r = plan.ranks[rank_index]
        share = r.max_leg_share if r.max_leg_share is not None else Decimal(1)
        assert r.min_qv is not None
        return (r.min_qv * share).quantize(volume_quantum, rounding=ROUND_FLOOR)

    def qv_for(m: MemberId, rank_index: int) -> Decimal:
        cap = leg_share_cap(rank_index)
        return pv[m] + sum((min(gv[f], cap) for f in children[m]), ZERO)

    rank: dict[MemberId, int] = {}
    best_in_subtree: dict[MemberId, int] = {}  # max paid-as rank over the member's subtree (itself included)

    def meets(m: MemberId, rank_index: int) -> bool:
        r = plan.ranks[rank_index]
        must_be_active = r.active if r.active is not None else True  # default true except the entry rank
        if must_be_active and not active[m]:
            return False
        if r.min_pv is not None and not pv[m] >= r.min_pv:
            return False
        if r.min_gv is not None and not gv[m] >= r.min_gv:
            return False
        if r.min_qv is not None and not qv_for(m, rank_index) >= r.min_qv:
            return False
        if r.min_personal_actives is not None:
            if sum(1 for f in children[m] if active[f]) < r.min_personal_actives:
                return False
        for rule in r.legs:
            needed = index_of[rule.rank]
            legs = sum(1 for f in children[m] if best_in_subtree[f] >= needed)
            if legs < rule.count:
                return False
        return True

    for m in bottom_up:
        paid_as = 0
        for k in range(len(plan.ranks) - 1, 0, -1):  # the highest rank met wins; the entry rank always holds
            if meets(m, k):
                paid_as = k
                break
        rank[m] = paid_as
        best_in_subtree[m] = max([paid_as] + [best_in_subtree[c] for c in children[m]])

    highest_before = {i: index_of[prior_highest[i]] if i in prior_highest else 0 for i in ids}
    highest = {i: max(highest_before[i], rank[i]) for i in ids}
    qv = {}
    for i in ids:
        qv[i] = qv_for(i, rank[i]) if plan.ranks[rank[i]].min_qv is not None else gv[i]

    # --- 3.4 bonuses ---
    def basis_of(kind: str, m: MemberId) -> Decimal:
        return cv[m] if kind == "cv" else pv[m]

    def qualified(bonus: Any, u: MemberId) -> bool:
        min_rank = index_of[bonus.min_rank] if bonus.min_rank is not None else 0
        return rank[u] >= min_rank and (active[u] or not bonus.require_active)

    def round_money(value: Decimal) -> Decimal:
        return value.quantize(money_quantum, rounding=rounding)

    def rank_table(table: dict[str, Any], rank_index: int) -> Any:
        """Value for a rank: its own entry, else the nearest listed rank below it, else None."""
        for k in range(rank_index, -1, -1):
            if rank_names[k] in table:
                return table[rank_names[k]]
        return None

    ledger: list[LedgerLine] = []
    awards: list[Award] = []

    def pay(payee: MemberId, source: MemberId, bonus_id: str, level: int, basis: Decimal, rate: Decimal) -> None:
        amount = round_money(basis * rate)
        if amount != 0:
            ledger.append(LedgerLine(payee, source, bonus_id, level, basis, rate, amount))

    for bonus in plan.bonuses:
        if isinstance(bonus, Unilevel):
            if bonus.rates is not None:
                n_levels = len(bonus.rates)
            else:
                n_levels = max((len(t) for t in (bonus.rates_by_rank or {}).values()), default=0)

            def rate(u: MemberId, k: int, bonus: Unilevel = bonus) -> Decimal:
                if bonus.rates is not None:
                    if bonus.paid_levels is None:
                        paid = len(bonus.rates)
                    else:
                        paid = rank_table(bonus.paid_levels, rank[u]) or 0
                    return bonus.rates[k - 1] if k <= paid else ZERO
                table = rank_table(bonus.rates_by_rank or {}, rank[u]) or []
                return table[k - 1] if k <= len(table) else ZERO

            for s in tree_order:
                b = basis_of(bonus.basis, s)
                if b == 0:
                    continue
                level = 0
                for a in ancestors(s):
                    if bonus.compression == "none":
                        level += 1
                        if qualified(bonus, a):
                            pay(a, s, bonus.id, level, b, rate(a, level))
                    else:  # dynamic: unqualified ancestors are skipped and use up no level
                        if not qualified(bonus, a):
                            continue
                        level += 1
                        pay(a, s, bonus.id, level, b, rate(a, level))
                    if level >= n_levels:
                        break

        elif isinstance(bonus, FastStart):
            for s in tree_order:
                window_end = enrolled[s] + datetime.timedelta(days=bonus.days)
                b = ZERO
                for date, o_pv, o_cv in lines_of[s]:
                    if enrolled[s] <= date < window_end and period_start <= date <= period_end:
                        b += Decimal(o_cv) if bonus.basis == "cv" else Decimal(o_pv)
                if b == 0:
                    continue
                for g, a in enumerate(itertools.islice(ancestors(s), len(bonus.rates)), start=1):
                    if qualified(bonus, a):
                        pay(a, s, bonus.id, g, b, bonus.rates[g - 1])

        elif isinstance(bonus, PersonalTier):
            for m in tree_order:
                if not qualified(bonus, m):
                    continue
                volume = pv[m] if bonus.tier_volume == "pv" else gv[m]
                applicable = [t for t in bonus.tiers if t.min_volume <= volume]
                if applicable:
                    pay(m, m, bonus.id, 0, basis_of(bonus.basis, m), applicable[-1].rate)

        elif isinstance(bonus, RankAdvancement):
            for m in tree_order:
                h0, h1 = highest_before[m], highest[m]
                if h1 <= h0:
                    continue
                reached = range(h0 + 1, h1 + 1) if bonus.pay_skipped else [h1]
                for k in reached:
                    award = bonus.awards.get(rank_names[k])
                    if award is None:
                        continue
                    if award.cash > 0:
                        ledger.append(LedgerLine(m, m, bonus.id, k, ZERO, ZERO, award.cash))
                    if award.award is not None:
                        awards.append(Award(m, bonus.id, rank_names[k], award.award))
        else:  # pragma: no cover
            raise TypeError(f"unknown bonus type {type(bonus).__name__}")

    # --- 3.5 totals ---
    bonus_ids = [b.id for b in plan.bonuses]
    results: dict[MemberId, MemberResult] = {}
    for i in canon:
        results[i] = MemberResult(
            pv=pv[i],
            cv=cv[i],
            gv=gv[i],
            qv=qv[i],
            active=active[i],
            rank=rank_names[rank[i]],
            highest_rank=rank_names[highest[i]],
            bonuses={b: ZERO for b in bonus_ids},
        )
    for line in ledger:
        results[line.payee].bonuses[line.bonus_id] += line.amount
    for r in results.values():
        r.total = sum(r.bonuses.values(), ZERO)
    bonus_totals = {b: sum((r.bonuses[b] for r in results.values()), ZERO) for b in bonus_ids}
    total_payout = sum((r.total for r in results.values()), ZERO)
    total_cv = sum((Decimal(o[3]) for o in orders), ZERO)

    # Awards: by member (canonical), then bonus (plan order), then rank (ladder order, as produced).
    position = {i: n for n, i in enumerate(canon)}
    bonus_position = {b: n for n, b in enumerate(bonus_ids)}
    awards.sort(key=lambda a: (position[a.member], bonus_position[a.bonus_id]))  # stable: rank order kept

    return RefResult(
        members=results,
        ledger=ledger,
        awards=awards,
        bonus_totals=bonus_totals,
        total_payout=total_payout,
        total_cv=total_cv,
        canonical_ids=canon,
        tree_order=tree_order,
    )
