"""Seeded synthetic networks (members and a period's orders) for ``compplan demo`` and the benchmarks.

Everything is vectorised with numpy: 10 million members and about 30 million order lines take seconds, not
minutes. The same arguments always give identical arrays.

Model (``shape="realistic"``)
-----------------------------
Members are generated in enrolment order (row ``i`` enrolled on or after row ``i - 1``), so every sponsor
enrolled on or before its recruits. A fifth of the members ever recruit anybody. A new member's sponsor is
picked either among the earlier recruiters, favouring recent ones (half the time), or by "copying" the sponsor
of a uniformly chosen earlier member (the other half). Copying picks a sponsor with probability proportional to
its number of children, so together the attachment weight grows like ``1 + children``: preferential
attachment, which gives the heavy-tailed fan-out of a real network (most members have no recruit, a few leaders
have thousands) at a depth in the tens. The copy chains are resolved with pointer jumping, a handful of
whole-array passes.

Enrolment dates grow exponentially (40 % a year) over six years up to the period end, so about 3 % of the
members enrol inside a one-month period (and earn their enrollers a fast start). About two thirds of the
members place no order in the period; new members, recruiters and leaders are more likely to buy, and leaders
buy much more. Order lines are lognormal around 70 points (two decimals), CV is 80-100 % of PV, dates are
uniform inside the period and never before the member's enrolment, and a small share of lines are returns that
never exceed the purchase they refund.

The rows of the members table are in enrolment order but the ids are a random permutation of ``1..n``, so the
canonical (id) order is unrelated to the tree; order lines are sorted by date, like an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from compplan.inputs import Members, Orders, Period

__all__ = ["ID_KINDS", "SHAPES", "IdKind", "Shape", "generate"]

Shape = Literal["realistic", "uniform", "chain", "star"]
#: The shapes :func:`generate` knows.
SHAPES: tuple[Shape, ...] = get_args(Shape)

IdKind = Literal["dense", "sparse", "text"]
#: The kinds of member ids :func:`generate` can give.
ID_KINDS: tuple[IdKind, ...] = get_args(IdKind)

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_Bool = npt.NDArray[np.bool_]

_EPOCH = dt.date(1970, 1, 1)

#: Members per root of the realistic shape (at least one root).
MEMBERS_PER_ROOT = 1_000_000
#: Share of the realistic members who ever recruit anybody.
RECRUITER_SHARE = 0.2
#: Probability that a realistic sponsor is picked directly among the recruiters rather than by copying.
DIRECT_PICK = 0.5
#: Exponent (< 1) that biases a direct pick towards recently enrolled recruiters (deeper trees).
RECENCY = 0.3
#: Years of enrolment history before the period start, and the yearly growth of enrolments.
HISTORY_YEARS = 6
YEARLY_GROWTH = 0.4
#: Members with at least this many children are leaders: nearly always active, and they buy far more.
LEADER_CHILDREN = 10
LEADER_WEIGHT = 8.0
#: Sigma of the lognormal weight that spreads the order lines over the buyers (most buy little, a few a lot).
ORDER_WEIGHT_SIGMA = 1.5
#: Probability of ordering in the period: new in the period, enrolled in the 90 days before, anyone else,
#: recruiter (at least one child), leader.
P_BUY_NEW, P_BUY_RECENT, P_BUY_BASE, P_BUY_RECRUITER, P_BUY_LEADER = 0.8, 0.5, 0.2, 0.45, 0.92
#: Order line PV (points): lognormal median and sigma, clipped to ``[min, max]``; CV is a share of PV.
LINE_MEDIAN_POINTS, LINE_SIGMA, LINE_MIN_POINTS, LINE_MAX_POINTS = 70.0, 0.55, 5.0, 2500.0
CV_SHARE_LOW, CV_SHARE_HIGH = 0.8, 1.0
_DECIMALS = 2


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _enrolment_days(n: int, first_day: int, last_day: int, rng: np.random.Generator) -> _I64:
    """Non-decreasing enrolment days in ``[first_day, last_day]`` with exponentially growing enrolments.

    Row ``i`` takes the quantile ``(i + U) / n`` (``U`` uniform), so the days come out sorted without a sort.
    """
    span = last_day - first_day + 1
    growth = np.log1p(YEARLY_GROWTH) / 365.0
    u = (np.arange(n, dtype=np.float64) + rng.random(n)) / n
    t = np.log1p(u * np.expm1(growth * span)) / growth
    days = first_day + np.minimum(t.astype(np.int64), span - 1)
    return np.maximum.accumulate(days)  # guard against float rounding at the bin edges


def _realistic_sponsors(n: int, roots: int, rng: np.random.Generator) -> _I64:
    """Sponsor row of every member (``-1`` for the first ``roots`` rows) by preferential attachment."""
    idx = np.arange(n, dtype=np.int64)
    recruiter = rng.random(n) < RECRUITER_SHARE
    recruiter[:roots] = True
    recruiters = np.flatnonzero(recruiter)
    before = np.searchsorted(recruiters, idx)  # recruiters enrolled before each row (>= roots >= 1 past the roots)
    pick = (rng.random(n) ** RECENCY * before).astype(np.int64)
    direct = recruiters[np.clip(pick, 0, np.maximum(before - 1, 0))]
    ref = roots + (rng.random(n) * np.maximum(idx - roots, 0)).astype(np.int64)  # uniform earlier non-root row
    np.minimum(ref, np.maximum(idx - 1, roots), out=ref)  # u * k may round up to k
    copy = (rng.random(n) >= DIRECT_PICK) & (idx > roots)
    del recruiter, before, pick
    sponsor = np.where(copy, -1, direct)
    sponsor[:roots] = -1
    # A copying row takes the sponsor of ``ref``, which may itself copy: follow the chains by pointer jumping.
    # ``ref`` never points at a root, so ``sponsor[ref] < 0`` always means "a copier not resolved yet".
    pending = np.flatnonzero(copy)
    while len(pending):
        found = sponsor[ref[pending]]
        done = found >= 0
        sponsor[pending[done]] = found[done]
        pending = pending[~done]
        ref[pending] = ref[ref[pending]]
    return sponsor


def _sponsors(n: int, shape: Shape, rng: np.random.Generator) -> _I64:
    """Sponsor row of every member, ``-1`` for roots; always ``sponsor[i] < i``."""
    idx = np.arange(n, dtype=np.int64)
    if shape == "realistic":
        return _realistic_sponsors(n, max(1, round(n / MEMBERS_PER_ROOT)), rng)
    if shape == "uniform":
        sponsor = np.minimum((rng.random(n) * idx).astype(np.int64), idx - 1)  # u * i may round up to i
    elif shape == "chain":
        sponsor = idx - 1
    else:  # star
        sponsor = np.zeros(n, dtype=np.int64)
    sponsor[0] = -1
    return sponsor


def _buyers(enrolled: _I64, children: _I64, start: int, rng: np.random.Generator) -> tuple[npt.NDArray[np.int32], _F64]:
    """Rows that order in the period (ascending) and their relative order weights."""
    p = np.full(len(enrolled), P_BUY_BASE)
    p[enrolled >= start - 90] = P_BUY_RECENT
    p[enrolled >= start] = P_BUY_NEW
    np.maximum(p, np.where(children > 0, P_BUY_RECRUITER, 0.0), out=p)
    leader = children >= LEADER_CHILDREN
    p[leader] = P_BUY_LEADER
    rows = np.flatnonzero(rng.random(len(p)) < p)
    weight = rng.lognormal(0.0, ORDER_WEIGHT_SIGMA, len(rows))
    weight[leader[rows]] *= LEADER_WEIGHT
    return rows.astype(np.int32), weight


def _orders(
    enrolled: _I64,
    children: _I64,
    start: int,
    end: int,
    orders_per_member: float,
    return_rate: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int32], _I64, _I64, _I64]:
    """Order lines as (member row, day, pv, cv), sorted by day; volumes in hundredths of a point."""
    rows, weight = _buyers(enrolled, children, start, rng)
    target = round(orders_per_member * len(enrolled))
    if target <= len(rows) or not len(rows):  # fewer lines than buyers: one line each for a random subset
        rows = np.sort(rng.choice(rows, size=target, replace=False)) if target < len(rows) else rows
        per_member = np.ones(len(rows), dtype=np.int64)
    else:
        lam = (target - len(rows)) / float(weight.sum())
        per_member = 1 + rng.poisson(lam * weight)
    del weight
    member = np.repeat(rows, per_member)
    n_lines = len(member)
    first = np.zeros(n_lines, dtype=bool)  # the first line of each member
    first[np.cumsum(per_member) - per_member] = True

    scale = 10**_DECIMALS
    points = rng.lognormal(np.log(LINE_MEDIAN_POINTS), LINE_SIGMA, n_lines)
    np.clip(points, LINE_MIN_POINTS, LINE_MAX_POINTS, out=points)
    pv = np.rint(points * scale).astype(np.int64)
    del points
    share = rng.uniform(CV_SHARE_LOW, CV_SHARE_HIGH, n_lines)
    cv = (pv * share).astype(np.int64)
    del share

    length = end - start + 1
    day_dtype = np.int16 if length <= np.iinfo(np.int16).max else np.int32
    earliest = np.maximum(enrolled[member] - start, 0)  # never before the member's enrolment
    day = np.minimum(earliest + rng.random(n_lines) * (length - earliest), length - 1).astype(day_dtype)
    del earliest

    # Returns: a line other than the member's first, right after a purchase (a line that is not a return), for
    # a part of that purchase and on or after its day. Pairing each return with its own purchase keeps every
    # member's total PV and CV of the period non-negative.
    if n_lines > len(rows) and return_rate > 0:
        rate = min(return_rate * n_lines / (n_lines - len(rows)), 0.5)
        candidate = (rng.random(n_lines, dtype=np.float32) < rate) & ~first
        candidate[1:] &= ~candidate[:-1].copy()
        ret = np.flatnonzero(candidate)
        del candidate
        part = rng.uniform(0.25, 1.0, len(ret))
        pv[ret] = -np.maximum((pv[ret - 1] * part).astype(np.int64), 1)
        cv[ret] = -(cv[ret - 1] * part).astype(np.int64)
        bought = day[ret - 1].astype(np.int64)
        day[ret] = np.minimum(bought + rng.random(len(ret)) * (length - bought), length - 1).astype(day_dtype)
    del first

    by_day = np.argsort(day, kind="stable")  # a radix sort for int16 days
    dates = start + day[by_day].astype(np.int64)
    return member[by_day], dates, pv[by_day], cv[by_day]


def generate(
    n_members: int,
    *,
    shape: Shape = "realistic",
    period: Period | str = "2026-10",
    seed: int = 0,
    orders_per_member: float = 3.0,
    return_rate: float = 0.01,
    ids: IdKind = "dense",
) -> tuple[Members, Orders]:
    """Generate a synthetic network and its orders for one period.

    Parameters
    ----------
    n_members : int
        Number of members (at least 1).
    shape : {"realistic", "uniform", "chain", "star"}
        ``realistic``: preferential attachment (heavy-tailed fan-out, depth in the tens), one root per million
        members. ``uniform``: each member's sponsor is uniform among the earlier members. ``chain``: a single
        line, depth ``n - 1``. ``star``: one root with everybody else on its frontline.
    period : Period or str
        The period the orders fall in (``"2026-10"`` or a :class:`~compplan.inputs.Period`); enrolments span six
        years up to its end and a few percent fall inside it.
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments always give identical arrays.
    orders_per_member : float
        Average number of order lines per member (over all members; about a third of them buy). With fewer
        lines than buyers, a random subset of the buyers orders one line each.
    return_rate : float
        Approximate share of order lines that are returns (negative lines), in ``[0, 0.5]``.
    ids : {"dense", "sparse", "text"}
        ``dense``: a random permutation of ``1..n`` (auto-increment ids). ``sparse``: distinct random 12-digit
        member numbers. ``text``: those numbers behind a country code (``"US-424242424242"``, five countries).
        The tree, volumes and random draws are the same for every kind; only the id values differ.

    Returns
    -------
    members : Members
        Ids as ``ids`` says (``int64``, or text), rows in enrolment order; a root's ``sponsor_ids`` entry is its
        own id (ignored).
    orders : Orders
        Order lines sorted by date, volumes in hundredths of a point (``decimals=2``).

    Raises
    ------
    ValueError
        For an unknown shape, ``n_members < 1``, a negative ``seed`` or an out-of-range ``orders_per_member`` or
        ``return_rate``.

    Examples
    --------
    >>> members, orders = generate(1000, seed=1)
    >>> len(members)
    1000
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    if n_members < 1:
        raise ValueError(f"n_members must be at least 1, got {n_members}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if not 0.0 <= orders_per_member < 1e6:
        raise ValueError(f"orders_per_member must be non-negative, got {orders_per_member}")
    if not 0.0 <= return_rate <= 0.5:
        raise ValueError(f"return_rate must be in [0, 0.5], got {return_rate}")
    if ids not in ID_KINDS:
        raise ValueError(f"unknown ids {ids!r}; expected one of {', '.join(ID_KINDS)}")
    per = Period.parse(period) if isinstance(period, str) else period
    start, end = _day(per.start), _day(per.end)
    rng = np.random.default_rng(seed)
    n = int(n_members)

    enrolled = _enrolment_days(n, start - round(365.25 * HISTORY_YEARS), end, rng)
    sponsor = _sponsors(n, shape, rng)
    is_root = sponsor < 0
    enrolled[is_root] = enrolled[0]  # roots (the first rows) open the company
    children = np.bincount(sponsor[~is_root], minlength=n).astype(np.int64)
    id_of = _ids(rng.permutation(n).astype(np.int64) + 1, ids, seed)
    sponsor_ids = id_of[np.where(is_root, np.arange(n, dtype=np.int64), sponsor)]
    del sponsor
    members = Members(
        ids=id_of,
        sponsor_ids=sponsor_ids,
        is_root=is_root,
        enrolled_on=enrolled.astype("datetime64[D]"),
        source="synthetic members",
    )
    member, dates, pv, cv = _orders(enrolled, children, start, end, orders_per_member, return_rate, rng)
    orders = Orders(
        member_ids=id_of[member],
        dates=dates.astype("datetime64[D]"),
        pv=pv,
        cv=cv,
        decimals=_DECIMALS,
        source="synthetic orders",
    )
    return members, orders


def _ids(dense: npt.NDArray[np.int64], kind: IdKind, seed: int) -> npt.NDArray[Any]:
    """Member ids of ``kind`` for the dense ids ``1..n`` (see :func:`generate`), from their own random stream."""
    if kind == "dense":
        return dense
    n = len(dense)
    rng = np.random.default_rng([seed, 1])  # the network's own draws stay those of the dense ids
    numbers = np.unique(rng.integers(10**11, 10**12, n + n // 8 + 16))
    while len(numbers) < n:  # a few collisions at most: draw again
        numbers = np.unique(np.concatenate([numbers, rng.integers(10**11, 10**12, n)]))
    numbers = rng.permutation(numbers)[:n]
    picked = numbers[dense - 1]
    if kind == "sparse":
        return picked
    countries = np.array(["US-", "DE-", "MX-", "JP-", "BR-"])
    return np.char.add(countries[rng.integers(0, len(countries), n)], picked.astype("<U12"))  # 12 digits
