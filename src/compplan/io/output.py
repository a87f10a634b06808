"""Write a close's results to a directory, atomically.

Everything is written into a hidden sibling directory first and renamed into place at the end, so a run that
fails (bad input, a full disk, an interrupt) leaves no output directory, or the previous one untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compplan.engine import LINE_KINDS
from compplan.errors import InputError, ProblemCollector
from compplan.genealogy import IdIndex
from compplan.inputs import Members
from compplan.io.csvio import Column, write_csv

if TYPE_CHECKING:
    from compplan.engine import CloseResult


def check_target(
    path: str | Path, *, overwrite: bool, directory: bool = True, inputs: Iterable[str | Path] = ()
) -> Path:
    """Check that ``path`` can take a run's output, before any work is done; return it as a Path.

    The output may exist only with ``overwrite``, and then must be of the same kind (a directory for a close, a
    file for ``compplan place`` and ``compplan report``). Replacing a directory must not delete the current
    directory or one above it, nor any of ``inputs`` (the run's own input files). Missing parent directories
    are created when the output is written (:func:`write_atomically`).

    Raises
    ------
    InputError
        Naming the output path and what is wrong with it.
    """
    out = Path(path)
    try:
        _check_target(out, overwrite, directory, inputs)
    except OSError as exc:  # e.g. a name too long to look up
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    return out


def _check_target(out: Path, overwrite: bool, directory: bool, inputs: Iterable[str | Path]) -> None:
    what = "output directory" if directory else "file"
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise InputError(f"{out}: {what} exists; pass --overwrite to replace it")
        if directory and not out.is_dir():
            raise InputError(f"{out}: exists and is not a directory; --overwrite replaces an output directory only")
        if not directory and out.is_dir():
            raise InputError(f"{out}: is a directory; give the path of the file to write")
        if directory:
            target, here = out.resolve(), Path.cwd().resolve()
            if target == here or target in here.parents:
                raise InputError(f"{out}: --overwrite would delete the current directory (or one above it)")
            problems = ProblemCollector()
            for name in inputs:
                if target in Path(name).resolve().parents:
                    problems.add("overwrite_input", f"--overwrite would delete the input file {name}", str(out))
            problems.raise_if_any(InputError, title=f"{out}: not replaced")
    ancestor = out.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{out}: cannot be created: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{out}: cannot be created: {ancestor} is not writable")


def _write(out: Path, write: Callable[[Path], object], *, overwrite: bool, directory: bool) -> Path:
    """Write ``out`` through a hidden sibling (``write(tmp)``) renamed into place; create missing parents.

    On any failure the sibling, and the parents this call created, are removed; an operating-system error
    (no space left, no permission, a name too long) becomes an :class:`InputError` naming ``out``.
    """
    check_target(out, overwrite=overwrite, directory=directory)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        for parent in reversed([out.parent, *out.parent.parents]):
            if not parent.exists():
                parent.mkdir()
                created.append(parent)
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
            os.close(fd)
            tmp = Path(name)
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod((0o777 if directory else 0o666) & ~umask)  # mkdtemp/mkstemp make it private
        if out.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "previous")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException as exc:
        if tmp is not None:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()
        if isinstance(exc, OSError):
            raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
        raise
    return out


def write_atomically(out_dir: str | Path, fill: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Create ``out_dir`` with the files ``fill(tmp_dir)`` writes, all or nothing.

    Missing parent directories are created (and removed again if the run fails).

    Raises
    ------
    InputError
        If ``out_dir`` exists and ``overwrite`` is false, or cannot be written (:func:`check_target`).
    """
    return _write(Path(out_dir), fill, overwrite=overwrite, directory=True)


def write_file_atomically(path: str | Path, write: Callable[[Path], object], overwrite: bool = False) -> Path:
    """Create or replace the file ``path`` with what ``write(tmp_path)`` writes, all or nothing."""
    return _write(Path(path), write, overwrite=overwrite, directory=False)


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
    target = check_target(path, overwrite=overwrite, directory=False)
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
    return write_file_atomically(target, lambda tmp: write_csv(tmp, header, columns), overwrite)
