"""Grow a synthetic network month by month and close every month with the state carried forward.

The first month is :func:`compplan.synthetic.generate`. Each member keeps a *usual monthly volume*: what it
bought in the first month, or for one who bought nothing (and for every recruit) a draw from the first month's
buyers. Each later month, with a seeded generator:

* every member who has not churned leaves for good with probability ``churn`` (it stays in the tree, inactive);
* ``recruit_rate`` x (members active last month) new members join, each enrolled by a member who was active
  last month (uniformly), on a uniform day of the month;
* a member who bought last month buys again with probability ``retention``, others with ``order_rate``; a
  purchase is its usual volume times a lognormal factor (sigma 0.25), CV 90% of PV, dated inside the month
  and not before enrolment.

The point is the plan's economics over time (payout ratio, ranks, earnings), not a forecast of a company.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compplan.engine import close
from compplan.errors import InputError, ProblemCollector
from compplan.inputs import Members, Orders, Period, State
from compplan.placement import needs_placement, place, unplaced_columns
from compplan.spec.models import Plan
from compplan.synthetic import generate


@dataclass(frozen=True)
class Growth:
    """Parameters of the month-to-month model (probabilities per member per month)."""

    recruit_rate: float = 0.04
    churn: float = 0.02
    retention: float = 0.85
    order_rate: float = 0.10


def _month(label: str, k: int) -> Period:
    start = Period.parse(label).start
    year, month = start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1
    return Period.parse(f"{year:04d}-{month:02d}")


def simulate(
    plan: Plan, members: int, months: int, start: str = "2026-01", seed: int = 0, growth: Growth | None = None
) -> list[dict[str, Any]]:
    """Close ``months`` consecutive months of a growing synthetic network; one summary dict per month.

    Raises
    ------
    InputError
        ``members`` or ``months`` below 1, a negative ``seed``, a ``growth`` parameter outside ``[0, 1]`` or a
        ``start`` that is not a month ``YYYY-MM``.
    """
    growth = growth or Growth()
    problems = ProblemCollector()
    for name, value in (("members", members), ("months", months)):
        if value < 1:
            problems.add("out_of_range", f"{name} {value}: expected 1 or more")
    if seed < 0:
        problems.add("out_of_range", f"seed {seed}: expected 0 or more")
    for name, p in asdict(growth).items():
        if not 0.0 <= p <= 1.0:  # NaN fails too
            problems.add("out_of_range", f"{name} {p}: expected a number from 0 to 1")
    if not re.fullmatch(r"\s*\d{4}-\d{2}\s*", start):
        problems.add("bad_argument", f"start {start!r}: expected a month YYYY-MM")
    problems.raise_if_any(InputError)
    rng = np.random.default_rng(seed)
    period = _month(start, 0)
    m, orders = generate(members, period=period, seed=seed)
    by_id = np.argsort(m.ids, kind="stable")  # keep canonical (ascending id) order: recruits get larger ids
    ids, sponsors, roots, enrolled = m.ids[by_id], m.sponsor_ids[by_id], m.is_root[by_id], m.enrolled_on[by_id]
    by_id = np.argsort(ids)
    usual = np.zeros(len(ids), dtype=np.int64)
    np.add.at(usual, by_id[np.searchsorted(ids[by_id], orders.member_ids)], orders.pv)  # exact int sums
    bought = usual > 0
    buyers_pv = usual[bought]
    usual = np.where(bought, usual, rng.choice(buyers_pv, size=len(ids)) if len(buyers_pv) else 10_000)
    alive = np.ones(len(ids), dtype=bool)
    state: State | None = None
    history = []
    last_active = np.zeros(len(ids), dtype=bool)
    placed: Members | None = None
    for k in range(months):
        if k:
            period = _month(start, k)
            alive &= rng.random(len(ids)) >= growth.churn
            active_last = np.nonzero(last_active)[0]
            new = rng.binomial(len(active_last), growth.recruit_rate) if len(active_last) else 0
            if new:
                days = (period.end - period.start).days + 1
                new_ids = np.arange(int(ids.max()) + 1, int(ids.max()) + 1 + new, dtype=np.int64)
                ids = np.concatenate([ids, new_ids])
                sponsors = np.concatenate([sponsors, ids[rng.choice(active_last, size=new)]])
                roots = np.concatenate([roots, np.zeros(new, dtype=bool)])
                day0 = np.datetime64(period.start, "D")
                enrolled = np.concatenate([enrolled, (day0 + rng.integers(0, days, size=new)).astype("datetime64[D]")])
                usual = np.concatenate(
                    [usual, rng.choice(buyers_pv, size=new) if len(buyers_pv) else np.full(new, 10_000)]
                )
                alive = np.concatenate([alive, np.ones(new, dtype=bool)])
                bought = np.concatenate([bought, np.ones(new, dtype=bool)])  # recruits start keen
            chance = np.where(bought, growth.retention, growth.order_rate)
            buy = alive & (rng.random(len(ids)) < chance)
            orders = _orders(rng, ids, enrolled, usual, buy, period)
            bought = buy
        month = Members(ids, sponsors, roots, enrolled, "simulated members")
        if needs_placement(plan):  # last month's placements stay; this month's recruits are placed by the plan
            if placed is not None:
                month = Members(
                    ids, sponsors, roots, enrolled, month.source, **unplaced_columns(placed, len(ids) - len(placed))
                )
            month = placed = place(plan, month)
        result = close(plan, month, orders, period, state=state)
        state = result.state()
        last_active = result.active[np.searchsorted(result.ids, ids)]  # integer ids: canonical order = sorted
        s = result.summary
        history.append(
            {
                "period": period.label,
                "members": len(ids),
                "churned": int((~alive).sum()),
                "active": s["active_members"],
                "total_cv": s["total_cv"],
                "total_payout": s["total_payout"],
                "payout_ratio": s["payout_ratio"],
                "ranks": s["ranks"],
                "bonuses": s["bonuses"],
                "earners": int((result.values["total"] > 0).sum()),
            }
        )
    return history


def _orders(
    rng: np.random.Generator, ids: np.ndarray, enrolled: np.ndarray, usual: np.ndarray, buy: np.ndarray, period: Period
) -> Orders:
    who = np.nonzero(buy)[0]
    pv = np.maximum(1, (usual[who] * rng.lognormal(0.0, 0.25, size=len(who))).astype(np.int64))
    cv = pv * 9 // 10
    first = np.maximum(np.datetime64(period.start, "D"), enrolled[who]).astype("datetime64[D]")
    span = (np.datetime64(period.end, "D") - first).astype(np.int64) + 1
    dates = first + (rng.random(len(who)) * span).astype(np.int64)
    return Orders(ids[who], dates.astype("datetime64[D]"), pv, cv, 2, "simulated orders")
