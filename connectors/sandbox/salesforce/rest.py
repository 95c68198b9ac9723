"""REST API resources of the sandbox org, apart from query and jobs.

Versions and resources, global and per-object describe (§A5), single records,
sObject Collections update (§A6), FieldPermissions (§A10) and /limits (§A9).
Every authenticated route starts with `org.guard(request)`; paths answer with and
without a trailing slash because simple-salesforce uses both forms (§A2).
Section numbers refer to docs/crm-wire.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.creates import collections_create
from connectors.sandbox.salesforce.org import API_VERSION, SalesforceOrg, sf_value
from connectors.sandbox.salesforce.schema import (
    OBJECT_LABELS,
    field_for,
    insert_records,
    org_table_for,
)
from connectors.sandbox.salesforce.writes import update_mixed, update_records
from connectors.sandbox.store import FieldDef, ObjectTable, Record

Handler = Callable[[SalesforceOrg, Request], Awaitable[Response]]
DATA = "/services/data/v{version}"
MAX_COLLECTION = 200
_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "date": "xsd:date", "datetime": "xsd:dateTime",
}  # fmt: skip
_VERSIONS = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
_STATIC_LIMITS = {
    "DailyBulkApiBatches": 15000, "DailyBulkV2QueryJobs": 10000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyAsyncApexExecutions": 250000, "DataStorageMB": 1024, "FileStorageMB": 1024,
    "ConcurrentSyncApexRequests": 10, "HourlyODataCallout": 20000,
}  # fmt: skip


# --- serialisation --------------------------------------------------------------------


def record_json(
    table: ObjectTable, rec: Record, fields: list[FieldDef] | None = None
) -> dict[str, Any]:
    """A record as the REST API returns it: `attributes` then the (visible) fields."""
    rid = rec.get("Id") or rec["_id"]
    out: dict[str, Any] = {"attributes": {"type": table.name, "url": _record_url(table.name, rid)}}
    for f in fields if fields is not None else table.visible_fields():
        out[f.name] = rid if f.name == "Id" else sf_value(rec.get(f.name))
    return out


def _record_url(sobject: str, rid: str) -> str:
    return f"/services/data/v{API_VERSION}/sobjects/{sobject}/{rid}"


def _picklist_values(f: FieldDef) -> list[dict[str, Any]]:
    default = f.extra.get("default")
    return [
        {"active": True, "defaultValue": v == default, "label": v, "validFor": None, "value": v}
        for v in f.picklist
    ]


def field_json(f: FieldDef) -> dict[str, Any]:
    """One describe field; every key Salesforce's DescribeFieldResult carries is present."""
    numeric = f.type in ("double", "currency", "percent")
    return {
        "name": f.name, "label": f.label, "type": f.type, "custom": f.custom,
        "updateable": f.updateable, "createable": f.createable, "nillable": f.nillable,
        "calculated": f.calculated, "calculatedFormula": f.extra.get("calculatedFormula"),
        "externalId": bool(f.extra.get("externalId", False)), "unique": False,
        "idLookup": f.name == "Id", "nameField": f.name == "Name", "autoNumber": False,
        "filterable": True, "sortable": f.type != "textarea", "groupable": not numeric,
        "defaultedOnCreate": f.type == "boolean" or f.name in ("Id", "OwnerId", "CreatedDate"),
        "length": f.length, "byteLength": f.length * 3, "digits": f.extra.get("digits", 0),
        "precision": f.extra.get("precision", 0) if numeric else 0,
        "scale": f.extra.get("scale", 0) if numeric else 0,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "referenceTo": list(f.reference_to), "relationshipName": f.extra.get("relationshipName"),
        "restrictedPicklist": f.restricted, "dependentPicklist": False,
        "defaultValue": False if f.type == "boolean" and not f.nillable else None,
        "defaultValueFormula": None, "inlineHelpText": f.extra.get("description"),
        "picklistValues": _picklist_values(f) if f.type in ("picklist", "multipicklist") else [],
        "permissionable": f.nillable and not f.calculated and f.updateable,
    }  # fmt: skip


def _object_summary(table: ObjectTable) -> dict[str, Any]:
    label, plural = OBJECT_LABELS.get(table.name, (table.name, table.name))
    base = f"/services/data/v{API_VERSION}/sobjects/{table.name}"
    return {
        "name": table.name, "label": label, "labelPlural": plural, "keyPrefix": table.id_prefix,
        "custom": table.name.endswith("__c"), "customSetting": False, "activateable": False,
        "createable": True, "updateable": True, "deletable": True, "queryable": True,
        "retrieveable": True, "searchable": True, "triggerable": True, "undeletable": True,
        "replicateable": True, "layoutable": True, "mergeable": False, "feedEnabled": False,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }  # fmt: skip


def _child_relationships(org: SalesforceOrg, name: str) -> list[dict[str, Any]]:
    """Lookups from other objects to `name` (audit fields left out, as describe does)."""
    out = []
    for t in org.store.tables.values():
        plural = OBJECT_LABELS.get(t.name, (t.name, t.name))[1].replace(" ", "")
        ns = t.name.split("__")[0] + "__" if t.name.count("__") > 1 else ""
        rel = f"{ns}{plural}__r" if t.name.endswith("__c") else plural
        for f in t.visible_fields():
            if name in f.reference_to and f.name not in ("CreatedById", "LastModifiedById"):
                out.append({"childSObject": t.name, "field": f.name, "cascadeDelete": False,
                            "relationshipName": None if f.name == "OwnerId" else rel})  # fmt: skip
    return out


def describe_json(org: SalesforceOrg, table: ObjectTable) -> dict[str, Any]:
    """`/sobjects/{obj}/describe`: the object summary, its visible fields and relationships."""
    master = {"active": True, "available": True, "defaultRecordTypeMapping": True, "master": True,
              "name": "Master", "developerName": "Master", "recordTypeId": "012000000000000AAA",
              "urls": {}}  # fmt: skip
    return {
        **_object_summary(table),
        "fields": [field_json(f) for f in table.visible_fields()],
        "childRelationships": _child_relationships(org, table.name),
        "recordTypeInfos": [master],
        "supportedScopes": [{"label": "All", "name": "everything"}],
    }


# --- handlers -------------------------------------------------------------------------


async def versions(org: SalesforceOrg, request: Request) -> Response:
    """`GET /services/data/`: no session needed, no limit header (§A2)."""
    return JSONResponse(
        [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in _VERSIONS]
    )


async def resources(org: SalesforceOrg, request: Request) -> Response:
    base = f"/services/data/v{request.path_params['version']}"
    names = ("sobjects", "query", "queryAll", "limits", "tooling", "jobs", "composite", "search")
    return org.json({n: f"{base}/{n}" for n in names})


async def global_describe(org: SalesforceOrg, request: Request) -> Response:
    tables = org.store.tables.values()
    return org.json(
        {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [_object_summary(t) for t in tables]}
    )


def _table_or_404(org: SalesforceOrg, request: Request) -> ObjectTable | Response:
    table = org_table_for(org.store, request.path_params["sobject"])
    if table is None:
        return org.error(404, "NOT_FOUND", "The requested resource does not exist")
    return table


async def sobject_info(org: SalesforceOrg, request: Request) -> Response:
    table = _table_or_404(org, request)
    if isinstance(table, Response):
        return table
    return org.json({"objectDescribe": _object_summary(table), "recentItems": []})


async def describe(org: SalesforceOrg, request: Request) -> Response:
    table = _table_or_404(org, request)
    if isinstance(table, Response):
        return table
    with org.store.lock:
        return org.json(describe_json(org, table))


def _live_record(org: SalesforceOrg, table: ObjectTable, rid: str) -> Record | Response:
    rec = table.records.get(rid)
    if rec is None:
        return org.error(404, "NOT_FOUND", "The requested resource does not exist")
    if rec.get("IsDeleted"):
        return org.error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return rec


async def get_record(org: SalesforceOrg, request: Request) -> Response:
    table = _table_or_404(org, request)
    if isinstance(table, Response):
        return table
    rec = _live_record(org, table, request.path_params["id"])
    if isinstance(rec, Response):
        return rec
    wanted = request.query_params.get("fields")
    fields = None
    if wanted:
        fields = [field_for(table, n.strip()) for n in wanted.split(",")]
        if any(f is None for f in fields):
            return org.error(400, "INVALID_FIELD", "No such column on entity " + table.name)
    return org.json(record_json(table, rec, fields))  # type: ignore[arg-type]


async def _json_body(org: SalesforceOrg, request: Request) -> Any | Response:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        return org.error(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")


_SINGLE_STATUS = {"ENTITY_IS_DELETED": 404, "INVALID_CROSS_REFERENCE_KEY": 404, "MALFORMED_ID": 404}


async def patch_record(org: SalesforceOrg, request: Request) -> Response:
    """Single-record update: 204 on success, else the first error as a REST error list."""
    table = _table_or_404(org, request)
    if isinstance(table, Response):
        return table
    body = await _json_body(org, request)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return org.error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    result = update_records(org, table.name, [{**body, "Id": request.path_params["id"]}])[0]
    if result.success:
        return Response(status_code=204, headers=org.limit_headers())
    err = result.errors[0]
    status = _SINGLE_STATUS.get(err["statusCode"], 400)
    if status == 404 and err["statusCode"] != "ENTITY_IS_DELETED":
        return org.error(404, "NOT_FOUND", "The requested resource does not exist")
    return org.error(status, err["statusCode"], err["message"], err["fields"])


async def delete_record(org: SalesforceOrg, request: Request) -> Response:
    """Soft delete (to the recycle bin): IsDeleted = true, SystemModstamp bumped; 204."""
    table = _table_or_404(org, request)
    if isinstance(table, Response):
        return table
    with org.store.lock:
        rec = _live_record(org, table, request.path_params["id"])
        if isinstance(rec, Response):
            return rec
        now = org.store.clock.now()
        rec.update(IsDeleted=True, LastModifiedDate=now, SystemModstamp=now)
    return Response(status_code=204, headers=org.limit_headers())


async def collections_update(org: SalesforceOrg, request: Request) -> Response:
    """`PATCH /composite/sobjects`: up to 200 records, results in input order (§A6)."""
    body = await _json_body(org, request)
    if isinstance(body, Response):
        return body
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return org.error(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(records) > MAX_COLLECTION:
        msg = "record limit reached. cannot submit more than 200 records into this call"
        return org.error(400, "EXCEEDED_ID_LIMIT", msg, [])
    items = [(str((r.get("attributes") or {}).get("type", "")), r) for r in records]
    results = update_mixed(org, items, all_or_none=bool(body.get("allOrNone", False)))
    return org.json([r.save_result() for r in results])


async def create_field_permissions(org: SalesforceOrg, request: Request) -> Response:
    """`POST /sobjects/FieldPermissions`: grant field-level security (§A10)."""
    body = await _json_body(org, request)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return org.error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    with org.store.lock:
        problem = _field_permission_problem(org, body)
        if problem:
            return problem
        read = bool(body.get("PermissionsRead"))
        row = {k: body.get(k) for k in ("ParentId", "SobjectType", "Field")}
        row.update(PermissionsRead=read, PermissionsEdit=bool(body.get("PermissionsEdit")))
        rid = insert_records(org.store, "FieldPermissions", [row])[0]
        if read:
            _target_field(org, body).visible = True  # type: ignore[union-attr]
    return org.json({"id": rid, "success": True, "errors": []}, status=201)


def _target_field(org: SalesforceOrg, body: dict[str, Any]) -> FieldDef | None:
    sobject, _, name = str(body.get("Field", "")).partition(".")
    table = org_table_for(org.store, str(body.get("SobjectType") or sobject))
    if table is None or table.name != sobject:
        return None
    return field_for(table, name, visible_only=False)


def _field_permission_problem(org: SalesforceOrg, body: dict[str, Any]) -> Response | None:
    parent = org.store.table("PermissionSet").records.get(str(body.get("ParentId")))
    if parent is None:
        msg = "Parent ID: id value of incorrect type: " + str(body.get("ParentId"))
        return org.error(400, "FIELD_INTEGRITY_EXCEPTION", msg, ["ParentId"])
    if _target_field(org, body) is None:
        msg = f"Field Name: bad value for restricted picklist field: {body.get('Field')}"
        return org.error(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", msg, ["Field"])
    if body.get("PermissionsEdit") and not body.get("PermissionsRead"):
        msg = "Permission Edit depends on permission(s): Read"
        return org.error(400, "FIELD_INTEGRITY_EXCEPTION", msg, ["PermissionsRead"])
    for fp in org.store.table("FieldPermissions").records.values():
        if fp["ParentId"] == parent["Id"] and fp["Field"] == body.get("Field"):
            msg = f"duplicate value found: <unknown> duplicates value on record with id: {fp['Id']}"
            return org.error(400, "DUPLICATE_VALUE", msg, [])
    return None


async def limits(org: SalesforceOrg, request: Request) -> Response:
    """`GET /limits/`: DailyApiRequests agrees with Sforce-Limit-Info (§A9)."""
    body: dict[str, Any] = {
        "DailyApiRequests": {"Max": org.api_max, "Remaining": max(org.api_max - org.api_used, 0)}
    }
    body.update({k: {"Max": v, "Remaining": v} for k, v in _STATIC_LIMITS.items()})
    return org.json(body)


# --- routing --------------------------------------------------------------------------


def _bind(org: SalesforceOrg, handler: Handler, *, auth: bool = True) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        if auth:
            denied = org.guard(request)
            if denied is not None:
                return denied
        return await handler(org, request)

    return endpoint


def both(path: str, endpoint: Callable[..., Any], methods: list[str]) -> list[BaseRoute]:
    """The route with and without a trailing slash (§A2)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """REST resources; specific paths come before the `/sobjects/{obj}/{id}` catch-all."""
    table: list[tuple[str, Handler, list[str]]] = [
        (f"{DATA}", resources, ["GET"]),
        (f"{DATA}/limits", limits, ["GET"]),
        (f"{DATA}/sobjects", global_describe, ["GET"]),
        (f"{DATA}/composite/sobjects", collections_update, ["PATCH"]),
        (f"{DATA}/composite/sobjects", collections_create, ["POST"]),
        (f"{DATA}/sobjects/FieldPermissions", create_field_permissions, ["POST"]),
        (f"{DATA}/sobjects/{{sobject}}/describe", describe, ["GET"]),
        (f"{DATA}/sobjects/{{sobject}}", sobject_info, ["GET"]),
        (f"{DATA}/sobjects/{{sobject}}/{{id}}", get_record, ["GET"]),
        (f"{DATA}/sobjects/{{sobject}}/{{id}}", patch_record, ["PATCH"]),
        (f"{DATA}/sobjects/{{sobject}}/{{id}}", delete_record, ["DELETE"]),
    ]
    out = both("/services/data", _bind(org, versions, auth=False), ["GET"])
    for path, handler, methods in table:
        out += both(path, _bind(org, handler), methods)
    return out
