"""compplan: declarative compensation plans, compiled to exact, fast period closes.

The plan language (:mod:`compplan.spec`) loads without numba; the engine is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compplan.errors import CompplanError, EngineError, InputError, PlanError
from compplan.spec import Plan, load_plan, parse_plan

__version__ = "0.1.0"

if TYPE_CHECKING:
    from compplan.engine import CloseResult, close
    from compplan.inputs import Events, Members, Orders, Period, State

_LAZY = {
    "close": "compplan.engine",
    "CloseResult": "compplan.engine",
    "Events": "compplan.inputs",
    "Members": "compplan.inputs",
    "Orders": "compplan.inputs",
    "Period": "compplan.inputs",
    "State": "compplan.inputs",
}

#: Submodules reachable as attributes before anything imported them (``compplan.arrays.release()``).
_SUBMODULES = ("arrays",)

__all__ = [
    "CloseResult",
    "CompplanError",
    "EngineError",
    "Events",
    "InputError",
    "Members",
    "Orders",
    "Period",
    "Plan",
    "PlanError",
    "State",
    "close",
    "load_plan",
    "parse_plan",
]


def __getattr__(name: str) -> Any:
    # Keep `import compplan` (and so `compplan validate`) free of numpy/numba start-up cost.
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"compplan.{name}")
    raise AttributeError(f"module 'compplan' has no attribute {name!r}")
