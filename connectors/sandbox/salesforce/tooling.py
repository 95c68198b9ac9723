"""Tooling API `CustomField` for the sandbox org: create, read and update field metadata.

A field created here exists at once but has no field-level security, so it is absent
from describe and SOQL answers INVALID_FIELD until `POST /sobjects/FieldPermissions`
grants read access (docs/crm-wire.md §A10; rest.create_field_permissions).
Metadata shapes follow the Metadata API `CustomField` type (tooling_api_objects_customfield.htm).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.org import API_VERSION, USER_ID, SalesforceOrg, sf_datetime
from connectors.sandbox.salesforce.schema import field_for, org_table_for
from connectors.sandbox.salesforce.soql import compile_query
from connectors.sandbox.salesforce.soql_lex import SoqlError
from connectors.sandbox.store import FieldDef, ObjectTable, Store

BASE = "/services/data/v{version}/tooling/sobjects/CustomField"
_DEV_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9]*__)?[A-Za-z][A-Za-z0-9_]*__c$")
_TYPES = {
    "Picklist": "picklist", "Number": "double", "Currency": "currency", "Percent": "percent",
    "Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "DateTime": "datetime",
    "Date": "date", "Checkbox": "boolean", "Url": "url", "Email": "email", "Phone": "phone",
}  # fmt: skip
"""Metadata API field type -> describe type."""


class MetadataError(Exception):
    """Metadata Salesforce would reject; `code` is the REST errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class CustomFieldRecord:
    """One CustomField made through Tooling, and the FieldDef it put in the store."""

    id: str
    table: str
    field: FieldDef
    metadata: dict[str, Any]
    created: datetime
    modified: datetime

    def to_json(self) -> dict[str, Any]:
        dev_name = self.field.name.removesuffix("__c")
        return {
            "attributes": {"type": "CustomField", "url": f"{_tooling_url()}/{self.id}"},
            "Id": self.id, "DeveloperName": dev_name, "NamespacePrefix": None,
            "TableEnumOrId": self.table, "FullName": f"{self.table}.{self.field.name}",
            "Metadata": self.metadata, "CreatedDate": sf_datetime(self.created),
            "CreatedById": USER_ID, "LastModifiedDate": sf_datetime(self.modified),
            "LastModifiedById": USER_ID,
        }  # fmt: skip


def _tooling_url() -> str:
    return f"/services/data/v{API_VERSION}/tooling/sobjects/CustomField"


def _picklist(meta: dict[str, Any]) -> tuple[list[str], bool, str | None]:
    """(values, restricted, default value) from `valueSet.valueSetDefinition.value[]`."""
    value_set = meta.get("valueSet") or {}
    values = (value_set.get("valueSetDefinition") or {}).get("value") or []
    if not values:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION", "Picklist: you must enter at least one value"
        )
    names = [str(v.get("fullName") or v.get("label")) for v in values]
    if len(set(names)) != len(names):
        raise MetadataError("DUPLICATE_VALUE", "Picklist: duplicate values are not allowed")
    default = next((n for n, v in zip(names, values, strict=True) if v.get("default")), None)
    return names, bool(value_set.get("restricted", False)), default


def build_field(name: str, meta: dict[str, Any]) -> FieldDef:
    """A FieldDef (not yet visible) for CustomField metadata; raises MetadataError."""
    kind = meta.get("type")
    if kind not in _TYPES:
        raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Invalid field type: {kind}")
    t = _TYPES[kind]
    f = FieldDef(name, t, str(meta.get("label") or name), custom=True, visible=False)
    f.extra["description"] = meta.get("description") or meta.get("inlineHelpText")
    if t == "picklist":
        f.picklist, f.restricted, f.extra["default"] = _picklist(meta)
        f.length = 255
    elif t in ("double", "currency", "percent"):
        precision, scale = int(meta.get("precision") or 18), int(meta.get("scale") or 0)
        if not 0 <= scale <= precision <= 18:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", "Number: precision/scale out of range")
        f.extra.update(precision=precision, scale=scale)
    elif t in ("string", "textarea", "url", "email", "phone"):
        default_length = 32768 if kind == "LongTextArea" else 255
        f.length = int(meta.get("length") or default_length)
        if t == "string" and not 1 <= f.length <= 255:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", "Length: must be between 1 and 255")
    elif t == "boolean":
        f.nillable = False
    return f


class CustomFields:
    """The CustomField registry of one org, with its route handlers."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self.fields: dict[str, CustomFieldRecord] = {}
        self._seq = itertools.count(1)

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return self.org.error(
                400, "JSON_PARSER_ERROR", "Unexpected character in the request body"
            )
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            return self.org.error(
                400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]"
            )
        return body

    def _create(self, full_name: str, meta: dict[str, Any]) -> CustomFieldRecord:
        sobject, _, name = full_name.partition(".")
        table = org_table_for(self.org.store, sobject)
        if table is None:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Cannot find entity: {sobject}")
        if not _DEV_NAME.match(name) or "__c" in name[:-3]:
            msg = f"The API name '{name}' must start with a letter and end in __c"
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", msg)
        if field_for(table, name, visible_only=False) is not None:
            msg = f"This field name is already in use: {name.removesuffix('__c')}"
            raise MetadataError("DUPLICATE_DEVELOPER_NAME", msg)
        f = build_field(name, meta)
        now = self.org.store.clock.now()
        rec = CustomFieldRecord(f"00N{next(self._seq):012d}AAA", table.name, f, meta, now, now)
        f.extra["toolingId"] = rec.id
        table.add_field(f)
        self.fields[rec.id] = rec
        return rec

    async def create(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            with self.org.store.lock:
                rec = self._create(str(body.get("FullName", "")), body["Metadata"])
        except MetadataError as exc:
            return self.org.error(400, exc.code, exc.message, [])
        payload = {"id": rec.id, "success": True, "errors": [], "warnings": [], "infos": []}
        return self.org.json(payload, status=201)

    def _record(self, request: Request) -> CustomFieldRecord | Response:
        rec = self.fields.get(request.path_params["field_id"])
        if rec is None:
            return self.org.error(404, "NOT_FOUND", "The requested resource does not exist")
        return rec

    async def get(self, request: Request) -> Response:
        rec = self._record(request)
        if isinstance(rec, Response):
            return rec
        return self.org.json(rec.to_json())

    async def update(self, request: Request) -> Response:
        """PATCH with new Metadata (e.g. more picklist values); the type cannot change here."""
        rec = self._record(request)
        if isinstance(rec, Response):
            return rec
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        meta = {**rec.metadata, **body["Metadata"]}
        try:
            new = build_field(rec.field.name, meta)
        except MetadataError as exc:
            return self.org.error(400, exc.code, exc.message, [])
        if new.type != rec.field.type:
            msg = "Changing the field type is not supported through the Tooling API in the sandbox"
            return self.org.error(400, "FIELD_INTEGRITY_EXCEPTION", msg, [])
        with self.org.store.lock:
            new.visible, new.extra["toolingId"] = rec.field.visible, rec.id
            self.org.store.table(rec.table).add_field(new)
            rec.field, rec.metadata, rec.modified = new, meta, self.org.store.clock.now()
        return Response(status_code=204, headers=self.org.limit_headers())


_QUERY_FIELDS = (
    FieldDef("Id", "id", updateable=False),
    FieldDef("DeveloperName", "string"),
    FieldDef("NamespacePrefix", "string"),
    FieldDef("TableEnumOrId", "string"),
    FieldDef("FullName", "string"),
    FieldDef("Metadata", "textarea"),
)


def tooling_query(registry: CustomFields, text: str) -> dict[str, Any]:
    """Run a Tooling SOQL query over the CustomField registry, e.g. to read a field's Metadata.

    Tooling answers `SELECT Id, Metadata FROM CustomField WHERE ...` with the same shape
    as REST query; `Metadata` and `FullName` may only be selected when the query returns
    at most one record (tooling_api_objects_customfield.htm).
    """
    store = Store()
    store.add_table(ObjectTable("CustomField", _QUERY_FIELDS))
    store.insert_many(
        "CustomField", ({**r.to_json(), "_id": r.id} for r in registry.fields.values())
    )
    query = compile_query(store, text)
    rows = query.run(store)
    wants_metadata = any(c.name in ("Metadata", "FullName") for c in query.columns)
    if wants_metadata and len(rows) > 1:
        raise SoqlError(
            "MALFORMED_QUERY",
            "When retrieving results with Metadata or FullName fields, the query qualifications"
            " must specify no more than one row for retrieval. Result size: " + str(len(rows)),
        )
    records = [
        {"attributes": {"type": "CustomField", "url": f"{_tooling_url()}/{r['_id']}"}}
        | {c.name: r.get(c.name) for c in query.columns}
        for r in rows
    ]
    if query.count_only:
        return {"size": len(rows), "totalSize": len(rows), "done": True, "records": []}
    return {"size": len(records), "totalSize": len(records), "done": True,
            "queryLocator": None, "entityTypeName": "CustomField", "records": records}  # fmt: skip


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """Tooling CustomField routes (with and without trailing slash), all authenticated."""
    registry = CustomFields(org)

    async def query(request: Request) -> Response:
        try:
            return org.json(tooling_query(registry, request.query_params.get("q", "")))
        except SoqlError as exc:
            return org.error(exc.status, exc.code, exc.message)

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            return org.guard(request) or await handler(request)

        return endpoint

    table: list[tuple[str, Any, list[str]]] = [
        (BASE, registry.create, ["POST"]),
        (BASE + "/{field_id}", registry.get, ["GET"]),
        (BASE + "/{field_id}", registry.update, ["PATCH"]),
        ("/services/data/v{version}/tooling/query", query, ["GET"]),
    ]
    out: list[BaseRoute] = []
    for path, handler, methods in table:
        endpoint = guarded(handler)
        out += [
            Route(path, endpoint, methods=methods),
            Route(path + "/", endpoint, methods=methods),
        ]
    return out
