"""Ids that are not dense integers: packed into 64-bit words, found through an open-addressing hash table.

``genealogy.IdIndex`` uses these for sparse integer ids (one word each: the id) and for text ids (the ranks of
their characters among those the ids have at each position, packed big-endian, :func:`pack_text`: 4 bits a
digit, 1 a dash, so that ids such as ``"US-424242424242"`` fit one word), so that looking up a sponsor or an
order line's member costs one or two memory accesses instead of a binary search (~300 ns for integers, several
microseconds for text at a million members).

A slot holds the row's first word and the row number (``-1`` for an empty slot), side by side: 16 bytes a
slot, a power of two of at least 1.5 slots per row (linear probing), in sub-tables filled on every core. The
arrays come from the caller (numpy-allocated: on huge pages, which numba's own allocations never get; a
random access on 4 KB pages costs a TLB miss and a page walk).
"""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: Fibonacci hashing
_SHIFT = np.uint64(29)


def table_bits(n: int) -> int:
    """log2 of the table size for ``n`` rows: at least ``1.5 n`` slots, at least 32."""
    bits = 5
    while (1 << bits) < n + n // 2 + 1:
        bits += 1
    return bits


@jit
def mark_units(units, lo, hi, present):  # type: ignore[no-untyped-def]
    """``present[c] = 1`` for every code point ``c`` of rows ``[lo, hi)`` of ``units`` (``uint32[n, w]``)."""
    w = units.shape[1]
    for i in range(lo, hi):
        for j in range(w):
            present[units[i, j]] = 1


@jit
def mark_positions(units, glob, lo, hi, present):  # type: ignore[no-untyped-def]
    """``present[p, glob[c]] = 1`` for the code point ``c`` at position ``p`` of rows ``[lo, hi)`` (``c != 0``)."""
    w = units.shape[1]
    for i in range(lo, hi):
        for p in range(w):
            c = units[i, p]
            if c != 0:
                present[p, glob[c]] = 1


@jit
def pack_text(units, glob, ranks, word, shift, lo, hi, out, fits):  # type: ignore[no-untyped-def]
    """Pack code points ``units`` (``uint32[n, w]``, zero-padded) into words ``out`` (``uint64[n, k]``).

    The character at position ``p`` becomes ``ranks[p, glob[c]]``, its rank among the characters the alphabet's
    ids have there (``0``: the padding), put in word ``word[p]`` at bit ``shift[p]`` (earlier positions higher),
    so comparing the words of two rows in order, as unsigned integers, compares the texts as sequences of code
    points (the padding sorts first, like a shorter text). Rows ``[lo, hi)``; ``fits`` says which rows fit: a
    character the alphabet's ids never have at its position makes the row's words meaningless (an id that no
    table packed with this alphabet can hold).
    """
    w = units.shape[1]
    k = out.shape[1]
    positions = ranks.shape[0]
    size = len(glob)
    for i in range(lo, hi):
        for j in range(k):
            out[i, j] = 0
        ok = True
        for p in range(w):
            c = units[i, p]
            if c == 0:
                continue
            r = 0
            if p < positions and c < size and glob[c] != 0:
                r = ranks[p, glob[c]]
            if r == 0:
                ok = False
            else:
                out[i, word[p]] |= np.uint64(r) << np.uint64(shift[p])
        fits[i] = ok


@jit
def _hash(words, i):  # type: ignore[no-untyped-def]
    """Hash of row ``i``'s words up to its last non-zero word (so zero padding to any width hashes alike)."""
    last = words.shape[1]
    while last > 0 and words[i, last - 1] == 0:
        last -= 1
    h = np.uint64(0)
    for j in range(last):
        h = (h ^ np.uint64(words[i, j])) * _GOLDEN
        h ^= h >> _SHIFT
    return h * _GOLDEN


@jit
def _same(a, i, b, j):  # type: ignore[no-untyped-def]
    """Row ``i`` of ``a`` equals row ``j`` of ``b``, the shorter one padded with zero words."""
    ka, kb = a.shape[1], b.shape[1]
    for t in range(max(ka, kb)):
        x = a[i, t] if t < ka else 0
        y = b[j, t] if t < kb else 0
        if x != y:
            return False
    return True


@jit
def _next(s, sub_bits):  # type: ignore[no-untyped-def]
    """The slot after ``s`` in its sub-table (linear probing wraps around inside it)."""
    base = (s >> sub_bits) << sub_bits
    return base | ((s + 1) & ((1 << sub_bits) - 1))


@jit
def home_slots(words, bits, row_bits, lo, hi, out):  # type: ignore[no-untyped-def]
    """``out[r] = slot << row_bits | r`` for rows ``[lo, hi)``: each row's home slot, the row under it.

    Slots of a ``2**bits`` table. Sorted, these order the rows by home slot, and equal rows by row.
    """
    shift = np.uint64(64 - bits)
    for r in range(lo, hi):
        out[r] = (np.int64(_hash(words, r) >> shift) << row_bits) | r


@jit
def build_range(words, homes, row_bits, sub_bits, lo, hi, table):  # type: ignore[no-untyped-def]
    """Enter the rows of ``homes[lo:hi]`` (sorted :func:`home_slots`, all in one sub-table) in ``table``.

    ``table`` (``int64[2**bits, 2]``, second column ``-1`` everywhere before) gets, per slot, the row's first
    word and the row (``-1``: empty): a probe reads one cache line, and most probes that miss, and every probe
    of a one-word id, are decided without reading ``words``. The slots are sub-tables of ``2**sub_bits``
    (the top bits of a slot), each probed on its own, so that each can be filled by its own thread; every
    sub-table must keep a free slot, or probing would not end. Rows come in the order of their home slots, so
    the table is written from one end to the other rather than at random (at ten million ids: 0.2 s instead of
    0.9 s). A row equal to an earlier one (same home slot, a later row) is not entered: lookups find the first.
    The table is the same for any number of threads.
    """
    mask = (np.int64(1) << row_bits) - 1
    for k in range(lo, hi):
        r = homes[k] & mask
        s = homes[k] >> row_bits
        head = words[r, 0]
        while True:
            q = table[s, 1]
            if q < 0:
                table[s, 0] = head
                table[s, 1] = r
                break
            if table[s, 0] == head and _same(words, q, words, r):
                break
            s = _next(s, sub_bits)


@jit
def lookup_range(table, part_bits, words, probes, lo, hi, found_rows, found):  # type: ignore[no-untyped-def]
    """For probes ``[lo, hi)``: the row of ``words`` equal to each (``found_rows``, ``0`` if none), ``found``.

    ``table`` as :func:`build_range` filled it, in ``2**part_bits`` sub-tables.
    """
    bits = 0
    while (1 << bits) < table.shape[0]:
        bits += 1
    sub_bits = bits - part_bits
    shift = np.uint64(64 - bits)
    single = words.shape[1] == 1 and probes.shape[1] == 1
    for i in range(lo, hi):
        s = np.int64(_hash(probes, i) >> shift)
        head = probes[i, 0]
        found_rows[i] = 0
        found[i] = False
        while True:
            q = table[s, 1]
            if q < 0:
                break
            if table[s, 0] == head and (single or _same(words, q, probes, i)):
                found_rows[i] = q
                found[i] = True
                break
            s = _next(s, sub_bits)


@jit
def sort_runs(values, rows, shift):  # type: ignore[no-untyped-def]
    """Finish a sort by ``values >> shift``: order each run of equal ``values >> shift`` by ``values``, stably.

    ``values`` (uint64, in the order of ``rows``) and ``rows`` were sorted by the high bits only, rows in
    increasing order within a run; both are reordered in place so that ``values`` is sorted and equal values keep
    their rows in increasing order. Runs are short when the values are spread (ids of a dozen digits at ten
    million: about three); a long run takes a merge sort.
    """
    n = len(values)
    a = 0
    while a < n:
        top = values[a] >> shift
        b = a + 1
        while b < n and (values[b] >> shift) == top:
            b += 1
        if b - a > 32:
            idx = np.argsort(values[a:b], kind="mergesort")
            run_values = values[a:b][idx]
            run_rows = rows[a:b][idx]
            values[a:b] = run_values
            rows[a:b] = run_rows
        else:
            for i in range(a + 1, b):  # insertion sort: stable
                v, r = values[i], rows[i]
                j = i - 1
                while j >= a and values[j] > v:
                    values[j + 1] = values[j]
                    rows[j + 1] = rows[j]
                    j -= 1
                values[j + 1] = v
                rows[j + 1] = r
        a = b


@jit
def sort_tied_rows(words, rows, first):  # type: ignore[no-untyped-def]
    """Finish a sort of rows of ``words`` (uint64) made on their first word: order each run of equal ``first``.

    ``rows`` are sorted by ``first`` (their first words, in that order), rows in increasing order within a
    run; each run is put in order of the remaining words, stably, by an insertion sort. Returns ``False``, with
    ``rows`` partly reordered, when a run is longer than 32 (many ids sharing their first word: the caller sorts
    another way).
    """
    n = len(rows)
    k = words.shape[1]
    a = 0
    while a < n:
        b = a + 1
        while b < n and first[b] == first[a]:
            b += 1
        if b - a > 32:
            return False
        for i in range(a + 1, b):
            r = rows[i]
            j = i - 1
            while j >= a:
                q = rows[j]
                greater = False
                for t in range(1, k):
                    if words[q, t] != words[r, t]:
                        greater = words[q, t] > words[r, t]
                        break
                if not greater:
                    break
                rows[j + 1] = q
                j -= 1
            rows[j + 1] = r
        a = b
    return True
