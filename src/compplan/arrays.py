"""Member-sized arrays on huge pages.

numpy asks the kernel for transparent huge pages (``madvise``) on every array of 4 MB or more right after
allocating it; arrays allocated inside numba kernels never get that advice. Where the system gives huge pages
only on request (``madvise``, as on the benchmark machine), an 80 MB array then sits on 20,000 pages of 4 KB
instead of 40 of 2 MB, and every random access into it misses the TLB and walks the page tables (in a virtual
machine, twice): the order check at 10M ran 20% faster with its lookup table on huge pages. So arrays that
kernels read or write at random are allocated here or with numpy, and those kernels take them from the caller.
:func:`zeros` is ``np.zeros`` for large arrays, which the C allocator maps fresh (zero, untouched, advised
before the first write, then faulted in by whichever thread first writes each page), and ``np.empty`` + fill
for smaller ones, which ``calloc`` may take from a recycled block and zero before numpy's advice, in 4 KB pages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Blocks at least this large are always mapped fresh by glibc's malloc (its largest mmap threshold).
FRESH_BYTES = 32 * 2**20


def zeros(shape: int | tuple[int, ...], dtype: Any = np.int64) -> np.ndarray:
    """``np.zeros(shape, dtype)`` on huge pages (see the module docstring)."""
    if int(np.prod(shape)) * np.dtype(dtype).itemsize >= FRESH_BYTES:
        return np.zeros(shape, dtype=dtype)  # zero pages, faulted in as huge pages when first written
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out
