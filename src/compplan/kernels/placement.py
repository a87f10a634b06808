"""Placement-tree kernels: slot-ordered relabelling support and automatic placement (docs/semantics.md 2)."""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit

LEFT = 0
RIGHT = 1
WEAKER = 2
BREADTH_FIRST = 3


@jit
def _outside(child, far, start, side):  # type: ignore[no-untyped-def]
    """The last member on the ``side`` edge going down from ``start`` (the outside of that leg).

    ``far[side, x]`` remembers a member further down the same edge; paths are compressed, so a long edge is
    walked once overall rather than once per placement.
    """
    y = start
    while True:
        z = far[side, y]
        if z >= 0 and z != y:
            y = z
        c = child[side, y]
        if c < 0:
            break
        y = c
    w = start
    while w != y:
        nxt = far[side, w] if far[side, w] >= 0 and far[side, w] != w else child[side, w]
        far[side, w] = y
        w = nxt
    return y


@jit
def _first_free(child, start, queue):  # type: ignore[no-untyped-def]
    """Breadth-first from ``start`` (children by slot): the first member with a free slot, and that slot."""
    slots = child.shape[0]
    head = 0
    tail = 1
    queue[0] = start
    while head < tail:
        x = queue[head]
        head += 1
        for k in range(slots):
            c = child[k, x]
            if c < 0:
                return x, k
            queue[tail] = c
            tail += 1
    return -1, -1


@jit
def auto_place(sponsor, order, parent, slot, child, size, wanted, method):  # type: ignore[no-untyped-def]
    """Place every member of ``order`` (canonical rows, already sorted by enrolment then id) in turn.

    ``parent``/``slot``/``child`` hold the existing placements (``parent = -2`` marks an unplaced member,
    ``-1`` a placement root) and are completed in place. ``size`` is each member's placement-subtree size
    (kept up to date for ``weaker_leg``); ``wanted`` a member's own side (0/1) or -1. An unplaced sponsor is
    placed before its recruits.
    """
    n = parent.shape[0]
    far = np.full((child.shape[0], n), -1, dtype=np.int64)
    queue = np.empty(max(n, 1), dtype=np.int64)
    chain = np.empty(max(n, 1), dtype=np.int64)
    for i in range(order.shape[0]):
        top = 0
        v = order[i]
        while v >= 0 and parent[v] == -2:
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
                        a, b = child[LEFT, s], child[RIGHT, s]
                        size_a = size[a] if a >= 0 else 0
                        size_b = size[b] if b >= 0 else 0
                        k = LEFT if size_a <= size_b else RIGHT
                    else:
                        k = method
                x = _outside(child, far, s, k)
            parent[u] = x
            slot[u] = k
            child[k, x] = u
            if method == WEAKER:
                a = x
                while a >= 0:
                    size[a] += size[u]
                    a = parent[a]
    return parent, slot
