"""The ``compplan`` command line.

Exit codes: 0 success, 1 invalid plan or input (a report on stderr, no traceback, nothing written),
2 bad command-line usage, 3 an internal error (a bug: the traceback is printed).
``validate`` and ``schema`` import only the plan language, never numba, so they are fast in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from compplan import __version__
from compplan.errors import CompplanError, EngineError, InputError, ProblemCollector
from compplan.money import format_units, parse_decimal

if TYPE_CHECKING:
    from compplan.inputs import Events, Members, Orders, State
    from compplan.spec import Plan

T = TypeVar("T")


# Argument types: argparse reports "argument --NAME: MESSAGE" and exits with 2 when one raises ArgumentTypeError.

#: Largest network size the command line accepts (synthetic members, simulated first month).
MAX_COUNT = 2**31 - 1


def _whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argument type: a whole number from ``minimum`` (to ``maximum`` when given)."""

    def whole(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at most {maximum:,}, got {text!r}")
        return value

    return whole


_SIZE = _whole(1, MAX_COUNT)


def _probability(text: str) -> float:
    """An argument type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _period(text: str) -> str:
    """An argument type: a period (``YYYY-MM`` or ``YYYY-MM-DD..YYYY-MM-DD``), kept as text."""
    from compplan.inputs import Period

    try:
        Period.parse(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.report()) from None
    return text


def _month(text: str) -> str:
    """An argument type: a calendar month ``YYYY-MM``."""
    from compplan.inputs import Period

    try:
        if ".." in text:
            raise InputError("")
        Period.parse(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {text!r}") from None
    return text.strip()


def _date(text: str) -> dt.date:
    """An argument type: a date ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _decimal(text: str) -> str:
    """An argument type: plain decimal text such as ``200`` or ``-12.5`` (no exponent), kept as text."""
    try:
        parse_decimal(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a decimal number such as 200 or 12.5, got {text!r}") from None
    return text.strip()


def _member_text(text: str) -> str:
    """An argument type: a member id (any text but an empty one)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a member id, got an empty value")
    return text


def _percent(fraction: Decimal) -> str:
    text = f"{(fraction * 100).normalize():f}"
    return f"{text}%"


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate plan files; print each plan's theoretical maximum payout."""
    from compplan.spec import load_plan, theoretical_maximum

    failed = 0
    for path in args.plans:
        try:
            plan = load_plan(path)
        except CompplanError as exc:
            failed += 1
            print(exc.report(), file=sys.stderr)
            continue
        m = theoretical_maximum(plan)
        parts = ", ".join(f"{k} {_percent(v)}" for k, v in m.share_of_cv.items())
        print(
            f"{path}: ok: {plan.plan.name} {plan.plan.version} ({plan.plan.currency}), "
            f"{len(plan.ranks)} ranks, {len(plan.bonuses)} bonuses"
        )
        print(f"  theoretical maximum payout: {_percent(m.bonus_share)} of CV" + (f" ({parts})" if parts else ""))
        if m.cap is not None:
            print(f"  with the payout cap of {_percent(m.cap)}: at most {_percent(m.total_share)} of CV")
        for k, v in m.per_ancestor.items():
            bonus = next(b for b in plan.bonuses if b.id == k)
            limit = (
                f"bounded by cap_per_member {bonus.cap_per_member} {plan.plan.currency} per member"
                if bonus.cap_per_member is not None
                else "no cap_per_member bounds it"
            )
            print(f"  {k}: up to {_percent(v)} of CV at every placement ancestor (grows with depth; {limit})")
        for k, v in m.fixed_cash.items():
            print(
                f"  fixed awards: {k} up to {format_units(int(v.scaleb(plan.minor_units)), plan.minor_units)} "
                f"{plan.plan.currency} per member"
            )
    if failed:
        print(f"{failed} of {len(args.plans)} plan files are invalid", file=sys.stderr)
    return 1 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the plan JSON Schema."""
    from compplan.spec.schema import plan_json_schema_text

    sys.stdout.write(plan_json_schema_text())
    return 0


def _summary_lines(summary: dict[str, object], seconds: float) -> list[str]:
    bonuses = summary["bonuses"]
    assert isinstance(bonuses, dict)
    lines = [
        f"{summary['plan']} {summary['plan_version']}, period {summary['period']}: "
        f"{summary['members']:,} members, {summary['active_members']:,} active",
        f"  total CV {summary['total_cv']}, total payout {summary['total_payout']} {summary['currency']}, "
        f"payout ratio {summary['payout_ratio']}",
    ]
    lines += [f"  {k:<20} {v:>16}" for k, v in bonuses.items()]
    ranks = summary["ranks"]
    assert isinstance(ranks, dict)
    lines.append("  ranks: " + ", ".join(f"{k} {v:,}" for k, v in ranks.items() if v))
    lines.append(f"  closed in {seconds:.2f} s")
    return lines


def cmd_close(args: argparse.Namespace) -> int:
    """Close a period from CSV files and write the results atomically."""
    from compplan import arrays
    from compplan.compile import compile_plan
    from compplan.engine import close
    from compplan.inputs import Period
    from compplan.io.output import check_target, write_result
    from compplan.next_rank import blockers
    from compplan.spec import load_plan

    started = time.perf_counter()
    plan = load_plan(args.plan)
    period = Period.parse(args.period)
    _check_as_of(args.as_of, args.progress, period)
    inputs = [args.plan, args.members, args.orders, args.state, args.events]
    out = check_target(args.out, overwrite=args.overwrite, inputs=[name for name in inputs if name])
    members, orders, state, events = _read_inputs(args, plan)
    program = compile_plan(plan)
    why = blockers(program) if args.progress else []
    for reason in why:
        print(f"progress.csv: next_rank_earnings left empty: {reason}", file=sys.stderr)
    result = close(
        program,
        members,
        orders,
        period,
        state=state,
        ledger=args.ledger,
        events=events,
        next_rank=args.progress and not why,
    )
    del members, orders  # the result keeps what it needs; the order lines go before the outputs are written
    arrays.release()  # no close follows: the pool's unused buffers go before the outputs are written
    extra = {}
    if args.economics:
        from compplan.economics import economics

        extra_json = {"economics.json": economics(result)}
    else:
        extra_json = {}
    if args.progress:
        from compplan.explain import progress

        extra["progress.csv"] = progress(result, args.as_of)
    write_result(result, out, overwrite=args.overwrite, extra=extra, extra_json=extra_json)
    if not args.quiet:
        print("\n".join(_summary_lines(result.summary, time.perf_counter() - started)))
        print(f"  wrote {out}/")
    return 0


def _check_as_of(as_of: dt.date | None, progress: bool, period: Any) -> None:
    """``--as-of`` goes with ``--progress`` and names a day of the period."""
    problems = ProblemCollector()
    if as_of is not None and not progress:
        problems.add("bad_argument", "--as-of needs --progress (it sets the days_left column of progress.csv)")
    if as_of is not None and not period.start <= as_of <= period.end:
        problems.add(
            "bad_argument",
            f"--as-of {as_of}: not in period {period.label}; give a day from {period.start} to {period.end}",
        )
    problems.raise_if_any(InputError)


def cmd_explain(args: argparse.Namespace) -> int:
    """Print one member's statement: volumes, rank requirements, every bonus line."""
    import json

    from compplan.compile import compile_plan
    from compplan.engine import close
    from compplan.explain import format_statement, statement
    from compplan.inputs import Period
    from compplan.next_rank import blockers
    from compplan.spec import load_plan

    plan = load_plan(args.plan)
    period = Period.parse(args.period)
    members, orders, state, events = _read_inputs(args, plan)
    member = _member_id(args.id, members.ids)
    problems = ProblemCollector()
    _check_member("--id", member, members, problems)
    problems.raise_if_any(InputError)
    program = compile_plan(plan)
    at_next = args.next_rank and not blockers(program)  # docs/semantics.md 3.10, when the plan allows it
    result = close(program, members, orders, period, state=state, events=events, ledger_for=member, next_rank=at_next)
    s = statement(result, member)
    print(json.dumps(s, indent=2) if args.json else format_statement(s))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    """Print a member's earnings before and after more volume or more recruits."""
    import json

    from compplan.explain import what_if
    from compplan.inputs import MAX_LINE_UNITS, Period
    from compplan.money import parse_units
    from compplan.spec import load_plan

    plan = load_plan(args.plan)
    period = Period.parse(args.period)
    members, orders, state, events = _read_inputs(args, plan)
    problems = ProblemCollector()
    vdec = plan.plan.volume_decimals
    try:
        add_pv = parse_units(args.add_pv, vdec)
    except ValueError:
        add_pv = 0
        problems.add(
            "too_precise", f"--add-pv {args.add_pv}: more than {vdec} decimal places (the plan's volume_decimals)"
        )
    if abs(add_pv) > MAX_LINE_UNITS:
        problems.add(
            "out_of_range",
            f"--add-pv {args.add_pv}: beyond the bound of {format_units(MAX_LINE_UNITS, vdec)} points per order line",
        )
    member = _member_id(args.id, members.ids)
    on = _member_id(args.on, members.ids) if args.on is not None else None
    _check_member("--id", member, members, problems)
    if on is not None:
        _check_member("--on", on, members, problems)
    problems.raise_if_any(InputError)
    answer = what_if(
        plan,
        members,
        orders,
        period,
        member,
        add_pv=format_units(add_pv, vdec),
        on=on,
        recruits=args.recruits,
        state=state,
        events=events,
    )
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    s = answer["scenario"]
    what = [f"{s['on']} buys {s['add_pv']} more points"] if add_pv else []
    what += [f"{args.recruits} more active recruits"] if args.recruits else []
    print(f"What if {' and '.join(what) or 'nothing changes'} (member {answer['member']}):")
    print(f"  rank {answer['rank']['before']} -> {answer['rank']['after']}")
    print(f"  total {answer['total']['before']} -> {answer['total']['after']} ({answer['total']['change']})")
    for k, b in answer["bonuses"].items():
        if b["change"] not in ("0", "0.00", "0.000"):
            print(f"    {k}: {b['before']} -> {b['after']} ({b['change']})")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Close the same inputs under two plans and report what changes."""
    import json

    from compplan.economics import plan_diff
    from compplan.engine import close
    from compplan.inputs import Period
    from compplan.spec import load_plan

    problems = ProblemCollector()
    if len(args.plan) != 2:
        times = "once" if len(args.plan) == 1 else f"{len(args.plan)} times"
        problems.add("bad_argument", f"give --plan exactly twice (plan A, then plan B), not {times}")
    _check_network_arguments(args, problems)
    problems.raise_if_any(InputError)
    plan_a, plan_b = (load_plan(p) for p in args.plan)
    period = Period.parse(args.period)
    if args.members is not None:
        members, orders, _, _ = _read_inputs(args, plan_a)
        source = f"{args.members}, {args.orders}"
    else:
        members, orders = _synthetic(
            plan_a if plan_a.placement is not None else plan_b, args.synthetic, args.period, args.seed
        )
        source = f"a synthetic network of {args.synthetic:,} members (seed {args.seed})"
    d = plan_diff(close(plan_a, members, orders, period), close(plan_b, members, orders, period), args.top)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    print(f"A: {d['plans']['a']}  B: {d['plans']['b']}  on {source}, period {args.period}")
    t = d["total_payout"]
    print(
        f"  total payout {t['a']} -> {t['b']} ({t['change']}); payout ratio {d['payout_ratio']['a']} -> "
        f"{d['payout_ratio']['b']}"
    )
    for k, x in d["bonuses"].items():
        print(f"    {k:<22} {x['a']:>14} -> {x['b']:>14} ({x['change']})")
    for k, x in d["ranks"].items():
        if x["change"]:
            print(f"    rank {k}: {x['a']:,} -> {x['b']:,} ({x['change']:+,})")
    print(f"  {d['members_gaining']:,} members gain, {d['members_losing']:,} lose")
    for label, rows in (("gain most", d["top_gainers"]), ("lose most", d["top_losers"])):
        if rows:
            print(f"  {label}: " + ", ".join(f"{r['member']} {r['change']}" for r in rows))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Grow a synthetic network month by month, close each month, print how the plan's economics evolve."""
    import json

    from compplan.simulate import Growth, simulate
    from compplan.spec import load_plan

    plan = load_plan(args.plan)
    growth = Growth(
        recruit_rate=args.recruit_rate, churn=args.churn, retention=args.retention, order_rate=args.order_rate
    )
    history = simulate(plan, args.members, args.months, start=args.start, seed=args.seed, growth=growth)
    if args.json:
        print(json.dumps(history, indent=2))
        return 0
    top = plan.rank_names[-3:]
    print(
        f"{'period':<8} {'members':>9} {'active':>8} {'earners':>8} {'total CV':>14} {'payout':>13} {'ratio':>7}  "
        + "  ".join(top)
    )
    for h in history:
        ranks = "  ".join(f"{h['ranks'][r]:>{len(r)}}" for r in top)
        print(
            f"{h['period']:<8} {h['members']:>9,} {h['active']:>8,} {h['earners']:>8,} {h['total_cv']:>14} "
            f"{h['total_payout']:>13} {h['payout_ratio'] or 0:>7.4f}  {ranks}"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write one self-contained HTML page with the economics of a close."""
    from compplan.engine import close
    from compplan.inputs import Period
    from compplan.io.output import check_target, write_file_atomically
    from compplan.report import render_report
    from compplan.spec import load_plan

    problems = ProblemCollector()
    _check_network_arguments(args, problems)
    problems.raise_if_any(InputError)
    plan = load_plan(args.plan)
    out = check_target(args.out, overwrite=True, directory=False)  # an existing page is replaced
    period = Period.parse(args.period)
    state = events = None
    if args.members is not None:
        members, orders, state, events = _read_inputs(args, plan)
        source = f"{args.members}, {args.orders}"
    else:
        members, orders = _synthetic(plan, args.synthetic, args.period, args.seed)
        source = f"a synthetic network of {args.synthetic:,} members (seed {args.seed})"
    page = render_report(close(plan, members, orders, period, state=state, events=events), network=source)
    write_file_atomically(out, lambda tmp: tmp.write_text(page, encoding="utf-8"), overwrite=True)
    print(f"wrote {out}: {source}, period {args.period}")
    return 0


def cmd_place(args: argparse.Namespace) -> int:
    """Fill in missing placements and write the members table."""
    from compplan.io.csvio import read_members
    from compplan.io.output import check_target, write_members
    from compplan.placement import place
    from compplan.spec import load_plan

    started = time.perf_counter()
    plan = load_plan(args.plan)
    out = check_target(args.out, overwrite=args.overwrite, directory=False)
    if args.members.endswith(".parquet"):
        from compplan.io.parquet import read_members_parquet

        members = read_members_parquet(args.members)
    else:
        members = read_members(args.members)
    before = int(members.placed.sum()) if members.placed is not None else 0
    placed = place(plan, members)
    write_members(placed, out, overwrite=args.overwrite)
    if not args.quiet:
        after = int(placed.placed.sum()) if placed.placed is not None else 0
        print(
            f"placed {after - before:,} of {len(placed):,} members ({plan.placement.method if plan.placement else '-'})"
            f" in {time.perf_counter() - started:.2f} s; wrote {out}"
        )
    return 0


def _member_id(text: str, ids: Any) -> Any:
    """The id as the members table holds it (integer ids are looked up as integers)."""
    from compplan.inputs import canonical_int

    return canonical_int(text) if ids.dtype.kind == "i" and canonical_int(text) is not None else text


def _check_member(option: str, member: Any, members: Members, problems: ProblemCollector) -> None:
    """Record a problem when the member an option names is not in the members table."""
    from compplan.explain import has_member

    if not has_member(members, member):
        problems.add("unknown_member", f"{option}: member {member} is not in {members.source}")


def _check_network_arguments(args: argparse.Namespace, problems: ProblemCollector) -> None:
    """``diff`` / ``report``: ``--members`` and ``--orders`` together, or a synthetic network; fill its defaults."""
    if (args.members is None) != (args.orders is None):
        given, missing = ("--members", "--orders") if args.orders is None else ("--orders", "--members")
        problems.add(
            "bad_argument",
            f"{given} needs {missing}: give both (your network) or neither (a synthetic network)",
        )
    for option in ("state", "events"):
        if getattr(args, option, None) is not None and args.members is None:
            problems.add(
                "bad_argument", f"--{option} needs --members and --orders (it cannot apply to a synthetic network)"
            )
    for option in ("synthetic", "seed"):
        if getattr(args, option) is not None and args.members is not None:
            problems.add("bad_argument", f"--{option} is for a synthetic network; leave it out with --members")
    args.synthetic = 100_000 if args.synthetic is None else args.synthetic
    args.seed = 0 if args.seed is None else args.seed


def _read_inputs(args: argparse.Namespace, plan: Plan) -> tuple[Members, Orders, State | None, Events | None]:
    """``--members`` and ``--orders`` (CSV, or Parquet when the name ends in ``.parquet``), ``--state``, ``--events``.

    Every file is read even when an earlier one is bad, and when the members file reads but another does not, the
    sponsor tree is checked too: the problems of all of them are reported together.
    """
    from compplan.genealogy import Genealogy
    from compplan.io.csvio import read_events, read_members, read_orders, read_state

    errors: list[CompplanError] = []

    def read(path: str | None, reader: Callable[[str], T], parquet: Callable[[str], T] | None = None) -> T | None:
        if path is None:
            return None
        try:
            return parquet(path) if parquet is not None and path.endswith(".parquet") else reader(path)
        except InputError as exc:
            errors.append(exc)
            return None

    decimals, minor = plan.plan.volume_decimals, plan.minor_units
    members_parquet = orders_parquet = None
    if args.members.endswith(".parquet") or args.orders.endswith(".parquet"):
        from compplan.io.parquet import read_members_parquet, read_orders_parquet

        members_parquet = read_members_parquet
        orders_parquet = lambda p: read_orders_parquet(p, decimals)  # noqa: E731
    members = read(args.members, read_members, members_parquet)
    orders = read(args.orders, lambda p: read_orders(p, decimals), orders_parquet)
    state = read(getattr(args, "state", None), lambda p: read_state(p, minor, decimals))
    events = read(getattr(args, "events", None), read_events)
    if errors and members is not None:
        try:
            Genealogy.build(members)
        except InputError as exc:
            errors.insert(0, exc)
    if errors:
        raise InputError.together(errors)
    assert members is not None and orders is not None
    return members, orders, state, events


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a synthetic network and close a period with a shipped plan."""
    from compplan.engine import close
    from compplan.io.output import check_target, write_result
    from compplan.spec import load_plan

    plan_path = Path(args.plan) if args.plan else _shipped_plan("wellness_unilevel.yaml")
    plan = load_plan(plan_path)
    if args.out:
        check_target(args.out, overwrite=args.overwrite, inputs=[plan_path])
    t0 = time.perf_counter()
    members, orders = _synthetic(plan, args.members, args.period, args.seed)
    t1 = time.perf_counter()
    result = close(plan, members, orders, args.period, ledger=bool(args.out))
    t2 = time.perf_counter()
    print(
        f"synthetic network: {len(members):,} members, {len(orders):,} order lines (seed {args.seed}, "
        f"{t1 - t0:.2f} s); plan {plan_path}"
    )
    print("\n".join(_summary_lines(result.summary, t2 - t1)))
    top = result.total.argsort()[::-1][:5]
    print(
        "  top earners: "
        + ", ".join(
            f"{result.ids[i]} ({result.rank_names[i]}) {format_units(int(result.total[i]), plan.minor_units)}"
            for i in top
        )
    )
    if args.out:
        write_result(result, args.out, overwrite=args.overwrite)
        print(f"  wrote {args.out}/")
    return 0


def _synthetic(plan: Plan, n: int, period: str, seed: int) -> tuple[Members, Orders]:
    """A seeded synthetic network, placed by the plan's auto-placement when it pays over a placement tree."""
    from compplan.placement import place_if_needed
    from compplan.synthetic import generate

    members, orders = generate(n, period=period, seed=seed)
    return place_if_needed(plan, members), orders


def _shipped_plan(name: str) -> Path:
    """A plan shipped with the package (installed copy first, then the source tree's plans/)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "plans" / name, here.parents[1] / "plans" / name):
        if candidate.is_file():
            return candidate
    raise CompplanError(f"shipped plan {name} not found")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="compplan", description="Exact, fast compensation-plan period closes.")
    p.add_argument("--version", action="version", version=f"compplan {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="validate plan files (exit 1 if any is invalid)")
    v.add_argument("plans", nargs="+", metavar="PLAN")
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("schema", help="print the plan JSON Schema (draft-07)")
    s.set_defaults(func=cmd_schema)

    c = sub.add_parser("close", help="close a period from CSV or Parquet inputs")
    c.add_argument("--plan", required=True)
    c.add_argument("--members", required=True, help="CSV or .parquet: id, sponsor_id, enrolled_on")
    c.add_argument("--orders", required=True, help="CSV or .parquet: member_id, date, pv, cv")
    c.add_argument("--period", required=True, type=_period, help="YYYY-MM or YYYY-MM-DD..YYYY-MM-DD")
    c.add_argument("--out", required=True, help="output directory (created atomically)")
    c.add_argument("--state", help="state.csv of the previous close")
    c.add_argument("--events", help="CSV: member_id, kind, date (for action bonuses)")
    c.add_argument("--ledger", action="store_true", help="also write ledger.csv, one line per payment")
    c.add_argument("--economics", action="store_true", help="also write economics.json (ratios, disclosure table)")
    c.add_argument(
        "--progress",
        action="store_true",
        help="also write progress.csv: what each member misses for the next rank, and what it would earn there",
    )
    c.add_argument(
        "--as-of",
        type=_date,
        help="with --progress: the date (inside the period) days_left counts from; default the period start",
    )
    c.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=cmd_close)

    pl = sub.add_parser("place", help="fill in missing binary / matrix placements and write the members table")
    pl.add_argument("--plan", required=True, help="a plan with a 'placement' section")
    pl.add_argument("--members", required=True, help="CSV or .parquet: id, sponsor_id, enrolled_on, placement_...")
    pl.add_argument("--out", required=True, help="the members CSV to write (every member placed)")
    pl.add_argument("--overwrite", action="store_true", help="replace an existing file")
    pl.add_argument("--quiet", action="store_true")
    pl.set_defaults(func=cmd_place)

    e = sub.add_parser("explain", help="one member's statement: every cent and what is missing for the next rank")
    e.add_argument("--plan", required=True)
    e.add_argument("--members", required=True)
    e.add_argument("--orders", required=True)
    e.add_argument("--period", required=True, type=_period)
    e.add_argument("--id", required=True, type=_member_text, help="the member id")
    e.add_argument("--state", help="state.csv of the previous close")
    e.add_argument("--events", help="CSV: member_id, kind, date")
    e.add_argument("--json", action="store_true", help="print JSON instead of text")
    e.add_argument(
        "--next-rank",
        action="store_true",
        help="also show what the member would have earned at its next rank (one more pass over the network)",
    )
    e.set_defaults(func=cmd_explain)

    w = sub.add_parser("whatif", help="a member's earnings with more volume or more recruits")
    for name in ("--plan", "--members", "--orders"):
        w.add_argument(name, required=True)
    w.add_argument("--period", required=True, type=_period)
    w.add_argument("--id", required=True, type=_member_text, help="the member id")
    w.add_argument("--add-pv", default="0", type=_decimal, help="points bought in addition (PV and CV)")
    w.add_argument("--on", type=_member_text, help="the member who buys them (default: --id)")
    w.add_argument(
        "--recruits", type=_whole(0, MAX_COUNT), default=0, help="more personally enrolled members, each active"
    )
    w.add_argument("--state")
    w.add_argument("--events")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_whatif)

    f = sub.add_parser("diff", help="close the same inputs under two plans and compare")
    f.add_argument("--plan", action="append", required=True, help="give twice: plan A, then plan B")
    f.add_argument("--members", help="members CSV/Parquet, with --orders (default: a synthetic network)")
    f.add_argument("--orders", help="orders CSV/Parquet, with --members")
    f.add_argument("--period", default="2026-10", type=_period)
    f.add_argument("--synthetic", type=_SIZE, help="synthetic network size without --members (default 100,000)")
    f.add_argument("--seed", type=_whole(0), help="seed of the synthetic network (default 0)")
    f.add_argument("--top", type=_whole(0), default=10, help="how many biggest gainers and losers to list")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_diff)

    m = sub.add_parser("simulate", help="grow a synthetic network month by month and close each month")
    m.add_argument("--plan", required=True)
    m.add_argument("--members", type=_SIZE, default=20_000, help="size of the first month's network")
    m.add_argument("--months", type=_whole(1), default=12)
    m.add_argument("--start", type=_month, default="2026-01", help="first month, YYYY-MM")
    m.add_argument(
        "--recruit-rate", type=_probability, default=0.04, help="new members per active member per month (0 to 1)"
    )
    m.add_argument("--churn", type=_probability, default=0.02, help="share of members leaving each month (0 to 1)")
    m.add_argument(
        "--retention", type=_probability, default=0.85, help="chance a buyer buys again the next month (0 to 1)"
    )
    m.add_argument(
        "--order-rate",
        type=_probability,
        default=0.10,
        help="chance a member who did not buy buys this month (0 to 1)",
    )
    m.add_argument("--seed", type=_whole(0), default=0)
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_simulate)

    r = sub.add_parser("report", help="one self-contained HTML page with the economics of a close")
    r.add_argument("--plan", required=True)
    r.add_argument("--members", help="members CSV/Parquet, with --orders (default: a synthetic network)")
    r.add_argument("--orders", help="orders CSV/Parquet, with --members")
    r.add_argument("--period", default="2026-10", type=_period)
    r.add_argument("--state", help="state.csv of the previous close (with --members)")
    r.add_argument("--events", help="CSV: member_id, kind, date (with --members)")
    r.add_argument("--synthetic", type=_SIZE, help="synthetic network size without --members (default 100,000)")
    r.add_argument("--seed", type=_whole(0), help="seed of the synthetic network (default 0)")
    r.add_argument("--out", required=True, help="the HTML file to write")
    r.set_defaults(func=cmd_report)

    d = sub.add_parser("demo", help="close a synthetic network with a shipped plan")
    d.add_argument("--members", type=_SIZE, default=100_000, help="network size (default 100,000)")
    d.add_argument("--period", default="2026-10", type=_period)
    d.add_argument("--seed", type=_whole(0), default=0)
    d.add_argument("--plan", help="plan file (default: the shipped wellness_unilevel.yaml)")
    d.add_argument("--out", help="also write the results (with the ledger) here")
    d.add_argument("--overwrite", action="store_true")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except EngineError as exc:
        traceback.print_exc()
        print(f"internal error (a bug in compplan, please report it): {exc}", file=sys.stderr)
        return exc.exit_code
    except CompplanError as exc:
        print(exc.report(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `compplan validate ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
