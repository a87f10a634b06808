"""The binary bonus: pay on the weaker leg (docs/semantics.md 3.4, ``binary``).

Leg volumes come in already summed over the placement tree (one subtree-sum pass); this kernel decides, per
member, what is paid and how much volume each side consumes. Same calling convention as the kernels in
:mod:`compplan.kernels.bonuses` (``totals``, ``ledger``, ``only``, ``emit``).
"""

from __future__ import annotations

from compplan.kernels._jit import jit
from compplan.kernels.bonuses import _emit
from compplan.kernels.money import apply_rate


@jit
def binary(  # type: ignore[no-untyped-def]
    left,
    right,
    qualified,
    rate,
    pair_volume,
    pair_cash,
    first_volume,
    max_pairs,
    money,
    used_left,
    used_right,
    totals,
    ledger,
    only,
    emit,
):
    """Pay each qualified member on ``left``/``right`` (carry-in included, >= 0) and record what it consumed.

    ``pair_volume == 0`` selects percentage mode (``rate`` ppm of the weaker side); otherwise pair mode with
    ``pair_cash`` minor units per pair, ``first_volume`` (0 = none) on the stronger side for the period's first
    pair, and at most ``max_pairs`` (0 = no limit) pairs paid.
    """
    lines = 0
    for m in range(left.shape[0]):
        used_left[m] = 0
        used_right[m] = 0
        if not qualified[m]:
            continue
        a = left[m]
        b = right[m]
        if pair_volume == 0:
            w = min(a, b)
            used_left[m] = w
            used_right[m] = w
            amount = apply_rate(w, rate, money)
            level = 0
            basis = w
            line_rate = rate
        else:
            pairs = 0
            if first_volume > 0:
                strong_left = a >= b
                strong = a if strong_left else b
                weak = b if strong_left else a
                if strong >= first_volume and weak >= pair_volume:
                    pairs = 1 + min((strong - first_volume) // pair_volume, (weak - pair_volume) // pair_volume)
                    used_strong = first_volume + (pairs - 1) * pair_volume
                    if strong_left:
                        used_left[m] = used_strong
                        used_right[m] = pairs * pair_volume
                    else:
                        used_right[m] = used_strong
                        used_left[m] = pairs * pair_volume
            else:
                pairs = min(a // pair_volume, b // pair_volume)
                used_left[m] = pairs * pair_volume
                used_right[m] = pairs * pair_volume
            paid = pairs if max_pairs == 0 else min(pairs, max_pairs)
            amount = paid * pair_cash
            level = paid
            basis = pairs * pair_volume
            line_rate = 0
        if amount != 0:
            totals[m] += amount
            if only < 0 or only == m:
                if emit:
                    _emit(ledger, lines, m, m, level, basis, line_rate, amount)
                lines += 1
    return lines
