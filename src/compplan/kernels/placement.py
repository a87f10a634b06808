"""Placement-tree kernels: slot-ordered relabelling support and automatic placement (docs/semantics.md 2)."""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit
from compplan.kernels.tree import walk

LEFT = 0
RIGHT = 1
WEAKER = 2
BREADTH_FIRST = 3


@jit
def slot_relabel(parent, slot):  # type: ignore[no-untyped-def]
    """Relabel a placement forest into depth-first preorder, children by slot, roots in index order.

    ``parent`` (-1 for a root) and 0-based ``slot`` (``< 64``) are by canonical row. A child in a slot that is
    already taken (by a lower row) is marked in ``taken`` and left out, with its subtree.

    Returns
    -------
    order, position, parent_pos, end, depth : int64[n]
        As :func:`compplan.kernels.tree.walk` returns them.
    visited : int
        Rows reached from a root; fewer than ``n`` without taken slots means a cycle.
    taken : bool[n]
        Rows whose slot was already taken.
    """
    first, kids, taken = _slot_lists(parent, slot)
    order, position, parent_pos, end, depth, visited = walk(parent, first, kids)
    return order, position, parent_pos, end, depth, visited, taken


@jit
def _slot_lists(parent, slot):  # type: ignore[no-untyped-def]
    """The children lists of :func:`compplan.kernels.tree.child_counts` with each member's children in slot order.

    One pass marks each parent's taken slots in a 64-bit mask (a second child in a slot is ``taken``); a child's
    place in its parent's list is then the number of lower slots taken, so no sort is needed.
    """
    n = parent.shape[0]
    mask = np.zeros(n, dtype=np.uint64)
    taken = np.zeros(n, dtype=np.bool_)
    first = np.zeros(n + 1, dtype=np.int64)
    one = np.uint64(1)
    for v in range(n):
        p = parent[v]
        if p >= 0:
            bit = one << np.uint64(slot[v])
            if mask[p] & bit:
                taken[v] = True
            else:
                mask[p] |= bit
                first[p + 1] += 1
    for v in range(n):
        first[v + 1] += first[v]
    kids = np.empty(max(3 * first[n], 1), dtype=np.int32)
    for v in range(n):
        p = parent[v]
        if p >= 0 and not taken[v]:
            below = mask[p] & ((one << np.uint64(slot[v])) - one)
            rank = 0
            while below:
                below &= below - one
                rank += 1
            k = 3 * (first[p] + rank)
            kids[k] = v
            kids[k + 1] = first[v]
            kids[k + 2] = first[v + 1]
    return first, kids, taken


@jit
def _outside(child, far, start, side):  # type: ignore[no-untyped-def]
    """The last member on the ``side`` edge going down from ``start`` (the outside of that leg).

    ``far[x, side]`` remembers a member further down the same edge; paths are compressed, so a long edge is
    walked once overall rather than once per placement.
    """
    y = start
    while True:
        z = far[y, side]
        if z >= 0 and z != y:
            y = z
        c = child[y, side]
        if c < 0:
            break
        y = c
    w = start
    while w != y:
        nxt = far[w, side] if far[w, side] >= 0 and far[w, side] != w else child[w, side]
        far[w, side] = y
        w = nxt
    return y


@jit
def _first_free(child, start, queue):  # type: ignore[no-untyped-def]
    """Breadth-first from ``start`` (children by slot): the first member with a free slot, and that slot."""
    slots = child.shape[1]
    head = 0
    tail = 1
    queue[0] = start
    while head < tail:
        x = queue[head]
        head += 1
        for k in range(slots):
            c = child[x, k]
            if c < 0:
                return x, k
            queue[tail] = c
            tail += 1
    return -1, -1


@jit
def auto_place(sponsor, order, parent, slot, child, size, wanted, method):  # type: ignore[no-untyped-def]
    """Place every member of ``order`` (canonical rows, already sorted by enrolment then id) in turn.

    ``parent``/``slot`` hold the existing placements (``parent = -2`` marks an unplaced member, ``-1`` a
    placement root) and ``child[x, k]`` the member in slot ``k`` of ``x``; all three are completed in place.
    ``size`` is each member's placement-subtree size (kept up to date for ``weaker_leg``); ``wanted`` a member's
    own side (0/1) or -1. An unplaced sponsor is placed before its recruits.

    The weaker-leg rule adds each newcomer to the size of every placement ancestor, a walk up the tree that is
    bound by memory latency, so parent and size are interleaved in one int32 table (one cache line per step).
    """
    n = parent.shape[0]
    link = np.empty((n, 2), dtype=np.int32)  # [parent, subtree size]
    for v in range(n):
        link[v, 0] = parent[v]
        link[v, 1] = size[v]
    far = np.full((n, child.shape[1]), -1, dtype=np.int32)
    queue = np.empty(max(n, 1), dtype=np.int32)
    chain = np.empty(max(n, 1), dtype=np.int64)
    for i in range(order.shape[0]):
        top = 0
        v = order[i]
        while v >= 0 and link[v, 0] == -2:
            chain[top] = v
            top += 1
            v = sponsor[v]
        while top > 0:
            top -= 1
            u = chain[top]
            s = sponsor[u]
            if method == BREADTH_FIRST:
                x, k = _first_free(child, s, queue)
            else:
                k = wanted[u]
                if k < 0:
                    if method == WEAKER:
                        a, b = child[s, LEFT], child[s, RIGHT]
                        size_a = link[a, 1] if a >= 0 else 0
                        size_b = link[b, 1] if b >= 0 else 0
                        k = LEFT if size_a <= size_b else RIGHT
                    else:
                        k = method
                x = _outside(child, far, s, k)
            link[u, 0] = x
            slot[u] = k
            child[x, k] = u
            if method == WEAKER:
                add = link[u, 1]
                a = x
                while a >= 0:
                    link[a, 1] += add
                    a = link[a, 0]
    for v in range(n):
        parent[v] = link[v, 0]
    return parent, slot
