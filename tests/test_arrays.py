"""compplan.arrays: numpy's empty / zeros / full on pooled buffers, reused once no array uses them."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from compplan import InputError, arrays, close, load_plan, threads
from compplan.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]

MB = 2**20


@pytest.fixture(autouse=True)
def clean_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real sizes and no garbage fill (tests/conftest.py pools every size), an empty pool around each test."""
    monkeypatch.setattr(arrays, "POOL_MIN_BYTES", 4 * MB)
    monkeypatch.setattr(arrays, "POISON", None)
    monkeypatch.delenv("COMPPLAN_POOL_BYTES", raising=False)
    gc.collect()  # an earlier test's garbage cycles (a caught error's traceback, its frames) may hold pool arrays
    arrays.release()
    yield
    arrays.release()


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [(600_000, np.int64), (5 * MB, np.bool_), (1_500_000, np.int32), ((3, 250_000), np.int64), (5_000_000, np.int64)],
)
def test_large_arrays_are_numpy_arrays_on_pooled_buffers(shape: int | tuple[int, int], dtype: type) -> None:
    for make in (arrays.empty, arrays.zeros, lambda s, d: arrays.full(s, 1, d)):
        a = make(shape, dtype)
        assert a.shape == (shape if isinstance(shape, tuple) else (shape,)) and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable and a.base is not None
        a[...] = 1
        assert int(a.sum()) == a.size
    assert not arrays.zeros(shape, dtype).any()
    assert (arrays.full(shape, 1, dtype) == 1).all()
    like = arrays.empty_like(np.ones(shape, dtype))
    assert like.shape == np.shape(np.ones(shape)) and like.dtype == dtype


def test_small_arrays_are_plain_numpy() -> None:
    for a in (arrays.empty(1000), arrays.zeros((2, 10), np.int32), arrays.full(5, -1, np.int64), arrays.zeros(0)):
        assert a.base is None  # owns its data
    assert arrays.full(3, -1).tolist() == [-1, -1, -1] and arrays.zeros((2, 2), bool).tolist() == [[False] * 2] * 2
    assert arrays.pooled_bytes() == (0, 0)


def test_a_buffer_is_reused_only_once_no_array_uses_it() -> None:
    a = arrays.full(MB, 7)  # 8 MB
    address = a.ctypes.data
    view = a[10:20]  # a view keeps the buffer in use
    del a
    b = arrays.zeros(MB)
    assert b.ctypes.data != address and not b.any() and view.tolist() == [7] * 10
    del view
    c = arrays.zeros(MB)  # the first buffer is free now: reused, and zeroed
    assert c.ctypes.data == address and not c.any()
    assert arrays.pooled_bytes() == (2 * 8 * MB, 0)
    del b
    assert arrays.pooled_bytes() == (8 * MB, 8 * MB)
    d = arrays.empty(2 * MB, np.int32)  # any dtype and shape of the same byte size
    assert d.dtype == np.int32 and arrays.pooled_bytes() == (2 * 8 * MB, 0)
    del c, d
    assert arrays.release() == 2 * 8 * MB and arrays.pooled_bytes() == (0, 0)


def test_a_new_buffer_first_frees_unused_ones_so_the_pool_stays_within_its_peak_use() -> None:
    for _ in range(3):
        arrays.empty(MB)  # 8 MB each, unused at once: the same buffer every time; the peak use is 8 MB
    assert arrays.pooled_bytes() == (0, 8 * MB)
    kept = [arrays.empty(MB // 2) for _ in range(2)]  # 4 MB: too small for the 8 MB buffer, which goes first
    assert arrays.pooled_bytes() == (2 * 4 * MB, 0)
    del kept
    big = arrays.empty(3 * MB)  # 24 MB: the two unused 4 MB buffers go first
    assert arrays.pooled_bytes() == (24 * MB, 0) and big.nbytes == 24 * MB
    del big
    a, b = arrays.empty(MB), arrays.empty(MB)  # 24 MB is more than 1.5 x 8 MB: freed, then two new buffers
    assert arrays.pooled_bytes() == (16 * MB, 0)
    del a, b
    assert arrays.pooled_bytes() == (0, 16 * MB)


def test_a_request_takes_an_unused_buffer_up_to_fit_times_its_size() -> None:
    arrays.empty(MB)  # an 8 MB buffer, unused
    small = arrays.empty(700_000)  # 5.6 MB: 8 MB is within 1.5 times
    assert small.base is not None and small.base.nbytes == 8 * MB and small.nbytes == 5_600_000
    smaller = arrays.empty(600_000)  # 4.8 MB: 8 MB is more than 1.5 times, and in use anyway
    assert smaller.base is not None and smaller.base.nbytes == 4_800_000
    del small
    again = arrays.empty(600_000)  # still more than 1.5 times: its own buffer, not the unused 8 MB one
    assert again.base is not None and again.base.nbytes == 4_800_000


def test_the_limit_bounds_unused_buffers_and_zero_turns_pooling_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", str(20 * MB))
    held = [arrays.empty(MB) for _ in range(3)]  # 3 x 8 MB in use
    del held
    arrays.empty(2 * MB)  # 16 MB, a miss: unused buffers are cut to 20 - 16 MB, at least 16 MB freed
    assert arrays.pooled_bytes() == (0, 16 * MB)
    arrays.trim()
    assert arrays.pooled_bytes() == (0, 16 * MB)
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", "0")
    arrays.trim()
    a = arrays.empty(MB)
    assert arrays.pooled_bytes() == (0, 0) and a.nbytes == 8 * MB


def test_garbage_fill_of_reused_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrays, "POISON", 0xA5)
    arrays.full(MB, 0)
    again = arrays.empty(MB)
    assert (again.view(np.uint8) == 0xA5).all()
    assert not arrays.zeros(MB).any()


def test_threads_never_get_the_same_buffer() -> None:
    got: list[np.ndarray] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(20):
            a = arrays.empty(MB)
            with lock:
                got.append(a)

    workers = [threading.Thread(target=grab) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len({a.ctypes.data for a in got}) == len(got) == 80  # all alive at once: 80 distinct buffers


def test_a_close_leaves_at_most_the_limit_unused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrays, "POOL_MIN_BYTES", 1)  # pool the arrays of a small close
    members, orders = generate(2_000, seed=3, period="2026-10")
    program = load_plan(ROOT / "plans" / "hybrid_leadership.yaml")
    first = close(program, members, orders, "2026-10")
    in_use, unused = arrays.pooled_bytes()
    assert in_use > 0 and unused > 0  # the result's columns, and the close's work arrays kept for the next one
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", "0")
    second = close(program, members, orders, "2026-10")
    assert arrays.pooled_bytes()[1] == 0  # trimmed to the limit after the close
    assert np.array_equal(first.total, second.total)


def test_dropped_results_are_trimmed_to_the_limit_at_the_next_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrays, "POOL_MIN_BYTES", 1)
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", str(MB))
    members, orders = generate(20_000, seed=3, period="2026-10")
    result = close(load_plan(ROOT / "plans" / "hybrid_leadership.yaml"), members, orders, "2026-10")
    assert arrays.pooled_bytes()[1] <= MB  # trimmed when the close ended
    del result  # its columns are unused now, beyond the limit until the next request, close or release()
    assert arrays.pooled_bytes()[1] > MB
    arrays.empty(10)
    assert arrays.pooled_bytes()[1] <= MB


def test_object_arrays_are_plain_numpy() -> None:
    a = arrays.empty(MB, object)  # 8 MB of references
    assert a.dtype == object and a.base is None and arrays.pooled_bytes() == (0, 0)
    assert arrays.full(MB, None, object)[0] is None


@pytest.mark.parametrize("text", ["2G", "1e9", "-1", "lots"])
def test_a_bad_pool_size_is_an_input_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", text)
    with pytest.raises(InputError, match="COMPPLAN_POOL_BYTES must be a whole number of bytes"):
        arrays.empty(MB)
    monkeypatch.setenv("COMPPLAN_POOL_BYTES", "1_000_000")
    assert arrays.pool_limit() == 1_000_000


def test_the_pool_is_reachable_from_the_package() -> None:
    code = "import compplan; print(compplan.arrays.release(), compplan.arrays.pooled_bytes())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["0", "(0,", "0)"]


def test_large_reused_buffers_are_zeroed_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """From ZERO_PARTS_BYTES on, zeros() clears a reused buffer on every core: every byte, whatever its garbage."""
    monkeypatch.setattr(arrays, "POISON", 0xA5)
    monkeypatch.setattr(arrays, "ZERO_PARTS_BYTES", 4 * MB)
    monkeypatch.setattr(threads, "MIN_PART", 1000)
    monkeypatch.setenv("COMPPLAN_THREADS", "3")
    first = arrays.empty(MB + 7)  # odd sizes: the parts do not fall on word boundaries
    assert (first.view(np.uint8) == 0xA5).all()
    del first
    again = arrays.zeros(MB + 7)
    assert again.shape == (MB + 7,) and not again.any()
    # inside a part of run_parts the fill stays on that thread (no pool thread waits for the pool)
    inner = threads.run_parts(lambda k: int(arrays.zeros(MB + k).sum()) + k, [0, 1, 2])
    assert inner == [0, 1, 2]
