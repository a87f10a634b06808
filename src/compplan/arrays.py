"""Member-sized arrays on huge pages.

numpy asks the kernel for transparent huge pages (``madvise``) on every array of 4 MB or more right after
allocating it; arrays allocated inside numba kernels never get that advice. Where the system gives huge pages
only on request (``madvise``, as on the benchmark machine), an 80 MB array then sits on 20,000 pages of 4 KB
instead of 40 of 2 MB, and every random access into it misses the TLB and walks the page tables (in a virtual
machine, twice): the order check at 10M ran 20% faster with its lookup table on huge pages. So arrays that
kernels read or write at random are allocated here or with numpy, and those kernels take them from the caller.
``np.zeros`` is avoided for them: ``calloc`` may zero a recycled block before numpy's advice, in 4 KB pages.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def zeros(shape: int | tuple[int, ...], dtype: Any = np.int64) -> np.ndarray:
    """``np.zeros(shape, dtype)``, zeroed after numpy's huge-page advice rather than by ``calloc`` before it."""
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out
