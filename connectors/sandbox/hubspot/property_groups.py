"""Property groups: `GET/POST /crm/v3/properties/{objectType}/groups[/{groupName}]`.

See docs/crm-wire.md §B10.

Default groups (companyinformation, dealinformation, ticketinformation,
invoiceinformation) come from the schema; POST creates one (201), a duplicate name
answers 409 OBJECT_ALREADY_EXISTS.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.sandbox.hubspot.portal import HubSpotPortal, body_json
from connectors.sandbox.store import ObjectTable


async def group_collection(portal: HubSpotPortal, request: Request, table: ObjectTable) -> Response:
    """GET: {"results": [PropertyGroup...]}; POST {"name","label","displayOrder"}: 201."""
    groups = portal.data.groups.setdefault(table.name, {})
    if request.method == "GET":
        return portal.json({"results": list(groups.values())})
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
        return portal.error(400, "VALIDATION_ERROR", "A property group needs a name and a label")
    name = str(body["name"])
    if name in groups:
        msg = f"A property group named '{name}' already exists."
        return portal.error(409, "OBJECT_ALREADY_EXISTS", msg)
    group: dict[str, Any] = {
        "name": name,
        "label": str(body["label"]),
        "displayOrder": int(body.get("displayOrder", -1)),
        "archived": False,
    }
    groups[name] = group
    return portal.json(group, 201)


async def group_single(portal: HubSpotPortal, request: Request, table: ObjectTable) -> Response:
    """GET one group (404 when unknown) or PATCH its label / displayOrder (200)."""
    groups = portal.data.groups.setdefault(table.name, {})
    name = request.path_params["groupName"]
    group = groups.get(name)
    if group is None:
        return portal.error(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}")
    if request.method == "PATCH":
        body = await body_json(request)
        for key in ("label", "displayOrder"):
            if isinstance(body, dict) and body.get(key) is not None:
                group[key] = body[key]
    return portal.json(group)
