"""The one place that owns numba options, so no kernel disagrees.

* ``cache=True``: kernels are generic (the plan arrives as parameter arrays), so one compiled version serves
  every plan and is reused across processes.
* ``error_model="numpy"``: no Python exception machinery in hot loops; inputs are validated before a kernel runs.
* ``fastmath`` is off: every kernel is integer arithmetic and must be exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def jit(func: F) -> F:
    """Compile ``func`` with compplan's numba options (nopython mode)."""
    return numba.njit(**JIT_OPTIONS)(func)  # type: ignore[no-any-return]
