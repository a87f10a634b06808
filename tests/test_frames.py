"""DataFrames, Arrow tables and Parquet files give exactly what the CSV reader gives."""

from __future__ import annotations

import datetime
import itertools
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, close, load_plan
from compplan.io import columns as cols
from compplan.io.csvio import read_members, read_orders

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "plans" / "examples" / "tiered_personal"
PLAN = load_plan(ROOT / "plans" / "tiered_personal.yaml")


def frames() -> tuple[object, object]:
    members = pd.read_csv(EX / "members.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(EX / "orders.csv", dtype=str)
    return members, orders


def same_result(members: Members, orders: Orders) -> None:
    want = close(PLAN, read_members(EX / "members.csv"), read_orders(EX / "orders.csv"), "2026-10")
    got = close(PLAN, members, orders, "2026-10")
    assert got.ids.tolist() == want.ids.tolist()
    for col in ("pv", "gv", "qv", "rank", "total"):
        assert np.array_equal(getattr(got, col), getattr(want, col)), col


def test_pandas_frames() -> None:
    m, o = frames()
    same_result(Members.from_frame(m), Orders.from_frame(o))


def test_pandas_decimal_objects_and_datetimes() -> None:
    m, o = frames()
    m["enrolled_on"] = pd.to_datetime(m["enrolled_on"])
    m.loc[m["sponsor_id"] == "", "sponsor_id"] = None
    o["pv"] = [Decimal(v) for v in o["pv"]]
    same_result(Members.from_frame(m), Orders.from_frame(o))


def test_arrow_tables_and_parquet(tmp_path: Path) -> None:
    from compplan.io.parquet import read_members_parquet, read_orders_parquet

    m, o = frames()
    mt = pa.Table.from_pandas(m, preserve_index=False)
    ot = pa.table(
        {
            "member_id": o["member_id"],
            "date": pd.to_datetime(o["date"]).dt.date,
            "pv": pa.array([Decimal(v) for v in o["pv"]], pa.decimal128(12, 2)),
            "cv": o["cv"],
        }
    )
    pq.write_table(mt, tmp_path / "m.parquet")
    pq.write_table(ot, tmp_path / "o.parquet")
    same_result(read_members_parquet(tmp_path / "m.parquet"), read_orders_parquet(tmp_path / "o.parquet"))


def test_integer_ids_with_missing_sponsor_from_pandas() -> None:
    m = pd.DataFrame({"id": [1, 2, 3], "sponsor_id": [None, 1, 1], "enrolled_on": ["2025-01-01"] * 3})
    members = Members.from_frame(m)
    assert members.ids.tolist() == [1, 2, 3] and members.is_root.tolist() == [True, False, False]
    assert members.sponsor_ids[1:].tolist() == [1, 1]


def test_float_volumes_and_bad_values_are_refused() -> None:
    o = pd.DataFrame(
        {"member_id": ["A", "B"], "date": ["2026-10-01", "2026-13-01"], "pv": [1.5, 2.0], "cv": ["1", "x"]}
    )
    with pytest.raises(InputError) as exc:
        Orders.from_frame(o)
    messages = [str(p) for p in exc.value.problems]
    assert "orders row 2: date '2026-13-01' is not a date (YYYY-MM-DD)" in messages
    assert any("column 'pv' holds binary floats" in m for m in messages)
    assert "orders row 2: cv 'x' is not a decimal number" in messages
    with pytest.raises(InputError, match="required column 'sponsor_id' is missing"):
        Members.from_frame(pd.DataFrame({"id": [1], "enrolled_on": ["2025-01-01"]}))


def test_parquet_without_pyarrow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from compplan.io.parquet import read_members_parquet

    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError, match=r"pip install 'compplan\[arrow\]'"):
        read_members_parquet(tmp_path / "m.parquet")


def test_cli_reads_parquet(tmp_path: Path) -> None:
    from compplan.cli import main

    m, o = frames()
    pq.write_table(pa.Table.from_pandas(m, preserve_index=False), tmp_path / "m.parquet")
    pq.write_table(pa.Table.from_pandas(o, preserve_index=False), tmp_path / "o.parquet")
    args = [
        "close",
        "--plan",
        str(ROOT / "plans" / "tiered_personal.yaml"),
        "--members",
        str(tmp_path / "m.parquet"),
        "--orders",
        str(tmp_path / "o.parquet"),
        "--period",
        "2026-10",
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    ]
    assert main(args) == 0
    assert (tmp_path / "out" / "members.csv").read_text() == (EX / "expected_members.csv").read_text()


# -- the Arrow fast path against the general path, on the same columns -----------------------------------


def both_paths(build: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """``build()`` through the Arrow fast path and through the general path: results or problem lists."""

    def run() -> object:
        try:
            return build()  # type: ignore[operator]
        except InputError as exc:
            return [str(p) for p in exc.problems]

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(cols, "_arrow_chunks", lambda column: None)
        slow = run()
    return fast, slow


def chunked(values: list[object], typ: object, cuts: list[int], sliced: bool) -> object:
    """``values`` as a ChunkedArray cut at ``cuts``; ``sliced`` adds a dropped head so chunks have offsets."""
    bounds = sorted({0, len(values), *(c % (len(values) + 1) for c in cuts)})
    chunks = []
    for a, b in itertools.pairwise(bounds):
        part = values[a:b]
        if sliced:
            chunks.append(pa.array([part[0], *part] if part else part, typ).slice(1) if part else pa.array([], typ))
        else:
            chunks.append(pa.array(part, typ))
    return pa.chunked_array(chunks, typ) if chunks else pa.chunked_array([], typ)


def same_columns(a: object, b: object) -> None:
    if isinstance(a, list) or isinstance(b, list):
        assert a == b
        return
    for name in ("ids", "sponsor_ids", "is_root", "enrolled_on", "member_ids", "dates", "pv", "cv"):
        if hasattr(a, name):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name


id_texts = st.one_of(
    st.integers(-(10**18), 10**18).map(str),
    st.sampled_from(["A1", " 7", "7 ", "007", "+5", "", "<NA>", "-0", "x y", "9" * 19, "é"]),
)
decimal_texts = st.one_of(
    st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False).map(str),
    st.decimals(min_value=-(10**3), max_value=10**3, places=4, allow_nan=False).map(str),
    st.sampled_from(["", "1e3", "--1", " 1.5 ", ".5", "5.", "1.230", "12.3456", "99999999999999999999"]),
)
date_texts = st.one_of(
    st.dates(datetime.date(1900, 1, 1), datetime.date(2100, 1, 1)).map(str),
    st.datetimes(datetime.datetime(1990, 1, 1), datetime.datetime(2030, 1, 1)).map(lambda d: d.isoformat(sep="T")),
    st.datetimes(datetime.datetime(1990, 1, 1), datetime.datetime(2030, 1, 1)).map(str),
    st.sampled_from(["", "2026-02-30", "2026-1-01", " 2026-10-01", "2026-10-01x", "20261001"]),
)
layout = st.tuples(st.lists(st.integers(0, 40), max_size=3), st.booleans())
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@FAST
@given(
    n=st.integers(1, 25),
    data=st.data(),
    id_kind=st.sampled_from(["int", "text", "large_text"]),
    date_kind=st.sampled_from(["date32", "text"]),
    cut=layout,
)
def test_arrow_fast_path_members_equal_general_path(
    monkeypatch: pytest.MonkeyPatch, n: int, data: st.DataObject, id_kind: str, date_kind: str, cut: object
) -> None:
    cuts, sliced = cut  # type: ignore[misc]
    if id_kind == "int":
        ids: list[object] = data.draw(st.lists(st.integers(-(10**15), 10**15), min_size=n, max_size=n))
        sponsors = data.draw(st.lists(st.one_of(st.none(), st.integers(-(10**15), 10**15)), min_size=n, max_size=n))
        typ: object = pa.int64()
    else:
        ids = data.draw(st.lists(id_texts, min_size=n, max_size=n))
        sponsors = data.draw(st.lists(st.one_of(st.none(), id_texts), min_size=n, max_size=n))
        typ = pa.string() if id_kind == "text" else pa.large_string()
    if date_kind == "date32":
        dates: list[object] = data.draw(
            st.lists(st.one_of(st.dates(datetime.date(1900, 1, 1)), st.none()), min_size=n, max_size=n)
        )
        dtyp: object = pa.date32()
    else:
        dates = data.draw(st.lists(date_texts, min_size=n, max_size=n))
        dtyp = pa.string()
    table = pa.table(
        {
            "id": chunked(ids, typ, cuts, sliced),
            "sponsor_id": chunked(sponsors, typ, cuts, sliced),
            "enrolled_on": chunked(dates, dtyp, cuts, sliced),
        }
    )
    fast, slow = both_paths(lambda: Members.from_frame(table), monkeypatch)
    same_columns(fast, slow)


@FAST
@given(
    n=st.integers(1, 25),
    data=st.data(),
    vol_kind=st.sampled_from(["decimal", "text", "int"]),
    scale=st.integers(0, 5),
    decimals=st.integers(0, 4),
    cut=layout,
)
def test_arrow_fast_path_orders_equal_general_path(
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    data: st.DataObject,
    vol_kind: str,
    scale: int,
    decimals: int,
    cut: object,
) -> None:
    cuts, sliced = cut  # type: ignore[misc]
    if vol_kind == "decimal":
        unscaled = st.one_of(
            st.integers(-(10**6), 10**6), st.integers(-(10**20), 10**20), st.just(0), st.none()
        )  # negative volumes, values beyond 64 bits and the text parser's bound, nulls
        raw = data.draw(st.lists(unscaled, min_size=n, max_size=n))
        vols: list[object] = [None if u is None else Decimal(u).scaleb(-scale) for u in raw]
        vtyp: object = pa.decimal128(38, scale)
    elif vol_kind == "text":
        vols = data.draw(st.lists(st.one_of(decimal_texts, st.none()), min_size=n, max_size=n))
        vtyp = pa.string()
    else:
        vols = data.draw(st.lists(st.integers(-(10**9), 10**9), min_size=n, max_size=n))
        vtyp = pa.int32()
    table = pa.table(
        {
            "member_id": chunked(data.draw(st.lists(id_texts, min_size=n, max_size=n)), pa.string(), cuts, sliced),
            "date": chunked(data.draw(st.lists(date_texts, min_size=n, max_size=n)), pa.string(), cuts, sliced),
            "pv": chunked(vols, vtyp, cuts, sliced),
            "cv": chunked(list(reversed(vols)), vtyp, cuts, sliced),
        }
    )
    fast, slow = both_paths(lambda: Orders.from_frame(table, decimals), monkeypatch)
    same_columns(fast, slow)


def test_arrow_decimals_exact_and_located(monkeypatch: pytest.MonkeyPatch) -> None:
    vol = pa.array([Decimal("12.340"), Decimal("-0.010"), Decimal("5.125")], pa.decimal128(12, 3))
    table = pa.table(
        {
            "member_id": pa.array([1, 2, 3], pa.int64()),
            "date": pa.array([datetime.date(2026, 10, 1)] * 3, pa.date32()),
            "pv": vol,
            "cv": vol,
        }
    )
    with pytest.raises(InputError) as exc:
        Orders.from_frame(table, decimals=2)
    assert "orders row 3: pv '5.125' has more than 2 decimal places" in [str(p) for p in exc.value.problems]
    good = Orders.from_frame(table.slice(0, 2), decimals=2)
    assert good.pv.tolist() == [1234, -1] and good.member_ids.dtype == np.int64
    assert Orders.from_frame(table, decimals=4).pv.tolist() == [123400, -100, 51250]


def test_missing_dates_are_problems_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2]),
            "sponsor_id": pa.array([None, 1], pa.int64()),
            "enrolled_on": pa.array([datetime.date(2025, 1, 1), None], pa.date32()),
        }
    )
    fast, slow = both_paths(lambda: Members.from_frame(table), monkeypatch)
    assert fast == slow == ["members row 2: enrolled_on is missing"]


def test_parquet_strings_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    # Arrow does not check what a writer put in a string column: such bytes used to raise an ArrowException
    from compplan.io.parquet import read_members_parquet

    raw = pa.array([b"A", b"Jos\xe9", b"B", b"\xff"], type=pa.binary())
    ids = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())  # no check: as a careless writer would
    table = pa.table({"id": ids, "sponsor_id": pa.array([None, "A", "A", "A"]), "enrolled_on": ["2025-01-01"] * 4})
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputError) as err:
        read_members_parquet(path)
    assert err.value.codes == ["invalid_utf8", "invalid_utf8"]
    assert f"{path} row 2: 'id' is not valid UTF-8 (byte 0xe9 at 3)" in err.value.report()
    assert f"{path} row 4: 'id' is not valid UTF-8 (byte 0xff at 0)" in err.value.report()
