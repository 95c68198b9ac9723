"""Record updates with Salesforce's per-record save semantics.

sObject Collections, Bulk API 2.0 ingest and single-record PATCH all save through
`update_records`, so a bad picklist value or a locked row fails the same way on every
path. Each record is validated on its own and gets a SaveResult-like `RecordResult`;
error codes and messages follow the REST / Bulk docs (docs/crm-wire.md §A3, §A6, §A8).
Values arrive as JSON values or CSV strings and are stored as the field's Python type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.sandbox.salesforce.org import SalesforceOrg
from connectors.sandbox.salesforce.schema import (
    OPPORTUNITY_STAGES,
    USER_ID,
    field_for,
    org_table_for,
)
from connectors.sandbox.store import FieldDef, ObjectTable, Record

_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


@dataclass
class RecordResult:
    """The outcome of saving one record (a SaveResult)."""

    id: str | None
    """The record's id as given (kept for failures too; Bulk results report it)."""
    success: bool
    errors: list[dict[str, Any]] = field(default_factory=list)

    def save_result(self) -> dict[str, Any]:
        """The Collections JSON: a failed record carries no `id` (§A6)."""
        if self.success:
            return {"id": self.id, "success": True, "errors": []}
        return {"success": False, "errors": self.errors}

    def bulk_error(self) -> str:
        """The Bulk 2.0 `sf__Error` text: `CODE:message:fields --` (§A8)."""
        e = self.errors[0]
        return f"{e['statusCode']}:{e['message']}:{','.join(e.get('fields', []))} --"


def _fail(rid: str | None, code: str, message: str, fields: Sequence[str] = ()) -> RecordResult:
    return RecordResult(
        rid, False, [{"statusCode": code, "message": message, "fields": list(fields)}]
    )


# --- values -------------------------------------------------------------------------


class BadValue(Exception):
    """A value a field cannot hold; `code`/`message` are what Salesforce reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TEXT = {"string", "textarea", "url", "email", "phone", "picklist", "multipicklist", "combobox"}
_NUMBER = {"double", "currency", "percent"}
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(T00:00:00(\.000)?(Z|[+-]00:?00)?)?\s*$")


def _not_of_type(f: FieldDef, raw: Any) -> BadValue:
    return BadValue(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {raw}"
    )


def parse_datetime(text: str) -> datetime:
    """An ISO-8601 datetime (`Z`, `+0000` or `+00:00` offsets) in UTC, at millisecond precision."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    t = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", t)
    dt = datetime.fromisoformat(t)
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _parse_scalar(f: FieldDef, raw: Any) -> Any:
    """A JSON value or CSV string as the field's Python type; ValueError/TypeError if it is not."""
    t = f.type
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        return {"true": True, "false": False, "1": True, "0": False}[str(raw).strip().lower()]
    if t == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        return int(float(raw)) if isinstance(raw, str) and "." in raw else int(raw)
    if t in _NUMBER:
        if isinstance(raw, bool):
            raise ValueError(raw)
        return float(raw)
    if t == "date":
        m = _DATE.match(str(raw))
        if m is None:
            raise ValueError(raw)
        return date.fromisoformat(m.group(1))
    if t == "datetime":
        return parse_datetime(str(raw))
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise TypeError(raw)
    return str(raw)


def parse_value(f: FieldDef, raw: Any) -> Any:
    """The stored value for `raw` written to field `f`; raises BadValue with Salesforce's code."""
    if raw is None or raw == "":
        if not f.nillable and f.type != "boolean":
            raise BadValue("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]")
        return False if f.type == "boolean" else None
    try:
        value = _parse_scalar(f, raw)
    except (ValueError, TypeError, KeyError):
        raise _not_of_type(f, raw) from None
    if f.type in ("id", "reference") and not _ID.match(value):
        raise BadValue("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}")
    if f.type == "picklist" and f.restricted and value not in f.picklist:
        msg = f"{f.label}: bad value for restricted picklist field: {value}"
        raise BadValue("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", msg)
    if f.type in _TEXT and f.length and len(value) > f.length:
        msg = f"{f.label}: data value too large: {value[:40]} (max length={f.length})"
        raise BadValue("STRING_TOO_LONG", msg)
    if f.type in _NUMBER and "scale" in f.extra:
        return _fit_number(f, value)
    return value


def _fit_number(f: FieldDef, value: float) -> float:
    """A number as Salesforce stores it: rounded half up to the field's scale; more integer digits
    than precision - scale allows is NUMBER_OUTSIDE_VALID_RANGE (so is a non-finite one)."""
    scale = int(f.extra.get("scale") or 0)
    precision = int(f.extra.get("precision") or 18)
    if not math.isfinite(value):
        raise BadValue("NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: value not finite: {value}")
    rounded = float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP))
    if abs(rounded) >= 10.0 ** (precision - scale):
        msg = f"{f.label}: value outside of valid range on numeric field: {value}"
        raise BadValue("NUMBER_OUTSIDE_VALID_RANGE", msg)
    return rounded


@dataclass
class _Plan:
    table: ObjectTable
    rid: str
    changes: dict[str, Any]


def _record_id(update: dict[str, Any]) -> str | None:
    rid = update.get("Id", update.get("id"))
    return str(rid) if rid not in (None, "") else None


def _find(org: SalesforceOrg, table: ObjectTable, rid: str | None) -> Record | RecordResult:
    """The live record, or the failure Salesforce reports for a missing / bad / deleted id."""
    if rid is None:
        return _fail(None, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    if not _ID.match(rid) or not rid.startswith(table.id_prefix):
        return _fail(
            rid, "MALFORMED_ID", f"{table.name} ID: id value of incorrect type: {rid}", ["Id"]
        )
    rec = table.records.get(rid) or _by_15_char_id(table, rid)
    if rec is None:
        return _fail(rid, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if rec.get("IsDeleted"):
        return _fail(rid, "ENTITY_IS_DELETED", "entity is deleted")
    return rec


def _by_15_char_id(table: ObjectTable, rid: str) -> Record | None:
    if len(rid) != 15:
        return None
    return next((r for k, r in table.records.items() if k[:15] == rid), None)


def _check_field(table: ObjectTable, name: str, raw: Any, rid: str) -> tuple[FieldDef, Any]:
    """The field and typed value for one `name: raw` pair; raises _Reject on a bad one."""
    f = field_for(table, name)
    if f is None:
        raise _Reject(
            _fail(rid, "INVALID_FIELD", f"No such column '{name}' on sobject of type {table.name}")
        )
    if not f.updateable:
        msg = (
            f"Unable to create/update fields: {f.name}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set."
        )
        raise _Reject(_fail(rid, "INVALID_FIELD_FOR_INSERT_UPDATE", msg, [f.name]))
    try:
        value = parse_value(f, raw)
    except BadValue as exc:
        raise _Reject(_fail(rid, exc.code, exc.message, [f.name])) from None
    return f, value


class _Reject(Exception):
    def __init__(self, result: RecordResult) -> None:
        super().__init__(result.errors[0]["message"])
        self.result = result


def _plan(org: SalesforceOrg, sobject: str, update: dict[str, Any]) -> _Plan | RecordResult:
    """Validate one update: id, fields, values, validation rules, then the row lock."""
    rid = _record_id(update)
    table = org_table_for(org.store, sobject)
    if table is None:
        return _fail(rid, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    rec = _find(org, table, rid)
    if isinstance(rec, RecordResult):
        return rec
    rid = rec.get("Id") or rec["_id"]
    changes: dict[str, Any] = {}
    try:
        for name, raw in update.items():
            if name in ("attributes", "Id", "id"):
                continue
            f, value = _check_field(table, name, raw, rid)
            changes[f.name] = value
    except _Reject as rej:
        return rej.result
    if rid in org.faults.profile.reject_ids:
        msg = "Record is locked for integration updates (validation rule Valuesync_Guard)."
        return _fail(rid, "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg)
    if org.faults.should_lock(rid):
        msg = f"unable to obtain exclusive access to this record or 1 records: {rid}"
        return _fail(rid, "UNABLE_TO_LOCK_ROW", msg)
    return _Plan(table, rid, changes)


def _derive(table: ObjectTable, rec: Record, now: datetime) -> None:
    """Fields Salesforce computes on save from the ones just written."""
    if table.name == "Opportunity" and rec.get("StageName") in OPPORTUNITY_STAGES:
        rec["IsClosed"], rec["IsWon"] = OPPORTUNITY_STAGES[rec["StageName"]]
    if table.name == "Case" and "Status" in rec:
        closed = rec["Status"] == "Closed"
        if closed and not rec.get("IsClosed"):
            rec["ClosedDate"] = now
        elif not closed:
            rec["ClosedDate"] = None
        rec["IsClosed"] = closed


def _commit(plan: _Plan, now: datetime) -> None:
    rec = plan.table.records[plan.rid]
    rec.update(plan.changes)
    _derive(plan.table, rec, now)
    rec["LastModifiedDate"] = rec["SystemModstamp"] = now
    rec["LastModifiedById"] = USER_ID


def update_mixed(
    org: SalesforceOrg, items: Sequence[tuple[str, dict[str, Any]]], *, all_or_none: bool = False
) -> list[RecordResult]:
    """Save `(sobject, fields-with-Id)` pairs; results in input order.

    With `all_or_none`, one failure rolls everything back: nothing is written and every
    otherwise valid record reports ALL_OR_NONE_OPERATION_ROLLED_BACK (§A6).
    """
    store = org.store
    with store.lock:
        plans = [_plan(org, sobject, update) for sobject, update in items]
        failed = any(isinstance(p, RecordResult) for p in plans)
        if all_or_none and failed:
            return [
                p
                if isinstance(p, RecordResult)
                else RecordResult(p.rid, False, [dict(ROLLED_BACK)])
                for p in plans
            ]
        now = store.clock.now()
        results: list[RecordResult] = []
        for p in plans:
            if isinstance(p, RecordResult):
                results.append(p)
                continue
            _commit(p, now)
            results.append(RecordResult(p.rid, True))
        return results


def update_records(
    org: SalesforceOrg,
    sobject: str,
    updates: Sequence[dict[str, Any]],
    *,
    all_or_none: bool = False,
) -> list[RecordResult]:
    """Save updates (each a dict with `Id` and field values) to records of one sObject."""
    return update_mixed(org, [(sobject, u) for u in updates], all_or_none=all_or_none)


def touch_system_modstamp(org: SalesforceOrg, sobject: str, ids: Iterable[str]) -> None:
    """Bump only SystemModstamp, as a system process (recalculation, sharing) does (§A11)."""
    store = org.store
    with store.lock:
        now = store.clock.now()
        table = store.table(sobject)
        for rid in ids:
            table.records[rid]["SystemModstamp"] = now
