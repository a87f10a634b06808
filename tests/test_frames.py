"""DataFrames, Arrow tables and Parquet files give exactly what the CSV reader gives."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders, close, load_plan
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
