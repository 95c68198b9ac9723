"""Validating a value model read from YAML: every problem at once, with key path and choices.

Pydantic checks the structure (unknown keys, types, bounds, operators); value_engine.checks
checks the names (features, rule fields, labels). Both lists are merged into one
ConfigError, so the ops admin fixes everything in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mappings.errors import ConfigError, ConfigProblem
from value_engine.checks import semantic_problems
from value_engine.model import ValueModel


def parse_value_model(data: Any, source: str) -> ValueModel:
    """Validate a parsed value-model mapping; every problem at once in one ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError([ConfigProblem(source, "", "expected a mapping of keys at the top")])
    problems = [ConfigProblem(source, p, m) for p, m in semantic_problems(data)]
    try:
        model = ValueModel.model_validate(data, context={"checked": True})
    except ValidationError as exc:
        problems = _pydantic_problems(exc, source) + problems
    else:
        if list(model.size_bands) != sorted(set(model.size_bands)):
            problems.append(ConfigProblem(source, "size_bands", "must be increasing numbers"))
    if problems:
        raise ConfigError(problems)
    return model


def _pydantic_problems(exc: ValidationError, source: str) -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = allowed_keys(err["loc"][:-1])
            msg = f"unknown key '{loc[-1]}'" + (
                f"; allowed: {', '.join(allowed)}" if allowed else ""
            )
        elif err["type"] == "missing":
            msg = "required key is missing; add it"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(ConfigProblem(source, ".".join(loc), msg))
    return out


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at `loc` (a pydantic error location), best effort."""
    current: Any = ValueModel
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None or not isinstance(part, str):
            continue
        by_alias = {(f.alias or n): f for n, f in fields.items()}
        if part in by_alias:
            current = _inner_model(by_alias[part].annotation) or current
    fields = getattr(current, "model_fields", None) or {}
    return sorted((f.alias or n) for n, f in fields.items())


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
