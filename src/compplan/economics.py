"""Plan economics from a close: payout ratios, breakage, distributions and an income disclosure table.

Every figure is computed from the exact integer columns of a :class:`~compplan.engine.CloseResult`:

* percentiles use the nearest-rank method on integer minor units (no interpolation, no float);
* means are exact decimal quotients rounded half-even to a minor unit;
* *annualised* figures multiply by ``365 / days in the period`` (exactly, then rounded half-even);
* *breakage* is the plan's theoretical maximum share of CV (:func:`compplan.spec.theoretical_maximum`, the
  payout cap included) times the period's CV, minus what the percentage bonuses actually paid (their whole columns,
  loyalty cash included).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from compplan.engine import CloseResult
from compplan.money import format_units
from compplan.spec.analysis import theoretical_maximum


def _nearest_rank(sorted_values: np.ndarray, pct: int) -> int:
    """The ``pct``-th percentile by nearest rank (``pct`` in 1..100) of a sorted array."""
    if len(sorted_values) == 0:
        return 0
    k = max(1, -(-pct * len(sorted_values) // 100))  # ceil(pct / 100 * n), at least 1
    return int(sorted_values[k - 1])


def _share(part: int, whole: int) -> float | None:
    """``part / whole`` to 6 decimals (a ratio for reading, not money), or None when ``whole <= 0``."""
    if whole <= 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001")))


def _mean(total: int, count: int, decimals: int) -> Decimal:
    """Exact mean of ``count`` amounts summing to ``total`` minor units, in currency units, half-even."""
    if count == 0:
        return Decimal(0)
    return (Decimal(total).scaleb(-decimals) / count).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def economics(result: CloseResult) -> dict[str, Any]:
    """Payout ratio overall and per bonus, breakage, rank and earnings distribution, income disclosure."""
    plan = result.plan
    mdec, vdec = plan.minor_units, plan.plan.volume_decimals
    v = result.values
    total = v["total"]
    n = len(total)
    cv_money = Decimal(result.total_cv).scaleb(-vdec)
    payout = int(total.sum())

    def ratio(amount: int) -> float | None:
        if cv_money <= 0:
            return None
        return float((Decimal(amount).scaleb(-mdec) / cv_money).quantize(Decimal("0.000001")))

    maximum = theoretical_maximum(plan)
    percentage_paid = sum(int(v[b].sum()) for b in maximum.share_of_cv)
    max_money = int((maximum.total_share * cv_money).scaleb(mdec).to_integral_value(rounding="ROUND_FLOOR"))
    earnings = np.sort(total)
    positive = earnings[earnings > 0]
    top1 = int(positive[-max(1, -(-len(positive) // 100)) :].sum()) if len(positive) else 0
    top10 = int(positive[-max(1, -(-len(positive) // 10)) :].sum()) if len(positive) else 0
    days = (result.period.end - result.period.start).days + 1
    annual = Decimal(365) / Decimal(days)
    quantum = Decimal(1).scaleb(-mdec)
    disclosure = []
    for r, name in enumerate(plan.rank_names):
        mine = np.sort(total[v["rank"] == r])
        count = len(mine)
        s = int(mine.sum())
        mean = _mean(s, count, mdec)
        median = Decimal(_nearest_rank(mine, 50)).scaleb(-mdec)
        disclosure.append(
            {
                "rank": name,
                "members": count,
                "share_of_members": _share(count, n) or 0.0,
                "median": format_units(_nearest_rank(mine, 50), mdec),
                "mean": f"{mean:.{mdec}f}",
                "top": format_units(int(mine[-1]) if count else 0, mdec),
                "annualised_mean": f"{(mean * annual).quantize(quantum, rounding=ROUND_HALF_EVEN):.{mdec}f}",
                "annualised_median": f"{(median * annual).quantize(quantum, rounding=ROUND_HALF_EVEN):.{mdec}f}",
            }
        )
    return {
        "plan": plan.plan.name,
        "period": result.period.label,
        "currency": plan.plan.currency,
        "members": n,
        "earning_members": int((total > 0).sum()),
        "total_cv": format_units(result.total_cv, vdec),
        "total_payout": format_units(payout, mdec),
        "payout_ratio": ratio(payout),
        "bonuses": {
            b: {"paid": format_units(int(v[b].sum()), mdec), "payout_ratio": ratio(int(v[b].sum()))}
            for b in plan.bonus_ids()
        },
        "theoretical_maximum_share": str(maximum.total_share),
        "breakage": format_units(max(0, max_money - percentage_paid), mdec),
        "earnings_percentiles": {
            f"p{p}": format_units(_nearest_rank(earnings, p), mdec) for p in (10, 25, 50, 75, 90, 99)
        },
        "share_of_payout_top_1pct": _share(top1, payout),
        "share_of_payout_top_10pct": _share(top10, payout),
        "income_disclosure": disclosure,
        "segments": segments(result),
    }


def plan_diff(a: CloseResult, b: CloseResult, top: int = 10) -> dict[str, Any]:
    """Compare two closes of the same inputs under two plans: totals per bonus and rank, biggest movers.

    Bonuses are matched by id (a bonus only in one plan counts 0 in the other); ranks by name.
    """
    if not np.array_equal(a.ids, b.ids):
        raise ValueError("the two closes must be over the same members")
    mdec = a.plan.minor_units
    va, vb = a.values, b.values

    def money(x: int) -> str:
        return format_units(x, mdec)

    bonus_ids = list(dict.fromkeys([*a.plan.bonus_ids(), *b.plan.bonus_ids()]))
    bonuses = {}
    for bid in bonus_ids:
        x = int(va[bid].sum()) if bid in va else 0
        y = int(vb[bid].sum()) if bid in vb else 0
        bonuses[bid] = {"a": money(x), "b": money(y), "change": money(y - x)}
    ranks = {}
    for name in dict.fromkeys([*a.plan.rank_names, *b.plan.rank_names]):
        ca = int((va["rank"] == a.plan.rank_names.index(name)).sum()) if name in a.plan.rank_names else 0
        cb = int((vb["rank"] == b.plan.rank_names.index(name)).sum()) if name in b.plan.rank_names else 0
        ranks[name] = {"a": ca, "b": cb, "change": cb - ca}
    change = b.total.astype(np.int64) - a.total.astype(np.int64)
    order = np.lexsort((np.arange(len(change)), -change))  # biggest gain first, ties in canonical order
    gainers = [i for i in order[:top] if change[i] > 0]
    losers = [i for i in np.lexsort((np.arange(len(change)), change))[:top] if change[i] < 0]

    def row(i: int) -> dict[str, Any]:
        return {
            "member": a.ids[i].item() if hasattr(a.ids[i], "item") else a.ids[i],
            "a": money(int(a.total[i])),
            "b": money(int(b.total[i])),
            "change": money(int(change[i])),
        }

    pa, pb = int(va["total"].sum()), int(vb["total"].sum())
    return {
        "plans": {"a": f"{a.plan.plan.name} {a.plan.plan.version}", "b": f"{b.plan.plan.name} {b.plan.plan.version}"},
        "total_payout": {"a": money(pa), "b": money(pb), "change": money(pb - pa)},
        "payout_ratio": {"a": a.summary["payout_ratio"], "b": b.summary["payout_ratio"]},
        "bonuses": bonuses,
        "ranks": ranks,
        "members_gaining": int((change > 0).sum()),
        "members_losing": int((change < 0).sum()),
        "top_gainers": [row(int(i)) for i in gainers],
        "top_losers": [row(int(i)) for i in losers],
    }


def segment_masks(result: CloseResult) -> dict[str, np.ndarray]:
    """For each segment of the plan, which members (canonical order) it holds (docs/semantics.md 3.9)."""
    from compplan.compile import tenure_months

    plan = result.plan
    vdec = plan.plan.volume_decimals
    tree = result.tree
    n = len(result)
    has_parent = tree.parent >= 0
    frontline_pos = np.bincount(tree.parent[has_parent], minlength=n) if n else np.zeros(0, dtype=np.int64)
    frontline = frontline_pos[result.position]
    tenure = tenure_months(tree.enrolled, (result.period.end - dt.date(1970, 1, 1)).days)[result.position]
    masks = {}
    for seg in plan.segments:
        m = np.ones(n, dtype=bool)
        if seg.active is not None:
            m &= result.active == seg.active
        for field, column, op in (
            ("min_pv", result.pv, np.greater_equal),
            ("max_pv", result.pv, np.less_equal),
            ("min_gv", result.gv, np.greater_equal),
            ("max_gv", result.gv, np.less_equal),
        ):
            value = getattr(seg, field)
            if value is not None:
                m &= op(column, int(value.scaleb(vdec)))
        if seg.min_rank is not None:
            m &= result.rank >= plan.rank_index(seg.min_rank)
        if seg.max_rank is not None:
            m &= result.rank <= plan.rank_index(seg.max_rank)
        for field, column, op in (
            ("min_frontline", frontline, np.greater_equal),
            ("max_frontline", frontline, np.less_equal),
            ("min_tenure_months", tenure, np.greater_equal),
            ("max_tenure_months", tenure, np.less_equal),
        ):
            value = getattr(seg, field)
            if value is not None:
                m &= op(column, value)
        masks[seg.name] = m
    return masks


def segments(result: CloseResult) -> list[dict[str, Any]]:
    """Counts and earnings per plan segment (a member may be in several)."""
    mdec = result.plan.minor_units
    total = result.total
    payout = int(result.values["total"].sum())
    out = []
    for name, mask in segment_masks(result).items():
        mine = np.sort(total[mask])
        s = int(mine.sum())
        out.append(
            {
                "segment": name,
                "members": int(mask.sum()),
                "share_of_members": _share(int(mask.sum()), len(total)) or 0.0,
                "earnings": format_units(s, mdec),
                "share_of_payout": _share(s, payout),
                "mean": f"{_mean(s, len(mine), mdec):.{mdec}f}",
                "median": format_units(_nearest_rank(mine, 50), mdec),
            }
        )
    return out
