"""Properties API v3: property definitions and property groups (docs/crm-wire.md §B10).

Create answers 201 (the client returns None for any other 2xx, §B3); a duplicate
name 409 OBJECT_ALREADY_EXISTS. PATCH replaces the fields it names (options are
replaced as a whole, which is how a dropdown gains options later). Every Property
carries each key listed in §B10; `description` and `options` are always present.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import HubSpotPortal, body_json
from connectors.sandbox.hubspot.property_groups import group_collection, group_single
from connectors.sandbox.hubspot.schema import option
from connectors.sandbox.hubspot.values import iso_ms
from connectors.sandbox.store import FieldDef, ObjectTable

BUILTIN_CREATED = "2020-01-01T00:00:00.000Z"
FIELD_TYPES_FOR = {
    "bool": {"booleancheckbox", "select", "radio", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "number": {"number", "calculation_equation"},
    "phone_number": {"phonenumber", "text"},
    "string": {"text", "textarea", "html", "file", "phonenumber"},
}
"""HubSpot `type` -> the `fieldType`s it may be shown with."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def property_json(f: FieldDef) -> dict[str, Any]:
    """A FieldDef as HubSpot's Property (every key of §B10)."""
    e = f.extra
    builtin = bool(e.get("hubspotDefined", not f.custom))
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "fieldType": e.get("fieldType", "text"),
        "groupName": e.get("groupName", ""),
        "description": e.get("description", ""),
        "options": e.get("options", []),
        "displayOrder": e.get("displayOrder", -1),
        "hidden": bool(e.get("hidden", False)),
        "formField": bool(e.get("formField", True)),
        "calculated": f.calculated,
        "externalOptions": bool(e.get("externalOptions", False)),
        "hasUniqueValue": bool(e.get("hasUniqueValue", False)),
        "hubspotDefined": builtin,
        "createdAt": e.get("createdAt", BUILTIN_CREATED),
        "updatedAt": e.get("updatedAt", e.get("createdAt", BUILTIN_CREATED)),
        "archived": False,
        "modificationMetadata": {
            "archivable": not builtin,
            "readOnlyDefinition": builtin,
            "readOnlyValue": not f.updateable,
        },
    }


def _options(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list) or not all(isinstance(o, dict) and "value" in o for o in raw):
        return None
    out = []
    for i, o in enumerate(raw):
        opt = option(str(o["value"]), int(o.get("displayOrder", i)), str(o.get("label") or ""))
        opt.update(hidden=bool(o.get("hidden", False)), description=o.get("description") or "")
        out.append(opt)
    return out


def _create_problem(portal: HubSpotPortal, table: ObjectTable, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Invalid input JSON: expected a property object"
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return f"Missing required fields: {', '.join(missing)}"
    if not _NAME.match(str(body["name"])):
        return f"Invalid property name {body['name']!r}: use lower case letters, digits, _"
    if body["type"] not in FIELD_TYPES_FOR:
        return f"Invalid type {body['type']!r}; allowed: {', '.join(FIELD_TYPES_FOR)}"
    if body["fieldType"] not in FIELD_TYPES_FOR[body["type"]]:
        return f"fieldType {body['fieldType']!r} cannot be used with type {body['type']!r}"
    if body["groupName"] not in portal.data.groups.get(table.name, {}):
        return f"Property group {body['groupName']!r} does not exist"
    if body["type"] == "enumeration" and not _options(body.get("options")):
        return "An enumeration property needs at least one option (label, value)"
    return None


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """Routes for /crm/v3/properties/{objectType}[/groups][/{name}]."""

    def bound(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            denied = portal.guard(request, "properties")
            if denied:
                return denied
            table = portal.table(request.path_params["objectType"])
            if table is None:
                return portal.unknown_type(request.path_params["objectType"])
            response: Response = await fn(portal, request, table)
            return response

        return endpoint

    base = "/crm/v3/properties/{objectType}"
    return [
        Route(base, bound(collection), methods=["GET", "POST"]),
        Route(base + "/groups", bound(group_collection), methods=["GET", "POST"]),
        Route(base + "/groups/{groupName}", bound(group_single), methods=["GET", "PATCH"]),
        Route(base + "/{propertyName}", bound(single), methods=["GET", "PATCH", "DELETE"]),
    ]


async def collection(portal: HubSpotPortal, request: Request, table: ObjectTable) -> Response:
    """GET: {"results": [Property...]} (no paging); POST: create, 201 or 409."""
    if request.method == "GET":
        return portal.json({"results": [property_json(f) for f in table.fields.values()]})
    body = await body_json(request)
    problem = _create_problem(portal, table, body)
    if problem:
        return portal.error(400, "VALIDATION_ERROR", problem)
    if body["name"] in table.fields:
        msg = f"A property named '{body['name']}' already exists."
        return portal.error(409, "OBJECT_ALREADY_EXISTS", msg)
    now = iso_ms(portal.store.clock.now())
    options = _options(body.get("options")) or []
    if body["type"] == "bool" and not options:
        options = [option("true", 0, "Yes"), option("false", 1, "No")]
    f = FieldDef(
        name=body["name"],
        type=body["type"],
        label=body["label"],
        custom=True,
        picklist=[o["value"] for o in options],
        restricted=body["type"] == "enumeration",
        extra={
            "fieldType": body["fieldType"],
            "groupName": body["groupName"],
            "description": body.get("description") or "",
            "hubspotDefined": False,
            "displayOrder": int(body.get("displayOrder", -1)),
            "options": options,
            "hidden": bool(body.get("hidden", False)),
            "formField": bool(body.get("formField", False)),
            "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
            "createdAt": now,
            "updatedAt": now,
        },
    )
    with portal.store.lock:
        table.add_field(f)
    return portal.json(property_json(f), 201)


async def single(portal: HubSpotPortal, request: Request, table: ObjectTable) -> Response:
    """GET one property (404 when unknown), PATCH it (200), DELETE a custom one (204)."""
    name = request.path_params["propertyName"]
    f = table.fields.get(name)
    if f is None:
        msg = f"Unable to find property {name} on object type {table.name}"
        return portal.error(404, "OBJECT_NOT_FOUND", msg)
    if request.method == "GET":
        return portal.json(property_json(f))
    if request.method == "DELETE":
        if not f.custom:
            return portal.error(400, "VALIDATION_ERROR", f"{name} is a HubSpot-defined property")
        with portal.store.lock:
            del table.fields[name]
        return portal.empty(204)
    body = await body_json(request)
    problem = _patch(f, body if isinstance(body, dict) else {})
    if problem:
        return portal.error(400, "VALIDATION_ERROR", problem)
    f.extra["updatedAt"] = iso_ms(portal.store.clock.now())
    return portal.json(property_json(f))


def _patch(f: FieldDef, body: dict[str, Any]) -> str | None:
    """Apply a PropertyUpdate to a FieldDef; a message when a value is unusable."""
    if "options" in body:
        opts = _options(body["options"])
        if opts is None:
            return "options must be a list of {label, value}"
        f.extra["options"] = opts
        f.picklist = [o["value"] for o in opts]
    if body.get("type"):
        if body["type"] not in FIELD_TYPES_FOR:
            return f"Invalid type {body['type']!r}"
        f.type = body["type"]
    if body.get("label"):
        f.label = str(body["label"])
    for key in ("description", "groupName", "fieldType", "displayOrder", "hidden", "formField"):
        if key in body and body[key] is not None:
            f.extra[key] = body[key]
    return None
