"""Bad input never escapes as a traceback: random CSV text and random plan mutations give located errors."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compplan import InputError, PlanError, parse_plan
from compplan.io.csvio import read_orders

ROOT = Path(__file__).resolve().parents[1]
PLAN_TEXT = (ROOT / "plans" / "hybrid_leadership.yaml").read_text()

field = st.one_of(
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]", fullmatch=True),
    st.text(alphabet=string.ascii_letters + string.digits + " .-+e", max_size=8),
)
row = st.lists(field, min_size=3, max_size=5)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=12), quote=st.booleans())
def test_csv_fast_and_slow_paths_agree_on_any_text(rows: list[list[str]], quote: bool, tmp_path: Path) -> None:
    """Quoting a file (the csv-module path) never changes what is read or which lines are reported."""
    body = "\n".join(",".join(r) for r in rows)
    quoted = "\n".join(",".join(f'"{x}"' for x in r) for r in rows)
    results = []
    for name, text in (("plain.csv", body), ("quoted.csv", quoted if quote else body)):
        path = tmp_path / name
        path.write_text("member_id,date,pv,cv\n" + text + "\n")
        try:
            o = read_orders(path)
            results.append(("ok", o.member_ids.astype(str).tolist(), o.dates.tolist(), o.pv.tolist(), o.cv.tolist()))
        except InputError as exc:
            results.append(("error", [str(p).replace(name, "F") for p in exc.problems]))
    assert results[0] == results[1]


mutation = st.sampled_from(["delete", "duplicate", "replace"])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_plan_mutations_give_plan_errors_not_tracebacks(data: st.DataObject) -> None:
    lines = PLAN_TEXT.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        kind = data.draw(mutation)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        else:
            junk = data.draw(
                st.sampled_from(
                    [
                        "  x: 1",
                        "- 5%",
                        "    rates: [200%]",
                        "  min_pv: -1",
                        "on: no",
                        "    min_rank: Nobody",
                        ": :",
                        "  - {id: uni, type: unilevel}",
                        "\t",
                    ]
                )
            )
            lines[i] = junk
    try:
        parse_plan("\n".join(lines), "p.yaml")
    except PlanError as exc:
        assert exc.problems and all(p.where.startswith("p.yaml") for p in exc.problems)


def test_every_problem_has_a_location() -> None:
    with pytest.raises(PlanError) as exc:
        parse_plan(
            PLAN_TEXT.replace("min_pv: 100\n", "min_pv: 1.001\n").replace("rates: [25%, 5%]", "rates: [x]"), "p.yaml"
        )
    assert all(p.where.startswith("p.yaml:") for p in exc.value.problems)
