"""CSV reading and writing of period inputs and close outputs.

Readers parse in chunks into numpy columns (memory stays proportional to the columns, not to Python rows),
check every value exactly, and report every bad line as ``FILE:LINE: message`` in one :class:`InputError`.
Writers format integer units as exact decimal text, column by column.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from compplan.errors import InputError, ProblemCollector
from compplan.inputs import IdArray, Int64Array, Members, Orders, State, canonical_int

CHUNK_ROWS = 250_000
#: How many bad values of one column are listed before the rest are counted.
SHOWN = 20

MEMBER_COLUMNS = ("id", "sponsor_id", "enrolled_on")
ORDER_COLUMNS = ("member_id", "date", "pv", "cv")
STATE_COLUMNS = ("id", "highest_rank")

_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Table:
    """Column-wise chunked reader of one CSV file with a required header."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        self.path = path
        self.name = str(path)
        self.required = required
        self.optional = optional
        self.problems = ProblemCollector()
        self.meta: dict[str, str] = {}

    def chunks(self, handle: IO[str]) -> Iterator[tuple[dict[str, list[str]], Int64Array]]:
        """Yield ``({column: values}, line numbers)`` chunks (at least one); header problems raise at once."""
        source = _CommentSkipper(handle, self.meta)
        reader = csv.reader(source)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError([self._p("empty_file", "the file is empty; expected a header line", 1)]) from None
        self._check_header(header, reader.line_num + source.skipped)
        index = {h: i for i, h in enumerate(header)}
        width = len(header)
        wanted = [c for c in (*self.required, *self.optional) if c in index]
        columns: dict[str, list[str]] = {c: [] for c in wanted}
        lines: list[int] = []
        yielded = False
        for row in reader:
            line = reader.line_num + source.skipped
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) != width:
                self.problems.add("bad_row", f"expected {width} fields, found {len(row)}", f"{self.name}:{line}")
                continue
            for c in wanted:
                columns[c].append(row[index[c]].strip())
            lines.append(line)
            if len(lines) >= CHUNK_ROWS:
                yield columns, np.array(lines, dtype=np.int64)
                yielded = True
                columns = {c: [] for c in wanted}
                lines = []
        if lines or not yielded:
            yield columns, np.array(lines, dtype=np.int64)

    def _p(self, code: str, message: str, line: int) -> Any:
        from compplan.errors import Problem

        return Problem(code, message, f"{self.name}:{line}")

    def _check_header(self, header: list[str], line: int) -> None:
        problems = []
        allowed = (*self.required, *self.optional)
        seen: set[str] = set()
        for h in header:
            if h in seen:
                problems.append(self._p("duplicate_column", f"column {h!r} appears twice", line))
            seen.add(h)
            if h not in allowed:
                close = difflib.get_close_matches(h, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(allowed)}"
                problems.append(self._p("unknown_column", f"unknown column {h!r}{hint}", line))
        for c in self.required:
            if c not in seen:
                problems.append(self._p("missing_column", f"required column {c!r} is missing", line))
        if problems:
            raise InputError(problems, title=f"{self.name}: invalid header")

    # -- column parsers: each returns an array and records bad values with their line --
    def ids(self, values: list[str], lines: Int64Array, column: str, allow_empty: bool = False) -> IdArray:
        """Ids as int64 when all are canonical integers, else text; empty ids are errors unless allowed."""
        ints = [canonical_int(v) for v in values]
        bad = [i for i, v in enumerate(values) if not v and not allow_empty]
        self._bad(bad, lines, column, lambda i: "empty id")
        if all(x is not None or (allow_empty and not values[i]) for i, x in enumerate(ints)):
            return np.array([x if x is not None else 0 for x in ints], dtype=np.int64)
        return np.array(values, dtype=np.str_)

    def dates(self, values: list[str], lines: Int64Array, column: str) -> np.ndarray:
        """ISO dates; anything else is reported."""
        out = np.zeros(len(values), dtype="datetime64[D]")
        try:
            if not all(_DATE.match(v) for v in values):
                raise ValueError
            out = np.array(values, dtype="datetime64[D]")
        except ValueError:
            bad = []
            for i, v in enumerate(values):
                try:
                    if not _DATE.match(v):
                        raise ValueError
                    out[i] = np.datetime64(v, "D")
                except ValueError:
                    bad.append(i)
            self._bad(bad, lines, column, lambda i: f"{column} {values[i]!r} is not a date (YYYY-MM-DD)")
        return out

    def units(self, values: list[str], lines: Int64Array, column: str, decimals: int) -> Int64Array:
        """Exact decimal text to int64 units of ``10**-decimals``; too many decimals is an error."""
        out = np.zeros(len(values), dtype=np.int64)
        bad: list[int] = []
        reasons: dict[int, str] = {}
        pad = "0" * decimals
        for i, v in enumerate(values):
            if not _DECIMAL.match(v):
                bad.append(i)
                reasons[i] = f"{column} {v!r} is not a decimal number"
                continue
            sign = v[0] if v[0] in "+-" else ""
            whole, _, frac = v[len(sign) :].partition(".")
            if len(frac) > decimals:
                bad.append(i)
                reasons[i] = f"{column} {v} has more than {decimals} decimal places"
                continue
            value = int(sign + (whole or "0") + (frac + pad)[:decimals])
            if abs(value) >= 2**62:
                bad.append(i)
                reasons[i] = f"{column} {v} is out of range"
                continue
            out[i] = value
        self._bad(bad, lines, column, lambda i: reasons[i])
        return out

    def _bad(self, rows: list[int], lines: Int64Array, column: str, message: Callable[[int], str]) -> None:
        for i in rows[:SHOWN]:
            self.problems.add(f"bad_{column}", message(i), f"{self.name}:{int(lines[i])}")
        if len(rows) > SHOWN:
            self.problems.add(f"bad_{column}", f"... and {len(rows) - SHOWN} more bad {column} values in this block")


class _CommentSkipper:
    """Iterate a file's lines, turning leading ``# key=value; ...`` comment lines into metadata."""

    def __init__(self, handle: IO[str], meta: dict[str, str]) -> None:
        self.handle = handle
        self.meta = meta
        self.skipped = 0
        self.started = False

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            if not self.started and line.startswith("#"):
                self.skipped += 1
                for part in line[1:].split(";"):
                    key, sep, value = part.partition("=")
                    if sep:
                        self.meta[key.strip()] = value.strip()
                continue
            self.started = True
            yield line


def _concat_ids(parts: list[IdArray]) -> IdArray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    if all(p.dtype.kind == "i" for p in parts):
        return np.concatenate(parts)
    return np.concatenate([p.astype(np.str_) for p in parts])


def _open(path: Path) -> IO[str]:
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def read_members(path: str | Path) -> Members:
    """Read a members CSV (``id, sponsor_id, enrolled_on``); an empty ``sponsor_id`` marks a root."""
    table = _Table(Path(path), MEMBER_COLUMNS)
    ids, sponsors, roots, dates, lines = [], [], [], [], []
    with _open(table.path) as handle:
        try:
            for cols, ln in table.chunks(handle):
                ids.append(table.ids(cols["id"], ln, "id"))
                roots.append(np.array([not s for s in cols["sponsor_id"]], dtype=bool))
                sponsors.append(table.ids(cols["sponsor_id"], ln, "sponsor_id", allow_empty=True))
                dates.append(table.dates(cols["enrolled_on"], ln, "enrolled_on"))
                lines.append(ln)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    table.problems.raise_if_any(InputError, title=f"{path}: invalid members")
    id_col = _concat_ids(ids)
    sponsor_col = _concat_ids(sponsors)
    if id_col.dtype.kind != sponsor_col.dtype.kind:  # text ids with integer-looking sponsors, or the reverse
        id_col, sponsor_col = id_col.astype(np.str_), sponsor_col.astype(np.str_)
    return Members(id_col, sponsor_col, np.concatenate(roots), np.concatenate(dates), str(path), np.concatenate(lines))


def read_orders(path: str | Path, decimals: int = 2) -> Orders:
    """Read an orders CSV (``member_id, date, pv, cv``) with volumes at ``decimals`` places."""
    table = _Table(Path(path), ORDER_COLUMNS)
    mids, dates, pvs, cvs, lines = [], [], [], [], []
    with _open(table.path) as handle:
        try:
            for cols, ln in table.chunks(handle):
                mids.append(table.ids(cols["member_id"], ln, "member_id"))
                dates.append(table.dates(cols["date"], ln, "date"))
                pvs.append(table.units(cols["pv"], ln, "pv", decimals))
                cvs.append(table.units(cols["cv"], ln, "cv", decimals))
                lines.append(ln)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    table.problems.raise_if_any(InputError, title=f"{path}: invalid orders")
    return Orders(
        _concat_ids(mids),
        np.concatenate(dates),
        np.concatenate(pvs),
        np.concatenate(cvs),
        decimals,
        str(path),
        np.concatenate(lines),
    )


def read_state(path: str | Path) -> State:
    """Read a state CSV written by ``compplan close`` (``id, highest_rank`` plus a metadata comment line)."""
    table = _Table(Path(path), STATE_COLUMNS)
    ids, ranks, lines = [], [], []
    with _open(table.path) as handle:
        try:
            for cols, ln in table.chunks(handle):
                ids.append(table.ids(cols["id"], ln, "id"))
                ranks.append(np.array(cols["highest_rank"], dtype=np.str_))
                lines.append(ln)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    table.problems.raise_if_any(InputError, title=f"{path}: invalid state")
    meta = table.meta
    return State(
        _concat_ids(ids),
        np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.str_),
        str(path),
        np.concatenate(lines),
        meta.get("plan"),
        meta.get("currency"),
        meta.get("period"),
    )


# -- writing --------------------------------------------------------------------------------------------


def format_column(units: np.ndarray, decimals: int) -> np.ndarray:
    """Format an int64 array of units as exact decimal text (vectorised :func:`compplan.money.format_units`)."""
    units = np.asarray(units, dtype=np.int64)
    if decimals == 0:
        return units.astype(np.str_)
    scale = 10**decimals
    magnitude = np.abs(units)
    whole = (magnitude // scale).astype(np.str_)
    frac = np.char.zfill((magnitude % scale).astype(np.str_), decimals)
    sign = np.where(units < 0, "-", "")
    return np.char.add(np.char.add(sign, whole), np.char.add(".", frac))


def id_text(ids: np.ndarray) -> np.ndarray:
    """Ids as output text, quoted for CSV where needed."""
    text = ids.astype(np.str_)
    if text.dtype.kind == "U" and len(text):
        needs = np.char.find(text, ",") >= 0
        needs |= np.char.find(text, '"') >= 0
        needs |= np.char.find(text, "\n") >= 0
        if needs.any():
            quoted = np.char.add(np.char.add('"', np.char.replace(text, '"', '""')), '"')
            text = np.where(needs, quoted, text)
    return text


def write_columns(path: Path, header: list[str], columns: list[np.ndarray], preamble: str = "") -> None:
    """Write text columns as CSV rows, in blocks so memory stays bounded."""
    n = len(columns[0]) if columns else 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(preamble)
        out.write(",".join(header) + "\n")
        block = 200_000
        for lo in range(0, n, block):
            parts = [c[lo : lo + block] for c in columns]
            rows = parts[0]
            for p in parts[1:]:
                rows = np.char.add(np.char.add(rows, ","), p)
            out.write("\n".join(rows.tolist()))
            out.write("\n")
