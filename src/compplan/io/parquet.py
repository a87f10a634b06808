"""Parquet inputs through the optional ``[arrow]`` extra (``pip install 'compplan[arrow]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compplan import threads
from compplan.errors import InputError, Problem, ProblemCollector
from compplan.inputs import Members, Orders
from compplan.io.columns import SHOWN, members_from_frame, orders_from_frame


class _ParquetColumns:
    """A Parquet file as a frame whose columns are read when asked for, one at a time.

    The converters take one column, turn it into numpy and let it go, so the Arrow data of a whole table is
    never in memory next to its numpy columns (30 million order lines: about a gigabyte less at the peak).
    """

    def __init__(self, path: str | Path) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{path}: reading Parquet needs pyarrow; install it with: pip install 'compplan[arrow]'"
            ) from None
        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) for a bad file
            raise InputError(f"{path}: cannot read Parquet: {exc}") from None
        self.column_names = list(self.file.schema_arrow.names)

    def __getitem__(self, name: str) -> Any:
        """One column, its row groups decoded on every core (Arrow lets the GIL go; decimal columns decode slowly)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if name not in self.column_names:
            raise KeyError(name)
        if self.column_names.count(name) > 1:
            times = self.column_names.count(name)
            raise InputError([Problem("duplicate_column", f"column {name!r} appears {times} times", str(self.path))])
        groups = self.file.num_row_groups
        count = max(1, min(threads.thread_count(), groups))
        bounds = [groups * i // count for i in range(count + 1)]

        def read(k: int) -> Any:
            file = self.file if k == 0 else pq.ParquetFile(self.path)  # a reader of its own per thread
            return file.read_row_groups(list(range(bounds[k], bounds[k + 1])), columns=[name]).column(0)

        try:
            parts = threads.run_parts(read, range(count))
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.path}: cannot read Parquet column {name!r}: {exc}") from None
        column = pa.chunked_array([c for part in parts for c in part.chunks], type=parts[0].type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            _check_utf8(column, name, str(self.path))
        return column


def _check_utf8(column: Any, name: str, source: str) -> None:
    """Raise the ``invalid_utf8`` rows of a string column (Arrow does not check what a writer put in one)."""
    import pyarrow as pa

    try:
        column.validate(full=True)
        return
    except pa.ArrowInvalid:
        pass
    problems = ProblemCollector()
    bad = 0
    for r, value in enumerate(column.cast(pa.large_binary()).to_pylist()):  # an error path: Python is fine
        if value is None:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad += 1
            if bad <= SHOWN:
                problems.add(
                    "invalid_utf8",
                    f"{name!r} is not valid UTF-8 (byte 0x{value[exc.start]:02x} at {exc.start})",
                    f"{source} row {r + 1}",
                )
    if bad > SHOWN:
        problems.add("invalid_utf8", f"... and {bad - SHOWN} more values of {name!r} that are not valid UTF-8")
    problems.raise_if_any(InputError, title=f"{source}: invalid rows")


def _release() -> None:
    """Hand the memory Arrow's allocator keeps for reuse back to the system (it would stay in the peak RSS)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_members_parquet(path: str | Path) -> Members:
    """Read members (``id, sponsor_id, enrolled_on``) from a Parquet file."""
    members = members_from_frame(_ParquetColumns(path), str(path))
    _release()
    return members


def read_orders_parquet(path: str | Path, decimals: int = 2) -> Orders:
    """Read orders (``member_id, date, pv, cv``; volumes as decimal or text columns) from a Parquet file."""
    orders = orders_from_frame(_ParquetColumns(path), decimals, str(path))
    _release()
    return orders
