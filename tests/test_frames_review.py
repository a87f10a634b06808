"""Review of DataFrame / Arrow input conversion: integers never through floats, one date rule, odd dtypes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, Members, Orders

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

BIG = 2**53 + 1  # the first integer a binary float cannot hold
DAY = ["2025-01-01"]


def problems(build: object) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as exc:
        build()  # type: ignore[operator]
    return [(p.code, str(p)) for p in exc.value.problems]


def both(frame: object) -> list[object]:
    """The pandas frame itself and as an Arrow table (the Parquet path)."""
    return [frame, pa.Table.from_pandas(frame, preserve_index=False)]


def orders(**cols: object) -> object:
    base: dict[str, object] = {"member_id": [1, 2], "date": ["2026-10-01"] * 2, "pv": [1, 2], "cv": [3, 4]}
    base.update(cols)
    return pd.DataFrame(base)


# -- 1. float id columns: only whole numbers a float holds exactly ------------------------------------------


def test_float_sponsor_beyond_2_53_is_refused_not_rounded() -> None:
    m = pd.DataFrame({"id": [BIG, BIG + 1], "sponsor_id": [None, BIG], "enrolled_on": DAY * 2})
    assert m["sponsor_id"].dtype == np.float64  # pandas already rounded BIG to 2**53
    for frame in both(m):
        got = problems(lambda f=frame: Members.from_frame(f))
        assert [c for c, _ in got] == ["float_id"]
        assert got[0][1].startswith("members row 2: sponsor_id 9007199254740992 is a binary float")
        assert "'Int64'" in got[0][1]


def test_float_ids_below_2_53_still_read_as_before() -> None:
    m = pd.DataFrame({"id": [1, 2, 2**53 - 1], "sponsor_id": [None, 1, 2], "enrolled_on": DAY * 3})
    for frame in both(m):
        members = Members.from_frame(frame)
        assert members.ids.tolist() == [1, 2, 2**53 - 1]
        assert members.sponsor_ids.dtype == np.int64 and members.sponsor_ids[1:].tolist() == [1, 2]
        assert members.is_root.tolist() == [True, False, False]


def test_nullable_int64_keeps_big_ids_exact() -> None:
    m = pd.DataFrame({"id": [BIG, BIG + 1], "sponsor_id": pd.array([None, BIG], dtype="Int64"), "enrolled_on": DAY * 2})
    for frame in both(m):
        members = Members.from_frame(frame)
        assert members.sponsor_ids[1] == BIG and members.is_root.tolist() == [True, False]


def test_float_member_ids_and_placement_ids_follow_the_same_rule() -> None:
    o = orders(member_id=[float(2**53), np.nan])
    got = problems(lambda: Orders.from_frame(o))
    assert ("float_id", got[0][1]) == got[0] and got[0][1].startswith("orders row 1: member_id 9007199254740992")
    assert ("bad_value", "orders row 2: empty member_id") in got
    m = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "sponsor_id": [None, 1, 1],
            "enrolled_on": DAY * 3,
            "placement_id": [None, 1.5, float(2**60)],
            "placement_side": ["", "L", "R"],
        }
    )
    got = problems(lambda: Members.from_frame(m))
    assert ("bad_value", "members row 2: placement_id 1.5 is not an id") in got
    assert [c for c, _ in got] == ["bad_value", "float_id"]


def test_object_column_floats_follow_the_float_rule() -> None:
    m = pd.DataFrame(
        {"id": np.array([1, 2.0, 2.5, float(BIG)], dtype=object), "sponsor_id": [None] * 4, "enrolled_on": DAY * 4}
    )
    got = problems(lambda: Members.from_frame(m))
    assert got[0] == ("bad_value", "members row 3: id 2.5 is not an id")
    assert got[1][0] == "float_id" and got[1][1].startswith("members row 4: id 9007199254740992")
    ok = pd.DataFrame({"id": np.array([1, 2.0], dtype=object), "sponsor_id": [None, 1.0], "enrolled_on": DAY * 2})
    assert Members.from_frame(ok).ids.tolist() == [1, 2]


# -- 2. uint64: exact as int64 up to 2**63-1, beyond kept exact as text ids (as CSV does) -------------------


def test_uint64_ids_are_never_wrapped() -> None:
    small = pd.DataFrame(
        {"id": np.array([1, 2**63 - 1], np.uint64), "sponsor_id": np.array([0, 1], np.uint64), "enrolled_on": DAY * 2}
    )
    for frame in both(small):
        assert Members.from_frame(frame).ids.tolist() == [1, 2**63 - 1]
    huge = pd.DataFrame(
        {"id": np.array([1, 2**64 - 1], np.uint64), "sponsor_id": pd.array([None, 1], "UInt64"), "enrolled_on": DAY * 2}
    )
    for frame in both(huge):
        members = Members.from_frame(frame)
        assert members.ids.tolist() == ["1", "18446744073709551615"]  # text ids, exact, as the CSV reader has them
        assert members.sponsor_ids[1] == "1" and members.is_root.tolist() == [True, False]


def test_uint64_volumes_beyond_the_bound_are_refused() -> None:
    o = orders(pv=np.array([2**64 - 1, 5], np.uint64))
    for frame in both(o):
        got = problems(lambda f=frame: Orders.from_frame(f))
        assert got == [("bad_value", "orders row 1: pv 18446744073709551615 is out of range")]
    fine = orders(pv=np.array([7, 5], np.uint64))
    for frame in both(fine):
        assert Orders.from_frame(frame).pv.tolist() == [700, 500]


# -- 3. time-zone-aware timestamps: the local calendar date on every path -----------------------------------


def test_aware_timestamps_give_the_local_date_everywhere(tmp_path: Path) -> None:
    late = pd.Timestamp("2026-10-31 22:00", tz="America/New_York")  # 2026-11-01 02:00 UTC
    o = orders(date=[late, pd.Timestamp("2026-10-01 00:30", tz="America/New_York")])  # Arrow: one zone a column
    want = [datetime.date(2026, 10, 31), datetime.date(2026, 10, 1)]
    table = pa.Table.from_pandas(o, preserve_index=False)
    assert pa.types.is_timestamp(table.schema.field("date").type)
    pq.write_table(table, tmp_path / "o.parquet")
    texts = o.assign(date=[t.isoformat() for t in o["date"]])
    objects = o.assign(date=np.array([t.to_pydatetime() for t in o["date"]], dtype=object))
    for frame in (o, table, pq.read_table(tmp_path / "o.parquet"), texts, objects):
        assert Orders.from_frame(frame).dates.tolist() == want
    tokyo = orders(date=[late.tz_convert("Asia/Tokyo")] * 2)  # the same instant, 2026-11-01 11:00 in Tokyo
    for frame in both(tokyo):
        assert Orders.from_frame(frame).dates.tolist() == [datetime.date(2026, 11, 1)] * 2
    m = pd.DataFrame({"id": [1], "sponsor_id": [None], "enrolled_on": [late]})
    for frame in both(m):
        assert Members.from_frame(frame).enrolled_on.tolist() == [datetime.date(2026, 10, 31)]


def test_naive_timestamps_and_dates_unchanged() -> None:
    o = orders(date=pd.to_datetime(["2026-10-31 23:59", "2026-10-01 00:00"]))
    for frame in both(o):
        assert Orders.from_frame(frame).dates.tolist() == [datetime.date(2026, 10, 31), datetime.date(2026, 10, 1)]


# -- 4. missing values, empty frames, floats refused everywhere ---------------------------------------------


def test_nullable_int_volume_with_na_names_the_missing_row() -> None:
    o = orders(pv=pd.array([1, None], dtype="Int64"))
    for frame in both(o):
        assert problems(lambda f=frame: Orders.from_frame(f)) == [("bad_value", "orders row 2: pv is missing")]
    fine = orders(pv=pd.array([1, 2], dtype="Int64"))
    for frame in both(fine):
        assert Orders.from_frame(frame).pv.tolist() == [100, 200]


def test_empty_orders_frame_gives_empty_orders() -> None:
    o = pd.DataFrame({"member_id": [], "date": [], "pv": [], "cv": []})
    for frame in both(o):
        got = Orders.from_frame(frame)
        assert len(got) == 0 and got.pv.dtype == np.int64 and got.cv.tolist() == []


def test_float_volumes_refused_in_object_and_float32_columns() -> None:
    cases = [
        orders(pv=np.array([1.5, 2], dtype=object)),
        orders(pv=np.array([1.5, 2], dtype=np.float32)),
        orders(pv=[np.float32(2.0), Decimal("1.5")]),
    ]
    for o in cases:
        for frame in [o] if o["pv"].dtype == object else both(o):
            got = problems(lambda f=frame: Orders.from_frame(f))
            assert [c for c, _ in got] == ["float_volume"], got
            assert "column 'pv' holds binary floats (row" in got[0][1]
    nan_only = orders(pv=[np.nan, 2.5])
    got = problems(lambda: Orders.from_frame(nan_only))
    assert got[0] == ("bad_value", "orders row 1: pv is missing")
    assert got[1][0] == "float_volume" and "(row 2)" in got[1][1]


def test_decimal_and_integer_objects_still_read() -> None:
    o = orders(pv=np.array([Decimal("1.25"), 3], dtype=object), cv=["0.5", "7"])
    assert Orders.from_frame(o).pv.tolist() == [125, 300]
    assert Orders.from_frame(o).cv.tolist() == [50, 700]


# -- 5. odd dtypes: problems, never a raw exception nor a silent misread ------------------------------------


def test_categorical_and_dictionary_columns() -> None:
    m = pd.DataFrame(
        {
            "id": pd.Categorical([BIG, BIG + 1]),
            "sponsor_id": pd.Categorical([None, BIG]),
            "enrolled_on": pd.Categorical(DAY * 2),
        }
    )
    for frame in both(m):
        members = Members.from_frame(frame)
        assert members.ids.tolist() == [BIG, BIG + 1] and members.sponsor_ids[1] == BIG
        assert members.is_root.tolist() == [True, False]
    o = orders(pv=pd.Categorical(["1", None]))
    for frame in both(o):  # a null dictionary slot used to read as the first dictionary value
        assert problems(lambda f=frame: Orders.from_frame(f)) == [("bad_value", "orders row 2: pv '' is missing")]


def test_bool_and_datetime_id_columns_are_refused() -> None:
    m = pd.DataFrame({"id": [True, False], "sponsor_id": [None, True], "enrolled_on": DAY * 2})
    for frame in both(m):
        got = problems(lambda f=frame: Members.from_frame(f))
        assert ("bad_value", "column 'id' holds booleans, which are not ids") in got
        assert ("bad_value", "members row 2: sponsor_id True is not an id") in got
    stamps = pd.to_datetime(["2025-01-01", "2025-01-02"])
    m = pd.DataFrame({"id": stamps, "sponsor_id": [pd.NaT, stamps[0]], "enrolled_on": DAY * 2})
    for frame in both(m):
        got = problems(lambda f=frame: Members.from_frame(f))
        assert got == [
            ("bad_value", "column 'id' holds dates or timestamps, which are not ids"),
            ("bad_value", "column 'sponsor_id' holds dates or timestamps, which are not ids"),
        ]
    o = orders(member_id=np.array([datetime.date(2025, 1, 1), 2], dtype=object), pv=[True, False])
    got = problems(lambda: Orders.from_frame(o))
    assert ("bad_value", "orders row 1: member_id datetime.date(2025, 1, 1) is not an id") in got
    assert ("bad_value", "orders row 1: pv 'True' is not a decimal number") in got


def test_text_id_nat_is_an_id_and_plain_frames_unchanged() -> None:
    m = pd.DataFrame({"id": ["NaT", "B"], "sponsor_id": ["", "NaT"], "enrolled_on": DAY * 2})
    members = Members.from_frame(m)
    assert members.ids.tolist() == ["NaT", "B"] and members.is_root.tolist() == [True, False]
    o = orders(member_id=["A", "B"], pv=["1.5", "2"], cv=[1, 2])
    for frame in both(o):
        got = Orders.from_frame(frame)
        assert got.member_ids.tolist() == ["A", "B"] and got.pv.tolist() == [150, 200] and got.cv.tolist() == [100, 200]
