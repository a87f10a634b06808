"""Placement-tree kernels: slot-ordered relabelling support and automatic placement (docs/semantics.md 2)."""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit

LEFT = 0
RIGHT = 1
WEAKER = 2
BREADTH_FIRST = 3


@jit
def slot_preorder(parent, slot, slots):  # type: ignore[no-untyped-def]
    """Relabel a placement forest into depth-first preorder, children by slot, roots in index order.

    ``parent`` (-1 for a root) and 0-based ``slot`` are by canonical row, so the passes stream over the
    arrays in that order. Each member has at most ``slots <= 64`` children, one per slot; a child in a slot that
    is already taken (by a lower row) is marked in ``taken`` and left out.

    Returns
    -------
    order, position : int64[n]
        As :func:`compplan.kernels.tree.preorder` (``position`` is -1 for rows not reached).
    visited : int
        Rows reached from a root; fewer than ``n`` without taken slots means a cycle.
    taken : bool[n]
        Rows whose slot was already taken.
    """
    n = parent.shape[0]
    mask = np.zeros(n, dtype=np.uint64)
    taken = np.zeros(n, dtype=np.bool_)
    count = np.zeros(n + 1, dtype=np.int64)
    one = np.uint64(1)
    for v in range(n):
        p = parent[v]
        if p >= 0:
            bit = one << np.uint64(slot[v])
            if mask[p] & bit:
                taken[v] = True
            else:
                mask[p] |= bit
                count[p + 1] += 1
    for v in range(n):
        count[v + 1] += count[v]
    children = np.empty(max(count[n], 1), dtype=np.int64)
    for v in range(n):
        p = parent[v]
        if p >= 0 and not taken[v]:
            below = mask[p] & ((one << np.uint64(slot[v])) - one)
            rank = 0
            while below:
                below &= below - one
                rank += 1
            children[count[p] + rank] = v
    order = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    topological = True  # every parent before its children in row order (ids given in enrolment order)
    for v in range(n):
        if parent[v] >= v:
            topological = False
            break
    if topological:
        _preorder_streaming(parent, taken, count, children, order, position)
        return order, position, n, taken
    stack = np.empty(n, dtype=np.int64)
    visited = 0
    for root in range(n):
        if parent[root] >= 0:
            continue
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            order[visited] = v
            position[v] = visited
            visited += 1
            for k in range(count[v + 1] - 1, count[v] - 1, -1):  # reversed, so the lowest slot pops first
                stack[top] = children[k]
                top += 1
    return order, position, visited, taken


@jit
def _preorder_streaming(parent, taken, count, children, order, position):  # type: ignore[no-untyped-def]
    """Preorder positions without a depth-first walk, when every parent comes before its children.

    Subtree sizes in one backward pass, then positions in one forward pass (a member's children follow it in
    slot order, each after the subtrees of the ones before): both passes stream over the rows instead of
    chasing a stack through the tree, which is what makes a deep, scattered placement tree slow to walk.
    Members in a taken slot are left out (``position`` -1), as in the walk.
    """
    n = parent.shape[0]
    size = np.ones(n, dtype=np.int64)
    for v in range(n - 1, -1, -1):
        p = parent[v]
        if p >= 0 and not taken[v]:
            size[p] += size[v]
    base = 0
    for v in range(n):
        p = parent[v]
        if p < 0:
            position[v] = base
            base += size[v]
        elif taken[v]:
            continue
        at = position[v] + 1
        for k in range(count[v], count[v + 1]):
            c = children[k]
            position[c] = at
            at += size[c]
    for v in range(n):
        if position[v] >= 0:
            order[position[v]] = v


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
