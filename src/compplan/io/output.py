"""Write a close's results to a directory, atomically.

Everything is written into a hidden sibling directory first and renamed into place at the end, so a run that
fails (bad input, a full disk, an interrupt) leaves no output directory, or the previous one untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compplan.errors import InputError
from compplan.io.csvio import format_column, id_text, write_columns

if TYPE_CHECKING:
    from compplan.engine import CloseResult


def write_atomically(out_dir: str | Path, fill: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Create ``out_dir`` with the files ``fill(tmp_dir)`` writes, all or nothing.

    Raises
    ------
    InputError
        If ``out_dir`` exists and ``overwrite`` is false, or its parent does not exist.
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise InputError(f"{out}: output directory exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: directory does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        fill(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "previous")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def members_table(result: CloseResult) -> tuple[list[str], list[np.ndarray]]:
    """Header and text columns of ``members.csv``."""
    mdec, vdec = result.plan.minor_units, result.plan.plan.volume_decimals
    header = ["id", "pv", "gv", "qv", "active", "rank", "highest_rank", *result.bonuses, "total"]
    columns = [
        id_text(result.ids),
        format_column(result.pv, vdec),
        format_column(result.gv, vdec),
        format_column(result.qv, vdec),
        np.where(result.active, "true", "false"),
        id_text(result.rank_names),
        id_text(result.highest_rank_names),
        *(format_column(col, mdec) for col in result.bonuses.values()),
        format_column(result.total, mdec),
    ]
    return header, columns


def write_result(result: CloseResult, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``members.csv``, ``summary.json``, ``state.csv``, ``awards.csv`` and (if present) ``ledger.csv``."""

    def fill(tmp: Path) -> None:
        header, columns = members_table(result)
        write_columns(tmp / "members.csv", header, columns)
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
        state = result.state()
        preamble = f"# compplan state; plan={state.plan_name}; currency={state.currency}; period={state.period}\n"
        write_columns(
            tmp / "state.csv", ["id", "highest_rank"], [id_text(state.ids), id_text(state.highest_rank)], preamble
        )
        awards = result.awards
        write_columns(
            tmp / "awards.csv",
            ["member", "bonus", "rank", "award"],
            [id_text(np.array([str(a[i]) for a in awards], dtype=np.str_)) for i in range(4)],
        )
        if result.ledger is not None:
            led = result.ledger
            mdec, vdec = result.plan.minor_units, result.plan.plan.volume_decimals
            write_columns(
                tmp / "ledger.csv",
                ["payee", "source", "bonus", "level", "basis", "rate", "amount"],
                [
                    id_text(led.payee),
                    id_text(led.source),
                    led.bonus.astype(np.str_),
                    led.level.astype(np.str_),
                    format_column(led.basis, vdec),
                    format_column(led.rate, 6),
                    format_column(led.amount, mdec),
                ],
            )

    return write_atomically(out_dir, fill, overwrite)
