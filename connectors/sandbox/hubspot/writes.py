"""Writing records: property validation, stamps, calculated properties, create-time associations.

HubSpot validates every property of a write before applying any of it; one bad
property or option fails the request (for a batch: the whole batch) with a 400
VALIDATION_ERROR that lists each problem (docs/crm-wire.md §B2, §B6).
On every write `hs_lastmodifieddate` (and so `updatedAt`) becomes the portal clock's
now, which is strictly increasing (§B12).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot.associations_store import TYPE_IDS
from connectors.sandbox.hubspot.portal import HubSpotPortal
from connectors.sandbox.hubspot.values import InvalidValue, parse_value
from connectors.sandbox.store import ObjectTable, Record

Problems = list[dict[str, Any]]


def convert_properties(
    table: ObjectTable, props: Any, *, creating: bool = False
) -> tuple[dict[str, Any], Problems]:
    """Written properties -> stored values, plus HubSpot-style problems for the bad ones."""
    if not isinstance(props, dict):
        return {}, [{"message": "properties must be an object", "error": "INVALID_INPUT"}]
    values: dict[str, Any] = {}
    problems: Problems = []
    for name, raw in props.items():
        f = table.fields.get(name)
        if f is None:
            msg = f'Property "{name}" does not exist'
            problems.append({"message": msg, "error": "PROPERTY_DOESNT_EXIST", "name": name})
            continue
        if not (f.createable if creating else f.updateable):
            msg = f"{name} is a read only property; its value cannot be set."
            problems.append({"message": msg, "error": "READ_ONLY_VALUE", "name": name})
            continue
        try:
            values[name] = parse_value(f, raw)
        except InvalidValue as exc:
            msg = str(exc)
            problems.append({"message": msg, "error": exc.code, "name": name})
    return values, problems


def apply_update(
    portal: HubSpotPortal, table: ObjectTable, rec: Record, values: dict[str, Any]
) -> None:
    """Set already-validated values on a stored record and stamp it."""
    with portal.store.lock:
        rec.update(values)
        rec["hs_lastmodifieddate"] = portal.store.clock.now()
        portal.wrote(table, rec)


def create_record(portal: HubSpotPortal, table: ObjectTable, values: dict[str, Any]) -> Record:
    """Insert a new record with create and modify stamps."""
    with portal.store.lock:
        now = portal.store.clock.now()
        rec: Record = {"_id": table.new_id(), "_archived": False, **values}
        created_key = "hs_createdate" if table.name == "invoices" else "createdate"
        rec.setdefault(created_key, now)
        if rec.get(created_key) is None:
            rec[created_key] = now
        rec["hs_lastmodifieddate"] = now
        portal.store.insert_many(table.name, [rec])
        portal.wrote(table, rec, created=True)
    return rec


def archive_record(portal: HubSpotPortal, table: ObjectTable, rec: Record) -> None:
    """Archive (soft-delete) one record; it leaves search and the live list."""
    with portal.store.lock:
        now = portal.store.clock.now()
        rec["_archived"] = True
        rec["_archived_at"] = now
        rec["hs_lastmodifieddate"] = now
        portal.wrote(table, rec)


def live_record(table: ObjectTable, rid: Any) -> Record | None:
    """A non-archived record by id (ids are strings; clients may send numbers)."""
    rec = table.records.get(str(rid))
    return None if rec is None or rec.get("_archived") else rec


def plan_associations(
    portal: HubSpotPortal, table: ObjectTable, specs: Any
) -> tuple[list[tuple[str, str]], str | None]:
    """The (to_type, to_id) links a create input's `associations` asks for, or an error message."""
    if not specs:
        return [], None
    by_type: dict[int, str] = {}
    for (frm, to), (plain, primary) in TYPE_IDS.items():
        if frm == table.name:
            by_type[plain] = to
            if primary:
                by_type[primary] = to
    links: list[tuple[str, str]] = []
    for spec in specs if isinstance(specs, list) else []:
        to_id = str((spec.get("to") or {}).get("id", ""))
        types = spec.get("types") or [{}]
        to_type = by_type.get(types[0].get("associationTypeId"))
        if not to_type:
            return [], f"Unknown association type for {table.name}: {types[0]}"
        if live_record(portal.store.tables[to_type], to_id) is None:
            return [], f"No {to_type} with id {to_id}"
        links.append((to_type, to_id))
    return links, None


def link_all(
    portal: HubSpotPortal, table: ObjectTable, rid: str, links: list[tuple[str, str]]
) -> None:
    for to_type, to_id in links:
        portal.data.associations.add(table.name, rid, to_type, to_id)
