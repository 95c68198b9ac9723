"""Checks on a value model that need the whole model: names of features, fields and columns.

They run on the raw mapping (tolerating any shape), so that `parse_value_model` can list
them together with the structural problems pydantic finds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from value_engine.catalog import ACCOUNT_OUTPUTS, FEATURE_BY_NAME, rule_fields

Problem = tuple[str, str]
AXES = ("value", "fit", "persona_value.value", "persona_value.alignment", "value_chain.alignment")


def semantic_problems(data: Mapping[str, Any]) -> list[Problem]:
    """(key path, message) for every name in the model that the engine would not know."""
    attributes = tuple(a for a in _list(data.get("attributes")) if isinstance(a, str))
    problems: list[Problem] = []
    for path in AXES:
        node = data
        for key in path.split("."):
            node = _map(node.get(key))
        for i, crit in enumerate(_list(node.get("criteria"))):
            problems += _criterion_problems(_map(crit), f"{path}.criteria.{i}", attributes)
    problems += _rules_problems(_list(data.get("rules")), attributes)
    return problems


def _criterion_problems(
    crit: Mapping[str, Any], path: str, attrs: tuple[str, ...]
) -> list[Problem]:
    name = crit.get("feature")
    if not isinstance(name, str):
        return []
    if name not in FEATURE_BY_NAME and name not in attrs:
        allowed = ", ".join(sorted(FEATURE_BY_NAME))
        return [
            (
                f"{path}.feature",
                f"unknown feature '{name}'; allowed: {allowed}, or a name listed in attributes",
            )
        ]
    feature = FEATURE_BY_NAME.get(name)
    transform = crit.get("transform", "percentile")
    if feature is not None and transform == "category" and feature.numeric:
        return [(f"{path}.transform", f"'{name}' is a number; use percentile or linear")]
    if feature is not None and transform != "category" and not feature.numeric:
        return [(f"{path}.transform", f"'{name}' is a category; use transform: category")]
    return []


def _rules_problems(rulesets: list[Any], attrs: tuple[str, ...]) -> list[Problem]:
    """Account rule sets run first, in order; opportunity rule sets then see all of them."""
    problems: list[Problem] = []
    seen: list[str] = []
    account_fields = [
        _map(r).get("field") for r in rulesets if _map(r).get("target", "accounts") == "accounts"
    ]
    for i, raw in enumerate(rulesets):
        rs = _map(raw)
        field, target = rs.get("field"), rs.get("target", "accounts")
        earlier = seen if target == "accounts" else [*account_fields, *seen]
        allowed = rule_fields(str(target), attrs, tuple(str(f) for f in earlier))
        if isinstance(field, str):
            if field in FEATURE_BY_NAME or field in ACCOUNT_OUTPUTS or field in seen:
                problems.append((f"rules.{i}.field", f"'{field}' is already a field; pick another"))
            seen.append(field)
        problems += _label_problems(rs, i)
        for j, rule in enumerate(_list(rs.get("rules"))):
            path = f"rules.{i}.rules.{j}"
            problems += _condition_problems(_map(rule).get("when"), f"{path}.when", allowed)
            problems += _column_problem(
                _map(rule).get("then_column"), f"{path}.then_column", allowed
            )
        problems += _column_problem(rs.get("default_column"), f"rules.{i}.default_column", allowed)
    return problems


def _label_problems(rs: Mapping[str, Any], i: int) -> list[Problem]:
    """Every constant output (then, default) must be one of the rule set's labels."""
    labels = [str(x) for x in _list(rs.get("labels"))]
    allowed = ", ".join(labels) or "(no labels given)"
    outputs = [(f"rules.{i}.rules.{j}.then", _map(r).get("then"))
               for j, r in enumerate(_list(rs.get("rules")))]  # fmt: skip
    outputs.append((f"rules.{i}.default", rs.get("default")))
    return [
        (path, f"'{value}' is not a label of '{rs.get('field')}'; allowed: {allowed}")
        for path, value in outputs
        if isinstance(value, str) and value not in labels
    ]


def _condition_problems(cond: Any, path: str, allowed: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    for sub_path, field in _condition_fields(cond, path):
        if field not in allowed:
            problems.append(
                (sub_path, f"unknown field '{field}'; allowed: {', '.join(sorted(allowed))}")
            )
    return problems


def _condition_fields(cond: Any, path: str) -> Iterator[tuple[str, str]]:
    cond = _map(cond)
    if isinstance(cond.get("field"), str):
        yield f"{path}.field", cond["field"]
    for key in ("all", "any"):
        for k, sub in enumerate(_list(cond.get(key))):
            yield from _condition_fields(sub, f"{path}.{key}.{k}")


def _column_problem(column: Any, path: str, allowed: set[str]) -> list[Problem]:
    if isinstance(column, str) and column not in allowed:
        return [(path, f"unknown column '{column}'; allowed: {', '.join(sorted(allowed))}")]
    return []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []
