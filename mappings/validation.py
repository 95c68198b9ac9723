"""Turn pydantic validation errors into ConfigProblems an ops admin can act on.

Pure: no file access. `mappings/yamlfile.py` adds line numbers from the YAML file;
`value_engine/parse.py` uses it for the value model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from mappings.errors import ConfigProblem


def allowed_keys(model: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at `parent` (a pydantic error location), best effort."""
    current: Any = model
    for part in parent:
        fields = getattr(current, "model_fields", None)
        if fields is None or not isinstance(part, str):
            continue  # a dict key or list index: stay on the value type
        by_alias = {(f.alias or n): f for n, f in fields.items()}
        if part in by_alias:
            current = _inner_model(by_alias[part].annotation) or current
    fields = getattr(current, "model_fields", None) or {}
    return sorted((f.alias or n) for n, f in fields.items())


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...] / dict[str, ...] / list[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def validation_problems(
    exc: ValidationError,
    model: type[BaseModel],
    source: str,
    line_of: Callable[[tuple[str, ...]], int | None] | None = None,
) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error: key path, what is wrong, what is allowed."""
    out: list[ConfigProblem] = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = allowed_keys(model, err["loc"][:-1])
            msg = f"unknown key '{loc[-1]}'" + (
                f"; allowed: {', '.join(allowed)}" if allowed else ""
            )
        elif err["type"] == "missing":
            msg = "required key is missing; add it"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        line = line_of(loc) if line_of else None
        out.append(ConfigProblem(source, ".".join(loc), msg, line))
    return out
