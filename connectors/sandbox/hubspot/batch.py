"""CRM v3 batch routes: read, update, create, archive (docs/crm-wire.md §B5, §B6, §B3).

Status codes matter more than anywhere else: hubspot-api-client deserialises only the
codes an operation declares and returns None for any other 2xx (§B3). So read/update
answer 200 or 207, create 201 (or 207), archive 204. Validation problems (bad property,
bad option, read-only property, duplicate ids, too many inputs) fail the whole batch
with 400 VALIDATION_ERROR; missing ids only fail their own inputs (207).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import HubSpotPortal, body_json, query_bool
from connectors.sandbox.hubspot.schema import REQUIRED_ON_CREATE, SINGULAR
from connectors.sandbox.hubspot.values import iso_ms
from connectors.sandbox.hubspot.writes import (
    apply_update,
    archive_record,
    convert_properties,
    create_record,
    link_all,
    live_record,
    plan_associations,
)
from connectors.sandbox.store import ObjectTable

BATCH_MAX = 100


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """Routes for /crm/v3/objects/{objectType}/batch/{read,update,create,archive}."""
    handlers = {"read": read, "update": update, "create": create, "archive": archive}

    def bind(op: str) -> Any:
        async def endpoint(request: Request) -> Response:
            denied = portal.guard(request, f"batch_{op}")
            if denied:
                return denied
            object_type = request.path_params["objectType"]
            table = portal.table(object_type)
            if table is None:
                return portal.unknown_type(object_type)
            body = await body_json(request)
            inputs = body.get("inputs") if isinstance(body, dict) else None
            if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
                return portal.error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs missing")
            if len(inputs) > BATCH_MAX:
                msg = f"Too many inputs: {len(inputs)}. The maximum batch size is {BATCH_MAX}."
                return portal.error(400, "VALIDATION_ERROR", msg)
            return handlers[op](portal, request, table, body)

        return endpoint

    base = "/crm/v3/objects/{objectType}/batch/"
    return [Route(base + op, bind(op), methods=["POST"]) for op in handlers]


def batch_body(
    portal: HubSpotPortal, table: ObjectTable, results: list[dict[str, Any]], missing: list[str]
) -> tuple[dict[str, Any], bool]:
    """The BatchResponse body and whether it carries errors (-> 207)."""
    now = iso_ms(portal.store.clock.now())
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if missing:
        single = SINGULAR[table.name].upper()
        msg = (
            f"Could not get some {single} objects, they may be deleted or not exist. "
            "Check that ids are valid."
        )
        body["numErrors"] = 1
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": msg,
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        ]
    body["startedAt"] = body["completedAt"] = now
    return body, bool(missing)


def read(
    portal: HubSpotPortal, request: Request, table: ObjectTable, body: dict[str, Any]
) -> Response:
    """POST .../batch/read: 200, or 207 listing ids that do not exist."""
    if body.get("propertiesWithHistory") and len(body["inputs"]) > 50:
        msg = (
            "The maximum number of inputs supported in a batch request for property histories "
            "is 50."
        )
        return portal.error(400, "VALIDATION_ERROR", msg)
    props = [p for p in body.get("properties") or [] if isinstance(p, str)]
    id_property = body.get("idProperty")
    archived = query_bool(request, "archived")
    by_prop: dict[str, Any] = {}
    if id_property and id_property != "hs_object_id":
        by_prop = {str(r.get(id_property)): r for r in table.records.values()}
    results, missing, seen = [], [], set()
    for item in body["inputs"]:
        key = str(item.get("id", ""))
        rec = by_prop.get(key) if by_prop else table.records.get(key)
        if rec is None or bool(rec.get("_archived")) != archived:
            missing.append(key)
        elif rec["_id"] not in seen:
            seen.add(rec["_id"])
            results.append(portal.record_json(table, rec, props))
    out, partial = batch_body(portal, table, results, missing)
    return portal.json(out, 207 if partial else 200)


def update(
    portal: HubSpotPortal, request: Request, table: ObjectTable, body: dict[str, Any]
) -> Response:
    """POST .../batch/update: whole-batch 400 on invalid input, 207 for missing ids, else 200."""
    ids = [str(i.get("id", "")) for i in body["inputs"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        msg = f"Duplicate IDs found in batch input: {dupes}. IDs must be unique"
        return portal.error(400, "VALIDATION_ERROR", msg)
    planned, problems = [], []
    for rid, item in zip(ids, body["inputs"], strict=True):
        values, bad = convert_properties(table, item.get("properties"))
        problems.extend(bad)
        planned.append((rid, values))
    if problems:
        return portal.validation_error(problems)
    results, missing = [], []
    for rid, values in planned:
        rec = live_record(table, rid)
        if rec is None:
            missing.append(rid)
            continue
        apply_update(portal, table, rec, values)
        results.append(portal.record_json(table, rec, list(values)))
    out, partial = batch_body(portal, table, results, missing)
    return portal.json(out, 207 if partial else 200)


def create(
    portal: HubSpotPortal, request: Request, table: ObjectTable, body: dict[str, Any]
) -> Response:
    """POST .../batch/create: 201 with the new objects (whole-batch 400 on invalid input)."""
    planned, problems = [], []
    for item in body["inputs"]:
        values, bad = convert_properties(table, item.get("properties", {}), creating=True)
        links, bad_link = plan_associations(portal, table, item.get("associations"))
        problems.extend(bad)
        problems.extend(
            {"message": f"{name} is required", "error": "REQUIRED_PROPERTY", "name": name}
            for name in REQUIRED_ON_CREATE.get(table.name, ())
            if values.get(name) is None
        )
        if bad_link:
            problems.append({"message": bad_link, "error": "INVALID_ASSOCIATION"})
        planned.append((values, links))
    if problems:
        return portal.validation_error(problems)
    results = []
    for values, links in planned:
        rec = create_record(portal, table, values)
        link_all(portal, table, rec["_id"], links)
        results.append(portal.record_json(table, rec, list(values)))
    out, _ = batch_body(portal, table, results, [])
    return portal.json(out, 201)


def archive(
    portal: HubSpotPortal, request: Request, table: ObjectTable, body: dict[str, Any]
) -> Response:
    """POST .../batch/archive: 204 (ids that do not exist are ignored)."""
    for item in body["inputs"]:
        rec = live_record(table, item.get("id", ""))
        if rec is not None:
            archive_record(portal, table, rec)
    return portal.empty(204)
