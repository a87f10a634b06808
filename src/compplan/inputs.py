"""Period inputs as flat numpy columns: members, orders, period, state.

Ids are either ``int64`` (when every id is a canonical integer) or unicode text; the canonical order of
docs/semantics.md section 2 is then simply numpy's sort order of that array. Volumes are ``int64`` volume
units at ``decimals`` places. Each table remembers where it came from (``source`` and, for files, the line
of every row), so errors can point at the line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from compplan.errors import InputError, ProblemCollector, add_rows
from compplan.money import format_units, parse_decimal, to_units

IdArray = npt.NDArray[Any]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

#: Largest |pv| or |cv| of one order line, in volume units (docs/semantics.md section 1).
MAX_LINE_UNITS = 10**12
#: Largest sum of |pv| (and of |cv|) over a period's order lines, in volume units.
MAX_TOTAL_UNITS = 10**15
MAX_MEMBERS = 2**31 - 1

#: ``placement_positions`` value of an empty field (any other value was given, and is checked against 1..W).
NO_POSITION = -(2**63)
#: Text a placement position may be written as (checked against the matrix width later).
POSITION_TEXT = re.compile(r"^[+-]?[0-9]{1,9}$")
_CANONICAL_INT = re.compile(r"^(0|-?[1-9][0-9]{0,18})$")
#: The largest int64 (ids and numbers beyond it are refused, or kept as text ids where they can be).
INT64_MAX = np.iinfo(np.int64).max


def canonical_int(text: str) -> int | None:
    """Return the integer of a canonical integer id text (``"17"``, ``"-3"``), else ``None``."""
    if _CANONICAL_INT.match(text):
        value = int(text)
        if -INT64_MAX <= value <= INT64_MAX:
            return value
    return None


def id_array(values: Iterable[Any]) -> IdArray:
    """Turn ids (ints or text) into an ``int64`` array when all are canonical integers, else a text array."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    texts = [str(v) if not isinstance(v, str) else v for v in values]
    ints = [canonical_int(t) for t in texts]
    if all(i is not None for i in ints):
        return np.array(ints, dtype=np.int64)
    return np.array(texts, dtype=np.str_) if texts else np.array([], dtype="<U1")


def ids_like(values: Iterable[Any], like: IdArray) -> tuple[IdArray, BoolArray]:
    """Convert ids to the kind of ``like`` (int64 or text); also return which ones could not be converted.

    An id that is not a canonical integer can never match an integer-id table; it is marked invalid.
    """
    if like.dtype.kind == "i":
        if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
            arr = values.astype(np.int64, copy=False)
            return arr, np.ones(len(arr), dtype=bool)
        ints = [canonical_int(v if isinstance(v, str) else str(v)) for v in values]
        ok = np.array([i is not None for i in ints], dtype=bool)
        return np.array([i if i is not None else 0 for i in ints], dtype=np.int64), ok
    if isinstance(values, np.ndarray):
        texts = values.astype(np.str_, copy=False)  # text already: no copy
    else:
        texts = np.array([str(v) for v in values], dtype=np.str_)
    return texts, np.ones(len(texts), dtype=bool)


def code_points(texts: npt.NDArray[np.str_]) -> npt.NDArray[np.uint32]:
    """The code points of a text array, one row per text, zero-padded to the longest (a view when possible)."""
    width = max(texts.dtype.itemsize // 4, 1)
    return np.ascontiguousarray(texts, dtype=f"<U{width}").view(np.uint32).reshape(len(texts), width)


def exact_sum(values: Int64Array) -> int:
    """The sum of non-negative int64 ``values`` as a Python int (numpy's own sum when it cannot overflow)."""
    if not len(values) or int(values.max()) * len(values) < 2**62:
        return int(values.sum())
    return sum(values.tolist())


def format_id(value: Any) -> str:
    """An id as it appears in messages and output files."""
    return str(value.item() if isinstance(value, np.generic) else value)


def _report_rows(problems: ProblemCollector, code: str, rows: list[tuple[int, str]], source: str) -> None:
    """:func:`~compplan.errors.add_rows` for ``(row, message)`` pairs of a Python-API column."""
    messages = dict(rows)
    add_rows(problems, code, [r for r, _ in rows], messages.__getitem__, lambda r: f"{source} row {r + 1}")


def _id_problem(value: Any) -> str | None:
    """Why ``value`` is not an id (an integer within int64, or non-empty text), or ``None`` when it is one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "is missing"
    if isinstance(value, (bool, np.bool_)):
        return f"{bool(value)} is a boolean; ids must be integers or text"
    if isinstance(value, (int, np.integer)):
        if not -INT64_MAX <= int(value) <= INT64_MAX:
            return f"{value} is beyond the 64-bit integer range; pass such an id as text"
        return None
    if isinstance(value, str):
        return None
    return f"{value!r} is a {type(value).__name__}; ids must be integers or text"


def _checked_ids(
    values: Iterable[Any], name: str, problems: ProblemCollector, source: str, *, empty_ok: bool = False
) -> Any:
    """The ids of a Python-API column, each checked (see :func:`_id_problem`); bad ones become ``""``.

    An integer array within int64 comes back as an ``int64`` array, anything else as a list. With ``empty_ok``
    a ``None`` or ``""`` stays (a root's sponsor, an unplaced member).
    """
    one = name.removesuffix("s")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            problems.add("bad_column", f"{name} must be 1-D, got {values.ndim} dimensions {values.shape}", source)
            return []
        kind = values.dtype.kind
        if kind in "iu" and (values.dtype != np.uint64 or not len(values) or int(values.max()) <= INT64_MAX):
            return values.astype(np.int64, copy=False)
        if kind == "U" and empty_ok:
            return values.tolist()
    items = list(values)
    bad: list[tuple[int, str]] = []
    for i, v in enumerate(items):
        if empty_ok and (v is None or v == ""):
            continue
        why = _id_problem(v)
        if why is not None:
            bad.append((i, f"{one} {why}"))
            items[i] = ""
    _report_rows(problems, f"bad_{one}", bad, source)
    return items


def _dates(values: Iterable[Any], name: str, problems: ProblemCollector, source: str) -> DateArray:
    """Dates of a Python-API column: ``datetime64`` arrays, ``date`` / ``datetime`` objects or ISO text."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        if values.ndim != 1:
            problems.add("bad_column", f"{name} must be 1-D, got {values.ndim} dimensions {values.shape}", source)
            return np.zeros(0, dtype="datetime64[D]")
        out = values.astype("datetime64[D]")
        missing = np.nonzero(np.isnat(out))[0]
        _report_rows(problems, f"bad_{name}", [(int(r), f"{name} is missing") for r in missing], source)
        return out
    items = list(values)
    out = np.zeros(len(items), dtype="datetime64[D]")
    bad: list[tuple[int, str]] = []
    for i, v in enumerate(items):
        if v is None or (isinstance(v, (float, np.floating)) and v != v) or (isinstance(v, str) and not v.strip()):
            bad.append((i, f"{name} is missing"))
            continue
        if not isinstance(v, (str, dt.date, np.datetime64)):
            bad.append((i, f"{name} {v!r} is not a date (YYYY-MM-DD text, a date or a datetime64)"))
            continue
        try:
            v = _local_date(v)
            day: Any = np.datetime64(v.strip() if isinstance(v, str) else v, "D")
        except (ValueError, TypeError, OverflowError):
            bad.append((i, f"{name} {v!r} is not a valid date (YYYY-MM-DD)"))
            continue
        if np.isnat(day):
            bad.append((i, f"{name} is missing"))
        else:
            out[i] = day
    _report_rows(problems, f"bad_{name}", bad, source)
    return out


def _local_date(value: Any) -> Any:
    """A timestamp with a time zone as the date in its own zone; other values as given.

    A ``datetime`` (a pandas ``Timestamp`` too) or ISO text with an offset: the date as the DataFrame and Arrow
    readers take it (docs/semantics.md 2), where numpy would take the UTC date.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.date()
    if isinstance(value, str) and "T" in value:
        stamp = dt.datetime.fromisoformat(value.strip())
        return stamp.date() if stamp.tzinfo is not None else value
    return value


def _volumes(values: Iterable[Any], decimals: int, what: str, problems: ProblemCollector, source: str) -> Int64Array:
    """Volumes in points (ints, numpy integers, decimal text or ``Decimal``; never floats) as volume units."""
    scale = 10**decimals
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.ndim == 1:
        limit = MAX_PARSED_UNITS // scale
        if not (values.dtype == np.uint64 and len(values) and int(values.max()) > limit):
            arr = values.astype(np.int64, copy=False)
            if not ((arr > limit) | (arr < -limit)).any():
                scaled: Int64Array = arr * scale  # points, as for Python ints (a new array)
                return scaled
        values = values.tolist()  # the bad rows are named below
    elif isinstance(values, np.ndarray) and values.ndim != 1:
        problems.add("bad_column", f"{what} must be 1-D, got {values.ndim} dimensions {values.shape}", source)
        return np.zeros(0, dtype=np.int64)
    items = list(values)
    out = np.zeros(len(items), dtype=np.int64)
    bad: list[tuple[int, str]] = []
    for i, v in enumerate(items):
        try:
            if isinstance(v, (float, np.floating)):
                raise ValueError(f"{what} {v!r} is a float; pass text or Decimal so it stays exact")
            if isinstance(v, np.integer):
                v = int(v)
            units = to_units(parse_decimal(v if isinstance(v, (str, int, Decimal)) else str(v)), decimals, what)
            if abs(units) > MAX_PARSED_UNITS:
                raise ValueError(f"{what} {v} is beyond {format_units(MAX_PARSED_UNITS, decimals)} points")
            out[i] = units
        except ValueError as exc:
            bad.append((i, str(exc)))
    _report_rows(problems, f"bad_{what}", bad, source)
    return out


#: Largest |number| the Python-API constructors read, in units once scaled, as the CSV and DataFrame readers
#: bound any number (``kernels/csvscan.LIMIT``): far inside int64, so nothing wraps before the close checks
#: its own bounds (a volume line against :data:`MAX_LINE_UNITS`, with the other problems of the orders).
MAX_PARSED_UNITS = 10**17
#: Largest |value| of a state's streak or balance (minor units), as in a state file.
MAX_STATE_UNITS = MAX_PARSED_UNITS


def _table_column(
    value: Any, name: str, kinds: str, what: str, problems: ProblemCollector, source: str
) -> npt.NDArray[Any] | None:
    """One column of a table built directly: a 1-D numpy array of the right dtype kind, else a problem.

    Python sequences are turned into arrays first. Integer columns become ``int64`` (unsigned ids stay
    ``uint64``), dates ``datetime64[D]``; an empty column of any dtype becomes the expected one. O(1) checks
    except one pass over unsigned 64-bit columns (their range) and, for dates, one ``isnat`` pass.
    """
    if value is None:
        return None
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as exc:
        problems.add("bad_column", f"{name} is not a column of values: {exc}", source)
        return None
    if arr.ndim != 1:
        problems.add("bad_column", f"{name} must be a 1-D array, got {arr.ndim} dimensions {arr.shape}", source)
        return None
    kind = arr.dtype.kind
    if not len(arr) and kind not in kinds:
        empty: dict[str, str] = {"b": "bool", "M": "datetime64[D]", "U": "<U1"}
        arr = arr.astype(np.dtype(empty.get(kinds[0], "int64")))
        kind = arr.dtype.kind
    if kind not in kinds:
        hint = " (from_columns converts Python values)" if not isinstance(value, np.ndarray) else ""
        problems.add("bad_column", f"{name} must be an array of {what}, got dtype {arr.dtype}{hint}", source)
        return None
    if kind == "M":
        if arr.dtype != np.dtype("datetime64[D]"):
            arr = arr.astype("datetime64[D]")
        missing = np.isnat(arr)
        if missing.any():
            rows = np.nonzero(missing)[0]
            problems.add(
                "bad_column",
                f"{name} is missing (NaT) in {len(rows)} rows, first row {int(rows[0]) + 1}",
                source,
            )
    elif kind == "u" and "U" in kinds and arr.dtype == np.uint64:
        pass  # unsigned 64-bit ids are numbers beyond int64 too; the genealogy handles them
    elif kind == "u":
        if arr.dtype == np.uint64 and len(arr) and int(arr.max()) > INT64_MAX:
            problems.add("bad_column", f"{name} has values beyond the 64-bit integer range", source)
            return None
        arr = arr.astype(np.int64)
    elif kind == "i" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    return arr


def _check_table(table: Any, columns: dict[str, tuple[str, str, bool]], first: str) -> None:
    """Validate (and normalise in place) the columns of a frozen table; raise :class:`InputError`.

    ``columns`` maps a field name to (dtype kinds, what they are, optional). Every given column must have the
    length of ``first``.
    """
    problems = ProblemCollector()
    source = str(table.source)
    arrays_: dict[str, npt.NDArray[Any]] = {}
    for name, (kinds, what, optional) in columns.items():
        value = getattr(table, name)
        if value is None and not optional:
            problems.add("bad_column", f"{name} is required", source)
            continue
        arr = _table_column(value, name, kinds, what, problems, source)
        if arr is not None:
            arrays_[name] = arr
    if first in arrays_:
        n = len(arrays_[first])
        for name, arr in arrays_.items():
            if len(arr) != n:
                problems.add("column_length", f"{name} has {len(arr)} values but {first} has {n}: one per row", source)
    problems.raise_if_any(InputError, title=f"{source}: invalid {type(table).__name__.lower()} table")
    for name, arr in arrays_.items():
        if arr is not getattr(table, name):
            object.__setattr__(table, name, arr)


_IDS = ("iuU", "integers or text")
_DATES = ("M", "datetime64 dates")
_BOOLS = ("b", "booleans")
_INTS = ("iu", "integers")
_TEXTS = ("U", "text (numpy str)")


class _Located:
    """Tables that remember their source name and, for files, the line of every row."""

    source: str
    lines: Int64Array | None

    def where(self, row: int) -> str:
        """Location of row ``row`` for messages: ``members.csv:42`` or ``members row 41``."""
        if self.lines is not None:
            return f"{self.source}:{int(self.lines[row])}"
        return f"{self.source} row {row + 1}"


@dataclass(frozen=True, eq=False)
class Members(_Located):
    """The sponsor (enrolment) tree as columns; one row per member.

    Attributes
    ----------
    ids : ndarray
        Member ids, ``int64`` or text (see :func:`id_array`).
    sponsor_ids : ndarray
        Sponsor of each member, same kind as ``ids``; ignored where ``is_root``.
    is_root : ndarray of bool
        True for members without a sponsor.
    enrolled_on : ndarray of datetime64[D]
        Enrolment date.
    source : str
        Name used in messages (a file name).
    lines : ndarray of int64, optional
        The file line of each row, used in messages.
    placement_ids : ndarray, optional
        The member each one is placed under in the placement tree (binary and matrix plans); read where
        ``placed``.
    placed : ndarray of bool, optional
        True where ``placement_id`` is given.
    placement_sides : ndarray of str, optional
        ``"L"``, ``"R"`` or ``""`` per member (binary plans).
    placement_positions : ndarray of int64, optional
        ``1..W`` per member, :data:`NO_POSITION` when empty (matrix plans).
    """

    ids: IdArray
    sponsor_ids: IdArray
    is_root: BoolArray
    enrolled_on: DateArray
    source: str = "members"
    lines: Int64Array | None = None
    placement_ids: IdArray | None = None
    placed: BoolArray | None = None
    placement_sides: npt.NDArray[np.str_] | None = None
    placement_positions: Int64Array | None = None

    def __post_init__(self) -> None:
        _check_table(
            self,
            {
                "ids": (*_IDS, False),
                "sponsor_ids": (*_IDS, False),
                "is_root": (*_BOOLS, False),
                "enrolled_on": (*_DATES, False),
                "lines": (*_INTS, True),
                "placement_ids": (*_IDS, True),
                "placed": (*_BOOLS, True),
                "placement_sides": (*_TEXTS, True),
                "placement_positions": (*_INTS, True),
            },
            "ids",
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_placement(self) -> bool:
        """Whether the table has placement columns at all."""
        return self.placed is not None

    @classmethod
    def from_columns(
        cls,
        ids: Iterable[Any],
        sponsor_ids: Iterable[Any],
        enrolled_on: Iterable[Any],
        source: str = "members",
        *,
        placement_ids: Iterable[Any] | None = None,
        placement_sides: Iterable[str | None] | None = None,
        placement_positions: Iterable[int | str | None] | None = None,
    ) -> Members:
        """Build from Python sequences; a sponsor of ``None`` or ``""`` marks a root.

        Placement columns (binary and matrix plans) are optional; ``None`` or ``""`` is an empty value.
        """
        problems = ProblemCollector()
        checked = _checked_ids(ids, "ids", problems, source)
        sponsors = list(_checked_ids(sponsor_ids, "sponsor_ids", problems, source, empty_ok=True))
        dates = _dates(enrolled_on, "enrolled_on", problems, source)
        if "bad_column" not in [p.code for p in problems.problems] and not (
            len(checked) == len(sponsors) == len(dates)
        ):
            problems.add("column_length", "ids, sponsor_ids and enrolled_on must have the same length", source)
        problems.raise_if_any(InputError, title=f"{source}: invalid members")
        ids_arr = id_array(checked)
        is_root = np.array([s is None or (isinstance(s, str) and s == "") for s in sponsors], dtype=bool)
        filled = [ids_arr[0] if r and len(ids_arr) else s for s, r in zip(sponsors, is_root, strict=True)]
        sponsor_arr, ok = ids_like(filled, ids_arr)
        for row in np.nonzero(~ok & ~is_root)[0]:
            problems.add(
                "unknown_sponsor",
                f"member {format_id(ids_arr[row])}: unknown sponsor {sponsors[row]!r}",
                f"{source} row {row + 1}",
            )
        placement = _placement_columns(ids_arr, placement_ids, placement_sides, placement_positions, problems, source)
        problems.raise_if_any(InputError, title=f"{source}: invalid members")
        parents, placed, sides, positions = placement
        return cls(
            ids_arr,
            sponsor_arr,
            is_root,
            dates,
            source,
            placement_ids=parents,
            placed=placed,
            placement_sides=sides,
            placement_positions=positions,
        )

    @classmethod
    def from_frame(cls, frame: Any, source: str = "members") -> Members:
        """Build from a pandas / polars DataFrame or pyarrow Table with ``id, sponsor_id, enrolled_on``."""
        from compplan.io.columns import members_from_frame

        return members_from_frame(frame, source)


def _placement_columns(
    ids: IdArray,
    placement_ids: Iterable[Any] | None,
    sides: Iterable[str | None] | None,
    positions: Iterable[int | str | None] | None,
    problems: ProblemCollector,
    source: str,
) -> tuple[IdArray | None, BoolArray | None, npt.NDArray[np.str_] | None, Int64Array | None]:
    """Placement columns from Python sequences (``None`` / ``""`` = empty)."""
    n = len(ids)
    if placement_ids is None and sides is None and positions is None:
        return None, None, None, None
    raw = (
        list(_checked_ids(placement_ids, "placement_ids", problems, source, empty_ok=True))
        if placement_ids is not None
        else [None] * n
    )
    placed = np.array([p is not None and p != "" for p in raw], dtype=bool)
    filled = [p if ok else (ids[0] if n else 0) for p, ok in zip(raw, placed, strict=False)]
    parents, ok = ids_like(filled, ids) if n else (ids, np.zeros(0, dtype=bool))
    if ids.dtype.kind == "i" and not ok[placed].all():  # text parents under integer ids: keep them as text
        parents = np.array([str(p) for p in filled], dtype=np.str_)
    side_list = ["" if x is None else str(x).strip() for x in sides] if sides is not None else None
    side_arr = np.array(side_list, dtype=np.str_) if side_list else None
    if side_list is not None and not side_list:
        side_arr = np.zeros(0, dtype="<U1")
    pos_arr = None
    if positions is not None:
        values = list(positions)
        pos_arr = np.full(len(values), NO_POSITION, dtype=np.int64)
        for i, x in enumerate(values):
            if x is None or x == "":
                continue
            text = str(x).strip() if isinstance(x, (int, np.integer, str)) and not isinstance(x, bool) else None
            if text is None or not POSITION_TEXT.match(text):
                problems.add(
                    "bad_placement_position", f"placement_position {x!r} is not an integer", f"{source} row {i + 1}"
                )
            else:
                pos_arr[i] = int(text)
    lengths = (
        {len(raw)}
        | ({len(side_arr)} if side_arr is not None else set())
        | ({len(pos_arr)} if pos_arr is not None else set())
    )
    if lengths != {n}:
        problems.add("column_length", "placement columns must have one value per member", source)
    return parents, placed, side_arr, pos_arr


@dataclass(frozen=True, eq=False)
class Orders(_Located):
    """Order lines of the period as columns; negative lines are returns.

    Attributes
    ----------
    member_ids : ndarray
        The ordering member's id (int or text).
    dates : ndarray of datetime64[D]
        Order date.
    pv, cv : ndarray of int64
        Volumes in units of ``10**-decimals`` points.
    decimals : int
        Decimal places of ``pv`` and ``cv``.
    """

    member_ids: IdArray
    dates: DateArray
    pv: Int64Array
    cv: Int64Array
    decimals: int = 2
    source: str = "orders"
    lines: Int64Array | None = None

    def __post_init__(self) -> None:
        _check_table(
            self,
            {
                "member_ids": (*_IDS, False),
                "dates": (*_DATES, False),
                "pv": (*_INTS, False),
                "cv": (*_INTS, False),
                "lines": (*_INTS, True),
            },
            "member_ids",
        )

    def __len__(self) -> int:
        return len(self.member_ids)

    @classmethod
    def from_columns(
        cls,
        member_ids: Iterable[Any],
        dates: Iterable[Any],
        pv: Iterable[Any],
        cv: Iterable[Any],
        decimals: int = 2,
        source: str = "orders",
    ) -> Orders:
        """Build from Python sequences or numpy arrays.

        Volumes are points: decimal text, ``Decimal``, Python ints or numpy integer arrays (``300`` is 300 points
        whatever its type, stored as ``300 * 10**decimals`` units); floats are refused, and so is a value beyond
        :data:`MAX_PARSED_UNITS` units (the close then bounds each line by :data:`MAX_LINE_UNITS`). Tables
        already in volume units go straight to ``Orders(...)``.
        """
        problems = ProblemCollector()
        mids = _checked_ids(member_ids, "member_ids", problems, source)
        if isinstance(mids, np.ndarray):
            ids_arr = mids
        elif all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in mids):
            ids_arr = np.array(mids, dtype=np.int64)
        else:
            ids_arr = np.array([str(m) for m in mids], dtype=np.str_) if mids else np.array([], dtype="<U1")
        pv_arr = _volumes(pv, decimals, "pv", problems, source)
        cv_arr = _volumes(cv, decimals, "cv", problems, source)
        date_arr = _dates(dates, "date", problems, source)
        if "bad_column" not in [p.code for p in problems.problems] and not (
            len(ids_arr) == len(date_arr) == len(pv_arr) == len(cv_arr)
        ):
            problems.add("column_length", "member_ids, dates, pv and cv must have the same length", source)
        problems.raise_if_any(InputError, title=f"{source}: invalid orders")
        return cls(ids_arr, date_arr, pv_arr, cv_arr, decimals, source)

    @classmethod
    def from_frame(cls, frame: Any, decimals: int = 2, source: str = "orders") -> Orders:
        """Build from a pandas / polars DataFrame or pyarrow Table (see :mod:`compplan.io.columns`)."""
        from compplan.io.columns import orders_from_frame

        return orders_from_frame(frame, decimals, source)

    @classmethod
    def empty(cls, decimals: int = 2) -> Orders:
        """No orders at all."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, np.zeros(0, dtype="datetime64[D]"), z, z, decimals)


@dataclass(frozen=True)
class Period:
    """A closed date range ``[start, end]`` (both inclusive) and its label."""

    start: dt.date
    end: dt.date
    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM`` (a calendar month) or ``YYYY-MM-DD..YYYY-MM-DD``."""
        text = text.strip()
        try:
            if ".." in text:
                a, b = text.split("..", 1)
                start, end = dt.date.fromisoformat(a.strip()), dt.date.fromisoformat(b.strip())
            else:
                m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)  # ASCII digits (\d matches any script)
                if not m:
                    raise ValueError
                year, month = int(m.group(1)), int(m.group(2))
                start = dt.date(year, month, 1)
                end = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
        except ValueError:
            raise InputError(f"period {text!r}: expected YYYY-MM or YYYY-MM-DD..YYYY-MM-DD") from None
        if end < start:
            raise InputError(f"period {text!r}: the end is before the start")
        return cls(start, end, text)


@dataclass(frozen=True, eq=False)
class State(_Located):
    """What one close carries into the next (docs/semantics.md 3.8).

    Attributes
    ----------
    ids : ndarray
        Member ids.
    highest_rank : ndarray of str
        Highest (recognition) rank name of each member.
    streak : int64 array
        Consecutive active periods up to the state's period.
    balance : int64 array
        Carried money in minor units of the plan currency (negative = a debt).
    plan_name, currency, period, end : optional
        Which close wrote the state; checked against the next close when present.
    carry_left, carry_right : int64 arrays, optional
        Binary carry per leg in volume units (plans with a ``binary`` bonus); 0 where absent.
    idle : int64 array, optional
        Consecutive inactive periods up to the state's period (plans with a ``binary`` bonus).
    """

    ids: IdArray
    highest_rank: npt.NDArray[np.str_]
    streak: Int64Array
    balance: Int64Array
    source: str = "state"
    lines: Int64Array | None = None
    plan_name: str | None = None
    currency: str | None = None
    period: str | None = None
    end: dt.date | None = None
    carry_left: Int64Array | None = None
    carry_right: Int64Array | None = None
    idle: Int64Array | None = None

    def __post_init__(self) -> None:
        _check_table(
            self,
            {
                "ids": (*_IDS, False),
                "highest_rank": (*_TEXTS, False),
                "streak": (*_INTS, False),
                "balance": (*_INTS, False),
                "lines": (*_INTS, True),
                "carry_left": (*_INTS, True),
                "carry_right": (*_INTS, True),
                "idle": (*_INTS, True),
            },
            "ids",
        )

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_mapping(
        cls,
        highest: Mapping[Any, str],
        streak: Mapping[Any, int] | None = None,
        balance: Mapping[Any, int | Decimal | str] | None = None,
        source: str = "state",
        *,
        carry_left: Mapping[Any, int] | None = None,
        carry_right: Mapping[Any, int] | None = None,
        idle: Mapping[Any, int] | None = None,
        minor_units: int | None = None,
    ) -> State:
        """Build from ``{member_id: rank_name}``.

        Optional: streaks (integers >= 0), balances, binary carry in volume units (integers), idle periods.

        A balance given as an integer is in minor units of the plan currency (``1250`` is 12.50 when the plan
        has 2 minor units), as :attr:`balance` stores it. A ``Decimal`` or decimal text is a currency amount
        (``"12.50"``), converted exactly with ``minor_units`` (the plan's; required for such values, and more
        decimals than it are refused). Floats are refused, and so is a balance beyond
        :data:`MAX_STATE_UNITS` minor units, as in a state file.
        """
        problems = ProblemCollector()
        keys = list(highest)
        checked = _checked_ids(keys, "ids", problems, source)
        ranks = [highest[k] for k in keys]
        _report_rows(
            problems,
            "bad_highest_rank",
            [(i, f"highest rank {r!r} is not a rank name") for i, r in enumerate(ranks) if not isinstance(r, str)],
            source,
        )
        known = set(keys)

        def column(values: Mapping[Any, Any] | None, name: str, lowest: int, money: bool = False) -> Int64Array:
            values = values or {}
            for k in values:
                if k not in known:
                    problems.add("unknown_member", f"{name} given for {k!r}, which has no highest rank", source)
            out = np.zeros(len(keys), dtype=np.int64)
            bad: list[tuple[int, str]] = []
            for i, k in enumerate(keys):
                v = values.get(k, 0)
                if isinstance(v, np.integer):
                    v = int(v)
                if isinstance(v, int) and not isinstance(v, bool):
                    units = v
                elif money and isinstance(v, (Decimal, str)) and minor_units is not None:
                    try:
                        units = to_units(parse_decimal(v), minor_units, name)
                    except ValueError as exc:
                        bad.append((i, str(exc)))
                        continue
                elif money and isinstance(v, (Decimal, str)):
                    bad.append(
                        (
                            i,
                            f"{name} {v!r} is a currency amount: pass minor_units= (the plan's) to convert it "
                            "exactly, or give an integer in minor units",
                        )
                    )
                    continue
                else:
                    kind = "an integer in minor units or a Decimal" if money else "an integer"
                    bad.append((i, f"{name} {v!r} is a {type(v).__name__}; it must be {kind}"))
                    continue
                if not lowest <= units <= MAX_STATE_UNITS:
                    bad.append((i, f"{name} {v!r} is not in {lowest}..{MAX_STATE_UNITS}"))
                    continue
                out[i] = units
            _report_rows(problems, f"bad_{name}", bad, source)
            return out

        binary = carry_left is not None or carry_right is not None or idle is not None
        streaks = column(streak, "streak", 0)
        balances = column(balance, "balance", -MAX_STATE_UNITS, money=True)
        carry = (  # their ranges are checked against the plan by the close; here only the type and int64
            {name: column(values, name, -MAX_STATE_UNITS) for name, values in
             (("carry_left", carry_left), ("carry_right", carry_right), ("idle", idle))}
            if binary
            else {}
        )  # fmt: skip
        problems.raise_if_any(InputError, title=f"{source}: invalid state")
        return cls(
            id_array(checked),
            np.array(ranks, dtype=np.str_) if ranks else np.zeros(0, dtype="<U1"),
            streaks,
            balances,
            source,
            carry_left=carry.get("carry_left"),
            carry_right=carry.get("carry_right"),
            idle=carry.get("idle"),
        )


@dataclass(frozen=True, eq=False)
class Events(_Located):
    """Events of the period for ``action`` bonuses: who, what kind, when."""

    member_ids: IdArray
    kinds: npt.NDArray[np.str_]
    dates: DateArray
    source: str = "events"
    lines: Int64Array | None = None

    def __post_init__(self) -> None:
        _check_table(
            self,
            {
                "member_ids": (*_IDS, False),
                "kinds": (*_TEXTS, False),
                "dates": (*_DATES, False),
                "lines": (*_INTS, True),
            },
            "member_ids",
        )

    def __len__(self) -> int:
        return len(self.member_ids)

    @classmethod
    def from_columns(
        cls, member_ids: Iterable[Any], kinds: Iterable[str], dates: Iterable[Any], source: str = "events"
    ) -> Events:
        """Build from Python sequences."""
        problems = ProblemCollector()
        checked = _checked_ids(member_ids, "member_ids", problems, source)
        kind_list = list(kinds)
        bad = [(i, f"kind {k!r} is not text") for i, k in enumerate(kind_list) if not isinstance(k, str) or not k]
        _report_rows(problems, "bad_kind", bad, source)
        date_arr = _dates(dates, "date", problems, source)
        if not (len(checked) == len(kind_list) == len(date_arr)):
            problems.add("column_length", "member_ids, kinds and dates must have the same length", source)
        problems.raise_if_any(InputError, title=f"{source}: invalid events")
        kinds_arr = np.array(kind_list, dtype=np.str_) if kind_list else np.zeros(0, dtype="<U1")
        return cls(id_array(checked), kinds_arr, date_arr, source)
