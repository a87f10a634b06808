"""The period close: validate inputs against the tree, run the compiled program, name the results.

Public entry point: :func:`close`. Everything is computed in preorder positions and returned in canonical id
order (docs/semantics.md 3.6).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from compplan import arrays, threads
from compplan.compile import BonusStep, Program, compile_plan
from compplan.errors import CompplanError, EngineError, InputError, Problem, ProblemCollector, add_rows
from compplan.genealogy import Genealogy
from compplan.inputs import (
    MAX_LINE_UNITS,
    MAX_TOTAL_UNITS,
    Events,
    IdArray,
    Int64Array,
    Members,
    Orders,
    Period,
    State,
    exact_sum,
    format_id,
)
from compplan.kernels import tree as kt
from compplan.kernels.bonuses import LedgerBuffer
from compplan.kernels.money import MoneyParams
from compplan.money import format_units
from compplan.next_rank import NEXT_RANK_TOTAL, NextRank
from compplan.placement import Placement, needs_placement
from compplan.spec.models import Action, Plan

_EPOCH = dt.date(1970, 1, 1)


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


@dataclass(frozen=True, eq=False)
class EventColumns:
    """Validated events: preorder position of the member, kind, day number."""

    position: Int64Array
    kind: np.ndarray
    day: Int64Array


@dataclass(frozen=True, eq=False)
class OrderColumns:
    """Validated order lines: preorder position of the member, day number, volumes in plan units.

    Positions are int32 (members are fewer than 2**31): at 30 million lines that is 120 MB less to write in the
    order check and to read in every order-line pass.
    """

    position: npt.NDArray[np.int32]
    day: Int64Array
    pv: Int64Array
    cv: Int64Array
    #: Lines dated less than ``recent_days`` after their member's enrolment (the longest fast-start window of
    #: the plan), in order, when the one-pass check found them; ``None`` after the general checks.
    recent: Int64Array | None = None
    recent_days: int = 0


#: Ledger line kinds (docs/semantics.md 3.7).
LINE_KINDS = ("line", "member_cap", "company_cap")
KIND_LINE, KIND_MEMBER_CAP, KIND_COMPANY_CAP = range(3)


class LedgerParts:
    """Ledger segments in run order; positions are converted to ids when the result is built.

    With ``only >= 0`` only the lines paid to that preorder position are kept (a one-member statement).
    """

    def __init__(self, only: int = -1) -> None:
        self.parts: list[tuple[int, int, LedgerBuffer]] = []
        self.only = only

    def append(self, bonus_index: int, buffer: LedgerBuffer, kind: int = KIND_LINE) -> None:
        """Add lines of one bonus (``kind`` is one of :data:`LINE_KINDS`)."""
        if self.only >= 0:
            keep = buffer.payee == self.only
            if not keep.all():
                buffer = LedgerBuffer(*(column[keep] for column in buffer))
        if len(buffer.amount):
            self.parts.append((bonus_index, kind, buffer))


@dataclass(eq=False)
class Context:
    """What the steps of a program share while they run."""

    tree: Genealogy
    orders: OrderColumns
    money: MoneyParams
    values: dict[str, np.ndarray]
    ledger: LedgerParts | None
    period_start: int = 0  # days since 1970-01-01
    period_end: int = 0
    events: EventColumns | None = None
    awards: list[tuple[Int64Array, int, int, str]] = field(default_factory=list)
    cap_report: dict[str, Any] | None = None
    placement: Placement | None = None
    qualified_cache: dict[tuple[int, bool], np.ndarray] = field(default_factory=dict)  # BonusStep.qualified

    @cached_property
    def total_cv(self) -> int:
        """CV of all order lines (volume units), summed once per close."""
        return int(self.orders.cv.sum())

    def require_placement(self, step: BonusStep | None = None) -> Placement:
        """The placement tree (built by :func:`close` for plans with binary or matrix bonuses)."""
        if self.placement is None:
            name = f" for bonus {step.name!r}" if step is not None else ""
            raise EngineError(f"no placement tree{name}: the close was run without one")
        return self.placement

    def event_table(self, kind: str) -> tuple[Int64Array, Int64Array, Int64Array]:
        """Events of ``kind``: member positions, days, and their order key (file row; canonical id for enrolment)."""
        if kind == "enrolment":
            tree = self.tree
            new = np.nonzero(tree.enrolled >= self.period_start)[0]
            return new, tree.enrolled[new], tree.order[new]
        e = self.events
        if e is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        mine = np.nonzero(e.kind == kind)[0]
        return e.position[mine], e.day[mine], mine

    def run_bonus(
        self,
        step: BonusStep,
        kernel: Callable[..., int],
        relabel: Int64Array | None = None,
        ranged: bool = False,
        walked: tuple[Int64Array, Int64Array] | None = None,
        pays_self: bool = False,
    ) -> None:
        """Run a bonus kernel into a new column; with a ledger, count lines first, then fill them.

        A kernel is called ``kernel(totals, ledger, only, emit)`` with zeroed totals. A ``ranged`` one,
        ``kernel(lo, hi, totals, spill, ledger, only, emit)``, pays only the sources at positions ``[lo, hi)``
        and runs on every core (:mod:`compplan.threads`): every part into the one totals array, each setting
        only its own slice ``totals[lo:hi]`` and adding what it pays the ancestors of ``lo`` into its own
        ``spill`` (indexed by depth; :mod:`compplan.kernels.bonuses`), which is added in part order afterwards,
        and into its own slice of the ledger. So the totals are exact sums and the lines stay in source order
        whatever the number of threads. ``walked`` is the tree a ranged kernel walks, ``(parent, depth)`` by
        its positions (default: the sponsor tree); a kernel that ``pays_self`` (each source is its own payee)
        gets an empty ``spill``.

        A kernel that works in other positions (the placement tree's) gets ``relabel``: its position ``p`` is
        sponsor-tree position ``relabel[p]``; totals and ledger members are mapped back.
        """
        n = len(self.tree)
        empty = np.zeros(0, dtype=np.int64)
        none = LedgerBuffer(empty, empty, empty, empty, empty, empty)
        only = self.ledger.only if self.ledger is not None else -1
        if relabel is not None and only >= 0:
            only = int(np.nonzero(relabel == only)[0][0])
        parent, depth = walked if walked is not None else (self.tree.parent, self.tree.depth)
        ranges = threads.parts(n) if ranged else [(0, n)]
        totals = arrays.empty(n) if ranged else arrays.zeros(n)  # payees at random: on huge pages

        def run(part: int, buffer: LedgerBuffer, emit: bool) -> tuple[np.ndarray, int]:
            if not ranged:
                return empty, kernel(totals, buffer, only, emit)
            lo, hi = ranges[part]
            spill = np.zeros(0 if pays_self or lo >= n else int(depth[lo]), dtype=np.int64)
            return spill, kernel(lo, hi, totals, spill, buffer, only, emit)

        def finish(spills: list[np.ndarray]) -> None:
            for (lo, _), spill in zip(ranges, spills, strict=True):
                if len(spill):
                    kt.add_spill(parent, depth, lo, spill, totals)  # type: ignore[no-untyped-call]

        counted = threads.run_parts(lambda part: run(part, none, False), range(len(ranges)))
        counts = [lines for _, lines in counted]
        offsets = np.cumsum([0, *counts])
        if self.ledger is not None and offsets[-1]:
            buffer = LedgerBuffer(*(arrays.empty(offsets[-1], dtype=np.int64) for _ in range(6)))
            views = [LedgerBuffer(*(c[offsets[k] : offsets[k + 1]] for c in buffer)) for k in range(len(ranges))]
            if not ranged:
                totals.fill(0)  # counted once already
            filled = threads.run_parts(lambda part: run(part, views[part], True), range(len(ranges)))
            for k, (_, written) in enumerate(filled):
                if written != counts[k]:
                    raise EngineError(f"bonus {step.name!r}: counted {counts[k]} ledger lines but wrote {written}")
            counted = filled
            if relabel is not None:
                buffer = buffer._replace(payee=relabel[buffer.payee], source=relabel[buffer.source])
            self.ledger.append(step.index, buffer)
        if ranged:
            finish([spill for spill, _ in counted])
        if relabel is not None:
            mapped = arrays.empty(n, dtype=np.int64)
            mapped[relabel] = totals
            totals = mapped
        self.values[step.name] = totals

    def add_awards(self, bonus_index: int, positions: Int64Array, rank: int, award: str) -> None:
        """Record non-cash awards for members at ``positions`` (``rank`` -1 when not a rank award)."""
        self.awards.append((positions, bonus_index, rank, award))

    def adjust(self, step: BonusStep, positions: Int64Array, before: Int64Array, after: Int64Array, kind: int) -> None:
        """Set ``step``'s column at ``positions`` to ``after`` and record adjustment lines."""
        column = self.values[step.name]
        column[positions] = after
        if self.ledger is not None and len(positions):
            zero = arrays.zeros(len(positions), dtype=np.int64)
            buffer = LedgerBuffer(positions, positions, zero, before, zero, after - before)
            self.ledger.append(step.index, buffer, kind)

    def apply_member_cap(self, step: BonusStep) -> None:
        """Clip ``step``'s column at its per-member cap (docs/semantics.md 3.5)."""
        if step.cap is None:
            return
        column = self.values[step.name]
        over = np.nonzero(column > step.cap)[0]
        canon = self.tree.order[over]
        over = over[np.argsort(canon, kind="stable")]  # adjustment lines in canonical member order
        before = column[over].copy()
        self.adjust(step, over, before, arrays.full(len(over), step.cap, dtype=np.int64), KIND_MEMBER_CAP)


@dataclass(frozen=True, eq=False)
class Ledger:
    """One line per payment, as compact int64 columns (docs/semantics.md 3.6).

    Members are stored as canonical rows (``payee_row``, ``source_row``) and bonuses as plan positions
    (``bonus_index``); the ``payee``, ``source`` and ``bonus`` properties give ids.
    """

    ids: IdArray  # the close's member ids, canonical order
    bonus_ids: tuple[str, ...]
    payee_row: Int64Array
    source_row: Int64Array
    bonus_index: Int64Array
    kind_index: Int64Array  # into LINE_KINDS
    level: Int64Array
    basis: Int64Array  # volume units (money for matching and adjustment lines)
    rate: Int64Array  # parts per million
    amount: Int64Array  # minor units

    def __len__(self) -> int:
        return len(self.amount)

    @property
    def payee(self) -> IdArray:
        """Payee id of each line."""
        return self.ids[self.payee_row]

    @property
    def source(self) -> IdArray:
        """Source member id of each line (the payee itself for personal bonuses and awards)."""
        return self.ids[self.source_row]

    @property
    def bonus(self) -> np.ndarray:
        """Bonus id of each line."""
        return np.array(self.bonus_ids or ("",), dtype=np.str_)[self.bonus_index]

    @property
    def kind(self) -> np.ndarray:
        """Line kind: ``line``, ``member_cap`` or ``company_cap``."""
        return np.array(LINE_KINDS, dtype=np.str_)[self.kind_index]


@dataclass(frozen=True, eq=False)
class CloseResult:
    """Everything a close produces; member columns are in canonical id order.

    The engine works in tree (preorder) positions; each member column is put into canonical id order the first
    time it is read and then kept, so a close that only needs totals never pays for the reordering.

    Attributes
    ----------
    ids : ndarray
        Member ids, canonical order.
    pv, cv, gv, qv : int64 arrays
        Volumes in volume units (``10**-volume_decimals`` points).
    active : bool array
    rank, highest_rank : int64 arrays
        Indices into ``plan.ranks``.
    bonuses : dict of str to int64 array
        One cash column per bonus id, in minor units.
    total : int64 array
        Sum of the bonus columns, minor units.
    streak : int64 array
        Consecutive active periods including this one.
    balance_in, paid, balance_out : int64 arrays
        Carried balance from the state, amount paid out, balance carried on (minor units; 3.6).
    ledger : Ledger or None
        Present when the close was asked for one.
    awards : list of tuple
        ``(member_id, bonus_id, rank_name, award_name)`` for non-cash awards.
    total_cv : int
        Sum of CV over all order lines, in volume units.
    timings : dict of str to float
        Wall seconds of each phase and step of the close (``relabel``, ``step:unilevel``, ...).
    """

    plan: Plan
    period: Period
    ids: IdArray
    values: dict[str, np.ndarray]  # member columns in tree (preorder) positions
    position: Int64Array  # canonical row -> position
    tree: Genealogy
    ledger: Ledger | None
    awards: list[tuple[Any, str, str, str]]
    total_cv: int
    payout_cap: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        """A member column (a value name or a bonus id) in canonical id order."""
        cache = self.__dict__.setdefault("_canonical", {})
        if name not in self.values:
            raise KeyError(f"no member column {name!r}; the columns are {', '.join(sorted(self.values))}")
        if name not in cache:
            cache[name] = self.values[name][self.position]
        out: np.ndarray = cache[name]
        return out

    @property
    def pv(self) -> np.ndarray:
        """PV per member, volume units."""
        return self.column("pv")

    @property
    def cv(self) -> np.ndarray:
        """CV per member, volume units."""
        return self.column("cv")

    @property
    def gv(self) -> np.ndarray:
        """GV per member, volume units."""
        return self.column("gv")

    @property
    def qv(self) -> np.ndarray:
        """QV per member (for the paid-as rank), volume units."""
        return self.column("qv")

    @property
    def active(self) -> np.ndarray:
        """Active this period."""
        return self.column("active")

    @property
    def rank(self) -> np.ndarray:
        """Paid-as rank index."""
        return self.column("rank")

    @property
    def highest_rank(self) -> np.ndarray:
        """Highest rank index."""
        return self.column("highest_rank")

    @property
    def total(self) -> np.ndarray:
        """Sum of the bonus columns, minor units."""
        return self.column("total")

    @property
    def streak(self) -> np.ndarray:
        """Consecutive active periods, this one included."""
        return self.column("streak")

    @property
    def balance_in(self) -> np.ndarray:
        """Balance from the state, minor units."""
        return self.column("balance_in")

    @property
    def paid(self) -> np.ndarray:
        """Amount paid out, minor units."""
        return self.column("paid")

    @property
    def balance_out(self) -> np.ndarray:
        """Balance carried on, minor units."""
        return self.column("balance_out")

    @property
    def next_rank_total(self) -> np.ndarray | None:
        """What each member would have earned at its next rank, minor units (docs/semantics.md 3.10).

        The sum of its bonus columns after per-member caps, before the company cap, in the close where only its
        paid-as rank is one higher (and it is active if that rank requires it); 0 for members at the top rank.
        ``None`` unless the close ran with ``next_rank=True``.
        """
        return self.column(NEXT_RANK_TOTAL) if NEXT_RANK_TOTAL in self.values else None

    @property
    def bonuses(self) -> dict[str, Int64Array]:
        """One cash column per bonus id (plan order), minor units."""
        return {b: self.column(b) for b in self.plan.bonus_ids()}

    @property
    def rank_names(self) -> np.ndarray:
        """Paid-as rank names per member."""
        names: np.ndarray = np.array(self.plan.rank_names, dtype=np.str_)[self.rank]
        return names

    @property
    def highest_rank_names(self) -> np.ndarray:
        """Highest rank names per member."""
        names: np.ndarray = np.array(self.plan.rank_names, dtype=np.str_)[self.highest_rank]
        return names

    @property
    def summary(self) -> dict[str, Any]:
        """Totals per bonus, total payout, total CV and payout ratio; money as exact decimal text."""
        mdec, vdec = self.plan.minor_units, self.plan.plan.volume_decimals
        v = self.values
        payout = int(v["total"].sum())
        per_bonus = {b: format_units(int(v[b].sum()), mdec) for b in self.plan.bonus_ids()}
        ratio = None
        if self.total_cv > 0:
            exact = Decimal(payout).scaleb(-mdec) / Decimal(self.total_cv).scaleb(-vdec)
            ratio = float(exact.quantize(Decimal("0.000001")))
        ranks = (
            np.bincount(v["rank"], minlength=len(self.plan.ranks))
            if len(self)
            else np.zeros(len(self.plan.ranks), dtype=np.int64)
        )
        return {
            "plan": self.plan.plan.name,
            "plan_version": self.plan.plan.version,
            "currency": self.plan.plan.currency,
            "period": self.period.label,
            "members": len(self),
            "active_members": int(v["active"].sum()),
            "total_payout": format_units(payout, mdec),
            "total_paid": format_units(int(v["paid"].sum()), mdec),
            "balance_carried": format_units(int(v["balance_out"].sum()), mdec),
            "total_cv": format_units(self.total_cv, vdec),
            "payout_ratio": ratio,
            "bonuses": per_bonus,
            "ranks": {name: int(c) for name, c in zip(self.plan.rank_names, ranks, strict=True)},
            "payout_cap": self.payout_cap,
            "non_cash_awards": len(self.awards),
            "ledger_lines": None if self.ledger is None else len(self.ledger),
        }

    def state(self) -> State:
        """The state to carry into the next close (with the binary carry when the plan has a binary bonus)."""
        binary = self.plan.binary is not None
        return State(
            self.ids,
            self.highest_rank_names,
            self.streak,
            self.balance_out,
            plan_name=self.plan.plan.name,
            currency=self.plan.plan.currency,
            period=self.period.label,
            end=self.period.end,
            carry_left=self.column("carry_left") if binary else None,
            carry_right=self.column("carry_right") if binary else None,
            idle=self.column("idle") if binary else None,
        )


def _orders(tree: Genealogy, orders: Orders, period: Period, vdec: int, recent_days: int = 0) -> OrderColumns:
    """Check every order line against the tree, the period and the bounds; convert to plan units.

    With dense integer ids and volumes at the plan's decimals, one numba pass looks every line up and checks it
    (:meth:`Genealogy.check_order_lines`); the day, PV and CV columns are then the caller's arrays, without
    copies, as read-only views (a step writing into them fails instead of changing the caller's orders). Any
    problem, or any other kind of input, takes the general checks below, which name every problem with its line.
    """
    if orders.decimals == vdec:
        day = _day_numbers(orders.dates)
        pv, cv = orders.pv.astype(np.int64, copy=False), orders.cv.astype(np.int64, copy=False)
        bounds = (_day(period.start), _day(period.end), MAX_LINE_UNITS, MAX_TOTAL_UNITS, recent_days)
        checked = tree.check_order_lines(orders.member_ids, day, pv, cv, *bounds)
        if checked is not None and checked[1] == 0:
            day, pv, cv = (_read_only(c) for c in (day, pv, cv))
            return OrderColumns(checked[0], day, pv, cv, recent=checked[2], recent_days=recent_days)
    return _check_orders(tree, orders, period, vdec)


def _read_only(column: Int64Array) -> Int64Array:
    view = column.view()
    view.flags.writeable = False
    return view


def _day_numbers(dates: np.ndarray) -> Int64Array:
    """Days since 1970-01-01 (a view when ``dates`` already holds days)."""
    if dates.dtype == np.dtype("datetime64[D]"):
        return dates.view(np.int64)
    return dates.astype("datetime64[D]").astype(np.int64)


def _check_orders(tree: Genealogy, orders: Orders, period: Period, vdec: int) -> OrderColumns:
    """The general order checks: every problem named with its line."""
    problems = ProblemCollector()
    rows, found = tree.lookup(orders.member_ids)
    add_rows(
        problems,
        "unknown_member",
        np.nonzero(~found)[0],
        lambda r: f"order for unknown member {format_id(orders.member_ids[r])}",
        orders.where,
    )
    day = _day_numbers(orders.dates)
    start, end = _day(period.start), _day(period.end)
    outside = np.nonzero((day < start) | (day > end))[0]
    add_rows(
        problems,
        "outside_period",
        outside,
        lambda r: f"order dated {orders.dates[r]} is outside the period {period.start}..{period.end}",
        orders.where,
    )
    pv, cv = orders.pv, orders.cv
    shift = vdec - orders.decimals
    if shift > 0:  # lines beyond the bound are clipped to it first (and reported below): scaling could wrap
        edge = MAX_LINE_UNITS // 10**shift + 1
        pv, cv = (np.clip(c, -edge, edge) * 10**shift for c in (pv, cv))
    elif shift < 0:
        f = 10**-shift
        bad = np.nonzero((pv % f != 0) | (cv % f != 0))[0]
        add_rows(
            problems,
            "too_precise",
            bad,
            lambda r: f"volume has more than the plan's {vdec} decimal places",
            orders.where,
        )
        pv, cv = pv // f, cv // f
    for name, col in (("pv", pv), ("cv", cv)):
        big = np.nonzero((col > MAX_LINE_UNITS) | (col < -MAX_LINE_UNITS))[0]  # np.abs(-2**63) is -2**63
        add_rows(
            problems,
            "out_of_range",
            big,
            lambda r, nm=name: (
                f"{nm} {format_units(int(getattr(orders, nm)[r]), orders.decimals)} is beyond the bound of "
                f"{format_units(MAX_LINE_UNITS, vdec)} per order line"
            ),
            orders.where,
        )
        if not len(big) and len(col) and int(np.abs(col).max()) * len(col) > MAX_TOTAL_UNITS:
            if exact_sum(np.abs(col)) > MAX_TOTAL_UNITS:  # |line| <= 10^12: a Python sum only when int64 could wrap
                problems.add(
                    "out_of_range",
                    f"the sum of |{name}| over all order lines is beyond the bound of "
                    f"{format_units(MAX_TOTAL_UNITS, vdec)}",
                    orders.source,
                )
    position = tree.position[rows] if len(tree) else rows  # no members: every line is unknown, raised below
    if found.all() and len(outside) == 0:
        early = np.nonzero(day < tree.enrolled[position])[0]
        add_rows(
            problems,
            "before_enrolment",
            early,
            lambda r: (
                f"order dated {orders.dates[r]} is before member {format_id(orders.member_ids[r])} "
                f"enrolled ({np.datetime64(int(tree.enrolled[position[r]]), 'D')})"
            ),
            orders.where,
        )
    problems.raise_if_any(InputError, title=f"{orders.source}: invalid orders")
    return OrderColumns(
        position.astype(np.int32), day, pv.astype(np.int64, copy=False), cv.astype(np.int64, copy=False)
    )


#: Bound of each member's carried balance, and of the sum of their magnitudes, in minor units (docs/semantics.md
#: 1, Bounds): with every bonus bounded by the volumes, the totals, payments and balances out then stay in int64.
MAX_BALANCE_UNITS = 10**15


def _prior_state(tree: Genealogy, plan: Plan, state: State | None, period: Period) -> dict[str, Int64Array]:
    """Highest rank, streak and balance per preorder position from the state (docs/semantics.md 3.8)."""
    n = len(tree)
    names = ("prior_highest", "prior_streak", "balance_in", "prior_carry_left", "prior_carry_right", "prior_idle")
    if state is None:  # one read-only column of zeros serves them all
        zeros = arrays.zeros(n, dtype=np.int64)
        zeros.flags.writeable = False
        return dict.fromkeys(names, zeros)
    prior = {name: arrays.zeros(n, dtype=np.int64) for name in names}
    problems = ProblemCollector()
    meta = f"{state.source}:1"
    if state.plan_name is not None and state.plan_name != plan.plan.name:
        problems.add("state_plan", f"the state was written by plan {state.plan_name!r}, not {plan.plan.name!r}", meta)
    if state.currency is not None and state.currency != plan.plan.currency:
        problems.add("state_currency", f"the state is in {state.currency}, the plan in {plan.plan.currency}", meta)
    if state.end is not None and state.end != period.start - dt.timedelta(days=1):
        problems.add(
            "state_period",
            f"the state is from period {state.period} (ending {state.end}); this close needs the state of the period "
            f"ending {period.start - dt.timedelta(days=1)}",
            meta,
        )
    problems.raise_if_any(InputError, title=f"{state.source}: state does not fit this close")
    index = {name: i for i, name in enumerate(plan.rank_names)}
    rows, found = tree.lookup(state.ids)
    add_rows(
        problems,
        "unknown_member",
        np.nonzero(~found)[0],
        lambda r: f"state for unknown member {format_id(state.ids[r])}",
        state.where,
    )
    sorted_rows = np.sort(rows[found])
    dups = np.unique(sorted_rows[1:][sorted_rows[1:] == sorted_rows[:-1]])
    for c in dups[:20]:
        problems.add(
            "duplicate_id", f"member {format_id(tree.ids[c])} appears more than once in the state", state.source
        )
    ranks = np.array([index.get(str(name), -1) for name in state.highest_rank], dtype=np.int64)
    add_rows(
        problems,
        "unknown_rank",
        np.nonzero(ranks < 0)[0],
        lambda r: (
            f"member {format_id(state.ids[r])}: highest rank {str(state.highest_rank[r])!r} is not a rank of "
            f"plan {plan.plan.name!r}"
        ),
        state.where,
    )
    add_rows(
        problems,
        "bad_streak",
        np.nonzero(state.streak < 0)[0],
        lambda r: f"member {format_id(state.ids[r])}: streak must be >= 0",
        state.where,
    )
    mdec = plan.minor_units
    balance = state.balance
    big = np.nonzero((balance < -MAX_BALANCE_UNITS) | (balance > MAX_BALANCE_UNITS))[0]
    add_rows(
        problems,
        "out_of_range",
        big,
        lambda r: (
            f"member {format_id(state.ids[r])}: balance {format_units(int(balance[r]), mdec)} is beyond the bound of "
            f"{format_units(MAX_BALANCE_UNITS, mdec)}"
        ),
        state.where,
    )
    if not len(big) and len(balance) and exact_sum(np.abs(balance)) > MAX_BALANCE_UNITS:
        problems.add(
            "out_of_range",
            f"the sum of |balance| over the state is beyond the bound of {format_units(MAX_BALANCE_UNITS, mdec)}",
            state.source,
        )
    carry = {"carry_left": state.carry_left, "carry_right": state.carry_right, "idle": state.idle}
    vdec = plan.plan.volume_decimals
    for name, column in carry.items():
        if column is None:
            continue
        limit = MAX_TOTAL_UNITS if name != "idle" else 2**31
        if name != "idle" and not (column < 0).any() and exact_sum(column) > MAX_TOTAL_UNITS:
            problems.add(
                "out_of_range",
                f"the sum of {name} over the state is beyond the bound of {MAX_TOTAL_UNITS} volume units",
                state.source,
            )
        add_rows(
            problems,
            f"bad_{name}",
            np.nonzero((column < 0) | (column > limit))[0],
            lambda r, c=column, nm=name, hi=limit: (
                f"member {format_id(state.ids[r])}: {nm} {int(c[r])} is not in 0..{hi}"
                if nm == "idle"
                else f"member {format_id(state.ids[r])}: {nm} {format_units(int(c[r]), vdec)} is not in "
                f"0..{format_units(hi, vdec)}"
            ),
            state.where,
        )
    problems.raise_if_any(InputError, title=f"{state.source}: invalid state")
    positions = tree.position[rows]
    prior["prior_highest"][positions] = ranks
    prior["prior_streak"][positions] = state.streak
    prior["balance_in"][positions] = state.balance
    for name, column in carry.items():
        if column is not None:
            prior[f"prior_{name}"][positions] = column
    return prior


def _events(tree: Genealogy, events: Events | None, period: Period, plan: Plan) -> EventColumns | None:
    """Check events against the tree, the period and the kinds the plan's action bonuses list."""
    if events is None:
        return None
    problems = ProblemCollector()
    rows, found = tree.lookup(events.member_ids)
    add_rows(
        problems,
        "unknown_member",
        np.nonzero(~found)[0],
        lambda r: f"event for unknown member {format_id(events.member_ids[r])}",
        events.where,
    )
    day = events.dates.astype("datetime64[D]").astype(np.int64)
    outside = np.nonzero((day < _day(period.start)) | (day > _day(period.end)))[0]
    add_rows(
        problems,
        "outside_period",
        outside,
        lambda r: f"event dated {events.dates[r]} is outside the period {period.start}..{period.end}",
        events.where,
    )
    known = sorted({e.event for b in plan.bonuses if isinstance(b, Action) for e in b.events} - {"enrolment"})
    kinds = events.kinds.astype(np.str_)
    built_in = np.nonzero(kinds == "enrolment")[0]
    add_rows(
        problems,
        "built_in_event",
        built_in,
        lambda r: "'enrolment' events come from the members' enrolled_on dates; remove this row",
        events.where,
    )
    listed = np.array([*known, "enrolment"], dtype=np.str_)
    unknown = np.nonzero(~np.isin(kinds, listed))[0] if len(kinds) else np.zeros(0, dtype=int)
    names = ", ".join(known) or "none"
    add_rows(
        problems,
        "unknown_event",
        unknown,
        lambda r: f"event kind {str(kinds[r])!r} is not listed by the plan's action bonuses ({names})",
        events.where,
    )
    problems.raise_if_any(InputError, title=f"{events.source}: invalid events")
    return EventColumns(tree.position[rows], kinds, day)


def _check_enrolment(tree: Genealogy, period: Period) -> None:
    late = np.nonzero(tree.enrolled > _day(period.end))[0]
    if len(late):
        problems = ProblemCollector()
        canon = tree.order[late]
        add_rows(
            problems,
            "enrolled_after_period",
            canon,
            lambda c: f"member {format_id(tree.ids[c])} enrolled after the period end {period.end}",
            tree.where,
        )
        problems.raise_if_any(InputError, title=f"{tree.members.source}: invalid members")


def close(
    plan: Plan | Program,
    members: Members | Genealogy,
    orders: Orders | None,
    period: Period | str,
    state: State | None = None,
    ledger: bool = False,
    events: Events | None = None,
    ledger_for: Any = None,
    next_rank: bool = False,
) -> CloseResult:
    """Close one period.

    Parameters
    ----------
    plan : Plan or Program
        The validated plan (compiled here) or an already compiled program.
    members : Members or Genealogy
        The sponsor tree; pass a :class:`Genealogy` to reuse one relabelling across closes.
    orders : Orders or None
        The period's order lines (``None`` = no orders).
    period : Period or str
        ``"2026-10"`` or a :class:`Period`.
    state : State, optional
        The previous close's state (highest ranks); members missing from it start at the entry rank.
    ledger : bool
        Also return one line per payment.
    events : Events, optional
        The period's events for ``action`` bonuses (``enrolment`` events come from the members themselves).
    ledger_for : member id, optional
        Keep only the ledger lines paid to this member (for a statement; the full ledger is never held).
    next_rank : bool
        Also compute what each member would have earned at its next rank (docs/semantics.md 3.10):
        :attr:`CloseResult.next_rank_total`. Raises :class:`InputError` when the plan has a bonus for which
        the engine cannot (:func:`compplan.next_rank.blockers`).

    Returns
    -------
    CloseResult

    Raises
    ------
    InputError
        Bad members, orders, state or period, with every problem listed.
    """
    arrays.trim()  # checks COMPPLAN_POOL_BYTES; results dropped since the last close beyond the pool's limit go
    try:
        return _close(plan, members, orders, period, state, ledger, events, ledger_for, next_rank)
    finally:  # the close's work arrays are free now: keep no more unused than the pool's limit (compplan.arrays)
        arrays.trim()


T = TypeVar("T")


def _checked(errors: list[CompplanError], check: Callable[[], T]) -> T | None:
    """``check()``, or ``None`` with its :class:`InputError` added to ``errors``."""
    try:
        return check()
    except InputError as exc:
        errors.append(exc)
        return None


def _close(
    plan: Plan | Program,
    members: Members | Genealogy,
    orders: Orders | None,
    period: Period | str,
    state: State | None,
    ledger: bool,
    events: Events | None,
    ledger_for: Any,
    next_rank: bool,
) -> CloseResult:
    """:func:`close`."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    program = plan if isinstance(plan, Program) else compile_plan(plan)
    plan = program.plan
    if not isinstance(period, str | Period):
        raise InputError(f"period: expected 'YYYY-MM', 'YYYY-MM-DD..YYYY-MM-DD' or a Period, got {period!r}")
    period = Period.parse(period) if isinstance(period, str) else period
    lap("compile")
    tree = members if isinstance(members, Genealogy) else Genealogy.build(members)
    lap("relabel")
    # every input checked against the tree before any is rejected: all their problems reported together
    errors: list[CompplanError] = []
    placement = None
    placement_tree = plan.placement
    if placement_tree is not None and needs_placement(plan):
        placement = _checked(errors, lambda: Placement.build(tree, placement_tree))
        lap("placement")
    _checked(errors, lambda: _check_enrolment(tree, period))
    lines = orders if orders is not None else Orders.empty()
    vdec = plan.plan.volume_decimals
    order_cols = _checked(errors, lambda: _orders(tree, lines, period, vdec, program.recent_days))
    prior = _checked(errors, lambda: _prior_state(tree, plan, state, period))
    event_cols = _checked(errors, lambda: _events(tree, events, period, plan))
    if errors:
        raise InputError.together(errors)
    assert order_cols is not None and prior is not None
    lap("check_inputs")
    parts = LedgerParts() if ledger else None
    if ledger_for is not None:
        rows, found = tree.lookup([ledger_for])
        if not found[0]:
            raise InputError([Problem("unknown_member", f"member {ledger_for} is not in {tree.members.source}")])
        parts = LedgerParts(only=int(tree.position[rows[0]]))
    ctx = Context(
        tree,
        order_cols,
        program.money,
        dict(prior),
        parts,
        _day(period.start),
        _day(period.end),
        event_cols,
        placement=placement,
    )
    hypothetical = NextRank(program) if next_rank else None
    for step in program.steps:
        step.run(ctx)
        if isinstance(step, BonusStep):
            ctx.apply_member_cap(step)
        lap(f"step:{step.name}")
        if hypothetical is not None and isinstance(step, BonusStep):
            hypothetical.add(step, ctx)  # right after the member cap, before the company cap changes any column
            lap(f"next_rank:{step.name}")
    if hypothetical is not None:
        hypothetical.finish(ctx)
        lap("next_rank")
    result = _result(program, ctx, period, ctx.total_cv, timings)
    lap("results")
    return result


def _result(program: Program, ctx: Context, period: Period, total_cv: int, timings: dict[str, float]) -> CloseResult:
    plan, tree, v = program.plan, ctx.tree, ctx.values
    ledger = None
    if ctx.ledger is not None:
        parts = ctx.ledger.parts
        empty = np.zeros(0, dtype=np.int64)

        def cat(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays) if arrays else empty

        cols = [cat([getattr(b, f) for _, _, b in parts]) for f in LedgerBuffer._fields]
        which = cat([arrays.full(len(b.amount), i, dtype=np.int64) for i, _, b in parts])
        kinds = cat([arrays.full(len(b.amount), k, dtype=np.int64) for _, k, b in parts])
        ledger = Ledger(
            tree.ids, tuple(plan.bonus_ids()), tree.order[cols[0]], tree.order[cols[1]], which, kinds, *cols[2:]
        )
    awards: list[tuple[int, int, int, str]] = []
    for positions, b, r, name in ctx.awards:  # whole columns to Python ints at once (thousands at 10M)
        awards.extend((c, b, r, name) for c in tree.order[positions].tolist())
    awards.sort(key=lambda a: (a[0], a[1], a[2]))
    award_ids = tree.ids[np.array([a[0] for a in awards], dtype=np.int64)].tolist()
    named = [
        (member, plan.bonuses[b].id, plan.rank_names[r] if r >= 0 else "", a)
        for member, (_, b, r, a) in zip(award_ids, awards, strict=True)
    ]
    return CloseResult(
        plan=plan,
        period=period,
        ids=tree.ids,
        values=v,
        position=tree.position,
        tree=tree,
        ledger=ledger,
        awards=named,
        total_cv=total_cv,
        payout_cap=ctx.cap_report,
        timings=timings,
    )
