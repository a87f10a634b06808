"""JSON Schema of the plan language, for editors (``# yaml-language-server: $schema=...``)."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from compplan.spec.models import Plan

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def plan_json_schema() -> dict[str, Any]:
    """Return the plan JSON Schema, draft-07 compatible (definitions under ``definitions``)."""
    schema = Plan.model_json_schema(ref_template="#/definitions/{model}", schema_generator=GenerateJsonSchema)
    schema["definitions"] = schema.pop("$defs", {})
    _strip_discriminator(schema)
    return {"$schema": DRAFT_07, **schema}


def _strip_discriminator(node: Any) -> None:
    # "discriminator" is an OpenAPI keyword; draft-07 validators ignore it but strict ones warn.
    if isinstance(node, dict):
        node.pop("discriminator", None)
        for value in node.values():
            _strip_discriminator(value)
    elif isinstance(node, list):
        for value in node:
            _strip_discriminator(value)


def plan_json_schema_text() -> str:
    """The schema as stable, indented JSON text."""
    return json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
