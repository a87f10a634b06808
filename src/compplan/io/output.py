"""Write a close's results to a directory, atomically.

Everything is written into a hidden sibling directory first and renamed into place at the end, so a run that
fails (bad input, a full disk, an interrupt) leaves no output directory, or the previous one untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compplan.engine import LINE_KINDS
from compplan.errors import InputError
from compplan.genealogy import IdIndex
from compplan.inputs import Members
from compplan.io.csvio import Column, write_csv

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
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary directory
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


def _canonical(result: CloseResult, lazy: bool) -> Callable[[Column], Column]:
    """Put a column of tree positions in canonical order: now, or row block by row block as it is written."""
    if lazy:
        return lambda c: c._replace(take=result.position)
    return lambda c: c._replace(values=c.values[result.position])


def members_table(result: CloseResult, lazy: bool = False) -> tuple[list[str], list[Column]]:
    """Header and columns of ``members.csv``.

    With ``lazy`` the member columns stay in tree positions and :func:`~compplan.io.csvio.write_csv` gathers
    each block of rows into canonical order as it writes it (no canonical copy of every column).
    """
    mdec, vdec = result.plan.minor_units, result.plan.plan.volume_decimals
    ranks = result.plan.rank_names
    v = result.values
    put = _canonical(result, lazy)
    header = [
        "id",
        "pv",
        "gv",
        "qv",
        "active",
        "rank",
        "highest_rank",
        *result.plan.bonus_ids(),
        "total",
        "balance_in",
        "paid",
        "balance_out",
    ]
    columns = [
        Column.ids(result.ids),
        *(put(Column.decimal(v[name], vdec)) for name in ("pv", "gv", "qv")),
        put(Column.boolean(v["active"])),
        put(Column.label(v["rank"], ranks)),
        put(Column.label(v["highest_rank"], ranks)),
        *(put(Column.decimal(v[b], mdec)) for b in result.plan.bonus_ids()),
        *(put(Column.decimal(v[name], mdec)) for name in ("total", "balance_in", "paid", "balance_out")),
    ]
    if result.plan.binary is not None:
        header += list(BINARY_COLUMNS)
        columns += [put(Column.decimal(v[c], vdec)) for c in BINARY_COLUMNS]
    return header, columns


#: Member-table columns of plans with a binary bonus (volume units).
BINARY_COLUMNS = ("leg_left", "leg_right", "carry_left", "carry_right")


def state_table(result: CloseResult, lazy: bool = False) -> tuple[list[str], list[Column]]:
    """Header and columns of ``state.csv`` (docs/semantics.md 3.7); ``lazy`` as in :func:`members_table`."""
    plan = result.plan
    v = result.values
    put = _canonical(result, lazy)
    header = ["id", "highest_rank", "streak", "balance"]
    columns = [
        Column.ids(result.ids),
        put(Column.label(v["highest_rank"], plan.rank_names)),
        put(Column.integer(v["streak"])),
        put(Column.decimal(v["balance_out"], plan.minor_units)),
    ]
    if plan.binary is not None:
        header += ["carry_left", "carry_right", "idle"]
        vdec = plan.plan.volume_decimals
        columns += [
            put(Column.decimal(v["carry_left"], vdec)),
            put(Column.decimal(v["carry_right"], vdec)),
            put(Column.integer(v["idle"])),
        ]
    return header, columns


def write_result(
    result: CloseResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    extra: dict[str, tuple[list[str], list[Column]]] | None = None,
    extra_json: Mapping[str, object] | None = None,
) -> Path:
    """Write ``members.csv``, ``summary.json``, ``state.csv``, ``awards.csv``, ``ledger.csv`` (if present).

    ``extra`` maps more file names to ``(header, columns)`` tables written in the same atomic step.
    """
    plan = result.plan
    mdec, vdec = plan.minor_units, plan.plan.volume_decimals

    def fill(tmp: Path) -> None:
        header, columns = members_table(result, lazy=True)
        write_csv(tmp / "members.csv", header, columns)
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
        period = result.period
        preamble = (
            f"# compplan state; plan={plan.plan.name}; currency={plan.plan.currency}; period={period.label}; "
            f"end={period.end}\n"
        )
        write_csv(tmp / "state.csv", *state_table(result, lazy=True), preamble)
        awards = result.awards
        texts = [[str(a[i]) for a in awards] for i in range(4)]
        write_csv(
            tmp / "awards.csv",
            ["member", "bonus", "rank", "award"],
            [Column.label(np.arange(len(awards)), t) for t in texts],
        )
        for name, (header_, columns_) in (extra or {}).items():
            write_csv(tmp / name, header_, columns_)
        for name, data in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        if result.ledger is not None:
            led = result.ledger
            write_csv(
                tmp / "ledger.csv",
                ["payee", "source", "bonus", "kind", "level", "basis", "rate", "amount"],
                [
                    Column.ids(result.ids, led.payee_row),
                    Column.ids(result.ids, led.source_row),
                    Column.label(led.bonus_index, plan.bonus_ids()),
                    Column.label(led.kind_index, LINE_KINDS),
                    Column.integer(led.level),
                    Column.decimal(led.basis, vdec),
                    Column.decimal(led.rate, 6),
                    Column.decimal(led.amount, mdec),
                ],
            )

    return write_atomically(out_dir, fill, overwrite)


def write_members(members: Members, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a members table (with placement columns when it has them) to one CSV file, atomically."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise InputError(f"{target}: file exists; pass --overwrite to replace it")
    ids = members.ids
    index = IdIndex(ids)
    sponsor_row, _ = index.lookup(members.sponsor_ids)
    header = ["id", "sponsor_id", "enrolled_on"]
    days = members.enrolled_on.astype("datetime64[D]").astype(np.int64)
    columns = [
        Column.ids(ids),
        Column.optional_ids(index.ids, np.where(members.is_root, -1, sponsor_row)),  # lookups give canonical rows
        Column.date(days),
    ]
    if members.placed is not None and members.placement_ids is not None:
        parent_row, _ = index.lookup(members.placement_ids)
        header.append("placement_id")
        columns.append(Column.optional_ids(index.ids, np.where(members.placed, parent_row, -1)))
        if members.placement_sides is not None:
            header.append("placement_side")
            sides = members.placement_sides
            columns.append(Column.label(np.where(sides == "L", 0, np.where(sides == "R", 1, 2)), ("L", "R", "")))
        if members.placement_positions is not None:
            header.append("placement_position")
            columns.append(Column.optional_integer(members.placement_positions))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write_csv(tmp, header, columns)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
