"""Exact ``basis * rate`` in minor units, rounded once, without int64 overflow."""

from __future__ import annotations

from typing import NamedTuple

from compplan.kernels._jit import jit

HALF_UP = 0
HALF_EVEN = 1
DOWN = 2
ROUNDING_MODES = {"half_up": HALF_UP, "half_even": HALF_EVEN, "down": DOWN}


class MoneyParams(NamedTuple):
    """How volume units times a ppm rate become minor units.

    ``amount = round(basis * rate * mult / den)`` with ``mult = 10**minor_units`` and
    ``den = 10**(6 + volume_decimals)`` (docs/semantics.md section 1).
    """

    mult: int
    den: int
    mode: int


@jit
def apply_rate(basis, rate, money):  # type: ignore[no-untyped-def]
    """Round ``basis * rate * money.mult / money.den`` to an integer with ``money.mode``.

    Works on the magnitude and restores the sign, so ``half_up`` ties go away from zero and ``down`` goes
    towards zero. The division is split (``basis = q * den + r``) so no intermediate exceeds about 1e18 for
    ``|basis| <= 1e15``, ``rate <= 1e6``, ``mult <= 1e3``, ``den <= 1e9``.
    """
    if basis == 0 or rate == 0:
        return 0
    negative = basis < 0
    b = -basis if negative else basis
    num = rate * money.mult
    den = money.den
    q = b // den
    r = b - q * den
    t = r * num
    whole = q * num + t // den
    rem = t % den
    if money.mode == HALF_UP:
        if 2 * rem >= den:
            whole += 1
    elif money.mode == HALF_EVEN:
        if 2 * rem > den or (2 * rem == den and whole % 2 == 1):
            whole += 1
    return -whole if negative else whole
