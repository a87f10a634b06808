"""Where results go: missing parents, what --overwrite may replace, write errors without tracebacks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from compplan.cli import main
from compplan.io.output import write_file_atomically

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plans" / "examples" / "wellness_unilevel"
PLAN = ROOT / "plans" / "wellness_unilevel.yaml"
MATRIX = ROOT / "plans" / "examples" / "forced_matrix"


def close(out: Path | str, *extra: str, members: Path | None = None, orders: Path | None = None) -> list[str]:
    return [
        "close",
        "--plan",
        str(PLAN),
        "--members",
        str(members or EXAMPLE / "members.csv"),
        "--orders",
        str(orders or EXAMPLE / "orders.csv"),
        "--period",
        "2026-10",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    # the README's own first command writes to out/2026-10 on a fresh clone
    out = tmp_path / "out" / "2026-10"
    assert main(close(out)) == 0
    assert (out / "members.csv").read_text() == (EXAMPLE / "expected_members.csv").read_text()


def test_a_failed_run_creates_no_parents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("member_id,date,pv,cv\nZ,2026-10-01,1,1\n")
    assert main(close(tmp_path / "a" / "b" / "out", orders=orders)) == 1  # bad input: found before any write
    assert "order for unknown member Z" in capsys.readouterr().err
    # a write that fails after creating the parents removes them again
    assert main(close(tmp_path / "a" / "b" / ("x" * 300))) == 1
    assert "cannot write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv"]  # no a/, no a/b/


def test_overwrite_refuses_to_delete_the_runs_own_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    members, orders = d / "m.csv", d / "o.csv"
    shutil.copy(EXAMPLE / "members.csv", members)
    shutil.copy(EXAMPLE / "orders.csv", orders)
    assert main(close(d, "--overwrite", members=members, orders=orders)) == 1
    err = capsys.readouterr().err
    assert f"--overwrite would delete the input file {members}" in err
    assert f"--overwrite would delete the input file {orders}" in err  # both named at once
    assert "Traceback" not in err
    assert sorted(p.name for p in d.iterdir()) == ["m.csv", "o.csv"]


def test_overwrite_replaces_a_directory_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(close(afile, "--overwrite")) == 1
    assert "exists and is not a directory" in capsys.readouterr().err
    assert afile.read_text() == "keep me"


def test_overwrite_never_replaces_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for target in (".", str(tmp_path)):
        assert main(close(target, "--overwrite")) == 1
        err = capsys.readouterr().err
        assert "--overwrite would delete the current directory" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no .old or .tmp directory left


def test_an_unwritable_parent_is_named_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))  # root: no 0o500
    orders = tmp_path / "orders.csv"
    orders.write_text("member_id,date,pv,cv\nZ,2026-10-01,1,1\n")
    assert main(close(locked / "new" / "out", orders=orders)) == 1
    err = capsys.readouterr().err
    assert f"{locked} is not writable" in err and "unknown member" not in err  # checked before reading inputs


def test_write_errors_are_input_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    too_long = tmp_path / ("x" * 300)
    assert main(close(too_long)) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "name too long" in err.lower() and "Traceback" not in err
    parent_is_a_file = tmp_path / "f"
    parent_is_a_file.write_text("")
    assert main(close(parent_is_a_file / "out")) == 1
    assert f"{parent_is_a_file} is not a directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_file_outputs_place_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    placed = tmp_path / "new" / "placed.csv"
    place = ["place", "--plan", str(ROOT / "plans" / "forced_matrix.yaml"), "--members", str(MATRIX / "members.csv")]
    assert main([*place, "--out", str(placed), "--quiet"]) == 0
    assert placed.read_text() == (MATRIX / "expected_placed.csv").read_text()
    assert oct(placed.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not mkstemp's private 0600
    assert main([*place, "--out", str(tmp_path), "--overwrite"]) == 1
    assert "is a directory" in capsys.readouterr().err
    report = ["report", "--plan", str(PLAN), "--synthetic", "200", "--out"]
    assert main([*report, str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert main([*report, str(tmp_path / "pages" / "r.html")]) == 0
    assert (tmp_path / "pages" / "r.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "pages"]  # no temporary files left


def test_write_file_atomically_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("old")

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        write_file_atomically(target, fail, overwrite=True)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
