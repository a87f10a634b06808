"""Format int64 columns as CSV bytes in one pass (the writer's hot loop).

A column is either an integer, a decimal (int64 units printed with a fixed number of decimals, exactly), or a
label: an index into a table of pre-encoded byte strings (booleans, rank names, bonus ids, text ids).
"""

from __future__ import annotations

from compplan.kernels._jit import jit

COL_INT = 0
COL_DECIMAL = 1
COL_LABEL = 2
COL_INT_OR_EMPTY = 3  # an integer, or an empty field for EMPTY
EMPTY = -(2**63)  # == compplan.inputs.NO_POSITION


@jit
def _put_uint(out, pos, value):  # type: ignore[no-untyped-def]
    # value >= 0; write its digits at pos, return the new position
    if value == 0:
        out[pos] = 48
        return pos + 1
    digits = 0
    v = value
    while v > 0:
        digits += 1
        v //= 10
    end = pos + digits
    v = value
    for i in range(end - 1, pos - 1, -1):
        out[i] = 48 + v % 10
        v //= 10
    return end


@jit
def row_width_bound(kinds, label_start):  # type: ignore[no-untyped-def]
    """An upper bound of the bytes one row can take."""
    longest = 0
    for i in range(label_start.shape[0] - 1):
        w = label_start[i + 1] - label_start[i]
        if w > longest:
            longest = w
    total = 1
    for c in range(kinds.shape[0]):
        total += (longest if kinds[c] == COL_LABEL else 22) + 1
    return total


@jit
def format_rows(values, kinds, decimals, row_decimals, label_bytes, label_start, lo, hi, out):  # type: ignore[no-untyped-def]
    """Write rows ``lo..hi`` of ``values[ncols, n]`` into ``out``; return the number of bytes written.

    Decimal columns print ``-`` for negatives, the whole part, ``.`` and exactly ``decimals[c]`` digits
    (none and no point when it is 0); ``decimals[c] < 0`` takes each row's places from ``row_decimals[r]``.
    Label columns copy ``label_bytes[label_start[i]:label_start[i + 1]]`` for index ``i``.
    """
    ncols = kinds.shape[0]
    pos = 0
    for r in range(lo, hi):
        for c in range(ncols):
            if c:
                out[pos] = 44
                pos += 1
            v = values[c, r]
            kind = kinds[c]
            if kind == COL_LABEL:
                for j in range(label_start[v], label_start[v + 1]):
                    out[pos] = label_bytes[j]
                    pos += 1
                continue
            if kind == COL_INT_OR_EMPTY and v == EMPTY:
                continue
            if v < 0:
                out[pos] = 45
                pos += 1
                v = -v
            places = decimals[c] if decimals[c] >= 0 else row_decimals[r]
            if kind != COL_DECIMAL or places == 0:
                pos = _put_uint(out, pos, v)
                continue
            scale = 1
            for _ in range(places):
                scale *= 10
            pos = _put_uint(out, pos, v // scale)
            out[pos] = 46
            pos += 1
            frac = v % scale
            for i in range(places - 1, -1, -1):
                out[pos + i] = 48 + frac % 10
                frac //= 10
            pos += places
        out[pos] = 10
        pos += 1
    return pos
