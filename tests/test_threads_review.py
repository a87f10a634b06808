"""Review of the multi-threaded close (compplan.threads and the kernels that run in parts)."""

from __future__ import annotations

import threading

import pytest

from compplan import threads


def test_a_bigger_pool_for_another_thread_does_not_break_a_run_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two closes on different threads may need pools of different sizes (their networks split into different
    numbers of parts). When one grows the shared pool while the other has just looked it up, the other's
    submissions must still run instead of failing with "cannot schedule new futures after shutdown"."""
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "_pool_size", 0)
    real = threads._executor
    other: list[list[int]] = []
    fired = threading.Event()

    def racing(workers: int):  # type: ignore[no-untyped-def]
        pool = real(workers)
        if not fired.is_set():  # between this thread's lookup and its submit, another thread needs more workers
            fired.set()
            t = threading.Thread(
                target=lambda: other.append(threads.run_parts(lambda x: x + 1, list(range(workers + 4))))
            )
            t.start()
            t.join()
        return pool

    monkeypatch.setattr(threads, "_executor", racing)
    assert threads.run_parts(lambda x: 2 * x, [1, 2, 3]) == [2, 4, 6]
    assert other == [[1, 2, 3, 4, 5, 6]]
