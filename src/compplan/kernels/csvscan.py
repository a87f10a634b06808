"""Parse a block of unquoted CSV bytes into int64 columns in one pass.

Each column has a kind: an id (canonical integer, else flagged as text), an ISO date (days since 1970-01-01),
a decimal (exact int64 units at a given number of decimals), or ignored. Problems are not raised here: every
field gets an error code, and the Python wrapper (:mod:`compplan.io.csvio`) turns codes into located messages.
"""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit

KIND_ID = 0
KIND_DATE = 1
KIND_DECIMAL = 2
KIND_SKIP = 3

OK = 0
ERR_EMPTY = 1
ERR_TEXT = 2  # an id that is not a canonical integer: the column must be read as text
ERR_NUMBER = 3
ERR_PRECISION = 4
ERR_DATE = 5
ERR_RANGE = 6

#: The largest magnitude of a parsed value in units, far above every documented bound and far below int64
#: overflow (integer columns from frames are held to it too).
LIMIT = 10**17


@jit
def _days_from_civil(y, m, d):  # type: ignore[no-untyped-def]
    # Proleptic Gregorian calendar, days since 1970-01-01 (H. Hinnant's algorithm).
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@jit
def _month_days(y, m):  # type: ignore[no-untyped-def]
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@jit
def _digit(c):  # type: ignore[no-untyped-def]
    return 48 <= c <= 57


@jit
def _parse_field(buf, a, b, kind, decimals):  # type: ignore[no-untyped-def]
    """Parse ``buf[a:b]`` (already trimmed); return ``(value, error code)``."""
    if a >= b:
        return 0, ERR_EMPTY
    if kind == KIND_SKIP:
        return 0, OK
    if kind == KIND_DATE:
        if b - a != 10 or buf[a + 4] != 45 or buf[a + 7] != 45:
            return 0, ERR_DATE
        y = 0
        for i in range(a, a + 4):
            if not _digit(buf[i]):
                return 0, ERR_DATE
            y = y * 10 + buf[i] - 48
        if not (_digit(buf[a + 5]) and _digit(buf[a + 6]) and _digit(buf[a + 8]) and _digit(buf[a + 9])):
            return 0, ERR_DATE
        m = (buf[a + 5] - 48) * 10 + buf[a + 6] - 48
        d = (buf[a + 8] - 48) * 10 + buf[a + 9] - 48
        if m < 1 or m > 12 or d < 1 or d > _month_days(y, m):
            return 0, ERR_DATE
        return _days_from_civil(np.int64(y), np.int64(m), np.int64(d)), OK
    negative = False
    i = a
    if buf[i] == 45 or buf[i] == 43:  # '-' or '+'
        negative = buf[i] == 45
        i += 1
    if kind == KIND_ID:
        # canonical integer: "0" or an optional '-' then a non-zero digit; no '+', no leading zeros
        if buf[a] == 43 or i >= b or b - i > 18 or (buf[i] == 48 and (b - i > 1 or negative)):
            return 0, ERR_TEXT
        value = 0
        for j in range(i, b):
            if not _digit(buf[j]):
                return 0, ERR_TEXT
            value = value * 10 + buf[j] - 48
        return -value if negative else value, OK
    value = 0
    digits = 0
    frac = -1  # digits seen after the point; -1 = no point yet
    for j in range(i, b):
        c = buf[j]
        if c == 46:  # '.'
            if frac >= 0:
                return 0, ERR_NUMBER
            frac = 0
            continue
        if not _digit(c):
            return 0, ERR_NUMBER
        digits += 1
        if frac >= 0:
            frac += 1
            if frac > decimals:
                if c != 48:
                    return 0, ERR_PRECISION
                continue  # trailing zeros beyond the precision are exact
        value = value * 10 + c - 48
        if value > LIMIT:
            return 0, ERR_RANGE
    if digits == 0:
        return 0, ERR_NUMBER
    for _ in range(decimals - max(frac, 0)):
        if value > LIMIT // 10:
            return 0, ERR_RANGE
        value *= 10
    return -value if negative else value, OK


@jit
def count_lines(buf):  # type: ignore[no-untyped-def]
    """Number of lines in ``buf`` (a last line without a line break counts)."""
    n = buf.shape[0]
    rows = 0
    for i in range(n):
        rows += buf[i] == 10
    if n > 0 and buf[n - 1] != 10:
        rows += 1
    return rows


@jit
def count_lines_top(buf):  # type: ignore[no-untyped-def]
    """:func:`count_lines` and the largest byte of ``buf`` (``>= 128``: not ASCII only), in one pass."""
    n = buf.shape[0]
    rows = 0
    top = np.uint8(0)  # a uint8 maximum vectorises with the count: no slower than count_lines alone
    for i in range(n):
        c = buf[i]
        rows += c == 10
        top = max(top, c)
    if n > 0 and buf[n - 1] != 10:
        rows += 1
    return rows, top


@jit
def _utf8_length(buf, i, n):  # type: ignore[no-untyped-def]
    """Length of the UTF-8 sequence starting at the non-ASCII byte ``buf[i]``, or 0 if it is not valid.

    Valid as Python's strict decoder (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
    """
    c = buf[i]
    if c < 0xC2 or c > 0xF4:
        return 0
    lo, hi = 0x80, 0xBF  # the range of the second byte
    if c < 0xE0:
        more = 1
    elif c < 0xF0:
        more = 2
        if c == 0xE0:
            lo = 0xA0
        elif c == 0xED:
            hi = 0x9F
    else:
        more = 3
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:
            hi = 0x8F
    if i + more >= n or buf[i + 1] < lo or buf[i + 1] > hi:
        return 0
    for k in range(2, more + 1):
        if buf[i + k] & 0xC0 != 0x80:
            return 0
    return more + 1


@jit
def _invalid_utf8_into(buf, out):  # type: ignore[no-untyped-def]
    """:func:`invalid_utf8` writing up to ``out.shape[0]`` offsets into ``out``; returns how many there are."""
    n = buf.shape[0]
    k = 0
    i = 0
    while i < n:
        while i < n and buf[i] < 128:
            i += 1
        if i >= n:
            break
        step = _utf8_length(buf, i, n)
        if step:
            i += step
            continue
        if k < out.shape[0]:
            out[k] = i
        k += 1
        while i < n and buf[i] != 10:  # one per line: on to the next
            i += 1
    return k


@jit
def invalid_utf8(buf):  # type: ignore[no-untyped-def]
    """Offsets of the first byte that is not valid UTF-8 on each line of ``buf`` that has one (int64, ascending)."""
    out = np.empty(64, dtype=np.int64)
    k = _invalid_utf8_into(buf, out)
    if k > out.shape[0]:
        out = np.empty(k, dtype=np.int64)
        _invalid_utf8_into(buf, out)
    return out[:k]


@jit
def parse_block(buf, kinds, decimals, first_line):  # type: ignore[no-untyped-def]
    """Parse every non-blank line of ``buf`` (which ends at a line boundary).

    Parameters
    ----------
    buf : uint8[:]
        The bytes; no quote characters (the caller checks).
    kinds : int64[ncols]
        Kind of each column, in header order.
    decimals : int64[ncols]
        Decimal places of each decimal column.
    first_line : int
        Physical line number of the first line of ``buf``.

    Returns
    -------
    values : int64[ncols, rows]
    errors : int8[ncols, rows]
    lines : int64[rows]
        Physical line number of each row.
    fields : int64[rows]
        Number of fields found on each row (a row with the wrong count is not parsed).
    starts, ends : int64[rows]
        Byte range of each row in ``buf`` (for messages and text ids).
    """
    rows = count_lines(buf)
    values = np.zeros((kinds.shape[0], rows), dtype=np.int64)
    lines = np.zeros(rows, dtype=np.int64)
    r, errors, fields, starts, ends, _ = parse_block_into(buf, kinds, decimals, first_line, values, lines, 0)
    return values[:, :r], errors, lines[:r], fields, starts, ends


@jit
def parse_block_into(buf, kinds, decimals, first_line, values, lines, row0):  # type: ignore[no-untyped-def]
    """:func:`parse_block` writing values and line numbers into ``values[:, row0:]`` and ``lines[row0:]``.

    Each line is read once, field by field. ``values`` and ``lines`` must have room for
    :func:`count_lines` more rows. Returns ``(rows, errors, fields, starts, ends, physical_lines)``: the rows
    written, the per-row arrays of :func:`parse_block` for them, and the number of lines in ``buf``.
    """
    n = buf.shape[0]
    ncols = kinds.shape[0]
    rows = count_lines(buf)
    errors = np.zeros((ncols, rows), dtype=np.int8)
    fields = np.zeros(rows, dtype=np.int64)
    starts = np.zeros(rows, dtype=np.int64)
    ends = np.zeros(rows, dtype=np.int64)
    r = 0
    line = first_line
    pos = 0
    while pos < n:
        count = 0
        blank = True
        a = pos
        while True:  # one field per turn, up to the end of the line
            b = a
            while b < n and buf[b] != 44 and buf[b] != 10:
                b += 1
            hi = b
            if hi > a and buf[hi - 1] == 13 and (b == n or buf[b] == 10):  # '\r\n'
                hi -= 1
            lo = a
            while lo < hi and (buf[lo] == 32 or buf[lo] == 9):
                lo += 1
            while hi > lo and (buf[hi - 1] == 32 or buf[hi - 1] == 9):
                hi -= 1
            if lo < hi or (b < n and buf[b] == 44):
                blank = False
            if count < ncols:
                v, e = _parse_field(buf, lo, hi, kinds[count], decimals[count])
                values[count, row0 + r] = v
                errors[count, r] = e
            count += 1
            if b >= n or buf[b] == 10:
                break
            a = b + 1
        if not blank:
            stop = b
            if stop > pos and buf[stop - 1] == 13:
                stop -= 1
            starts[r] = pos
            ends[r] = stop
            lines[row0 + r] = line
            fields[r] = count
            if count != ncols:  # a row with the wrong number of fields is not parsed
                for col in range(ncols):
                    values[col, row0 + r] = 0
                    errors[col, r] = 0
            r += 1
        else:
            for col in range(ncols):
                values[col, row0 + r] = 0
                errors[col, r] = 0
        line += 1
        pos = b + 1
    return r, errors[:, :r], fields[:r], starts[:r], ends[:r], line - first_line


@jit
def parse_spans(data, offsets, kind, decimals):  # type: ignore[no-untyped-def]
    """Parse ``data[offsets[i]:offsets[i + 1]]`` for each ``i`` (Arrow string layout) as one column kind.

    Returns ``(values int64[n], errors int8[n])`` like :func:`parse_block`; surrounding blanks are ignored.
    """
    return parse_ranges(data, offsets[:-1], offsets[1:], kind, decimals)


@jit
def parse_ranges(data, starts, ends, kind, decimals):  # type: ignore[no-untyped-def]
    """Parse ``data[starts[i]:ends[i]]`` for each ``i`` as one column kind (see :func:`parse_spans`)."""
    n = starts.shape[0]
    values = np.zeros(n, dtype=np.int64)
    errors = np.zeros(n, dtype=np.int8)
    for i in range(n):
        lo, hi = starts[i], ends[i]
        while lo < hi and (data[lo] == 32 or data[lo] == 9):
            lo += 1
        while hi > lo and (data[hi - 1] == 32 or data[hi - 1] == 9):
            hi -= 1
        v, e = _parse_field(data, lo, hi, kind, decimals)
        values[i] = v
        errors[i] = e
    return values, errors


@jit
def decimal128_units(words, shift, values):  # type: ignore[no-untyped-def]
    """Exact int64 units from Arrow ``decimal128`` values at ``decimals = scale + shift`` places, into ``values``.

    Parameters
    ----------
    words : int64[2 * n]
        The 128-bit little-endian two's complement unscaled values: low word, high word, low word, ...
    shift : int
        Wanted decimal places minus the column's scale; a negative shift divides, and a value with a non-zero
        digit beyond the wanted places is an error (precision), as in :func:`parse_spans`.
    values : int64[n]
        Written with the units (0 where a value is an error).

    Returns
    -------
    int
        How many values are errors: beyond ``|units| <= 10**17`` (the text parser's bound) or 64 bits, or with
        digits beyond the wanted places. The caller then takes the general path, which names each one.
    """
    n = words.shape[0] // 2
    errors = 0
    factor = np.int64(1)
    for _ in range(min(abs(shift), 18)):
        factor *= 10
    bound = LIMIT // factor if shift > 0 else LIMIT
    for i in range(n):
        values[i] = 0
        low, high = words[2 * i], words[2 * i + 1]
        if high != (low >> 63):  # more than 64 bits
            errors += 1
            continue
        if shift < -18:  # |low| < 10**19 <= 10**-shift: only 0 has no digit beyond the wanted places
            if low != 0:
                errors += 1
            continue
        if shift < 0:
            q = low // factor
            if low - q * factor != 0:
                errors += 1
                continue
            low = q
        if low > bound or low < -bound:
            errors += 1
            continue
        values[i] = low * factor if shift > 0 else low
    return errors


@jit
def _is_space(c):  # type: ignore[no-untyped-def]
    """The ASCII characters ``str.strip()`` removes: 9-13 and 28-32."""
    return (9 <= c <= 13) or (28 <= c <= 32)


@jit
def text_field_bounds(buf, starts, ends, col, lo, hi):  # type: ignore[no-untyped-def]
    """Bounds of field ``col`` of each row ``[starts[r], ends[r])`` (unquoted fields), ASCII spaces stripped.

    Returns the longest field. (A row has at least ``col + 1`` fields: the caller checked its width.)
    """
    longest = 0
    for r in range(starts.shape[0]):
        a = starts[r]
        e = ends[r]
        for _ in range(col):
            while buf[a] != 44:
                a += 1
            a += 1
        b = a
        while b < e and buf[b] != 44:
            b += 1
        while a < b and _is_space(buf[a]):
            a += 1
        while b > a and _is_space(buf[b - 1]):
            b -= 1
        lo[r] = a
        hi[r] = b
        longest = max(longest, b - a)
    return longest


@jit
def gather_fields(buf, lo, hi, first, last, out):  # type: ignore[no-untyped-def]
    """Rows ``[first, last)``: the bytes ``buf[lo[r]:hi[r]]`` into ``out[r]``, zero-padded. Returns the largest byte."""
    top = 0
    width = out.shape[1]
    for r in range(first, last):
        a = lo[r]
        k = hi[r] - a
        for j in range(k):
            c = buf[a + j]
            out[r, j] = c
            top = max(top, c)
        for j in range(k, width):
            out[r, j] = 0
    return top
