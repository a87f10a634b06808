"""Parquet inputs through the optional ``[arrow]`` extra (``pip install 'compplan[arrow]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compplan.errors import InputError
from compplan.inputs import Members, Orders
from compplan.io.columns import members_from_frame, orders_from_frame


def _table(path: str | Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            f"{path}: reading Parquet needs pyarrow; install it with: pip install 'compplan[arrow]'"
        ) from None
    try:
        return pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) for a bad file
        raise InputError(f"{path}: cannot read Parquet: {exc}") from None


def read_members_parquet(path: str | Path) -> Members:
    """Read members (``id, sponsor_id, enrolled_on``) from a Parquet file."""
    return members_from_frame(_table(path), str(path))


def read_orders_parquet(path: str | Path, decimals: int = 2) -> Orders:
    """Read orders (``member_id, date, pv, cv``; volumes as decimal or text columns) from a Parquet file."""
    return orders_from_frame(_table(path), decimals, str(path))
