"""Per-member column arithmetic in one pass each (numpy would make a temporary per operation).

Outputs come from the caller, allocated with numpy (huge pages: :mod:`compplan.arrays`).
"""

from __future__ import annotations

from compplan.kernels._jit import jit


@jit
def qualified(rank, active, min_rank, require_active, out):  # type: ignore[no-untyped-def]
    """``out = rank >= min_rank and (active or not require_active)`` per member."""
    n = rank.shape[0]
    for v in range(n):
        out[v] = rank[v] >= min_rank and (active[v] or not require_active)
    return out


@jit
def streak(active, prior, out):  # type: ignore[no-untyped-def]
    """``out = prior + 1`` where active, else 0."""
    n = active.shape[0]
    for v in range(n):
        out[v] = prior[v] + 1 if active[v] else 0
    return out


@jit
def balances(balance_in, total, minimum, paid, out):  # type: ignore[no-untyped-def]
    """Pay ``balance_in + total`` when it is at least ``max(minimum, 0)``, else carry it.

    Writes ``paid`` and ``out`` (the balance carried to the next period).
    """
    n = total.shape[0]
    for v in range(n):
        payable = balance_in[v] + total[v]
        if payable < 0 or payable < minimum:
            paid[v] = 0
            out[v] = payable
        else:
            paid[v] = payable
            out[v] = 0
    return paid, out
