"""The plan language: models, YAML loading, JSON Schema, static analysis. Never imports numba."""

from compplan.spec.analysis import theoretical_maximum
from compplan.spec.loader import load_plan, parse_plan
from compplan.spec.models import Plan
from compplan.spec.schema import plan_json_schema

__all__ = ["Plan", "load_plan", "parse_plan", "plan_json_schema", "theoretical_maximum"]
