"""The fused relabel, the dense id index and the one-pass order checks agree with the general code."""

from __future__ import annotations

import csv
import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, Period
from compplan.engine import _check_orders, _orders
from compplan.genealogy import (
    CUT_MAX_DEPTH,
    Genealogy,
    IdIndex,
    _children_lists,
    _cut,
    _dense_index,
    _relabel,
    _sorted_rows,
    _walk,
    _walk_cut,
)
from compplan.inputs import MAX_LINE_UNITS
from compplan.kernels.tree import preorder, tree_arrays, walk_order

D = dt.date(2026, 1, 1)
PERIOD = Period.parse("2026-01")


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_relabel_equals_preorder_and_tree_arrays(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 60))
    parent = np.array(data.draw(st.lists(st.integers(-1, max(n - 1, 0)), min_size=n, max_size=n)), dtype=np.int64)
    if n:
        parent[parent >= n] = -1
    values = np.array(data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=n, max_size=n)), dtype=np.int64)
    order, position, visited = preorder(parent)
    got = _relabel(parent, values)  # children lists and inverse in parts (tests/conftest.py: parts of 1)
    assert got[6] == visited
    assert np.array_equal(got[1], position)  # -1 for members on or under a cycle
    assert np.array_equal(got[0][:visited], order[:visited])
    if visited == n:
        parent_pos, end, depth = tree_arrays(order, position, parent)
        for want, have in zip((order, position, parent_pos, end, depth, values[order]), got[:6], strict=True):
            assert np.array_equal(want, have)


def forest(data: st.DataObject, n: int) -> tuple[list[int], list[int | None], list[dt.date]]:
    parents = [None] + [data.draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    perm = data.draw(st.permutations(range(n)))
    days = [D - dt.timedelta(days=data.draw(st.integers(0, 400))) for _ in range(n)]
    rows = [perm.index(i) for i in range(n)]  # member i sits at input row rows[i]
    return rows, parents, days


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(2, 40))
def test_dense_and_sorted_ids_build_the_same_tree(data: st.DataObject, n: int) -> None:
    rows, parents, days = forest(data, n)
    base = data.draw(st.integers(-(10**6), 10**6))

    def build(stride: int) -> Genealogy:
        ids = [0] * n
        sponsors: list[object] = [None] * n
        enrolled = [D] * n
        for i in range(n):
            ids[rows[i]] = base + i * stride
            p = parents[i]
            sponsors[rows[i]] = None if p is None else base + p * stride
            enrolled[rows[i]] = days[i]
        return Genealogy.build(Members.from_columns(ids, sponsors, enrolled))

    # every id of a range (canonical row = id - base), a direct table with gaps, argsort + searchsorted
    dense, gaps, spread = build(1), build(3), build(10**12 + 3)
    assert dense.index.table is not None and dense.slots is not None and len(dense.index.table) == n
    assert gaps.index.table is not None and len(gaps.index.table) > n
    assert spread.index.table is None and spread.slots is not None and len(spread.slots) == n  # hashed
    for name in ("order", "position", "parent", "end", "depth", "enrolled", "input_row"):
        assert np.array_equal(getattr(dense, name), getattr(spread, name)), name
        assert np.array_equal(getattr(gaps, name), getattr(spread, name)), name
    rows_found, found = dense.lookup([base - 1, base + n - 1, base, base + n, 2**62, -(2**63), 2**63 - 1])
    assert found.tolist() == [False, True, True, False, False, False, False]
    assert rows_found[1:3].tolist() == [n - 1, 0]


ID_KINDS = {
    # member i's id; ids that are not members
    "dense": (lambda i: i + 1, lambda n: [0, n + 1, -(2**63)]),
    "sparse": (lambda i: i * 10**12 - 7, lambda n: [-6, 10**12, 2**63 - 1]),  # hashed integers
    "text": (lambda i: f"m{i}" if i % 3 else f"\u00e9{i}\U0001f600", lambda n: ["", "m", f"m{n}", "M1"]),
}


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 30), st.sampled_from(sorted(ID_KINDS)))
def test_one_pass_order_checks_equal_the_general_checks(data: st.DataObject, n: int, kind: str) -> None:
    # dense integer ids: the slot table; others: a hash lookup, then the same one-pass check
    member_id, strangers = ID_KINDS[kind]
    rows, parents, days = forest(data, n)
    ids: list[object] = [0] * n
    sponsors: list[object] = [None] * n
    enrolled = [D] * n
    for i in range(n):
        ids[rows[i]], enrolled[rows[i]] = member_id(i), days[i]
        sponsors[rows[i]] = None if parents[i] is None else member_id(parents[i])
    tree = Genealogy.build(Members.from_columns(ids, sponsors, enrolled))
    assert tree.slots is not None
    assert (tree.index.table is not None) == (kind == "dense") or (kind == "sparse" and n == 1)  # one id: dense
    lines = data.draw(st.integers(0, 30))
    known = st.integers(0, n - 1).map(member_id)
    member = st.one_of(known, known, known, st.sampled_from(strangers(n)))
    day = st.dates(D - dt.timedelta(days=400), dt.date(2026, 2, 3))
    volume = st.one_of(
        st.integers(-(10**6), 10**6), st.sampled_from([MAX_LINE_UNITS, MAX_LINE_UNITS + 1, -(2**63), 2**63 - 1])
    )
    id_type = np.str_ if kind == "text" else np.int64
    orders = Orders(
        np.array(data.draw(st.lists(member, min_size=lines, max_size=lines)), dtype=id_type),
        np.array(data.draw(st.lists(day, min_size=lines, max_size=lines)), dtype="datetime64[D]"),
        np.array(data.draw(st.lists(volume, min_size=lines, max_size=lines)), dtype=np.int64),
        np.array(data.draw(st.lists(volume, min_size=lines, max_size=lines)), dtype=np.int64),
    )

    def run(check: object) -> object:
        try:
            cols = check(tree, orders, PERIOD, 2)  # type: ignore[operator]
        except InputError as exc:
            return [str(p) for p in exc.problems]
        return [c.tolist() for c in (cols.position, cols.day, cols.pv, cols.cv)]

    assert run(_orders) == run(_check_orders)


def test_sum_of_line_volumes_bound_in_one_pass() -> None:
    tree = Genealogy.build(Members.from_columns([1], [None], [D]))
    big = np.full(1001, MAX_LINE_UNITS - 1, dtype=np.int64)
    orders = Orders(np.ones(1001, dtype=np.int64), np.full(1001, np.datetime64(D, "D")), big, big)
    with pytest.raises(InputError, match=r"sum of \|pv\| over all order lines is beyond the bound"):
        _orders(tree, orders, PERIOD, 2)
    ok = _orders(tree, Orders(orders.member_ids[:900], orders.dates[:900], big[:900], big[:900]), PERIOD, 2)
    assert ok.pv is not None and int(ok.position.sum()) == 0


# -- the CSV reader: block by block into one growing array, same answers for any block size ---------------


def mostly(good: st.SearchStrategy[str], bad: list[str]) -> st.SearchStrategy[str]:
    """``good`` values, one in twenty-five a bad or special one."""
    return st.integers(0, 24).flatmap(lambda k: st.sampled_from(bad) if k == 0 else good)


cell_id = mostly(st.integers(-(10**6), 10**6).map(str), ["A7", "", " 12 ", "007"])
cell_date = mostly(st.dates(dt.date(2025, 1, 1), dt.date(2027, 1, 1)).map(str), ["", "2026-02-30", "x"])
cell_volume = mostly(st.decimals(-(10**4), 10**4, places=2, allow_nan=False).map(str), ["", "1.234", "-0", "1e2"])
csv_row = st.integers(0, 29).flatmap(
    lambda k: (
        st.tuples(cell_id, cell_id, cell_date).map(",".join)  # a wrong number of fields
        if k == 0
        else st.sampled_from(["", "  "])  # blank lines
        if k == 1
        else st.tuples(cell_id, cell_date, cell_volume, cell_volume).map(",".join)
    )
)


def read_both(path: object, monkeypatch: pytest.MonkeyPatch, block: int, piece: int = 2**20) -> tuple[object, object]:
    from compplan.io import csvio

    def run() -> object:
        try:
            o = csvio.read_orders(path)  # type: ignore[arg-type]
        except InputError as exc:
            return sorted(str(p) for p in exc.problems)
        return [c.tolist() for c in (o.member_ids, o.dates, o.pv, o.cv, o.lines)]

    whole = run()
    with monkeypatch.context() as m:
        m.setattr(csvio, "BLOCK_BYTES", block)
        m.setattr(csvio, "PIECE_BYTES", piece)  # blocks parsed in pieces on 3 threads (tests/conftest.py)
        m.setattr(csvio, "SLACK_ROWS", 0)  # the arrays grow while reading
        m.setattr(csvio, "ESTIMATE_MARGIN", 0.0)
        small = run()
    return whole, small


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(csv_row, max_size=40),
    crlf=st.booleans(),
    last_newline=st.booleans(),
    block=st.integers(1, 200),
    piece=st.integers(1, 60),
)
def test_csv_blocks_of_any_size_read_the_same(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str], crlf: bool, last_newline: bool, block: int, piece: int
) -> None:
    end = "\r\n" if crlf else "\n"
    text = "member_id,date,pv,cv" + end + end.join(rows) + (end if last_newline and rows else "")
    path = tmp_path_factory.mktemp("csv") / "orders.csv"
    path.write_bytes(text.encode())
    with pytest.MonkeyPatch.context() as monkeypatch:
        whole, small = read_both(path, monkeypatch, block, piece)
    summarised = any("more" in str(x) for x in [*whole, *small])  # type: ignore[misc]
    if not summarised:  # up to 20 problems of a kind are listed one by one, whatever the blocks
        assert whole == small


TEXT_ID = st.text(
    alphabet=st.sampled_from(["a", "Z", "7", "-", " ", "\t", "\x1c", "\u00e9", "\u2003", "\U0001f600"]), max_size=12
)


@settings(max_examples=80, deadline=None)
@given(st.lists(TEXT_ID, min_size=1, max_size=30), st.booleans())
def test_text_ids_read_and_written_like_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory, ids: list[str], crlf: bool
) -> None:
    # Text fields of the fast CSV reader (field bounds and bytes by kernels, one cast) against the csv module
    # and str.strip(); then the writer's encoded label table (text ids by whole arrays) read back.
    from compplan.io import csvio

    ids = [f"x{i}{t}" for i, t in enumerate(ids)]  # distinct, never blank
    end = "\r\n" if crlf else "\n"
    text = "id,sponsor_id,enrolled_on" + end + end.join(f"{t},,2026-01-01" for t in ids) + end
    folder = tmp_path_factory.mktemp("text")
    (folder / "m.csv").write_bytes(text.encode())
    got = csvio.read_members(folder / "m.csv").ids.tolist()
    assert got == [t.strip() for t in ids]
    csvio.write_csv(folder / "out.csv", ["id"], [csvio.Column.ids(np.array(got), np.arange(len(got))[::-1].copy())])
    with (folder / "out.csv").open(newline="", encoding="utf-8") as f:
        assert [row[0] for row in list(csv.reader(f))[1:]] == got[::-1]


def _random_forest(data: st.DataObject, n: int) -> np.ndarray:
    """Parents by index of a forest (no cycles) on ``n`` nodes in a random index order."""
    shape = data.draw(st.sampled_from(["bushy", "chain", "star", "forest"]))
    up = [
        -1 if i == 0 or (shape == "forest" and data.draw(st.booleans())) else (0 if shape == "star" else i - 1)
        for i in range(n)
    ]
    if shape in ("bushy", "forest"):
        up = [p if p < 0 else data.draw(st.integers(0, i - 1)) for i, p in enumerate(up)]
    perm = data.draw(st.permutations(range(n)))  # node i gets index perm[i]
    parent = np.full(n, -1, dtype=np.int64)
    for i, p in enumerate(up):
        if p >= 0:
            parent[perm[i]] = perm[p]
    return parent


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_walk_cut_at_any_node_equals_one_walk(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 40))
    parent = _random_forest(data, n)
    first, kids = _children_lists(parent)
    want = walk_order(parent, first, kids)
    for x in range(n):  # every cut point, whatever the sampled median would be
        path = [x]
        while parent[path[-1]] >= 0:
            path.append(int(parent[path[-1]]))
        got = _walk_cut(parent, first, kids, np.array(path[::-1], dtype=np.int64))
        assert got[4] == want[4] == n
        for a, b in zip(want[:4], got[:4], strict=True):
            assert np.array_equal(a, b)


def test_walk_cut_near_the_middle_and_not_for_deep_trees() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    parent = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)], dtype=np.int64)
    path = _cut(parent)
    assert path is not None and parent[path[0]] == -1
    assert all(parent[c] == p for p, c in itertools.pairwise(path))  # a root path, root first
    position = preorder(parent)[1]
    assert abs(position[path[-1]] - n / 2) < 0.15 * n  # the median of 256 samples: within a few percent
    chain = np.arange(-1, CUT_MAX_DEPTH * 4, dtype=np.int64)  # deeper than a cut looks
    assert _cut(chain) is None
    first, kids = _children_lists(chain)
    got, want = _walk(chain, first, kids), walk_order(chain, first, kids)  # one walk, same arrays
    assert all(np.array_equal(a, b) for a, b in zip(got[:4], want[:4], strict=True)) and got[4] == want[4]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 60), max_size=50))
def test_dense_index_in_parts_equals_a_sort(values: list[int]) -> None:
    ids = np.array(values, dtype=np.int64)
    n = len(ids)
    low = int(ids.min()) if n else 0
    span = int(ids.max()) - low + 1 if n else 0
    table, perm, sorted_ids, duplicates = _dense_index(ids, low, span)  # parts of one slot (tests/conftest.py)
    assert duplicates == n - len(set(values))
    if duplicates == 0:
        want = np.argsort(ids, kind="stable")
        assert np.array_equal(perm, want) and np.array_equal(sorted_ids, ids[want])
        rows = np.full(span, -1, dtype=np.int32)
        rows[ids[want] - low] = np.arange(n)
        assert np.array_equal(table, rows)


SPARSE_INTS = st.one_of(
    st.integers(-(2**63) + 1, 2**63 - 1), st.integers(-3, 3).map(lambda k: k * 10**15), st.integers(-20, 20)
)
TEXTS = st.text(alphabet=st.sampled_from(["a", "b", "0", "\u00e9", "\u0100", "\U0001f600", " "]), max_size=45)


def _shared_first_word(count: int) -> list[object]:
    # 2-bit characters: 32 to a word, so these share their first word and differ (or repeat) after it
    return ["a" * 32 + "".join("ab"[(k >> d) & 1] for d in range(6)) for k in range(count)][::-1] * 2


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.lists(SPARSE_INTS, max_size=40), st.lists(TEXTS, max_size=40)), st.lists(st.integers(0, 10)))
@example(values=[*_shared_first_word(12), "b", "a"], picks=[0, 3, 13])  # ties put in order by insertion
@example(values=[*_shared_first_word(40), "b", "a"], picks=[0, 3, 41])  # too many: sorted by ranks instead
def test_hashed_ids_sort_and_find_like_a_stable_sort(values: list[object], picks: list[int]) -> None:
    # Sparse integers and text go through packed words and the hash table; the answers must be those of a
    # stable sort and a search, duplicates and ids of other widths or code points included.
    if not values:
        return
    ids = np.array(values, dtype=np.str_ if isinstance(values[0], str) else np.int64)
    index = IdIndex(ids)
    want = np.argsort(ids, kind="stable")
    assert np.array_equal(index.perm, want) and np.array_equal(index.ids, ids[want])
    ordered = ids[want]
    assert index.repeats().tolist() == [c for c in range(1, len(ids)) if ordered[c] == ordered[c - 1]]
    if ids.dtype.kind == "U":
        # characters the ids have, at positions where none has them; unknown characters; other widths
        extra: list[object] = ["", "\U0001f600" * 30, "a" * 25, "zz", "c", "b" * 60]
        extra += [str(v)[::-1] for v in values[:6]] + [str(v)[1:] + "0" for v in values[:6]]
    else:
        extra = [0, 2**63 - 1, -(2**63) + 1, 10**15 + 1]
    probes = [values[p % len(values)] for p in picks] + extra
    rows, found = index.lookup(probes)
    for probe, row, ok in zip(probes, rows.tolist(), found.tolist(), strict=True):
        first = [c for c in range(len(ordered)) if ordered[c] == probe]
        assert ok == bool(first) and (not ok or row == first[0]), probe
    if index.table is None:
        expect = np.where(found, rows, -1)
        assert np.array_equal(index.rows(probes), expect)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4), st.integers(1, 120), st.integers(0, 120))
def test_order_check_lists_the_recent_lines_fast_start_needs(seed: int, days: int, extra: int) -> None:
    from compplan.kernels.tree import scatter_add_lines, scatter_add_window
    from compplan.synthetic import generate

    members, orders = generate(300, seed=seed, period="2026-01")
    tree = Genealogy.build(members)
    cols = _orders(tree, orders, PERIOD, 2, days + extra)  # lines in parts of one (tests/conftest.py)
    assert cols.recent is not None and cols.recent_days == days + extra
    age = cols.day - tree.enrolled[cols.position]
    assert np.array_equal(cols.recent, np.nonzero(age < days + extra)[0])  # every such line, in order
    everyone = np.ones(len(tree), dtype=bool)
    n, lines = len(tree), len(cols.day)
    want, got = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    scatter_add_window(cols.position, cols.day, tree.enrolled, days, cols.cv, 0, lines, everyone, want)
    scatter_add_lines(cols.recent, cols.position, cols.day, tree.enrolled, days, cols.cv, got)
    assert np.array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 2**31 - 2))
def test_slot_words_keep_position_and_day(day: int, position: int) -> None:
    from compplan.kernels.tree import position_table, slot_day, slot_position

    table = np.array([0, -1], dtype=np.int32)  # id low: canonical row 0; id low + 1: no member
    slots = position_table(table, np.array([position]), np.array([day]), np.empty(2, dtype=np.int64))
    assert (slot_position(slots[0]), slot_day(slots[0])) == (position, day)
    assert slot_position(slots[1]) == -1


def test_one_pass_order_checks_before_1970() -> None:
    old = dt.date(1965, 3, 1)
    tree = Genealogy.build(Members.from_columns([1, 2, 3], [None, 1, 1], [old, old, dt.date(1965, 3, 10)]))
    period = Period.parse("1965-03")
    assert tree.slots is not None
    orders = Orders(
        np.array([3, 2, 1, 3], dtype=np.int64),
        np.array(["1965-03-12", "1965-03-01", "1965-03-31", "1965-03-10"], dtype="datetime64[D]"),
        np.array([100, 200, 300, 400], dtype=np.int64),
        np.array([1, 2, 3, 4], dtype=np.int64),
    )
    cols = _orders(tree, orders, period, 2, 5)
    assert cols.position.tolist() == [2, 1, 0, 2]  # members 1, 2, 3 are positions 0, 1, 2
    assert cols.recent is not None and cols.recent.tolist() == [0, 1, 3]  # within 5 days of enrolment
    early = Orders(orders.member_ids[:1], np.array(["1965-03-09"], dtype="datetime64[D]"), orders.pv[:1], orders.cv[:1])
    with pytest.raises(InputError, match="before member 3 enrolled"):
        _orders(tree, early, period, 2)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4),
    st.lists(st.integers(0, 300) | st.integers(0, 3), max_size=200),
    st.integers(-(2**63), 2**63 - 1 - 300),
    st.booleans(),
)
@example(extremes=[-(2**63)], offsets=[5] * 50 + [3] * 50 + list(range(200, 0, -3)), base=0, unsigned=False)
@example(extremes=[2**63 - 1, -1], offsets=[7, 1] * 40, base=2**40, unsigned=True)
def test_sorted_rows_of_any_range_equal_a_stable_argsort(
    extremes: list[int], offsets: list[int], base: int, unsigned: bool
) -> None:
    # A wide range leaves the lowest bits out of the vectorised sort; a cluster of close values (with repeats)
    # then makes runs longer and shorter than the insertion sort's limit, which sort_runs must finish
    column = np.array(extremes + [base + o for o in offsets], dtype=np.int64)
    if unsigned:
        column = column.view(np.uint64)
    rows, ordered = _sorted_rows(column)
    expect = np.argsort(column, kind="stable")
    assert rows.tolist() == expect.tolist()
    low = int(column.min()) if len(column) else 0
    assert [int(v) for v in ordered] == [int(column[r]) - low for r in expect]
