"""Compile CRM search filters and sorts into Python predicates and sort keys (docs/crm-wire.md §B7).

Filter values arrive as strings; they are converted to the property's stored type
first, so datetimes compare as instants whether sent as epoch-ms or ISO-8601, and
numbers compare numerically. String and enumeration equality is case-insensitive,
as in HubSpot. A record with no value matches NEQ, NOT_IN and NOT_HAS_PROPERTY only.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from connectors.sandbox.hubspot.values import (
    InvalidValue,
    parse_date,
    parse_datetime,
    parse_number,
    record_value,
)
from connectors.sandbox.store import FieldDef, ObjectTable, Record

Predicate = Callable[[Record], bool]
OPERATORS = (
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
)  # fmt: skip
_TOKEN = re.compile(r"[^\w@.*-]+")


class FilterError(ValueError):
    """A filter HubSpot would reject with 400 VALIDATION_ERROR."""


def _converter(f: FieldDef) -> Callable[[Any], Any]:
    if f.name == "hs_object_id" or f.type == "number":
        return parse_number
    if f.type == "datetime":
        return parse_datetime
    if f.type == "date":
        return parse_date
    if f.type == "bool":
        return lambda raw: str(raw).strip().lower() == "true"
    return lambda raw: str(raw).lower()


def _getter(f: FieldDef) -> Callable[[Record], Any]:
    name = f.name
    if name == "hs_object_id" or f.calculated:
        return lambda r: record_value(r, name)
    if f.type in ("string", "enumeration"):

        def text(r: Record) -> Any:
            v = r.get(name)
            return None if v is None else str(v).lower()

        return text
    return lambda r: r.get(name)


def _field(table: ObjectTable, name: Any) -> FieldDef:
    f = table.fields.get(name) if isinstance(name, str) else None
    if f is None:
        raise FilterError(f"Property {name!r} does not exist on {table.name}")
    return f


def _tokens_match(value: Any, wanted: str) -> bool:
    if value is None:
        return False
    pattern = wanted.lower()
    tokens = [t for t in _TOKEN.split(str(value).lower()) if t]
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(t, pattern) for t in tokens) or fnmatch.fnmatchcase(
            str(value).lower(), pattern
        )
    return pattern in tokens


def compile_filter(table: ObjectTable, flt: dict[str, Any]) -> Predicate:
    """One filter -> predicate; FilterError for unknown properties, operators or bad values."""
    f = _field(table, flt.get("propertyName"))
    op = str(flt.get("operator", "EQ")).upper()
    get = _getter(f)
    if op == "HAS_PROPERTY":
        return lambda r: get(r) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda r: get(r) is None
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        wanted = str(flt.get("value", ""))
        if op == "CONTAINS_TOKEN":
            return lambda r: _tokens_match(r.get(f.name), wanted)
        return lambda r: not _tokens_match(r.get(f.name), wanted)
    if op not in OPERATORS:
        raise FilterError(f"Unknown filter operator {op!r}; use one of {', '.join(OPERATORS)}")
    conv = _converter(f)
    try:
        if op in ("IN", "NOT_IN"):
            values = {conv(v) for v in flt.get("values") or []}
            if op == "IN":
                return lambda r: get(r) in values
            return lambda r: get(r) not in values
        if "value" not in flt:
            raise FilterError(f"Filter on {f.name} with operator {op} needs a value")
        lo = conv(flt["value"])
        hi = conv(flt["highValue"]) if op == "BETWEEN" else None
    except (ValueError, TypeError, InvalidValue) as exc:
        raise FilterError(f"Invalid filter value for {f.name}: {exc}") from exc
    return _comparison(op, get, lo, hi)


def _comparison(op: str, get: Callable[[Record], Any], lo: Any, hi: Any) -> Predicate:
    def safe(test: Callable[[Any], bool]) -> Predicate:
        def pred(r: Record) -> bool:
            v = get(r)
            if v is None:
                return False
            try:
                return test(v)
            except TypeError:
                return False

        return pred

    if op == "EQ":
        return lambda r: get(r) == lo
    if op == "NEQ":
        return lambda r: get(r) != lo
    tests: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < lo,
        "LTE": lambda v: v <= lo,
        "GT": lambda v: v > lo,
        "GTE": lambda v: v >= lo,
        "BETWEEN": lambda v: lo <= v <= hi,
    }
    return safe(tests[op])


def compile_groups(table: ObjectTable, groups: list[dict[str, Any]]) -> Predicate | None:
    """filterGroups (OR of ANDed filters) -> one predicate; None when there are no filters."""
    compiled = [
        [compile_filter(table, flt) for flt in g.get("filters") or []] for g in groups or []
    ]
    compiled = [g for g in compiled if g]
    if not compiled:
        return None
    if len(compiled) == 1 and len(compiled[0]) == 1:
        return compiled[0][0]
    return lambda r: any(all(p(r) for p in g) for g in compiled)


def parse_sorts(table: ObjectTable, sorts: Any) -> list[tuple[str, bool]]:
    """[{"propertyName","direction"}] or ["-createdate", "name"] -> [(property, descending)]."""
    out: list[tuple[str, bool]] = []
    for s in sorts or []:
        name: Any
        if isinstance(s, str):
            name, desc = s.lstrip("-"), s.startswith("-")
        elif isinstance(s, dict):
            name = s.get("propertyName")
            desc = str(s.get("direction", "ASCENDING")).upper() == "DESCENDING"
        else:
            raise FilterError(f"Invalid sort {s!r}")
        out.append((_field(table, name).name, desc))
    return out


def sort_records(table: ObjectTable, recs: list[Record], sorts: list[tuple[str, bool]]) -> None:
    """Sort in place by the sorts (records without a value last), ties by id ascending."""
    recs.sort(key=lambda r: int(r["_id"]))
    for name, desc in reversed(sorts):
        get = _getter(table.fields[name])
        present = [r for r in recs if get(r) is not None]
        absent = [r for r in recs if get(r) is None]
        present.sort(key=get, reverse=desc)
        recs[:] = present + absent
