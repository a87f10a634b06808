"""CSV reading and writing of period inputs and close outputs.

Readers parse in chunks into numpy columns (memory stays proportional to the columns, not to Python rows),
check every value exactly, and report every bad line as ``FILE:LINE: message`` in one :class:`InputError`.
Writers format integer units as exact decimal text, column by column.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from compplan import arrays, threads
from compplan.errors import InputError, Problem, ProblemCollector
from compplan.inputs import (
    NO_POSITION,
    BoolArray,
    Events,
    IdArray,
    Int64Array,
    Members,
    Orders,
    State,
    canonical_int,
    code_points,
)
from compplan.kernels import csvscan as cs
from compplan.kernels import csvwrite as cw
from compplan.money import to_units

#: Bytes parsed per block by the fast reader.
BLOCK_BYTES = 64 * 2**20
#: Fewest bytes of a block parsed by one thread.
PIECE_BYTES = 2**20
#: The first block's rows per byte times the file size, times this margin plus this slack, sizes the columns of
#: the fast reader (they grow by half when short).
ESTIMATE_MARGIN, SLACK_ROWS = 1.05, 1024
#: How many bad values of one column are listed before the rest are counted.
SHOWN = 20
#: The UTF-8 byte-order mark some programs (Excel) write first; skipped.
BOM = b"\xef\xbb\xbf"
#: The byte-order marks of UTF-16 (and UTF-32, which starts the same way).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

ID, ID_OR_EMPTY, DATE, DECIMAL, TEXT, INTEGER = "id", "id_or_empty", "date", "decimal", "text", "integer"
TEXT_OR_EMPTY, INTEGER_OR_EMPTY, VOLUME = "text_or_empty", "integer_or_empty", "volume"
#: Kinds whose fields may be empty.
MAY_BE_EMPTY = frozenset({ID_OR_EMPTY, TEXT_OR_EMPTY, INTEGER_OR_EMPTY})
MEMBER_COLUMNS = {"id": ID, "sponsor_id": ID_OR_EMPTY, "enrolled_on": DATE}
#: Optional members columns of binary and matrix plans (docs/semantics.md 2, "Placement").
PLACEMENT_COLUMNS = {
    "placement_id": ID_OR_EMPTY,
    "placement_side": TEXT_OR_EMPTY,
    "placement_position": INTEGER_OR_EMPTY,
}
ORDER_COLUMNS = {"member_id": ID, "date": DATE, "pv": DECIMAL, "cv": DECIMAL}
STATE_COLUMNS = {"id": ID, "highest_rank": TEXT, "streak": INTEGER, "balance": DECIMAL}
#: Optional state columns written for plans with a binary bonus.
CARRY_COLUMNS = {"carry_left": VOLUME, "carry_right": VOLUME, "idle": INTEGER}
EVENT_COLUMNS = {"member_id": ID, "kind": TEXT, "date": DATE}

_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KERNEL_KIND = {
    ID: cs.KIND_ID,
    ID_OR_EMPTY: cs.KIND_ID,
    DATE: cs.KIND_DATE,
    DECIMAL: cs.KIND_DECIMAL,
    TEXT: cs.KIND_SKIP,
    INTEGER: cs.KIND_DECIMAL,
    TEXT_OR_EMPTY: cs.KIND_SKIP,
    INTEGER_OR_EMPTY: cs.KIND_DECIMAL,
    VOLUME: cs.KIND_DECIMAL,
}


@dataclass
class RawTable:
    """Parsed columns of one CSV file: values by column name, empty-field masks, line numbers, metadata."""

    columns: dict[str, np.ndarray]
    empty: dict[str, BoolArray]
    lines: Int64Array
    meta: dict[str, str]


class _Columns:
    """The growing parse target of the fast reader: ``values[ncols, capacity]``, line numbers, empty masks."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows = 0
        self.values = np.zeros((width, 0), dtype=np.int64)
        self.lines = np.zeros(0, dtype=np.int64)
        self.masks: dict[int, BoolArray] = {}

    def room(self, more: int, file_bytes: int, block_bytes: int) -> tuple[np.ndarray, Int64Array]:
        """Make room for ``more`` rows; the first block sizes the arrays for the whole file (+5%)."""
        need = self.rows + more
        if need > self.values.shape[1]:
            guess = int(more * file_bytes / max(block_bytes, 1) * ESTIMATE_MARGIN) + SLACK_ROWS if self.rows == 0 else 0
            capacity = max(need, guess, int(self.values.shape[1] * 1.5))
            values = arrays.empty((self.width, capacity), dtype=np.int64)
            values[:, : self.rows] = self.values[:, : self.rows]
            lines = arrays.empty(capacity, dtype=np.int64)
            lines[: self.rows] = self.lines[: self.rows]
            for col, mask in self.masks.items():
                grown = arrays.zeros(capacity, dtype=bool)
                grown[: self.rows] = mask[: self.rows]
                self.masks[col] = grown
            self.values, self.lines = values, lines
        return self.values, self.lines

    def empty(self, col: int) -> BoolArray:
        """The empty-field mask of column ``col`` (kept only for columns that ask for it)."""
        if col not in self.masks:
            self.masks[col] = arrays.zeros(self.values.shape[1], dtype=bool)
        return self.masks[col]


class _Reader:
    """Read one CSV file with a required header into typed numpy columns, collecting located problems."""

    def __init__(
        self,
        path: Path,
        spec: dict[str, str],
        decimals: int = 2,
        optional: dict[str, str] | None = None,
        volume_decimals: int = 2,
    ) -> None:
        self.path = path
        self.name = str(path)
        self.required = list(spec)
        self.spec = {**spec, **(optional or {})}
        self.decimals = decimals
        self.volume_decimals = volume_decimals
        self.problems = ProblemCollector()
        self.meta: dict[str, str] = {}
        self.not_utf8 = 0  # lines found that are not valid UTF-8 (the first SHOWN are listed)
        self.header: list[str] = []

    def where(self, line: int) -> str:
        return f"{self.name}:{line}"

    def bad_utf8(self, line: int, raw: bytes, field: int | None = None) -> None:
        """Count physical line ``line`` (bytes ``raw``) as not valid UTF-8; list it if few are listed yet.

        ``field``: the index of the field that holds the bad byte, if known; else commas are counted.
        """
        self.not_utf8 += 1
        if self.not_utf8 <= SHOWN:
            self.problems.add("invalid_utf8", *_utf8_problem(raw, self.where(line), self.header, field))

    def check_header(self, header: list[str], line: int) -> None:
        """Raise on unknown, duplicated or missing columns (with a "did you mean" hint)."""
        problems = ProblemCollector()
        allowed = list(self.spec)
        seen: set[str] = set()
        for h in header:
            if h in seen:
                problems.add("duplicate_column", f"column {h!r} appears twice", self.where(line))
            seen.add(h)
            if h not in self.spec:
                close = difflib.get_close_matches(h, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(allowed)}"
                problems.add("unknown_column", f"unknown column {h!r}{hint}", self.where(line))
        for c in self.required:
            if c not in seen:
                problems.add("missing_column", f"required column {c!r} is missing", self.where(line))
        problems.raise_if_any(InputError, title=f"{self.name}: invalid header")

    def read(self) -> RawTable:
        """Parse the file (fast byte path unless it holds quotes), raising every problem at once."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror}") from None
        with handle:
            table = self._read_fast(handle)
        if table is None:  # quoted fields: the csv module handles the quoting rules
            self.problems = ProblemCollector()  # it reports again what the blocks read so far had
            self.not_utf8 = 0
            with _open(self.path) as text:
                table = self._read_slow(text)
        if self.not_utf8 > SHOWN:
            more = self.not_utf8 - SHOWN
            self.problems.add("invalid_utf8", f"... and {more} more lines that are not valid UTF-8")
        self.problems.raise_if_any(InputError, title=f"{self.name}: invalid rows")
        return table

    # -- the fast path: numba over raw bytes -------------------------------------------------------------
    def _preamble(self, handle: IO[bytes], step: int) -> tuple[list[str], int, bytes]:
        """Read comment lines and the header; return header, its line number, and the bytes after it.

        The file is read ``step`` bytes at a time (a small file: its size, not a whole block).
        """
        line_no = 0
        first = handle.read(step)
        if first.startswith(UTF16_BOMS):
            message = "the file is UTF-16 text; save it as UTF-8 (CSV UTF-8 in Excel)"
            raise InputError([Problem("utf16", message, self.name)])
        pos = len(BOM) if first.startswith(BOM) else 0  # a UTF-8 byte-order mark (Excel) is skipped
        while True:
            nl = first.find(b"\n", pos)
            if nl < 0:
                more = handle.read(step)
                if more:
                    first += more
                    continue
                nl = len(first)
            raw = first[pos:nl]
            line_no += 1
            pos = nl + 1
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                problem = Problem("invalid_utf8", *_utf8_problem(raw, self.where(line_no)))
                raise InputError([problem], title=f"{self.name}: invalid header") from None
            if "\x00" in text:  # "i\0d\0,\0..." : UTF-16 without a byte-order mark
                message = "the file holds NUL bytes: it looks like UTF-16 text; save it as UTF-8"
                raise InputError([Problem("utf16", message, self.where(line_no))])
            if text.startswith("#"):
                for part in text[1:].split(";"):
                    key, sep, value = part.partition("=")
                    if sep:
                        self.meta[key.strip()] = value.strip()
                continue
            if not text.strip():
                if pos >= len(first):
                    raise InputError(
                        [
                            Problem(
                                "empty_file", "the file is empty; expected a header line", self.where(max(line_no, 1))
                            )
                        ]
                    )
                continue
            header = next(csv.reader([text]))
            return [h.strip() for h in header], line_no, first[pos:]

    def _read_fast(self, handle: io.BufferedReader) -> RawTable | None:
        """Parse block by block straight into the final columns (one ``[ncols, rows]`` array, grown rarely)."""
        try:
            size = os.fstat(handle.fileno()).st_size
        except (OSError, AttributeError, ValueError):
            size = 0
        step = min(BLOCK_BYTES, size) if size > 0 else BLOCK_BYTES  # a small file gets a small buffer
        header, header_line, rest = self._preamble(handle, step)
        if b'"' in rest:
            return None
        self.check_header(header, header_line)
        self.header = header
        kinds = np.array([_KERNEL_KIND[self.spec[h]] for h in header], dtype=np.int64)
        decimals = np.array([self._places(h) for h in header], dtype=np.int64)
        table = _Columns(len(header))
        texts: dict[int, list[tuple[int, int, np.ndarray | None]]] = {c: [] for c in range(len(header))}
        line = header_line + 1
        data = bytearray(len(rest) + step)  # reused for every block: whole lines are parsed in place
        data[: len(rest)] = rest
        filled = len(rest)
        while True:
            if len(data) - filled < step:  # a line longer than a block: a bigger buffer
                data = data[:filled] + bytearray(filled + step)
            got = handle.readinto(memoryview(data)[filled : filled + step]) or 0
            if data.find(b'"', filled, filled + got) >= 0:
                return None
            total = filled + got
            cut = data.rfind(b"\n", 0, total) + 1 if got else total
            if cut == 0 and got:
                filled = total
                continue
            if cut:  # the parse keeps no view of the buffer
                line = self._parse_chunk(header, data, cut, kinds, decimals, line, table, size, texts)
            data[: total - cut] = data[cut:total]  # the unfinished last line moves to the front (same size)
            filled = total - cut
            if not got:
                break
        return self._assemble(header, table, texts)

    def _parse_chunk(
        self,
        header: list[str],
        data: bytearray,
        end: int,
        kinds: Int64Array,
        decimals: Int64Array,
        line: int,
        table: _Columns,
        size: int,
        texts: dict[int, list[tuple[int, int, np.ndarray | None]]],
    ) -> int:
        """Parse the whole lines ``data[:end]`` into the table; return the next physical line number.

        The block is parsed in pieces on every core: each piece starts after a line break, so its first line
        number and an upper bound of its rows (its line count) are known before parsing, and pieces are parsed at
        the same time, each at its bound's offset. The pieces' rows are then moved down to follow each other
        (past blank lines and rows with the wrong number of fields) and the block is checked as one, so problems
        are listed, and summarised, exactly as with one thread.
        """
        chunk = memoryview(data)[:end]
        buf = np.frombuffer(chunk, dtype=np.uint8)
        cuts = _line_pieces(data, end, threads.thread_count())
        scans = threads.run_parts(lambda c: cs.count_lines_top(buf[c[0] : c[1]]), cuts)
        counts = [int(lines) for lines, _ in scans]
        invalid = np.zeros(0, dtype=np.int64)  # offsets of the first byte on a line that is not valid UTF-8
        foreign = [c for c, (_, top) in zip(cuts, scans, strict=True) if top >= 128]
        if foreign:  # bytes beyond ASCII: checked as UTF-8 (a text with no error decodes just as strictly)
            invalid = np.concatenate(threads.run_parts(lambda c: cs.invalid_utf8(buf[c[0] : c[1]]) + c[0], foreign))
        values, lines = table.room(sum(counts), size, end)
        offsets = list(itertools.accumulate(counts, initial=0))
        parsed = threads.run_parts(
            lambda k: cs.parse_block_into(
                buf[cuts[k][0] : cuts[k][1]], kinds, decimals, line + offsets[k], values, lines, table.rows + offsets[k]
            ),
            range(len(cuts)),
        )
        rows = 0
        for k, (kept, *_) in enumerate(parsed):
            at, to = table.rows + offsets[k], table.rows + rows
            if at != to and kept:  # earlier pieces parsed fewer rows than their lines
                values[:, to : to + kept] = values[:, at : at + kept]
                lines[to : to + kept] = lines[at : at + kept]
            rows += kept
        errors = np.concatenate([p[1] for p in parsed], axis=1)
        fields = np.concatenate([p[2] for p in parsed])
        starts = np.concatenate([p[3] + a for p, (a, _) in zip(parsed, cuts, strict=True)])
        ends = np.concatenate([p[4] + a for p, (a, _) in zip(parsed, cuts, strict=True)])
        table.rows += self._check_block(header, chunk, table, rows, errors, fields, starts, ends, texts, invalid)
        return line + offsets[-1]

    def _check_block(
        self,
        header: list[str],
        chunk: memoryview,
        table: _Columns,
        rows: int,
        errors: np.ndarray,
        fields: Int64Array,
        starts: Int64Array,
        ends: Int64Array,
        texts: dict[int, list[tuple[int, int, np.ndarray | None]]],
        invalid: Int64Array,
    ) -> int:
        """Report the problems of one parsed block and collect its text columns; return the rows kept.

        ``invalid`` holds the offset in ``chunk`` of the first byte that is not valid UTF-8 of each line that has
        one: those lines are reported and dropped (a line with a byte beyond ASCII is never blank, so a row).
        """
        width = len(header)
        row0 = table.rows
        lines = table.lines[row0 : row0 + rows]
        wrong = np.nonzero(fields != width)[0]
        if len(wrong) or len(invalid):  # an error path: drop those rows so the rest lines up as in a good block
            decodes = fields == width
            for r in np.searchsorted(starts, invalid, side="right") - 1:
                self.bad_utf8(int(lines[r]), bytes(chunk[int(starts[r]) : int(ends[r])]))
                decodes[r] = False
            for r in wrong[:SHOWN]:
                self.problems.add(
                    "bad_row", f"expected {width} fields, found {int(fields[r])}", self.where(int(lines[r]))
                )
            if len(wrong) > SHOWN:
                self.problems.add("bad_row", f"... and {len(wrong) - SHOWN} more rows with the wrong number of fields")
            keep = np.nonzero(decodes)[0]
            table.values[:, row0 : row0 + len(keep)] = table.values[:, row0 + keep]
            table.lines[row0 : row0 + len(keep)] = table.lines[row0 + keep]
            rows, lines = len(keep), table.lines[row0 : row0 + len(keep)]
            errors, starts, ends = errors[:, keep], starts[keep], ends[keep]

        def field(r: int, col: int) -> str:
            text = bytes(chunk[int(starts[r]) : int(ends[r])]).decode("utf-8")  # the block's rows are UTF-8
            return text.split(",")[col].strip()

        flagged = np.asarray(errors.any(axis=1), dtype=bool) if rows else np.zeros(width, dtype=bool)
        for col, name in enumerate(header):
            kind = self.spec[name]
            err = errors[col]
            if kind in (ID_OR_EMPTY, INTEGER_OR_EMPTY):
                table.empty(col)[row0 : row0 + rows] = err == cs.ERR_EMPTY
            if kind in (TEXT, TEXT_OR_EMPTY) or (
                kind in (ID, ID_OR_EMPTY) and flagged[col] and (err == cs.ERR_TEXT).any()
            ):
                words = _text_fields(chunk, starts[:rows], ends[:rows], col)
                texts[col].append((row0, row0 + rows, words if rows else None))
                bad = np.nonzero(err == cs.ERR_EMPTY)[0] if kind not in MAY_BE_EMPTY else np.zeros(0, dtype=np.int64)
            else:
                texts[col].append((row0, row0 + rows, None))
                if not flagged[col]:
                    continue
                ok = (err == cs.OK) | (err == cs.ERR_EMPTY) if kind in MAY_BE_EMPTY else err == cs.OK
                bad = np.nonzero(~ok)[0]
            self._report(bad, lines, name, partial(self._message_at, name, err, field, col))
        return rows

    def _assemble(
        self, header: list[str], table: _Columns, texts: dict[int, list[tuple[int, int, np.ndarray | None]]]
    ) -> RawTable:
        n = table.rows
        columns: dict[str, np.ndarray] = {}
        empty: dict[str, BoolArray] = {}
        for col, name in enumerate(header):
            kind = self.spec[name]
            values = table.values[col, :n]
            parts = texts[col]
            if kind in (TEXT, TEXT_OR_EMPTY) or any(t is not None for _, _, t in parts):
                words = [t if t is not None else values[a:b].astype(np.str_) for a, b, t in parts if b > a]
                columns[name] = np.concatenate(words) if words else np.zeros(0, dtype="<U1")
            else:
                columns[name] = values.view("datetime64[D]") if kind == DATE else values
            if kind in (ID_OR_EMPTY, INTEGER_OR_EMPTY):
                empty[name] = table.empty(col)[:n]
            if kind in (TEXT, TEXT_OR_EMPTY):
                empty[name] = columns[name] == ""
        return RawTable(columns, empty, table.lines[:n], self.meta)

    def _places(self, name: str) -> int:
        """Decimal places of a numeric column: money/volume decimals, or 0 for integers."""
        kind = self.spec[name]
        return self.decimals if kind == DECIMAL else self.volume_decimals if kind == VOLUME else 0

    def _message_at(self, name: str, errors: np.ndarray, field: Callable[[int, int], str], col: int, row: int) -> str:
        return self._message(name, int(errors[row]), field(row, col))

    def _message(self, name: str, code: int, text: str) -> str:
        if code == cs.ERR_EMPTY:
            return f"empty {name}"
        if self.spec[name] == DATE:
            return f"{name} {text!r} is not a date (YYYY-MM-DD)"
        if code == cs.ERR_PRECISION:
            places = self._places(name)
            return f"{name} {text} has more than {places} decimal places"
        if code == cs.ERR_RANGE:
            return f"{name} {text} is out of range"
        return f"{name} {text!r} is not a decimal number"

    def _report(self, rows: np.ndarray, lines: Int64Array, column: str, message: Callable[[int], str]) -> None:
        for r in rows[:SHOWN]:
            self.problems.add(f"bad_{column}", message(int(r)), self.where(int(lines[r])))
        if len(rows) > SHOWN:
            self.problems.add(f"bad_{column}", f"... and {len(rows) - SHOWN} more bad {column} values")

    # -- the slow path: the csv module, for files with quoted fields ---------------------------------------
    def _read_slow(self, handle: IO[str]) -> RawTable:
        source = _CommentSkipper(handle, self.meta)
        reader = csv.reader(source)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError(
                [Problem("empty_file", "the file is empty; expected a header line", self.where(1))]
            ) from None
        self.check_header(header, reader.line_num + source.skipped)
        self.header = header
        width = len(header)
        texts: dict[str, list[str]] = {h: [] for h in header}
        lines: list[int] = []
        for row in reader:
            line = reader.line_num + source.skipped
            if source.bad:  # lines that are not valid UTF-8 (their bytes escaped as lone surrogates): dropped
                escaped = [i for i, v in enumerate(row) if _ESCAPED.search(v)]
                for k, (at, text) in enumerate(source.bad):
                    self.bad_utf8(at, text.encode("utf-8", "surrogateescape"), escaped[k] if k < len(escaped) else None)
                source.bad.clear()
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                self.problems.add("bad_row", f"expected {width} fields, found {len(row)}", self.where(line))
                continue
            for i, h in enumerate(header):
                texts[h].append(row[i].strip())
            lines.append(line)
        line_arr = np.array(lines, dtype=np.int64)
        columns: dict[str, np.ndarray] = {}
        empty: dict[str, BoolArray] = {}
        for h in header:
            values = texts[h]
            empty[h] = np.array([not v for v in values], dtype=bool)
            kind = self.spec[h]
            if kind in (TEXT, TEXT_OR_EMPTY):
                columns[h] = np.array(values, dtype=np.str_) if values else np.zeros(0, dtype="<U1")
            elif kind in (ID, ID_OR_EMPTY):
                columns[h] = self._ids(values, line_arr, h, allow_empty=kind == ID_OR_EMPTY)
            elif kind == DATE:
                columns[h] = self._dates(values, line_arr, h)
            else:
                columns[h] = self._units(values, line_arr, h)
        return RawTable(columns, empty, line_arr, self.meta)

    def _ids(self, values: list[str], lines: Int64Array, column: str, allow_empty: bool) -> IdArray:
        ints = [canonical_int(v) for v in values]
        bad = np.array([i for i, v in enumerate(values) if not v and not allow_empty], dtype=np.int64)
        self._report(bad, lines, column, lambda i: f"empty {column}")
        if all(x is not None or (allow_empty and not values[i]) for i, x in enumerate(ints)):
            return np.array([x if x is not None else 0 for x in ints], dtype=np.int64)
        return np.array(values, dtype=np.str_)

    def _dates(self, values: list[str], lines: Int64Array, column: str) -> np.ndarray:
        out = np.zeros(len(values), dtype="datetime64[D]")
        codes: dict[int, int] = {}
        for i, v in enumerate(values):
            try:
                if not _DATE.match(v):
                    raise ValueError
                out[i] = np.datetime64(v, "D")
            except ValueError:
                codes[i] = cs.ERR_EMPTY if not v else cs.ERR_DATE
        rows = np.array(sorted(codes), dtype=np.int64)
        self._report(rows, lines, column, lambda i: self._message(column, codes[i], values[i]))
        return out

    def _units(self, values: list[str], lines: Int64Array, column: str) -> Int64Array:
        out = arrays.zeros(len(values), dtype=np.int64)
        bad: list[int] = []
        codes: dict[int, int] = {}
        for i, v in enumerate(values):
            if not v and self.spec[column] in MAY_BE_EMPTY:
                continue
            try:
                if not _DECIMAL.match(v):
                    raise ValueError
                out[i] = to_units(Decimal(v), self._places(column))
                if abs(int(out[i])) > 10**17:
                    codes[i] = cs.ERR_RANGE
            except ValueError:
                codes[i] = cs.ERR_EMPTY if not v else cs.ERR_NUMBER if not _DECIMAL.match(v) else cs.ERR_PRECISION
            except OverflowError:
                codes[i] = cs.ERR_RANGE
        bad = sorted(codes)
        self._report(np.array(bad, dtype=np.int64), lines, column, lambda i: self._message(column, codes[i], values[i]))
        return out


class _CommentSkipper:
    """Iterate a file's lines, turning leading ``# key=value; ...`` comment lines into metadata."""

    def __init__(self, handle: IO[str], meta: dict[str, str]) -> None:
        self.handle = handle
        self.meta = meta
        self.skipped = 0
        self.started = False
        #: (physical line, text) of the lines read since the caller last cleared it that are not valid UTF-8
        #: (the file is decoded with ``surrogateescape``: a bad byte is a lone surrogate U+DC80..U+DCFF).
        self.bad: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self.handle, start=1):
            if not line.isascii() and _ESCAPED.search(line):
                self.bad.append((number, line.rstrip("\r\n")))
            if not self.started and line.startswith("#"):
                self.skipped += 1
                for part in line[1:].split(";"):
                    key, sep, value = part.partition("=")
                    if sep:
                        self.meta[key.strip()] = value.strip()
                continue
            self.started = True
            yield line


#: A byte that is not UTF-8, as decoded with ``errors="surrogateescape"``.
_ESCAPED = re.compile("[\udc80-\udcff]")
#: The end of the text before a bad byte shown in its message.
_CONTEXT = 30


def _utf8_problem(raw: bytes, where: str, names: Sequence[str] = (), field: int | None = None) -> tuple[str, str]:
    """Message and location (``where:COL``) of the first byte of the line ``raw`` that is not valid UTF-8.

    COL is the character column of the byte (the text before it decodes). The field that holds it is ``field``
    or, if ``None``, found by counting commas (the fast path's lines have no quotes); it is named from
    ``names`` (the header) when there are names.
    """
    try:
        raw.decode("utf-8")
        at = len(raw)  # not reached: the caller found a bad byte
    except UnicodeDecodeError as exc:
        at = exc.start
    before = raw[:at].decode("utf-8")
    byte = f"byte 0x{raw[at]:02x}" if at < len(raw) else "a byte"
    if not names:
        what, text = "the line", before
    else:
        index = before.count(",") if field is None else field
        what = repr(names[index]) if index < len(names) else f"field {index + 1}"
        text = before[before.rfind(",") + 1 :].lstrip(' \t"')  # the field so far, an opening quote left out
    text = text if len(text) <= _CONTEXT else "..." + text[-_CONTEXT:]
    place = f"after {text!r}" if text else "at its start"
    return f"{what} is not valid UTF-8 ({byte} {place}); save the file as UTF-8", f"{where}:{len(before) + 1}"


#: Longest text field cut out of a block with numpy; longer ones take the per-row path.
_TEXT_WIDTH = 256


def _line_pieces(data: bytes | bytearray, n: int, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` byte ranges of about equal size that cover ``data[:n]``, each ending after a line break.

    (The last one ends at ``n``.) ``count`` is first lowered so that ``n / count`` is at least
    :data:`PIECE_BYTES`; a piece then ends at the first line break after its share.
    """
    count = max(1, min(count, n // max(PIECE_BYTES, 1)))
    bounds = [0]
    for k in range(1, count):
        cut = data.find(b"\n", max(bounds[-1], n * k // count), n) + 1
        if cut <= 0 or cut >= n:
            break
        bounds.append(cut)
    bounds.append(n)
    return list(itertools.pairwise(bounds))


def _text_fields(chunk: memoryview, starts: Int64Array, ends: Int64Array, col: int) -> np.ndarray:
    """Field ``col`` of every row (rows of the header's width, unquoted fields) as stripped text.

    Field bounds and the bytes into one matrix by numba kernels (``kernels/csvscan.py``), then one numpy cast
    to text (the vectorised version with 2-D index arrays took 1.7 s for a million members and 3M orders).
    """
    if not len(starts):
        return np.zeros(0, dtype="<U1")
    buf = np.frombuffer(chunk, dtype=np.uint8)
    n = len(starts)
    lo, hi = arrays.empty(n, dtype=np.int64), arrays.empty(n, dtype=np.int64)
    longest = int(cs.text_field_bounds(buf, starts, ends, col, lo, hi))
    if longest > _TEXT_WIDTH:
        pairs = zip(lo.tolist(), hi.tolist(), strict=True)
        return np.array([bytes(chunk[a:b]).decode("utf-8").strip() for a, b in pairs], dtype=np.str_)
    if longest == 0:
        return np.full(n, "", dtype="<U1")
    matrix = np.empty((n, longest), dtype=np.uint8)
    top = max(threads.run_parts(lambda r: cs.gather_fields(buf, lo, hi, *r, matrix), threads.parts(n)))
    if top < 128:  # ASCII: the bytes are the code points (widened: 5x faster than numpy's bytes-to-str cast)
        return matrix.astype(np.uint32).view(f"<U{longest}").ravel()
    raw = matrix.view(f"S{longest}").ravel()
    return np.char.strip(np.char.decode(raw, "utf-8"))  # str.strip's Unicode whitespace too; rows checked UTF-8


def _open(path: Path) -> IO[str]:
    """The file as text: a leading byte-order mark skipped, bytes that are not UTF-8 as lone surrogates."""
    try:
        return path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def read_members(path: str | Path) -> Members:
    """Read a members CSV (``id, sponsor_id, enrolled_on``); an empty ``sponsor_id`` marks a root.

    Binary and matrix plans add ``placement_id`` and ``placement_side`` or ``placement_position``.
    """
    t = _Reader(Path(path), MEMBER_COLUMNS, optional=PLACEMENT_COLUMNS).read()
    c = t.columns
    ids, sponsors = c["id"], c["sponsor_id"]
    if ids.dtype.kind != sponsors.dtype.kind:  # text ids with integer-looking sponsors, or the reverse
        ids, sponsors = ids.astype(np.str_), sponsors.astype(np.str_)
    parents, positions = c.get("placement_id"), c.get("placement_position")
    placed = None
    if parents is not None or "placement_side" in c or positions is not None:
        placed = ~t.empty["placement_id"] if parents is not None else arrays.zeros(len(ids), dtype=bool)
        parents = parents if parents is not None else ids
        if parents.dtype.kind != ids.dtype.kind:  # the parents follow the ids' kind, never the reverse
            parents = parents.astype(np.str_)
    if positions is not None:
        positions = np.where(t.empty["placement_position"], NO_POSITION, positions)
    return Members(
        ids,
        sponsors,
        t.empty["sponsor_id"],
        c["enrolled_on"],
        str(path),
        t.lines,
        placement_ids=parents,
        placed=placed,
        placement_sides=c.get("placement_side"),
        placement_positions=positions,
    )


def read_orders(path: str | Path, decimals: int = 2) -> Orders:
    """Read an orders CSV (``member_id, date, pv, cv``) with volumes at ``decimals`` places."""
    t = _Reader(Path(path), ORDER_COLUMNS, decimals).read()
    c = t.columns
    return Orders(c["member_id"], c["date"], c["pv"], c["cv"], decimals, str(path), t.lines)


#: The first line of a state file, as :func:`compplan.io.output.write_result` writes it.
STATE_HEADER = "# compplan state; plan=NAME; currency=CUR; period=LABEL; end=YYYY-MM-DD"


def read_state(path: str | Path, minor_units: int = 2, volume_decimals: int = 2) -> State:
    """Read a state CSV written by ``compplan close`` (``id, highest_rank, streak, balance`` + a metadata line).

    The metadata line (:data:`STATE_HEADER`) is required: the close checks the state's plan, currency and period.

    States of plans with a binary bonus also have ``carry_left, carry_right`` (volume) and ``idle``.
    """
    t = _Reader(Path(path), STATE_COLUMNS, minor_units, CARRY_COLUMNS, volume_decimals).read()
    m = t.meta
    end = None
    if m.get("end"):
        try:
            end = dt.date.fromisoformat(m["end"])
        except ValueError:
            raise InputError(f"{path}:1: end={m['end']!r} is not a date") from None
    problems = ProblemCollector()
    missing = [f"{key}=" for key in ("plan", "currency", "end") if not m.get(key)]
    if missing:  # the plan, currency and period a state comes from are checked against the close (semantics 3.8)
        problems.add(
            "state_header",
            f"the first line must be '{STATE_HEADER}' as compplan close writes it (no {', '.join(missing)}): "
            "without it, a state of another plan, currency or period could not be told apart",
            f"{path}:1",
        )
    negative = np.nonzero(t.columns["streak"] < 0)[0]
    for r in negative[:SHOWN]:
        problems.add("bad_streak", "streak must be >= 0", f"{path}:{int(t.lines[r])}")
    problems.raise_if_any(InputError, title=f"{path}: invalid state")
    c = t.columns
    return State(c["id"], c["highest_rank"], c["streak"], c["balance"], str(path), t.lines, m.get("plan"),
                 m.get("currency"), m.get("period"), end, c.get("carry_left"), c.get("carry_right"),
                 c.get("idle"))  # fmt: skip


def read_events(path: str | Path) -> Events:
    """Read an events CSV (``member_id, kind, date``) for ``action`` bonuses."""
    t = _Reader(Path(path), EVENT_COLUMNS).read()
    c = t.columns
    return Events(c["member_id"], c["kind"], c["date"], str(path), t.lines)


# -- writing --------------------------------------------------------------------------------------------


def _encoded_texts(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """UTF-8 bytes of ``texts`` back to back and where each starts (``n + 1``), or ``None`` if one needs quotes.

    By whole arrays: a text id per Python call (encode, quote check) was 6 of the 12 s of a million-member close
    from CSV with text ids.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    units = code_points(texts)
    if int(units.max()) < 128:  # ASCII: the code points are the bytes
        raw, lengths = units.astype(np.uint8), np.char.str_len(texts).astype(np.int64)
    else:
        encoded = np.char.encode(texts, "utf-8")
        size = max(encoded.dtype.itemsize, 1)
        raw = np.ascontiguousarray(encoded, dtype=f"S{size}").view(np.uint8).reshape(n, size)
        lengths = np.char.str_len(encoded).astype(np.int64)
    if bool(np.isin(raw, np.frombuffer(b',"\n\r', dtype=np.uint8)).any()):
        return None
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return raw[np.arange(raw.shape[1]) < lengths[:, None]], starts


def csv_quote(text: str) -> str:
    """Quote a CSV field when it holds a comma, quote or line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class Column(NamedTuple):
    """One output column: int64 values and how to print them (see :mod:`compplan.kernels.csvwrite`)."""

    values: np.ndarray
    kind: int
    decimals: int = 0
    labels: tuple[str, ...] = ()
    row_decimals: np.ndarray | None = None  # per-row places (decimals == -1); columns of one table share it
    take: np.ndarray | None = None  # row r prints values[take[r]] (read block by block, never copied whole)
    table: tuple[np.ndarray, np.ndarray] | None = None  # labels encoded already: UTF-8 bytes, starts (n + 1)

    @classmethod
    def integer(cls, values: np.ndarray) -> Column:
        """Plain integers."""
        return cls(np.asarray(values, dtype=np.int64), cw.COL_INT)

    @classmethod
    def decimal(cls, units: np.ndarray, decimals: int) -> Column:
        """Integer units printed as exact decimals."""
        return cls(np.asarray(units, dtype=np.int64), cw.COL_DECIMAL, decimals)

    @classmethod
    def decimal_rows(cls, units: np.ndarray, places: np.ndarray) -> Column:
        """Integer units printed exactly with each row's own number of decimal places."""
        return cls(np.asarray(units, dtype=np.int64), cw.COL_DECIMAL, -1, (), np.asarray(places, dtype=np.int64))

    @classmethod
    def label(cls, index: np.ndarray, labels: Sequence[str]) -> Column:
        """``labels[index[i]]`` per row (quoted when needed)."""
        return cls(np.asarray(index, dtype=np.int64), cw.COL_LABEL, 0, tuple(csv_quote(t) for t in labels))

    @classmethod
    def boolean(cls, values: np.ndarray) -> Column:
        """``true`` / ``false``."""
        return cls.label(np.asarray(values, dtype=np.int64), ("false", "true"))

    @classmethod
    def ids(cls, ids: np.ndarray, index: np.ndarray | None = None) -> Column:
        """Member ids (``ids[index]`` when ``index`` is given): integers as numbers, text through a label table."""
        if ids.dtype.kind == "i":
            return cls.integer(ids if index is None else ids[index])
        return cls._text(np.arange(len(ids)) if index is None else np.asarray(index, dtype=np.int64), ids)

    @classmethod
    def _text(cls, index: np.ndarray, texts: np.ndarray) -> Column:
        """``texts[index[i]]`` per row: one label per text, encoded by whole arrays (:func:`_encoded_texts`)."""
        table = _encoded_texts(np.asarray(texts, dtype=np.str_))
        if table is None:  # a text to quote: the general labels
            return cls.label(index, [str(t) for t in texts])
        return cls(index, cw.COL_LABEL, table=table)

    @classmethod
    def date(cls, days: np.ndarray) -> Column:
        """ISO dates from day numbers (days since 1970-01-01), through a table of the distinct days."""
        distinct, index = np.unique(np.asarray(days, dtype=np.int64), return_inverse=True)
        return cls.label(index, [str(np.datetime64(int(d), "D")) for d in distinct])

    @classmethod
    def optional_integer(cls, values: np.ndarray) -> Column:
        """Integers, an empty field for :data:`compplan.inputs.NO_POSITION` (the writer's EMPTY)."""
        return cls(np.asarray(values, dtype=np.int64), cw.COL_INT_OR_EMPTY)

    @classmethod
    def optional_ids(cls, ids: np.ndarray, index: np.ndarray) -> Column:
        """``ids[index]`` per row, an empty field where ``index < 0``."""
        index = np.asarray(index, dtype=np.int64)
        if ids.dtype.kind == "i":
            values = np.where(index < 0, cw.EMPTY, ids[np.maximum(index, 0)] if len(ids) else index)
            return cls(values.astype(np.int64), cw.COL_INT_OR_EMPTY)
        return cls._text(np.where(index < 0, len(ids), index), np.append(ids, ""))


def decimal_texts(units: np.ndarray, places: np.ndarray) -> list[str]:
    """Exact decimal text of each integer in ``units`` with ``places[i]`` decimals.

    The writer's kernel formats them all at once (no per-value Python arithmetic):
    ``decimal_texts([-5, 1200], [2, 0]) == ['-0.05', '1200']``.
    """
    n = len(units)
    if not n:
        return []
    values = np.ascontiguousarray(np.asarray(units, dtype=np.int64).reshape(1, n))
    kinds = np.array([cw.COL_DECIMAL], dtype=np.int64)
    row_places = np.ascontiguousarray(np.asarray(places, dtype=np.int64))
    buffer = np.empty(n * 24, dtype=np.uint8)
    used = cw.format_rows(values, kinds, np.array([-1], dtype=np.int64), row_places, np.zeros(1, np.uint8),
                          np.zeros(1, np.int64), 0, n, buffer)  # fmt: skip
    return buffer[: used - 1].tobytes().decode("ascii").split("\n")


#: Bytes of CSV text per round of :func:`write_csv` (one block per thread; up to two rounds of buffers are in
#: use, the block being written included), and the fewest rows that make a thread worth starting.
WRITE_BUFFER = 32 * 2**20
BLOCK_ROWS_PER_THREAD = 50_000


def write_csv(path: Path, header: Sequence[str], columns: Sequence[Column], preamble: str = "") -> None:
    """Write ``columns`` as CSV rows under ``header``, formatting in blocks with a numba kernel.

    Each block of rows is gathered into a small matrix and formatted; the columns are never copied whole
    (at 10 million members a whole copy of a members table is over a gigabyte). Blocks are gathered and
    formatted on pool threads while the calling thread writes the ones before (:func:`compplan.threads.run_ahead`),
    always in row order, so the bytes do not depend on the number of threads.
    """
    n = (len(columns[0].take) if columns[0].take is not None else len(columns[0].values)) if columns else 0
    kinds = np.array([c.kind for c in columns], dtype=np.int64)
    decimals = np.array([c.decimals for c in columns], dtype=np.int64)
    per_row = [c.row_decimals for c in columns if c.row_decimals is not None]
    row_decimals = per_row[0] if per_row else None
    pieces: list[np.ndarray] = []  # labels of all columns share one table: their bytes, their lengths
    sizes: list[np.ndarray] = []
    label_base = []
    count = 0
    for c in columns:
        label_base.append(count)
        if c.kind != cw.COL_LABEL:
            continue
        if c.table is not None:
            pieces.append(c.table[0])
            sizes.append(np.diff(c.table[1]))
        else:
            encoded = [t.encode("utf-8") for t in c.labels]
            pieces.append(np.frombuffer(b"".join(encoded), dtype=np.uint8))
            sizes.append(np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded)))
        count += len(sizes[-1])
    label_start = arrays.zeros(count + 1, dtype=np.int64)
    if sizes:
        np.cumsum(np.concatenate(sizes), out=label_start[1:])
    label_bytes = np.concatenate(pieces) if pieces and label_start[-1] else np.zeros(1, dtype=np.uint8)
    width = int(cw.row_width_bound(kinds, label_start))
    workers = max(1, min(threads.thread_count(), n // BLOCK_ROWS_PER_THREAD))
    block = max(1, min(n, WRITE_BUFFER // workers // width))  # about WRITE_BUFFER bytes of text per round
    slots = 2 * workers if workers > 1 else 1  # threads.run_ahead: two rounds in flight
    buffers = [np.empty(block * width, dtype=np.uint8) for _ in range(slots)]
    matrices = [arrays.empty((len(columns), block), dtype=np.int64) for _ in range(slots)]

    def render(item: tuple[int, int, int]) -> memoryview:
        """Gather rows ``[lo, hi)`` (numpy lets the GIL go) and format them (a nogil kernel) into buffer ``k``."""
        k, lo, hi = item
        rows = matrices[k] if hi - lo == block else arrays.empty((len(columns), hi - lo), dtype=np.int64)  # C order
        for i, c in enumerate(columns):
            if c.take is not None:
                np.take(c.values, c.take[lo:hi], out=rows[i])
            else:
                rows[i] = c.values[lo:hi]
            if c.kind == cw.COL_LABEL and label_base[i]:
                rows[i] += label_base[i]
        places = row_decimals[lo:hi] if row_decimals is not None else np.zeros(1, dtype=np.int64)
        used = cw.format_rows(rows, kinds, decimals, places, label_bytes, label_start, 0, hi - lo, buffers[k])
        return buffers[k][:used].data

    with path.open("wb") as out:
        out.write(preamble.encode("utf-8"))
        out.write((",".join(header) + "\n").encode("utf-8"))
        blocks = [(i % slots, lo, min(n, lo + block)) for i, lo in enumerate(range(0, n, block))]
        threads.run_ahead(render, blocks, out.write, workers)  # blocks formatted on every core, written in order
