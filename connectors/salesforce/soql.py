"""Build SOQL that cannot be injected: names only from describe, every value escaped.

Field and object names are never taken from the caller as text: each one is looked up
in the object's describe and the describe's own spelling is used, after checking it is
a plain identifier. Values go through `quote`, which escapes every character SOQL
treats specially inside a string literal (the table simple-salesforce uses, from
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from simple_salesforce.format import soql_escapes

from connectors.base import ObjectSchema
from mappings.errors import UnsafeSoqlError

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

Value = str | bool | int | float | date | datetime | None


def quote(value: Value) -> str:
    """One SOQL literal: strings escaped and single-quoted, datetimes as UTC `...Z`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.translate(soql_escapes) + "'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeSoqlError("a SOQL number must be finite", system="salesforce")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UnsafeSoqlError("a SOQL datetime must carry a time zone", system="salesforce")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    raise UnsafeSoqlError(f"cannot quote a {type(value).__name__} for SOQL", system="salesforce")


def field_name(schema: ObjectSchema, name: str) -> str:
    """The describe spelling of `name` on `schema`; refuses anything describe does not list."""
    info = schema.get(name)
    if info is None or not _IDENT.match(info.name):
        raise UnsafeSoqlError(
            f"field {name!r} is not in the describe of {schema.name}; "
            "only described fields are queried",
            system="salesforce",
        )
    return info.name


def object_name(schema: ObjectSchema) -> str:
    if not _IDENT.match(schema.name):
        raise UnsafeSoqlError(f"object name {schema.name!r} is not an identifier")
    return schema.name


@dataclass(frozen=True)
class Where:
    """`field op value` with op from a fixed set; the field is resolved through describe."""

    field: str
    op: str
    value: Value | Sequence[Value]

    OPS = ("=", "!=", "<", "<=", ">", ">=", "IN")

    def render(self, schema: ObjectSchema) -> str:
        if self.op not in self.OPS:
            raise UnsafeSoqlError(f"operator {self.op!r} is not allowed")
        name = field_name(schema, self.field)
        if self.op == "IN":
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Sequence):
                raise UnsafeSoqlError("IN needs a list of values")
            return f"{name} IN ({', '.join(quote(v) for v in self.value)})"
        if isinstance(self.value, list | tuple):
            raise UnsafeSoqlError(f"operator {self.op} needs one value")
        return f"{name} {self.op} {quote(self.value)}"  # type: ignore[arg-type]


def select(
    schema: ObjectSchema,
    fields: Sequence[str],
    where: Sequence[Where] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """`SELECT f1, f2 FROM Obj [WHERE a AND b] [ORDER BY x, y] [LIMIT n]`, all names checked."""
    names = list(dict.fromkeys(field_name(schema, f) for f in fields))
    soql = f"SELECT {', '.join(names)} FROM {object_name(schema)}"
    return soql + _tail(schema, where, order_by, limit)


def count(schema: ObjectSchema, where: Sequence[Where] = ()) -> str:
    """`SELECT COUNT() FROM Obj [WHERE ...]`: the size estimate before choosing REST or Bulk."""
    return f"SELECT COUNT() FROM {object_name(schema)}" + _tail(schema, where, (), None)


def _tail(
    schema: ObjectSchema, where: Sequence[Where], order_by: Sequence[str], limit: int | None
) -> str:
    out = ""
    if where:
        out += " WHERE " + " AND ".join(w.render(schema) for w in where)
    if order_by:
        out += " ORDER BY " + ", ".join(field_name(schema, f) for f in order_by)
    if limit is not None:
        out += f" LIMIT {int(limit)}"
    return out
