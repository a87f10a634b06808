"""Turn columns from other libraries (numpy, pandas, polars, pyarrow) into compplan's exact int64 columns.

Text is parsed with the same numba field parser as the CSV reader, so every source accepts exactly the same
values. Floats are refused for volumes: a binary float cannot carry an exact decimal.

Arrow columns (a pyarrow Table's columns, so Parquet files) take a fast path that reads the Arrow buffers
directly: integers and ``date32`` day numbers from their value buffers, ``string``/``large_string`` through their
offsets and data buffers into the numba parser, ``decimal128`` from the unscaled integers (never through a
float). It gives exactly what the general path gives; when it meets a value it does not accept (a bad,
missing or too precise value, a text id), it hands the column to the general path, which names every
problem with its row.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from compplan import arrays
from compplan.errors import InputError, ProblemCollector
from compplan.inputs import (
    INT64_MAX,
    NO_POSITION,
    POSITION_TEXT,
    BoolArray,
    IdArray,
    Int64Array,
    Members,
    Orders,
    canonical_int,
    id_array,
)
from compplan.kernels import csvscan as cs

#: Bad values of one column listed before the rest are counted.
SHOWN = 20

_BLANK = np.array([32, 9], dtype=np.uint8)
#: Binary floats below this magnitude are each the float of exactly one integer; from it on, neighbouring integers
#: share a float (2**53 + 1 is read as 2**53), so a float id there may not be the id that was written.
_EXACT_FLOAT = 2**53
#: Cell values that are never ids nor volumes (``bool`` before ``int``: it is one).
_NOT_A_VALUE = (bool, np.bool_, datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)


# -- the Arrow fast path: each returns None when the general path must take the column --------------------


def _arrow_chunks(column: Any) -> list[Any] | None:
    """The chunks of a pyarrow ``Array`` or ``ChunkedArray``; ``None`` for anything else."""
    if not type(column).__module__.startswith("pyarrow"):
        return None
    chunks = list(column.chunks) if hasattr(column, "chunks") else [column] if hasattr(column, "buffers") else None
    return None if chunks is None else [c for c in chunks if len(c)]  # an empty chunk may have no buffers


def _nulls(chunk: Any) -> BoolArray:
    if chunk.null_count == 0:
        return arrays.zeros(len(chunk), dtype=bool)
    return np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _filled(chunks: list[Any], dtype: Any, fill: Callable[[Any, np.ndarray], bool]) -> np.ndarray | None:
    """One array for all chunks: ``fill(chunk, out_slice)`` writes each chunk's values into its own slice.

    Every chunk is converted straight into the final array (no per-chunk arrays joined afterwards: at 30 million
    values each extra copy is a fresh 240 MB). ``None`` as soon as a ``fill`` says the chunk is not for the fast
    path.
    """
    out = arrays.empty(sum(len(c) for c in chunks), dtype=dtype)
    at = 0
    for chunk in chunks:
        if not fill(chunk, out[at : at + len(chunk)]):
            return None
        at += len(chunk)
    return out


def _fixed(chunk: Any, dtype: Any) -> np.ndarray:
    """The values buffer of a fixed-width chunk as numpy (no copy; null slots hold arbitrary values)."""
    return np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset : chunk.offset + len(chunk)]


def _text_spans(chunk: Any) -> tuple[np.ndarray, Int64Array] | None:
    """Data bytes and int64 offsets of a ``string`` / ``large_string`` chunk."""
    import pyarrow as pa

    if pa.types.is_string(chunk.type):
        width: Any = np.int32
    elif pa.types.is_large_string(chunk.type):
        width = np.int64
    else:
        return None
    _, offsets, data = chunk.buffers()
    offs = np.frombuffer(offsets, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return raw, offs


def _arrow_ids(chunks: list[Any]) -> tuple[Int64Array, BoolArray] | None:
    """Integer ids (or canonical integer text, no blanks around) and missing masks; else ``None``."""
    import pyarrow as pa

    missing = arrays.zeros(sum(len(c) for c in chunks), dtype=bool)
    at = 0

    def fill(chunk: Any, out: np.ndarray) -> bool:
        nonlocal at
        nulls = _nulls(chunk)
        if pa.types.is_integer(chunk.type):
            raw = _fixed(chunk, chunk.type.to_pandas_dtype())
            if raw.dtype == np.uint64 and (raw[~nulls] > INT64_MAX).any():
                return False  # beyond int64: the general path keeps them exact, as text
            out[:] = raw
        else:
            spans = _text_spans(chunk)
            if spans is None:
                return False
            data, offs = spans
            ids, errors = cs.parse_spans(data, offs, cs.KIND_ID, 0)
            full = (offs[1:] > offs[:-1]) & ~nulls
            if (errors[~nulls] != cs.OK).any() or np.isin(data[offs[:-1][full]], _BLANK).any():
                return False
            if np.isin(data[offs[1:][full] - 1], _BLANK).any():
                return False
            out[:] = ids
        if nulls.any():
            out[nulls] = 0
            missing[at : at + len(chunk)] = nulls
        at += len(chunk)
        return True

    ids = _filled(chunks, np.int64, fill)
    return None if ids is None else (ids, missing)


def _arrow_dates(chunks: list[Any]) -> np.ndarray | None:
    """Day numbers of ``date32`` or ISO-text chunks without a missing or bad value; else ``None``."""
    import pyarrow as pa

    def fill(chunk: Any, out: np.ndarray) -> bool:
        if chunk.null_count:
            return False
        if pa.types.is_date32(chunk.type):
            out[:] = _fixed(chunk, np.int32)
            return True
        spans = _text_spans(chunk)
        if spans is None:
            return False
        data, offs = spans
        starts, ends = offs[:-1], offs[1:].copy()
        long = np.flatnonzero(ends - starts > 10)
        cut = long[np.isin(data[starts[long] + 10], np.array([32, 84], dtype=np.uint8))]  # ' ' or 'T': a datetime
        ends[cut] = starts[cut] + 10
        values, errors = cs.parse_ranges(data, starts, ends, cs.KIND_DATE, 0)
        out[:] = values
        return not errors.any()

    days = _filled(chunks, np.int64, fill)
    return None if days is None else days.view("datetime64[D]")


def _arrow_units(chunks: list[Any], decimals: int) -> Int64Array | None:
    """Exact units of integer, ``decimal128`` or decimal-text chunks without a bad value; else ``None``."""
    import pyarrow as pa

    def fill(chunk: Any, out: np.ndarray) -> bool:
        if chunk.null_count:
            return False
        if pa.types.is_integer(chunk.type):
            raw = _fixed(chunk, chunk.type.to_pandas_dtype())
            bound = cs.LIMIT // 10**decimals
            if len(raw) and (raw.max() > bound or raw.min() < -bound):
                return False  # the general path names the values out of range
            np.multiply(raw, 10**decimals, out=out, dtype=np.int64, casting="unsafe")
            return True
        if pa.types.is_decimal128(chunk.type):
            words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[
                2 * chunk.offset : 2 * (chunk.offset + len(chunk))
            ]
            return int(cs.decimal128_units(words, decimals - chunk.type.scale, out)) == 0
        spans = _text_spans(chunk)
        if spans is None:
            return False
        values, errors = cs.parse_spans(*spans, cs.KIND_DECIMAL, decimals)
        out[:] = values
        return not errors.any()

    units: Int64Array | None = _filled(chunks, np.int64, fill)
    return units


def _spans(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``texts`` laid out as one buffer plus offsets (the Arrow string layout)."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = arrays.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, dtype=np.uint8)
    return data, offsets


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return format(value, "f") if isinstance(value, Decimal) else str(value)  # no exponent: Decimal("0E-7")


def _is_missing(value: Any) -> bool:
    """``None``, NaN, NaT or pandas' NA."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating, np.datetime64, np.timedelta64)):
        return bool(value != value)
    text = str(value)
    return text == "<NA>" or (text == "NaT" and not isinstance(value, str))


def _texts(values: Any) -> tuple[list[str], BoolArray]:
    """Values as text, and a mask of missing ones (``None``, NaN, NaT, pandas NA)."""
    items = list(values)
    missing = np.fromiter((_is_missing(v) for v in items), dtype=bool, count=len(items))
    return ["" if m else _text(v) for v, m in zip(items, missing, strict=True)], missing


def _report(
    problems: ProblemCollector,
    rows: np.ndarray,
    message: Callable[[int], str],
    where: Callable[[int], str],
    code: str = "bad_value",
) -> None:
    for r in rows[:SHOWN]:
        problems.add(code, message(int(r)), where(int(r)))
    if len(rows) > SHOWN:
        problems.add(code, f"... and {len(rows) - SHOWN} more bad values")


def to_numpy(column: Any) -> np.ndarray:
    """A numpy view or copy of a pandas/polars/pyarrow/sequence column."""
    if hasattr(column, "to_numpy"):
        try:
            return np.asarray(column.to_numpy(zero_copy_only=False))  # pyarrow
        except TypeError:
            return np.asarray(column.to_numpy())  # pandas, polars
    return np.asarray(list(column) if not isinstance(column, np.ndarray) else column)


def _plain(column: Any) -> tuple[np.ndarray, BoolArray | None]:
    """Numpy values of a column, with the mask of missing values when the values are integers.

    Integers stay integers: an integer column with gaps (pandas' nullable ``Int64``, a categorical, an Arrow or
    polars integer column with nulls) would otherwise come out as float64, which rounds integers beyond 2**53.
    Dictionary columns are decoded. A time-zone-aware timestamp becomes its wall-clock time in its own zone, so
    its date is the local calendar date (docs/semantics.md 2), whichever library holds it. Non-integer values
    come back with missing ones as ``None``, NaN or NaT and a ``None`` mask.
    """
    module = type(column).__module__
    if module.startswith("polars") and hasattr(column, "to_arrow"):
        return _plain(column.to_arrow())  # polars' to_numpy turns integers with nulls into floats
    if module.startswith("pyarrow") and hasattr(column, "type"):
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            column = pc.local_timestamp(column)
        if pa.types.is_integer(column.type) and column.null_count:
            mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            return np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False)), mask
        return np.asarray(column.to_numpy(zero_copy_only=False)), None
    if module.startswith("pandas") and hasattr(column, "dtype") and hasattr(column, "isna"):
        pd = importlib.import_module("pandas")  # imported only for a pandas column (pandas is optional)

        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            values, _ = _plain(pd.Series(dtype.categories))  # categories are never missing
            codes = np.asarray(column.cat.codes.to_numpy(), dtype=np.int64)
            absent = codes < 0
            if not len(values):
                return np.full(len(codes), None, dtype=object), None
            picked = values[np.where(absent, 0, codes)]
            if picked.dtype.kind in "iu":
                return picked, absent
            picked = picked.astype(object)
            picked[absent] = None
            return picked, None
        if isinstance(dtype, pd.DatetimeTZDtype):
            return np.asarray(column.dt.tz_localize(None).to_numpy()), None
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu":
            mask = np.asarray(column.isna().to_numpy(), dtype=bool)
            return np.asarray(column.to_numpy(dtype=dtype.numpy_dtype, na_value=0)), mask
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return np.asarray(column.to_numpy(dtype=object)), None
    return to_numpy(column), None


def _refuse_column(problems: ProblemCollector, name: str, arr: np.ndarray, what: str) -> bool:
    """A problem for a column of booleans, dates or durations where ids or numbers are expected."""
    kinds = {"b": "booleans", "M": "dates or timestamps", "m": "durations"}
    if arr.dtype.kind not in kinds or not len(arr):
        return False
    problems.add("bad_value", f"column {name!r} holds {kinds[arr.dtype.kind]}, which are not {what}")
    return True


def _float_ids(
    arr: np.ndarray, name: str, problems: ProblemCollector, where: Callable[[int], str]
) -> tuple[Int64Array, BoolArray]:
    """Whole binary floats below 2**53 as int64 ids; others are problems (pandas' gaps turn ints into floats)."""
    values = np.asarray(arr, dtype=np.float64)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        whole = values == np.floor(values)
        exact = whole & (np.abs(values) < _EXACT_FLOAT)
    shown = np.asarray(arr)
    _report(problems, np.flatnonzero(~missing & ~whole), lambda r: f"{name} {shown[r]} is not an id", where)
    _report(
        problems,
        np.flatnonzero(~missing & whole & ~exact),
        lambda r: (
            f"{name} {shown[r]:.0f} is a binary float at or beyond 2**53, so it may not be the id that was "
            "written (2**53 + 1 reads as 2**53); pass the column as integers, as text or, with gaps, as pandas' "
            "nullable 'Int64' dtype"
        ),
        where,
        "float_id",
    )
    return np.where(exact, values, 0).astype(np.int64), missing


def _object_ids(arr: np.ndarray, name: str, problems: ProblemCollector, where: Callable[[int], str]) -> np.ndarray:
    """Cells of a mixed (object) column: floats under the float rule, booleans and dates refused (placeholder 0)."""
    out = arr.copy()
    floats = []
    for r, v in enumerate(arr):
        if isinstance(v, _NOT_A_VALUE) and not _is_missing(v):
            problems.add("bad_value", f"{name} {v!r} is not an id", where(r))
            out[r] = 0
        elif isinstance(v, (float, np.floating)) and v == v:
            floats.append(r)
    if floats:
        rows = np.array(floats, dtype=np.int64)
        ints, _ = _float_ids(arr[rows].astype(np.float64), name, problems, lambda k: where(int(rows[k])))
        out[rows] = ints.tolist()
    return out


def ids_column(
    column: Any, name: str, problems: ProblemCollector, where: Callable[[int], str]
) -> tuple[IdArray, BoolArray]:
    """Ids (int64 when all are canonical integers, else text) and a mask of missing ids.

    Integer ids beyond int64 (a ``uint64`` column) are kept exact as text ids, as the CSV reader keeps them.
    """
    chunks = _arrow_chunks(column)
    fast = _arrow_ids(chunks) if chunks is not None else None
    if fast is not None:
        return fast
    arr, mask = _plain(column)
    if arr.dtype.kind in "iu":
        missing = mask if mask is not None else arrays.zeros(len(arr), dtype=bool)
        if arr.dtype.kind == "i" or not (arr[~missing] > INT64_MAX).any():
            return np.where(missing, 0, arr).astype(np.int64), missing
        arr = np.array([None if m else int(v) for v, m in zip(arr.tolist(), missing, strict=True)], dtype=object)
    if arr.dtype.kind == "f":
        return _float_ids(arr, name, problems, where)
    if _refuse_column(problems, name, arr, "ids"):
        return arrays.zeros(len(arr), dtype=np.int64), arrays.zeros(len(arr), dtype=bool)
    if arr.dtype == object:
        arr = _object_ids(arr, name, problems, where)
    texts, missing = _texts(arr)
    missing |= np.array([not t.strip() for t in texts], dtype=bool)  # a blank cell is an empty field, as in CSV
    texts = [t.strip() for t in texts]
    ints = [canonical_int(t) for t in texts]
    if all(i is not None or m for i, m in zip(ints, missing, strict=True)):
        return np.array([0 if i is None else i for i in ints], dtype=np.int64), missing
    return id_array(texts) if not missing.any() else np.array(texts, dtype=np.str_), missing


def dates_column(column: Any, name: str, problems: ProblemCollector, where: Callable[[int], str]) -> np.ndarray:
    """Dates as datetime64[D] from dates, datetimes or ISO text; a missing date is a problem.

    A timestamp gives the calendar date in its own time zone (a time-zone-aware one its local date, never the
    UTC date), as the first ten characters of its ISO text would.
    """
    chunks = _arrow_chunks(column)
    fast = _arrow_dates(chunks) if chunks is not None else None
    if fast is not None:
        return fast
    arr, _ = _plain(column)
    if arr.dtype.kind == "M":
        days = arr.astype("datetime64[D]")
        _report(problems, np.flatnonzero(np.isnat(days)), lambda r: f"{name} is missing", where)
        return days
    texts, _ = _texts(arr)
    data, offsets = _spans([t[:10] if len(t) > 10 and t[10] in " T" else t for t in texts])
    values, errors = cs.parse_spans(data, offsets, cs.KIND_DATE, 0)
    _report(problems, np.nonzero(errors)[0], lambda r: f"{name} {texts[r]!r} is not a date (YYYY-MM-DD)", where)
    dates: np.ndarray = values.astype("datetime64[D]")
    return dates


def _float_volume(problems: ProblemCollector, name: str, rows: np.ndarray) -> None:
    listed = ", ".join(str(int(r) + 1) for r in rows[:SHOWN]) + (", ..." if len(rows) > SHOWN else "")
    rows_text = f"row{'s' if len(rows) > 1 else ''} {listed}"
    problems.add(
        "float_volume",
        f"column {name!r} holds binary floats ({rows_text}), which cannot be exact; pass decimal text, "
        "Decimal objects or integers (e.g. df[col].astype(str) after rounding at the source)",
    )


def units_column(
    column: Any, name: str, decimals: int, problems: ProblemCollector, where: Callable[[int], str]
) -> Int64Array:
    """Exact int64 units of ``10**-decimals`` from integers, Decimals or decimal text; floats are refused."""
    chunks = _arrow_chunks(column)
    fast = _arrow_units(chunks, decimals) if chunks is not None else None
    if fast is not None:
        return fast
    arr, mask = _plain(column)
    if arr.dtype.kind in "iu":  # held to the bound of decimal text, so that scaling cannot wrap
        missing = mask if mask is not None else arrays.zeros(len(arr), dtype=bool)
        bound = cs.LIMIT // 10**decimals
        wide = ~missing & ((arr > bound) | (arr < -bound))
        _report(problems, np.flatnonzero(wide), lambda r: f"{name} {arr[r]} is out of range", where)
        _report(problems, np.flatnonzero(missing), lambda r: f"{name} is missing", where)
        scaled: Int64Array = np.where(wide | missing, 0, arr).astype(np.int64) * 10**decimals
        return scaled
    if arr.dtype.kind == "f":
        gaps = np.isnan(arr)
        _report(problems, np.flatnonzero(gaps), lambda r: f"{name} is missing", where)
        if not gaps.all():
            _float_volume(problems, name, np.flatnonzero(~gaps))
        return arrays.zeros(len(arr), dtype=np.int64)
    if arr.dtype == object:
        floats = np.fromiter(
            (isinstance(v, (float, np.floating)) and not _is_missing(v) for v in arr), dtype=bool, count=len(arr)
        )
        if floats.any():
            _float_volume(problems, name, np.flatnonzero(floats))
            arr = np.where(floats, "0", arr)
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


class _Columns:
    """The required columns of a frame, each fetched when it is converted and then let go.

    A frame with ``column_names`` (a pyarrow Table, a Parquet file read column by column) is checked by name,
    so a column that is read on access (see :mod:`compplan.io.parquet`) is only in memory while it is converted.
    """

    def __init__(self, frame: Any, names: tuple[str, ...], source: str, what: str) -> None:
        self.frame = frame
        problems = ProblemCollector()
        present = getattr(frame, "column_names", None)
        self.cols: dict[str, Any] = {}
        for name in names:
            if present is None:
                self.cols[name] = _column(frame, name, source, problems)
            elif name not in present:
                problems.add("missing_column", f"required column {name!r} is missing", source)
        problems.raise_if_any(InputError, title=f"{source}: invalid {what}")

    def __getitem__(self, name: str) -> Any:
        return self.cols.pop(name) if name in self.cols else self.frame[name]


def members_from_frame(frame: Any, source: str = "members") -> Members:
    """Members from a pandas / polars DataFrame or a pyarrow Table with ``id, sponsor_id, enrolled_on``."""
    cols = _Columns(frame, ("id", "sponsor_id", "enrolled_on"), source, "members")
    problems = ProblemCollector()

    def where(r: int) -> str:
        return f"{source} row {r + 1}"

    ids, missing = ids_column(cols["id"], "id", problems, where)
    _report(problems, np.nonzero(missing)[0], lambda r: "empty id", where)
    sponsors, is_root = ids_column(cols["sponsor_id"], "sponsor_id", problems, where)
    if isinstance(sponsors, np.ndarray) and sponsors.dtype.kind == "U":
        is_root |= sponsors == ""
    dates = dates_column(cols["enrolled_on"], "enrolled_on", problems, where)
    placement = _placement_columns(frame, problems, where)
    problems.raise_if_any(InputError, title=f"{source}: invalid members")
    if ids.dtype.kind != sponsors.dtype.kind:
        ids, sponsors = ids.astype(np.str_), np.where(is_root, "", sponsors.astype(np.str_))
    parents = placement.get("placement_ids")
    if parents is not None and parents.dtype.kind != ids.dtype.kind:  # the parents follow the ids' kind, never
        placement["placement_ids"] = np.where(placement["placed"], parents.astype(np.str_), "")  # the reverse
    return Members(ids, sponsors, is_root, dates, source, **placement)


def _has_column(frame: Any, name: str) -> bool:
    names = getattr(frame, "column_names", None)
    return name in list(names if names is not None else getattr(frame, "columns", ()))


def _placement_columns(frame: Any, problems: ProblemCollector, where: Callable[[int], str]) -> dict[str, Any]:
    """The optional placement columns of binary and matrix plans (docs/semantics.md 2), as Members fields."""
    out: dict[str, Any] = {}
    if _has_column(frame, "placement_id"):
        parents, missing = ids_column(frame["placement_id"], "placement_id", problems, where)
        placed = ~missing
        if parents.dtype.kind == "U":
            placed &= parents != ""
        out["placement_ids"], out["placed"] = parents, placed
    if _has_column(frame, "placement_side"):
        texts, _ = _texts(to_numpy(frame["placement_side"]))
        out["placement_sides"] = np.array([t.strip() for t in texts], dtype=np.str_)
    if _has_column(frame, "placement_position"):
        texts, _ = _texts(to_numpy(frame["placement_position"]))
        positions = arrays.full(len(texts), NO_POSITION, dtype=np.int64)
        for r, t in enumerate(texts):
            t = t.strip()
            if t.endswith(".0"):  # pandas turns an integer column with gaps into floats
                t = t[:-2]
            if not t:
                continue
            if not POSITION_TEXT.match(t):
                problems.add("bad_placement_position", f"placement_position {t!r} is not an integer", where(r))
            else:
                positions[r] = int(t)
        out["placement_positions"] = positions
    if out and "placed" not in out:
        n = len(next(iter(out.values())))
        out["placed"] = arrays.zeros(n, dtype=bool)
        out["placement_ids"] = arrays.zeros(n, dtype=np.int64)
    return out


def orders_from_frame(frame: Any, decimals: int = 2, source: str = "orders") -> Orders:
    """Orders from a DataFrame or Table with ``member_id, date, pv, cv`` (volumes as text, Decimal or int)."""
    cols = _Columns(frame, ("member_id", "date", "pv", "cv"), source, "orders")
    problems = ProblemCollector()

    def where(r: int) -> str:
        return f"{source} row {r + 1}"

    ids, missing = ids_column(cols["member_id"], "member_id", problems, where)
    _report(problems, np.nonzero(missing)[0], lambda r: "empty member_id", where)
    dates = dates_column(cols["date"], "date", problems, where)
    pv = units_column(cols["pv"], "pv", decimals, problems, where)
    cv = units_column(cols["cv"], "cv", decimals, problems, where)
    problems.raise_if_any(InputError, title=f"{source}: invalid orders")
    return Orders(ids, dates, pv, cv, decimals, source)
