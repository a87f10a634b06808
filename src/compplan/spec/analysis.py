"""Static analysis of a plan: its theoretical maximum payout (docs/semantics.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from compplan.spec.models import (
    Action,
    Binary,
    Differential,
    FastStart,
    Generation,
    Loyalty,
    Matching,
    MatrixBonus,
    PersonalTier,
    Plan,
    Pool,
    RankAdvancement,
    TeamGoal,
    Unilevel,
    run_order,
)


@dataclass(frozen=True)
class MaximumPayout:
    """The largest payout a plan can make.

    Attributes
    ----------
    share_of_cv : dict[str, Decimal]
        Per percentage bonus id, the largest fraction of CV it can pay.
    fixed_cash : dict[str, Decimal]
        Per fixed-award bonus id, the most one member can get from it (currency units; once for rank
        advancement, per period for loyalty cash, team goals and actions without a limit per period count once).
    cap : Decimal or None
        The company payout cap's ``max_share``, when the plan has one.
    uncapped_share : Decimal
        The share of CV the bonuses that the cap cannot scale can still pay.
    per_ancestor : dict[str, Decimal]
        Bonuses whose maximum grows with the depth of the placement tree (``binary``, and a ``matching`` of
        it): the share of CV paid at each placement ancestor. Their caps, not their rates, bound them.
    """

    share_of_cv: dict[str, Decimal]
    fixed_cash: dict[str, Decimal]
    cap: Decimal | None = None
    uncapped_share: Decimal = Decimal(0)
    per_ancestor: dict[str, Decimal] = field(default_factory=dict)

    @property
    def bonus_share(self) -> Decimal:
        """Sum of the percentage bonuses' maxima, before any payout cap."""
        return sum(self.share_of_cv.values(), Decimal(0))

    @property
    def total_share(self) -> Decimal:
        """The plan's theoretical maximum as a fraction of CV, the payout cap included."""
        if self.cap is None:
            return self.bonus_share
        return min(self.bonus_share, max(self.cap, self.uncapped_share))


def _level_share(rates: list[Decimal] | None, by_rank: dict[str, list[Decimal]] | None) -> Decimal:
    tables = [rates] if rates is not None else list((by_rank or {}).values())
    depth = max((len(t) for t in tables), default=0)
    return sum((max((t[k] for t in tables if k < len(t)), default=Decimal(0)) for k in range(depth)), Decimal(0))


def theoretical_maximum(plan: Plan) -> MaximumPayout:
    """Return the plan's theoretical maximum payout, bonus by bonus."""
    share: dict[str, Decimal] = {}
    fixed: dict[str, Decimal] = {}
    deep: dict[str, Decimal] = {}
    for i in run_order(plan):
        bonus = plan.bonuses[i]
        if isinstance(bonus, (Unilevel, Generation, MatrixBonus)):
            share[bonus.id] = _level_share(bonus.rates, bonus.rates_by_rank)
        elif isinstance(bonus, Matching):
            matched = sum((share.get(m, Decimal(0)) for m in bonus.matches), Decimal(0))
            matched_deep = sum((deep.get(m, Decimal(0)) for m in bonus.matches), Decimal(0))
            if matched or not matched_deep:
                share[bonus.id] = _level_share(bonus.rates, bonus.rates_by_rank) * matched
            if matched_deep:
                deep[bonus.id] = _level_share(bonus.rates, bonus.rates_by_rank) * matched_deep
        elif isinstance(bonus, Binary):
            if bonus.rate is not None:
                deep[bonus.id] = bonus.rate
            elif bonus.pair_cash is not None and bonus.pair_volume:
                deep[bonus.id] = bonus.pair_cash / bonus.pair_volume
                if bonus.max_pairs is not None:
                    fixed[bonus.id] = bonus.pair_cash * bonus.max_pairs
        elif isinstance(bonus, FastStart):
            share[bonus.id] = sum(bonus.rates, Decimal(0))
        elif isinstance(bonus, PersonalTier):
            share[bonus.id] = max(t.rate for t in bonus.tiers)
        elif isinstance(bonus, Differential):
            share[bonus.id] = max(bonus.rates.values())
        elif isinstance(bonus, Loyalty):
            share[bonus.id] = max((t.rate or Decimal(0)) for t in bonus.tiers)
            fixed[bonus.id] = max((t.cash or Decimal(0)) for t in bonus.tiers)
        elif isinstance(bonus, Pool):
            share[bonus.id] = bonus.share
        elif isinstance(bonus, RankAdvancement):
            fixed[bonus.id] = sum((a.cash for a in bonus.awards.values()), Decimal(0))
        elif isinstance(bonus, TeamGoal):
            fixed[bonus.id] = sum((g.cash for g in bonus.goals), Decimal(0))
        elif isinstance(bonus, Action):
            fixed[bonus.id] = sum((e.cash * (e.max_per_period or 1) for e in bonus.events), Decimal(0))
    ordered = {b.id: share[b.id] for b in plan.bonuses if b.id in share}
    per_ancestor = {b.id: deep[b.id] for b in plan.bonuses if b.id in deep}
    cap = plan.payout_cap
    if cap is None:
        return MaximumPayout(ordered, fixed, per_ancestor=per_ancestor)
    uncapped = sum((v for k, v in ordered.items() if k not in cap.scalable), Decimal(0))
    return MaximumPayout(ordered, fixed, cap.max_share, uncapped, per_ancestor)
