"""A member's statement: every cent of a close explained, and what is missing for the next rank.

The statement is computed from the same close as the payout (``close(..., ledger_for=member)``), which keeps
only that member's ledger lines; its lines always sum to the member's bonus columns and total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from compplan.engine import LINE_KINDS, CloseResult
from compplan.errors import EngineError, InputError, ProblemCollector
from compplan.inputs import Events, Members, Orders, Period, State, ids_like
from compplan.io.csvio import Column, decimal_texts
from compplan.money import format_rate, format_units
from compplan.next_rank import NEXT_RANK_TOTAL
from compplan.placement import place_if_needed, unplaced_columns


@dataclass(frozen=True)
class Requirement:
    """One requirement of a rank for one member: what it needs, what the member has, what is missing.

    ``have``, ``need`` and ``missing`` are decimal text for volumes, whole numbers for counts and ``"1"`` /
    ``"0"`` for the activity flag; ``text`` is a sentence such as ``"GV 1840.00 of 2500.00: 660.00 more"``.
    """

    requirement: str
    have: str
    need: str
    met: bool
    missing: str
    text: str


def rank_requirements(result: CloseResult, row: int, rank: int) -> list[Requirement]:
    """Every requirement of ``plan.ranks[rank]`` for the member at canonical ``row`` (docs/semantics.md 3.3)."""
    plan = result.plan
    spec = plan.ranks[rank]
    vdec = plan.plan.volume_decimals
    tree, v = result.tree, result.values
    pos = int(result.position[row])
    children = []
    c = pos + 1
    while c < tree.end[pos]:
        children.append(c)
        c = int(tree.end[c])
    out: list[Requirement] = []

    def volume(name: str, have: int, need_points: Decimal) -> None:
        need = int(need_points.scaleb(vdec))
        short = max(0, need - have)
        h, n, m = format_units(have, vdec), format_units(need, vdec), format_units(short, vdec)
        text = f"{name} {h} of {n}" + (f": {m} more" if short else "")
        out.append(Requirement(name, h, n, short == 0, m, text))

    def count(name: str, have: int, need: int) -> None:
        short = max(0, need - have)
        out.append(
            Requirement(
                name,
                str(have),
                str(need),
                short == 0,
                str(short),
                f"{name}: {have} of {need}" + (f": {short} more" if short else ""),
            )
        )

    active = bool(v["active"][pos])
    if rank and (spec.active is None or spec.active):
        out.append(
            Requirement(
                "active",
                "1" if active else "0",
                "1",
                active,
                "0" if active else "1",
                "active" if active else "not active this period",
            )
        )
    pv, gv = int(v["pv"][pos]), int(v["gv"][pos])
    if spec.min_pv is not None:
        volume("PV", pv, spec.min_pv)
    if spec.min_gv is not None:
        volume("GV", gv, spec.min_gv)
    if spec.min_qv is not None:
        share = spec.max_leg_share if spec.max_leg_share is not None else Decimal(1)
        cap = int((spec.min_qv.scaleb(vdec) * share).to_integral_value(rounding="ROUND_FLOOR"))
        qv = pv + sum(min(int(v["gv"][ch]), cap) for ch in children)
        volume(f"QV (at most {format_units(cap, vdec)} from one leg)", qv, spec.min_qv)
    if spec.min_personal_actives is not None:
        count("personally sponsored actives", sum(bool(v["active"][ch]) for ch in children), spec.min_personal_actives)
    ranks = v["rank"]
    best = [int(ranks[ch : tree.end[ch]].max()) for ch in children]
    for leg in spec.legs:
        at_least = plan.rank_index(leg.rank)
        count(f"legs with a {leg.rank} or higher", sum(b >= at_least for b in best), leg.count)
    return out


def statement(result: CloseResult, member: Any) -> dict[str, Any]:
    """The statement of ``member`` as plain data (JSON-ready; money and volumes as exact decimal text).

    ``result`` must come from ``close(..., ledger_for=member)`` (or a full ledger).
    """
    plan = result.plan
    mdec, vdec = plan.minor_units, plan.plan.volume_decimals
    rows, found = result.tree.lookup([member])
    if not found[0]:
        raise InputError(f"member {member} is not in this close")
    row = int(rows[0])
    if result.ledger is None:
        raise EngineError("the statement needs close(..., ledger_for=member) or a full ledger")
    led = result.ledger
    mine = np.nonzero(led.payee_row == row)[0]
    at = int(result.position[row])  # one member: read its cells, never reorder whole columns
    vals = result.values
    rank, highest = int(vals["rank"][at]), int(vals["highest_rank"][at])
    bonuses = []
    for b, bonus_id in enumerate(plan.bonus_ids()):
        lines = mine[led.bonus_index[mine] == b]
        column = int(result.values[bonus_id][result.position[row]])
        if int(led.amount[lines].sum()) != column:
            raise EngineError(f"statement of {member}: {bonus_id} lines do not sum to the column")
        money_basis = (led.kind_index[lines] != 0) | (plan.bonuses[b].type == "matching")
        places = np.where(money_basis, mdec, vdec)
        rates = {int(r): format_rate(int(r)) for r in np.unique(led.rate[lines])}
        columns = zip(
            led.ids[led.source_row[lines]].tolist(),
            led.kind_index[lines].tolist(),
            led.level[lines].tolist(),
            decimal_texts(led.basis[lines], places),
            led.rate[lines].tolist(),
            decimal_texts(led.amount[lines], np.full(len(lines), mdec)),
            strict=True,
        )
        bonuses.append(
            {
                "bonus": bonus_id,
                "type": plan.bonuses[b].type,
                "total": format_units(column, mdec),
                "lines": [
                    {
                        "source": source,
                        "kind": LINE_KINDS[kind],
                        "level": level,
                        "basis": basis,
                        "rate": rates[rate],
                        "amount": amount,
                    }
                    for source, kind, level, basis, rate, amount in columns
                ],
            }
        )
    next_rank = rank + 1 if rank + 1 < len(plan.ranks) else None
    reqs = [asdict(r) for r in rank_requirements(result, row, rank)] if rank else []
    upcoming = None
    if next_rank is not None:
        needs = rank_requirements(result, row, next_rank)
        upcoming = {
            "rank": plan.ranks[next_rank].name,
            "met": all(r.met for r in needs),
            "requirements": [asdict(r) for r in needs],
        }
        at_next = result.next_rank_total
        if at_next is not None:  # docs/semantics.md 3.10 (a close run with next_rank=True)
            upcoming["earnings"] = format_units(int(at_next[row]), mdec)
    return {
        "member": _plain(result.ids[row]),
        "period": result.period.label,
        "plan": plan.plan.name,
        "plan_version": plan.plan.version,
        "currency": plan.plan.currency,
        "volumes": {
            "pv": format_units(int(vals["pv"][at]), vdec),
            "cv": format_units(int(vals["cv"][at]), vdec),
            "gv": format_units(int(vals["gv"][at]), vdec),
            "qv": format_units(int(vals["qv"][at]), vdec),
            "active": bool(vals["active"][at]),
        },
        "rank": {
            "paid_as": plan.ranks[rank].name,
            "highest": plan.ranks[highest].name,
            "requirements": reqs,
            "next": upcoming,
        },
        "bonuses": bonuses,
        "total": format_units(int(vals["total"][at]), mdec),
        "balance_in": format_units(int(vals["balance_in"][at]), mdec),
        "paid": format_units(int(vals["paid"][at]), mdec),
        "balance_out": format_units(int(vals["balance_out"][at]), mdec),
        "awards": [
            {"bonus": a[1], "rank": a[2], "award": a[3]} for a in result.awards if a[0] == _plain(result.ids[row])
        ],
        "binary": _binary_legs(result, row),
    }


def _binary_legs(result: CloseResult, row: int) -> dict[str, Any] | None:
    """Leg volumes, carry in and out, and inactive periods of a binary plan (docs/semantics.md ``binary``)."""
    if result.plan.binary is None:
        return None
    vdec = result.plan.plan.volume_decimals
    pos = int(result.position[row])
    v = result.values

    def volume(name: str) -> str:
        return format_units(int(v[name][pos]), vdec)

    return {
        "leg_left": volume("leg_left"),
        "leg_right": volume("leg_right"),
        "carry_in_left": volume("prior_carry_left"),
        "carry_in_right": volume("prior_carry_right"),
        "carry_left": volume("carry_left"),
        "carry_right": volume("carry_right"),
        "inactive_periods": int(v["idle"][pos]),
    }


def _append(ids: np.ndarray, more: list[Any]) -> np.ndarray:
    """``ids`` followed by ``more``: integers stay int64, otherwise all become text (never truncated)."""
    if ids.dtype.kind in "iu" and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in more):
        return np.concatenate([ids.astype(np.int64), np.array(more, dtype=np.int64)])
    return np.concatenate([ids.astype(np.str_), np.array([str(x) for x in more], dtype=np.str_)])


def has_member(members: Members, member: Any) -> bool:
    """Whether ``member`` is an id of ``members``, matched as a close matches ids (text ``"17"`` finds 17)."""
    keys, ok = ids_like([member], members.ids)
    return bool(ok[0]) and bool((members.ids == keys[0]).any())


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def format_statement(s: dict[str, Any]) -> str:
    """The statement as readable text."""
    v, r = s["volumes"], s["rank"]
    out = [
        f"Statement for member {s['member']}, period {s['period']} ({s['plan']} {s['plan_version']}, {s['currency']})",
        f"Volumes: PV {v['pv']}  CV {v['cv']}  GV {v['gv']}  QV {v['qv']}  active: {'yes' if v['active'] else 'no'}",
        f"Rank: paid as {r['paid_as']}, highest {r['highest']}",
    ]
    for req in r["requirements"]:
        out.append(f"  [x] {req['text']}")
    if s.get("binary"):
        b = s["binary"]
        out.append(
            f"Binary legs: left {b['leg_left']} + carry {b['carry_in_left']}, right {b['leg_right']} + carry "
            f"{b['carry_in_right']}; carried on: left {b['carry_left']}, right {b['carry_right']}"
        )
    if r["next"] is not None:
        nxt = r["next"]
        out.append(f"Next rank {nxt['rank']}: " + ("every requirement met" if nxt["met"] else "missing:"))
        if "earnings" in nxt:
            out.append(f"  at {nxt['rank']} you would have earned {nxt['earnings']} {s['currency']} this period")
        for req in nxt["requirements"]:
            out.append(f"  [{'x' if req['met'] else ' '}] {req['text']}")
    out.append("Earnings:")
    for b in s["bonuses"]:
        out.append(f"  {b['bonus']:<22} {b['total']:>14}")
        for line in b["lines"]:
            if line["kind"] != "line":
                out.append(f"      {line['kind'].replace('_', ' ')}: {line['amount']}")
            elif b["type"] == "binary" and line["rate"] == "0%":
                out.append(f"      {line['level']} pairs paid (volume paired {line['basis']}): {line['amount']}")
            elif b["type"] == "binary":
                out.append(f"      weaker leg {line['basis']} x {line['rate']} = {line['amount']}")
            elif line["rate"] == "0%":
                out.append(f"      from {line['source']}: {line['amount']}")
            else:
                out.append(
                    f"      from {line['source']}, level {line['level']}: {line['basis']} x {line['rate']} = "
                    f"{line['amount']}"
                )
    out.append(f"  {'total':<22} {s['total']:>14}")
    out.append(f"  balance in {s['balance_in']}, paid {s['paid']}, balance carried {s['balance_out']}")
    for a in s["awards"]:
        out.append(f"  award: {a['award']} ({a['bonus']}{', ' + a['rank'] if a['rank'] else ''})")
    return "\n".join(out)


PROGRESS_COLUMNS = [
    "id",
    "rank",
    "next_rank",
    "requirement",
    "have",
    "need",
    "missing",
    "days_left",
    "next_rank_earnings",
]


def progress(result: CloseResult, as_of: dt.date | None = None) -> tuple[list[str], list[Column]]:
    """Every unmet requirement of every member's next rank, one row each, for notifications.

    Columns: ``id, rank, next_rank, requirement`` (``active``, ``pv``, ``gv``, ``qv``,
    ``personal_actives`` or ``legs:RANK``), ``have, need, missing`` (volumes as decimal text, counts as whole
    numbers, ``active`` as 0 / 1 / 1), ``days_left`` (from ``as_of``, a day of the period, default its start,
    to its end), ``next_rank_earnings``: what the member would have earned this period at its next rank
    (docs/semantics.md 3.10; money as decimal text, the same on each of its rows), empty unless ``result`` comes from
    ``close(..., next_rank=True)``. Members at the top rank have no row. Rows are in canonical id order, then
    requirement order.
    """
    from compplan.compile import _rank_params
    from compplan.kernels.ranks import UNSET, next_rank_measures

    if as_of is not None and not result.period.start <= as_of <= result.period.end:
        raise InputError(
            f"as_of {as_of} is not in period {result.period.label} ({result.period.start} to {result.period.end})"
        )
    plan, v, tree = result.plan, result.values, result.tree
    vdec = plan.plan.volume_decimals
    params = _rank_params(plan)
    qv, actives, legs = next_rank_measures(tree.end, v["pv"], v["gv"], v["active"], v["rank"], params)
    nxt = np.minimum(v["rank"] + 1, len(plan.ranks) - 1)
    below_top = v["rank"] + 1 < len(plan.ranks)
    parts: list[tuple[int, np.ndarray, str, np.ndarray, np.ndarray, bool]] = []  # order, positions, name, have, need

    def add(order: int, name: str, have: np.ndarray, need: np.ndarray, volume: bool) -> None:
        short = below_top & (need != UNSET) & (have < need)
        who = np.nonzero(short)[0]
        parts.append((order, who, name, have[who], need[who], volume))

    add(0, "active", v["active"].astype(np.int64), params.need_active[nxt].astype(np.int64), False)
    add(1, "pv", v["pv"], params.min_pv[nxt], True)
    add(2, "gv", v["gv"], params.min_gv[nxt], True)
    add(3, "qv", qv, params.min_qv[nxt], True)
    add(4, "personal_actives", actives, params.min_actives[nxt], False)
    for j in range(legs.shape[1]):
        has_rule = params.leg_start[nxt] + j < params.leg_start[nxt + 1]
        rule = np.where(has_rule, params.leg_start[nxt] + j, 0)
        need = np.where(has_rule, params.leg_count[rule] if len(params.leg_count) else 0, UNSET)
        for s in range(len(plan.ranks)):
            pick = has_rule & ((params.leg_rank[rule] if len(params.leg_rank) else 0) == s)
            if pick.any():
                add(5 + j, f"legs:{plan.ranks[s].name}", legs[:, j], np.where(pick, need, UNSET), False)
    canon = tree.order
    rows = np.concatenate([canon[p[1]] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    key = np.concatenate([np.full(len(p[1]), p[0]) for p in parts]) if parts else rows
    order = np.lexsort((key, rows))
    names = sorted({p[2] for p in parts})
    name_of = np.concatenate([np.full(len(p[1]), names.index(p[2])) for p in parts]) if parts else rows

    def cat(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)

    have, need = cat([p[3] for p in parts]), cat([p[4] for p in parts])
    places = cat([np.full(len(p[1]), vdec if p[5] else 0) for p in parts])  # volumes vs counts and flags
    end = result.period.end
    days = (end - (as_of or result.period.start)).days
    rank = np.concatenate([v["rank"][p[1]] for p in parts]) if parts else rows
    if result.next_rank_total is None:
        earnings = Column.label(np.zeros(len(order), dtype=np.int64), [""])
    else:
        positions = cat([p[1] for p in parts])
        earnings = Column.decimal(v[NEXT_RANK_TOTAL][positions][order], plan.minor_units)
    columns = [
        Column.ids(result.ids, rows[order]),
        Column.label(rank[order], plan.rank_names),
        Column.label(np.minimum(rank[order] + 1, len(plan.ranks) - 1), plan.rank_names),
        Column.label(name_of[order], names),
        Column.decimal_rows(have[order], places[order]),
        Column.decimal_rows(need[order], places[order]),
        Column.decimal_rows((need - have)[order], places[order]),
        Column.integer(np.full(len(order), max(days, 0))),
        earnings,
    ]
    return PROGRESS_COLUMNS, columns


def what_if(
    plan: Any,
    members: Members,
    orders: Orders,
    period: Period | str,
    member: Any,
    *,
    add_pv: Decimal | str | int = 0,
    on: Any = None,
    recruits: int = 0,
    state: State | None = None,
    events: Events | None = None,
) -> dict[str, Any]:
    """What ``member`` would earn this period with more volume or more recruits.

    ``on`` (default: the member itself) buys ``add_pv`` more points (PV and CV alike, dated the period end),
    and/or the member enrolls ``recruits`` more members who each buy the activity minimum. Both closes run
    through the same engine; the answer is the member's rank and earnings before and after.
    """
    from compplan.engine import close
    from compplan.money import parse_decimal, to_units

    period = Period.parse(period) if isinstance(period, str) else period
    target = member if on is None else on
    problems = ProblemCollector()
    for who in dict.fromkeys([member, target]):
        if not has_member(members, who):
            problems.add("unknown_member", f"member {_plain(who)} is not in {members.source}")
    if recruits < 0:
        problems.add("out_of_range", f"recruits {recruits}: expected 0 or more")
    problems.raise_if_any(InputError)
    extra_pv = to_units(parse_decimal(str(add_pv)), orders.decimals, "add_pv")
    new_ids: list[Any] = []
    if recruits:
        if members.ids.dtype.kind == "i":
            top = int(members.ids.max()) if len(members) else 0
            new_ids = [top + 1 + k for k in range(recruits)]
        else:
            new_ids = [f"what-if recruit {k + 1}" for k in range(recruits)]
    new_members = members
    if new_ids:
        n = len(new_ids)
        new_members = Members(
            _append(members.ids, new_ids),
            _append(members.sponsor_ids, [member] * n),
            np.concatenate([members.is_root, np.zeros(n, dtype=bool)]),
            np.concatenate([members.enrolled_on, np.full(n, np.datetime64(period.start, "D"))]),
            members.source,
            **unplaced_columns(members, n),
        )
        new_members = place_if_needed(plan, new_members)  # recruits go where the plan's auto-placement puts them
    minimum = to_units(max(plan.activity.min_pv, plan.activity.min_cv), orders.decimals, "min_pv")
    add_ids = ([target] if extra_pv else []) + new_ids
    add_pvs = ([extra_pv] if extra_pv else []) + [minimum] * len(new_ids)
    new_orders = orders
    if add_ids:
        new_orders = Orders(
            _append(orders.member_ids, add_ids),
            np.concatenate([orders.dates, np.full(len(add_ids), np.datetime64(period.end, "D"))]),
            np.concatenate([orders.pv, np.array(add_pvs, dtype=np.int64)]),
            np.concatenate([orders.cv, np.array(add_pvs, dtype=np.int64)]),
            orders.decimals,
            orders.source,
        )
    before = statement(close(plan, members, orders, period, state=state, events=events, ledger_for=member), member)
    after = statement(
        close(plan, new_members, new_orders, period, state=state, events=events, ledger_for=member), member
    )
    mdec = plan.minor_units

    def delta(a: str, b: str) -> str:
        return format_units(to_units(parse_decimal(b), mdec) - to_units(parse_decimal(a), mdec), mdec)

    return {
        "member": before["member"],
        "scenario": {"add_pv": format_units(extra_pv, orders.decimals), "on": _plain(target), "recruits": recruits},
        "rank": {"before": before["rank"]["paid_as"], "after": after["rank"]["paid_as"]},
        "total": {"before": before["total"], "after": after["total"], "change": delta(before["total"], after["total"])},
        "bonuses": {
            b["bonus"]: {"before": b["total"], "after": a["total"], "change": delta(b["total"], a["total"])}
            for b, a in zip(before["bonuses"], after["bonuses"], strict=True)
        },
    }
