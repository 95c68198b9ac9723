"""SOQL against the sandbox store: resolve names, type-check, compile WHERE to closures, run.

`compile_query(store, text)` returns a `CompiledQuery` whose `run(include_deleted=…)`
gives the matching records in result order. Nothing is `eval`ed: the parser builds an
AST (soql_parse.py) and this module turns each comparison into a small closure.

Null semantics (documented choice): SOQL has no three-valued logic. A comparison whose
field is null is false, except `!=` and `NOT IN`, which are true for a null field
(`Name != 'x'` returns rows whose Name is null, unlike SQL), and NOT is plain boolean
negation. `= null` / `!= null` test for null. Boolean fields are never null: per the
SOQL reference (sforce_api_calls_soql_null.htm) `BoolField = null` equals `= false`.
String comparisons (=, !=, IN, <, >, LIKE, ORDER BY) are case-insensitive, Ids are
compared case-sensitively on their 15-character form.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.salesforce.soql_lex import SoqlError, Token, located
from connectors.sandbox.salesforce.soql_parse import Compare, Literal, Logical, SelectStmt, parse
from connectors.sandbox.store import FieldDef, ObjectTable, Record, Store

__all__ = ["CompiledQuery", "SoqlError", "compile_query"]

Predicate = Callable[[Record], bool]

STRINGY = {"string", "picklist", "multipicklist", "textarea", "url", "email", "phone", "combobox"}
IDS = {"id", "reference"}
NUMERIC = {"int", "double", "currency", "percent", "long"}
# The literal kind each field type accepts, and the type name Salesforce's message uses.
_ACCEPTS: dict[str, tuple[str, str]] = {
    **{t: ("string", "string") for t in STRINGY},
    **{t: ("string", "id") for t in IDS},
    **{t: ("number", "double") for t in NUMERIC},
    "int": ("number", "int"),
    "boolean": ("boolean", "boolean"),
    "date": ("date", "date"),
    "datetime": ("datetime", "dateTime"),
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
MAX_OFFSET = 2000
"""SOQL reference, OFFSET: "The maximum offset is 2,000 rows" (NUMBER_OUTSIDE_VALID_RANGE)."""


@dataclass
class CompiledQuery:
    """A checked query, ready to run any number of times."""

    stmt: SelectStmt
    table: ObjectTable
    columns: list[FieldDef]
    count_only: bool
    predicate: Predicate | None
    sort_keys: list[tuple[Callable[[Record], Any], bool]]

    @property
    def sobject(self) -> str:
        return self.table.name

    def run(self, store: Store, *, include_deleted: bool = False) -> list[Record]:
        """The matching records in result order, OFFSET and LIMIT applied (a snapshot list)."""
        with store.lock:
            rows = list(self.table.records.values())
        if not include_deleted:
            rows = [r for r in rows if not r.get("IsDeleted")]
        if self.predicate is not None:
            pred = self.predicate
            rows = [r for r in rows if pred(r)]
        for key, reverse in reversed(self.sort_keys):
            rows.sort(key=key, reverse=reverse)
        start = self.stmt.offset or 0
        end = None if self.stmt.limit is None else start + self.stmt.limit
        return rows[start:end] if (start or end is not None) else rows


def compile_query(store: Store, text: str) -> CompiledQuery:
    """Parse and check `text` against the store's tables; raises SoqlError like Salesforce."""
    stmt = parse(text)
    table = _resolve_table(store, stmt)
    fields = {f.name.lower(): f for f in table.visible_fields()}
    columns = [_field(stmt, table, fields, ref.tok) for ref in stmt.fields]
    seen: set[str] = set()
    for col, ref in zip(columns, stmt.fields, strict=True):
        if col.name in seen:
            msg = f"duplicate field selected: {col.name}"
            raise located("INVALID_FIELD", text, ref.tok, msg)
        seen.add(col.name)
    if stmt.count_only and stmt.order_by:
        raise located("MALFORMED_QUERY", text, stmt.order_by[0].field.tok, "ORDER BY with COUNT()")
    if stmt.offset is not None and stmt.offset > MAX_OFFSET and stmt.offset_tok is not None:
        msg = f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        raise located("NUMBER_OUTSIDE_VALID_RANGE", text, stmt.offset_tok, msg)
    where = None if stmt.where is None else _compile_cond(stmt, table, fields, stmt.where)
    sort_keys = [
        (
            _sort_key(_field(stmt, table, fields, o.field.tok), o.descending, o.nulls_last),
            o.descending,
        )
        for o in stmt.order_by
    ]
    return CompiledQuery(stmt, table, columns, stmt.count_only, where, sort_keys)


def _resolve_table(store: Store, stmt: SelectStmt) -> ObjectTable:
    wanted = stmt.sobject.text.lower()
    for name, table in store.tables.items():
        if name.lower() == wanted:
            return table
    msg = (
        f"sObject type '{stmt.sobject.text}' is not supported. If you are attempting to use a "
        "custom object, be sure to append the '__c' after the entity name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )
    raise located("INVALID_TYPE", stmt.text, stmt.sobject, msg)


def _field(
    stmt: SelectStmt, table: ObjectTable, fields: dict[str, FieldDef], tok: Token
) -> FieldDef:
    fd = fields.get(tok.text.lower())
    if fd is None:
        msg = (
            f"No such column '{tok.text}' on entity '{table.name}'. If you are attempting to use "
            "a custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names."
        )
        raise located("INVALID_FIELD", stmt.text, tok, msg)
    return fd


# --- WHERE ------------------------------------------------------------------------------
def _compile_cond(
    stmt: SelectStmt, table: ObjectTable, fields: dict[str, FieldDef], node: Any
) -> Predicate:
    if isinstance(node, Logical):
        parts = [_compile_cond(stmt, table, fields, p) for p in node.parts]
        return _logical(node.op, parts)
    return _compare(stmt, _field(stmt, table, fields, node.field.tok), node)


def _logical(op: str, parts: list[Predicate]) -> Predicate:
    if op == "NOT":
        inner = parts[0]
        return lambda r: not inner(r)
    if len(parts) == 2:
        a, b = parts
        return (lambda r: a(r) and b(r)) if op == "AND" else (lambda r: a(r) or b(r))
    if op == "AND":
        return lambda r: all(p(r) for p in parts)
    return lambda r: any(p(r) for p in parts)


def _compare(stmt: SelectStmt, fd: FieldDef, node: Compare) -> Predicate:
    """One comparison as a closure, after Salesforce's type checks."""
    for lit in node.values:
        _check_literal(stmt, fd, node, lit)
    k, op = fd.name, node.op
    if fd.type == "boolean":
        want = {bool(lit.value) for lit in node.values}  # null means false for booleans
        if op in ("=", "IN"):
            return lambda r: bool(r.get(k)) in want
        return lambda r: bool(r.get(k)) not in want
    if node.values[0].kind == "null":
        return (lambda r: r.get(k) is None) if op == "=" else (lambda r: r.get(k) is not None)
    if op == "LIKE":
        rx = re.compile(node.values[0].tok.like or "", re.IGNORECASE | re.DOTALL)
        match = rx.fullmatch
        return lambda r: (v := r.get(k)) is not None and match(v) is not None
    conv = _normaliser(fd.type, op)
    lits = [conv(lit.value) if conv else lit.value for lit in node.values]
    if op in ("IN", "NOTIN"):
        return _membership(k, conv, frozenset(lits), op == "NOTIN")
    return _binary(k, conv, _OPS[op], lits[0], on_null=op == "!=")


def _membership(
    k: str, conv: Callable[[Any], Any] | None, values: frozenset[Any], negate: bool
) -> Predicate:
    if conv is None:
        if negate:
            return lambda r: (v := r.get(k)) is None or v not in values
        return lambda r: (v := r.get(k)) is not None and v in values
    if negate:
        return lambda r: (v := r.get(k)) is None or conv(v) not in values
    return lambda r: (v := r.get(k)) is not None and conv(v) in values


def _binary(
    k: str,
    conv: Callable[[Any], Any] | None,
    fn: Callable[[Any, Any], bool],
    lit: Any,
    on_null: bool,
) -> Predicate:
    if conv is None:
        return lambda r: on_null if (v := r.get(k)) is None else fn(v, lit)
    return lambda r: on_null if (v := r.get(k)) is None else fn(conv(v), lit)


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


def _normaliser(ftype: str, op: str) -> Callable[[Any], Any] | None:
    if ftype in STRINGY:
        return str.lower
    if ftype in IDS and op in ("=", "!=", "IN", "NOTIN"):
        return lambda v: v[:15]
    if ftype == "datetime":
        return _aware
    return None


def _check_literal(stmt: SelectStmt, fd: FieldDef, node: Compare, lit: Literal) -> None:
    """Refuse what Salesforce refuses: wrong literal types, operators, escapes."""
    accepts = _ACCEPTS.get(fd.type)
    where = node.field.tok
    if accepts is None:
        raise located(
            "INVALID_FIELD",
            stmt.text,
            where,
            f"field '{fd.name}' can not be filtered in a query call",
        )
    kind, type_name = accepts
    op = node.op
    if op == "LIKE" and fd.type not in STRINGY:
        raise located(
            "INVALID_QUERY_FILTER_OPERATOR",
            stmt.text,
            where,
            f"invalid operator on {fd.type} field",
        )
    if lit.kind == "null":
        if op not in ("=", "!="):
            raise located(
                "MALFORMED_QUERY", stmt.text, lit.tok, f"invalid use of null with operator {op}"
            )
        return
    if lit.kind != kind:
        quoted = "be enclosed in quotes" if kind == "string" else "not be enclosed in quotes"
        msg = (
            f"value of filter criterion for field '{fd.name}' must be of type {type_name} "
            f"and should {quoted}"
        )
        raise located("INVALID_FIELD", stmt.text, where, msg)
    if op in ("<", ">", "<=", ">=") and fd.type in ("boolean", "multipicklist"):
        raise located(
            "INVALID_QUERY_FILTER_OPERATOR",
            stmt.text,
            where,
            f"invalid operator on {fd.type} field",
        )
    if lit.tok.like_escape and op != "LIKE":
        raise located(
            "MALFORMED_QUERY",
            stmt.text,
            lit.tok,
            "Invalid string literal: \\% and \\_ are only valid in LIKE",
        )
    if fd.type in IDS and op in ("=", "!=", "IN", "NOTIN") and not _ID_RE.fullmatch(lit.value):
        raise located(
            "INVALID_QUERY_FILTER_OPERATOR", stmt.text, where, f"invalid ID field: {lit.value}"
        )


# --- ORDER BY ---------------------------------------------------------------------------
def _sort_key(fd: FieldDef, descending: bool, nulls_last: bool) -> Callable[[Record], Any]:
    """A key placing nulls where asked once the list is sorted with reverse=descending."""
    k = fd.name
    high = nulls_last != descending
    null_key = (1,) if high else (0,)
    flag = 0 if high else 1
    if fd.type == "boolean":
        return lambda r: (flag, bool(r.get(k)))
    conv = str.lower if fd.type in STRINGY else _aware if fd.type == "datetime" else None
    if conv is None:
        return lambda r: null_key if (v := r.get(k)) is None else (flag, v)
    return lambda r: null_key if (v := r.get(k)) is None else (flag, conv(v))
