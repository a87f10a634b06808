"""A review of the walk in two stretches, int32 order positions, the dense
id table in parts, write_csv on pool threads, Parquet row groups in parallel, and the CSV reader in pieces.

tests/conftest.py runs every test with ``threads.MIN_PART = 1`` and ``COMPPLAN_THREADS=3``; the tests that
compare thread counts set ``COMPPLAN_THREADS`` themselves.
"""

from __future__ import annotations

import datetime as dt
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from compplan import InputError, Members, Orders, Period, threads
from compplan.engine import _check_orders, _orders
from compplan.genealogy import Genealogy, _children_lists, _cut, _dense_index, _walk, _walk_cut
from compplan.io import csvio
from compplan.kernels import tree as kt

D = dt.date(2026, 1, 1)
PERIOD = Period.parse("2026-01")


# -- helpers -----------------------------------------------------------------------------------------------


def _read(
    path: Path, monkeypatch: pytest.MonkeyPatch, count: int, block: int, piece: int, members: bool = False
) -> Any:
    """Read ``path`` as orders (or members) with ``count`` threads and the given block and piece sizes.

    Returns the columns, empty masks and line numbers, or the problems in report order.
    """
    with monkeypatch.context() as m:
        m.setenv("COMPPLAN_THREADS", str(count))
        m.setattr(csvio, "BLOCK_BYTES", block)
        m.setattr(csvio, "PIECE_BYTES", piece)
        m.setattr(csvio, "SLACK_ROWS", 0)  # the arrays grow while reading
        m.setattr(csvio, "ESTIMATE_MARGIN", 0.0)
        spec, optional = (csvio.MEMBER_COLUMNS, csvio.PLACEMENT_COLUMNS) if members else (csvio.ORDER_COLUMNS, None)
        try:
            t = csvio._Reader(path, spec, 2, optional).read()
        except InputError as exc:
            return [str(p) for p in exc.problems]
        empty = {k: v.tolist() for k, v in t.empty.items()}
        columns = {  # an empty field's value is whatever its block's column held (0 or ""): only the mask counts
            k: [None if e else x for x, e in zip(v.tolist(), empty[k], strict=True)] if k in empty else v.tolist()
            for k, v in t.columns.items()
        }
        return columns, empty, t.lines.tolist()


BIG = 2**26  # one block, one piece: the reference reading
SIZES = [(1, 1), (7, 1), (23, 5), (64, 17), (200, 3), (BIG, 1)]  # (BLOCK_BYTES, PIECE_BYTES)


def _orders_text(end: str, last_newline: bool) -> str:
    rows = [
        "member_id,date,pv,cv",
        "1,2026-01-05,1.00,2.00",  # 2
        "",  # 3 blank
        "2,2026-01-06,3.5,4",  # 4
        "   ",  # 5 blank (spaces)
        "",  # 6 blank
        "3,2026-01-07,5,6.25",  # 7
        "4,2026-01-08,7",  # 8 wrong field count
        "5,2026-01-09,8.00,9.00",  # 9
        "\t",  # 10 blank (tab)
        "6," + "2026-01-10" + ",1" + "0" * 150 + ".5,1",  # 11: a line longer than most blocks (pv out of range)
        "7,2026-01-11,1,2,3",  # 12 wrong field count
        "",  # 13 blank
        "8,2026-01-12,10,11",  # 14
    ]
    return end.join(rows) + (end if last_newline else "")


# -- the CSV reader in pieces (commit 6) ----------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("last_newline", [True, False])
def test_csv_pieces_with_blank_and_bad_lines_report_the_right_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, end: str, last_newline: bool
) -> None:
    """Blank lines (also at piece and block boundaries), wrong field counts, a line longer than a block, CRLF and
    a missing last line break: the same problems at the same physical lines for every block and piece size."""
    path = tmp_path / "orders.csv"
    path.write_bytes(_orders_text(end, last_newline).encode())
    want = _read(path, monkeypatch, 1, BIG, BIG)
    assert sorted(want) == sorted(
        [
            f"{path}:8: expected 4 fields, found 3",
            f"{path}:12: expected 4 fields, found 5",
            f"{path}:11: pv 1{'0' * 150}.5 is out of range",
        ]
    )
    for block, piece in SIZES:
        got = _read(path, monkeypatch, 3, block, piece)
        assert sorted(got) == sorted(want), (block, piece)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("last_newline", [True, False])
def test_csv_pieces_move_rows_down_past_blank_and_dropped_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, end: str, last_newline: bool
) -> None:
    """Without the out-of-range line the file reads: values and line numbers of the kept rows, in file order,
    for every block and piece size (pieces after blank or dropped lines are moved down)."""
    text = _orders_text(end, last_newline).replace("1" + "0" * 150 + ".5", "1" + "0" * 10 + ".5")
    text = text.replace("4,2026-01-08,7" + end, "").replace("7,2026-01-11,1,2,3" + end, "")
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode())
    want = _read(path, monkeypatch, 1, BIG, BIG)
    columns, _, lines = want
    assert columns["member_id"] == [1, 2, 3, 5, 6, 8]
    assert lines == [2, 4, 7, 8, 10, 12]  # lines 8 and 12 of _orders_text removed
    assert columns["pv"] == [100, 350, 500, 800, 10**12 + 50, 1000]
    for block, piece in SIZES:
        assert _read(path, monkeypatch, 3, block, piece) == want, (block, piece)


def test_csv_members_text_columns_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text columns and text ids are cut out of the whole block at each piece's offsets."""
    rows = ["id,sponsor_id,enrolled_on,placement_side"]
    for i in range(40):
        ident = f"m{i}" if i % 3 else f" m{i} "
        sponsor = "" if i == 0 else f"m{(i - 1) // 2}"
        side = ["left", "right", "", " ünï ", "x" * 300][i % 5]
        rows.append(f"{ident},{sponsor},2025-0{1 + i % 9}-01,{side}")
        if i % 7 == 0:
            rows.append("")
    path = tmp_path / "members.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    want = _read(path, monkeypatch, 1, BIG, BIG, members=True)
    assert want[0]["placement_side"][:5] == ["left", "right", None, "ünï", "x" * 300]
    assert want[0]["sponsor_id"][:2] == [None, "m0"]
    assert want[0]["id"][:2] == ["m0", "m1"]
    for block, piece in [(1, 1), (50, 7), (333, 40), (BIG, 1)]:
        assert _read(path, monkeypatch, 3, block, piece, members=True) == want, (block, piece)


@pytest.mark.parametrize("text", ["member_id,date,pv,cv", "member_id,date,pv,cv\n", "member_id,date,pv,cv\r\n\n\n"])
def test_csv_header_only_reads_no_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode())
    for block, piece in [(1, 1), (BIG, 1)]:
        columns, _, lines = _read(path, monkeypatch, 3, block, piece)
        assert lines == [] and all(v == [] for v in columns.values())


def test_csv_one_line_longer_than_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line many times BLOCK_BYTES (the buffer grows) between short ones, pieces on three threads."""
    path = tmp_path / "orders.csv"
    pv = "0" * 5000 + "1.25"
    path.write_bytes(f"member_id,date,pv,cv\n1,2026-01-01,1,1\n2,2026-01-02,{pv},2\n3,2026-01-03,3,3".encode())
    columns, _, lines = _read(path, monkeypatch, 3, 16, 1)
    assert columns["pv"] == [100, 125, 300] and lines == [2, 3, 4]


def test_csv_error_report_is_the_same_for_any_thread_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BUG: the problems of one block are reported piece by piece, so their order depends on COMPPLAN_THREADS.

    One thread lists the wrong-field-count row (line 12) before the bad date (line 5), the column problems
    coming after every bad row of the block; three pieces list line 5 first. With the default PIECE_BYTES the
    same happens for any file over 2 MB.
    """
    rows = ["member_id,date,pv,cv", *["1,2026-01-05,1.00,2.00"] * 3, "1,2026-01-xx,1.00,2.00"]
    rows += [*["1,2026-01-05,1.00,2.00"] * 6, "1,2026-01-05,1.00", *["1,2026-01-05,1.00,2.00"] * 3]
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode())
    one = _read(path, monkeypatch, 1, BIG, 10)
    three = _read(path, monkeypatch, 3, BIG, 10)
    assert sorted(one) == sorted(three)  # the same problems ...
    assert one == three  # ... but not in the same order


def test_csv_summary_cap_is_the_same_for_any_thread_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BUG: SHOWN (20 bad values of a column listed, then "... and N more") is applied per piece, so three
    threads list all 30 bad dates where one thread lists 20 and a summary line."""
    rows = ["member_id,date,pv,cv"] + [f"1,2026-01-{'xx' if i % 3 == 0 else '05'},1,2" for i in range(90)]
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode())
    one = _read(path, monkeypatch, 1, BIG, 100)
    three = _read(path, monkeypatch, 3, BIG, 100)
    assert len(one) == 21 and one[-1] == "... and 10 more bad date values"
    assert three == one


def test_csv_quote_after_the_first_block_reports_each_problem_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BUG (pre-existing, not from these commits): the fast reader collects the problems of the blocks it parsed
    before it meets a quote, then the csv-module reader reports them again."""
    rows = ["member_id,date,pv,cv", "1,2026-01-xx,1.00,2.00", *["1,2026-01-05,1.00,2.00"] * 20]
    rows.append('1,2026-01-05,"1.00",2.00')
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode())
    want = [f"{path}:2: date '2026-01-xx' is not a date (YYYY-MM-DD)"]
    assert _read(path, monkeypatch, 3, BIG, 1) == want
    assert _read(path, monkeypatch, 3, 64, 1) == want


@pytest.mark.parametrize("where", ["first", "later"])
def test_csv_quoted_files_fall_back_to_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A quote in the first block or in a later one: the csv-module reader gives what the unquoted file gives."""
    rows = ["member_id,date,pv,cv", *[f"{i},2026-01-05,{i}.5,2" for i in range(1, 30)]]
    rows.insert(3, "")
    plain = tmp_path / "plain.csv"
    plain.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    k = 2 if where == "first" else 25
    rows[k] = rows[k].replace(",2026-01-05,", ',"2026-01-05",')
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    want = _read(plain, monkeypatch, 1, BIG, BIG)
    for block, piece in [(BIG, 1), (40, 1), (7, 3)]:
        got = _read(quoted, monkeypatch, 3, block, piece)
        assert got[0] == want[0] and got[2] == want[2], (block, piece)


def test_csv_tiny_file_does_not_allocate_two_blocks(tmp_path: Path) -> None:
    """REGRESSION: _read_fast allocates (and zeroes) ``bytearray(2 * BLOCK_BYTES)`` = 128 MB for every file,
    whatever its size: a 40-byte orders file costs ~100 ms instead of ~0.2 ms and 128 MB of RSS."""
    path = tmp_path / "orders.csv"
    path.write_bytes(b"member_id,date,pv,cv\n1,2026-01-01,1,1\n")
    csvio.read_orders(path)  # compile and import outside the measurement
    tracemalloc.start()
    try:
        csvio.read_orders(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


# -- write_csv on pool threads (commit 4) -----------------------------------------------------------------------


def _columns(n: int) -> tuple[list[str], list[csvio.Column]]:
    rng = np.random.default_rng(n)
    take = rng.permutation(n).astype(np.int64)
    places = rng.integers(0, 4, n).astype(np.int64)
    cols = [
        csvio.Column.integer(rng.integers(-(10**12), 10**12, n)),
        csvio.Column.decimal(rng.integers(-(10**15), 10**15, n), 2),
        csvio.Column.decimal_rows(rng.integers(-(10**9), 10**9, n), places),
        csvio.Column.label(rng.integers(0, 3, n), ["Member", "Gold, Star", 'say "hi"']),
        csvio.Column.label(rng.integers(0, 2, n), ["a", "b"]),  # a second label table (label_base > 0)
        csvio.Column(rng.integers(0, 10**6, n).astype(np.int64), 0, take=take),  # gathered block by block
    ]
    return ["i", "d", "r", "l1", "l2", "t"], cols


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_write_csv_same_bytes_for_any_thread_count_and_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    header, cols = _columns(n)
    written = []
    for count, rows, buffer in ((1, 10**9, 2**25), (2, 1, 200), (3, 1, 1), (3, 5, 5_000), (4, 1, 10**6)):
        with monkeypatch.context() as m:
            m.setenv("COMPPLAN_THREADS", str(count))
            m.setattr(csvio, "BLOCK_ROWS_PER_THREAD", rows)
            m.setattr(csvio, "WRITE_BUFFER", buffer)
            path = tmp_path / f"out{count}_{rows}_{buffer}.csv"
            csvio.write_csv(path, header, cols, preamble="# x=1\n")
            written.append(path.read_bytes())
    assert all(w == written[0] for w in written)
    lines = written[0].decode().splitlines()
    assert len(lines) == n + 2 and lines[1] == ",".join(header)


def test_run_ahead_passes_on_an_error_and_handles_no_items(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    threads.run_ahead(lambda x: x, [], seen.append, 3)
    assert seen == []

    def fn(i: int) -> int:
        if i == 5:
            raise ValueError("five")
        return i

    with pytest.raises(ValueError, match="five"):
        threads.run_ahead(fn, list(range(20)), seen.append, 3)
    assert seen == [0, 1, 2, 3, 4]


# -- Parquet row groups in parallel, Arrow chunks into one array (commit 5) ----------------------------------


try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # only the Parquet tests need the [arrow] extra
    pa = pq = None

needs_arrow = pytest.mark.skipif(pa is None, reason="pyarrow is not installed")


def _orders_table(n: int) -> Any:
    return pa.table(
        {
            "member_id": pa.array([i % 17 + 1 for i in range(n)], pa.int64()),
            "date": pa.array([D + dt.timedelta(days=i % 28) for i in range(n)], pa.date32()),
            "pv": pa.array([Decimal(i * 37 % 1000) / 100 for i in range(n)], pa.decimal128(12, 2)),
            "cv": pa.array([f"{i * 13 % 500}.{i % 10}" for i in range(n)], pa.string()),
        }
    )


@needs_arrow
@pytest.mark.parametrize("group", [1, 3, 7, 50, 1000])
def test_parquet_row_groups_read_as_the_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: int) -> None:
    from compplan.io.parquet import read_orders_parquet

    n = 50
    table = _orders_table(n)
    pq.write_table(table, tmp_path / "o.parquet", row_group_size=group)
    assert pq.ParquetFile(tmp_path / "o.parquet").num_row_groups == -(-n // group)
    csv = tmp_path / "o.csv"
    frame = table.to_pydict()
    text = ["member_id,date,pv,cv"] + [
        f"{m},{d},{p},{c}"
        for m, d, p, c in zip(frame["member_id"], frame["date"], frame["pv"], frame["cv"], strict=True)
    ]
    csv.write_text("\n".join(text) + "\n")
    want = csvio.read_orders(csv)
    for count in (1, 2, 3, 8):
        monkeypatch.setenv("COMPPLAN_THREADS", str(count))
        got = read_orders_parquet(tmp_path / "o.parquet")
        assert got.member_ids.tolist() == want.member_ids.tolist()
        assert got.dates.tolist() == want.dates.tolist()
        assert got.pv.tolist() == want.pv.tolist() and got.cv.tolist() == want.cv.tolist()


@needs_arrow
def test_parquet_with_no_rows(tmp_path: Path) -> None:
    from compplan.io.parquet import read_members_parquet, read_orders_parquet

    empty = _orders_table(0)
    pq.write_table(empty, tmp_path / "one_empty_group.parquet")
    with pq.ParquetWriter(tmp_path / "no_group.parquet", empty.schema):
        pass
    assert pq.ParquetFile(tmp_path / "no_group.parquet").num_row_groups == 0
    for name in ("one_empty_group.parquet", "no_group.parquet"):
        o = read_orders_parquet(tmp_path / name)
        assert len(o.member_ids) == len(o.pv) == len(o.cv) == len(o.dates) == 0
        assert o.pv.dtype == np.int64 and o.dates.dtype == np.dtype("datetime64[D]")
    members = pa.table(
        {
            "id": pa.array([], pa.int64()),
            "sponsor_id": pa.array([], pa.int64()),
            "enrolled_on": pa.array([], pa.date32()),
        }
    )
    with pq.ParquetWriter(tmp_path / "m.parquet", members.schema):
        pass
    assert len(read_members_parquet(tmp_path / "m.parquet").ids) == 0


@needs_arrow
def test_parquet_nullable_sponsors_across_row_groups(tmp_path: Path) -> None:
    """Null sponsors (roots) in some row groups only: the missing mask lines up with the ids."""
    from compplan.io.parquet import read_members_parquet

    n = 40
    sponsors = [None if i % 9 == 0 else i // 2 for i in range(n)]
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "sponsor_id": pa.array(sponsors, pa.int64()),
            "enrolled_on": pa.array([D] * n, pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "m.parquet", row_group_size=6)
    m = read_members_parquet(tmp_path / "m.parquet")
    one = read_members_parquet(_one_group(table, tmp_path))
    assert m.ids.tolist() == one.ids.tolist() == list(range(n))
    assert np.array_equal(np.asarray(m.sponsor_ids), np.asarray(one.sponsor_ids))
    tree = Genealogy.build(m)
    roots = [i for i in range(n) if tree.parent[tree.position[i]] < 0]
    assert roots == [i for i in range(n) if sponsors[i] is None]


def _one_group(table: Any, tmp_path: Path) -> Path:
    path = tmp_path / "one.parquet"
    pq.write_table(table, path)
    return path


@needs_arrow
def test_parquet_bad_value_in_a_later_row_group_names_its_row(tmp_path: Path) -> None:
    from compplan.io.parquet import read_orders_parquet

    table = _orders_table(30)
    cv = table.column("cv").to_pylist()
    cv[23] = "1.234"  # too precise, in the fourth group of 7
    table = table.set_column(3, "cv", pa.array(cv, pa.string()))
    pq.write_table(table, tmp_path / "o.parquet", row_group_size=7)
    with pytest.raises(InputError) as many:
        read_orders_parquet(tmp_path / "o.parquet")
    with pytest.raises(InputError) as one:
        read_orders_parquet(_one_group(table, tmp_path))
    assert [str(p).split(": ", 1)[1] for p in many.value.problems] == ["cv '1.234' has more than 2 decimal places"]
    assert str(many.value.problems[0]).endswith(str(one.value.problems[0]).split("one.parquet", 1)[1])
    assert "row 24" in str(many.value.problems[0])


@needs_arrow
def test_parquet_integer_volume_beyond_int64_after_scaling_is_refused(tmp_path: Path) -> None:
    """BUG (pre-existing, kept by commit 5's np.multiply(..., casting='unsafe')): an integer volume times
    10**decimals wraps around int64 silently, 184467440737095517 reads as 0.84. CSV refuses the same value."""
    from compplan.io.parquet import read_orders_parquet

    table = pa.table(
        {
            "member_id": pa.array([1], pa.int64()),
            "date": pa.array([D], pa.date32()),
            "pv": pa.array([184467440737095517], pa.int64()),
            "cv": pa.array([1], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "o.parquet")
    csv = tmp_path / "o.csv"
    csv.write_text("member_id,date,pv,cv\n1,2026-01-01,184467440737095517,1\n")
    with pytest.raises(InputError, match="out of range"):
        csvio.read_orders(csv)
    with pytest.raises(InputError):
        read_orders_parquet(tmp_path / "o.parquet")


@needs_arrow
def test_parquet_column_name_twice_is_an_input_error(tmp_path: Path) -> None:
    """BUG (commit 5, minor): ``schema_arrow.field(name)`` raises a bare KeyError for a name that appears twice,
    outside the ``try``; it escapes as ``KeyError: 'Column id does not exist in schema'`` (a traceback in the
    CLI). Before, the first of the two columns was read; the CSV reader reports a duplicate column."""
    from compplan.io.parquet import read_members_parquet

    table = pa.Table.from_arrays(
        [pa.array([1, 2]), pa.array([None, 1]), pa.array([D, D], pa.date32()), pa.array([3, 4])],
        names=["id", "sponsor_id", "enrolled_on", "id"],
    )
    pq.write_table(table, tmp_path / "m.parquet")
    with pytest.raises(InputError):
        read_members_parquet(tmp_path / "m.parquet")


@needs_arrow
def test_decimal128_units_in_place_zeroes_errors_and_counts_them() -> None:
    from compplan.kernels import csvscan as cs

    values = [Decimal("1.23"), Decimal("-4.5"), Decimal("1.235"), Decimal("0"), Decimal(10**20)]
    chunk = pa.array(values, pa.decimal128(38, 3))
    words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
    out = np.full(len(values), 77, dtype=np.int64)
    assert int(cs.decimal128_units(words, 2 - 3, out)) == 2  # 1.235 too precise, 10**20 too big
    assert out.tolist() == [123, -450, 0, 0, 0]


# -- the preorder walk in two stretches (commit 1) ------------------------------------------------------------


def _forest_with_cycles(rng: np.random.Generator, n: int, roots: float, cycles: int) -> np.ndarray:
    up = np.array([-1 if i == 0 or rng.random() < roots else int(rng.integers(0, i)) for i in range(n)], dtype=np.int64)
    for _ in range(cycles):
        ring = rng.choice(n, int(rng.integers(1, min(n, 4) + 1)), replace=False)
        for a, b in zip(ring, np.roll(ring, 1), strict=True):
            up[a] = b
    perm = rng.permutation(n)  # node i gets index perm[i]
    parent = np.full(n, -1, dtype=np.int64)
    parent[perm[up >= 0]] = perm[up[up >= 0]]
    return parent


def _same_walk(want: tuple[Any, ...], got: tuple[Any, ...]) -> bool:
    v = want[4]
    return bool(got[4] == v and all(np.array_equal(a[:v], b[:v]) for a, b in zip(want[:4], got[:4], strict=True)))


def test_walk_in_two_stretches_with_cycles_and_many_roots() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(1, 120))
        parent = _forest_with_cycles(rng, n, float(rng.random()) * 0.6, int(rng.integers(0, 4)))
        first, kids = _children_lists(parent)
        want = kt.walk_order(parent, first, kids)
        assert _same_walk(want, _walk(parent, first, kids))
        for x in want[0][: want[4]].tolist():  # every reachable cut point, cycles left out of both walks
            path = [x]
            while parent[path[-1]] >= 0:
                path.append(int(parent[path[-1]]))
            assert _same_walk(want, _walk_cut(parent, first, kids, np.array(path[::-1], dtype=np.int64)))


def test_walk_cut_of_a_forest_of_single_roots_and_of_one_member() -> None:
    parent = np.full(1000, -1, dtype=np.int64)  # a thousand roots, no children
    path = _cut(parent)
    assert path is not None and len(path) == 1 and 300 < path[0] < 700
    first, kids = _children_lists(parent)
    got = _walk(parent, first, kids)
    assert got[4] == 1000 and got[0].tolist() == list(range(1000)) and got[2].tolist() == list(range(1, 1001))
    one = np.array([-1], dtype=np.int64)
    first, kids = _children_lists(one)
    assert _same_walk(kt.walk_order(one, first, kids), _walk(one, first, kids))


def test_cut_skips_members_in_cycles() -> None:
    """Most members on a cycle (no root path): no cut, one walk; the reached ones are the same."""
    n = 400
    parent = np.roll(np.arange(n, dtype=np.int64), 1)  # one ring of 400
    parent[:10] = [-1, 0, 0, 1, 1, 2, -1, 6, 6, 7]
    parent[10] = 10  # its own sponsor
    assert _cut(parent) is None
    first, kids = _children_lists(parent)
    assert _same_walk(kt.walk_order(parent, first, kids), _walk(parent, first, kids))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_genealogy_with_cycles_names_them_for_any_thread_count(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    ids = list(range(1, 61))
    sponsors: list[int | None] = [None if i % 10 == 1 else i - 1 for i in ids]
    sponsors[24], sponsors[25], sponsors[26] = 27, 25, 26  # 25 -> 27 -> 26 -> 25; 28, 29, 30 hang below
    members = Members.from_columns(ids, sponsors, ["2025-01-01"] * 60)
    with pytest.raises(InputError) as info:
        Genealogy.build(members)
    assert "sponsor cycle: 25 -> 27 -> 26 -> 25" in str(info.value)
    assert "3 more members are cut off" in str(info.value)


# -- the dense id table in parts (commit 3) --------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_dense_index_in_parts_with_repeats_far_apart(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    rng = np.random.default_rng(count)
    ids = rng.permutation(5000).astype(np.int64) * 3 + 10**12  # sparse-ish, a big base
    table, perm, sorted_ids, duplicates = _dense_index(ids, int(ids.min()), int(ids.max() - ids.min()) + 1)
    assert duplicates == 0
    assert np.array_equal(perm, np.argsort(ids)) and np.array_equal(sorted_ids, np.sort(ids))
    assert np.array_equal(table[sorted_ids - ids.min()], np.arange(5000)) and (table >= 0).sum() == 5000
    twice = ids.copy()
    twice[-1] = twice[0]  # a repeat in the first and the last part
    twice[2500] = twice[1]
    assert _dense_index(twice, int(twice.min()), int(twice.max() - twice.min()) + 1)[3] == 2
    members = Members.from_columns(twice.tolist(), [None] * 5000, ["2025-01-01"] * 5000)
    with pytest.raises(InputError, match="duplicate member id"):
        Genealogy.build(members)


# -- order-line positions as int32 (commit 2) -------------------------------------------------------------------


def test_order_positions_are_int32_on_both_paths() -> None:
    ids = list(range(100, 130))
    sponsors: list[int | None] = [None] + [100 + (i - 1) // 3 for i in range(1, 30)]
    tree = Genealogy.build(Members.from_columns(ids, sponsors, ["2025-01-01"] * 30))
    who = np.array([129, 100, 115, 115, 101], dtype=np.int64)
    orders = Orders(who, np.full(5, np.datetime64(D, "D")), np.arange(5, dtype=np.int64), np.ones(5, dtype=np.int64))
    fast = _orders(tree, orders, PERIOD, 2)
    slow = _check_orders(tree, orders, PERIOD, 2)
    want = tree.position[tree.lookup(who)[0]]
    for o in (fast, slow):
        assert o.position.dtype == np.int32 and o.position.tolist() == want.tolist()
