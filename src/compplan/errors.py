"""Errors raised by compplan.

Every error a user can cause derives from :class:`CompplanError` and carries one or more :class:`Problem`
records, so all problems of one input are reported together::

    CompplanError
     +-- PlanError        a plan file or plan object is invalid      (exit code 1 in the CLI)
     +-- InputError       members, orders, state or arguments are bad (exit code 1 in the CLI)
     +-- EngineError      an internal invariant failed: a bug        (exit code 3 in the CLI)

Each problem has a stable ``code`` (see docs/errors.md), a ``where`` ("plan.yaml:7:13" or
"members.csv:42") and a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: How many problems a report shows before "... and N more".
MAX_SHOWN = 50
#: Problems of one kind listed row by row before the rest are counted.
ROWS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input.

    Parameters
    ----------
    code : str
        Stable reason code, e.g. ``"unknown_sponsor"``.
    message : str
        Human readable explanation, naming the member id, field or value at fault.
    where : str
        Location prefix: ``"FILE:LINE:COL"``, ``"FILE:LINE"`` or ``""`` when there is none.
    """

    code: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class CompplanError(Exception):
    """Base class of every error compplan raises on purpose."""

    #: Process exit code used by the command line for this class of error.
    exit_code = 1

    def __init__(self, problems: Iterable[Problem] | str, *, title: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("error", problems)]
        self.problems: list[Problem] = list(problems)
        self.title = title
        self.parts: list[CompplanError] = []  # set by together()
        super().__init__(self.report())

    @classmethod
    def together(cls, errors: Sequence[CompplanError]) -> CompplanError:
        """One error listing every problem of ``errors`` (of several inputs), each input's under its own title.

        A new error, and the given ones lose their tracebacks: a caller that collected them in a list while
        catching them would otherwise keep a reference cycle (the list, an error, its traceback, the caller's
        frame, the list) holding every array of the failed run until the garbage collector runs.
        """
        parts = [part for e in errors for part in (e.parts or [e])]  # a merged error contributes its parts
        for part in parts:
            part.with_traceback(None)
        if len(parts) == 1:
            return type(parts[0])(parts[0].problems, title=parts[0].title)
        merged = cls([p for part in parts for p in part.problems])
        merged.parts = parts
        merged.args = (merged.report(),)
        return merged

    def report(self, limit: int = MAX_SHOWN) -> str:
        """Return every problem on its own line, capped at ``limit`` with an "... and N more" line."""
        if self.parts:
            return "\n".join(part.report(limit) for part in self.parts)
        lines = [self.title] if self.title else []
        lines += [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more")
        return "\n".join(lines)

    @property
    def codes(self) -> list[str]:
        """Reason codes of the problems, in report order."""
        return [p.code for p in self.problems]


class PlanError(CompplanError):
    """The plan is invalid: YAML syntax, a field value, or a cross reference."""


class InputError(CompplanError):
    """Period input is invalid: members, orders, state, period or command-line arguments."""


class EngineError(CompplanError):
    """An internal invariant failed. This is a bug in compplan; please report it."""

    exit_code = 3


class ProblemCollector:
    """Accumulate problems and raise them together.

    Examples
    --------
    >>> c = ProblemCollector()
    >>> c.add("bad", "x is bad", "f.csv:2")
    >>> c.raise_if_any(InputError)
    Traceback (most recent call last):
    ...
    compplan.errors.InputError: f.csv:2: x is bad
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, code: str, message: str, where: str = "") -> None:
        """Record one problem."""
        self.problems.append(Problem(code, message, where))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, cls: type[CompplanError], title: str = "") -> None:
        """Raise ``cls`` with every recorded problem, if there is any."""
        if self.problems:
            raise cls(self.problems, title=title)


def add_rows(
    problems: ProblemCollector, code: str, rows: Any, message: Callable[..., str], where: Callable[..., str]
) -> None:
    """Add one problem per row (the first :data:`ROWS_SHOWN`), then one line counting the rest.

    ``rows``: a sequence or numpy array of row numbers, only sliced (it may be long).
    """
    for row in rows[:ROWS_SHOWN]:
        problems.add(code, message(int(row)), where(int(row)))
    if len(rows) > ROWS_SHOWN:
        problems.add(code, f"... and {len(rows) - ROWS_SHOWN} more rows with the same problem ({code})")
