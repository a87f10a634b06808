"""Static analysis of a plan: its theoretical maximum payout (docs/semantics.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from compplan.spec.models import FastStart, PersonalTier, Plan, RankAdvancement, Unilevel


@dataclass(frozen=True)
class MaximumPayout:
    """The largest payout a plan can make.

    Attributes
    ----------
    share_of_cv : dict[str, Decimal]
        Per percentage bonus id, the largest fraction of CV it can pay.
    fixed_cash : dict[str, Decimal]
        Per fixed-award bonus id, the total cash of all its awards (currency units, per member at most once).
    """

    share_of_cv: dict[str, Decimal]
    fixed_cash: dict[str, Decimal]

    @property
    def total_share(self) -> Decimal:
        """Sum of the percentage bonuses' maxima: the plan's theoretical maximum as a fraction of CV."""
        return sum(self.share_of_cv.values(), Decimal(0))


def theoretical_maximum(plan: Plan) -> MaximumPayout:
    """Return the plan's theoretical maximum payout, bonus by bonus."""
    share: dict[str, Decimal] = {}
    fixed: dict[str, Decimal] = {}
    for bonus in plan.bonuses:
        if isinstance(bonus, Unilevel):
            tables = [bonus.rates] if bonus.rates is not None else list((bonus.rates_by_rank or {}).values())
            depth = max((len(t) for t in tables), default=0)
            share[bonus.id] = sum(
                (max((t[k] for t in tables if k < len(t)), default=Decimal(0)) for k in range(depth)), Decimal(0)
            )
        elif isinstance(bonus, FastStart):
            share[bonus.id] = sum(bonus.rates, Decimal(0))
        elif isinstance(bonus, PersonalTier):
            share[bonus.id] = max(t.rate for t in bonus.tiers)
        elif isinstance(bonus, RankAdvancement):
            fixed[bonus.id] = sum((a.cash for a in bonus.awards.values()), Decimal(0))
    return MaximumPayout(share, fixed)
