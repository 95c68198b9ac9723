"""Validating a value model read from YAML: every problem at once, with key path and choices.

Pydantic checks the structure (unknown keys, types, bounds, operators); value_engine.checks
checks the names (features, rule fields, labels). Both lists are merged into one
ConfigError, so the ops admin fixes everything in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from mappings.errors import ConfigError, ConfigProblem
from mappings.validation import validation_problems
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
        problems = validation_problems(exc, ValueModel, source) + problems
    else:
        if list(model.size_bands) != sorted(set(model.size_bands)):
            problems.append(ConfigProblem(source, "size_bands", "must be increasing numbers"))
    if problems:
        raise ConfigError(problems)
    return model
