"""Load a plan from YAML with every problem reported as ``FILE:LINE:COL: dotted.path: message``.

The YAML is composed into nodes (keeping positions) and turned into Python values by our own rules:

* only ``true`` / ``false`` are booleans (YAML 1.1's ``yes``/``no``/``on``/``off`` stay text);
* numbers with a fraction or exponent stay text, so ``0.05`` reaches the models exactly;
* duplicate keys, anchors merging (``<<``) and non-text keys are errors.

Then pydantic validates the structure and :func:`compplan.spec.models.cross_check` the cross references; all
problems are collected into one :class:`compplan.errors.PlanError`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path as FsPath
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from compplan.errors import PlanError, Problem
from compplan.spec.models import BONUS_TYPES, Plan, cross_check

Path = tuple[str | int, ...]
Position = tuple[int, int]

_INT = re.compile(r"^[-+]?[0-9]+$")
_NULL = {"", "~", "null", "Null", "NULL"}


class _Positions:
    """Map a path in the document to the (line, column) of its value and of its key."""

    def __init__(self) -> None:
        self.values: dict[Path, Position] = {}
        self.keys: dict[Path, Position] = {}

    def find(self, path: Path, *, key: bool = False) -> Position | None:
        """Position of ``path`` or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
            if key and path[:n] in self.values:
                return self.values[path[:n]]
        return None


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(node: yaml.Node, path: Path, positions: _Positions, problems: list[tuple[Path, str, str]]) -> Any:
    positions.values[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                problems.append((path, "yaml_key", "keys must be plain text (no merges or complex keys)"))
                continue
            key = key_node.value
            if key in out:
                positions.keys[(*path, key, "#duplicate")] = _pos(key_node)
                problems.append(
                    (
                        (*path, key, "#duplicate"),
                        "duplicate_key",
                        f"duplicate key {key!r} (first at line {positions.keys[(*path, key)][0]})",
                    )
                )
                continue
            positions.keys[(*path, key)] = _pos(key_node)
            out[key] = _convert(value_node, (*path, key), positions, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), positions, problems) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    text = node.value
    if node.style is not None:  # quoted or block scalar: always text
        return text
    if text in ("true", "false"):
        return text == "true"
    if text in _NULL:
        return None
    if _INT.match(text):
        return int(text)
    return text


def _parse_yaml(text: str, filename: str) -> tuple[Any, _Positions, list[tuple[Path, str, str]]]:
    positions = _Positions()
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise PlanError([Problem("yaml_syntax", f"YAML syntax error: {exc.problem or exc}", where)]) from None
    except yaml.YAMLError as exc:
        raise PlanError([Problem("yaml_syntax", f"YAML error: {exc}", filename)]) from None
    if len(nodes) != 1 or nodes[0] is None:
        what = "is empty" if not nodes or nodes[0] is None else "holds several YAML documents"
        raise PlanError([Problem("yaml_document", f"the plan file {what}; expected one mapping", filename)])
    problems: list[tuple[Path, str, str]] = []
    data = _convert(nodes[0], (), positions, problems)
    if not isinstance(data, dict):
        raise PlanError([Problem("yaml_document", "the plan must be a mapping of sections", f"{filename}:1:1")])
    return data, positions, problems


def _located(problems: list[tuple[Path, str, str]], positions: _Positions, filename: str) -> list[Problem]:
    out = []
    for path, code, message in problems:
        key = code in ("unknown_key", "duplicate_key")
        pos = positions.find(path, key=key)
        where = f"{filename}:{pos[0]}:{pos[1]}" if pos else filename
        dotted = _dotted(tuple(p for p in path if p != "#duplicate"))
        out.append(Problem(code, f"{dotted}: {message}" if dotted else message, where))
    out.sort(key=lambda p: _sort_key(p.where))
    return out


def _sort_key(where: str) -> tuple[int, int]:
    parts = where.rsplit(":", 2)
    try:
        return int(parts[-2]), int(parts[-1])
    except (ValueError, IndexError):
        return 0, 0


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(path: Path) -> type[BaseModel] | None:
    """The model class whose fields live at ``path`` (for "did you mean" hints)."""
    current: Any = Plan
    for part in path:
        current = _unwrap(current, part)
        if current is None:
            return None
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap_optional(args[0])
    return tp


def _unwrap(tp: Any, part: str | int) -> Any:
    tp = _unwrap_optional(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if origin is list and isinstance(part, int):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    if origin in (Union, types.UnionType):  # a discriminated union: pydantic puts the tag in the path
        for arg in get_args(tp):
            arg = _unwrap_optional(arg)
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                tag = arg.model_fields.get("type")
                if tag is not None and part in get_args(tag.annotation):
                    return arg
    return None


def _pydantic_problems(exc: ValidationError) -> list[tuple[Path, str, str]]:
    out: list[tuple[Path, str, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # Drop the discriminator tag pydantic inserts after a list index ("bonuses.0.unilevel.rates").
        path: Path = tuple(p for i, p in enumerate(loc) if not (i and isinstance(loc[i - 1], int) and p in _TAGS))
        kind = err["type"]
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            choices = list(model.model_fields) if model else []
            close = difflib.get_close_matches(str(loc[-1]), choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else (f"; allowed: {', '.join(choices)}" if choices else "")
            out.append((path, "unknown_key", f"unknown key{hint}"))
        elif kind == "missing":
            out.append((path, "missing", "required field is missing"))
        elif kind == "bool_type" and isinstance(err.get("input"), str):
            out.append((path, "not_bool", f"expected true or false, got {err['input']!r}"))
        elif kind == "union_tag_not_found":  # a bonus without its type
            out.append(((*path, "type"), "missing", f"required field is missing: the bonus type, one of: {_TAG_LIST}"))
        elif kind == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag")
            out.append(((*path, "type"), "unknown_type", f"unknown bonus type {tag!r}; expected one of: {_TAG_LIST}"))
        else:
            out.append((path, kind, message))
    return out


_TAGS = frozenset(BONUS_TYPES)
_TAG_LIST = ", ".join(sorted(_TAGS))


def parse_plan(text: str, filename: str = "<plan>") -> Plan:
    """Validate plan YAML text and return the :class:`Plan`.

    Raises
    ------
    PlanError
        With every problem found, each located as ``filename:line:col``.
    """
    if not isinstance(text, str):
        raise PlanError(
            [Problem("not_text", f"parse_plan takes the plan's YAML text, got {type(text).__name__}", filename)]
        )
    data, positions, problems = _parse_yaml(text, filename)
    try:
        plan = Plan.model_validate(data, context={"skip_cross_checks": True})
    except ValidationError as exc:
        raise PlanError(_located(problems + _pydantic_problems(exc), positions, filename)) from None
    problems += cross_check(plan)
    if problems:
        raise PlanError(_located(problems, positions, filename))
    return plan


def load_plan(path: str | FsPath) -> Plan:
    """Read and validate the plan file at ``path`` (see :func:`parse_plan`)."""
    path = FsPath(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError([Problem("unreadable", f"cannot read plan file: {exc.strerror}", str(path))]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        message = f"plan file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        raise PlanError([Problem("unreadable", message, f"{path}:{line}:{column}")]) from None
    return parse_plan(text, str(path))
