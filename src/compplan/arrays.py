"""Member-sized arrays: on huge pages, and reused instead of mapped afresh.

A close is a few dozen passes over fresh member- and line-sized arrays, so how the memory under them is mapped
shows in its time. Where the system gives transparent huge pages only on request (``madvise``, as on the
benchmark machine):

* numpy advises huge pages on every array of 4 MB or more; arrays allocated inside numba kernels never get
  the advice and sit on 4 KB pages (an 80 MB array on 20,000 pages instead of 40), so every random access into
  them misses the TLB and walks the page tables (in a virtual machine, twice). Kernels that read or write an
  array at random therefore take it from the caller rather than allocate it.
* every fresh page is a page fault and a zeroing by the kernel: a 10M close made ~27,000 page faults, 1.3-1.9 s
  of kernel time (a 1M close ~14,000, 60-80 ms).

So the arrays of a close come from here, and from :data:`POOL_MIN_BYTES` up they are **pooled**: :func:`empty`,
:func:`zeros` and :func:`full` give a view of a numpy buffer, and a buffer that no array uses any more (its
reference count says so) serves a later request of its size, or a little smaller (:data:`FIT`), later in the
same close or in the next one, without a page fault. The pool keeps no more bytes than the most its arrays
ever used at once (before it maps a new buffer it frees unused ones, oldest first, to stay within that; it
does not count numpy's own temporaries, so pooled buffers can coexist with them at a peak: +0.08 GB at 10M).
Beyond that it keeps at most :func:`pool_limit` bytes of unused buffers (``COMPPLAN_POOL_BYTES``; ``0`` turns
pooling off), checked when a close ends and at every request; arrays dropped later (a close's result) stay in
the pool until the next request or close. :func:`release` frees every unused buffer at once (the CLI does so
before it writes its outputs; a long-lived process may do so after a large close or when it goes idle).

Large zeroed arrays that are not reused are ``calloc``'d (:data:`FRESH_BYTES`): fresh zero pages, faulted in by
whichever thread first writes each page; smaller ones are filled after numpy's advice, since ``calloc`` may
take a recycled block and zero it first, in 4 KB pages. Below :data:`POOL_MIN_BYTES`, and for object dtypes,
these are plain numpy.

Nothing reads an array's contents before writing them (:func:`empty` of a reused buffer holds old values; the
test suite pools every size and fills every buffer :func:`empty` hands out with garbage, :data:`POISON`, to
prove it).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import numpy as np

from compplan import threads
from compplan.errors import InputError, Problem

#: Arrays at least this large are pooled (numpy advises huge pages from 4 MB on).
POOL_MIN_BYTES = 4 * 2**20
#: Blocks at least this large are always mapped fresh, zeroed, by glibc's calloc (its largest mmap threshold).
FRESH_BYTES = 32 * 2**20
#: Reused buffers from this size on are zeroed on every core (:func:`_fill_zero`).
ZERO_PARTS_BYTES = 16 * 2**20
#: Default bound of the unused buffers kept between closes (``COMPPLAN_POOL_BYTES`` overrides it).
POOL_BYTES = 2 * 2**30
#: At most this many unused buffers are kept (each request scans them).
POOL_BUFFERS = 256
#: A request may take an unused buffer up to this many times its size (rather than map a new one).
FIT = 1.5
#: Fill the buffers :func:`empty` hands out with this byte (tests: catches reads of unwritten memory).
POISON: int | None = None

Shape = int | tuple[int, ...]


def empty(shape: Shape, dtype: Any = np.int64) -> np.ndarray:
    """``np.empty(shape, dtype)``, from the pool (see the module docstring)."""
    out = _pooled(shape, dtype, zero=False)
    return np.empty(shape, dtype=dtype) if out is None else out


def zeros(shape: Shape, dtype: Any = np.int64) -> np.ndarray:
    """``np.zeros(shape, dtype)``, from the pool."""
    out = _pooled(shape, dtype, zero=True)
    return np.zeros(shape, dtype=dtype) if out is None else out


def full(shape: Shape, value: Any, dtype: Any = np.int64) -> np.ndarray:
    """``np.full(shape, value, dtype)``, from the pool."""
    out = empty(shape, dtype)
    out.fill(value)
    return out


def empty_like(like: np.ndarray) -> np.ndarray:
    """``np.empty_like(like)`` (C order), from the pool."""
    return empty(like.shape, like.dtype)


def pool_limit() -> int:
    """Bytes of unused buffers the pool may keep: ``COMPPLAN_POOL_BYTES`` or :data:`POOL_BYTES`.

    Raises
    ------
    InputError
        ``COMPPLAN_POOL_BYTES`` is set to something else than a whole number of bytes.
    """
    text = os.environ.get("COMPPLAN_POOL_BYTES", "").strip().replace("_", "")
    if not text:
        return POOL_BYTES
    if not text.isdigit():
        raise InputError(
            [
                Problem(
                    "bad_pool_bytes",
                    f"COMPPLAN_POOL_BYTES must be a whole number of bytes (0 turns pooling off), got {text!r}",
                    "environment",
                )
            ]
        )
    return int(text)


def release() -> int:
    """Free every pooled buffer that no array uses; returns the bytes freed."""
    global _high_water
    with _lock:
        _high_water = 0
        return _drop(0, 0)


def trim() -> int:
    """Free unused buffers beyond :func:`pool_limit` (the engine does so after every close); the bytes freed."""
    with _lock:
        return _drop(POOL_BUFFERS, pool_limit())


def pooled_bytes() -> tuple[int, int]:
    """Bytes of the pool's buffers in use and unused."""
    with _lock:
        return _usage()[1:]


_lock = threading.Lock()
_buffers: list[np.ndarray] = []  # least recently handed out first
_high_water = 0  # the most bytes the pool's arrays used at once (since the last release)


def _unused(i: int) -> bool:
    """No array uses ``_buffers[i]``: the pool holds its only reference."""
    return sys.getrefcount(_buffers[i]) <= _UNUSED


def _usage() -> tuple[list[bool], int, int]:
    """Which buffers are unused, and the bytes in use and unused. Call with the lock held."""
    free = [_unused(i) for i in range(len(_buffers))]
    unused = sum(b.nbytes for b, f in zip(_buffers, free, strict=True) if f)
    return free, sum(b.nbytes for b in _buffers) - unused, unused


def _calibrate() -> int:
    _buffers.append(np.empty(1, dtype=np.uint8))
    try:
        return sys.getrefcount(_buffers[0])  # the expression of _unused, counted by this interpreter
    finally:
        _buffers.clear()


_UNUSED = _calibrate()


def _pooled(shape: Shape, dtype: Any, zero: bool) -> np.ndarray | None:
    """A C-ordered array on a pooled buffer, or ``None`` below :data:`POOL_MIN_BYTES`."""
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    if nbytes < POOL_MIN_BYTES or dt.hasobject:  # object arrays hold references: never on raw bytes
        return None
    out: np.ndarray = _take(nbytes, zero).view(dt).reshape(shape)
    return out


def _take(size: int, zero: bool) -> np.ndarray:
    """An unused pooled buffer of ``size`` bytes, or a new one (kept in the pool unless pooling is off)."""
    global _high_water
    limit = pool_limit()
    raw = None
    with _lock:
        free, in_use, unused = _usage()
        _high_water = max(_high_water, in_use + size)
        if unused > limit:  # arrays dropped since the last request or close
            _drop(POOL_BUFFERS, limit)
            free = _usage()[0]
        best = -1  # the smallest unused buffer that fits, the most recently used of equals (likeliest in cache)
        for i in range(len(_buffers) - 1, -1, -1):
            b = _buffers[i].nbytes
            if free[i] and size <= b <= FIT * size and (best < 0 or b < _buffers[best].nbytes):
                best = i
                if b == size:
                    break
        if best >= 0:
            raw = _buffers.pop(best)
            _buffers.append(raw)
        else:  # keep no more unused bytes than the most the pool's arrays ever needed at once leaves room for
            _drop(POOL_BUFFERS - 1, min(limit, _high_water - in_use) - size)
    if raw is not None:
        raw = raw[:size]
        if zero:
            _fill_zero(raw)
        elif POISON is not None:
            raw.fill(POISON)
        return raw
    if zero and size >= FRESH_BYTES:
        raw = np.zeros(size, dtype=np.uint8)  # fresh zero pages, faulted in by the threads that write them
    else:
        raw = np.empty(size, dtype=np.uint8)  # advised before the first write (calloc may zero it first)
        if zero:
            raw.fill(0)
        elif POISON is not None:
            raw.fill(POISON)
    if limit >= size:
        with _lock:
            _buffers.append(raw)
    return raw


def _fill_zero(raw: np.ndarray) -> None:
    """Zero a reused buffer, in parts on every core from :data:`ZERO_PARTS_BYTES` on (numpy lets the GIL go).

    80 MB (10M int64): 9 ms on one core, 5.7 ms on two. Inside a part of :func:`threads.run_parts` the fill
    stays on the calling thread.
    """
    if len(raw) < ZERO_PARTS_BYTES:
        raw.fill(0)
        return
    threads.run_parts(lambda r: raw[r[0] : r[1]].fill(0), threads.parts(len(raw)))


def _drop(keep_buffers: int, keep_bytes: int) -> int:
    """Free unused buffers, oldest first, until at most ``keep_buffers`` and ``keep_bytes`` unused remain.

    Returns the bytes freed. Call with the lock held.
    """
    unused = [i for i in range(len(_buffers)) if _unused(i)]
    left = sum(_buffers[i].nbytes for i in unused)
    freed = 0
    gone: set[int] = set()
    for i in unused:
        if len(unused) - len(gone) <= keep_buffers and left - freed <= keep_bytes:
            break
        gone.add(i)
        freed += _buffers[i].nbytes
    if gone:
        _buffers[:] = [b for i, b in enumerate(_buffers) if i not in gone]
    return freed
