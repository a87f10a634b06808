"""Any number of threads gives the same close, to the byte: totals, every member column and the ledger lines in
order (compplan.threads; the kernels that run in parts: order checks, volume sums, fast start, unilevel,
matching, generation, matrix)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, close, load_plan, threads
from compplan.placement import place_if_needed
from compplan.synthetic import generate

PLANS = sorted((Path(__file__).resolve().parents[1] / "plans").glob("*.yaml"))


def _close(plan_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, min_part: int) -> dict[str, np.ndarray]:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    monkeypatch.setattr(threads, "MIN_PART", min_part)
    plan = load_plan(plan_path)
    members, orders = generate(3_000, seed=5, period="2026-10")
    members = place_if_needed(plan, members)
    result = close(plan, members, orders, "2026-10", ledger=True)
    out = {name: result.column(name) for name, v in result.values.items() if len(v) == len(result)}
    assert result.ledger is not None
    for name in ("payee_row", "source_row", "bonus_index", "kind_index", "level", "basis", "rate", "amount"):
        out[f"ledger.{name}"] = np.asarray(getattr(result.ledger, name))
    return out


@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.stem)
def test_any_thread_count_gives_the_same_close(plan_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _close(plan_path, monkeypatch, 1, 10**9)
    assert one["total"].sum() > 0  # the plan pays on this network
    assert len(one["ledger.amount"]) > 0
    for count, min_part in ((2, 1_000), (3, 1), (7, 100)):
        many = _close(plan_path, monkeypatch, count, min_part)
        assert many.keys() == one.keys()
        for name, column in one.items():
            assert np.array_equal(many[name], column), (count, name)


@pytest.mark.parametrize(("count", "min_part", "n"), [(1, 1, 10), (3, 1, 10), (3, 4, 10), (2, 100, 10), (4, 1, 0)])
def test_parts_cover_the_range_in_order(count: int, min_part: int, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    monkeypatch.setattr(threads, "MIN_PART", min_part)
    parts = threads.parts(n)
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert 1 <= len(parts) <= count
    assert len(parts) == 1 or all(hi - lo >= min_part for lo, hi in parts)
    assert threads.run_parts(lambda r: r[1] - r[0], parts) == [hi - lo for lo, hi in parts]


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_an_input_error(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", text)
    with pytest.raises(InputError, match="COMPPLAN_THREADS must be a positive integer"):
        threads.thread_count()


def test_default_thread_count_is_the_usable_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPPLAN_THREADS")
    assert threads.thread_count() >= 1


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COMPPLAN_THREADS", "two", "COMPPLAN_THREADS must be a positive integer, got 'two'"),
        ("COMPPLAN_POOL_BYTES", "2GB", "COMPPLAN_POOL_BYTES must be a whole number of bytes (0 turns pooling off)"),
    ],
)
def test_the_cli_reports_a_bad_setting_and_writes_nothing(tmp_path: Path, name: str, value: str, message: str) -> None:
    env = {**os.environ, name: value}
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "compplan", "demo", "--members", "500", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("count", [1, 2, 3])
def test_run_ahead_consumes_in_order_and_never_reuses_a_buffer_in_use(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    width = count
    slots = [np.zeros(1, dtype=np.int64) for _ in range(2 * width)]
    seen: list[int] = []

    def fn(i: int) -> np.ndarray:
        slot = slots[i % (2 * width)]
        slot[0] = i  # a buffer still being consumed would show another item's number
        return slot

    def consume(slot: np.ndarray) -> None:
        seen.append(int(slot[0]))

    threads.run_ahead(fn, list(range(200)), consume, width)
    assert seen == list(range(200))


@pytest.mark.parametrize("plan_path", PLANS[:3], ids=lambda p: p.stem)
def test_result_files_are_the_same_bytes_for_any_thread_count_and_block(
    plan_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from compplan.io import csvio
    from compplan.io.output import write_result

    plan = load_plan(plan_path)
    members, orders = generate(2_000, seed=3, period="2026-10")
    result = close(plan, place_if_needed(plan, members), orders, "2026-10", ledger=True)
    written = []
    for count, rows, buffer in ((1, 10**9, 2**25), (2, 1, 3_000), (3, 7, 50_000)):
        monkeypatch.setenv("COMPPLAN_THREADS", str(count))
        monkeypatch.setattr(csvio, "BLOCK_ROWS_PER_THREAD", rows)
        monkeypatch.setattr(csvio, "WRITE_BUFFER", buffer)  # blocks of a few rows: many rounds
        out = write_result(result, tmp_path / f"out{count}")
        written.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert written[0]["members.csv"].count(b"\n") == len(result) + 1
    assert written[0] == written[1] == written[2]


def test_run_parts_inside_a_part_runs_on_that_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that splits its own work again (an array zeroed in parts, say) gets it done on its own thread:
    with every pool thread waiting for the pool, nested parts would never start."""
    monkeypatch.setenv("COMPPLAN_THREADS", "2")

    def part(k: int) -> tuple[int, set[str]]:
        names = threads.run_parts(lambda j: (j, threading.current_thread().name), [0, 1, 2, 3])
        return k + sum(j for j, _ in names), {name for _, name in names}

    results = threads.run_parts(part, [10, 20])
    assert [total for total, _ in results] == [16, 26]
    assert all(len(names) == 1 for _, names in results)  # each nested call stayed on one thread
    # and once the parts are done, the thread runs parts on the pool again
    assert len({name for _, name in threads.run_parts(lambda j: (j, threading.current_thread().name), [0, 1])}) == 2


def test_run_ahead_inside_a_part_runs_on_that_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_ahead called from a part (every pool thread busy) consumes in order on the part's own thread."""
    monkeypatch.setenv("COMPPLAN_THREADS", "2")

    def part(k: int) -> list[int]:
        seen: list[int] = []
        threads.run_ahead(lambda i: i * k, list(range(6)), seen.append, width=2)
        return seen

    assert threads.run_parts(part, [1, 2, 3]) == [[i * k for i in range(6)] for k in (1, 2, 3)]
