"""The plan language: loading, error reports with positions, rates, cross references, schema, maximum payout."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from compplan import PlanError, parse_plan
from compplan.money import format_rate, parse_rate
from compplan.spec import load_plan, plan_json_schema, theoretical_maximum
from compplan.spec.models import Plan

PLANS = sorted(Path(__file__).resolve().parents[1].joinpath("plans").glob("*.yaml"))

BASE = """\
plan:
  name: Test
  currency: USD
activity:
  min_pv: 100
ranks:
  - name: Member
  - name: Bronze
    min_pv: 100
    min_gv: 500
bonuses:
  - id: uni
    type: unilevel
    rates: [5%, 3%]
"""


def errors(text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(textwrap.dedent(text), "p.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_shipped_plans_are_valid(path: Path) -> None:
    plan = load_plan(path)
    assert plan.bonuses and len(plan.ranks) >= 3


def test_base_plan_parses_with_defaults() -> None:
    plan = parse_plan(BASE)
    assert plan.plan.rounding == "half_up" and plan.plan.volume_decimals == 2 and plan.minor_units == 2
    uni = plan.bonuses[0]
    assert uni.type == "unilevel" and uni.compression == "none" and uni.rates == [Decimal("0.05"), Decimal("0.03")]


@pytest.mark.parametrize(
    ("text", "ppm"),
    [
        ("5%", 50_000),
        ("0.05", 50_000),
        (0.05, 50_000),
        ("12.5%", 125_000),
        ("100%", 1_000_000),
        ("0.000001", 1),
        (0, 0),
        (1, 1_000_000),
        (Decimal("0.375"), 375_000),
    ],
)
def test_rates_accept_percent_fraction_and_number(text: object, ppm: int) -> None:
    assert parse_rate(text) == ppm


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1%", "negative"),
        ("101%", "above 100%"),
        ("0.0000001", "more than 6"),
        ("abc", "expected a rate"),
        (True, "expected a rate"),
        ("1e-3", "expected a rate"),
    ],
)
def test_rates_reject_bad_values(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rate(text)


def test_format_rate() -> None:
    assert format_rate(50_000) == "5%" and format_rate(125) == "0.0125%"


def test_errors_are_located_and_reported_together() -> None:
    found = errors(
        """\
        plan:
          name: X
          currency: USD
          rounding: half_upp
        activity:
          min_pv: 100
          min_pv: 100
        ranks:
          - name: A
          - name: B
            min_p: 100
            active: no
        bonuses:
          - id: uni
            type: unilevel
            rates: [5%, "0.1234567", -1]
          - id: x
            type: trinary
        """
    )
    assert found == [
        "p.yaml:4:13: plan.rounding: Input should be 'half_up', 'half_even' or 'down'",
        "p.yaml:7:3: activity.min_pv: duplicate key 'min_pv' (first at line 6)",
        "p.yaml:11:5: ranks[1].min_p: unknown key; did you mean 'min_pv'?",
        "p.yaml:12:13: ranks[1].active: expected true or false, got 'no'",
        "p.yaml:16:17: bonuses[0].rates[1]: rate 0.1234567 has more than 6 decimal places as a fraction",
        "p.yaml:16:30: bonuses[0].rates[2]: rate -1 is negative",
        "p.yaml:18:11: bonuses[1].type: unknown bonus type 'trinary'; expected one of: action, binary, "
        "differential, fast_start, generation, loyalty, matching, matrix, personal_tier, pool, rank_advancement, "
        "team_goal, unilevel",
    ]


def test_cross_references_are_checked_with_positions() -> None:
    found = errors(
        BASE.replace("    min_gv: 500\n", "    min_gv: 500.001\n    legs: [{rank: Gold, count: 1}]\n")
        + "    min_rank: Silver\n    paid_levels: {Bronze: 3}\n  - id: uni\n    type: personal_tier\n"
        "    tiers: [{min_volume: 10, rate: 1%}, {min_volume: 10, rate: 2%}]\n"
    )
    assert found == [
        "p.yaml:10:13: ranks[1].min_gv: 500.001 has more than volume_decimals=2 decimal places",
        "p.yaml:11:19: ranks[1].legs[0].rank: unknown rank 'Gold'; the plan's ranks are: Member, Bronze",
        "p.yaml:16:15: bonuses[0].min_rank: unknown rank 'Silver'; the plan's ranks are: Member, Bronze",
        "p.yaml:17:27: bonuses[0].paid_levels.Bronze: Bronze is paid 3 levels but 'rates' has only 2",
        "p.yaml:18:9: bonuses[1].id: bonus id 'uni' is already used by bonuses[0]",
        "p.yaml:20:54: bonuses[1].tiers[1].min_volume: tiers must have strictly increasing min_volume",
    ]


def test_entry_rank_cannot_have_requirements_and_ids_cannot_shadow_columns() -> None:
    found = errors(
        BASE.replace("  - name: Member\n", "  - name: Member\n    min_pv: 1\n").replace("id: uni", "id: total")
    )
    assert any("ranks[0]: the first rank ('Member') is the entry rank" in f for f in found)
    assert any("bonuses[0].id: bonus id 'total' is reserved" in f for f in found)


def test_yaml_1_1_traps_and_missing_fields() -> None:
    found = errors(BASE.replace("currency: USD", "currency: USD\n  minor_units: on").replace("  name: Test\n", ""))
    assert "p.yaml:2:3: plan.name: required field is missing" in found
    assert any(f.startswith("p.yaml:3:16: plan.minor_units:") for f in found)


def test_yaml_syntax_error_names_line() -> None:
    found = errors("plan: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("p.yaml:2:1: YAML syntax error")


def test_empty_and_non_mapping_documents() -> None:
    assert "the plan file is empty" in errors("")[0]
    assert "must be a mapping" in errors("- 1\n- 2\n")[0]


def test_unknown_currency_needs_minor_units() -> None:
    found = errors(BASE.replace("USD", "XYZ"))
    assert found == [
        "p.yaml:3:13: plan.currency: currency XYZ is not in compplan's table; set plan.minor_units explicitly"
    ]
    plan = parse_plan(BASE.replace("USD", "XYZ").replace("currency: XYZ", "currency: XYZ\n  minor_units: 3"))
    assert plan.minor_units == 3


def test_rates_and_rates_by_rank_are_exclusive() -> None:
    found = errors(BASE + "    rates_by_rank: {Bronze: [1%]}\n")
    assert found == ["p.yaml:12:5: bonuses[0]: give exactly one of 'rates' or 'rates_by_rank'"]


def test_direct_model_construction_runs_cross_checks() -> None:
    with pytest.raises(ValueError, match="unknown rank 'Nope'"):
        Plan.model_validate(
            {
                "plan": {"name": "x", "currency": "USD"},
                "activity": {"min_pv": 1},
                "ranks": [{"name": "A"}, {"name": "B", "legs": [{"rank": "Nope", "count": 1}]}],
            }
        )


def test_many_errors_are_capped_in_the_report() -> None:
    text = BASE + "".join(f"  - id: b{i}\n    type: unilevel\n    rates: [200%]\n" for i in range(60))
    with pytest.raises(PlanError) as info:
        parse_plan(text, "p.yaml")
    report = info.value.report()
    assert len(info.value.problems) == 60 and report.endswith("... and 10 more")


def test_theoretical_maximum() -> None:
    plan = parse_plan(
        BASE.replace("rates: [5%, 3%]", "rates_by_rank: {Member: [1%], Bronze: [5%, 3%]}")
        + "  - id: fs\n    type: fast_start\n    days: 30\n    rates: [20%, 10%]\n"
        "  - id: adv\n    type: rank_advancement\n    awards: {Bronze: {cash: 50.5}}\n"
    )
    m = theoretical_maximum(plan)
    assert m.share_of_cv == {"uni": Decimal("0.08"), "fs": Decimal("0.30")}
    assert m.total_share == Decimal("0.38") and m.fixed_cash == {"adv": Decimal("50.5")}


def test_schema_is_draft07_and_describes_bonuses() -> None:
    schema = plan_json_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in schema and {"Unilevel", "FastStart", "PersonalTier", "RankAdvancement"} <= set(
        schema["definitions"]
    )
    text = json.dumps(schema)
    assert "#/$defs/" not in text and "discriminator" not in text


def test_validate_does_not_import_numba() -> None:
    code = (
        "import sys; from compplan.cli import main; rc = main(['validate', *sys.argv[1:]]); "
        "assert 'numba' not in sys.modules and 'numpy' not in sys.modules, 'heavy import'; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *map(str, PLANS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok: ") == len(PLANS) and "theoretical maximum payout" in proc.stdout
