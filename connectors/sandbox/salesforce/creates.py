"""sObject Collections create: `POST /composite/sobjects` (up to 200 records, any types).

Each record is saved on its own (`allOrNone: false`) and answers a SaveResult in input
order, `{"id", "success", "errors"}` (docs/crm-wire.md §A6: the same resource and
result shape as the update). A record may not carry an `id`; every field must exist and
be createable; references (WhatId, OwnerId, ...) must name a live record of a type the
field points to, else INVALID_CROSS_REFERENCE_KEY, as Salesforce answers. Tasks need a
Status and a Priority (Salesforce fills defaults; the sandbox requires them so a client
that forgets them is caught).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.sandbox.salesforce.org import SalesforceOrg
from connectors.sandbox.salesforce.schema import field_for, insert_records, org_table_for
from connectors.sandbox.salesforce.writes import BadValue, parse_value
from connectors.sandbox.store import ObjectTable

MAX_COLLECTION = 200
REQUIRED = {"Task": ("Status", "Priority")}


def _fail(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields}],
    }


def _reference_ok(org: SalesforceOrg, targets: tuple[str, ...], rid: str) -> bool:
    for name in targets:
        table = org.store.tables.get(name)
        rec = table.records.get(rid) if table is not None else None
        if rec is not None and not rec.get("IsDeleted"):
            return True
    return False


def _values(org: SalesforceOrg, table: ObjectTable, record: dict[str, Any]) -> dict[str, Any]:
    """The record's stored values; raises BadValue for the first problem."""
    values: dict[str, Any] = {}
    for name, raw in record.items():
        if name == "attributes":
            continue
        f = field_for(table, name)
        if f is None:
            raise BadValue(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {table.name}"
            )
        if not f.createable:
            raise BadValue(
                "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {f.name}."
            )
        value = parse_value(f, raw)
        if (
            f.type == "reference"
            and value is not None
            and not _reference_ok(org, f.reference_to, value)
        ):
            msg = f"{f.label}: id value of incorrect type: {value}"
            raise BadValue("INVALID_CROSS_REFERENCE_KEY", msg)
        values[f.name] = value
    for name in REQUIRED.get(table.name, ()):
        if values.get(name) in (None, ""):
            raise BadValue("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]")
    return values


def create_one(org: SalesforceOrg, record: dict[str, Any]) -> dict[str, Any]:
    """Validate and insert one record; its SaveResult."""
    sobject = str((record.get("attributes") or {}).get("type", ""))
    table = org_table_for(org.store, sobject)
    if table is None:
        return _fail("INVALID_TYPE", f"sObject type '{sobject}' is not supported.", [])
    if record.get("id") or record.get("Id"):
        return _fail("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
    try:
        values = _values(org, table, record)
    except BadValue as exc:
        return _fail(exc.code, exc.message, [])
    with org.store.lock:
        rid = insert_records(org.store, table.name, [values])[0]
    return {"id": rid, "success": True, "errors": []}


async def collections_create(org: SalesforceOrg, request: Request) -> Response:
    """`POST /composite/sobjects`: create up to 200 records, SaveResults in input order."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        return org.error(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return org.error(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(records) > MAX_COLLECTION:
        msg = "record limit reached. cannot submit more than 200 records into this call"
        return org.error(400, "EXCEEDED_ID_LIMIT", msg, [])
    return org.json([create_one(org, r) for r in records])
