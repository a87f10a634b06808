"""What each member would have earned this period at its next rank (docs/semantics.md 3.10).

:class:`NextRank` collects, while a close runs, every bonus step's :meth:`~compplan.compile.BonusStep.at_rank`
column for the alternative "paid as the next rank, active if that rank requires it", caps it per member, and
sums it into ``next_rank_total``. :func:`blockers` says, before a close starts, why a plan's figure cannot be
computed (a step type without ``at_rank``, or a ``matching`` bonus that matches a ``pool``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compplan import arrays
from compplan.compile import BonusStep, MatchingStep, PoolStep, Program, Ranks
from compplan.errors import InputError, Problem

if TYPE_CHECKING:
    from compplan.engine import Context

#: The value name of the result column (minor units, preorder positions; 0 at the top rank).
NEXT_RANK_TOTAL = "next_rank_total"


def blockers(program: Program) -> list[str]:
    """Why the plan's earnings at the next rank cannot be computed (empty when they can)."""
    bonuses = {s.name: s for s in program.steps if isinstance(s, BonusStep)}
    out = [
        f"bonus {s.name!r} ({type(s).__name__}) does not compute earnings at another rank (BonusStep.at_rank)"
        for s in bonuses.values()
        if "at_rank" not in vars(type(s))  # inherited does not count: a subclass changes what run() computes
    ]
    for step in bonuses.values():
        if not isinstance(step, MatchingStep):
            continue
        seen: set[str] = set()
        todo = list(step.matches)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            matched = bonuses.get(name)
            if isinstance(matched, PoolStep):
                out.append(
                    f"matching bonus {step.name!r} matches pool {name!r}: one member's shares at its next rank "
                    "change every pool share, which the engine does not compute per member (docs/semantics.md 3.10)"
                )
            elif isinstance(matched, MatchingStep):
                todo.extend(matched.matches)
    return out


class NextRank:
    """Accumulates ``next_rank_total`` during a close; see :meth:`add` and :meth:`finish`."""

    def __init__(self, program: Program) -> None:
        problems = blockers(program)
        if problems:
            what = "earnings at the next rank cannot be computed: "
            raise InputError([Problem("next_rank_unsupported", what + p) for p in problems])
        ranks = next(s for s in program.steps if isinstance(s, Ranks))
        assert ranks.params is not None
        self.need_active: np.ndarray = ranks.params.need_active
        self.top = len(program.plan.ranks) - 1
        self.alt: tuple[np.ndarray, np.ndarray] | None = None
        self.total: np.ndarray | None = None

    def add(self, step: BonusStep, ctx: Context) -> None:
        """Add ``step``'s column at the next rank (after its per-member cap); call right after the step runs."""
        if self.alt is None:
            rank, active = ctx.values["rank"], ctx.values["active"]
            alt_rank = np.minimum(rank + 1, self.top)
            self.alt = alt_rank, active | self.need_active[alt_rank]
            self.total = arrays.zeros(len(rank), dtype=np.int64)
        column = step.at_rank(ctx, *self.alt)
        if step.cap is not None:
            column = np.minimum(column, step.cap)
        assert self.total is not None
        self.total += column

    def finish(self, ctx: Context) -> None:
        """Store ``next_rank_total`` in ``ctx.values`` (0 for members at the top rank)."""
        total = self.total if self.total is not None else arrays.zeros(len(ctx.tree), dtype=np.int64)
        ctx.values[NEXT_RANK_TOTAL] = np.where(ctx.values["rank"] < self.top, total, 0)
