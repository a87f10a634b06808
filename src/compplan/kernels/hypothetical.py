"""Earnings at another rank for every member at once (docs/semantics.md 3.10).

For the bonuses that pay uplines (unilevel and matching with dynamic compression, generation, differential) a
member's earnings at another rank depend on where it would sit in each source's walk. For one source those
positions form a few **path segments**: runs of consecutive ancestors that would all be paid at the same level
(generation, taken rate) if they were the one member whose rank changed. Each segment gets the line amount at
every possible rank as ``+x`` at its lowest member and ``-x`` at the parent of its highest member; one reverse
preorder pass of subtree sums then gives every member the sum over the segments that contain it
(:func:`gather`). Cost: O(n x levels x ranks) time and an ``int64[n, ranks]`` array, whatever the tree's depth.

Line amounts are rounded one by one with :func:`apply_rate`, exactly as in the real close; only exact integer
sums follow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from compplan.kernels._jit import jit
from compplan.kernels.bonuses import LedgerBuffer
from compplan.kernels.money import apply_rate


@jit
def _mark(marks, lo, top, rank, amount):  # type: ignore[no-untyped-def]
    # the path segment from lo up to (not including) top earns amount at that rank
    marks[lo, rank] += amount
    if top >= 0:
        marks[top, rank] -= amount


@jit
def level_marks(parent, chain, up, basis, rates, money, marks):  # type: ignore[no-untyped-def]
    """Unilevel / matching with dynamic compression: level ``k`` segments of every source.

    ``chain`` marks the (really) qualified members and ``up`` is the nearest strict ancestor in ``chain``. For
    a source ``s``, the members from just above the ``(k-1)``-th qualified ancestor up to the ``k``-th one
    (``s`` itself is the 0-th) would all be paid at level ``k``: ``rates[rank, k - 1]`` of ``basis[s]``.
    """
    n = basis.shape[0]
    ranks, levels = rates.shape
    for s in range(n):
        b = basis[s]
        if b == 0:
            continue
        lo = parent[s]
        k = 0
        while lo >= 0 and k < levels:
            hi = lo if chain[lo] else up[lo]
            top = parent[hi] if hi >= 0 else -1
            for r in range(1, ranks):
                amount = apply_rate(b, rates[r, k], money)
                if amount != 0:
                    _mark(marks, lo, top, r, amount)
            lo = top
            k += 1


@jit
def generation_marks(parent, leader, up, basis, rates, money, marks):  # type: ignore[no-untyped-def]
    """Generation: the members from just above a leader up to the next leader share one generation ``g``.

    ``up`` is the nearest strict ancestor that is a leader; ``g`` starts at 1 when the source is a leader.
    """
    n = basis.shape[0]
    ranks, generations = rates.shape
    for s in range(n):
        b = basis[s]
        if b == 0:
            continue
        g = 1 if leader[s] else 0
        lo = parent[s]
        while lo >= 0 and g <= generations:
            hi = lo if leader[lo] else up[lo]
            top = parent[hi] if hi >= 0 else -1
            if g >= 1:
                for r in range(1, ranks):
                    amount = apply_rate(b, rates[r, g - 1], money)
                    if amount != 0:
                        _mark(marks, lo, top, r, amount)
            lo = top
            g += 1


@jit
def differential_marks(parent, rate, jump, rank_rates, include_self, basis, money, marks):  # type: ignore[no-untyped-def]
    """Differential: between two members that raise ``taken``, every member would see the same ``taken``.

    ``rate`` is the real rate of each member (0 unless qualified), ``jump`` the nearest strict ancestor with a
    higher rate, ``rank_rates[r]`` the plan's rate of rank ``r``. A member of rate ``rank_rates[r]`` in a
    segment with ``taken`` earns ``rank_rates[r] - taken`` when positive.
    """
    n = basis.shape[0]
    ranks = rank_rates.shape[0]
    for s in range(n):
        b = basis[s]
        if b == 0:
            continue
        taken = 0
        lo = s if include_self else parent[s]
        while lo >= 0:
            hi = lo
            while hi >= 0 and rate[hi] <= taken:
                hi = jump[hi]  # every member jumped over has a rate <= rate[hi] <= taken
            top = parent[hi] if hi >= 0 else -1
            for r in range(1, ranks):
                if rank_rates[r] > taken:
                    amount = apply_rate(b, rank_rates[r] - taken, money)
                    if amount != 0:
                        _mark(marks, lo, top, r, amount)
            if hi < 0:
                break
            taken = rate[hi]
            lo = top


@jit
def gather(parent, marks, rank, ok):  # type: ignore[no-untyped-def]
    """Subtree sums of ``marks`` (in place); member ``v`` gets ``marks[v, rank[v]]`` when ``ok[v]``, else 0."""
    n, ranks = marks.shape
    for v in range(n - 1, -1, -1):
        p = parent[v]
        if p >= 0:
            for r in range(ranks):
                marks[p, r] += marks[v, r]
    out = np.zeros(n, dtype=np.int64)
    for v in range(n):
        if ok[v]:
            out[v] = marks[v, rank[v]]
    return out


def totals_only(n: int, kernel: Callable[[np.ndarray, LedgerBuffer, int, bool], int]) -> np.ndarray:
    """Run a bonus kernel for its per-member totals only (no ledger lines)."""
    totals = np.zeros(n, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    kernel(totals, LedgerBuffer(empty, empty, empty, empty, empty, empty), -1, False)
    return totals


def path_earnings(
    parent: np.ndarray,
    ranks: int,
    alt_rank: np.ndarray,
    alt_ok: np.ndarray,
    fill: Callable[[np.ndarray], None],
) -> np.ndarray:
    """Each member's earnings at ``alt_rank`` (0 where not ``alt_ok``) from segment marks written by ``fill``.

    ``fill(marks)`` runs one of the ``*_marks`` kernels on a zeroed ``int64[n, ranks]`` array.
    """
    marks = np.zeros((len(parent), ranks), dtype=np.int64)
    fill(marks)
    out: np.ndarray = gather(parent, marks, alt_rank, alt_ok)
    return out
