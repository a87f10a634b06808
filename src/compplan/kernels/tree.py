"""Relabelling the sponsor tree into depth-first preorder, and subtree sums."""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit


@jit
def preorder(parent):  # type: ignore[no-untyped-def]
    """Relabel a forest given as parent indices into depth-first preorder.

    Parameters
    ----------
    parent : int64[n]
        Parent of each node by input index, ``-1`` for a root. Roots, and the children of each node, are
        visited in increasing input index (the caller sorts ids canonically first).

    Returns
    -------
    order : int64[n]
        ``order[pos]`` is the input index of the node at preorder position ``pos``.
    position : int64[n]
        Inverse of ``order``; ``-1`` for nodes not reachable from a root (they sit on or under a cycle).
    visited : int
        Number of reachable nodes; ``< n`` means there is a cycle.
    """
    n = parent.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        if parent[v] >= 0:
            count[parent[v] + 1] += 1
    for v in range(n):
        count[v + 1] += count[v]
    children = np.empty(max(count[n], 1), dtype=np.int64)
    fill = count[:n].copy()
    for v in range(n):
        p = parent[v]
        if p >= 0:
            children[fill[p]] = v
            fill[p] += 1
    order = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    visited = 0
    for root in range(n):
        if parent[root] >= 0:
            continue
        top = 0
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            order[visited] = v
            position[v] = visited
            visited += 1
            for k in range(count[v + 1] - 1, count[v] - 1, -1):  # reversed, so the smallest pops first
                stack[top] = children[k]
                top += 1
    return order, position, visited


@jit
def tree_arrays(order, position, parent):  # type: ignore[no-untyped-def]
    """Parent, subtree end and depth in preorder positions.

    Returns
    -------
    parent_pos : int64[n]
        Position of the parent, ``-1`` for a root.
    end : int64[n]
        The subtree of ``v`` is ``[v, end[v])``.
    depth : int64[n]
        0 for a root.
    """
    n = order.shape[0]
    parent_pos = np.empty(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    for pos in range(n):
        p = parent[order[pos]]
        parent_pos[pos] = -1 if p < 0 else position[p]
        if p >= 0:
            depth[pos] = depth[parent_pos[pos]] + 1
    size = np.ones(n, dtype=np.int64)
    for pos in range(n - 1, 0, -1):
        if parent_pos[pos] >= 0:
            size[parent_pos[pos]] += size[pos]
    end = np.empty(n, dtype=np.int64)
    for pos in range(n):
        end[pos] = pos + size[pos]
    return parent_pos, end, depth


@jit
def subtree_sum(values, parent_pos):  # type: ignore[no-untyped-def]
    """Sum of ``values`` over each subtree (the node itself included), in one reverse pass."""
    out = values.copy()
    for pos in range(out.shape[0] - 1, 0, -1):
        p = parent_pos[pos]
        if p >= 0:
            out[p] += out[pos]
    return out


@jit
def scatter_add(index, values, n):  # type: ignore[no-untyped-def]
    """``out[index[i]] += values[i]`` exactly in int64 (``np.bincount`` would go through float64)."""
    out = np.zeros(n, dtype=np.int64)
    for i in range(index.shape[0]):
        out[index[i]] += values[i]
    return out
