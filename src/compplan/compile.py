"""Compile a validated :class:`~compplan.spec.models.Plan` into a :class:`Program`.

A program is an ordered tuple of typed steps (volumes -> activity -> ranks -> bonuses -> totals). Each step
holds the plan's parameters as numpy arrays and names the values it reads and writes; :func:`compile_plan`
checks that every value is produced before it is read. No code is generated per plan: every step calls the
same generic, cached numba kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from compplan import arrays, threads
from compplan.errors import EngineError, InputError, PlanError, Problem, ProblemCollector
from compplan.inputs import MAX_TOTAL_UNITS, exact_sum, format_id
from compplan.kernels import binary as kbin
from compplan.kernels import bonuses as kb
from compplan.kernels import columns as kc
from compplan.kernels import hypothetical as kh
from compplan.kernels import ranks as kr
from compplan.kernels.money import ROUNDING_MODES, MoneyParams
from compplan.kernels.ranks import UNSET, RankParams, activity
from compplan.kernels.tree import (
    add_at,
    boundary_ancestors,
    scatter_add,
    scatter_add_lines,
    scatter_add_window,
    subtree_sum,
)
from compplan.money import RATE_SCALE, format_units
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

if TYPE_CHECKING:
    from compplan.engine import Context

#: Values that exist before the first step runs (see :class:`compplan.engine.Context`).
INPUTS = frozenset(
    {"orders", "prior_highest", "prior_streak", "balance_in", "events", "prior_carry_left", "prior_carry_right",
     "prior_idle"}
)  # fmt: skip


def _units(value: Decimal | None, decimals: int) -> int:
    if value is None:
        return int(UNSET)
    return int(value.scaleb(decimals))


def _ppm(rate: Decimal) -> int:
    return int(rate * RATE_SCALE)


def _minor(amount: Decimal | None, mdec: int) -> int:
    return 0 if amount is None else int(amount.scaleb(mdec))


@dataclass(frozen=True)
class Step:
    """One pass of a close. Subclasses set ``reads``/``writes`` and implement :meth:`run`."""

    reads: ClassVar[tuple[str, ...]] = ()
    name: str = "step"

    @property
    def writes(self) -> tuple[str, ...]:
        """Names of the values this step produces."""
        return (self.name,)

    def run(self, ctx: Context) -> None:
        """Compute this step's values into ``ctx``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Volumes(Step):
    """``pv``, ``cv`` per member from the order lines (``gv``, their subtree sums, comes with the ranks)."""

    reads: ClassVar[tuple[str, ...]] = ("orders",)
    name: str = "volumes"

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return ("pv", "cv")

    def run(self, ctx: Context) -> None:  # noqa: D102
        n = len(ctx.tree)
        o = ctx.orders
        # one whole column per thread (no per-part outputs to allocate and add up); one after the other when
        # the lines are too few to be worth a thread
        pv, cv = threads.run_parts(
            lambda values: scatter_add(o.position, values, arrays.zeros(n)),
            [o.pv, o.cv],
            worth=len(o.position) >= threads.MIN_PART,
        )
        ctx.values["pv"], ctx.values["cv"] = pv, cv


@dataclass(frozen=True)
class Activity(Step):
    """``active`` = PV and CV at or above the plan's minimums."""

    reads: ClassVar[tuple[str, ...]] = ("pv", "cv")
    name: str = "active"
    min_pv: int = 0
    min_cv: int = 0

    def run(self, ctx: Context) -> None:  # noqa: D102
        pv, cv = ctx.values["pv"], ctx.values["cv"]
        ctx.values["active"] = activity(pv, cv, self.min_pv, self.min_cv, arrays.empty(len(pv), dtype=np.bool_))


@dataclass(frozen=True)
class Ranks(Step):
    """GV, paid-as rank and QV in one bottom-up pass, then highest rank = max(prior, paid-as).

    GV (the subtree sum of PV) is summed in the same children-first pass that ranks members: a member's GV is
    its PV plus its children's, which the pass has just visited.
    """

    reads: ClassVar[tuple[str, ...]] = ("pv", "active", "prior_highest")
    name: str = "rank"
    params: RankParams | None = None

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return ("gv", "rank", "qv", "highest_rank")

    def run(self, ctx: Context) -> None:  # noqa: D102
        assert self.params is not None
        v = ctx.values
        tree, params = ctx.tree, self.params
        end, pv, active = tree.end, v["pv"], v["active"]
        n = len(tree)
        # every member's entries are written before they are read (children first): pooled, not filled
        gv, rank, qv, best = (arrays.empty(n) for _ in range(4))
        ranges = threads.parts(n)
        threads.run_parts(
            lambda r: kr.paid_as_ranks_range(end, pv, active, params, *r, r[1], gv, rank, qv, best), ranges
        )
        waiting = boundary_ancestors(tree.parent, np.array([hi for _, hi in ranges[:-1]], dtype=np.int64))
        kr.paid_as_ranks_waiting(waiting, end, pv, active, params, gv, rank, qv, best)
        v["gv"], v["rank"], v["qv"] = gv, rank, qv
        v["highest_rank"] = np.maximum(rank, v["prior_highest"], out=arrays.empty(n))


@dataclass(frozen=True)
class BonusStep(Step):
    """Common parts of a bonus: its column name, plan position and payee qualification.

    **Earnings at another rank** (docs/semantics.md 3.10). A bonus step may implement :meth:`at_rank`; the
    progress report's ``next_rank_earnings`` needs every bonus step of the plan to. The contract:

    * ``at_rank(ctx, alt_rank, alt_active)`` returns ``int64[n]`` (preorder positions, minor units): entry
      ``m`` is member ``m``'s own column of this bonus, *before* its per-member cap, in a close where only
      ``m``'s paid-as rank is ``alt_rank[m]`` and its activity ``alt_active[m]`` - every other member keeps its
      real rank, activity, volumes and streak, and ``m``'s highest rank is ``max(prior, alt_rank[m])``.
      ``alt_rank >= rank`` and ``alt_active >= active`` for every member.
    * It is called right after :meth:`run` and the per-member cap, so ``ctx.values`` holds the real values and
      the columns of this and every earlier bonus (after per-member caps, before the company cap). It must not
      change ``ctx`` (no ledger lines, no awards, no values).
    * Exact integers only; no float on the money path; O(n x levels) with generic cached kernels.
    * If a member's alternative changes what *other* members earn of a bonus that this one reads (as ``pool``
      does for ``matching``), the step must say so through :func:`compplan.next_rank.blockers` rather than
      return a number that ignores it.

    Every concrete step class must define ``at_rank`` itself: an inherited one does not count (a subclass that
    overrides :meth:`run`, e.g. a unilevel walk over another tree, must say what it pays at another rank), and
    :func:`compplan.next_rank.blockers` reports the class. The default raises
    :class:`~compplan.errors.EngineError`, so a step type without it can never give a silently wrong figure.
    """

    reads: ClassVar[tuple[str, ...]] = ("rank", "active")
    index: int = 0
    min_rank: int = 0
    require_active: bool = True
    cap: int | None = None  # per-member cap in minor units, applied by the engine right after the step

    def qualified(self, ctx: Context) -> np.ndarray:
        """Payees that may earn: rank >= min_rank and (active or activity not required).

        Computed once per close for each (min_rank, require_active): ranks and activity are final before any
        bonus runs. Callers must not write into the array.
        """
        key = (self.min_rank, self.require_active)
        if key not in ctx.qualified_cache:
            ctx.qualified_cache[key] = self.qualified_at(ctx.values["rank"], ctx.values["active"])
        return ctx.qualified_cache[key]

    def qualified_at(self, rank: np.ndarray, active: np.ndarray) -> np.ndarray:
        """:meth:`qualified` for the given ranks and activity."""
        ok = arrays.empty(len(rank), dtype=np.bool_)  # read at random by the upline bonuses: on huge pages (arrays.py)
        kc.qualified(rank, active, self.min_rank, self.require_active, ok)
        return ok

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:
        """Each member's own column of this bonus if only its rank and activity were the alternative ones."""
        raise EngineError(
            f"bonus {self.name!r} ({type(self).__name__}) cannot compute earnings at another rank yet "
            "(BonusStep.at_rank is not implemented)"
        )


@dataclass(frozen=True)
class UnilevelStep(BonusStep):
    """Unilevel by sponsor level, optionally with dynamic compression."""

    basis: str = "cv"
    dynamic: bool = False
    rates: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), dtype=np.int64))  # [rank, level] ppm

    @property
    def deps(self) -> tuple[str, ...]:
        """Values read besides the common ones."""
        return (self.basis,)

    def run(self, ctx: Context) -> None:  # noqa: D102
        tree, qualified = ctx.tree, self.qualified(ctx)
        counted = qualified if self.dynamic else _everyone(len(tree))
        basis, rank = ctx.values[self.basis], ctx.values["rank"]
        ctx.run_bonus(
            self,
            lambda lo, hi, *out: kb.unilevel(
                tree.parent, tree.depth, counted, lo, hi, basis, qualified, rank, self.rates, ctx.money, *out
            ),
            ranged=True,
        )

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        ok = self.qualified_at(alt_rank, alt_active)
        basis = ctx.values[self.basis]
        tree = ctx.tree
        return _levels_at_rank(
            tree.parent, tree.depth, self.dynamic, self.qualified(ctx), basis, self.rates, ctx.money, alt_rank, ok
        )


def _levels_at_rank(
    parent: np.ndarray,
    depth: np.ndarray,
    dynamic: bool,
    qualified: np.ndarray,
    basis: np.ndarray,
    rates: np.ndarray,
    money: MoneyParams,
    alt_rank: np.ndarray,
    alt_ok: np.ndarray,
) -> np.ndarray:
    """Unilevel-style earnings at ``alt_rank`` (unilevel, matching), docs/semantics.md 3.10.

    Without compression a payee's levels do not depend on anyone else's qualification, so the real kernel run
    with every member's alternative at once gives each member its own answer. ``parent`` is the tree walked
    (the sponsor tree, or the placement tree of a matrix), in preorder positions, and ``depth`` its depths.
    """
    if dynamic:
        up = kb.nearest_qualified_ancestor(parent, qualified)
        return kh.path_earnings(
            parent,
            len(rates),
            alt_rank,
            alt_ok,
            lambda marks: kh.level_marks(parent, qualified, up, basis, rates, money, marks),
        )
    n = len(parent)
    return kh.totals_only(
        n,
        lambda t, *out: kb.unilevel(
            parent, depth, _everyone(n), 0, n, basis, alt_ok, alt_rank, rates, money, t, _NO_SPILL, *out
        ),
    )


_NO_SPILL = np.zeros(0, dtype=np.int64)  # a ranged kernel over every source never pays before its range


def _everyone(n: int) -> np.ndarray:
    """Every member counted as a level (a walk without compression)."""
    return np.ones(n, dtype=np.bool_)


@dataclass(frozen=True)
class FastStartStep(BonusStep):
    """Fast start on each member's orders within ``days`` of enrolment, up ``len(rates)`` generations."""

    basis: str = "cv"
    days: int = 1
    rates: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return ("orders",)

    def _basis(self, ctx: Context) -> np.ndarray:
        o, tree = ctx.orders, ctx.tree
        volume = o.cv if self.basis == "cv" else o.pv
        if o.recent is not None and o.recent_days >= self.days:  # the order check listed the lines it can use
            basis: np.ndarray = scatter_add_lines(
                o.recent, o.position, o.day, tree.enrolled, self.days, volume, arrays.zeros(len(tree))
            )
            return basis
        # a line of the period (day >= period start) is in a member's window only if it enrolled after this
        candidate = tree.enrolled > ctx.period_start - self.days
        return threads.add_parts(
            threads.run_parts(
                lambda r: scatter_add_window(
                    o.position, o.day, tree.enrolled, self.days, volume, *r, candidate, arrays.zeros(len(tree))
                ),
                threads.parts(len(o.position)),
            )
        )

    def run(self, ctx: Context) -> None:  # noqa: D102
        tree, basis, qualified = ctx.tree, self._basis(ctx), self.qualified(ctx)
        ctx.run_bonus(
            self,
            lambda lo, hi, t, sp, led, s, e: kb.fast_start(
                tree.parent, tree.depth, lo, hi, basis, qualified, self.rates, ctx.money, t, sp, led, s, e
            ),
            ranged=True,
        )

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        tree, basis, ok = ctx.tree, self._basis(ctx), self.qualified_at(alt_rank, alt_active)
        n = len(tree)
        return kh.totals_only(
            n,
            lambda t, led, s, e: kb.fast_start(
                tree.parent, tree.depth, 0, n, basis, ok, self.rates, ctx.money, t, _NO_SPILL, led, s, e
            ),
        )


@dataclass(frozen=True)
class PersonalTierStep(BonusStep):
    """Tiered percentage of the member's own basis."""

    basis: str = "cv"
    tier_volume: str = "pv"
    min_volume: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    rates: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return (self.basis, self.tier_volume)

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        qualified = self.qualified(ctx)
        tv, basis = v[self.tier_volume], v[self.basis]
        ctx.run_bonus(
            self,
            lambda lo, hi, t, _spill, *out: kb.personal_tier(
                tv, basis, qualified, self.min_volume, self.rates, ctx.money, lo, hi, t, *out
            ),
            ranged=True,
            pays_self=True,
        )

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        tv, basis, ok = ctx.values[self.tier_volume], ctx.values[self.basis], self.qualified_at(alt_rank, alt_active)
        return kh.totals_only(
            len(ok),
            lambda t, *out: kb.personal_tier(
                tv, basis, ok, self.min_volume, self.rates, ctx.money, 0, len(ok), t, *out
            ),
        )


@dataclass(frozen=True)
class RankAdvancementStep(BonusStep):
    """One-time cash and non-cash awards for ranks newly reached by the highest rank."""

    reads: ClassVar[tuple[str, ...]] = ("highest_rank", "prior_highest")
    cash: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # [rank] minor units
    award: tuple[str | None, ...] = ()  # [rank] non-cash award name
    pay_skipped: bool = True

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return ()

    def run(self, ctx: Context) -> None:  # noqa: D102
        h0, h1 = ctx.values["prior_highest"], ctx.values["highest_rank"]
        column = arrays.zeros(len(h0), dtype=np.int64)
        members: list[np.ndarray] = []
        ranks: list[np.ndarray] = []
        promoted = np.nonzero(h1 > h0)[0]  # only they can reach a rank: the per-rank tests run on them alone
        p0, p1 = h0[promoted], h1[promoted]
        for r in range(1, len(self.cash)):
            if self.cash[r] == 0 and self.award[r] is None:
                continue
            who = promoted[self._reached(p0, p1, r)]
            if self.cash[r]:
                column[who] += self.cash[r]
                members.append(who)
                ranks.append(arrays.full(len(who), r, dtype=np.int64))
            if self.award[r] is not None:
                ctx.add_awards(self.index, who, r, self.award[r] or "")
        ctx.values[self.name] = column
        if ctx.ledger is not None and members:
            who, lvl = np.concatenate(members), np.concatenate(ranks)
            order = np.lexsort((lvl, who))
            who, lvl = who[order], lvl[order]
            zero = arrays.zeros(len(who), dtype=np.int64)
            ctx.ledger.append(self.index, kb.LedgerBuffer(who, who, lvl, zero, zero, self.cash[lvl]))

    def _reached(self, h0: np.ndarray, h1: np.ndarray, r: int) -> np.ndarray:
        """Members whose highest rank going from ``h0`` to ``h1`` earns the award of rank ``r``."""
        out: np.ndarray = (h0 < r) & ((r <= h1) if self.pay_skipped else (h1 == r))
        return out

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        h0 = ctx.values["prior_highest"]
        h1 = np.maximum(h0, alt_rank)
        column = arrays.zeros(len(h0), dtype=np.int64)
        for r in np.nonzero(self.cash)[0].tolist():
            column += self.cash[r] * self._reached(h0, h1, r)
        return column


@dataclass(frozen=True)
class GenerationStep(BonusStep):
    """Leadership generations: a generation runs down a leg until a leader of ``generation_rank``."""

    basis: str = "cv"
    generation_rank: int = 0
    dynamic: bool = False
    rates: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), dtype=np.int64))  # [rank, generation] ppm

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return (self.basis,)

    def _leaders(self, ctx: Context, qualified: np.ndarray) -> np.ndarray:
        leader: np.ndarray = ctx.values["rank"] >= self.generation_rank
        if self.dynamic:
            leader &= qualified
        return leader

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        parent, basis = ctx.tree.parent, ctx.values[self.basis]
        leader = self._leaders(ctx, self.qualified(ctx))  # a member's own leadership never changes its generations
        up = kb.nearest_qualified_ancestor(parent, leader)
        return kh.path_earnings(
            parent,
            len(self.rates),
            alt_rank,
            self.qualified_at(alt_rank, alt_active),
            lambda marks: kh.generation_marks(parent, leader, up, basis, self.rates, ctx.money, marks),
        )

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        qualified = self.qualified(ctx)
        leader = self._leaders(ctx, qualified)
        tree, basis, rank = ctx.tree, v[self.basis], v["rank"]
        counted = qualified | leader
        ctx.run_bonus(
            self,
            lambda lo, hi, t, sp, led, s, e: kb.generation(
                tree.parent,
                tree.depth,
                counted,
                lo,
                hi,
                basis,
                qualified,
                leader,
                rank,
                self.rates,
                ctx.money,
                t,
                sp,
                led,
                s,
                e,
            ),
            ranged=True,
        )


@dataclass(frozen=True)
class DifferentialStep(BonusStep):
    """Breakaway / stairstep differential by rank."""

    basis: str = "cv"
    rates: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # [rank] ppm
    include_self: bool = True

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return (self.basis,)

    def run(self, ctx: Context) -> None:  # noqa: D102
        v, tree = ctx.values, ctx.tree
        rate = np.where(self.qualified(ctx), self.rates[v["rank"]], 0).astype(np.int64)
        jump = kb.next_higher_ancestor(tree.parent, rate)
        basis = v[self.basis]
        ctx.run_bonus(
            self,
            lambda t, led, s, e: kb.differential(
                tree.parent, tree.depth, basis, rate, jump, self.include_self, ctx.money, t, led, s, e
            ),
        )

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        v, parent = ctx.values, ctx.tree.parent
        rate = np.where(self.qualified(ctx), self.rates[v["rank"]], 0).astype(np.int64)  # the others' real rates
        jump, basis = kb.next_higher_ancestor(parent, rate), v[self.basis]
        return kh.path_earnings(
            parent,
            len(self.rates),
            alt_rank,
            self.qualified_at(alt_rank, alt_active),
            lambda marks: kh.differential_marks(
                parent, rate, jump, self.rates, self.include_self, basis, ctx.money, marks
            ),
        )


@dataclass(frozen=True)
class MatchingStep(BonusStep):
    """Check match: a percentage of the matched bonuses' earnings, by sponsor generation."""

    matches: tuple[str, ...] = ()
    dynamic: bool = False
    rates: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), dtype=np.int64))

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return self.matches

    def _basis(self, ctx: Context) -> tuple[np.ndarray, MoneyParams]:
        basis = _sum_columns([ctx.values[b] for b in self.matches], arrays.empty(len(ctx.tree), dtype=np.int64))
        return basis, MoneyParams(1, RATE_SCALE, ctx.money.mode)  # the basis is money already

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        basis, money = self._basis(ctx)  # the sources' real columns (they are below the member; see 3.10)
        ok = self.qualified_at(alt_rank, alt_active)
        tree = ctx.tree
        return _levels_at_rank(
            tree.parent, tree.depth, self.dynamic, self.qualified(ctx), basis, self.rates, money, alt_rank, ok
        )

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        tree, qualified = ctx.tree, self.qualified(ctx)
        counted = qualified if self.dynamic else _everyone(len(tree))
        basis, money = self._basis(ctx)
        rank = v["rank"]
        ctx.run_bonus(
            self,
            lambda lo, hi, t, sp, led, s, e: kb.unilevel(
                tree.parent, tree.depth, counted, lo, hi, basis, qualified, rank, self.rates, money, t, sp, led, s, e
            ),
            ranged=True,
        )


@dataclass(frozen=True)
class LoyaltyStep(BonusStep):
    """Loyalty tiers by active streak or tenure in months."""

    reads: ClassVar[tuple[str, ...]] = ("rank", "active", "streak")
    basis: str = "cv"
    tenure: bool = False
    min_periods: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    rates: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    cash: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return (self.basis,)

    def _measure(self, ctx: Context) -> np.ndarray:
        return tenure_months(ctx.tree.enrolled, ctx.period_end) if self.tenure else ctx.values["streak"]

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        measure, basis = self._measure(ctx), ctx.values[self.basis]  # the real streak (3.10)
        ok = self.qualified_at(alt_rank, alt_active)
        return kh.totals_only(
            len(ok),
            lambda t, *out: kb.loyalty(
                measure, basis, ok, self.min_periods, self.rates, self.cash, ctx.money, 0, len(ok), t, *out
            ),
        )

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        measure = self._measure(ctx)
        qualified, basis = self.qualified(ctx), v[self.basis]
        ctx.run_bonus(
            self,
            lambda lo, hi, t, _spill, *out: kb.loyalty(
                measure, basis, qualified, self.min_periods, self.rates, self.cash, ctx.money, lo, hi, t, *out
            ),
            ranged=True,
            pays_self=True,
        )


def tenure_months(enrolled: np.ndarray, end_day: int) -> np.ndarray:
    """Whole months from each enrolment day to ``end_day`` (days since 1970-01-01), docs/semantics.md."""
    start = enrolled.astype("datetime64[D]")
    end = np.datetime64(int(end_day), "D")
    start_month, end_month = start.astype("datetime64[M]"), end.astype("datetime64[M]")
    months = (end_month - start_month).astype(np.int64)
    start_dom = (start - start_month.astype("datetime64[D]")).astype(np.int64)
    end_dom = int((end - end_month.astype("datetime64[D]")).astype(np.int64))
    out: np.ndarray = np.maximum(months - (end_dom < start_dom), 0).astype(np.int64)
    return out


@dataclass(frozen=True)
class PoolStep(BonusStep):
    """``share`` of company CV split exactly among qualifiers by shares (largest remainder)."""

    share: int = 0  # ppm
    shares: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # [rank]

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return ("orders",)

    def _pool(self, ctx: Context) -> tuple[int, int]:
        """Total CV and the pool ``P`` in minor units."""
        from compplan.kernels.money import apply_rate

        total_cv = ctx.total_cv
        return total_cv, int(apply_rate(total_cv, self.share, ctx.money)) if total_cv > 0 else 0

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:
        """Each member's exact share with its own shares at ``alt_rank`` and everyone else's real (3.10).

        Members are grouped by (real shares ``n``, new shares ``n'``); a group has one total ``T'``, one count of
        leftover units and one remainder for its members. The others' remainders take one value per share
        count, so a member's place in the largest-remainder order is a count of larger remainders plus the
        members of equal remainder before it in canonical order (prefix counts): O(n x share counts).
        """
        n = len(ctx.tree)
        out = arrays.zeros(n, dtype=np.int64)
        _, pool = self._pool(ctx)
        owned = np.where(self.qualified(ctx), self.shares[ctx.values["rank"]], 0)
        alt_owned = np.where(self.qualified_at(alt_rank, alt_active), self.shares[alt_rank], 0)
        if pool <= 0:
            return out
        held, counts = np.unique(owned[owned > 0], return_counts=True)
        classes = [(int(v), int(c)) for v, c in zip(held.tolist(), counts.tolist(), strict=True)]
        total = sum(v * c for v, c in classes)
        canon = ctx.tree.order  # position -> canonical row
        before: dict[int, np.ndarray] = {}  # share count -> members of that count before each member (canonical)

        def earlier(v: int) -> np.ndarray:
            if v not in before:
                mine = arrays.zeros(n, dtype=np.int64)
                mine[canon] = owned == v  # by canonical row
                before[v] = (np.cumsum(mine) - mine)[canon]
            return before[v]

        counts_of = np.unique(np.concatenate([[0], self.shares]))  # the few share counts a member can hold
        width = len(counts_of)
        key = np.searchsorted(counts_of, owned) * width + np.searchsorted(counts_of, alt_owned)
        for pair in np.nonzero(np.bincount(key, minlength=width * width))[0].tolist():
            mine_real, mine_alt = int(counts_of[pair // width]), int(counts_of[pair % width])
            if mine_alt <= 0:
                continue
            who = np.nonzero(key == pair)[0]
            t_alt = total - mine_real + mine_alt
            floors = sum(c * (pool * v // t_alt) for v, c in classes) - pool * mine_real // t_alt
            left = pool - floors - pool * mine_alt // t_alt
            rem = pool * mine_alt % t_alt
            ahead = sum(c for v, c in classes if pool * v % t_alt > rem)
            if mine_real > 0 and pool * mine_real % t_alt > rem:
                ahead -= 1  # the member's real entry is not one of the others
            place = arrays.full(len(who), ahead, dtype=np.int64)
            for v, _ in classes:
                if pool * v % t_alt == rem:
                    place += earlier(v)[who]
            out[who] = pool * mine_alt // t_alt + (place < left)
        return out

    def run(self, ctx: Context) -> None:  # noqa: D102
        n = len(ctx.tree)
        column = arrays.zeros(n, dtype=np.int64)
        total_cv, pool = self._pool(ctx)
        rank = ctx.values["rank"]
        who = np.nonzero(self.qualified(ctx) & (self.shares > 0)[rank])[0]  # share holders
        total_shares = int(self.shares[rank[who]].sum())
        if pool > 0 and total_shares > 0:
            canon = ctx.tree.order[who]
            who = who[np.argsort(canon, kind="stable")]  # canonical member order
            owned = self.shares[rank[who]]
            amounts, remainders = _scale_exactly(owned, pool, total_shares)  # pool * shares / total
            left = pool - int(amounts.sum())
            ranked = np.argsort(-remainders, kind="stable")  # largest remainder first; ties in canonical order
            amounts[ranked[:left]] += 1
            column[who] = amounts
            if ctx.ledger is not None:
                paid = np.nonzero(column[who])[0]
                who_paid = who[paid]
                by_tree = who_paid[np.argsort(who_paid, kind="stable")]
                basis = arrays.full(len(by_tree), total_cv, dtype=np.int64)
                rate = arrays.full(len(by_tree), self.share, dtype=np.int64)
                zero = arrays.zeros(len(by_tree), dtype=np.int64)
                ctx.ledger.append(self.index, kb.LedgerBuffer(by_tree, by_tree, zero, basis, rate, column[by_tree]))
        ctx.values[self.name] = column


@dataclass(frozen=True)
class TeamGoalStep(BonusStep):
    """Fixed awards for team targets: GV, new active members in the team or the frontline."""

    reads: ClassVar[tuple[str, ...]] = ("rank", "active", "gv")
    measures: tuple[str, ...] = ()
    targets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    cash: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    award: tuple[str | None, ...] = ()

    def _measures(self, ctx: Context) -> dict[str, np.ndarray]:
        v, tree = ctx.values, ctx.tree
        new = ((tree.enrolled >= ctx.period_start) & v["active"]).astype(np.int64)
        team_new = subtree_sum(new, tree.parent, arrays.empty_like(new)) - new
        has_parent = tree.parent >= 0
        frontline_new = scatter_add(tree.parent[has_parent], new[has_parent], arrays.zeros(len(tree)))
        return {"gv": v["gv"], "new_actives": team_new, "personal_new_actives": frontline_new}

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        measure, ok = self._measures(ctx), self.qualified_at(alt_rank, alt_active)  # the measures stay (3.10)
        column = arrays.zeros(len(ok), dtype=np.int64)
        for g, kind in enumerate(self.measures):
            column += self.cash[g] * (ok & (measure[kind] >= self.targets[g]))
        return column

    def run(self, ctx: Context) -> None:  # noqa: D102
        n = len(ctx.tree)
        measure = self._measures(ctx)
        qualified = self.qualified(ctx)
        column = arrays.zeros(n, dtype=np.int64)
        who_parts, level_parts = [], []
        for g, kind in enumerate(self.measures):
            hit = np.nonzero(qualified & (measure[kind] >= self.targets[g]))[0]
            if self.cash[g]:
                column[hit] += self.cash[g]
                who_parts.append(hit)
                level_parts.append(arrays.full(len(hit), g + 1, dtype=np.int64))
            if self.award[g] is not None:
                ctx.add_awards(self.index, hit, -1, self.award[g] or "")
        ctx.values[self.name] = column
        if ctx.ledger is not None and who_parts:
            who, level = np.concatenate(who_parts), np.concatenate(level_parts)
            order = np.lexsort((level, who))
            who, level = who[order], level[order]
            zero = arrays.zeros(len(who), dtype=np.int64)
            ctx.ledger.append(self.index, kb.LedgerBuffer(who, who, level, zero, zero, self.cash[level - 1]))


@dataclass(frozen=True)
class ActionStep(BonusStep):
    """Fixed awards for events (the events input and the built-in ``enrolment``)."""

    kinds: tuple[str, ...] = ()
    to_sponsor: tuple[bool, ...] = ()
    cash: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    award: tuple[str | None, ...] = ()
    limit: tuple[int | None, ...] = ()

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return ("events",)

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        tree = ctx.tree
        n = len(tree)
        column = arrays.zeros(n, dtype=np.int64)
        for k, kind in enumerate(self.kinds):
            source = ctx.event_table(kind)[0]
            payee = tree.parent[source] if self.to_sponsor[k] else source
            count = np.bincount(payee[payee >= 0], minlength=n).astype(np.int64)
            if self.limit[k] is not None:
                count = np.minimum(count, int(self.limit[k] or 0))
            column += self.cash[k] * count
        return np.where(self.qualified_at(alt_rank, alt_active), column, 0)

    def run(self, ctx: Context) -> None:  # noqa: D102
        tree = ctx.tree
        n = len(tree)
        qualified = self.qualified(ctx)
        column = arrays.zeros(n, dtype=np.int64)
        payee_parts, source_parts, key_parts, cash_parts = [], [], [], []
        for k, kind in enumerate(self.kinds):
            source, day, seq = ctx.event_table(kind)
            payee = tree.parent[source] if self.to_sponsor[k] else source
            ok = payee >= 0
            ok[ok] = qualified[payee[ok]]
            payee, source, day, seq = payee[ok], source[ok], day[ok], seq[ok]
            if self.limit[k] is not None:  # the order of the events kept does not matter: sums, sorted lines
                keep = _first_per_payee(payee, day, seq, int(self.limit[k] or 0), n)
                payee, source, day, seq = payee[keep], source[keep], day[keep], seq[keep]
            if self.cash[k]:
                add_at(payee, self.cash[k], column)  # np.add.at is slow
                if ctx.ledger is not None:
                    payee_parts.append(payee)
                    source_parts.append(source)
                    key_parts.append(np.stack([source, day, seq, np.full(len(source), k)]))
                    cash_parts.append(arrays.full(len(source), self.cash[k], dtype=np.int64))
            if self.award[k] is not None:
                ctx.add_awards(self.index, payee, -1, self.award[k] or "")
        ctx.values[self.name] = column
        if ctx.ledger is not None and payee_parts:
            payee, source = np.concatenate(payee_parts), np.concatenate(source_parts)
            keys, cash = np.concatenate(key_parts, axis=1), np.concatenate(cash_parts)
            order = np.lexsort((keys[3], keys[2], keys[1], keys[0]))
            zero = arrays.zeros(len(order), dtype=np.int64)
            ctx.ledger.append(self.index, kb.LedgerBuffer(payee[order], source[order], zero, zero, zero, cash[order]))


def _first_per_payee(payee: np.ndarray, day: np.ndarray, seq: np.ndarray, limit: int, n: int) -> np.ndarray:
    """Mask of the events kept under ``max_per_period``: each payee's first ``limit`` by (day, order key).

    Only the events of payees with more than ``limit`` of them are sorted (at 10M members, a few thousand of
    the million enrolments; sorting them all took ~150 ms).
    """
    keep: np.ndarray = np.bincount(payee, minlength=n)[payee] <= limit  # faster here than a pooled count
    over = np.nonzero(~keep)[0]
    if len(over):
        over = over[np.lexsort((seq[over], day[over], payee[over]))]
        who = payee[over]
        first = np.r_[True, who[1:] != who[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(who)), 0))
        keep[over[(np.arange(len(who)) - group_start) < limit]] = True
    return keep


@dataclass(frozen=True)
class MatrixStep(UnilevelStep):
    """Forced matrix: the unilevel walk over the placement tree instead of the sponsor tree."""

    def run(self, ctx: Context) -> None:  # noqa: D102
        pl = ctx.require_placement(self)
        at = pl.order  # sponsor-tree position of each placement position
        qualified = self.qualified(ctx)[at]
        counted = qualified if self.dynamic else _everyone(len(at))
        basis, rank = ctx.values[self.basis][at], ctx.values["rank"][at]
        ctx.run_bonus(
            self,
            lambda lo, hi, t, sp, led, s, e: kb.unilevel(
                pl.parent, pl.depth, counted, lo, hi, basis, qualified, rank, self.rates, ctx.money, t, sp, led, s, e
            ),
            relabel=at,
            ranged=True,
            walked=(pl.parent, pl.depth),
        )

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        pl = ctx.require_placement(self)
        at = pl.order
        ok = self.qualified_at(alt_rank, alt_active)[at]
        basis, qualified = ctx.values[self.basis][at], self.qualified(ctx)[at]
        placed = _levels_at_rank(
            pl.parent, pl.depth, self.dynamic, qualified, basis, self.rates, ctx.money, alt_rank[at], ok
        )
        out = arrays.empty_like(placed)
        out[at] = placed
        return out


@dataclass(frozen=True)
class BinaryStep(BonusStep):
    """Binary: weaker-leg percentage or cash per pair over the placement tree, with carry between periods."""

    volume: str = "cv"
    rate: int = 0  # ppm, percentage mode
    pair_volume: int = 0  # volume units; 0 = percentage mode
    pair_cash: int = 0  # minor units
    first_volume: int = 0  # volume units; 0 = no special first pair
    max_pairs: int = 0  # 0 = no limit
    min_sponsored: int = 0
    max_carry: int = -1  # volume units; -1 = no cap
    flush_after: int = 0  # periods; 0 = never

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return (self.volume, "prior_carry_left", "prior_carry_right", "prior_idle")

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return (self.name, "leg_left", "leg_right", "carry_left", "carry_right", "idle")

    def run(self, ctx: Context) -> None:  # noqa: D102
        pl = ctx.require_placement(self)
        v, tree = ctx.values, ctx.tree
        n = len(tree)
        placed = v[self.volume][pl.order]
        below = subtree_sum(placed, pl.parent, arrays.empty_like(placed))  # subtree volume by placement position
        legs = []
        for k in (0, 1):
            c = pl.child[k]
            legs.append(arrays.zeros(n, dtype=np.int64))
            legs[k][pl.order] = np.where(c >= 0, below[np.maximum(c, 0)], 0)
        v["leg_left"], v["leg_right"] = legs
        left, right = self._sides(ctx)
        active = v["active"]
        idle = np.where(active, 0, v["prior_idle"] + 1).astype(np.int64)
        qualified = self._qualified_b(ctx, self.qualified(ctx))
        if self.pair_volume and self.pair_cash and qualified.any():
            most = int(np.minimum(left, right)[qualified].max()) // self.pair_volume
            if self.max_pairs:
                most = min(most, self.max_pairs)
            if most > (2**62) // self.pair_cash:
                raise InputError(
                    f"bonus {self.name!r}: {most} pairs x pair_cash is beyond the int64 range; set max_pairs"
                )
        used_left, used_right = arrays.zeros(n, dtype=np.int64), arrays.zeros(n, dtype=np.int64)
        args = (self.rate, self.pair_volume, self.pair_cash, self.first_volume, self.max_pairs, ctx.money)
        ctx.run_bonus(
            self,
            lambda t, led, s, e: kbin.binary(left, right, qualified, *args, used_left, used_right, t, led, s, e),
        )
        carry_left, carry_right = left - used_left, right - used_right
        if self.flush_after:
            flush = idle >= self.flush_after
            carry_left[flush] = 0
            carry_right[flush] = 0
        if self.max_carry >= 0:
            np.minimum(carry_left, self.max_carry, out=carry_left)
            np.minimum(carry_right, self.max_carry, out=carry_right)
        self._check_carry(ctx, carry_left, carry_right)
        v["carry_left"], v["carry_right"], v["idle"] = carry_left, carry_right, idle

    def _check_carry(self, ctx: Context, *carries: np.ndarray) -> None:
        """A carry out must fit the bound the next close reads it with (docs/semantics.md 1): stop, naming who."""
        problems = ProblemCollector()
        for side, carry in zip(("carry_left", "carry_right"), carries, strict=True):
            over = np.nonzero(carry > MAX_TOTAL_UNITS)[0]
            for pos in over[:20]:
                c = int(ctx.tree.order[pos])
                problems.add(
                    "out_of_range",
                    f"member {format_id(ctx.tree.ids[c])}: {side} would be {int(carry[pos])} volume units, beyond "
                    f"the bound of {MAX_TOTAL_UNITS}; set the binary bonus's max_carry",
                    ctx.tree.where(c),
                )
            if exact_sum(carry) > MAX_TOTAL_UNITS:
                problems.add(
                    "out_of_range",
                    f"the sum of {side} over all members would be beyond the bound of {MAX_TOTAL_UNITS} volume "
                    "units; set the binary bonus's max_carry",
                )
        problems.raise_if_any(InputError, title=f"bonus {self.name!r}: carry out of range")

    def at_rank(self, ctx: Context, alt_rank: np.ndarray, alt_active: np.ndarray) -> np.ndarray:  # noqa: D102
        # the pay depends on the member's own legs and qualification only: one pass with everyone's alternative
        left, right = self._sides(ctx)
        qualified = self._qualified_b(ctx, self.qualified_at(alt_rank, alt_active))
        n = len(left)
        used_left, used_right = arrays.zeros(n, dtype=np.int64), arrays.zeros(n, dtype=np.int64)
        args = (self.rate, self.pair_volume, self.pair_cash, self.first_volume, self.max_pairs, ctx.money)
        return kh.totals_only(
            n, lambda t, led, s, e: kbin.binary(left, right, qualified, *args, used_left, used_right, t, led, s, e)
        )

    @staticmethod
    def _sides(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """``L`` and ``R``: this period's leg volumes plus the carry in, never below zero."""
        v = ctx.values
        return np.maximum(v["prior_carry_left"] + v["leg_left"], 0), np.maximum(
            v["prior_carry_right"] + v["leg_right"], 0
        )

    def _qualified_b(self, ctx: Context, qualified: np.ndarray) -> np.ndarray:
        """``qualified`` and, with ``min_sponsored_per_side``, enough active sponsored members in each leg."""
        if self.min_sponsored:
            return qualified & (self._sponsored_per_side(ctx) >= self.min_sponsored)
        return qualified

    @staticmethod
    def _sponsored_per_side(ctx: Context) -> np.ndarray:
        """Per member, the fewer of its active personally sponsored members in its left and in its right leg."""
        pl, tree = ctx.require_placement(), ctx.tree
        n = len(tree)
        f = np.nonzero((tree.parent >= 0) & ctx.values["active"])[0]
        s = tree.parent[f]
        pf, ps = pl.position[f], pl.position[s]
        counts = []
        for k in (0, 1):
            c = pl.child[k][ps]
            inside = (c >= 0) & (pf >= c) & (pf < pl.end[np.maximum(c, 0)])
            counts.append(scatter_add(s[inside], np.ones(int(inside.sum()), dtype=np.int64), arrays.zeros(n)))
        out: np.ndarray = np.minimum(counts[0], counts[1])
        return out


@dataclass(frozen=True)
class Streak(Step):
    """Consecutive active periods: the state's streak + 1 when active, else 0."""

    reads: ClassVar[tuple[str, ...]] = ("active", "prior_streak")
    name: str = "streak"

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        v["streak"] = kc.streak(v["active"], v["prior_streak"], arrays.empty(len(v["active"]), dtype=np.int64))


@dataclass(frozen=True)
class CompanyCap(Step):
    """Scale the scalable bonuses down so the total payout fits ``max_share`` of company CV (3.5), exactly.

    Runs after :class:`Totals`: the payout before the cap is the sum of ``total`` (one column to read instead of
    every bonus column), and each cell it scales changes ``total`` by the same amount, so ``total`` stays the
    sum of the columns after caps.
    """

    reads: ClassVar[tuple[str, ...]] = ("total",)
    name: str = "company_cap"
    max_share: int = 0  # ppm
    minor_units: int = 2  # for the report's decimal text
    columns: tuple[str, ...] = ()  # every bonus column, plan order
    scalable: tuple[BonusStep, ...] = ()

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return self.columns

    def run(self, ctx: Context) -> None:  # noqa: D102
        from compplan.engine import KIND_COMPANY_CAP

        v, m = ctx.values, ctx.money
        total_cv = ctx.total_cv
        limit = max(0, total_cv) * self.max_share * m.mult // m.den  # exact floor with Python ints
        total_column = v["total"]
        before = int(total_column.sum())
        report: dict[str, object] = {"limit": limit, "before": before, "after": before, "binding": before > limit}
        ctx.values[self.name] = np.zeros(0, dtype=np.int64)
        if before > limit:
            canon = ctx.tree.order
            parts = [np.nonzero(v[step.name] > 0)[0] for step in self.scalable]
            pos = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)  # the positive cells
            which = np.concatenate([np.full(len(p), j, dtype=np.int64) for j, p in enumerate(parts)]) if parts else pos
            amount = (
                np.concatenate([v[step.name][p] for step, p in zip(self.scalable, parts, strict=True)])
                if parts
                else pos
            )
            total = int(amount.sum())
            target = max(0, total - (before - limit))
            new, rem = _scale_exactly(amount, target, total)
            left = target - int(new.sum())
            ranked = np.lexsort((which, canon[pos], -rem))  # largest remainder, then member, then bonus
            new[ranked[:left]] += 1
            for j, step in enumerate(self.scalable):
                mine = np.nonzero((which == j) & (new != amount))[0]
                mine = mine[np.argsort(canon[pos[mine]], kind="stable")]  # adjustment lines in member order
                ctx.adjust(step, pos[mine], amount[mine], new[mine], KIND_COMPANY_CAP)
                total_column[pos[mine]] += new[mine] - amount[mine]  # one cell per member in a bonus
            after = int(total_column.sum())
            scale = Decimal(target) / Decimal(total) if total else Decimal(0)
            report.update(
                after=after,
                scalable_before=total,
                scalable_after=target,
                cut=before - after,
                scale=str(scale.quantize(Decimal("0.000001"))),
                binding_short=max(0, after - limit),
            )
        ctx.cap_report = {
            k: format_units(x, self.minor_units) if isinstance(x, int) and not isinstance(x, bool) else x
            for k, x in report.items()
        }


def _scale_exactly(amount: np.ndarray, target: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """``floor(a * target / total)`` and ``(a * target) mod total`` per cell, exactly.

    int64 when every product fits (the usual case), Python integers otherwise.
    """
    if total == 0:
        zero = arrays.zeros(len(amount), dtype=np.int64)
        return zero, zero
    if len(amount) == 0 or int(amount.max()) * target < 2**62:
        product = amount.astype(np.int64) * target
        return product // total, product % total
    pairs = [divmod(int(a) * target, total) for a in amount.tolist()]
    return np.array([q for q, _ in pairs], dtype=np.int64), np.array([r for _, r in pairs], dtype=np.int64)


@dataclass(frozen=True)
class Totals(Step):
    """``total`` = sum of the cash bonus columns (after the per-member caps).

    Runs before a :class:`CompanyCap`, which then changes it by exactly what it cuts from each column.
    """

    name: str = "total"
    columns: tuple[str, ...] = ()

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return self.columns

    def run(self, ctx: Context) -> None:  # noqa: D102
        total = arrays.empty(len(ctx.tree), dtype=np.int64)
        columns = [ctx.values[c] for c in self.columns]

        threads.run_parts(  # numpy releases the GIL: parts add on every core
            lambda r: _sum_columns([c[r[0] : r[1]] for c in columns], total[r[0] : r[1]]), threads.parts(len(total))
        )
        ctx.values["total"] = total


def _sum_columns(columns: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    """``out`` = the element-wise sum of ``columns`` (zeros for none).

    The first two are added into ``out``: one pass fewer than adding every column to zeros.
    """
    if len(columns) < 2:
        out.fill(0)
        if columns:
            out += columns[0]
        return out
    np.add(columns[0], columns[1], out=out)
    for column in columns[2:]:
        out += column
    return out


@dataclass(frozen=True)
class Balances(Step):
    """Carry the state balance: pay ``balance_in + total`` when it reaches the minimum, else carry it (3.6)."""

    reads: ClassVar[tuple[str, ...]] = ("total", "balance_in")
    name: str = "balances"
    minimum: int = 0
    after: tuple[str, ...] = ()  # steps that must run first (the company cap, which cuts ``total``)

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return self.after

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return ("paid", "balance_out")

    def run(self, ctx: Context) -> None:  # noqa: D102
        v = ctx.values
        n = len(v["total"])  # outputs from numpy: on huge pages (compplan.arrays)
        balance_in, total = v["balance_in"], v["total"]
        paid, out = arrays.empty(n, dtype=np.int64), arrays.empty(n, dtype=np.int64)
        threads.run_parts(
            lambda r: kc.balances(
                balance_in[r[0] : r[1]], total[r[0] : r[1]], self.minimum, paid[r[0] : r[1]], out[r[0] : r[1]]
            ),
            threads.parts(n),
        )
        v["paid"], v["balance_out"] = paid, out


@dataclass(frozen=True)
class Program:
    """A compiled plan: the steps in run order and the money conversion."""

    plan: Plan
    steps: tuple[Step, ...]
    money: MoneyParams

    @property
    def recent_days(self) -> int:
        """The longest fast-start window (days): the order check lists the lines that fall in one."""
        return max((s.days for s in self.steps if isinstance(s, FastStartStep)), default=0)

    def describe(self) -> list[str]:
        """One line per step: its name, class, what it reads and writes."""
        return [
            f"{s.name}: {type(s).__name__} reads {', '.join(_reads(s)) or '-'} -> writes {', '.join(s.writes)}"
            for s in self.steps
        ]


def _reads(step: Step) -> tuple[str, ...]:
    return step.reads + tuple(getattr(step, "deps", ()))


def _rank_params(plan: Plan) -> RankParams:
    vdec = plan.plan.volume_decimals
    k = len(plan.ranks)
    need_active = np.zeros(k, dtype=np.bool_)
    min_pv, min_gv, min_qv, leg_cap, min_actives = (np.full(k, UNSET, dtype=np.int64) for _ in range(5))
    leg_start = np.zeros(k + 1, dtype=np.int64)
    leg_rank: list[int] = []
    leg_count: list[int] = []
    for r, rank in enumerate(plan.ranks):
        if r:
            need_active[r] = True if rank.active is None else rank.active
        min_pv[r], min_gv[r], min_qv[r] = (_units(x, vdec) for x in (rank.min_pv, rank.min_gv, rank.min_qv))
        if rank.min_qv is not None:
            share = rank.max_leg_share if rank.max_leg_share is not None else Decimal(1)
            leg_cap[r] = int((rank.min_qv.scaleb(vdec) * share).to_integral_value(rounding="ROUND_FLOOR"))
        if rank.min_personal_actives is not None:
            min_actives[r] = rank.min_personal_actives
        for leg in rank.legs:
            leg_rank.append(plan.rank_index(leg.rank))
            leg_count.append(leg.count)
        leg_start[r + 1] = len(leg_rank)
    return RankParams(
        need_active,
        min_pv,
        min_gv,
        min_qv,
        leg_cap,
        min_actives,
        leg_start,
        np.array(leg_rank, dtype=np.int64),
        np.array(leg_count, dtype=np.int64),
    )


def _by_rank(plan: Plan, table: dict[str, list[int]]) -> list[list[int]]:
    """Per rank, the entry of the nearest listed rank at or below it (docs/semantics.md 3.4 "Rank tables")."""
    out: list[list[int]] = []
    current: list[int] = []
    for name in plan.rank_names:
        current = table.get(name, current)
        out.append(current)
    return out


def _level_rates(plan: Plan, bonus: Unilevel | Generation | Matching | MatrixBonus) -> np.ndarray:
    if bonus.rates is not None:
        rates = [_ppm(r) for r in bonus.rates]
        if bonus.paid is None:
            rows = [rates] * len(plan.ranks)
        else:
            levels = _by_rank(plan, {k: [v] for k, v in bonus.paid.items()})
            rows = [rates[: lv[0]] if lv else [] for lv in levels]
    else:
        rows = _by_rank(plan, {k: [_ppm(r) for r in v] for k, v in (bonus.rates_by_rank or {}).items()})
    depth = max((len(r) for r in rows), default=0)
    table = np.zeros((len(plan.ranks), max(depth, 1)), dtype=np.int64)
    for r, row in enumerate(rows):
        table[r, : len(row)] = row
    return table


def _bonus_step(plan: Plan, i: int, bonus: Any) -> BonusStep:
    """The step of one bonus, with its parameters as arrays."""
    vdec, mdec = plan.plan.volume_decimals, plan.minor_units
    cap = None if bonus.cap_per_member is None else int(bonus.cap_per_member.scaleb(mdec))
    if isinstance(bonus, RankAdvancement):
        cash = np.zeros(len(plan.ranks), dtype=np.int64)
        award: list[str | None] = [None] * len(plan.ranks)
        for name, a in bonus.awards.items():
            r = plan.rank_index(name)
            cash[r] = int(a.cash.scaleb(mdec))
            award[r] = a.award
        return RankAdvancementStep(
            name=bonus.id, index=i, cap=cap, cash=cash, award=tuple(award), pay_skipped=bonus.pay_skipped
        )
    common: dict[str, Any] = {
        "name": bonus.id,
        "index": i,
        "cap": cap,
        "min_rank": plan.rank_index(bonus.min_rank) if bonus.min_rank else 0,
        "require_active": bonus.require_active,
    }
    if isinstance(bonus, (Unilevel, MatrixBonus)):
        kind = UnilevelStep if isinstance(bonus, Unilevel) else MatrixStep
        return kind(
            **common, basis=bonus.basis, dynamic=bonus.compression == "dynamic", rates=_level_rates(plan, bonus)
        )
    if isinstance(bonus, Binary):
        return BinaryStep(
            **common,
            volume=bonus.volume,
            rate=_ppm(bonus.rate) if bonus.rate is not None else 0,
            pair_volume=_units(bonus.pair_volume, vdec) if bonus.pair_volume is not None else 0,
            pair_cash=_minor(bonus.pair_cash, mdec),
            first_volume=_units(bonus.first_pair_volume, vdec) if bonus.first_pair_volume is not None else 0,
            max_pairs=bonus.max_pairs or 0,
            min_sponsored=bonus.min_sponsored_per_side,
            max_carry=_units(bonus.max_carry, vdec) if bonus.max_carry is not None else -1,
            flush_after=bonus.flush_after_inactive or 0,
        )
    if isinstance(bonus, FastStart):
        rates = np.array([_ppm(r) for r in bonus.rates], dtype=np.int64)
        return FastStartStep(**common, basis=bonus.basis, days=bonus.days, rates=rates)
    if isinstance(bonus, PersonalTier):
        return PersonalTierStep(
            **common,
            basis=bonus.basis,
            tier_volume=bonus.tier_volume,
            min_volume=np.array([_units(t.min_volume, vdec) for t in bonus.tiers], dtype=np.int64),
            rates=np.array([_ppm(t.rate) for t in bonus.tiers], dtype=np.int64),
        )
    if isinstance(bonus, Generation):
        return GenerationStep(
            **common,
            basis=bonus.basis,
            generation_rank=plan.rank_index(bonus.generation_rank),
            dynamic=bonus.compression == "dynamic",
            rates=_level_rates(plan, bonus),
        )
    if isinstance(bonus, Differential):
        table = _by_rank(plan, {k: [_ppm(r)] for k, r in bonus.rates.items()})
        rates = np.array([row[0] if row else 0 for row in table], dtype=np.int64)
        return DifferentialStep(**common, basis=bonus.basis, rates=rates, include_self=bonus.include_self)
    if isinstance(bonus, Matching):
        return MatchingStep(
            **common,
            matches=tuple(bonus.matches),
            dynamic=bonus.compression == "dynamic",
            rates=_level_rates(plan, bonus),
        )
    if isinstance(bonus, Loyalty):
        return LoyaltyStep(
            **common,
            basis=bonus.basis,
            tenure=bonus.measure == "tenure_months",
            min_periods=np.array([t.min_periods for t in bonus.tiers], dtype=np.int64),
            rates=np.array([_ppm(t.rate) if t.rate is not None else 0 for t in bonus.tiers], dtype=np.int64),
            cash=np.array([_minor(t.cash, mdec) for t in bonus.tiers], dtype=np.int64),
        )
    if isinstance(bonus, Pool):
        table = _by_rank(plan, {k: [n] for k, n in bonus.shares_by_rank.items()})
        shares = np.array([row[0] if row else 0 for row in table], dtype=np.int64)
        return PoolStep(**common, share=_ppm(bonus.share), shares=shares)
    if isinstance(bonus, TeamGoal):
        return TeamGoalStep(
            **common,
            measures=tuple(g.measure for g in bonus.goals),
            targets=np.array(
                [_units(g.target, vdec) if g.measure == "gv" else int(g.target) for g in bonus.goals], dtype=np.int64
            ),
            cash=np.array([_minor(g.cash, mdec) for g in bonus.goals], dtype=np.int64),
            award=tuple(g.award for g in bonus.goals),
        )
    if isinstance(bonus, Action):
        return ActionStep(
            **common,
            kinds=tuple(e.event for e in bonus.events),
            to_sponsor=tuple(e.payee == "sponsor" for e in bonus.events),
            cash=np.array([_minor(e.cash, mdec) for e in bonus.events], dtype=np.int64),
            award=tuple(e.award for e in bonus.events),
            limit=tuple(e.max_per_period for e in bonus.events),
        )
    raise PlanError(
        [Problem("unsupported", f"bonus type {bonus.type!r} is not supported by this engine yet", f"bonuses[{i}]")]
    )


def compile_plan(plan: Plan) -> Program:
    """Turn a validated plan into a checked, ordered :class:`Program`."""
    vdec, mdec = plan.plan.volume_decimals, plan.minor_units
    steps: list[Step] = [
        Volumes(),
        Activity(min_pv=_units(plan.activity.min_pv, vdec), min_cv=_units(plan.activity.min_cv, vdec)),
        Streak(),
        Ranks(params=_rank_params(plan)),
    ]
    by_id: dict[str, BonusStep] = {}
    for i in run_order(plan):
        step = _bonus_step(plan, i, plan.bonuses[i])
        by_id[step.name] = step
        steps.append(step)
    columns = tuple(plan.bonus_ids())
    steps.append(Totals(columns=columns))
    after: tuple[str, ...] = ()
    if plan.payout_cap is not None:
        cap = plan.payout_cap
        scalable = tuple(by_id[b] for b in columns if b in cap.scalable)
        steps.append(CompanyCap(max_share=_ppm(cap.max_share), minor_units=mdec, columns=columns, scalable=scalable))
        after = ("company_cap",)
    steps.append(Balances(minimum=int(plan.payout.minimum.scaleb(mdec)), after=after))
    _check_order(steps)
    money = MoneyParams(10**mdec, 10 ** (6 + vdec), ROUNDING_MODES[plan.plan.rounding])
    return Program(plan, tuple(steps), money)


def _check_order(steps: list[Step]) -> None:
    available = set(INPUTS)
    for step in steps:
        missing = [r for r in _reads(step) if r not in available]
        if missing:
            raise EngineError(f"step {step.name!r} reads {missing} before any step writes it")
        clash = [w for w in step.writes if w in available]
        if clash:
            raise EngineError(f"step {step.name!r} writes {clash}, which an earlier step already wrote")
        available.update(step.writes)
