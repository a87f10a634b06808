"""Running one kernel over parts of a range on every core.

Kernels are compiled with ``nogil=True``, so plain Python threads run them in parallel. A kernel that can work
on a range ``[lo, hi)`` of its items (order lines, or sources in preorder) is run once per part, each part into
its own output, and the parts are then combined in part order. Every combination is exact integer addition or
concatenation in range order, so results, ledger lines included, are identical whatever the number of threads.

The number of threads is ``COMPPLAN_THREADS`` when set, else the CPUs this process may run on. A part is never
smaller than :data:`MIN_PART` items: below that, starting a thread costs more than it saves.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from compplan.errors import InputError, Problem

T = TypeVar("T")
X = TypeVar("X")

#: Fewest items per part (tests lower it to run small inputs in many parts).
MIN_PART = 100_000

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_in_part = threading.local()  # .active: this thread is running a part of run_parts or an item of run_ahead


def thread_count() -> int:
    """Threads to use: ``COMPPLAN_THREADS`` (a positive integer) or the CPUs available to this process.

    Raises
    ------
    InputError
        ``COMPPLAN_THREADS`` is set to something else than a positive integer.
    """
    text = os.environ.get("COMPPLAN_THREADS", "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise InputError(
                [Problem("bad_threads", f"COMPPLAN_THREADS must be a positive integer, got {text!r}", "environment")]
            )
        return count
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def parts(n: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most :func:`thread_count` contiguous parts of at least :data:`MIN_PART`."""
    count = max(1, min(thread_count(), n // max(MIN_PART, 1)))
    bounds = [n * i // count for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


def run_parts(fn: Callable[[X], T], items: Sequence[X], worth: bool = True) -> list[T]:
    """``[fn(item) for item in items]``, the items after the first on pool threads.

    One after the other on the calling thread when there is one item, one thread (:func:`thread_count`), the
    caller says the work is not ``worth`` a thread, or the call comes from inside a part of another
    ``run_parts`` (every core is busy already, and a pool thread waiting for the pool could wait forever).
    """
    if len(items) <= 1 or not worth or thread_count() < 2 or getattr(_in_part, "active", False):
        return [fn(item) for item in items]
    part = _as_part(fn)
    futures = [_executor(len(items) - 1).submit(part, item) for item in items[1:]]
    first = part(items[0])  # the calling thread takes the first part
    return [first, *(f.result() for f in futures)]


def _as_part(fn: Callable[[X], T]) -> Callable[[X], T]:
    """``fn``, marking the thread that runs it as inside a part (a :func:`run_parts` in it runs serially)."""

    def part(item: X) -> T:
        before = getattr(_in_part, "active", False)
        _in_part.active = True
        try:
            return fn(item)
        finally:
            _in_part.active = before

    return part


def run_ahead(fn: Callable[[X], T], items: Sequence[X], consume: Callable[[T], object], width: int) -> None:
    """``consume(fn(item))`` for every item, in order, with ``fn`` running on pool threads while ``consume`` runs.

    At most ``2 * width`` items are in flight, the one being consumed included, so ``fn`` may write item
    ``i``'s output into buffer ``i % (2 * width)``: an item is only started once the item that used its buffer
    before has been consumed. One after the other on the calling thread when ``width`` is 1, there is one
    thread, or the call comes from inside a part (as :func:`run_parts`).
    """
    if width <= 1 or thread_count() < 2 or getattr(_in_part, "active", False):  # inside a part: see run_parts
        for item in items:
            consume(fn(item))
        return
    pool = _executor(width)
    fn = _as_part(fn)
    ahead = 2 * width
    futures: collections.deque[Future[T]] = collections.deque(pool.submit(fn, x) for x in items[:ahead])
    for i in range(len(items)):
        done = futures.popleft()
        consume(done.result())
        if i + ahead < len(items):  # item i's buffer is free again
            futures.append(pool.submit(fn, items[i + ahead]))


def add_parts(arrays: list[np.ndarray]) -> np.ndarray:
    """The element-wise sum of per-part outputs (into the first)."""
    total = arrays[0]
    for other in arrays[1:]:
        total += other
    return total


def _executor(workers: int) -> ThreadPoolExecutor:
    """The shared pool, replaced by a bigger one when it has fewer than ``workers`` threads.

    A replaced pool is not shut down: another thread (a close running at the same time) may have just looked it
    up and still submit to it. Its threads finish their work and exit once nothing refers to it any more.
    """
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compplan")
            _pool_size = workers
        return _pool
