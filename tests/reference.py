"""Independent reference implementation of a compplan period close.

Written from docs/semantics.md alone: plain Python, exact ``decimal.Decimal`` arithmetic, dicts and simple loops.
It shares no code with the engine (only the pydantic plan models of ``compplan.spec`` are used, as input, and
``run_order`` from the same module for the documented matching order). Readable rather than fast; no input
validation (inputs are assumed valid), except the placement tree's: :func:`placement_problems` lists the documented
placement errors, so tests can check that the engine refuses exactly those inputs.

Binary and matrix plans (docs/semantics.md 2 "Placement", 3.4): member rows carry ``placement_id`` and the side or
position; :func:`reference_place` is ``compplan place``, one member at a time.

Units used here (not the engine's scaled integers):

* volumes (pv, cv, gv, qv, volume basis, binary legs and carry): ``Decimal`` points;
* rates: ``Decimal`` fractions (``5%`` is ``Decimal("0.05")``);
* money (ledger amounts, money basis, bonus columns, totals, balances): ``Decimal`` currency units, exact to the
  plan's minor units.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from compplan.spec.models import (
    Action,
    Differential,
    FastStart,
    Generation,
    Loyalty,
    Matching,
    PersonalTier,
    Plan,
    Pool,
    RankAdvancement,
    TeamGoal,
    Unilevel,
    run_order,
)

MemberId = Any  # an int or a str
#: ``(id, sponsor id or None, enrolled_on)``, or with a placement (binary and matrix plans, docs/semantics.md 2):
#: ``(id, sponsor, enrolled_on, placement_id or None, slot or None)`` where the slot is the side ``"L"`` / ``"R"``
#: (binary) or the position ``1..W`` (matrix).
MemberRow = tuple[Any, ...]
OrderRow = tuple[MemberId, datetime.date, Decimal, Decimal]
EventRow = tuple[MemberId, str, datetime.date]
#: A member's state between periods: (highest rank name, streak, balance in currency units), and with a
#: ``binary`` bonus also (..., carry_left, carry_right in points, idle periods).
StateRow = tuple[Any, ...]

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
ZERO = Decimal(0)
#: Ledger line kinds (docs/semantics.md 3.7).
KINDS = ("line", "member_cap", "company_cap")
#: The built-in event kind of ``action`` bonuses.
ENROLMENT = "enrolment"


@dataclass(frozen=True)
class LedgerLine:
    """One ledger line: ``amount`` is ``basis * rate`` rounded once (or a fixed cash award, a pool share, an
    adjustment).

    ``basis`` is in points for volume bonuses (and the pool, whose basis is the company CV), in currency units
    for ``matching`` lines and for adjustment lines (kind ``member_cap`` / ``company_cap``).
    """

    payee: MemberId
    source: MemberId
    bonus_id: str
    level: int
    basis: Decimal
    rate: Decimal  # fraction
    amount: Decimal  # currency units
    kind: str = "line"


@dataclass(frozen=True)
class Award:
    """A non-cash award; ``rank_name`` is empty except for rank advancement."""

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
    streak: int = 0
    balance_in: Decimal = ZERO
    paid: Decimal = ZERO
    balance_out: Decimal = ZERO
    # binary plans only (docs/semantics.md 3.4 binary): the period's leg volumes, the carry out (points) and the
    # consecutive inactive periods; None without a binary bonus
    leg_left: Decimal | None = None
    leg_right: Decimal | None = None
    carry_left: Decimal | None = None
    carry_right: Decimal | None = None
    idle: int | None = None


@dataclass(frozen=True)
class CapReport:
    """The company payout cap of one close (docs/semantics.md 3.5); money in currency units.

    ``scale`` is the exact ``S' / S`` (None when the cap did not bind or no scalable cell was positive);
    ``binding_short`` the payout still above the limit after scaling (0 unless ``S' = 0``).
    """

    limit: Decimal
    before: Decimal
    after: Decimal
    binding: bool
    scalable_before: Decimal  # S
    scalable_after: Decimal  # S' when binding, else S
    scale: Fraction | None

    @property
    def cut(self) -> Decimal:
        return self.before - self.after

    @property
    def binding_short(self) -> Decimal:
        return max(ZERO, self.after - self.limit)


@dataclass
class RefResult:
    """The result of :func:`reference_close`.

    ``members`` maps each member id to its :class:`MemberResult` (canonical order); ``ledger`` is in the
    documented ledger order (bonuses in run order, inside a bonus its lines by source in tree order then level,
    then its ``member_cap`` lines by payee in canonical order; ``company_cap`` lines last, by member then bonus
    in plan order); ``awards`` in the documented award order.
    """

    members: dict[MemberId, MemberResult]
    ledger: list[LedgerLine]
    awards: list[Award]
    bonus_totals: dict[str, Decimal]
    total_payout: Decimal
    total_cv: Decimal
    canonical_ids: list[MemberId]
    tree_order: list[MemberId]
    run_order: list[str] = field(default_factory=list)
    payout_cap: CapReport | None = None
    period_end: datetime.date | None = None
    #: the placement tree in pre-order (roots in canonical order, children by slot); None without one
    placement_order: list[MemberId] | None = None
    #: whether the plan has a binary bonus (the state then carries carry_left, carry_right, idle)
    binary: bool = False
    #: ``state()`` gives only (highest rank, streak, balance) even with a binary bonus (see :meth:`core`)
    core_state_only: bool = False

    def __getitem__(self, member_id: MemberId) -> MemberResult:
        return self.members[member_id]

    @property
    def payout_ratio(self) -> Decimal | None:
        """Exact ``total_payout / total_cv`` (unrounded), or None when total_cv <= 0."""
        if self.total_cv <= 0:
            return None
        return self.total_payout / self.total_cv

    @property
    def total_paid(self) -> Decimal:
        return sum((r.paid for r in self.members.values()), ZERO)

    @property
    def balance_carried(self) -> Decimal:
        """Sum of ``balance_out`` (not in docs/semantics.md; the engine's summary reports it)."""
        return sum((r.balance_out for r in self.members.values()), ZERO)

    def state(self) -> dict[MemberId, StateRow]:
        """The state for the next close (docs/semantics.md 3.7, 3.8): every member, canonical order.

        Rows are (highest rank, streak, balance); with a binary bonus (highest rank, streak, balance,
        carry_left, carry_right, idle).
        """
        if self.binary and not self.core_state_only:
            return {
                i: (r.highest_rank, r.streak, r.balance_out, r.carry_left, r.carry_right, r.idle)
                for i, r in self.members.items()
            }
        return {i: (r.highest_rank, r.streak, r.balance_out) for i, r in self.members.items()}

    def core(self) -> RefResult:
        """The same result with a three-column state (for comparisons that know nothing of the carry)."""
        return dataclasses.replace(self, core_state_only=True)


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
# Dates


def whole_months(start: datetime.date, end: datetime.date) -> int:
    """Whole months from ``start`` to ``end`` (docs/semantics.md 3.4, loyalty ``tenure_months``).

    ``2026-01-15 -> 2026-04-14`` is 2, ``-> 2026-04-15`` is 3: a month is complete when the day of the month of
    ``start`` is reached. The text does not say what happens when that day does not exist in the end month
    (enrolled on the 31st, period ending on the 30th); this reads it literally: the day is not reached, so
    ``2026-01-31 -> 2026-04-30`` is 2 (not 3 as with month-end clamping).
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


# ----------------------------------------------------------------------------------------------------------
# The placement tree (docs/semantics.md 2, "Placement (binary and matrix plans)")

#: Binary sides as slots: ``L`` is slot 1, ``R`` slot 2 (children are ordered by slot).
SIDES = {"L": 1, "R": 2}
SIDE_NAMES = {1: "L", 2: "R"}


def uses_placement(plan: Plan) -> bool:
    """Whether the plan has a binary or matrix bonus (and so a placement tree)."""
    return any(getattr(b, "type", None) in ("binary", "matrix") for b in plan.bonuses)


def slot_count(plan: Plan) -> int:
    """Children per member: 2 for a binary tree, ``width`` for a matrix."""
    assert plan.placement is not None
    return 2 if plan.placement.tree == "binary" else int(plan.placement.width)


def slot_of(plan: Plan, value: Any) -> int | None:
    """The slot number of a side / position value, or None when it is not a valid one for the plan's tree."""
    assert plan.placement is not None
    if plan.placement.tree == "binary":
        return SIDES.get(value) if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or not (text.isascii() and text.lstrip("-").isdigit()):
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if 1 <= value <= int(plan.placement.width) else None


def slot_value(plan: Plan, slot: int) -> Any:
    """The members-column value of a slot: ``"L"`` / ``"R"`` or the position."""
    assert plan.placement is not None
    return SIDE_NAMES[slot] if plan.placement.tree == "binary" else slot


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _placement_fields(row: MemberRow) -> tuple[Any, Any]:
    """(placement_id, slot value) of a member row; both None for a three-field row."""
    if len(row) <= 3:
        return None, None
    parent = None if _empty(row[3]) else row[3]
    slot = None if len(row) < 5 or _empty(row[4]) else row[4]
    return parent, slot


@dataclass
class PlacementTree:
    """The placement tree: ``parent`` (None for a placement root), ``slot`` (1..slots, None for a root) and
    ``children`` (slot -> member) of every member; ``roots`` in canonical id order."""

    slots: int
    parent: dict[MemberId, MemberId | None]
    slot: dict[MemberId, int | None]
    children: dict[MemberId, dict[int, MemberId]]
    roots: list[MemberId]

    def child(self, m: MemberId, slot: int) -> MemberId | None:
        return self.children[m].get(slot)

    def child_list(self, m: MemberId) -> list[MemberId]:
        """Children by slot (``L`` before ``R``; positions ascending)."""
        return [self.children[m][k] for k in sorted(self.children[m])]

    def preorder(self) -> list[MemberId]:
        """Depth first from the roots (canonical order), children by slot."""
        out: list[MemberId] = []
        stack = list(reversed(self.roots))
        while stack:
            m = stack.pop()
            out.append(m)
            stack.extend(reversed(self.child_list(m)))
        return out

    def ancestors(self, m: MemberId) -> Iterator[MemberId]:
        """Placement parent, its parent, ... up to the root."""
        a = self.parent[m]
        while a is not None:
            yield a
            a = self.parent[a]

    def psub(self, x: MemberId) -> list[MemberId]:
        """``x`` and everyone below it (pre-order)."""
        out: list[MemberId] = []
        stack = [x]
        while stack:
            m = stack.pop()
            out.append(m)
            stack.extend(reversed(self.child_list(m)))
        return out

    def strictly_below(self, x: MemberId, a: MemberId) -> bool:
        return any(b == a for b in self.ancestors(x))


def placement_problems(plan: Plan, members: list[MemberRow]) -> list[tuple[MemberId, str]]:
    """Every placement error of a close's members table (docs/semantics.md 2), as ``(member, code)``.

    Codes: ``bad_slot`` (a side / position that is empty, not ``L``/``R`` or not in ``1..W`` for a placed member,
    or given without a ``placement_id``), ``unplaced`` (a sponsor but no ``placement_id``), ``unknown_parent``,
    ``slot_taken`` (every member after the first, in canonical order, in one slot of one parent), ``cycle``
    (every member on a placement cycle) and ``outside_sponsor`` (``within_sponsor: true``: not strictly below its
    sponsor). Empty for a plan without a binary or matrix bonus.
    """
    if not uses_placement(plan):
        return []
    assert plan.placement is not None
    ids = [m[0] for m in members]
    known = set(ids)
    sponsor = {m[0]: m[1] for m in members}
    problems: list[tuple[MemberId, str]] = []
    parent: dict[MemberId, MemberId | None] = {}
    slot: dict[MemberId, int | None] = {}
    for row in members:
        m = row[0]
        p, value = _placement_fields(row)
        parent[m], slot[m] = None, None
        if p is None:
            if value is not None:
                problems.append((m, "bad_slot"))
            elif sponsor[m] is not None:
                problems.append((m, "unplaced"))
            continue
        k = slot_of(plan, value) if value is not None else None
        if k is None:
            problems.append((m, "bad_slot"))
        if p not in known:
            problems.append((m, "unknown_parent"))
            continue
        parent[m], slot[m] = p, k
    taken: set[tuple[MemberId, int]] = set()
    for m in canonical_order(ids):
        if parent[m] is not None and slot[m] is not None:
            if (parent[m], slot[m]) in taken:
                problems.append((m, "slot_taken"))
            taken.add((parent[m], slot[m]))
    # cycles: walking up from m returns to m
    on_cycle: set[MemberId] = set()
    for m in ids:
        seen = {m}
        a = parent[m]
        while a is not None and a not in seen:
            seen.add(a)
            a = parent[a]
        if a == m:
            on_cycle.add(m)
    problems.extend((m, "cycle") for m in ids if m in on_cycle)
    if plan.placement.within_sponsor:
        for m in ids:
            s = sponsor[m]
            if s is None or m in on_cycle or parent[m] is None:
                continue
            a, seen, below = parent[m], {m}, False
            while a is not None and a not in seen:
                if a == s:
                    below = True
                    break
                seen.add(a)
                a = parent[a]
            if not below:
                problems.append((m, "outside_sponsor"))
    return problems


def placement_tree(plan: Plan, members: list[MemberRow]) -> PlacementTree:
    """The placement tree of valid member rows (raises ValueError listing the problems otherwise)."""
    problems = placement_problems(plan, members)
    if problems:
        raise ValueError(f"placement problems: {problems}")
    ids = [m[0] for m in members]
    canon = canonical_order(ids)
    parent: dict[MemberId, MemberId | None] = {}
    slot: dict[MemberId, int | None] = {}
    for row in members:
        p, value = _placement_fields(row)
        parent[row[0]] = p
        slot[row[0]] = None if p is None else slot_of(plan, value)
    children: dict[MemberId, dict[int, MemberId]] = {i: {} for i in ids}
    for m in ids:
        if parent[m] is not None:
            children[parent[m]][slot[m]] = m  # type: ignore[index]
    roots = [i for i in canon if parent[i] is None]
    return PlacementTree(slot_count(plan), parent, slot, children, roots)


def reference_place(plan: Plan, members: list[MemberRow]) -> list[MemberRow]:
    """``compplan place`` by docs/semantics.md 2: every member placed, rows ``(id, sponsor, enrolled_on,
    placement_id, slot value)`` in canonical id order (roots: ``placement_id`` and slot None).

    Unplaced members (a sponsor, no ``placement_id``) are placed one at a time in order of ``enrolled_on``, then
    canonical id; before a member whose sponsor is still unplaced, that sponsor is placed (recursively): "an
    unplaced sponsor is always placed before its recruits". The given placements are assumed valid.
    """
    assert plan.placement is not None
    binary = plan.placement.tree == "binary"
    method = plan.placement.auto or ("weaker_leg" if binary else "breadth_first")
    slots = slot_count(plan)
    ids = [m[0] for m in members]
    canon = canonical_order(ids)
    position = {i: n for n, i in enumerate(canon)}
    sponsor = {m[0]: m[1] for m in members}
    enrolled = {m[0]: m[2] for m in members}
    parent: dict[MemberId, MemberId | None] = {}
    slot: dict[MemberId, int | None] = {}
    wanted: dict[MemberId, int | None] = {}  # an unplaced binary member's own placement_side
    for row in members:
        p, value = _placement_fields(row)
        parent[row[0]] = p
        slot[row[0]] = None if p is None else slot_of(plan, value)
        wanted[row[0]] = slot_of(plan, value) if p is None and value is not None and binary else None
    unplaced = {i for i in ids if parent[i] is None and sponsor[i] is not None}
    children: dict[MemberId, dict[int, MemberId]] = {i: {} for i in ids}
    for m in ids:
        if parent[m] is not None:
            children[parent[m]][slot[m]] = m  # type: ignore[index]

    def size(x: MemberId | None) -> int:
        """Members in ``psub(x)`` at this moment (0 for no member)."""
        if x is None:
            return 0
        n, stack = 0, [x]
        while stack:
            m = stack.pop()
            n += 1
            stack.extend(children[m].values())
        return n

    def place_one(x: MemberId) -> None:
        s = sponsor[x]
        if binary:
            side = wanted[x]
            if side is None:
                if method == "left":
                    side = 1
                elif method == "right":
                    side = 2
                else:  # weaker_leg: fewer members in psub, L on a tie
                    side = 1 if size(children[s].get(1)) <= size(children[s].get(2)) else 2
            cur = s
            while side in children[cur]:  # down the outside of that leg
                cur = children[cur][side]
            at, k = cur, side
        else:  # breadth first from the sponsor, children by position; the lowest free position
            queue = [s]
            head = 0
            while True:
                cur = queue[head]
                head += 1
                free = [k for k in range(1, slots + 1) if k not in children[cur]]
                if free:
                    at, k = cur, free[0]
                    break
                queue.extend(children[cur][k] for k in sorted(children[cur]))
        parent[x], slot[x] = at, k
        children[at][k] = x
        unplaced.discard(x)

    for x in sorted(unplaced, key=lambda i: (enrolled[i], position[i])):
        chain = []
        m = x
        while m in unplaced and m not in chain:
            chain.append(m)
            m = sponsor[m]
        for m in reversed(chain):  # the topmost unplaced sponsor first
            if m in unplaced:
                place_one(m)
    out: list[MemberRow] = []
    for i in canon:
        p = parent[i]
        out.append((i, sponsor[i], enrolled[i], p, None if p is None else slot_value(plan, slot[i])))  # type: ignore[arg-type]
    return out


# ----------------------------------------------------------------------------------------------------------
# The close


def reference_close(
    plan: Plan,
    members: list[MemberRow],
    orders: list[OrderRow],
    period_start: datetime.date,
    period_end: datetime.date,
    prior_highest: dict[MemberId, str] | None = None,
    *,
    prior_state: dict[MemberId, StateRow] | None = None,
    events: list[EventRow] | None = None,
) -> RefResult:
    """Close one period by docs/semantics.md, section 3, step by step.

    ``prior_state`` maps member id -> (highest rank name, streak, balance in currency units[, carry_left,
    carry_right in points, idle periods]) (the binary carry defaults to 0 when absent); ``prior_highest``
    (highest rank names only: streak 0, balance 0) is the older form, and cannot be combined with it.
    ``events`` are ``(member id, kind, date)`` rows in events-file order.
    """
    if prior_highest is not None:
        if prior_state is not None:
            raise ValueError("give prior_highest or prior_state, not both")
        prior_state = {i: (name, 0, ZERO) for i, name in prior_highest.items()}
    with decimal.localcontext() as ctx:
        ctx.prec = 120  # far more than any product of a 10^15-unit basis and a 6-decimal rate needs
        ctx.traps[decimal.Inexact] = False
        return _close(plan, members, orders, period_start, period_end, prior_state or {}, list(events or []))


def _close(
    plan: Plan,
    members: list[MemberRow],
    orders: list[OrderRow],
    period_start: datetime.date,
    period_end: datetime.date,
    prior: dict[MemberId, StateRow],
    events: list[EventRow],
    override: tuple[MemberId, int] | None = None,
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
    position = {i: n for n, i in enumerate(canon)}
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

    # The placement tree (docs/semantics.md 2), for binary and matrix bonuses only.
    ptree = placement_tree(plan, members) if uses_placement(plan) else None
    placement_order = ptree.preorder() if ptree is not None else None

    def ancestors(m: MemberId) -> Iterator[MemberId]:
        """Sponsor, sponsor's sponsor, ... up to the root."""
        a = sponsor[m]
        while a is not None:
            yield a
            a = sponsor[a]

    def in_period(date: datetime.date) -> bool:
        return period_start <= date <= period_end

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
    total_cv = sum((Decimal(o[3]) for o in orders), ZERO)

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

    # --- state in (3.8): members absent from the state start fresh ---
    highest_before = {i: index_of[prior[i][0]] if i in prior else 0 for i in ids}
    streak_before = {i: prior[i][1] if i in prior else 0 for i in ids}
    balance_in = {i: Decimal(prior[i][2]) if i in prior else ZERO for i in ids}
    # binary (3.4): carry in (points) and idle periods from the state, 0 when absent
    binary_bonus = next((b for b in plan.bonuses if getattr(b, "type", None) == "binary"), None)
    carry_in_l = {i: Decimal(prior[i][3]) if i in prior and len(prior[i]) > 3 else ZERO for i in ids}
    carry_in_r = {i: Decimal(prior[i][4]) if i in prior and len(prior[i]) > 4 else ZERO for i in ids}
    idle_before = {i: int(prior[i][5]) if i in prior and len(prior[i]) > 5 else 0 for i in ids}
    idle = {i: 0 if active[i] else idle_before[i] + 1 for i in ids}
    leg_l: dict[MemberId, Decimal] = {}
    leg_r: dict[MemberId, Decimal] = {}
    carry_l: dict[MemberId, Decimal] = {}
    carry_r: dict[MemberId, Decimal] = {}
    highest = {i: max(highest_before[i], rank[i]) for i in ids}
    qv = {}
    for i in ids:
        qv[i] = qv_for(i, rank[i]) if plan.ranks[rank[i]].min_qv is not None else gv[i]
    # loyalty 3.4: the streak is a fact about activity, carried whatever the bonuses
    streak = {i: streak_before[i] + 1 if active[i] else 0 for i in ids}
    if override is not None:
        _override(plan, override, rank, active, highest, highest_before)

    # --- 3.4 bonuses ---
    def basis_of(kind: str, m: MemberId) -> Decimal:
        return cv[m] if kind == "cv" else pv[m]

    def qualified(bonus: Any, u: MemberId) -> bool:
        min_rank = index_of[bonus.min_rank] if bonus.min_rank is not None else 0
        return rank[u] >= min_rank and (active[u] or not bonus.require_active)

    def round_money(value: Decimal) -> Decimal:
        return value.quantize(money_quantum, rounding=rounding)

    def to_minor(value: Decimal) -> int:
        scaled = value.scaleb(plan.minor_units)
        assert scaled == scaled.to_integral_value(), value
        return int(scaled)

    def from_minor(units: int) -> Decimal:
        return Decimal(units).scaleb(-plan.minor_units)

    def rank_table(table: dict[str, Any], rank_index: int) -> Any:
        """Value for a rank: its own entry, else the nearest listed rank below it, else None."""
        for k in range(rank_index, -1, -1):
            if rank_names[k] in table:
                return table[rank_names[k]]
        return None

    def paid_depth(bonus: Any) -> dict[str, int] | None:
        """``paid_levels`` (unilevel) or ``paid_generations`` (generation, matching)."""
        for name in ("paid_levels", "paid_generations"):
            if name in type(bonus).model_fields:
                return getattr(bonus, name)
        return None

    def level_count(bonus: Any) -> int:
        if bonus.rates is not None:
            return len(bonus.rates)
        return max((len(t) for t in (bonus.rates_by_rank or {}).values()), default=0)

    def level_rate(bonus: Any, u: MemberId, k: int) -> Decimal:
        """``rate(u, k)`` of the unilevel-style tables (docs 3.4, unilevel; the same for generation, matching)."""
        if bonus.rates is not None:
            depth = paid_depth(bonus)
            paid = len(bonus.rates) if depth is None else rank_table(depth, rank[u]) or 0
            return bonus.rates[k - 1] if k <= paid else ZERO
        table = rank_table(bonus.rates_by_rank or {}, rank[u]) or []
        return table[k - 1] if k <= len(table) else ZERO

    ledger: list[LedgerLine] = []
    awards: list[Award] = []
    # bonus id -> member -> column after the per-member cap (before the company cap)
    columns: dict[str, dict[MemberId, Decimal]] = {}

    def sponsor_walk(
        bonus: Any,
        out: list[LedgerLine],
        s: MemberId,
        b: Decimal,
        compression: str,
        n_levels: int,
        up: Any = ancestors,
    ) -> None:
        """Walk up from ``s`` paying ``b * rate(a_k, k)`` per level: unilevel and matching (sponsor tree), matrix
        (``up`` = the placement ancestors)."""
        level = 0
        for a in up(s):
            if compression == "none":
                level += 1
                if qualified(bonus, a):
                    pay(out, a, s, bonus.id, level, b, level_rate(bonus, a, level))
            else:  # dynamic: unqualified ancestors are skipped and use up no level
                if not qualified(bonus, a):
                    continue
                level += 1
                pay(out, a, s, bonus.id, level, b, level_rate(bonus, a, level))
            if level >= n_levels:
                break

    def pay(
        out: list[LedgerLine], payee: MemberId, source: MemberId, bonus_id: str, level: int, b: Decimal, r: Decimal
    ) -> None:
        amount = round_money(b * r)
        if amount != 0:
            out.append(LedgerLine(payee, source, bonus_id, level, b, r, amount))

    def cash(out: list[LedgerLine], payee: MemberId, source: MemberId, bonus_id: str, level: int, c: Any) -> None:
        if c is not None and c != 0:
            out.append(LedgerLine(payee, source, bonus_id, level, ZERO, ZERO, Decimal(c)))

    # enrolment events (built in): one per member enrolled inside the period, dated enrolled_on
    enrolment_events = [(i, ENROLMENT, enrolled[i]) for i in canon if in_period(enrolled[i])]

    order_of_run = run_order(plan)
    for bonus_index in order_of_run:
        bonus = plan.bonuses[bonus_index]
        out: list[LedgerLine] = []

        if isinstance(bonus, Unilevel):
            n_levels = level_count(bonus)
            for s in tree_order:
                b = basis_of(bonus.basis, s)
                if b != 0:
                    sponsor_walk(bonus, out, s, b, bonus.compression, n_levels)

        elif isinstance(bonus, FastStart):
            for s in tree_order:
                window_end = enrolled[s] + datetime.timedelta(days=bonus.days)
                b = ZERO
                for date, o_pv, o_cv in lines_of[s]:
                    if enrolled[s] <= date < window_end and in_period(date):
                        b += Decimal(o_cv) if bonus.basis == "cv" else Decimal(o_pv)
                if b == 0:
                    continue
                for g, a in enumerate(itertools.islice(ancestors(s), len(bonus.rates)), start=1):
                    if qualified(bonus, a):
                        pay(out, a, s, bonus.id, g, b, bonus.rates[g - 1])

        elif isinstance(bonus, PersonalTier):
            for m in tree_order:
                if not qualified(bonus, m):
                    continue
                volume = pv[m] if bonus.tier_volume == "pv" else gv[m]
                applicable = [t for t in bonus.tiers if t.min_volume <= volume]
                if applicable:
                    pay(out, m, m, bonus.id, 0, basis_of(bonus.basis, m), applicable[-1].rate)

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
                    cash(out, m, m, bonus.id, k, award.cash)
                    if award.award is not None:
                        awards.append(Award(m, bonus.id, rank_names[k], award.award))

        elif isinstance(bonus, Generation):
            # leaders: rank >= generation_rank, and qualified too with dynamic compression
            leader_rank = index_of[bonus.generation_rank]
            n_levels = level_count(bonus)

            def is_leader(x: MemberId, bonus: Generation = bonus, leader_rank: int = leader_rank) -> bool:
                if rank[x] < leader_rank:
                    return False
                return bonus.compression == "none" or qualified(bonus, x)

            for s in tree_order:
                b = basis_of(bonus.basis, s)
                if b == 0:
                    continue
                g = 1 if is_leader(s) else 0  # leaders among a_1 .. a_k = s, for u = sponsor(s)
                for u in ancestors(s):
                    if g > n_levels:
                        break
                    if g >= 1 and qualified(bonus, u):
                        r = level_rate(bonus, u, g)
                        if r > 0:
                            pay(out, u, s, bonus.id, g, b, r)
                    if is_leader(u):
                        g += 1  # u is on the path for every ancestor above it

        elif isinstance(bonus, Differential):

            def diff_rate(x: MemberId, bonus: Differential = bonus) -> Decimal:
                if not qualified(bonus, x):
                    return ZERO
                r = rank_table(bonus.rates, rank[x])
                return ZERO if r is None else r

            for s in tree_order:
                b = basis_of(bonus.basis, s)
                if b == 0:
                    continue
                taken = ZERO
                visit = itertools.chain([s] if bonus.include_self else [], ancestors(s))
                distance = 0 if bonus.include_self else 1
                for x in visit:
                    r = diff_rate(x)
                    if r > taken:
                        pay(out, x, s, bonus.id, distance, b, r - taken)
                        taken = r
                    distance += 1

        elif isinstance(bonus, Matching):
            n_levels = level_count(bonus)
            for s in tree_order:
                b = sum((columns[t][s] for t in bonus.matches), ZERO)  # after per-member caps
                if b != 0:
                    sponsor_walk(bonus, out, s, b, bonus.compression, n_levels)

        elif isinstance(bonus, Loyalty):
            for m in tree_order:
                if not qualified(bonus, m):
                    continue
                if bonus.measure == "active_streak":
                    measure = streak[m]
                else:
                    measure = whole_months(enrolled[m], period_end)
                applicable = [t for t in bonus.tiers if t.min_periods <= measure]
                if not applicable:
                    continue
                tier = applicable[-1]
                if tier.rate is not None:
                    pay(out, m, m, bonus.id, 0, basis_of(bonus.basis, m), tier.rate)
                cash(out, m, m, bonus.id, 0, tier.cash)

        elif isinstance(bonus, Pool):
            pool = round_money(total_cv * bonus.share) if total_cv > 0 else ZERO
            p_units = to_minor(pool)
            shares = {}
            for m in canon:
                n = rank_table(bonus.shares_by_rank, rank[m]) or 0
                if qualified(bonus, m) and n > 0:
                    shares[m] = n
            t_shares = sum(shares.values())
            if t_shares > 0:
                base = {m: p_units * n // t_shares for m, n in shares.items()}
                leftover = p_units - sum(base.values())
                # largest remainder first; ties to the earlier member in canonical order
                by_remainder = sorted(shares, key=lambda m: (-((p_units * shares[m]) % t_shares), position[m]))
                for m in by_remainder[:leftover]:
                    base[m] += 1
                for m in tree_order:
                    if m in base and base[m] != 0:
                        out.append(LedgerLine(m, m, bonus.id, 0, total_cv, bonus.share, from_minor(base[m])))

        elif isinstance(bonus, TeamGoal):
            new_active_below: dict[MemberId, int] = {}
            new_active_front: dict[MemberId, int] = {}

            def is_new_active(x: MemberId) -> bool:
                return in_period(enrolled[x]) and active[x]

            for m in bottom_up:
                new_active_front[m] = sum(1 for c in children[m] if is_new_active(c))
                new_active_below[m] = new_active_front[m] + sum(new_active_below[c] for c in children[m])
            for m in tree_order:
                if not qualified(bonus, m):
                    continue
                for g, goal in enumerate(bonus.goals, start=1):
                    if goal.measure == "gv":
                        reached = gv[m] >= goal.target
                    elif goal.measure == "new_actives":
                        reached = new_active_below[m] >= goal.target
                    else:  # personal_new_actives
                        reached = new_active_front[m] >= goal.target
                    if reached:
                        cash(out, m, m, bonus.id, g, goal.cash)
                        if goal.award is not None:
                            awards.append(Award(m, bonus.id, "", goal.award))

        elif isinstance(bonus, Action):
            paid_events: list[tuple[MemberId, MemberId, Any]] = []  # (payee, event member, EventAward)
            for ev in bonus.events:
                if ev.event == ENROLMENT:
                    rows = enrolment_events  # already by canonical id
                else:
                    rows = [e for e in events if e[1] == ev.event and in_period(e[2])]  # events-file order
                per_payee: dict[MemberId, list[tuple[datetime.date, int, MemberId]]] = {}
                for n, (member_id, _kind, date) in enumerate(rows):
                    payee = member_id if ev.payee == "member" else sponsor[member_id]
                    if payee is None or not qualified(bonus, payee):
                        continue
                    per_payee.setdefault(payee, []).append((date, n, member_id))
                for payee, evs in per_payee.items():
                    evs.sort(key=lambda e: (e[0], e[1]))  # earliest by date, then file (or canonical) order
                    if ev.max_per_period is not None:
                        evs = evs[: ev.max_per_period]
                    paid_events.extend((payee, member_id, ev) for _d, _n, member_id in evs)
            tree_position = {m: n for n, m in enumerate(tree_order)}
            # ledger: by source (the event member) in tree order, then level (always 0); stable otherwise
            paid_events.sort(key=lambda p: tree_position[p[1]])
            for payee, member_id, ev in paid_events:
                cash(out, payee, member_id, bonus.id, 0, ev.cash)
                if ev.award is not None:
                    awards.append(Award(payee, bonus.id, "", ev.award))

        elif getattr(bonus, "type", None) == "binary":
            assert ptree is not None
            volume = cv if bonus.volume == "cv" else pv
            # psub volume of every member, bottom-up over the placement tree
            pvol: dict[MemberId, Decimal] = {}
            for m in reversed(placement_order or []):
                pvol[m] = volume[m] + sum((pvol[c] for c in ptree.child_list(m)), ZERO)

            def side_below(f: MemberId, m: MemberId, tree: PlacementTree = ptree) -> int | None:
                """The slot of ``m`` whose psub holds ``f`` (None when ``f`` is not below ``m``)."""
                below, a = f, tree.parent[f]
                while a is not None and a != m:
                    below, a = a, tree.parent[a]
                return tree.slot[below] if a == m else None

            k_needed = bonus.min_sponsored_per_side
            for m in tree_order:  # personal bonus: lines by source in sponsor-tree order
                left, right = ptree.child(m, 1), ptree.child(m, 2)
                leg_l[m] = pvol[left] if left is not None else ZERO
                leg_r[m] = pvol[right] if right is not None else ZERO
                vol_l = max(ZERO, carry_in_l[m] + leg_l[m])
                vol_r = max(ZERO, carry_in_r[m] + leg_r[m])
                ok = qualified(bonus, m)
                if ok and k_needed > 0:
                    per_side = {1: 0, 2: 0}
                    for f in children[m]:  # personally sponsored
                        if active[f]:
                            side = side_below(f, m)
                            if side is not None:
                                per_side[side] += 1
                    ok = per_side[1] >= k_needed and per_side[2] >= k_needed
                used_l = used_r = ZERO
                if ok:
                    if bonus.rate is not None:  # percentage of the weaker leg
                        w = min(vol_l, vol_r)
                        used_l = used_r = w
                        pay(out, m, m, bonus.id, 0, w, bonus.rate)
                    else:  # pairs
                        v_pair = bonus.pair_volume
                        first = bonus.first_pair_volume
                        if first is None:
                            p = int(min(vol_l // v_pair, vol_r // v_pair))
                            used_l = used_r = p * v_pair
                        else:
                            left_stronger = vol_l >= vol_r  # L on a tie
                            strong, weak = (vol_l, vol_r) if left_stronger else (vol_r, vol_l)
                            if strong >= first and weak >= v_pair:
                                p = 1 + int(min((strong - first) // v_pair, (weak - v_pair) // v_pair))
                                used_strong, used_weak = first + (p - 1) * v_pair, p * v_pair
                            else:
                                p = 0
                                used_strong = used_weak = ZERO
                            used_l, used_r = (used_strong, used_weak) if left_stronger else (used_weak, used_strong)
                        q = p if bonus.max_pairs is None else min(p, bonus.max_pairs)
                        if q > 0:
                            amount = q * Decimal(bonus.pair_cash)
                            if amount != 0:
                                out.append(LedgerLine(m, m, bonus.id, q, p * v_pair, ZERO, amount))
                c_l, c_r = vol_l - used_l, vol_r - used_r
                if bonus.flush_after_inactive is not None and idle[m] >= bonus.flush_after_inactive:
                    c_l = c_r = ZERO
                if bonus.max_carry is not None:
                    c_l, c_r = min(c_l, Decimal(bonus.max_carry)), min(c_r, Decimal(bonus.max_carry))
                carry_l[m], carry_r[m] = c_l, c_r

        elif getattr(bonus, "type", None) == "matrix":
            assert ptree is not None
            n_levels = level_count(bonus)
            for s in placement_order or []:  # lines by source in placement-tree order, then level
                b = basis_of(bonus.basis, s)
                if b != 0:
                    sponsor_walk(bonus, out, s, b, bonus.compression, n_levels, up=ptree.ancestors)

        else:  # pragma: no cover
            raise TypeError(f"unknown bonus type {type(bonus).__name__}")

        ledger.extend(out)
        column = {m: ZERO for m in canon}
        for ln in out:
            column[ln.payee] += ln.amount
        # 3.5 per-member cap, right after the bonus (payee canonical order)
        cap = bonus.cap_per_member
        if cap is not None:
            for m in canon:
                if column[m] > cap:
                    ledger.append(LedgerLine(m, m, bonus.id, 0, column[m], ZERO, cap - column[m], "member_cap"))
                    column[m] = Decimal(cap)
        columns[bonus.id] = column

    # --- 3.5 company payout cap ---
    bonus_ids = [b.id for b in plan.bonuses]
    cap_report: CapReport | None = None
    if plan.payout_cap is not None:
        limit = (total_cv * plan.payout_cap.max_share).quantize(money_quantum, ROUND_FLOOR) if total_cv > 0 else ZERO
        before = sum((sum(col.values(), ZERO) for col in columns.values()), ZERO)
        scalable = [b for b in bonus_ids if b in set(plan.payout_cap.scalable)]  # plan order
        cells = [(m, b) for m in canon for b in scalable if columns[b][m] > 0]  # member, then bonus in plan order
        s_units = sum(to_minor(columns[b][m]) for m, b in cells)
        if before > limit:
            excess = to_minor(before) - to_minor(limit)
            s_new = max(0, s_units - excess)
            if s_units > 0:
                new = {c: to_minor(columns[c[1]][c[0]]) * s_new // s_units for c in cells}
                leftover = s_new - sum(new.values())
                # largest remainder; ties: earlier member (canonical), then earlier bonus (plan order): `cells` order
                ranked = sorted(
                    range(len(cells)), key=lambda k: -((to_minor(columns[cells[k][1]][cells[k][0]]) * s_new) % s_units)
                )
                for k in ranked[:leftover]:
                    new[cells[k]] += 1
                for m, b in cells:
                    a = columns[b][m]
                    after_cell = from_minor(new[(m, b)])
                    if after_cell != a:
                        ledger.append(LedgerLine(m, m, b, 0, a, ZERO, after_cell - a, "company_cap"))
                        columns[b][m] = after_cell
            after = sum((sum(col.values(), ZERO) for col in columns.values()), ZERO)
            scale = Fraction(s_new, s_units) if s_units > 0 else None
            cap_report = CapReport(limit, before, after, True, from_minor(s_units), from_minor(s_new), scale)
        else:
            cap_report = CapReport(limit, before, before, False, from_minor(s_units), from_minor(s_units), None)

    # --- 3.6 totals, balances and payouts ---
    minimum = plan.payout.minimum
    results: dict[MemberId, MemberResult] = {}
    for i in canon:
        bonuses = {b: columns[b][i] for b in bonus_ids}
        total = sum(bonuses.values(), ZERO)
        payable = balance_in[i] + total
        if payable < 0 or payable < minimum:
            paid, balance_out = ZERO, payable
        else:
            paid, balance_out = payable, ZERO
        results[i] = MemberResult(
            pv=pv[i],
            cv=cv[i],
            gv=gv[i],
            qv=qv[i],
            active=active[i],
            rank=rank_names[rank[i]],
            highest_rank=rank_names[highest[i]],
            bonuses=bonuses,
            total=total,
            streak=streak[i],
            balance_in=balance_in[i],
            paid=paid,
            balance_out=balance_out,
        )
        if binary_bonus is not None:
            r = results[i]
            r.leg_left, r.leg_right, r.carry_left, r.carry_right = leg_l[i], leg_r[i], carry_l[i], carry_r[i]
            r.idle = idle[i]
    bonus_totals = {b: sum((r.bonuses[b] for r in results.values()), ZERO) for b in bonus_ids}
    total_payout = sum((r.total for r in results.values()), ZERO)

    # Awards: by member (canonical), then bonus (plan order), then rank (ladder order, as produced; events and
    # goals in the order they were paid).
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
        run_order=[plan.bonuses[k].id for k in order_of_run],
        payout_cap=cap_report,
        period_end=period_end,
        placement_order=placement_order,
        binary=binary_bonus is not None,
    )


# ----------------------------------------------------------------------------------------------------------
# Earnings at the next rank (docs/semantics.md 3.10)


def _override(
    plan: Plan,
    override: tuple[MemberId, int],
    rank: dict[MemberId, int],
    active: dict[MemberId, bool],
    highest: dict[MemberId, int],
    highest_before: dict[MemberId, int],
) -> None:
    """3.10: only this member's paid-as rank, activity and highest rank change; after ranks and streaks are
    decided, so nobody else's rank, activity or streak (nor its own streak) can follow."""
    member, new_rank = override
    spec = plan.ranks[new_rank]
    rank[member] = new_rank
    if spec.active if spec.active is not None else True:
        active[member] = True
    highest[member] = max(highest_before[member], new_rank)


def reference_next_rank_earnings(
    plan: Plan,
    members: list[MemberRow],
    orders: list[OrderRow],
    period_start: datetime.date,
    period_end: datetime.date,
    *,
    prior_state: dict[MemberId, StateRow] | None = None,
    events: list[EventRow] | None = None,
) -> dict[MemberId, Decimal | None]:
    """docs/semantics.md 3.10 literally: for every member below the top rank, the whole close again with that
    member's paid-as rank one higher (active if that rank requires it); its total before the company cap (the
    plan without ``payout_cap``). ``None`` for members at the top rank. O(n) closes: for small inputs."""
    real = reference_close(plan, members, orders, period_start, period_end, prior_state=prior_state, events=events)
    rank_names = [r.name for r in plan.ranks]
    uncapped = plan.model_copy(update={"payout_cap": None})
    out: dict[MemberId, Decimal | None] = {}
    for member, result in real.members.items():
        now = rank_names.index(result.rank)
        if now + 1 >= len(rank_names):
            out[member] = None
            continue
        with decimal.localcontext() as ctx:
            ctx.prec = 120
            ctx.traps[decimal.Inexact] = False
            alt = _close(
                uncapped,
                members,
                orders,
                period_start,
                period_end,
                prior_state or {},
                list(events or []),
                override=(member, now + 1),
            )
        out[member] = alt.members[member].total
    return out
