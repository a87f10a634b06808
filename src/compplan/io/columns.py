"""Turn columns from other libraries (numpy, pandas, polars, pyarrow) into compplan's exact int64 columns.

Text is parsed with the same numba field parser as the CSV reader, so every source accepts exactly the same
values. Floats are refused for volumes: a binary float cannot carry an exact decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from compplan.errors import InputError, ProblemCollector
from compplan.inputs import BoolArray, IdArray, Int64Array, Members, Orders, canonical_int, id_array
from compplan.kernels import csvscan as cs

#: Bad values of one column listed before the rest are counted.
SHOWN = 20


def _spans(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``texts`` laid out as one buffer plus offsets (the Arrow string layout)."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, dtype=np.uint8)
    return data, offsets


def _texts(values: Any) -> tuple[list[str], BoolArray]:
    """Values as text, and a mask of missing ones (``None``, NaN, pandas NA)."""
    items = list(values)
    missing = np.array([v is None or (isinstance(v, float) and v != v) or str(v) == "<NA>" for v in items], dtype=bool)
    return ["" if m else (v if isinstance(v, str) else str(v)) for v, m in zip(items, missing, strict=True)], missing


def _report(
    problems: ProblemCollector, rows: np.ndarray, message: Callable[[int], str], where: Callable[[int], str]
) -> None:
    for r in rows[:SHOWN]:
        problems.add("bad_value", message(int(r)), where(int(r)))
    if len(rows) > SHOWN:
        problems.add("bad_value", f"... and {len(rows) - SHOWN} more bad values")


def to_numpy(column: Any) -> np.ndarray:
    """A numpy view or copy of a pandas/polars/pyarrow/sequence column."""
    if hasattr(column, "to_numpy"):
        try:
            return np.asarray(column.to_numpy(zero_copy_only=False))  # pyarrow
        except TypeError:
            return np.asarray(column.to_numpy())  # pandas, polars
    return np.asarray(list(column) if not isinstance(column, np.ndarray) else column)


def ids_column(
    column: Any, name: str, problems: ProblemCollector, where: Callable[[int], str]
) -> tuple[IdArray, BoolArray]:
    """Ids (int64 when all are canonical integers, else text) and a mask of missing ids."""
    arr = to_numpy(column)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64), np.zeros(len(arr), dtype=bool)
    texts, missing = _texts(arr)
    if arr.dtype.kind == "f":  # pandas turns an integer column with gaps into floats
        whole = np.array([m or float(t).is_integer() for t, m in zip(texts, missing, strict=True)], dtype=bool)
        _report(problems, np.nonzero(~whole)[0], lambda r: f"{name} {texts[r]} is not an id", where)
        texts = ["" if m else str(int(float(t))) for t, m in zip(texts, missing, strict=True)]
    ints = [canonical_int(t) for t in texts]
    if all(i is not None or m for i, m in zip(ints, missing, strict=True)):
        return np.array([0 if i is None else i for i in ints], dtype=np.int64), missing
    return id_array(texts) if not missing.any() else np.array(texts, dtype=np.str_), missing


def dates_column(column: Any, name: str, problems: ProblemCollector, where: Callable[[int], str]) -> np.ndarray:
    """Dates as datetime64[D] from dates, datetimes or ISO text."""
    arr = to_numpy(column)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]")
    texts, _ = _texts(arr)
    data, offsets = _spans([t[:10] if len(t) > 10 and t[10] in " T" else t for t in texts])
    values, errors = cs.parse_spans(data, offsets, cs.KIND_DATE, 0)
    _report(problems, np.nonzero(errors)[0], lambda r: f"{name} {texts[r]!r} is not a date (YYYY-MM-DD)", where)
    dates: np.ndarray = values.astype("datetime64[D]")
    return dates


def units_column(
    column: Any, name: str, decimals: int, problems: ProblemCollector, where: Callable[[int], str]
) -> Int64Array:
    """Exact int64 units of ``10**-decimals`` from integers, Decimals or decimal text; floats are refused."""
    arr = to_numpy(column)
    if arr.dtype.kind in "iu":
        scaled: Int64Array = arr.astype(np.int64) * 10**decimals
        return scaled
    if arr.dtype.kind == "f":
        problems.add(
            "float_volume",
            f"column {name!r} holds binary floats, which cannot be exact; pass decimal text, "
            "Decimal objects or integers (e.g. df[col].astype(str) after rounding at the source)",
        )
        return np.zeros(len(arr), dtype=np.int64)
    texts, _ = _texts(arr)
    data, offsets = _spans(texts)
    values, errors = cs.parse_spans(data, offsets, cs.KIND_DECIMAL, decimals)
    reasons = {
        cs.ERR_EMPTY: "is missing",
        cs.ERR_PRECISION: f"has more than {decimals} decimal places",
        cs.ERR_RANGE: "is out of range",
    }
    _report(
        problems,
        np.nonzero(errors)[0],
        lambda r: f"{name} {texts[r]!r} {reasons.get(int(errors[r]), 'is not a decimal number')}",
        where,
    )
    units: Int64Array = values
    return units


def _column(frame: Any, name: str, source: str, problems: ProblemCollector) -> Any:
    try:
        return frame[name]
    except (KeyError, IndexError, ValueError, TypeError):
        problems.add("missing_column", f"required column {name!r} is missing", source)
        return None


def members_from_frame(frame: Any, source: str = "members") -> Members:
    """Members from a pandas / polars DataFrame or a pyarrow Table with ``id, sponsor_id, enrolled_on``."""
    problems = ProblemCollector()
    cols = {c: _column(frame, c, source, problems) for c in ("id", "sponsor_id", "enrolled_on")}
    problems.raise_if_any(InputError, title=f"{source}: invalid members")

    def where(r: int) -> str:
        return f"{source} row {r + 1}"

    ids, missing = ids_column(cols["id"], "id", problems, where)
    _report(problems, np.nonzero(missing)[0], lambda r: "empty id", where)
    sponsors, is_root = ids_column(cols["sponsor_id"], "sponsor_id", problems, where)
    if isinstance(sponsors, np.ndarray) and sponsors.dtype.kind == "U":
        is_root |= sponsors == ""
    dates = dates_column(cols["enrolled_on"], "enrolled_on", problems, where)
    problems.raise_if_any(InputError, title=f"{source}: invalid members")
    if ids.dtype.kind != sponsors.dtype.kind:
        ids, sponsors = ids.astype(np.str_), np.where(is_root, "", sponsors.astype(np.str_))
    return Members(ids, sponsors, is_root, dates, source)


def orders_from_frame(frame: Any, decimals: int = 2, source: str = "orders") -> Orders:
    """Orders from a DataFrame or Table with ``member_id, date, pv, cv`` (volumes as text, Decimal or int)."""
    problems = ProblemCollector()
    cols = {c: _column(frame, c, source, problems) for c in ("member_id", "date", "pv", "cv")}
    problems.raise_if_any(InputError, title=f"{source}: invalid orders")

    def where(r: int) -> str:
        return f"{source} row {r + 1}"

    ids, missing = ids_column(cols["member_id"], "member_id", problems, where)
    _report(problems, np.nonzero(missing)[0], lambda r: "empty member_id", where)
    dates = dates_column(cols["date"], "date", problems, where)
    pv = units_column(cols["pv"], "pv", decimals, problems, where)
    cv = units_column(cols["cv"], "cv", decimals, problems, where)
    problems.raise_if_any(InputError, title=f"{source}: invalid orders")
    return Orders(ids, dates, pv, cv, decimals, source)
