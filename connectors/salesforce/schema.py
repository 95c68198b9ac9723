"""Check a mapping file against the org's describe, reporting every problem at once.

Read fields must exist (a field the integration user cannot see is absent from
describe, docs/crm-wire.md §A5); a cursor must be a datetime that is not a formula; write fields
must exist, be custom (never a standard field such as Account Name), be updateable and
have a type the output can be written to; picklist write
fields must hold every label the value model can produce. Each problem names the
mapping file, the key path and the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors import quarantine as q
from connectors.base import FieldInfo, ObjectSchema
from mappings.crm import OUTPUT_COLUMNS, CrmMapping
from mappings.errors import ConfigError, ConfigProblem

COMPATIBLE: dict[str, frozenset[str]] = {
    "picklist": frozenset({"picklist"}),
    "number": frozenset({"double", "percent", "int"}),
    "currency": frozenset({"currency", "double"}),
    "text": frozenset({"string", "textarea"}),
    "datetime": frozenset({"datetime"}),
    "checkbox": frozenset({"boolean"}),
}
"""Output field kind -> describe types it may be written to."""


def schema_from_describe(desc: Mapping[str, Any]) -> ObjectSchema:
    """An ObjectSchema from a `sobjects/{name}/describe` body."""
    queryable = bool(desc.get("queryable", True))
    fields = {}
    for f in desc.get("fields", []):
        values = tuple(
            str(p.get("value")) for p in f.get("picklistValues") or [] if p.get("active", True)
        )
        fields[f["name"]] = FieldInfo(
            name=f["name"],
            type=f.get("type", "string"),
            label=f.get("label", ""),
            updateable=bool(f.get("updateable", False)),
            queryable=queryable and not f.get("deprecatedAndHidden", False),
            calculated=bool(f.get("calculated", False)),
            picklist=values,
            custom=bool(f.get("custom", False)),
            **_size(f),
        )
    return ObjectSchema(name=desc.get("name", ""), fields=fields)


def _size(f: Mapping[str, Any]) -> dict[str, int | None]:
    """precision / scale of a number field, length of a text field, as describe says."""
    kind = f.get("type")
    if kind == "int":
        digits = int(f.get("digits") or 0)
        return {"precision": digits or None, "scale": 0}
    if kind in ("double", "currency", "percent"):
        precision = int(f.get("precision") or 0)
        return {"precision": precision or None, "scale": int(f.get("scale") or 0)}
    if kind in ("string", "textarea", "picklist", "url", "email", "phone"):
        return {"length": int(f.get("length") or 0) or None}
    return {}


def output_kind(column: str) -> str:
    """The field kind an engine output column needs; rule outputs are picklists."""
    return OUTPUT_COLUMNS.get(column, "picklist")


class _Collector:
    def __init__(self, path: Path | str, lines: Any) -> None:
        self.path = str(path)
        self.lines = lines
        self.problems: list[ConfigProblem] = []

    def add(self, key: tuple[str, ...], message: str) -> None:
        line = self.lines.line(key) if self.lines is not None else None
        self.problems.append(ConfigProblem(self.path, ".".join(key), message, line))


def _missing(obj: str, name: str) -> str:
    return (
        f"field '{name}' is not on {obj} (or the integration user cannot read it); "
        "fix the name or grant field-level security"
    )


def _check_read(c: _Collector, key: tuple[str, ...], schema: ObjectSchema, name: str) -> None:
    info = schema.get(name)
    if info is None:
        c.add(key, _missing(schema.name, name))
    elif not info.queryable:
        c.add(key, f"field '{name}' on {schema.name} cannot be queried")


def _check_cursor(c: _Collector, key: tuple[str, ...], schema: ObjectSchema, name: str) -> None:
    info = schema.get(name)
    if info is None:
        c.add(key, _missing(schema.name, name))
    elif info.calculated:
        c.add(key, f"'{name}' is a formula field; a cursor must be a stored stamp (SystemModstamp)")
    elif info.type != "datetime":
        c.add(key, f"'{name}' is {info.type}; a cursor must be a datetime such as SystemModstamp")


def _check_write(
    c: _Collector, key: tuple[str, ...], schema: ObjectSchema, column: str, name: str,
    labels: Sequence[str] | None,
) -> None:  # fmt: skip
    info = schema.get(name)
    if info is None:
        c.add(key, _missing(schema.name, name) + "; `valuesync fields provision` creates it")
        return
    kind = output_kind(column)
    if not info.custom:
        c.add(
            key,
            f"'{info.name}' is a standard field of {schema.name} and holds your data; "
            "valuesync writes only custom fields: map the output to a custom field and run "
            "`valuesync fields provision`",
        )
        return
    if not info.updateable or info.calculated:
        c.add(key, f"field '{name}' on {schema.name} is read-only; map a writable field")
    if info.type not in COMPATIBLE[kind]:
        allowed = ", ".join(sorted(COMPATIBLE[kind]))
        c.add(key, f"field '{name}' is {info.type}, but {column} needs {allowed}")
    elif kind == "picklist" and labels:
        absent = [label for label in labels if label not in info.picklist]
        if absent:
            c.add(
                key,
                f"picklist '{name}' lacks value(s) {', '.join(repr(a) for a in absent)}; "
                "run `valuesync fields provision` or add them in Setup",
            )


def mapping_problems(
    mapping: CrmMapping,
    mapping_path: Path | str,
    schemas: Mapping[str, ObjectSchema | None],
    required_labels: Mapping[str, Sequence[str]] | None = None,
    lines: Any = None,
) -> list[ConfigProblem]:
    """Every problem of `mapping` against describes (object -> schema, None = not found)."""
    c = _Collector(mapping_path, lines)
    labels = required_labels or {}
    for table, om in mapping.objects.items():
        if om is None:
            continue
        schema = schemas.get(om.object)
        if schema is None:
            c.add(
                ("objects", table, "object"),
                f"object '{om.object}' does not exist or is not visible",
            )
            continue
        for column, name in om.fields.items():
            _check_read(c, ("objects", table, "fields", column), schema, name)
        if om.cursor:
            _check_cursor(c, ("objects", table, "cursor"), schema, om.cursor)
    for table, out in mapping.outputs.items():
        schema = schemas.get(out.object)
        if schema is None:
            c.add(
                ("outputs", table, "object"),
                f"object '{out.object}' does not exist or is not visible",
            )
            continue
        for column, name in out.fields.items():
            key = ("outputs", table, "fields", column)
            _check_write(c, key, schema, column, name, labels.get(column))
        if out.override_field:
            _check_read(c, ("outputs", table, "override_field"), schema, out.override_field)
    return c.problems


def unmapped_values(
    mapping: CrmMapping, mapping_path: Path | str, schemas: Mapping[str, ObjectSchema | None],
    lines: Any = None,
) -> list[ConfigProblem]:  # fmt: skip
    """Picklist values describe lists that the value maps do not translate into a
    canonical choice, one problem per column, naming the key to add them under."""
    c = _Collector(mapping_path, lines)
    for table, om in mapping.objects.items():
        schema = schemas.get(om.object) if om is not None else None
        if om is None or schema is None:
            continue
        for column, name in om.fields.items():
            info = schema.get(name)
            if info is None or not info.picklist:
                continue
            gaps = q.uncovered(table, column, info.picklist, om.values.get(column))
            if gaps:
                key = ("objects", table, "values", column)
                c.add(key, q.uncovered_message(schema.name, info.name, table, column, gaps))
    return c.problems


def raise_problems(problems: Sequence[ConfigProblem]) -> None:
    if problems:
        raise ConfigError(problems)
