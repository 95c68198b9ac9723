"""The sandbox HubSpot portal's data model: objects, property definitions, groups, associations.

Records live in a `Store` (one `ObjectTable` per object type, numeric string ids).
A record is a dict of property name -> Python value (int/float, bool, `date`,
`datetime` in UTC, str, None) plus the bookkeeping keys `_id`, `_archived` (bool)
and `_archived_at` (datetime). Values go out on the wire as strings (portal.py).

Property definitions are `FieldDef`s with HubSpot `type` (bool, date, datetime,
enumeration, number, string); `extra` holds `fieldType`, `groupName`, `description`,
`hubspotDefined`, `displayOrder` and `options` (the Property shape of
docs/crm-wire.md §B10). Associations and property groups hang off the store as
`store.hubspot` (see `portal_data`), so a loader can fill a store before a server exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot.associations_store import Associations
from connectors.sandbox.store import Clock, FieldDef, ObjectTable, Store

OBJECT_TYPES: tuple[str, ...] = ("companies", "deals", "tickets", "invoices", "tasks")
OBJECT_TYPE_IDS: dict[str, str] = {
    "0-2": "companies",
    "0-3": "deals",
    "0-5": "tickets",
    "0-53": "invoices",
    "0-27": "tasks",
}
SINGULAR: dict[str, str] = {
    "companies": "company",
    "deals": "deal",
    "tickets": "ticket",
    "invoices": "invoice",
    "tasks": "task",
}
DEFAULT_GROUPS: dict[str, tuple[str, str]] = {
    "companies": ("companyinformation", "Company information"),
    "deals": ("dealinformation", "Deal information"),
    "tickets": ("ticketinformation", "Ticket information"),
    "invoices": ("invoiceinformation", "Invoice information"),
    "tasks": ("task_information", "Task information"),
}
CLOSED_STAGES = {"closedwon": True, "closedlost": False}
"""dealstage -> won? for the default sales pipeline's closed stages."""

# A subset of HubSpot's `industry` dropdown values (the portal's company property).
INDUSTRIES: tuple[str, ...] = (
    "ACCOUNTING", "AIRLINES_AVIATION", "APPAREL_FASHION", "AUTOMOTIVE", "BANKING", "BIOTECHNOLOGY",
    "BUILDING_MATERIALS", "CHEMICALS", "COMPUTER_HARDWARE", "COMPUTER_NETWORKING",
    "COMPUTER_SOFTWARE", "CONSTRUCTION", "CONSUMER_ELECTRONICS", "CONSUMER_GOODS",
    "CONSUMER_SERVICES", "E_LEARNING", "EDUCATION_MANAGEMENT",
    "ELECTRICAL_ELECTRONIC_MANUFACTURING", "ENVIRONMENTAL_SERVICES", "FINANCIAL_SERVICES",
    "FOOD_BEVERAGES", "FOOD_PRODUCTION", "GOVERNMENT_ADMINISTRATION", "HOSPITAL_HEALTH_CARE",
    "HOSPITALITY", "INDUSTRIAL_AUTOMATION", "INFORMATION_TECHNOLOGY_AND_SERVICES", "INSURANCE",
    "INTERNET", "LEGAL_SERVICES", "LOGISTICS_AND_SUPPLY_CHAIN", "MACHINERY",
    "MANAGEMENT_CONSULTING", "MARKETING_AND_ADVERTISING", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "MEDICAL_DEVICES", "NONPROFIT_ORGANIZATION_MANAGEMENT", "OIL_ENERGY", "PHARMACEUTICALS",
    "REAL_ESTATE", "RENEWABLES_ENVIRONMENT", "RETAIL", "STAFFING_AND_RECRUITING",
    "TELECOMMUNICATIONS", "TRANSPORTATION_TRUCKING_RAILROAD", "UTILITIES", "WHOLESALE",
)  # fmt: skip
DEAL_STAGES = (
    "appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
    "decisionmakerboughtin", "contractsent", "closedwon", "closedlost",
)  # fmt: skip
DEAL_TYPES = ("newbusiness", "existingbusiness", "renewal")
TICKET_PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
TICKET_CATEGORIES = (
    "PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY", "SPECIAL_REQUEST",
)  # fmt: skip
TICKET_STAGES = ("1", "2", "3", "4")  # New, Waiting on contact, Waiting on us, Closed
INVOICE_STATUSES = ("draft", "open", "paid", "voided")
CURRENCIES = ("EUR", "USD", "GBP", "CHF")
FIELD_TYPES = {
    "bool": "booleancheckbox",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "number": "number",
    "string": "text",
}
"""Default HubSpot `fieldType` for each property `type`."""


def option(value: str, order: int, label: str = "") -> dict[str, Any]:
    """One enumeration option in HubSpot's Option shape."""
    return {
        "label": label or value.replace("_", " ").title(),
        "value": value,
        "displayOrder": order,
        "hidden": False,
        "description": "",
    }


def prop(
    name: str,
    type_: str,
    group: str,
    *,
    label: str = "",
    options: Iterable[str] = (),
    custom: bool = False,
    read_only: bool = False,
    calculated: bool = False,
    field_type: str = "",
    order: int = -1,
) -> FieldDef:
    """A HubSpot property definition as a FieldDef."""
    values = list(options)
    extra = {
        "fieldType": field_type or ("calculation_equation" if calculated else FIELD_TYPES[type_]),
        "groupName": group,
        "description": "",
        "hubspotDefined": not custom,
        "displayOrder": order,
        "options": [option(v, i) for i, v in enumerate(values)],
        "hasUniqueValue": name == "hs_object_id",
        "formField": not (read_only or calculated),
    }
    return FieldDef(
        name=name,
        type=type_,
        label=label or name.replace("_", " ").capitalize(),
        updateable=not (read_only or calculated),
        createable=not (read_only or calculated),
        custom=custom,
        picklist=values,
        restricted=type_ == "enumeration",
        calculated=calculated,
        extra=extra,
    )


def owner_prop(group: str, label: str) -> FieldDef:
    """`hubspot_owner_id`: an enumeration whose options are the owners (externalOptions)."""
    f = prop("hubspot_owner_id", "enumeration", group, label=label)
    f.extra["externalOptions"] = True
    f.restricted = False
    return f


def _common(group: str, created: str = "createdate") -> list[FieldDef]:
    return [
        prop(created, "datetime", group, label="Create date"),
        prop("hs_lastmodifieddate", "datetime", group, label="Last modified date", read_only=True),
        prop("hs_object_id", "number", group, label="Record ID", read_only=True),
    ]


def company_props() -> list[FieldDef]:
    g = "companyinformation"
    return [
        prop("name", "string", g, label="Company name"),
        prop("domain", "string", g, label="Company domain name"),
        prop("erp_customer_id", "string", g, label="ERP customer ID", custom=True),
        prop("industry", "enumeration", g, label="Industry", options=INDUSTRIES),
        prop("numberofemployees", "number", g, label="Number of Employees"),
        prop("annualrevenue", "number", g, label="Annual Revenue"),
        prop("country", "string", g, label="Country/Region"),
        owner_prop(g, "Company owner"),
        *_common(g),
    ]


def deal_props() -> list[FieldDef]:
    g = "dealinformation"
    return [
        prop("dealname", "string", g, label="Deal Name"),
        prop("amount", "number", g, label="Amount"),
        prop("deal_currency_code", "enumeration", g, label="Currency", options=CURRENCIES),
        prop("dealstage", "enumeration", g, label="Deal Stage", options=DEAL_STAGES),
        prop("pipeline", "enumeration", g, label="Pipeline", options=("default",)),
        prop("hs_is_closed", "bool", g, label="Is Deal Closed?", calculated=True),
        prop("hs_is_closed_won", "bool", g, label="Is Closed Won", calculated=True),
        prop("closedate", "datetime", g, label="Close Date"),
        prop("dealtype", "enumeration", g, label="Deal Type", options=DEAL_TYPES),
        owner_prop(g, "Deal owner"),
        *_common(g),
    ]


def ticket_props() -> list[FieldDef]:
    g = "ticketinformation"
    return [
        prop("subject", "string", g, label="Ticket name"),
        prop("content", "string", g, label="Ticket description", field_type="textarea"),
        prop("hs_pipeline", "enumeration", g, label="Pipeline", options=("0",)),
        prop("hs_pipeline_stage", "enumeration", g, label="Ticket status", options=TICKET_STAGES),
        prop("hs_ticket_priority", "enumeration", g, label="Priority", options=TICKET_PRIORITIES),
        prop("hs_ticket_category", "enumeration", g, label="Category", options=TICKET_CATEGORIES),
        prop("escalated", "bool", g, label="Escalated", custom=True),
        prop("effort_hours", "number", g, label="Effort hours", custom=True),
        prop("closed_date", "datetime", g, label="Close date"),
        *_common(g),
    ]


def invoice_props() -> list[FieldDef]:
    g = "invoiceinformation"
    return [
        prop("hs_invoice_status", "enumeration", g, label="Status", options=INVOICE_STATUSES),
        prop("hs_amount_billed", "number", g, label="Amount billed", read_only=True),
        prop("hs_balance_due", "number", g, label="Balance due", read_only=True),
        prop("hs_due_date", "date", g, label="Due date"),
        prop("hs_invoice_date", "date", g, label="Invoice date"),
        prop("paid_date", "date", g, label="Paid date", custom=True),
        prop("hs_currency", "enumeration", g, label="Currency", options=CURRENCIES),
        prop("hs_number", "string", g, label="Number", read_only=True),
        prop("hs_title", "string", g, label="Title"),
        prop("createdate", "datetime", g, label="Create date"),
        *_common(g, created="hs_createdate"),
    ]


TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
TASK_PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
TASK_TYPES = ("TODO", "CALL", "EMAIL", "LINKED_IN")
REQUIRED_ON_CREATE = {"tasks": ("hs_timestamp",)}
"""Properties a create must set (HubSpot's tasks guide: hs_timestamp is required)."""


def task_props() -> list[FieldDef]:
    g = "task_information"
    return [
        prop("hs_timestamp", "datetime", g, label="Due date"),
        prop("hs_task_subject", "string", g, label="Task Title"),
        prop("hs_task_body", "string", g, label="Task notes", field_type="textarea"),
        prop("hs_task_status", "enumeration", g, label="Task Status", options=TASK_STATUSES),
        prop("hs_task_priority", "enumeration", g, label="Priority", options=TASK_PRIORITIES),
        prop("hs_task_type", "enumeration", g, label="Task Type", options=TASK_TYPES),
        owner_prop(g, "Assigned to"),
        *_common(g, created="hs_createdate"),
    ]


PROPERTY_FACTORIES = {
    "companies": company_props,
    "deals": deal_props,
    "tickets": ticket_props,
    "invoices": invoice_props,
    "tasks": task_props,
}


@dataclass
class PortalData:
    """Portal state besides records: associations and property groups (per object type)."""

    associations: Associations = field(default_factory=Associations)
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def portal_data(store: Store) -> PortalData:
    """The `PortalData` of a HubSpot store (created on first use for a bare Store)."""
    data = getattr(store, "hubspot", None)
    if data is None:
        data = PortalData(groups={t: _default_groups(t) for t in OBJECT_TYPES})
        store.hubspot = data  # type: ignore[attr-defined]
    return data


def _default_groups(object_type: str) -> dict[str, dict[str, Any]]:
    name, label = DEFAULT_GROUPS[object_type]
    return {name: {"name": name, "label": label, "displayOrder": -1, "archived": False}}


def new_portal_store() -> Store:
    """An empty portal: four object tables with HubSpot's default and our custom properties."""
    store = Store(Clock(resolution_ms=1, strictly_increasing=True))
    for name, factory in PROPERTY_FACTORIES.items():
        store.add_table(ObjectTable(name, factory()))
    portal_data(store)
    return store


def calculated_value(name: str, record: dict[str, Any]) -> Any:
    """HubSpot's calculated deal flags, derived from dealstage at read time (never stored)."""
    stage = record.get("dealstage")
    if name == "hs_is_closed":
        return stage in CLOSED_STAGES
    return bool(CLOSED_STAGES.get(stage, False)) if stage else False


CALCULATED = ("hs_is_closed", "hs_is_closed_won")
"""Properties whose value `calculated_value` computes (deals)."""


def resolve_object_type(name: str) -> str | None:
    """A path segment (`companies`, `COMPANY`, `0-2`, `company`) -> our table name, or None."""
    n = name.lower()
    if n in OBJECT_TYPES:
        return n
    if name in OBJECT_TYPE_IDS:
        return OBJECT_TYPE_IDS[name]
    for plural, single in SINGULAR.items():
        if n == single:
            return plural
    return None
