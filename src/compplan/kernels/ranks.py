"""Activity and paid-as ranks, bottom-up over the preorder tree (docs/semantics.md 3.2-3.3)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from compplan.kernels._jit import jit

#: Marks a requirement a rank does not set.
UNSET = np.iinfo(np.int64).min


class RankParams(NamedTuple):
    """A rank ladder as arrays; index 0 is the entry rank. Unset thresholds hold ``UNSET``."""

    need_active: np.ndarray  # bool[K]
    min_pv: np.ndarray  # int64[K]
    min_gv: np.ndarray  # int64[K]
    min_qv: np.ndarray  # int64[K]
    leg_cap: np.ndarray  # int64[K], floor(min_qv * max_leg_share)
    min_actives: np.ndarray  # int64[K]
    leg_start: np.ndarray  # int64[K + 1], rules of rank r are leg_rank[leg_start[r]:leg_start[r + 1]]
    leg_rank: np.ndarray  # int64[total rules]
    leg_count: np.ndarray  # int64[total rules]


@jit
def activity(pv, cv, min_pv, min_cv, out):  # type: ignore[no-untyped-def]
    """``pv >= min_pv and cv >= min_cv`` per member, into ``out`` (bool, from the caller's pool)."""
    n = pv.shape[0]
    for v in range(n):
        out[v] = pv[v] >= min_pv and cv[v] >= min_cv
    return out


@jit
def _leg_volume(v, end, gv, pv, cap):  # type: ignore[no-untyped-def]
    total = pv[v]
    c = v + 1
    while c < end[v]:
        total += gv[c] if gv[c] < cap else cap
        c = end[c]
    return total


@jit
def paid_as_ranks(end, pv, active, params):  # type: ignore[no-untyped-def]
    """Group volume, paid-as rank and output QV per member, in one pass over the whole tree.

    Visits members children-first (reverse preorder), so a member's GV is its PV plus its children's GV and a
    leg rule can read the best rank anywhere in each child's subtree (``best[c]``), both computed in the same
    pass.

    Returns
    -------
    gv : int64[n]
    rank : int64[n]
    qv : int64[n]
        ``qv_R`` for the paid-as rank when it sets ``min_qv``, else ``gv``.
    """
    n = pv.shape[0]
    gv, rank, qv, best = new_rank_arrays(n)
    paid_as_ranks_range(end, pv, active, params, 0, n, n, gv, rank, qv, best)
    return gv, rank, qv


@jit
def new_rank_arrays(n):  # type: ignore[no-untyped-def]
    """``gv``, ``rank``, ``qv`` and ``best`` arrays for :func:`paid_as_ranks_range` (written before read)."""
    return (
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
    )


@jit
def paid_as_ranks_range(end, pv, active, params, lo, hi, limit, gv, rank, qv, best):  # type: ignore[no-untyped-def]
    """:func:`paid_as_ranks` for the members at positions ``[lo, hi)`` whose subtree ends by ``limit``.

    A part ``[lo, hi)`` of the tree (``limit = hi``) leaves out the ancestors of position ``hi``: their subtrees
    reach into the next part. Once every part is done, :func:`paid_as_ranks_waiting` takes them, children
    first. Parts write disjoint entries of ``gv``, ``rank``, ``qv`` and ``best``, so they can run at the same
    time; a member's entries are written once its children's are.
    """
    legs_at_least = np.zeros(params.min_pv.shape[0] + 1, np.int64)
    _ranks_of(end, pv, active, params, lo, hi, limit, gv, rank, qv, best, legs_at_least)


@jit
def _ranks_of(end, pv, active, params, lo, hi, limit, gv, rank, qv, best, legs_at_least):  # type: ignore[no-untyped-def]
    """:func:`paid_as_ranks_range` with its scratch array (all zero, ranks + 1 entries; left all zero)."""
    k_ranks = params.min_pv.shape[0]
    has_leg_rules = params.leg_rank.shape[0] > 0
    # A member that fails what every rank above the entry rank asks (activity, the smallest min_pv) skips the
    # tests: most members are inactive, and the tests cost a mispredicted branch or two per rank.
    all_need_active = True
    floor_pv = np.iinfo(np.int64).max
    for r in range(1, k_ranks):
        all_need_active = all_need_active and params.need_active[r]
        floor_pv = min(floor_pv, params.min_pv[r])  # UNSET (the smallest int64) where a rank sets none
    for v in range(hi - 1, lo - 1, -1):
        if end[v] > limit:
            continue
        group = pv[v]
        actives = 0
        best_below = 0
        c = v + 1
        while c < end[v]:
            group += gv[c]
            if active[c]:
                actives += 1
            if best[c] > best_below:
                best_below = best[c]
            if has_leg_rules:
                legs_at_least[best[c]] += 1
            c = end[c]
        gv[v] = group
        inner = has_leg_rules and end[v] > v + 1  # a leaf (most members) leaves legs_at_least all zero
        if inner:  # turn "legs whose best is exactly r" into "legs whose best is >= r"
            for r in range(k_ranks - 2, -1, -1):
                legs_at_least[r] += legs_at_least[r + 1]
        chosen = 0
        entry_only = (all_need_active and not active[v]) or pv[v] < floor_pv
        for r in range(k_ranks - 1, k_ranks - 1 if entry_only else 0, -1):
            if params.need_active[r] and not active[v]:
                continue
            if params.min_pv[r] != UNSET and pv[v] < params.min_pv[r]:
                continue
            if params.min_gv[r] != UNSET and group < params.min_gv[r]:
                continue
            if params.min_actives[r] != UNSET and actives < params.min_actives[r]:
                continue
            ok = True
            for j in range(params.leg_start[r], params.leg_start[r + 1]):
                if legs_at_least[params.leg_rank[j]] < params.leg_count[j]:
                    ok = False
                    break
            if not ok:
                continue
            if params.min_qv[r] != UNSET and _leg_volume(v, end, gv, pv, params.leg_cap[r]) < params.min_qv[r]:
                continue
            chosen = r
            break
        rank[v] = chosen
        qv[v] = _leg_volume(v, end, gv, pv, params.leg_cap[chosen]) if params.min_qv[chosen] != UNSET else group
        best[v] = chosen if chosen > best_below else best_below
        if inner:  # all zero again for the next member (a loop: a slice assignment costs several times more)
            for r in range(k_ranks + 1):
                legs_at_least[r] = 0


@jit
def paid_as_ranks_waiting(waiting, end, pv, active, params, gv, rank, qv, best):  # type: ignore[no-untyped-def]
    """:func:`paid_as_ranks_range` for the members at positions ``waiting`` (decreasing), one at a time.

    One scratch array for all of them: in a deep tree (a chain) nearly every member of the first part waits.
    """
    legs_at_least = np.zeros(params.min_pv.shape[0] + 1, np.int64)
    for i in range(waiting.shape[0]):
        v = waiting[i]
        _ranks_of(end, pv, active, params, v, v + 1, end[v], gv, rank, qv, best, legs_at_least)


@jit
def next_rank_measures(end, pv, gv, active, rank, params):  # type: ignore[no-untyped-def]
    """For each member, the measures that the rank above its paid-as rank asks for.

    Returns
    -------
    qv : int64[n]
        QV under the next rank's leg cap (``gv`` when that rank sets no ``min_qv``; 0 at the top rank).
    actives : int64[n]
        Active frontline members.
    legs : int64[n, max rules per rank]
        For each leg rule of the next rank, the legs holding a member of at least that rank.
    """
    n = pv.shape[0]
    k_ranks = params.min_pv.shape[0]
    most = 0
    for r in range(k_ranks):
        most = max(most, params.leg_start[r + 1] - params.leg_start[r])
    qv = gv.copy()
    actives = np.zeros(n, dtype=np.int64)
    legs = np.zeros((n, max(most, 1)), dtype=np.int64)
    best = rank.copy()
    for v in range(n - 1, -1, -1):
        c = v + 1
        while c < end[v]:
            if best[c] > best[v]:
                best[v] = best[c]
            c = end[c]
    for v in range(n):
        r = rank[v] + 1
        if r >= k_ranks:
            qv[v] = 0
            continue
        c = v + 1
        while c < end[v]:
            if active[c]:
                actives[v] += 1
            for j in range(params.leg_start[r], params.leg_start[r + 1]):
                if best[c] >= params.leg_rank[j]:
                    legs[v, j - params.leg_start[r]] += 1
            c = end[c]
        if params.min_qv[r] != UNSET:
            qv[v] = _leg_volume(v, end, gv, pv, params.leg_cap[r])
    return qv, actives, legs
