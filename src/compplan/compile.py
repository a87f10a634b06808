"""Compile a validated :class:`~compplan.spec.models.Plan` into a :class:`Program`.

A program is an ordered tuple of typed steps (volumes -> activity -> ranks -> bonuses -> totals). Each step
holds the plan's parameters as numpy arrays and names the values it reads and writes; :func:`compile_plan`
checks that every value is produced before it is read. No code is generated per plan: every step calls the
same generic, cached numba kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from compplan.errors import EngineError
from compplan.kernels import bonuses as kb
from compplan.kernels.money import ROUNDING_MODES, MoneyParams
from compplan.kernels.ranks import UNSET, RankParams, activity, paid_as_ranks
from compplan.kernels.tree import scatter_add, subtree_sum
from compplan.money import RATE_SCALE
from compplan.spec.models import FastStart, PersonalTier, Plan, RankAdvancement, Unilevel

if TYPE_CHECKING:
    from compplan.engine import Context

#: Values that exist before the first step runs (see :class:`compplan.engine.Context`).
INPUTS = frozenset({"orders", "prior_highest"})


def _units(value: Decimal | None, decimals: int) -> int:
    if value is None:
        return int(UNSET)
    return int(value.scaleb(decimals))


def _ppm(rate: Decimal) -> int:
    return int(rate * RATE_SCALE)


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
    """``pv``, ``cv`` per member from the order lines, and ``gv`` as subtree sums of ``pv``."""

    reads: ClassVar[tuple[str, ...]] = ("orders",)
    name: str = "volumes"

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return ("pv", "cv", "gv")

    def run(self, ctx: Context) -> None:  # noqa: D102
        n = len(ctx.tree)
        o = ctx.orders
        ctx.values["pv"] = scatter_add(o.position, o.pv, n)
        ctx.values["cv"] = scatter_add(o.position, o.cv, n)
        ctx.values["gv"] = subtree_sum(ctx.values["pv"], ctx.tree.parent)


@dataclass(frozen=True)
class Activity(Step):
    """``active`` = PV and CV at or above the plan's minimums."""

    reads: ClassVar[tuple[str, ...]] = ("pv", "cv")
    name: str = "active"
    min_pv: int = 0
    min_cv: int = 0

    def run(self, ctx: Context) -> None:  # noqa: D102
        ctx.values["active"] = activity(ctx.values["pv"], ctx.values["cv"], self.min_pv, self.min_cv)


@dataclass(frozen=True)
class Ranks(Step):
    """Paid-as rank and QV (bottom-up), then highest rank = max(prior, paid-as)."""

    reads: ClassVar[tuple[str, ...]] = ("pv", "gv", "active", "prior_highest")
    name: str = "rank"
    params: RankParams | None = None

    @property
    def writes(self) -> tuple[str, ...]:  # noqa: D102
        return ("rank", "qv", "highest_rank")

    def run(self, ctx: Context) -> None:  # noqa: D102
        assert self.params is not None
        v = ctx.values
        v["rank"], v["qv"] = paid_as_ranks(ctx.tree.end, v["pv"], v["gv"], v["active"], self.params)
        v["highest_rank"] = np.maximum(v["rank"], v["prior_highest"])


@dataclass(frozen=True)
class BonusStep(Step):
    """Common parts of a bonus: its column name, plan position and payee qualification."""

    reads: ClassVar[tuple[str, ...]] = ("rank", "active")
    index: int = 0
    min_rank: int = 0
    require_active: bool = True

    def qualified(self, ctx: Context) -> np.ndarray:
        """Payees that may earn: rank >= min_rank and (active or activity not required)."""
        v = ctx.values
        ok: np.ndarray = v["rank"] >= self.min_rank
        if self.require_active:
            ok &= v["active"]
        return ok


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
        qualified = self.qualified(ctx)
        parent = ctx.tree.parent
        step = kb.nearest_qualified_ancestor(parent, qualified) if self.dynamic else parent
        basis, rank = ctx.values[self.basis], ctx.values["rank"]
        ctx.run_bonus(
            self, lambda t, led, s, e: kb.unilevel(step, basis, qualified, rank, self.rates, ctx.money, t, led, s, e)
        )


@dataclass(frozen=True)
class FastStartStep(BonusStep):
    """Fast start on each member's orders within ``days`` of enrolment, up ``len(rates)`` generations."""

    basis: str = "cv"
    days: int = 1
    rates: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return ("orders",)

    def run(self, ctx: Context) -> None:  # noqa: D102
        o, tree = ctx.orders, ctx.tree
        age = o.day - tree.enrolled[o.position]
        window = (age >= 0) & (age < self.days)
        volume = o.cv if self.basis == "cv" else o.pv
        basis = scatter_add(o.position[window], volume[window], len(tree))
        qualified = self.qualified(ctx)
        ctx.run_bonus(
            self, lambda t, led, s, e: kb.fast_start(tree.parent, basis, qualified, self.rates, ctx.money, t, led, s, e)
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
            lambda t, led, s, e: kb.personal_tier(
                tv, basis, qualified, self.min_volume, self.rates, ctx.money, t, led, s, e
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
        column = np.zeros(len(h0), dtype=np.int64)
        members: list[np.ndarray] = []
        ranks: list[np.ndarray] = []
        for r in range(1, len(self.cash)):
            if self.cash[r] == 0 and self.award[r] is None:
                continue
            hit = (h0 < r) & ((r <= h1) if self.pay_skipped else (h1 == r))
            who = np.nonzero(hit)[0]
            if self.cash[r]:
                column[who] += self.cash[r]
                members.append(who)
                ranks.append(np.full(len(who), r, dtype=np.int64))
            if self.award[r] is not None:
                ctx.add_awards(self.index, who, r, self.award[r] or "")
        ctx.values[self.name] = column
        if ctx.ledger is not None and members:
            who, lvl = np.concatenate(members), np.concatenate(ranks)
            order = np.lexsort((lvl, who))
            who, lvl = who[order], lvl[order]
            zero = np.zeros(len(who), dtype=np.int64)
            ctx.ledger.append(self.index, kb.LedgerBuffer(who, who, lvl, zero, zero, self.cash[lvl]))


@dataclass(frozen=True)
class Totals(Step):
    """``total`` = sum of the cash bonus columns."""

    name: str = "total"
    columns: tuple[str, ...] = ()

    @property
    def deps(self) -> tuple[str, ...]:  # noqa: D102
        return self.columns

    def run(self, ctx: Context) -> None:  # noqa: D102
        total = np.zeros(len(ctx.tree), dtype=np.int64)
        for c in self.columns:
            total += ctx.values[c]
        ctx.values["total"] = total


@dataclass(frozen=True)
class Program:
    """A compiled plan: the steps in run order and the money conversion."""

    plan: Plan
    steps: tuple[Step, ...]
    money: MoneyParams

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


def _unilevel_rates(plan: Plan, bonus: Unilevel) -> np.ndarray:
    if bonus.rates is not None:
        rates = [_ppm(r) for r in bonus.rates]
        if bonus.paid_levels is None:
            rows = [rates] * len(plan.ranks)
        else:
            levels = _by_rank(plan, {k: [v] for k, v in bonus.paid_levels.items()})
            rows = [rates[: lv[0]] if lv else [] for lv in levels]
    else:
        rows = _by_rank(plan, {k: [_ppm(r) for r in v] for k, v in (bonus.rates_by_rank or {}).items()})
    depth = max((len(r) for r in rows), default=0)
    table = np.zeros((len(plan.ranks), max(depth, 1)), dtype=np.int64)
    for r, row in enumerate(rows):
        table[r, : len(row)] = row
    return table


def compile_plan(plan: Plan) -> Program:
    """Turn a validated plan into a checked, ordered :class:`Program`."""
    vdec = plan.plan.volume_decimals
    steps: list[Step] = [
        Volumes(),
        Activity(min_pv=_units(plan.activity.min_pv, vdec), min_cv=_units(plan.activity.min_cv, vdec)),
        Ranks(params=_rank_params(plan)),
    ]
    for i, bonus in enumerate(plan.bonuses):
        if isinstance(bonus, RankAdvancement):
            cash = np.zeros(len(plan.ranks), dtype=np.int64)
            award: list[str | None] = [None] * len(plan.ranks)
            for name, a in bonus.awards.items():
                r = plan.rank_index(name)
                cash[r] = int(a.cash.scaleb(plan.minor_units))
                award[r] = a.award
            steps.append(
                RankAdvancementStep(
                    name=bonus.id, index=i, cash=cash, award=tuple(award), pay_skipped=bonus.pay_skipped
                )
            )
            continue
        min_rank = plan.rank_index(bonus.min_rank) if bonus.min_rank else 0
        req = bonus.require_active
        if isinstance(bonus, Unilevel):
            steps.append(
                UnilevelStep(
                    name=bonus.id,
                    index=i,
                    min_rank=min_rank,
                    require_active=req,
                    basis=bonus.basis,
                    dynamic=bonus.compression == "dynamic",
                    rates=_unilevel_rates(plan, bonus),
                )
            )
        elif isinstance(bonus, FastStart):
            rates = np.array([_ppm(r) for r in bonus.rates], dtype=np.int64)
            steps.append(
                FastStartStep(
                    name=bonus.id,
                    index=i,
                    min_rank=min_rank,
                    require_active=req,
                    basis=bonus.basis,
                    days=bonus.days,
                    rates=rates,
                )
            )
        elif isinstance(bonus, PersonalTier):
            steps.append(
                PersonalTierStep(
                    name=bonus.id,
                    index=i,
                    min_rank=min_rank,
                    require_active=req,
                    basis=bonus.basis,
                    tier_volume=bonus.tier_volume,
                    min_volume=np.array([_units(t.min_volume, vdec) for t in bonus.tiers], dtype=np.int64),
                    rates=np.array([_ppm(t.rate) for t in bonus.tiers], dtype=np.int64),
                )
            )
        else:  # pragma: no cover - the discriminated union admits nothing else
            raise EngineError(f"no compiler for bonus type {type(bonus).__name__}")
    steps.append(Totals(columns=tuple(plan.bonus_ids())))
    _check_order(steps)
    money = MoneyParams(10**plan.minor_units, 10 ** (6 + vdec), ROUNDING_MODES[plan.plan.rounding])
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
