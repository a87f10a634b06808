"""Genealogy relabelling and every class of bad period input, through the Python API and the CSV readers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, Period, State, close, parse_plan
from compplan.genealogy import Genealogy
from compplan.io.csvio import read_members, read_orders, read_state

PLAN = parse_plan(
    """
plan: {name: T, currency: USD}
activity: {min_pv: 10}
ranks: [{name: Member}, {name: Lead, min_gv: 100}]
bonuses: [{id: uni, type: unilevel, rates: [10%, 5%]}]
"""
)
D = dt.date(2026, 1, 1)


def members(ids: list[object], sponsors: list[object]) -> Members:
    return Members.from_columns(ids, sponsors, [D] * len(ids))


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_preorder_relabel_invariants(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 60))
    parents = [None] + [data.draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    perm = data.draw(st.permutations(range(n)))
    ids = [10 * i + 7 for i in range(n)]
    tree = Genealogy.build(
        members([ids[i] for i in perm], [None if parents[i] is None else ids[parents[i]] for i in perm])
    )
    # canonical order = integer order of ids, whatever the input row order
    assert list(tree.ids) == sorted(ids)
    for pos in range(n):
        c = tree.order[pos]
        assert tree.position[c] == pos
        p = parents[ids.index(int(tree.ids[c]))]
        if p is None:
            assert tree.parent[pos] == -1 and tree.depth[pos] == 0
        else:
            ppos = tree.parent[pos]
            assert ppos < pos and tree.ids[tree.order[ppos]] == ids[p]
            assert ppos < pos < tree.end[pos] <= tree.end[ppos]  # nested, contiguous subtrees
            assert tree.depth[pos] == tree.depth[ppos] + 1
    sizes = {pos: int(tree.end[pos] - pos) for pos in range(n)}
    for pos in range(n):  # subtree size = 1 + sizes of children
        kids = [q for q in range(n) if tree.parent[q] == pos]
        assert sizes[pos] == 1 + sum(sizes[k] for k in kids)


def test_string_ids_sort_as_text_and_int_ids_as_numbers() -> None:
    assert list(Genealogy.build(members([10, 9, 100], [None, 10, 10])).ids) == [9, 10, 100]
    assert list(Genealogy.build(members(["10", "9", "x"], [None, "10", "10"])).ids) == ["10", "9", "x"]


def test_duplicate_ids_and_unknown_sponsors_reported_together() -> None:
    with pytest.raises(InputError) as exc:
        Genealogy.build(members([1, 2, 2, 3, 4], [None, 1, 1, 99, 1]))
    assert problems(exc) == [
        "members row 3: duplicate member id 2",
        "members row 4: member 3: sponsor 99 is not a member",
    ]


@pytest.mark.parametrize("ids", [[1, 2, 3, 4], [1, 2, 3, 5]], ids=["every id of a range", "ids with a gap"])
def test_unknown_sponsors_named_with_dense_integer_ids(ids: list[int]) -> None:
    # Ids 1..n take the table-free path (canonical row = id - 1); a sponsor inside the range is then a member,
    # one outside is not, and a gap in the ids is found through the table.
    sponsors = [None, 1, 0, 4 if ids[-1] == 5 else 5]
    with pytest.raises(InputError) as exc:
        Genealogy.build(members(ids, sponsors))
    assert problems(exc) == [
        "members row 3: member 3: sponsor 0 is not a member",
        f"members row 4: member {ids[-1]}: sponsor {sponsors[-1]} is not a member",
    ]


def test_cycles_and_self_sponsorship_are_named() -> None:
    with pytest.raises(InputError) as exc:
        Genealogy.build(members([1, 2, 3, 4, 5, 6], [None, 3, 2, 4, 2, 1]))
    assert problems(exc) == [
        "members row 2: sponsor cycle: 2 -> 3 -> 2",
        "members row 4: member 4 is its own sponsor",
        "1 more members are cut off from every root because their sponsor line runs into a cycle",
    ]


def test_a_forest_with_no_root_is_a_cycle() -> None:
    with pytest.raises(InputError, match="sponsor cycle: a -> b -> a"):
        Genealogy.build(members(["a", "b"], ["b", "a"]))


def test_empty_network_closes_to_nothing() -> None:
    r = close(PLAN, members([], []), None, "2026-01")
    assert len(r) == 0 and r.summary["total_payout"] == "0.00" and r.summary["payout_ratio"] is None


def _orders(rows: list[tuple[object, dt.date, str]]) -> Orders:
    return Orders.from_columns([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[2] for r in rows])


def test_bad_orders_are_all_reported() -> None:
    m = members([1, 2], [None, 1])
    o = _orders([(1, D, "10"), (3, D, "5"), ("x", D, "5"), (2, dt.date(2026, 2, 1), "1"), (1, D, "20000000000.01")])
    with pytest.raises(InputError) as exc:
        close(PLAN, m, o, "2026-01")
    assert problems(exc) == [
        "orders row 2: order for unknown member 3",
        "orders row 3: order for unknown member x",
        "orders row 4: order dated 2026-02-01 is outside the period 2026-01-01..2026-01-31",
        "orders row 5: pv 20000000000.01 is beyond the bound of 10000000000.00 per order line",
        "orders row 5: cv 20000000000.01 is beyond the bound of 10000000000.00 per order line",
    ]


@pytest.mark.parametrize(
    "ids",
    [[2**63 - 2, 2**63 - 1], [-(2**63) + 1, 2**63 - 1], ["a", "b\U0001f600"]],
    ids=["dense up to the largest int64", "sparse integers", "text"],
)
def test_extreme_and_text_ids_close_like_small_ones(ids: list[object]) -> None:
    # The largest int64 id once fell outside the direct table (low + span overflowed); sparse and text ids go
    # through the hash table. Every kind must close like ids 1 and 2.
    def run(a: object, b: object) -> list[object]:
        r = close(PLAN, members([a, b], [None, a]), _orders([(b, D, "50"), (a, D, "80"), (b, D, "70")]), "2026-01")
        return [r.column(c).tolist() for c in ("pv", "gv", "rank", "uni", "total")]

    assert run(*ids) == run(1, 2)
    with pytest.raises(InputError, match="order for unknown member"):
        close(PLAN, members(ids, [None, ids[0]]), _orders([(ids[0], D, "1"), (3, D, "1")]), "2026-01")


def test_order_before_enrolment_and_member_enrolled_after_period() -> None:
    m = Members.from_columns([1, 2], [None, 1], [D, dt.date(2026, 1, 20)])
    with pytest.raises(InputError, match="order dated 2026-01-05 is before member 2 enrolled \\(2026-01-20\\)"):
        close(PLAN, m, _orders([(2, dt.date(2026, 1, 5), "1")]), "2026-01")
    late = Members.from_columns([1, 2], [None, 1], [D, dt.date(2026, 3, 1)])
    with pytest.raises(InputError, match="member 2 enrolled after the period end 2026-01-31"):
        close(PLAN, late, None, "2026-01")


def test_many_bad_rows_are_summarised() -> None:
    m = members([1], [None])
    o = _orders([(i, D, "1") for i in range(100, 160)])
    with pytest.raises(InputError) as exc:
        close(PLAN, m, o, "2026-01")
    assert len(exc.value.problems) == 21 and "... and 40 more rows" in str(exc.value.problems[-1])


def test_total_volume_bound() -> None:
    m = members([1], [None])
    o = _orders([(1, D, "9999999999.99")] * 1001)
    with pytest.raises(InputError, match="sum of \\|pv\\| over all order lines is beyond the bound"):
        close(PLAN, m, o, "2026-01")


def test_floats_are_refused_on_the_money_path() -> None:
    with pytest.raises(InputError, match="is a float"):
        Orders.from_columns([1], [D], [0.1], ["1"])


def test_volumes_more_precise_than_the_plan_are_refused() -> None:
    o = Orders.from_columns([1], [D], ["1.001"], ["1"], decimals=3)
    with pytest.raises(InputError, match="more than the plan's 2 decimal places"):
        close(PLAN, members([1], [None]), o, "2026-01")


def test_state_errors() -> None:
    m = members([1, 2], [None, 1])
    bad = State.from_mapping({1: "Lead", 3: "Member"})
    with pytest.raises(InputError, match="state for unknown member 3"):
        close(PLAN, m, None, "2026-01", state=bad)
    with pytest.raises(InputError, match="highest rank 'Gold' is not a rank of plan 'T'"):
        close(PLAN, m, None, "2026-01", state=State.from_mapping({2: "Gold"}))


def test_period_parsing() -> None:
    assert Period.parse("2026-02") == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28), "2026-02")
    assert Period.parse("2026-12").end == dt.date(2026, 12, 31)
    assert Period.parse("2026-01-01..2026-01-07").end == dt.date(2026, 1, 7)
    for bad in ("2026-13", "26-01", "2026-01-09..2026-01-02", "October"):
        with pytest.raises(InputError):
            Period.parse(bad)


# -- CSV readers -----------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_header_problems(tmp_path: Path) -> None:
    p = write(tmp_path, "m.csv", "id,sponsor,enrolled_on,id\n1,,2026-01-01,1\n")
    with pytest.raises(InputError) as exc:
        read_members(p)
    assert problems(exc) == [
        f"{p}:1: unknown column 'sponsor'; did you mean 'sponsor_id'?",
        f"{p}:1: column 'id' appears twice",
        f"{p}:1: required column 'sponsor_id' is missing",
    ]
    with pytest.raises(InputError, match="the file is empty"):
        read_members(write(tmp_path, "e.csv", ""))


def test_csv_bad_values_name_their_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "o.csv",
        "member_id,date,pv,cv\n1,2026-01-01,10,10\n1,2026-1-2,10,10\n\n1,2026-01-03,1e3,10\n1,2026-01-03,1.005,10\n"
        "1,2026-01-03,10\n,2026-01-03,1,1\n",
    )
    with pytest.raises(InputError) as exc:
        read_orders(p)
    assert problems(exc) == [
        f"{p}:7: expected 4 fields, found 3",
        f"{p}:8: empty member_id",
        f"{p}:3: date '2026-1-2' is not a date (YYYY-MM-DD)",
        f"{p}:5: pv '1e3' is not a decimal number",
        f"{p}:6: pv 1.005 has more than 2 decimal places",
    ]


def test_csv_roundtrip_of_text_ids_and_state(tmp_path: Path) -> None:
    m = read_members(write(tmp_path, "m.csv", "id,sponsor_id,enrolled_on\nA-1,,2025-01-01\nB 2,A-1,2025-02-01\n"))
    assert list(m.ids) == ["A-1", "B 2"] and list(m.is_root) == [True, False] and list(m.lines) == [2, 3]
    s = read_state(
        write(
            tmp_path,
            "s.csv",
            "# compplan state; plan=T; currency=USD; period=2025-12; end=2025-12-31\n"
            "id,highest_rank,streak,balance\nA-1,Lead,3,-1.50\n",
        )
    )
    assert s.plan_name == "T" and s.period == "2025-12" and list(s.ids) == ["A-1"] and list(s.lines) == [3]
    assert s.streak.tolist() == [3] and s.balance.tolist() == [-150] and s.end == dt.date(2025, 12, 31)
    o = read_orders(write(tmp_path, "o.csv", "member_id,date,pv,cv\nB 2,2026-01-05,-.5,+12\n"))
    assert list(o.pv) == [-50] and list(o.cv) == [1200]
    r = close(PLAN, m, o, "2026-01", state=s)
    assert r.highest_rank_names.tolist() == ["Lead", "Member"]


def test_integer_ids_with_text_sponsor_is_unknown_sponsor(tmp_path: Path) -> None:
    m = read_members(write(tmp_path, "m.csv", "id,sponsor_id,enrolled_on\n1,,2025-01-01\n2,x,2025-02-01\n"))
    with pytest.raises(InputError, match="member 2: sponsor x is not a member"):
        Genealogy.build(m)


def test_ids_sort_identically_from_csv_and_api() -> None:
    api = Genealogy.build(members(["b", "a", "10", "9"], [None, "b", "b", "a"]))
    assert np.array_equal(api.ids, np.array(["10", "9", "a", "b"]))


def test_quoted_files_parse_like_plain_ones(tmp_path: Path) -> None:
    """Files with quotes take the csv-module path; it must give the same columns and the same messages."""
    plain = "member_id,date,pv,cv\n7,2026-01-02,1.5,2\n8,2026-01-03,-3,+4.25\n9,2026-01-04,x,1\n"
    quoted = 'member_id,date,pv,cv\n"7","2026-01-02","1.5",2\n8,2026-01-03,"-3",+4.25\n9,2026-01-04,x,1\n'
    got = []
    for name, text in (("a.csv", plain), ("b.csv", quoted)):
        with pytest.raises(InputError) as exc:
            read_orders(write(tmp_path, name, text))
        got.append([str(p).replace(name, "F") for p in exc.value.problems])
        ok = write(tmp_path, "ok" + name, text.rsplit("9,", 1)[0])
        o = read_orders(ok)
        got.append(
            [o.member_ids.tolist(), o.dates.astype(str).tolist(), o.pv.tolist(), o.cv.tolist(), o.lines.tolist()]
        )
    assert got[0] == got[2] == [f"{tmp_path}/F:4: pv 'x' is not a decimal number"]
    assert got[1] == got[3] == [[7, 8], ["2026-01-02", "2026-01-03"], [150, -300], [200, 425], [2, 3]]


def test_text_ids_with_commas_survive_a_round_trip(tmp_path: Path) -> None:
    from compplan.io.output import write_result

    m = Members.from_columns(['a,"b"', "c"], [None, 'a,"b"'], [D, D])
    o = Orders.from_columns(["c", 'a,"b"'], [D, D], ["100", "10"], ["100", "10"])
    out = write_result(close(PLAN, m, o, "2026-01", ledger=True), tmp_path / "out")
    back = read_members(
        write(tmp_path, "m.csv", 'id,sponsor_id,enrolled_on\n"a,""b""",,2026-01-01\nc,"a,""b""",2026-01-01\n')
    )
    assert back.ids.tolist() == ['a,"b"', "c"]
    assert (out / "ledger.csv").read_text().splitlines()[1] == '"a,""b""",c,uni,line,1,100.00,0.100000,10.00'
    assert (out / "members.csv").read_text().splitlines()[1].startswith('"a,""b""",10.00,110.00,')


def test_dates_are_validated_exactly(tmp_path: Path) -> None:
    p = write(tmp_path, "m.csv", "id,sponsor_id,enrolled_on\n1,,2024-02-29\n2,1,2023-02-29\n3,1,2024-13-01\n")
    with pytest.raises(InputError) as exc:
        read_members(p)
    assert problems(exc) == [
        f"{p}:3: enrolled_on '2023-02-29' is not a date (YYYY-MM-DD)",
        f"{p}:4: enrolled_on '2024-13-01' is not a date (YYYY-MM-DD)",
    ]


_TEXT = st.text(
    alphabet=st.characters(blacklist_characters=',"\n\r', blacklist_categories=("Cs", "Cc")), min_size=0, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TEXT.filter(lambda t: t.strip() != ""), st.integers(0, 5)), min_size=1, max_size=30))
def test_text_columns_read_the_same_on_both_paths(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    """The fast path cuts text fields out with numpy (stripped, UTF-8, any width); the csv module must agree."""
    d = tmp_path_factory.mktemp("text")
    rows = [*rows, ("  " + "x" * 300 + " ", 1)]  # one field past the vectorised width
    header = "# compplan state; plan=P; currency=USD; period=2026-09; end=2026-09-30\nid,highest_rank,streak,balance\n"
    plain, quoted = d / "plain.csv", d / "quoted.csv"
    plain.write_text(header + "".join(f"{i},{k},{s},0.00\n" for i, (k, s) in enumerate(rows)), encoding="utf-8")
    quoted.write_text(header + "".join(f'"{i}","{k}",{s},0.00\n' for i, (k, s) in enumerate(rows)), encoding="utf-8")
    a, b = read_state(plain), read_state(quoted)
    assert a.highest_rank.tolist() == b.highest_rank.tolist() == [k.strip() for k, _ in rows]
    assert a.streak.tolist() == b.streak.tolist() == [s for _, s in rows]
