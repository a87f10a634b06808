"""The placement tree of binary and matrix plans: validation, relabelling, and ``compplan place``.

The placement tree sits beside the sponsor tree (docs/semantics.md 2, "Placement"). It is validated and
relabelled once into its own depth-first preorder (children by slot), so binary leg volumes are subtree sums
and a matrix is a unilevel walk over it. Positions map to and from the sponsor tree's positions, so every
value the engine holds stays in sponsor-tree positions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from compplan import arrays
from compplan.errors import InputError, ProblemCollector, add_rows
from compplan.genealogy import Genealogy, _report_cycles
from compplan.inputs import NO_POSITION, BoolArray, Int64Array, Members, format_id
from compplan.kernels import placement as kp
from compplan.spec.models import Binary, MatrixBonus, PlacementTree, Plan

SIDES = ("L", "R")


def needs_placement(plan: Plan) -> bool:
    """Whether the plan has a bonus paid over the placement tree."""
    return any(isinstance(b, (Binary, MatrixBonus)) for b in plan.bonuses)


def place_if_needed(plan: Plan, members: Members) -> Members:
    """``members`` placed by the plan's auto-placement when the plan pays over a placement tree, else as given.

    For members compplan made up itself (synthetic networks, what-if recruits); real inputs go through
    ``compplan place`` so the placements are stored.
    """
    return place(plan, members) if needs_placement(plan) else members


@dataclass(frozen=True, eq=False)
class Placement:
    """A validated placement forest in its own preorder.

    Attributes
    ----------
    order : int64[n]
        ``order[p]`` = sponsor-tree position of the member at placement position ``p``.
    position : int64[n]
        ``position[v]`` = placement position of the member at sponsor-tree position ``v``.
    parent, end, depth : int64[n]
        Placement parent position (-1 for a root), subtree end (``[p, end[p])``) and depth, by placement
        position.
    child : int64[slots, n]
        Binary trees: ``child[k, p]`` = placement position of the member on side ``k`` (0 left, 1 right) of
        ``p``, or -1. Empty (no rows) for a matrix, whose bonus only walks upwards.
    """

    order: Int64Array
    position: Int64Array
    parent: Int64Array
    end: Int64Array
    depth: Int64Array
    child: Int64Array

    def __len__(self) -> int:
        return len(self.order)

    @classmethod
    def build(cls, tree: Genealogy, spec: PlacementTree) -> Placement:
        """Validate the members' placement columns against ``spec`` and relabel the placement tree.

        Raises
        ------
        InputError
            Every unplaced member, bad side or position, unknown parent, taken slot, cycle, and (with
            ``within_sponsor``) member outside its sponsor's placement subtree, each with its id and line.
        """
        problems = ProblemCollector()
        parent_c, slot_c = _canonical_links(tree, spec, False, problems)
        order_c, position_c, parent_p, end_p, depth_p, forest, complete = _checked_forest(
            tree, spec, parent_c, slot_c, problems
        )
        n = len(tree)
        if spec.within_sponsor and complete:  # members reported above are roots here and are not checked again
            _report_outside_sponsor(tree, position_c, end_p, forest >= 0, problems)
        problems.raise_if_any(InputError, title=f"{tree.members.source}: invalid placements")
        order = tree.position[order_c]  # sponsor-tree position at each placement position
        position = arrays.empty(n, dtype=np.int64)
        position[order] = np.arange(n, dtype=np.int64)
        child = arrays.full((spec.slots, n), -1) if spec.tree == "binary" else np.zeros((0, n), np.int64)
        if spec.tree == "binary":
            has = parent_p >= 0
            child[slot_c[order_c][has], parent_p[has]] = np.nonzero(has)[0]
        return cls(order, position, parent_p, end_p, depth_p, child)


def _checked_forest(
    tree: Genealogy, spec: PlacementTree, parent: Int64Array, slot: Int64Array, problems: ProblemCollector
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array, Int64Array, Int64Array, bool]:
    """Relabel the placement forest (unplaced members as roots), reporting taken slots and cycles.

    Returns ``order``, ``position`` (canonical rows), ``parent_pos``, ``end``, ``depth`` (placement positions),
    the parents used (canonical), and whether every member was reached (no cycle). A member in a taken slot is
    reported and then treated as a root, so a cycle elsewhere is still found and named.
    """
    forest = np.where(parent >= 0, parent, -1)
    order, position, parent_pos, end, depth, visited, taken = kp.slot_relabel(forest, slot)
    if taken.any():
        _report_taken(tree, spec, parent, slot, np.nonzero(taken)[0], problems)
        forest = np.where(taken, -1, forest)
        order, position, parent_pos, end, depth, visited, _ = kp.slot_relabel(forest, slot)
    if visited < len(forest):
        _report_cycles(forest, position, tree.ids, tree.input_row, tree.members, problems, "placement")
    return order, position, parent_pos, end, depth, forest, visited == len(forest)


def _report_outside_sponsor(
    tree: Genealogy, position: Int64Array, end: Int64Array, check: BoolArray, problems: ProblemCollector
) -> None:
    """Members (where ``check``) with a sponsor must sit strictly below it in the placement tree.

    ``position`` (by canonical row) and ``end`` (by placement position) describe a complete placement forest.
    """
    canon_sponsor = np.where(tree.parent[tree.position] >= 0, tree.order[np.maximum(tree.parent[tree.position], 0)], -1)
    v = np.nonzero((canon_sponsor >= 0) & check)[0]
    p, s = position[v], position[canon_sponsor[v]]
    outside = v[(p <= s) | (p >= end[s])]
    add_rows(
        problems,
        "outside_sponsor",
        outside,
        lambda c: (
            f"member {format_id(tree.ids[c])} is placed outside the placement subtree of its sponsor "
            f"{format_id(tree.ids[canon_sponsor[c]])} (placement.within_sponsor is true)"
        ),
        tree.where,
    )


def _canonical_links(
    tree: Genealogy, spec: PlacementTree, unplaced_ok: bool, problems: ProblemCollector
) -> tuple[Int64Array, Int64Array]:
    """Placement parent and 0-based slot per canonical row; -1/-1 for roots, -2/-1 for unplaced members.

    Adds a problem for every bad side or position and unknown parent (those members then count as roots, so
    the later checks still run); with ``unplaced_ok`` false, a member with a sponsor and no placement is one too.
    """
    members = tree.members
    n = len(tree)
    rows = tree.input_row  # canonical -> input row
    title = f"{members.source}: invalid placements"
    binary = spec.tree == "binary"
    column = "placement_side" if binary else "placement_position"
    placed = members.placed[rows] if members.placed is not None else arrays.zeros(n, dtype=bool)
    has_sponsor = ~members.is_root[rows]
    slot = arrays.full(n, -1, dtype=np.int64)
    given = arrays.zeros(n, dtype=bool)
    if binary and members.placement_sides is not None:
        text = members.placement_sides[rows]
        given = text != ""
        slot = np.where(text == "L", 0, np.where(text == "R", 1, -1)).astype(np.int64)
        add_rows(
            problems,
            "bad_placement_side",
            np.nonzero(given & (slot < 0))[0],
            lambda c: f"member {format_id(tree.ids[c])}: placement_side {str(text[c])!r} is not L or R",
            tree.where,
        )
    elif not binary and members.placement_positions is not None:
        raw = members.placement_positions[rows]
        given = raw != NO_POSITION
        ok = (raw >= 1) & (raw <= spec.slots)
        slot = np.where(ok, raw - 1, -1).astype(np.int64)
        add_rows(
            problems,
            "bad_placement_position",
            np.nonzero(given & ~ok)[0],
            lambda c: f"member {format_id(tree.ids[c])}: placement_position {int(raw[c])} is not in 1..{spec.slots}",
            tree.where,
        )
    elif placed.any():
        problems.add("missing_column", f"a {spec.tree} placement needs the column {column!r}", members.source)
        problems.raise_if_any(InputError, title=title)
    add_rows(
        problems,
        f"missing_{column}",
        np.nonzero(placed & ~given)[0],
        lambda c: f"member {format_id(tree.ids[c])}: {column} is empty",
        tree.where,
    )
    if not binary:  # a binary member may state the side it wants before it is placed; a matrix member may not
        add_rows(
            problems,
            f"{column}_without_parent",
            np.nonzero(~placed & given)[0],
            lambda c: f"member {format_id(tree.ids[c])}: {column} is given without a placement_id",
            tree.where,
        )
    elif not unplaced_ok:
        add_rows(
            problems,
            f"{column}_without_parent",
            np.nonzero(~placed & given & ~has_sponsor)[0],
            lambda c: f"member {format_id(tree.ids[c])}: {column} is given without a placement_id",
            tree.where,
        )
    if not unplaced_ok:
        add_rows(
            problems,
            "unplaced",
            np.nonzero(~placed & has_sponsor)[0],
            lambda c: (
                f"member {format_id(tree.ids[c])} has a sponsor but no placement_id; "
                "run `compplan place` to fill placements in"
            ),
            tree.where,
        )
    parent = np.where(has_sponsor, -2, -1).astype(np.int64)
    placed_rows = np.nonzero(placed)[0]
    pids = members.placement_ids
    if len(placed_rows) and pids is not None:
        found, ok = tree.lookup(pids[rows[placed_rows]])
        add_rows(
            problems,
            "unknown_placement",
            placed_rows[~ok],
            lambda c: f"member {format_id(tree.ids[c])}: placement parent {format_id(pids[rows[c]])} is not a member",
            tree.where,
        )
        parent[placed_rows] = np.where(ok, found, -1)
    parent = np.where((parent >= 0) & (slot < 0), -1, parent)  # a bad or missing slot: reported above
    slot = np.where(parent == -1, -1, slot)
    slot = np.where(parent == -2, -1, slot) if not binary or not unplaced_ok else slot
    return parent, slot


def _report_taken(
    tree: Genealogy,
    spec: PlacementTree,
    parent: Int64Array,
    slot: Int64Array,
    rows: Int64Array,
    problems: ProblemCollector,
) -> None:
    """One problem per member placed in a slot that a member earlier in canonical order already holds."""
    add_rows(
        problems,
        "slot_taken",
        rows,
        lambda c: (
            f"member {format_id(tree.ids[c])}: slot {_slot_name(spec, int(slot[c]))} of "
            f"{format_id(tree.ids[parent[c]])} is already taken"
        ),
        tree.where,
    )


def _slot_name(spec: PlacementTree, slot: int) -> str:
    return SIDES[slot] if spec.tree == "binary" else str(slot + 1)


def place(plan: Plan, members: Members) -> Members:
    """Fill in every missing placement (docs/semantics.md 2, ``compplan place``).

    Returns the members in canonical id order with ``placement_id`` and the side or position set for everyone
    but the placement roots. Existing placements are kept.

    Raises
    ------
    InputError
        When the plan has no ``placement`` section, or the members or their existing placements are invalid.
    """
    spec = plan.placement
    if spec is None:
        raise InputError("the plan has no 'placement' section: add 'placement: {tree: binary}' (or matrix)")
    tree = Genealogy.build(members)
    problems = ProblemCollector()
    parent, slot = _canonical_links(tree, spec, True, problems)
    n = len(tree)
    wanted = slot.copy() if spec.tree == "binary" else arrays.full(n, -1, dtype=np.int64)
    wanted = np.where(parent == -2, wanted, -1)
    slot = np.where(parent == -2, -1, slot)
    sponsor = np.where(tree.parent[tree.position] >= 0, tree.order[np.maximum(tree.parent[tree.position], 0)], -1)
    order, _, _, end, _, _, _ = _checked_forest(tree, spec, parent, slot, problems)  # unplaced members: roots
    problems.raise_if_any(InputError, title=f"{tree.members.source}: invalid placements")
    size = arrays.empty(n, dtype=np.int64)
    size[order] = end - np.arange(n)  # placement-subtree sizes of the existing forest
    child = arrays.full((n, spec.slots), -1, dtype=np.int32)
    linked = np.nonzero(parent >= 0)[0]
    child[parent[linked], slot[linked]] = linked
    todo = np.nonzero(parent == -2)[0]
    enrolled = tree.enrolled[tree.position[todo]]
    todo = todo[np.lexsort((todo, enrolled))]
    method = {"left": kp.LEFT, "right": kp.RIGHT, "weaker_leg": kp.WEAKER, "breadth_first": kp.BREADTH_FIRST}
    if len(todo):
        parent, slot = kp.auto_place(sponsor, todo, parent, slot, child, size, wanted, method[spec.method])
    if spec.within_sponsor:  # the placements given must sit below their sponsors too (new ones always do)
        _, position, _, end, _, _, _ = kp.slot_relabel(parent, slot)
        _report_outside_sponsor(tree, position, end, parent >= 0, problems)
        problems.raise_if_any(InputError, title=f"{tree.members.source}: invalid placements")
    return _placed_members(tree, parent, slot, spec)


def unplaced_columns(members: Members, n: int) -> dict[str, Any]:
    """Keyword arguments for :class:`Members`: the placement columns of ``members`` and ``n`` unplaced rows more.

    For a members table that appends ``n`` new members (what-if recruits, a simulated month's recruits) to
    ``members``; :func:`place` then places only the new ones. Empty when ``members`` has no placements.
    """
    if members.placed is None or members.placement_ids is None:
        return {}
    sides, positions, parents = members.placement_sides, members.placement_positions, members.placement_ids
    filler = arrays.full(n, parents[0] if len(parents) else 0, dtype=parents.dtype)
    return {
        "placement_ids": np.concatenate([parents, filler]),
        "placed": np.concatenate([members.placed, arrays.zeros(n, dtype=bool)]),
        "placement_sides": None if sides is None else np.concatenate([sides, np.full(n, "", dtype=sides.dtype)]),
        "placement_positions": None
        if positions is None
        else np.concatenate([positions, arrays.full(n, NO_POSITION, dtype=np.int64)]),
    }


def _placed_members(tree: Genealogy, parent: Int64Array, slot: Int64Array, spec: PlacementTree) -> Members:
    members = tree.members
    rows = tree.input_row
    placed: BoolArray = parent >= 0
    ids = tree.ids
    placement_ids = ids[np.maximum(parent, 0)]  # read only where placed
    sides = positions = None
    if spec.tree == "binary":
        sides = np.where(placed, np.array(SIDES, dtype=np.str_)[np.maximum(slot, 0)], "")
    else:
        positions = np.where(placed, slot + 1, NO_POSITION).astype(np.int64)
    return replace(
        members,
        ids=ids,
        sponsor_ids=members.sponsor_ids[rows],
        is_root=members.is_root[rows],
        enrolled_on=members.enrolled_on[rows],
        lines=None,
        placement_ids=placement_ids,
        placed=placed,
        placement_sides=sides,
        placement_positions=positions,
    )
