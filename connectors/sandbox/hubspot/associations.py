"""Associations v4 routes (docs/crm-wire.md §B8).

- `POST /crm/v4/associations/{from}/{to}/batch/read`: at most 1000 inputs; each input
  pages its targets 500 at a time with its own `after` cursor; inputs without any
  association come back as 207 errors (OBJECT_NOT_FOUND, context.fromObjectId).
  `toObjectId` is emitted as a JSON number, as live responses commonly do.
- `GET /crm/v4/objects/{from}/{id}/associations/{to}` (`basic_api.get_page`, limit <= 500).
- `PUT .../associations/default/{to}/{toId}` (200) and the labelled
  `PUT .../associations/{to}/{toId}` (201), `DELETE` (204); batch associate/default (200)
  and batch/archive (204), so loaders and tests can link records through the client.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.associations_store import TYPE_IDS
from connectors.sandbox.hubspot.portal import HubSpotPortal, body_json
from connectors.sandbox.hubspot.schema import OBJECT_TYPE_IDS, resolve_object_type
from connectors.sandbox.hubspot.values import iso_ms
from connectors.sandbox.hubspot.writes import live_record

BATCH_READ_MAX = 1000
PAGE_SIZE = 500
TYPE_ID_OF = {name: tid for tid, name in OBJECT_TYPE_IDS.items()}


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset-{offset}".encode()).decode()


def decode_cursor(cursor: Any) -> int:
    """The offset in an `after` cursor (0 when absent); ValueError when unreadable."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc
    if not text.startswith("offset-"):
        raise ValueError(cursor)
    return int(text[7:])


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """Routes for /crm/v4/associations/... and /crm/v4/objects/.../associations/..."""

    def bound(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            denied = portal.guard(request, "associations")
            if denied:
                return denied
            frm = resolve_object_type(request.path_params.get("fromObjectType", ""))
            to = resolve_object_type(request.path_params.get("toObjectType", ""))
            if not frm or not to or (frm, to) not in TYPE_IDS:
                a, b = request.path_params["fromObjectType"], request.path_params["toObjectType"]
                msg = f"Unknown association between {a} and {b}"
                return portal.error(400, "VALIDATION_ERROR", msg)
            response: Response = await fn(portal, request, frm, to)
            return response

        return endpoint

    batch = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/"
    one = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/"
    return [
        Route(batch + "read", bound(batch_read), methods=["POST"]),
        Route(batch + "associate/default", bound(batch_default), methods=["POST"]),
        Route(batch + "archive", bound(batch_archive), methods=["POST"]),
        Route(one + "default/{toObjectType}/{toObjectId}", bound(put_default), methods=["PUT"]),
        Route(one + "{toObjectType}/{toObjectId}", bound(labelled), methods=["PUT", "DELETE"]),
        Route(one + "{toObjectType}", bound(get_page), methods=["GET"]),
    ]


def _targets(portal: HubSpotPortal, frm: str, rid: str, to: str, offset: int, size: int) -> Any:
    """(to entries of one page, next offset or None)."""
    ids = portal.data.associations.targets(frm, rid, to)
    assoc = portal.data.associations
    page = [
        {"toObjectId": int(t), "associationTypes": assoc.types_v4(frm, rid, to, t)}
        for t in ids[offset : offset + size]
    ]
    return page, (offset + size if offset + size < len(ids) else None)


def _stamps(portal: HubSpotPortal, body: dict[str, Any]) -> dict[str, Any]:
    body["startedAt"] = body["completedAt"] = iso_ms(portal.store.clock.now())
    return body


async def _inputs(request: Request) -> list[dict[str, Any]] | None:
    body = await body_json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if isinstance(inputs, list) and all(isinstance(i, dict) for i in inputs):
        return inputs
    return None


async def batch_read(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """Targets of up to 1000 records, 500 per record per call; 207 for records with none."""
    inputs = await _inputs(request)
    if inputs is None:
        return portal.error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs missing")
    if len(inputs) > BATCH_READ_MAX:
        msg = f"Too many inputs: {len(inputs)}. The maximum is {BATCH_READ_MAX}."
        return portal.error(400, "VALIDATION_ERROR", msg)
    results, errors = [], []
    for item in inputs:
        rid = str(item.get("id", ""))
        try:
            offset = decode_cursor(item.get("after"))
        except ValueError:
            return portal.error(400, "VALIDATION_ERROR", f"Invalid after cursor for id {rid}")
        page, nxt = _targets(portal, frm, rid, to, offset, PAGE_SIZE)
        if not page:
            errors.append(_no_associations(frm, rid, to))
            continue
        entry: dict[str, Any] = {"from": {"id": rid}, "to": page}
        if nxt is not None:
            entry["paging"] = {"next": {"after": encode_cursor(nxt)}}
        results.append(entry)
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
    return portal.json(_stamps(portal, body), 207 if errors else 200)


def _no_associations(frm: str, rid: str, to: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {to} is associated with {frm} {rid}.",
        "context": {"fromObjectId": [rid]},
        "errors": [],
        "links": {},
    }


async def get_page(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """One record's targets: {"results": [...], "paging"?}."""
    rid = request.path_params["fromObjectId"]
    try:
        limit = int(request.query_params.get("limit", PAGE_SIZE))
        offset = decode_cursor(request.query_params.get("after"))
    except ValueError:
        return portal.error(400, "VALIDATION_ERROR", "limit must be a number, after a cursor")
    if not 1 <= limit <= PAGE_SIZE:
        return portal.error(400, "VALIDATION_ERROR", f"limit must be between 1 and {PAGE_SIZE}")
    page, nxt = _targets(portal, frm, rid, to, offset, limit)
    body: dict[str, Any] = {"results": page}
    if nxt is not None:
        after = encode_cursor(nxt)
        link = f"{portal.base_url}{request.url.path}?after={after}"
        body["paging"] = {"next": {"after": after, "link": link}}
    return portal.json(body)


def _link(portal: HubSpotPortal, frm: str, rid: str, to: str, to_id: str) -> str | None:
    """Create one link; an error message when a record does not exist."""
    for kind, key in ((frm, rid), (to, to_id)):
        if live_record(portal.store.tables[kind], key) is None:
            return f"No {kind} with id {key}"
    portal.data.associations.add(frm, rid, to, to_id)
    portal.links_changed()
    return None


def _default_result(frm: str, rid: str, to: str, to_id: str) -> dict[str, Any]:
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TYPE_IDS[(frm, to)][0]}
    return {"from": {"id": rid}, "to": {"id": to_id}, "associationSpec": spec}


async def put_default(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """PUT .../associations/default/{to}/{toId}: 200 BatchResponsePublicDefaultAssociation."""
    rid, to_id = request.path_params["fromObjectId"], request.path_params["toObjectId"]
    bad = _link(portal, frm, rid, to, to_id)
    if bad:
        return portal.error(404, "OBJECT_NOT_FOUND", bad)
    body = {"status": "COMPLETE", "results": [_default_result(frm, rid, to, to_id)]}
    return portal.json(_stamps(portal, body))


async def labelled(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """PUT (201 LabelsBetweenObjectPair) or DELETE (204) one association."""
    rid, to_id = request.path_params["fromObjectId"], request.path_params["toObjectId"]
    if request.method == "DELETE":
        portal.data.associations.remove(frm, rid, to, to_id)
        portal.links_changed()
        return portal.empty(204)
    bad = _link(portal, frm, rid, to, to_id)
    if bad:
        return portal.error(404, "OBJECT_NOT_FOUND", bad)
    body = {
        "fromObjectTypeId": TYPE_ID_OF[frm],
        "fromObjectId": int(rid),
        "toObjectTypeId": TYPE_ID_OF[to],
        "toObjectId": int(to_id),
        "labels": [],
    }
    return portal.json(body, 201)


async def batch_default(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """POST .../batch/associate/default {"inputs":[{"from":{"id"},"to":{"id"}}]}: 200."""
    inputs = await _inputs(request)
    if inputs is None:
        return portal.error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs missing")
    pairs = [
        (str(i["from"]["id"]), str(i["to"]["id"])) for i in inputs if "from" in i and "to" in i
    ]
    for rid, to_id in pairs:
        bad = _link(portal, frm, rid, to, to_id)
        if bad:
            return portal.error(400, "VALIDATION_ERROR", bad)
    results = [_default_result(frm, rid, to, to_id) for rid, to_id in pairs]
    return portal.json(_stamps(portal, {"status": "COMPLETE", "results": results}))


async def batch_archive(portal: HubSpotPortal, request: Request, frm: str, to: str) -> Response:
    """POST .../batch/archive {"inputs":[{"from":{"id"},"to":[{"id"}]}]}: 204."""
    for item in await _inputs(request) or []:
        rid = str((item.get("from") or {}).get("id", ""))
        for target in item.get("to") or []:
            portal.data.associations.remove(frm, rid, to, str(target.get("id", "")))
    portal.links_changed()
    return portal.empty(204)
