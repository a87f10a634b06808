"""Regression tests from the review of the hashed-id commits (kernels/idhash.py, genealogy.IdIndex, csvio)."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compplan import InputError, Members, Orders, close, genealogy, parse_plan
from compplan.genealogy import Genealogy, IdIndex
from compplan.inputs import ids_like

_NO_SPIN = textwrap.dedent(
    """
    import numpy as np
    from compplan.genealogy import IdIndex

    # 21 sparse ids, 17 of which hashed into one 16-slot half of a 32-slot table: building spun forever.
    ids = np.array([1_000_089 + 1000 * k for k in range(21)], dtype=np.int64)
    rows, found = IdIndex(ids).lookup(np.array([1_000_089, 1_020_089, 5], dtype=np.int64))
    assert found.tolist() == [True, True, False] and rows[:2].tolist() == [0, 20]

    # 20 ids, exactly 16 in one half (built fine): looking up an unknown id hashing there spun forever.
    ids = np.array([434195622486, 763602890406, 938348546891, 974756989130, 985674895991, 312123395932,
                    802162012342, 430850955334, 748372619160, 621880788348, 797365215380, 754797209371,
                    969322664880, 858407741358, 685298656356, 656982918202, 711706275711, 425152299316,
                    873936822466, 823638262553], dtype=np.int64)
    assert IdIndex(ids).lookup(np.array([10**12], dtype=np.int64))[1].tolist() == [False]
    print("ok")
    """
)


@pytest.mark.parametrize("parts_from", [None, 1], ids=["as shipped", "sub-tables from one id"])
def test_hashed_ids_of_small_networks_never_fill_a_sub_table(parts_from: int | None) -> None:
    # In a subprocess with a timeout: the failure mode is an endless probe loop inside a numba kernel. The
    # second run gives even tiny tables two sub-tables, where one half filling up was possible.
    prefix = "" if parts_from is None else f"import compplan.genealogy as g; g.HASH_PARTS_FROM = {parts_from}\n"
    code = prefix + _NO_SPIN
    out = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


_INT = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([-(2**63), -(2**63) + 1, -1, 0, 1, 2**32, 2**63 - 2, 2**63 - 1]),
)
_TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", " ", ",", "\x01", "\u00e9", "\u00ff", "\u0100", "\u3000", "\U0001f600"]),
    max_size=12,
)


def _reference(ids: np.ndarray, probes: list[object]) -> tuple[list[int], list[int]]:
    """The old semantics: stable argsort, searchsorted, first equal id; ``-1`` when not found."""
    perm = np.argsort(ids, kind="stable")
    ordered = ids[perm]
    keys, ok = ids_like(probes, ids)
    rows = []
    for key, good in zip(keys.tolist(), ok.tolist(), strict=True):
        r = int(np.searchsorted(ordered, key)) if len(ordered) else 0
        rows.append(r if good and r < len(ordered) and ordered[r] == key else -1)
    return perm.tolist(), rows


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.lists(_INT, max_size=45), st.lists(_TEXT, max_size=45)), st.data(), st.booleans())
def test_id_index_sorts_and_finds_like_a_stable_sort(ids: list[object], data: st.DataObject, split: bool) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(genealogy, "HASH_PARTS_FROM", 1 if split else genealogy.HASH_PARTS_FROM)  # sub-tables when tiny
        _sorts_and_finds(ids, data)


def _sorts_and_finds(ids: list[object], data: st.DataObject) -> None:
    arr = np.array(ids, dtype=np.int64 if ids and isinstance(ids[0], int) else np.str_)
    if arr.dtype.kind == "U" and not len(arr):
        arr = np.zeros(0, dtype="<U1")
    arr = np.concatenate([arr, arr[: data.draw(st.integers(0, len(arr)))]])  # duplicates
    probes = data.draw(st.lists(st.one_of(_INT, _TEXT), max_size=10)) + arr[:5].tolist()
    index = IdIndex(arr)
    perm, rows = _reference(arr, probes)
    assert index.perm.tolist() == perm
    got, found = index.lookup(probes)
    assert np.where(found, got, -1).tolist() == rows


def test_write_members_writes_each_members_own_sponsor(tmp_path: Path) -> None:
    # Pre-existing (write_members, used by `compplan place`): sponsor and placement columns took canonical
    # (sorted) rows but printed members.ids, which are in input order.
    from compplan.io.output import write_members

    members = Members.from_columns([30, 10, 20, 40], [None, 30, 10, 10], ["2025-01-01"] * 4)
    write_members(members, tmp_path / "int.csv")
    with (tmp_path / "int.csv").open(newline="") as f:
        assert [r[:2] for r in list(csv.reader(f))[1:]] == [["30", ""], ["10", "30"], ["20", "10"], ["40", "10"]]
    ids = ["R", "A1", "B2", "C3"]
    sponsors = [None, "R", "R", "A1"]
    members = Members.from_columns(
        ids, sponsors, ["2025-01-01"] * 4, placement_ids=sponsors, placement_sides=[None, "L", "R", "L"]
    )
    write_members(members, tmp_path / "text.csv")
    with (tmp_path / "text.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    assert [(r[0], r[1], r[3]) for r in rows] == [(i, s or "", s or "") for i, s in zip(ids, sponsors, strict=True)]


def test_orders_without_members_are_unknown_members() -> None:
    # No members: the one-pass check has no slots to read (it read one before the array), and the general
    # checks raised an IndexError instead of naming the lines.
    empty = Genealogy.build(Members.from_columns([], [], []))
    lines = np.array(["a", "b"])
    one = np.ones(2, np.int64)
    assert empty.check_order_lines(lines, np.zeros(2, np.int64), one, one, 0, 10, 100, 1000, 5) is None
    plan = parse_plan("plan: {name: T, currency: USD}\nactivity: {min_pv: 1}\nranks: [{name: M}]\nbonuses: []\n")
    orders = Orders.from_columns(["a", "b"], ["2026-10-02"] * 2, ["1", "2"], ["1", "2"])
    with pytest.raises(InputError) as exc:
        close(plan, Members.from_columns([], [], []), orders, "2026-10")
    assert [p.code for p in exc.value.problems] == ["unknown_member", "unknown_member"]


def test_unsigned_integer_ids_sort_as_numbers() -> None:
    # Members built from unsigned arrays (not through from_columns, which makes int64): numbers, not text; the
    # previous code failed to find their sponsors.
    days = np.array(["2025-01-01"] * 3, dtype="datetime64[D]")
    for ids in ([10, 9, 100], [10 * 10**12, 9 * 10**12, 100 * 10**12]):  # direct table; hash table
        sponsors = np.array([0, ids[0], ids[0]], dtype=np.uint64)
        m = Members(np.array(ids, dtype=np.uint64), sponsors, np.array([1, 0, 0], bool), days)
        tree = Genealogy.build(m)
        assert tree.ids.tolist() == sorted(ids) and tree.parent.tolist() == [-1, 0, 0]
