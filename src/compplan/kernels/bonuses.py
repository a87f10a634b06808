"""Percentage bonuses over the preorder tree (docs/semantics.md 3.4).

Every kernel adds each line's rounded amount to ``totals[payee]`` and returns the number of non-zero lines
whose payee is ``only`` (every payee when ``only < 0``). A kernel over a range ``[lo, hi)`` of sources
(unilevel, generation, fast start) pays ancestors, which lie before ``hi``: it sets ``totals[lo:hi]`` itself
(zeroes it first) and adds what it pays below ``lo`` to ``spill[depth[payee]]`` instead: those payees are
ancestors of ``lo`` (a subtree is contiguous in preorder), one per depth. So parts of one range run on several
cores into one totals array, each writing only its own slice. (The test is written out in each kernel: as a
called function it made the unilevel walk 2.5x slower.) When ``emit`` is true it also writes line ``i`` of
those to ``ledger.<column>[i]``; the wrapper sizes the buffers by a first call with ``emit=False``. ``only``
lets a statement for one member collect its lines without holding the whole ledger.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from compplan.kernels._jit import jit
from compplan.kernels.money import apply_rate


class LedgerBuffer(NamedTuple):
    """Preallocated ledger columns (positions, volume units, ppm, minor units)."""

    payee: np.ndarray
    source: np.ndarray
    level: np.ndarray
    basis: np.ndarray
    rate: np.ndarray
    amount: np.ndarray


@jit
def _emit(ledger, i, payee, source, level, basis, rate, amount):  # type: ignore[no-untyped-def]
    ledger.payee[i] = payee
    ledger.source[i] = source
    ledger.level[i] = level
    ledger.basis[i] = basis
    ledger.rate[i] = rate
    ledger.amount[i] = amount


@jit
def _last_tier(thresholds, value):  # type: ignore[no-untyped-def]
    # index of the last threshold <= value, or -1 (thresholds strictly increasing)
    t = -1
    while t + 1 < thresholds.shape[0] and thresholds[t + 1] <= value:
        t += 1
    return t


@jit
def nearest_qualified_ancestor(parent, qualified):  # type: ignore[no-untyped-def]
    """For each member, the closest strict ancestor that is qualified, or -1: dynamic compression in O(n)."""
    n = parent.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        p = parent[v]
        if p >= 0:
            out[v] = p if qualified[p] else out[p]
    return out


@jit
def unilevel(parent, depth, counted, lo, hi, basis, qualified, rank, rates, money, totals, spill, ledger, only, emit):  # type: ignore[no-untyped-def]
    """Pay level ``k`` uplines ``rates[rank[u], k - 1]`` of the basis of each source in ``[lo, hi)``.

    The ``counted`` ancestors are the levels: every member without compression (only qualified ones are paid),
    the qualified ones with dynamic compression. One forward pass in preorder keeps the counted ancestors of the
    current member on a stack (:func:`_path_push`), so the levels above a source are the top of that stack: no
    pointer chasing up the tree. Any range gives the lines of its sources, in source order; ``totals[lo:hi]``
    and ``spill`` as the module says.
    """
    levels = rates.shape[1]
    totals[lo:hi] = 0
    stack, below = _path_start(parent, depth, counted, lo)
    lines = 0
    for s in range(lo, hi):
        c = _path_push(depth[s], s, counted[s], stack, below)
        b = basis[s]
        if b == 0:
            continue
        j = c - 1
        k = 0
        while j >= 0 and k < levels:
            u = stack[j]
            if qualified[u]:
                rate = rates[rank[u], k]
                amount = apply_rate(b, rate, money)
                if amount != 0:
                    if u >= lo:  # totals[lo:hi] and spill: see the module docstring
                        totals[u] += amount
                    else:
                        spill[depth[u]] += amount
                    if only < 0 or only == u:
                        if emit:
                            _emit(ledger, lines, u, s, k + 1, b, rate, amount)
                        lines += 1
            j -= 1
            k += 1
    return lines


@jit
def _path_push(d, v, counted, stack, below):  # type: ignore[no-untyped-def]
    """Visit ``v`` (at depth ``d``, in preorder) on the stack of counted ancestors; return how many it has.

    ``stack[0 .. c - 1]`` are then the counted ancestors of ``v``, the nearest last, and ``v`` itself is at
    ``stack[c]`` when ``counted``. This holds because the members visited between an ancestor ``a`` and ``v``
    lie in ``a``'s subtree, so they only write above ``a``'s slot. ``below[d]`` is how many counted members
    are on the path down to and including the member last visited at depth ``d``: for ``v`` that is its parent
    at ``d - 1``.
    """
    c = below[d - 1] if d > 0 else 0
    if counted:
        stack[c] = v
        below[d] = c + 1
    else:
        below[d] = c
    return c


@jit
def _path_start(parent, depth, counted, lo):  # type: ignore[no-untyped-def]
    """The path stack (``stack``, ``below``) of a walk that starts at preorder position ``lo``.

    The ancestors of ``lo`` are pushed root first, which leaves the stack as a walk from position 0 would
    have left it on reaching ``lo``. The arrays are sized for any depth; only the pages the walk touches are
    ever written.
    """
    n = depth.shape[0]
    stack = np.empty(max(n, 1), dtype=np.int64)
    below = np.empty(max(n, 1), dtype=np.int64)
    if lo < n:
        d = depth[lo]
        path = np.empty(d, dtype=np.int64)
        a = parent[lo]
        for i in range(d - 1, -1, -1):
            path[i] = a
            a = parent[a]
        for i in range(d):
            _path_push(i, path[i], counted[path[i]], stack, below)
    return stack, below


@jit
def fast_start(parent, depth, lo, hi, basis, qualified, rates, money, totals, spill, ledger, only, emit):  # type: ignore[no-untyped-def]
    """Pay the ``g``-th enroller ``rates[g - 1]`` of a new member's fast-start basis; no compression.

    Sources in ``[lo, hi)``. Only new members have a basis and the generations are few, so each source simply
    climbs its parents (cheaper here than a pass over every member with :func:`_path_push`). ``totals[lo:hi]``
    and ``spill`` as the module says.
    """
    generations = rates.shape[0]
    totals[lo:hi] = 0
    lines = 0
    for s in range(lo, hi):
        b = basis[s]
        if b == 0:
            continue
        u = parent[s]
        g = 0
        while u >= 0 and g < generations:
            if qualified[u]:
                amount = apply_rate(b, rates[g], money)
                if amount != 0:
                    if u >= lo:  # totals[lo:hi] and spill: see the module docstring
                        totals[u] += amount
                    else:
                        spill[depth[u]] += amount
                    if only < 0 or only == u:
                        if emit:
                            _emit(ledger, lines, u, s, g + 1, b, rates[g], amount)
                        lines += 1
            u = parent[u]
            g += 1
    return lines


@jit
def personal_tier(tier_volume, basis, qualified, min_volume, rates, money, lo, hi, totals, ledger, only, emit):  # type: ignore[no-untyped-def]
    """Pay each qualified member of ``[lo, hi)`` the rate of the last tier whose ``min_volume <= tier_volume``.

    A member pays itself: the kernel sets ``totals[lo:hi]`` and nothing else.
    """
    totals[lo:hi] = 0
    lines = 0
    for m in range(lo, hi):
        if not qualified[m] or basis[m] == 0:
            continue
        t = _last_tier(min_volume, tier_volume[m])
        if t < 0:
            continue
        amount = apply_rate(basis[m], rates[t], money)
        if amount != 0:
            totals[m] += amount
            if only < 0 or only == m:
                if emit:
                    _emit(ledger, lines, m, m, 0, basis[m], rates[t], amount)
                lines += 1
    return lines


@jit
def generation(  # type: ignore[no-untyped-def]
    parent, depth, counted, lo, hi, basis, qualified, leader, rank, rates, money, totals, spill, ledger, only, emit
):
    """Pay generation ``g`` uplines ``rates[rank[u], g - 1]`` of the basis of each source in ``[lo, hi)``.

    ``g`` counts the leaders on the path from below ``u`` down to the source (the source included)
    (docs/semantics.md). Only the ``counted`` ancestors (qualified or leaders) are kept on the path stack
    (:func:`_path_push`): the members it skips neither earn nor change ``g``, so a walk costs only the payees
    and leaders it meets. ``totals[lo:hi]`` and ``spill`` as the module says.
    """
    generations = rates.shape[1]
    totals[lo:hi] = 0
    stack, below = _path_start(parent, depth, counted, lo)
    lines = 0
    for s in range(lo, hi):
        c = _path_push(depth[s], s, counted[s], stack, below)
        b = basis[s]
        if b == 0:
            continue
        g = 1 if leader[s] else 0
        j = c - 1
        while j >= 0 and g <= generations:
            u = stack[j]
            if g >= 1 and qualified[u]:
                rate = rates[rank[u], g - 1]
                amount = apply_rate(b, rate, money)
                if amount != 0:
                    if u >= lo:  # totals[lo:hi] and spill: see the module docstring
                        totals[u] += amount
                    else:
                        spill[depth[u]] += amount
                    if only < 0 or only == u:
                        if emit:
                            _emit(ledger, lines, u, s, g, b, rate, amount)
                        lines += 1
            if leader[u]:
                g += 1
            j -= 1
    return lines


@jit
def next_higher_ancestor(parent, rate):  # type: ignore[no-untyped-def]
    """For each member, the nearest strict ancestor whose ``rate`` is higher than its own, or -1.

    Computed in preorder by jumping along already computed answers: every skipped ancestor has a rate no
    higher than the one it was skipped from, so each jump strictly raises the rate (O(n x distinct rates)).
    """
    n = parent.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        p = parent[v]
        while p >= 0 and rate[p] <= rate[v]:
            p = out[p]
        out[v] = p
    return out


@jit
def differential(parent, depth, basis, rate, jump, include_self, money, totals, ledger, only, emit):  # type: ignore[no-untyped-def]
    """Breakaway / stairstep: each visited member with a higher rate earns the difference over ``taken``."""
    lines = 0
    for s in range(basis.shape[0]):
        b = basis[s]
        if b == 0:
            continue
        taken = 0
        if include_self:
            u = s
        else:
            p = parent[s]
            u = p if p < 0 or rate[p] > 0 else jump[p]
        while u >= 0:
            if rate[u] > taken:
                diff = rate[u] - taken
                amount = apply_rate(b, diff, money)
                if amount != 0:
                    totals[u] += amount
                    if only < 0 or only == u:
                        if emit:
                            _emit(ledger, lines, u, s, depth[s] - depth[u], b, diff, amount)
                        lines += 1
                taken = rate[u]
            u = jump[u]
    return lines


@jit
def loyalty(measure, basis, qualified, min_periods, rates, cash, money, lo, hi, totals, ledger, only, emit):  # type: ignore[no-untyped-def]
    """Pay each qualified member of ``[lo, hi)`` its tier's rate of own basis and/or its tier's fixed cash.

    A member pays itself: the kernel sets ``totals[lo:hi]`` and nothing else.
    """
    totals[lo:hi] = 0
    lines = 0
    for m in range(lo, hi):
        if not qualified[m]:
            continue
        t = _last_tier(min_periods, measure[m])
        if t < 0:
            continue
        amount = apply_rate(basis[m], rates[t], money)
        if amount != 0:
            totals[m] += amount
            if only < 0 or only == m:
                if emit:
                    _emit(ledger, lines, m, m, 0, basis[m], rates[t], amount)
                lines += 1
        if cash[t] != 0:
            totals[m] += cash[t]
            if only < 0 or only == m:
                if emit:
                    _emit(ledger, lines, m, m, 0, 0, 0, cash[t])
                lines += 1
    return lines
