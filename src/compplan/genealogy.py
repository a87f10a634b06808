"""The sponsor tree, validated and relabelled once into depth-first preorder.

Members are first put in canonical id order (docs/semantics.md section 2), then relabelled so that parents
come before children and every subtree is a contiguous range. Every later pass is a loop over these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from compplan import arrays, threads
from compplan.errors import ROWS_SHOWN, InputError, ProblemCollector, add_rows
from compplan.inputs import MAX_MEMBERS, BoolArray, IdArray, Int64Array, Members, code_points, format_id, ids_like
from compplan.kernels import idhash
from compplan.kernels import tree as kt
from compplan.kernels.tree import check_order_lines, dense_lookup, position_table


@dataclass(frozen=True, eq=False)
class Genealogy:
    """A validated sponsor forest in preorder.

    Attributes
    ----------
    ids : ndarray
        Member ids in canonical order (row ``c`` of every output table).
    order : int64[n]
        ``order[pos]`` = canonical row of the member at preorder position ``pos``.
    position : int64[n]
        ``position[c]`` = preorder position of canonical row ``c``.
    parent : int64[n]
        Preorder position of the sponsor of each position, ``-1`` for a root.
    end : int64[n]
        Subtree of position ``v`` is ``[v, end[v])``.
    depth : int64[n]
        Depth of each position (0 for roots).
    enrolled : int64[n]
        Enrolment day (days since 1970-01-01) of each position.
    members : Members
        The input table, for messages.
    input_row : int64[n]
        ``input_row[c]`` = row of canonical row ``c`` in ``members``.
    index : IdIndex
        Lookups of ids into canonical rows.
    slots : int64[span] or int64[n] or None
        Preorder position and enrolment day packed in one word
        (:func:`~compplan.kernels.tree.position_table`), so that checking an order line costs one memory access
        once its member is found: for dense integer ids (``index.table`` is set) of the id ``index.low + s``
        at ``s``, for other ids by canonical row; ``None`` when an enrolment day is beyond int32.
    """

    ids: IdArray
    order: Int64Array
    position: Int64Array
    parent: Int64Array
    end: Int64Array
    depth: Int64Array
    enrolled: Int64Array
    members: Members
    input_row: Int64Array
    index: IdIndex
    slots: Int64Array | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, members: Members) -> Genealogy:
        """Validate ``members`` and relabel the tree.

        Raises
        ------
        InputError
            Listing duplicate ids, unknown sponsors and cycles, each with the member id and its line.
        """
        n = len(members)
        problems = ProblemCollector()
        if n > MAX_MEMBERS:
            raise InputError(f"{members.source}: {n} members is above the limit of {MAX_MEMBERS}")
        index = IdIndex(members.ids)
        perm, ids = index.perm, index.ids
        enrolled_in = _days(members.enrolled_on)
        dense = index.table is not None and members.sponsor_ids.dtype.kind == "i"
        if dense:  # dense integer ids: one pass, no sponsor lookup array
            sponsors = members.sponsor_ids.astype(np.int64, copy=False)
            roots = members.is_root.astype(np.bool_, copy=False)
            parent, enrolled_c, unknown = _dense_parents(members, sponsors, roots, enrolled_in, index)
        if not dense or unknown:
            dup = index.repeats()
            add_rows(
                problems,
                "duplicate_id",
                perm[dup],
                lambda r: f"duplicate member id {format_id(members.ids[r])}",
                members.where,
            )
            # sponsors looked up in canonical order: the parents come out in place (a root's entry is ignored)
            roots_c = np.take(members.is_root, perm)
            parent, ok = index.lookup(np.take(members.sponsor_ids, perm))
            add_rows(
                problems,
                "unknown_sponsor",
                np.sort(perm[~(ok | roots_c)]),
                lambda r: (
                    f"member {format_id(members.ids[r])}: sponsor {format_id(members.sponsor_ids[r])} is not a member"
                ),
                members.where,
            )
            # canonical row -> canonical row of the sponsor; an unknown sponsor is taken as none, so that the
            # cycles among the other members are reported with the problems above
            parent[roots_c | ~ok] = -1
            del roots_c, ok
            enrolled_c = np.take(enrolled_in, perm)
        del enrolled_in
        order, position, parent_pos, end, depth, enrolled, visited = _relabel(parent, enrolled_c)
        if visited < n:
            _report_cycles(parent, position, ids, perm, members, problems)
        if problems:
            only_cycles = all(p.code == "cycle" for p in problems.problems)
            what = "the sponsor tree has a cycle" if only_cycles else "invalid members"
            problems.raise_if_any(InputError, title=f"{members.source}: {what}")
        slots = None
        if n == 0 or (enrolled_c.min() >= -(2**31) and enrolled_c.max() < 2**31):
            if index.table is not None:
                slots = arrays.empty(len(index.table), dtype=np.int64)
                slots = position_table(index.table, position, enrolled_c, slots)
            else:  # by canonical row (hashed ids: the order check looks rows up first)
                slots = np.multiply(enrolled_c, 2**32, out=arrays.empty(n, dtype=np.int64))
                slots += position
                slots += 1
        return cls(ids, order, position, parent_pos, end, depth, enrolled, members, perm, index, slots)

    def where(self, canonical_row: int) -> str:
        """Location of a member (by canonical row) in the members input."""
        return self.members.where(int(self.input_row[canonical_row]))

    def lookup(self, ids: Any) -> tuple[Int64Array, BoolArray]:
        """Canonical rows of ``ids`` and a mask of which were found."""
        return self.index.lookup(ids)

    def check_order_lines(
        self, member_ids: IdArray, day: Int64Array, pv: Int64Array, cv: Int64Array, *bounds: int
    ) -> tuple[npt.NDArray[np.int32], int, Int64Array] | None:
        """Check order lines in one pass (other than dense integer ids: after a hash lookup of their members).

        Returns the lines' preorder positions, how many lines have a problem, and the lines dated less than
        ``recent_days`` after their member's enrolment, in order. ``bounds`` are the period's first and last
        day, the bound of ``|pv|`` and ``|cv|`` per line and of their sums, and ``recent_days`` (see
        :func:`~compplan.kernels.tree.check_order_lines`). ``None`` when there are no slots (or dense integer
        member ids are looked up with ids of another kind): the caller then looks the ids up and checks the
        lines itself.
        """
        if self.slots is None or not len(self.slots):  # no members: the general checks name every line
            return None
        if self.index.table is None:  # hashed ids: canonical rows (-1: not a member) index the slots
            member_ids, low = self.index.rows(member_ids), 0
        elif member_ids.dtype != np.int64:
            return None
        else:
            low = self.index.low
        slots = self.slots
        start, end, max_line, max_total, recent_days = bounds
        position = arrays.empty(len(member_ids), dtype=np.int32)
        recent = arrays.empty(len(member_ids), dtype=np.int64)  # scratch, then each part's recent lines
        ranges = threads.parts(len(member_ids))
        parts = threads.run_parts(
            lambda r: check_order_lines(
                member_ids, low, slots, day, pv, cv, start, end, max_line, max_total, *r, position, recent_days, recent
            ),
            ranges,
        )
        problems = sum(int(p) for p, _, _, _ in parts)
        if sum(int(a) for _, a, _, _ in parts) > max_total or sum(int(b) for _, _, b, _ in parts) > max_total:
            problems += 1
        lines = [recent[lo : lo + found] for (lo, _), (*_, found) in zip(ranges, parts, strict=True)]
        return position, problems, np.concatenate(lines) if lines else recent[:0]


class IdIndex:
    """The canonical order of a set of ids, and fast lookups of other ids into it.

    Integer ids whose range is at most a few times their count (the usual auto-increment ids) use a direct
    table: sorting and lookups are then O(n) gathers. Other ids (sparse integers, text) are sorted once and
    entered in a hash table (:mod:`compplan.kernels.idhash`: integers as one 64-bit word, text as its code
    points packed big-endian into words), so a lookup is one or two memory accesses rather than a binary
    search (at a million members: ~300 ns per integer, several microseconds per text id). All give the same
    order and answers.
    """

    def __init__(self, ids: IdArray) -> None:
        n = len(ids)
        self.table: npt.NDArray[np.int32] | None = None
        self.low = 0
        if ids.dtype.kind == "u" and (n == 0 or int(ids.max()) < 2**63):  # unsigned integers sort as numbers
            ids = ids.astype(np.int64)
        if ids.dtype.kind == "i" and 0 < n < 2**31 - 1:
            low, high = int(ids.min()), int(ids.max())
            span = high - low + 1
            if span <= 4 * n + 1024:
                table, perm, sorted_ids, duplicates = _dense_index(ids.astype(np.int64, copy=False), low, span)
                if not duplicates:  # duplicates take the sorting path, which reports them
                    self.perm, self.ids, self.table, self.low = perm, sorted_ids, table, low
                    return
        if ids.dtype.kind not in "iU":
            ids = ids.astype(str)
        words, self.alphabet, _ = _id_words(ids, None)
        self.perm = _sort_rows(words, text=ids.dtype.kind == "U")
        self.ids = np.take(ids, self.perm)  # np.take: 4x faster than fancy indexing on rows of words
        self.words = np.take(words, self.perm, axis=0)
        self.hash, self.part_bits = _hash_table(self.words)

    def repeats(self) -> Int64Array:
        """Canonical rows whose id equals the previous row's (duplicate ids; none with the direct table)."""
        if self.table is not None or len(self.ids) < 2:
            return np.zeros(0, dtype=np.int64)
        w = self.words  # equal rows of words are equal ids
        same = w[1:, 0] == w[:-1, 0]
        for j in range(1, w.shape[1]):
            same &= w[1:, j] == w[:-1, j]
        return np.nonzero(same)[0] + 1

    def lookup(self, values: Any) -> tuple[Int64Array, BoolArray]:
        """Canonical rows of ``values`` (ids of any kind) and a mask of which were found."""
        keys, ok = ids_like(values, self.ids)
        n = len(self.ids)
        if n == 0:
            return arrays.zeros(len(keys), dtype=np.int64), arrays.zeros(len(keys), dtype=bool)
        if self.table is not None:
            rows, found = dense_lookup(keys, self.low, self.table)
            return rows, found & ok
        return self._hashed(keys, ok)

    def rows(self, values: Any) -> Int64Array:
        """Canonical rows of ``values`` with ``-1`` for an id that is not in the index (hashed ids only)."""
        keys, ok = ids_like(values, self.ids)
        rows, found = self._hashed(keys, ok)
        if not found.all():
            rows[~found] = -1
        return rows

    def _hashed(self, keys: IdArray, ok: BoolArray) -> tuple[Int64Array, BoolArray]:
        probes, _, fits = _id_words(keys, self.alphabet)
        m = len(keys)
        rows, found = arrays.empty(m, dtype=np.int64), arrays.empty(m, dtype=np.bool_)
        threads.run_parts(
            lambda r: idhash.lookup_range(self.hash, self.part_bits, self.words, probes, *r, rows, found),
            threads.parts(m),
        )
        return rows, found & ok & fits


#: From this many ids on, the hash table of :class:`IdIndex` is two sub-tables, filled at the same time.
HASH_PARTS_FROM = 2 * threads.MIN_PART


def _hash_table(words: Int64Array) -> tuple[Int64Array, int]:
    """The table of :func:`~compplan.kernels.idhash.build_range` for the rows of ``words``, and its part bits.

    The rows are sorted by home slot (:func:`~compplan.kernels.idhash.home_slots`, numpy's vectorised sort) and
    entered in that order. Large inputs get two sub-tables, filled on two cores. Probing wraps around inside a
    sub-table, so each must keep free slots: the table grows until every sub-table is at most two thirds full
    (at a million ids the halves differ by ~0.1%; a small network could otherwise fill one half and probe
    forever).
    """
    n = len(words)
    part_bits = 1 if n >= HASH_PARTS_FROM else 0
    row_bits = max(1, (n - 1).bit_length())
    bits = idhash.table_bits(n)
    homes = np.empty(n, dtype=np.int64)  # not pooled: that left the relabel fresh arrays (10M: 0.42 -> 0.8 s)
    while True:  # bits + row_bits <= 63 for n < 2**31: the packed homes stay positive
        _home_slots(words, bits, row_bits, homes)
        sub_bits = bits - part_bits
        firsts = np.arange(1, 1 << part_bits, dtype=np.int64) << (sub_bits + row_bits)
        bounds = np.concatenate(([0], np.searchsorted(homes, firsts), [n]))
        if 3 * int(np.diff(bounds).max()) <= 2 << sub_bits:
            break
        bits += 1
    table = arrays.full((1 << bits, 2), -1, dtype=np.int64)
    threads.run_parts(
        lambda k: idhash.build_range(words, homes, row_bits, sub_bits, bounds[k], bounds[k + 1], table),
        range(1 << part_bits),
    )
    return table, part_bits


def _home_slots(words: Int64Array, bits: int, row_bits: int, homes: Int64Array) -> None:
    """Fill ``homes`` with the rows of ``words`` by home slot (sorted :func:`~compplan.kernels.idhash.home_slots`)."""
    threads.run_parts(lambda r: idhash.home_slots(words, bits, row_bits, *r, homes), threads.parts(len(words)))
    homes.sort()


class Alphabet(NamedTuple):
    """How text ids are packed into words: each character by its rank among those seen at its position.

    ``glob[c]`` numbers the code points the ids use (``1, 2, ...`` in code point order; ``0``: not used, or the
    padding), ``ranks[p, g]`` numbers those seen at position ``p`` (``0``: the padding, or not seen there), in
    ``bit_length(count at p)`` bits; position ``p`` goes to word ``word[p]`` at bit ``shift[p]``, the first
    positions highest, so comparing words as unsigned integers compares the texts.
    """

    glob: npt.NDArray[np.uint32]
    ranks: npt.NDArray[np.uint32]
    word: Int64Array
    shift: Int64Array

    @property
    def words(self) -> int:
        """Words per id."""
        return int(self.word[-1]) + 1


def _id_words(ids: IdArray, alphabet: Alphabet | None) -> tuple[Int64Array, Alphabet | None, BoolArray]:
    """Ids as rows of 64-bit words for :mod:`~compplan.kernels.idhash`, the alphabet of text ids, which fit.

    An integer id is one word. Text is packed by ``alphabet`` (``None``: the one of ``ids``, :func:`_alphabet`);
    a text with a character not seen at its position among the alphabet's ids does not fit (it cannot be one of
    them).
    """
    n = len(ids)
    if ids.dtype.kind == "i":
        return ids.astype(np.int64, copy=False).reshape(n, 1), None, np.ones(n, dtype=np.bool_)
    units = code_points(ids)
    if alphabet is None:
        alphabet = _alphabet(units)
    a = alphabet
    words = arrays.empty((n, a.words), dtype=np.uint64)
    fits = arrays.empty(n, dtype=np.bool_)
    threads.run_parts(
        lambda r: idhash.pack_text(units, a.glob, a.ranks, a.word, a.shift, *r, words, fits), threads.parts(n)
    )
    return words.view(np.int64), alphabet, fits


def _alphabet(units: npt.NDArray[np.uint32]) -> Alphabet:
    """The characters the ids use, ranked at each position, and where each position goes in the words.

    Ids are usually made of few characters, and fewer still at each position (a country code, a dash, digits):
    ranked per position they take 1 to 4 bits each where code points take 8 to 21, so most ids fit one word
    (``"US-424242424242"``: 55 bits), which makes their sort, hash table and lookups those of integers.
    """
    n, width = units.shape
    top = int(units.max()) if units.size else 0
    ranges = threads.parts(n)
    seen = [np.zeros(top + 1, dtype=np.uint8) for _ in ranges]
    threads.run_parts(lambda k: idhash.mark_units(units, *ranges[k], seen[k]), range(len(ranges)))
    used = np.logical_or.reduce(seen) if len(seen) > 1 else seen[0].astype(np.bool_)
    used[0] = False  # the padding
    glob = np.cumsum(used, dtype=np.uint32)
    glob[~used] = 0
    count = int(glob[-1])
    at = [np.zeros((width, count + 1), dtype=np.uint8) for _ in ranges]
    threads.run_parts(lambda k: idhash.mark_positions(units, glob, *ranges[k], at[k]), range(len(ranges)))
    present = np.logical_or.reduce(at) if len(at) > 1 else at[0].astype(np.bool_)
    present[:, 0] = False
    ranks = np.cumsum(present, axis=1, dtype=np.uint32)
    ranks[~present] = 0
    counts = ranks.max(axis=1)
    word, shift = np.zeros(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    k, free = 0, 64
    for p in range(width):
        bits = max(1, int(counts[p]).bit_length())
        if bits > free:
            k, free = k + 1, 64
        free -= bits
        word[p], shift[p] = k, free
    return Alphabet(glob, ranks, word, shift)


def _sort_rows(words: Int64Array, text: bool) -> Int64Array:
    """The stable order of rows of words: signed for integers, unsigned word by word for packed text.

    numpy's vectorised sort (:func:`_sorted_rows`) on one word; with several, on the first, then the rows that
    share a first word put in order by an insertion sort (:func:`~compplan.kernels.idhash.sort_tied_rows`) when
    at most 32 share one. Else each word is replaced by its rank among the distinct values so far and the next
    word's rank is put under it (``rank * distinct + below``, below ``n**2``), one sort per word (2.5x faster
    than ``np.lexsort``).
    Equal rows (duplicate ids, reported in input order) keep their input order.
    """
    keys = words.view(np.uint64) if text else words
    if keys.shape[1] == 1:
        return _sorted_rows(keys[:, 0])[0]
    perm, ordered = _sorted_rows(keys[:, 0])
    tied = perm.copy()
    if idhash.sort_tied_rows(keys, tied, ordered):  # few ids share their first word (random ids: usually)
        return tied
    rank, perm, _ = _ranks_sorted(perm, ordered)
    for j in range(1, keys.shape[1]):
        below, _, kinds = _ranks(keys[:, j])
        rank, perm, _ = _ranks(rank * kinds + below)
    return perm.astype(np.int64, copy=False)


def _sorted_rows(column: np.ndarray) -> tuple[Int64Array, np.ndarray]:
    """The rows of ``column`` in value order, equal values in row order, and the values minus the smallest.

    ``(value - min) << row_bits | row`` is sorted as numbers (numpy's vectorised sort, about 6x faster than an
    argsort at 10M) and the rows are read off the low bits. When the values' range and the row numbers do not
    fit in 64 bits together (ids of 14 digits or more at ten million; words of text ids), the values' lowest
    bits are left out of that sort, and each run of values equal without them is then sorted on its own
    (:func:`~compplan.kernels.idhash.sort_runs`; short runs when the values are spread).
    """
    n = len(column)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    row_bits = max(1, (n - 1).bit_length())
    low, high = int(column.min()), int(column.max())
    excess = max(0, (high - low).bit_length() + row_bits - 64)
    values = np.subtract(column, column.dtype.type(low), dtype=np.uint64, casting="unsafe")
    packed = values >> np.uint64(excess) if excess else values.copy()
    packed <<= np.uint64(row_bits)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    rows = (packed & np.uint64((1 << row_bits) - 1)).view(np.int64)
    if not excess:
        packed >>= np.uint64(row_bits)
        return rows, packed
    del packed
    ordered = np.take(values, rows)
    idhash.sort_runs(ordered, rows, np.uint64(excess))
    return rows, ordered


def _ranks(column: np.ndarray) -> tuple[Int64Array, np.ndarray, int]:
    """Each value's rank among the distinct values of ``column``, the sorting permutation, how many distinct."""
    return _ranks_sorted(*_sorted_rows(column))


def _ranks_sorted(perm: Int64Array, ordered: np.ndarray) -> tuple[Int64Array, np.ndarray, int]:
    """:func:`_ranks` from the column's :func:`_sorted_rows`."""
    n = len(perm)
    if n == 0:
        return np.zeros(0, dtype=np.int64), perm, 0
    step = np.empty(n, dtype=np.int64)
    step[0] = 0
    np.not_equal(ordered[1:], ordered[:-1], out=step[1:], casting="unsafe")
    np.cumsum(step, out=step)
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = step
    return rank, perm, int(step[-1]) + 1


def _dense_index(ids: Int64Array, low: int, span: int) -> tuple[Any, ...]:
    """The dense id table, the permutation to canonical rows, the sorted ids and the number of repeated ids.

    In parts on every core: fill the table with ``-1``, write each row at its id's slot
    (:func:`~compplan.kernels.tree.dense_table_range`), count the taken slots per part (fewer than the rows:
    ids repeat, and the caller sorts instead), then number them in slot order from each part's start.
    """
    n = len(ids)
    table = arrays.empty(span, dtype=np.int32)
    slots, rows = threads.parts(span), threads.parts(n)
    threads.run_parts(lambda r: table[r[0] : r[1]].fill(-1), slots)  # numpy lets the GIL go
    threads.run_parts(lambda r: kt.dense_table_range(ids, low, *r, table), rows)
    counts = threads.run_parts(lambda r: kt.dense_count_range(table, *r), slots)
    perm = arrays.empty(n, dtype=np.int64)
    sorted_ids = arrays.empty(n, dtype=np.int64)
    distinct = sum(counts)
    if distinct == n:
        starts = np.cumsum([0, *counts])
        threads.run_parts(
            lambda k: kt.dense_compact_range(table, low, *slots[k], starts[k], perm, sorted_ids), range(len(slots))
        )
    return table, perm, sorted_ids, n - distinct


def _dense_parents(
    members: Members, sponsors: Int64Array, roots: BoolArray, enrolled: Int64Array, index: IdIndex
) -> tuple[Int64Array, Int64Array, int]:
    """Canonical parent rows, enrolment days in canonical order and the number of unknown sponsors.

    Dense ids only; on every core (:func:`~compplan.kernels.tree.dense_parents_range`).
    """
    n = len(members)
    ids, table = members.ids.astype(np.int64, copy=False), index.table
    parent = arrays.empty(n, dtype=np.int64)
    enrolled_c = arrays.empty(n, dtype=np.int64)
    unknown = threads.run_parts(
        lambda r: kt.dense_parents_range(ids, sponsors, roots, enrolled, index.low, table, *r, parent, enrolled_c),
        threads.parts(n),
    )
    return parent, enrolled_c, sum(unknown)


def _relabel(parent: Int64Array, enrolled: Int64Array) -> tuple[Any, ...]:
    """Relabel a forest (parents by canonical row, ``-1`` for a root) into depth-first preorder.

    Returns ``order, position, parent_pos, end, depth`` (as :func:`~compplan.kernels.tree.preorder` and
    :func:`~compplan.kernels.tree.tree_arrays` give them), ``enrolled`` in preorder, and the number of members
    reached (``< n``: a cycle; the arrays by preorder position are then set for the reached ones only). The
    children lists and the inverse permutation run in parts on every core, the walk in two stretches
    (:func:`_walk`).
    """
    n = len(parent)
    first, kids = _children_lists(parent)
    order, parent_pos, end, depth, visited = _walk(parent, first, kids)
    del first, kids
    position = arrays.empty(n, dtype=np.int64)
    if visited < n:  # a cycle: members no root reaches keep -1
        position.fill(-1)
    enrolled_pos = arrays.empty(n, dtype=np.int64)
    threads.run_parts(
        lambda r: kt.inverse_gather_range(order, *r, position, enrolled, enrolled_pos), threads.parts(visited)
    )
    return order, position, parent_pos, end, depth, enrolled_pos, visited


#: Sampled nodes whose root paths choose where :func:`_walk` cuts the preorder, and the deepest path followed.
CUT_SAMPLES = 256
CUT_MAX_DEPTH = 256


def _walk(parent: Int64Array, first: Int64Array, kids: np.ndarray) -> tuple[Any, ...]:
    """:func:`~compplan.kernels.tree.walk_order` on two cores: two stretches of the preorder at the same time.

    The walk is one chain of dependent memory accesses, so it is cut instead of split: at a node ``x`` near the
    middle of the preorder (the median, in preorder, of sampled nodes, compared by their root paths), one
    thread walks from the first root up to ``x`` into the final arrays while another walks from ``x`` (its
    ancestors open) to the end into buffers, which are then moved behind the first stretch with their positions
    made absolute (in parts). Any cut gives the same arrays; one walk when there are not two threads, the
    forest is small, or the sampled nodes are too deep to find their roots cheaply.
    """
    n = len(parent)
    path = _cut(parent) if threads.thread_count() > 1 and n >= 2 * threads.MIN_PART else None
    if path is None:
        return kt.walk_order(parent, first, kids)  # type: ignore[no-any-return]
    return _walk_cut(parent, first, kids, path)


def _walk_cut(parent: Int64Array, first: Int64Array, kids: np.ndarray, path: Int64Array) -> tuple[Any, ...]:
    """:func:`_walk` cut at the node ``path[-1]`` (``path``: its root path, root first).

    The second stretch's buffers are sized for the whole forest (its length is known only at its end); when they
    are fresh, only the pages it writes, about half, are backed by memory (a pooled buffer is reused whole).
    """
    n = len(parent)
    order, parent_pos, end, depth = (arrays.empty(n, dtype=np.int64) for _ in range(4))
    order_b, parent_b, end_b, depth_b = (arrays.empty(n, dtype=np.int64) for _ in range(4))
    above_end = arrays.empty(len(path) - 1, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    (a, above), (b, _) = threads.run_parts(
        lambda k: (
            kt.walk_range(parent, first, kids, none, path[-1], order, parent_pos, end, depth, none)
            if k == 0
            else kt.walk_range(parent, first, kids, path, -1, order_b, parent_b, end_b, depth_b, above_end)
        ),
        [0, 1],
    )
    threads.run_parts(
        lambda r: kt.place_range(*r, a, above, order_b, parent_b, end_b, depth_b, order, parent_pos, end, depth),
        threads.parts(b),
    )
    end[above] = above_end + a
    return order, parent_pos, end, depth, a + b


def _cut(parent: Int64Array) -> Int64Array | None:
    """Root path (root first) of a node near the middle of the preorder, or ``None`` (see :func:`_walk`)."""
    n = len(parent)
    m = min(CUT_SAMPLES, n)
    samples = np.arange(m, dtype=np.int64) * n // m
    paths, lengths = kt.root_paths(parent, samples, CUT_MAX_DEPTH)
    found = np.nonzero(lengths)[0]
    if 2 * len(found) < m:
        return None
    # Preorder compares root paths element by element (siblings and roots in index order, an ancestor first).
    keys = sorted(paths[i, : lengths[i]].tolist() for i in found)
    return np.array(keys[len(keys) // 2], dtype=np.int64)


def _children_lists(parent: Int64Array) -> tuple[Int64Array, np.ndarray]:
    """The children lists of :func:`~compplan.kernels.tree.child_counts`, built in parts.

    Each part counts and fills the entries of its own children. Counts and each part's next entries are
    int32 (``n < 2**31``): half the memory touched at random (10M members: 5-10 % faster than int64).
    """
    n = len(parent)
    ranges = threads.parts(n)
    counts = arrays.zeros((len(ranges), n + 1), dtype=np.int32)  # counted at random: on huge pages
    threads.run_parts(lambda k: kt.child_counts(parent, *ranges[k], counts[k]), range(len(ranges)))
    first, starts = kt.list_starts(counts, arrays.empty(n + 1), arrays.empty((len(ranges), n), dtype=np.int32))
    kids = arrays.empty(max(3 * int(first[n]), 1), dtype=np.int32)
    threads.run_parts(lambda k: kt.fill_children(parent, first, starts[k], *ranges[k], kids), range(len(ranges)))
    return first, kids


def _days(dates: np.ndarray) -> Int64Array:
    """Day numbers of a date column (no copy when it already holds days)."""
    if dates.dtype == np.dtype("datetime64[D]"):
        return dates.view(np.int64)
    return dates.astype("datetime64[D]").astype(np.int64)


def _report_cycles(
    parent: Int64Array,
    position: Int64Array,
    ids: IdArray,
    perm: Int64Array,
    members: Members,
    problems: ProblemCollector,
    relation: str = "sponsor",
) -> None:
    """Name every cycle among the members that no root reaches (an error path: plain Python is fine).

    ``relation`` names the tree in messages: ``sponsor`` or ``placement``.
    """
    state = arrays.zeros(len(parent), dtype=np.int8)  # 0 unseen, 1 on the current walk, 2 done
    below = 0
    cycles = 0
    for start in np.nonzero(position < 0)[0]:
        if state[start]:
            continue
        walk = []
        v = int(start)
        while state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = int(parent[v])
        if state[v] == 1:  # closed a new cycle at v
            ring = walk[walk.index(v) :]
            cycles += 1
            if cycles <= ROWS_SHOWN:
                names = [format_id(ids[c]) for c in ring[:10]] + [format_id(ids[ring[0]])]
                more = f" (+{len(ring) - 10} more)" if len(ring) > 10 else ""
                if len(ring) == 1:
                    text = f"member {names[0]} is its own {relation}"
                else:
                    text = f"{relation} cycle: " + " -> ".join(names[:-1]) + more + " -> " + names[-1]
                problems.add("cycle", text, members.where(int(perm[min(ring)])))
            below += len(walk) - len(ring)
        else:
            below += len(walk)
        for c in walk:
            state[c] = 2
    if cycles > ROWS_SHOWN:
        problems.add("cycle", f"... and {cycles - ROWS_SHOWN} more cycles")
    if below:
        problems.add(
            "cycle",
            f"{below} more members are cut off from every root because their {relation} line runs into a cycle",
        )
