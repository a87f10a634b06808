"""What the machine's memory costs: the floor under every pass of a close.

    .venv/bin/python benchmarks/bench_memory.py --items 10000000

On one core, over an int64 array of ``--items`` (80 MB at 10M): a dependent chain of loads (each address comes
out of the previous load, as in a tree walk), independent random loads and random read-modify-writes (as in a
gather and a scatter-add), the same scatter with sorted indices, a sequential copy into an existing array, and
filling a freshly allocated array (its page faults included). Best of ``--repeat``, in ns per item or ms.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np


@numba.njit(cache=True)
def _chase(nxt: Any, steps: int) -> int:
    i = 0
    for _ in range(steps):
        i = nxt[i]
    return i


@numba.njit(cache=True)
def _gather(a: Any, idx: Any) -> int:
    s = 0
    for i in idx:
        s += a[i]
    return s


@numba.njit(cache=True)
def _scatter(a: Any, idx: Any) -> None:
    for i in idx:
        a[i] += 1


def _best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # compile / warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.items
    rng = np.random.default_rng(1)
    perm = rng.permutation(n)
    nxt = np.empty(n, dtype=np.int64)
    nxt[perm] = np.roll(perm, -1)  # one cycle through every item in random order
    idx = rng.integers(0, n, 3 * n)
    ordered = np.sort(idx)
    a = np.zeros(n, dtype=np.int64)
    b = np.ones(n, dtype=np.int64)
    rows = [
        ("dependent loads (a chain)", _best(lambda: _chase(nxt, n), args.repeat) / n * 1e9, "ns/item"),
        ("random loads", _best(lambda: _gather(a, idx), args.repeat) / len(idx) * 1e9, "ns/item"),
        ("random read-modify-writes", _best(lambda: _scatter(a, idx), args.repeat) / len(idx) * 1e9, "ns/item"),
        ("sorted read-modify-writes", _best(lambda: _scatter(a, ordered), args.repeat) / len(idx) * 1e9, "ns/item"),
        ("copy into an existing array", _best(lambda: np.copyto(a, b), args.repeat) * 1e3, "ms"),
        ("fill a fresh array", _best(lambda: np.empty(n, dtype=np.int64).fill(1), args.repeat) * 1e3, "ms"),
    ]
    print(f"{n:,} int64 items ({n * 8 / 2**20:.0f} MB), one core, best of {args.repeat}")
    print()
    print("| access | cost |")
    print("| --- | ---: |")
    for name, value, unit in rows:
        print(f"| {name} | {value:.1f} {unit} |")


if __name__ == "__main__":
    main()
