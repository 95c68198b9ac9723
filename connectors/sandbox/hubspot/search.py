"""CRM v3 search: `POST /crm/v3/objects/{objectType}/search` (docs/crm-wire.md §B7).

- filterGroups are ORed, the filters inside a group ANDed; at most 5 groups, 10 filters
  per group and 25 in total (HubSpot changelog 2024-08-26), else 400.
- `limit` at most 200; `after` is a numeric offset sent as a string; `total` is the
  full match count; `paging` is absent on the last page.
- At most 10,000 results per query: a page reaching past offset 10,000
  (after + limit > 10,000) is answered 400, so sync jobs must re-anchor their filter.
- Without `sorts` the order is hs_object_id ascending (HubSpot documents none; ours
  is stable so offsets page deterministically). No associations in results.
- Search has its own per-second bucket and its responses carry no
  X-HubSpot-RateLimit-* headers, only X-HubSpot-Correlation-Id.
Queries on a hs_lastmodifieddate range sorted by it (the connector's windows) are
answered from a per-table index in (hs_lastmodifieddate, id) order (search_indexed.py).
Other queries filter and sort the table; their matching id lists are cached per query
until the portal is written through the API or a table grows, so paging a large result
costs one filter pass.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import HubSpotPortal, body_json
from connectors.sandbox.hubspot.search_filters import (
    FilterError,
    compile_groups,
    parse_sorts,
    sort_records,
)
from connectors.sandbox.hubspot.search_indexed import indexed_page
from connectors.sandbox.store import ObjectTable, Record

SEARCH_MAX_LIMIT = 200
RESULT_CAP = 10_000
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 10, 25
QUERY_PROPERTIES = {
    "companies": ("name", "domain"),
    "deals": ("dealname",),
    "tickets": ("subject", "content"),
    "invoices": ("hs_number", "hs_title"),
}
"""Properties the free-text `query` looks in (HubSpot's default searchable properties)."""
_CACHE_SIZE = 32


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """The search route, with a small per-portal cache of matching id lists."""
    cache: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()

    async def endpoint(request: Request) -> Response:
        return await search(portal, request, cache)

    return [Route("/crm/v3/objects/{objectType}/search", endpoint, methods=["POST"])]


def _bad(portal: HubSpotPortal, message: str) -> Response:
    return portal.error(400, "VALIDATION_ERROR", message, search=True)


def _check_limits(body: dict[str, Any]) -> str | None:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        return "filterGroups must be a list"
    counts = [len(g.get("filters") or []) for g in groups if isinstance(g, dict)]
    if len(groups) > MAX_GROUPS:
        return f"Too many filter groups: {len(groups)} (max {MAX_GROUPS})"
    if any(c > MAX_PER_GROUP for c in counts):
        return f"Too many filters in a group (max {MAX_PER_GROUP})"
    if sum(counts) > MAX_FILTERS:
        return f"Too many filters: {sum(counts)} (max {MAX_FILTERS} in total)"
    return None


async def search(portal: HubSpotPortal, request: Request, cache: OrderedDict[Any, Any]) -> Response:
    """One search page."""
    denied = portal.guard(request, "search")
    if denied:
        return denied
    object_type = request.path_params["objectType"]
    table = portal.table(object_type)
    if table is None:
        return portal.unknown_type(object_type, search=True)
    body = await body_json(request)
    if not isinstance(body, dict):
        return _bad(portal, "Invalid input JSON: the body must be a search request object")
    problem = _check_limits(body)
    try:
        limit = int(body.get("limit") or 10)
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        problem = problem or "limit and after must be numbers"
    if problem:
        return _bad(portal, problem)
    if not 1 <= limit <= SEARCH_MAX_LIMIT or offset < 0:
        return _bad(portal, f"limit must be between 1 and {SEARCH_MAX_LIMIT}, after >= 0")
    if offset + limit > RESULT_CAP:
        msg = (
            f"Paging past {RESULT_CAP} results is not supported (after={offset}, limit={limit}). "
            "Narrow the search with a filter, e.g. hs_object_id GT the last id seen."
        )
        return _bad(portal, msg)
    try:
        found = indexed_page(portal, table, body, offset, limit)
        if found is None:
            ids = _matching_ids(portal, table, body, cache)
            found = len(ids), ids[offset : offset + limit]
    except FilterError as exc:
        return _bad(portal, str(exc))
    total, page = found
    props = [p for p in body.get("properties") or [] if isinstance(p, str)]
    results = [portal.record_json(table, table.records[i], props) for i in page]
    out: dict[str, Any] = {"total": total, "results": results}
    if offset + limit < total:
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return portal.json(out, search=True)


def _matching_ids(
    portal: HubSpotPortal, table: ObjectTable, body: dict[str, Any], cache: OrderedDict[Any, Any]
) -> list[str]:
    """Ids of the matching live records in result order (cached per query and store state)."""
    query = {k: body.get(k) for k in ("filterGroups", "sorts", "query")}
    text = json.dumps(query, sort_keys=True, default=str)
    key = (table.name, text, len(table.records), portal.write_seq)
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return list(hit)
    pred = compile_groups(table, body.get("filterGroups") or [])
    sorts = parse_sorts(table, body.get("sorts"))
    recs: list[Record] = [
        r
        for r in list(table.records.values())
        if not r.get("_archived") and (pred is None or pred(r))
    ]
    text = str(body.get("query") or "").strip().lower()
    if text:
        names = QUERY_PROPERTIES.get(table.name, ())
        recs = [r for r in recs if any(text in str(r.get(n) or "").lower() for n in names)]
    sort_records(table, recs, sorts)
    ids = [r["_id"] for r in recs]
    cache[key] = ids
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return ids
