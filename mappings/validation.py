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


def _union_tags(annotation: Any) -> tuple[str, dict[str, Any]] | None:
    """(discriminator key, {tag: model}) when `annotation` is a discriminated union."""
    from typing import Annotated, get_args, get_origin

    if get_origin(annotation) is not Annotated:
        return None
    inner, *extras = get_args(annotation)
    key = next((getattr(e, "discriminator", None) for e in extras), None)
    if not isinstance(key, str):
        return None
    tags: dict[str, Any] = {}
    for member in get_args(inner):
        field = getattr(member, "model_fields", {}).get(key)
        for tag in get_args(field.annotation) if field is not None else ():
            tags[str(tag)] = member
    return key, tags


def plain_location(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
    """The error location as the file spells it, and the discriminator key at its end, if the
    error is about a discriminated union's tag itself ("" otherwise).

    pydantic puts the tag of a discriminated union into the location (`connections.acme.
    salesforce.shedule` for the key `connections.acme.shedule` of a `crm: salesforce`
    connection); this walks the models and leaves such tags out."""
    out: list[Any] = []
    current: Any = model
    key = ""
    for part in loc:
        union = _union_tags(current)
        if union is not None:
            key = union[0]
            if isinstance(part, str) and part in union[1]:
                current, key = union[1][part], ""
                continue
        fields = getattr(current, "model_fields", None)
        if fields is not None and isinstance(part, str):
            by_alias = {(f.alias or n): f for n, f in fields.items()}
            field = by_alias.get(part)
            current = _field_type(field) if field is not None else None
        elif current is not None:
            args = getattr(current, "__args__", None) or ()
            current = args[-1] if args else None  # dict[str, X] / list[X]: X
        out.append(part)
        key = ""
    if _union_tags(current) is not None:
        key = _union_tags(current)[0]  # type: ignore[index]
    return tuple(out), key


def _field_type(field: Any) -> Any:
    """A field's annotation, with its discriminator kept (pydantic moves it to the field)."""
    from typing import Annotated

    annotation = field.annotation
    if getattr(field, "discriminator", None):
        return Annotated[annotation, field]
    return annotation


def validation_problems(
    exc: ValidationError,
    model: type[BaseModel],
    source: str,
    line_of: Callable[[tuple[str, ...]], int | None] | None = None,
) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error: key path, what is wrong, what is allowed."""
    out: list[ConfigProblem] = []
    for err in exc.errors():
        raw, tag_key = plain_location(model, tuple(err["loc"]))
        loc = tuple(str(p) for p in raw)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found") and tag_key:
            loc = (*loc, tag_key)
            expected = (err.get("ctx") or {}).get("expected_tags", "")
            msg = (
                f"'{(err.get('ctx') or {}).get('tag', '')}' is not one valuesync knows; use "
                f"one of: {expected}"
                if err["type"] == "union_tag_invalid"
                else f"required key is missing; add it ({expected})".replace(" ()", "")
            )
        elif err["type"] == "extra_forbidden":
            allowed = allowed_keys(model, raw[:-1])
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
