"""CRM v3 basic object routes: list, get, create, update, archive (docs/crm-wire.md §B4).

`objectType` accepts the names (companies, deals, tickets, invoices) and the
objectTypeIds (0-2, 0-3, 0-5, 0-53). The list cursor `after` is the id of the first
record of the next page; the last page carries no `paging` key at all, because
`api.crm.objects.get_all` only checks `paging is None` (§B4).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import (
    HubSpotPortal,
    body_json,
    query_bool,
    query_list,
)
from connectors.sandbox.hubspot.writes import (
    apply_update,
    archive_record,
    convert_properties,
    create_record,
    link_all,
    plan_associations,
)

LIST_DEFAULT, LIST_MAX = 10, 100


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """Routes for /crm/v3/objects/{objectType}[/{objectId}]."""

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            return await create(portal, request)
        return list_page(portal, request)

    async def single(request: Request) -> Response:
        if request.method == "PATCH":
            return await update(portal, request)
        if request.method == "DELETE":
            return archive(portal, request)
        return get_one(portal, request)

    base = "/crm/v3/objects/{objectType}"
    return [
        Route(base, collection, methods=["GET", "POST"]),
        Route(base + "/{objectId}", single, methods=["GET", "PATCH", "DELETE"]),
    ]


def list_page(portal: HubSpotPortal, request: Request) -> Response:
    """GET /crm/v3/objects/{objectType}: one page in id order."""
    denied = portal.guard(request, "list")
    if denied:
        return denied
    object_type = request.path_params["objectType"]
    table = portal.table(object_type)
    if table is None:
        return portal.unknown_type(object_type)
    try:
        limit = int(request.query_params.get("limit", LIST_DEFAULT))
        after = request.query_params.get("after")
        start_id = int(after) if after else 0
    except ValueError:
        return portal.error(400, "VALIDATION_ERROR", "limit and after must be numbers")
    if not 1 <= limit <= LIST_MAX:
        msg = f"limit must be between 1 and {LIST_MAX}, got {limit}"
        return portal.error(400, "VALIDATION_ERROR", msg)
    archived = query_bool(request, "archived")
    props = query_list(request, "properties")
    assoc = query_list(request, "associations")
    ids = portal.archived_ids(table) if archived else portal.sorted_ids(table)
    results: list[dict[str, Any]] = []
    next_id: int | None = None
    for i in range(bisect_left(ids, start_id), len(ids)):
        rec = table.records.get(str(ids[i]))
        if rec is None or bool(rec.get("_archived")) != archived:
            continue
        if len(results) == limit:
            next_id = ids[i]
            break
        results.append(_with_associations(portal, table, rec, props, assoc))
    body: dict[str, Any] = {"results": results}
    if next_id is not None:
        link = f"{portal.base_url}{request.url.path}?after={next_id}"
        body["paging"] = {"next": {"after": str(next_id), "link": link}}
    return portal.json(body)


def _with_associations(
    portal: HubSpotPortal, table: Any, rec: dict[str, Any], props: list[str], assoc: list[str]
) -> dict[str, Any]:
    out = portal.record_json(table, rec, props)
    if assoc:
        linked = portal.associations_json(table, rec["_id"], assoc)
        if linked:
            out["associations"] = linked
    return out


def _find(portal: HubSpotPortal, request: Request, kind: str) -> tuple[Any, Any, Response | None]:
    """(table, record, None) or (.., .., error response) for /{objectType}/{objectId}."""
    denied = portal.guard(request, kind)
    if denied:
        return None, None, denied
    object_type = request.path_params["objectType"]
    table = portal.table(object_type)
    if table is None:
        return None, None, portal.unknown_type(object_type)
    rid = request.path_params["objectId"]
    id_property = request.query_params.get("idProperty")
    rec = table.records.get(rid)
    if id_property and id_property != "hs_object_id":
        rec = next((r for r in table.records.values() if str(r.get(id_property)) == rid), None)
    archived = query_bool(request, "archived")
    if rec is None or bool(rec.get("_archived")) != archived:
        return table, None, portal.not_found(rid)
    return table, rec, None


def get_one(portal: HubSpotPortal, request: Request) -> Response:
    """GET /crm/v3/objects/{objectType}/{objectId} (404 OBJECT_NOT_FOUND when missing)."""
    table, rec, problem = _find(portal, request, "read")
    if problem:
        return problem
    props = query_list(request, "properties")
    assoc = query_list(request, "associations")
    return portal.json(_with_associations(portal, table, rec, props, assoc))


async def update(portal: HubSpotPortal, request: Request) -> Response:
    """PATCH /crm/v3/objects/{objectType}/{objectId}: 200 with the updated object."""
    table, rec, problem = _find(portal, request, "update")
    if problem:
        return problem
    body = await body_json(request)
    values, problems = convert_properties(table, (body or {}).get("properties"))
    if problems:
        return portal.validation_error(problems)
    apply_update(portal, table, rec, values)
    return portal.json(portal.record_json(table, rec, list(values)))


async def create(portal: HubSpotPortal, request: Request) -> Response:
    """POST /crm/v3/objects/{objectType}: 201 with the new object."""
    denied = portal.guard(request, "create")
    if denied:
        return denied
    object_type = request.path_params["objectType"]
    table = portal.table(object_type)
    if table is None:
        return portal.unknown_type(object_type)
    body = await body_json(request) or {}
    values, problems = convert_properties(table, body.get("properties", {}), creating=True)
    if problems:
        return portal.validation_error(problems)
    links, bad = plan_associations(portal, table, body.get("associations"))
    if bad:
        return portal.error(400, "VALIDATION_ERROR", bad)
    rec = create_record(portal, table, values)
    link_all(portal, table, rec["_id"], links)
    return portal.json(portal.record_json(table, rec, list(values)), 201)


def archive(portal: HubSpotPortal, request: Request) -> Response:
    """DELETE /crm/v3/objects/{objectType}/{objectId}: 204, the record becomes archived."""
    table, rec, problem = _find(portal, request, "archive")
    if problem:
        return problem
    archive_record(portal, table, rec)
    return portal.empty(204)
