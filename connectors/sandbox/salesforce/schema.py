"""The sandbox org's objects and their describe metadata.

Field names follow a standard Sales/Service Cloud org plus Salesforce Billing
(`blng__Invoice__c`, see docs/crm-wire.md §A12) and the names in
`connectors/sandbox/fieldmap.py` SALESFORCE, so the sample-data loader, the query
engine and the default mappings all agree.

Record convention (every route relies on it): a record is a dict keyed by API field
name holding Python values (str, int, float, bool, date, datetime in UTC, None); its
`Id` equals the store key `_id`; a soft-deleted record has `IsDeleted = True`; a
field missing from the dict reads as None. `insert_records` fills the system fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from connectors.sandbox.store import Clock, FieldDef, ObjectTable, Record, Store

USER_ID = "005000000000001AAA"
"""The seeded admin user (same as org.USER_ID); owner and creator of seeded records."""
PROFILE_ID = "00e000000000001AAA"

# Standard picklist values of a fresh org (Setup > Object Manager > Fields).
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit", "Other",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities",
)  # fmt: skip
ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Installation Partner", "Technology Partner", "Other",
)  # fmt: skip
OPPORTUNITY_STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}
"""Stage -> (IsClosed, IsWon): Salesforce derives both from the stage (OpportunityStage)."""
OPPORTUNITY_TYPES = (
    "Existing Customer - Upgrade", "Existing Customer - Replacement",
    "Existing Customer - Downgrade", "Existing Customer - Renewal", "New Customer",
)  # fmt: skip
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("Low", "Medium", "High", "Urgent")
CASE_TYPES = ("Problem", "Question", "Feature Request", "Special Request", "Other")
CASE_ORIGINS = ("Phone", "Email", "Web")
CURRENCIES = ("EUR", "USD", "GBP")
INVOICE_STATUSES = ("Draft", "Posted", "Paid", "Cancelled")

OBJECT_LABELS: dict[str, tuple[str, str]] = {
    "Account": ("Account", "Accounts"),
    "Opportunity": ("Opportunity", "Opportunities"),
    "Case": ("Case", "Cases"),
    "blng__Invoice__c": ("Invoice", "Invoices"),
    "User": ("User", "Users"),
    "PermissionSet": ("Permission Set", "Permission Sets"),
    "FieldPermissions": ("Field Permissions", "Field Permissions"),
    "Task": ("Task", "Tasks"),
}
"""sObject -> (label, labelPlural) for describe."""


def _f(name: str, type_: str, label: str = "", **kw: Any) -> FieldDef:
    """A field; custom is inferred from the `__c` suffix, strings get Salesforce's lengths."""
    kw.setdefault("custom", name.endswith("__c"))
    if type_ in ("string", "url", "textarea", "picklist", "email", "phone") and "length" not in kw:
        kw["length"] = 255
    if type_ in ("id", "reference"):
        kw.setdefault("length", 18)
    return FieldDef(name, type_, label or name, **kw)


def _ref(name: str, to: str, label: str, relationship: str, **kw: Any) -> FieldDef:
    return _f(
        name, "reference", label, reference_to=(to,), extra={"relationshipName": relationship}, **kw
    )


def _pick(
    name: str, values: Iterable[str], label: str = "", *, restricted: bool = False
) -> FieldDef:
    return _f(name, "picklist", label, picklist=list(values), restricted=restricted)


def _readonly(name: str, type_: str, label: str, **kw: Any) -> FieldDef:
    return _f(name, type_, label, updateable=False, createable=False, **kw)


def system_fields(owned: bool = True, named: bool = True) -> list[FieldDef]:
    """Id, IsDeleted, audit stamps and owner that every standard and custom object has."""
    fields = [
        _readonly("Id", "id", "Record ID", nillable=False),
        _readonly("IsDeleted", "boolean", "Deleted", nillable=False),
        _readonly("CreatedDate", "datetime", "Created Date", nillable=False),
        _readonly("CreatedById", "reference", "Created By ID", reference_to=("User",),
                  nillable=False, extra={"relationshipName": "CreatedBy"}),
        _readonly("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _readonly("LastModifiedById", "reference", "Last Modified By ID", reference_to=("User",),
                  nillable=False, extra={"relationshipName": "LastModifiedBy"}),
        _readonly("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ]  # fmt: skip
    if owned:
        fields.append(_ref("OwnerId", "User", "Owner ID", "Owner", nillable=False))
    if named:
        fields.append(_f("Name", "string", "Name", nillable=False))
    return fields


def account_fields() -> list[FieldDef]:
    return [
        *system_fields(),
        _f("Website", "url", "Website"),
        _f("AccountNumber", "string", "Account Number", length=40),
        _pick("Industry", INDUSTRIES, "Industry"),
        _f("NumberOfEmployees", "int", "Employees", length=0, extra={"digits": 8}),
        _f("AnnualRevenue", "currency", "Annual Revenue", extra={"precision": 18, "scale": 0}),
        _f("BillingCountry", "string", "Billing Country", length=80),
        _pick("Type", ACCOUNT_TYPES, "Account Type"),
        _f("Description", "textarea", "Account Description", length=32000),
        # A formula field: never a valid sync cursor, never writable.
        _readonly("Days_Since_Last_Activity__c", "double", "Days Since Last Activity",
                  calculated=True, extra={"precision": 18, "scale": 0,
                  "calculatedFormula": "TODAY() - DATEVALUE(LastModifiedDate)"}),
    ]  # fmt: skip


def opportunity_fields() -> list[FieldDef]:
    return [
        *system_fields(),
        _ref("AccountId", "Account", "Account ID", "Account"),
        _f("Amount", "currency", "Amount", extra={"precision": 18, "scale": 2}),
        _pick("StageName", OPPORTUNITY_STAGES, "Stage", restricted=True),
        _readonly("IsClosed", "boolean", "Closed", nillable=False),
        _readonly("IsWon", "boolean", "Won", nillable=False),
        _f("CloseDate", "date", "Close Date", nillable=False),
        _pick("Type", OPPORTUNITY_TYPES, "Opportunity Type"),
        _f("Probability", "percent", "Probability (%)", extra={"precision": 3, "scale": 0}),
    ]


def case_fields() -> list[FieldDef]:
    return [
        *system_fields(named=False),
        _readonly("CaseNumber", "string", "Case Number", length=30, nillable=False),
        _ref("AccountId", "Account", "Account ID", "Account"),
        _f("Subject", "string", "Subject"),
        _pick("Status", CASE_STATUSES, "Status", restricted=True),
        _pick("Priority", CASE_PRIORITIES, "Priority", restricted=True),
        _pick("Type", CASE_TYPES, "Case Type"),
        _pick("Origin", CASE_ORIGINS, "Case Origin"),
        _f("IsEscalated", "boolean", "Escalated", nillable=False),
        _readonly("IsClosed", "boolean", "Closed", nillable=False),
        _readonly("ClosedDate", "datetime", "Closed Date"),
        _f("Effort_Hours__c", "double", "Effort Hours", extra={"precision": 8, "scale": 2}),
    ]


def invoice_fields() -> list[FieldDef]:
    return [
        *system_fields(),
        _ref("blng__Account__c", "Account", "Account", "blng__Account__r"),
        _f("blng__InvoiceDate__c", "date", "Invoice Date"),
        _f("blng__DueDate__c", "date", "Due Date"),
        _f("Paid_Date__c", "date", "Paid Date"),
        _f("blng__TotalAmount__c", "currency", "Total Amount", extra={"precision": 18, "scale": 2}),
        _pick("CurrencyIsoCode", CURRENCIES, "Currency ISO Code", restricted=True),
        _pick("blng__InvoiceStatus__c", INVOICE_STATUSES, "Invoice Status", restricted=True),
    ]


def user_fields() -> list[FieldDef]:
    return [
        *system_fields(owned=False),
        _f("Username", "string", "Username", length=80, nillable=False),
        _f("Email", "email", "Email", length=128, nillable=False),
        _f("IsActive", "boolean", "Active", nillable=False),
        _ref("ProfileId", "Profile", "Profile ID", "Profile"),
    ]


def permission_set_fields() -> list[FieldDef]:
    return [
        *system_fields(owned=False),
        _f("Label", "string", "Label", length=80),
        _readonly("IsOwnedByProfile", "boolean", "Is Owned By Profile", nillable=False),
        _readonly("ProfileId", "reference", "Profile ID", reference_to=("Profile",),
                  extra={"relationshipName": "Profile"}),
    ]  # fmt: skip


def field_permissions_fields() -> list[FieldDef]:
    return [
        *system_fields(owned=False, named=False),
        _ref("ParentId", "PermissionSet", "Parent ID", "Parent", nillable=False),
        _f("SobjectType", "picklist", "Sobject Type Name", nillable=False),
        _f("Field", "picklist", "Field Name", nillable=False),
        _f("PermissionsRead", "boolean", "Read Access", nillable=False),
        _f("PermissionsEdit", "boolean", "Edit Access", nillable=False),
    ]


def currency_type_fields() -> list[FieldDef]:
    return [
        *system_fields(owned=False, named=False),
        _pick("IsoCode", CURRENCIES, "Currency ISO Code", restricted=True),
        _f("ConversionRate", "double", "Conversion Rate", extra={"precision": 18, "scale": 9}),
        _f("DecimalPlaces", "int", "Decimal Places", extra={"digits": 2}),
        _f("IsActive", "boolean", "Active", nillable=False),
        _f("IsCorporate", "boolean", "Corporate Currency", nillable=False),
    ]


def dated_rate_fields() -> list[FieldDef]:
    return [
        *system_fields(owned=False, named=False),
        _pick("IsoCode", CURRENCIES, "Currency ISO Code", restricted=True),
        _f("ConversionRate", "double", "Conversion Rate", extra={"precision": 18, "scale": 9}),
        _f("StartDate", "date", "Start Date"),
        _readonly("NextStartDate", "date", "Next Start Date"),
    ]


RATES = {"EUR": 1.0, "USD": 1.087, "GBP": 0.855}
"""A multi-currency org: EUR corporate; 1 EUR = rate units of each currency (CurrencyType)."""

TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")


def task_fields() -> list[FieldDef]:
    """An activity: WhatId is polymorphic (Account, Opportunity, ...), OwnerId the assignee."""
    return [
        *system_fields(owned=True, named=False),
        _f("Subject", "combobox", "Subject", length=255),
        _f("Description", "textarea", "Description", length=32000),
        _f("WhatId", "reference", "Related To ID", reference_to=("Account", "Opportunity"),
           extra={"relationshipName": "What"}),
        _f("ActivityDate", "date", "Due Date Only"),
        _pick("Status", TASK_STATUSES, "Status"),
        _pick("Priority", TASK_PRIORITIES, "Priority"),
    ]  # fmt: skip


TABLES: dict[str, tuple[str, Any]] = {
    "Account": ("001", account_fields),
    "Opportunity": ("006", opportunity_fields),
    "Case": ("500", case_fields),
    "blng__Invoice__c": ("a0X", invoice_fields),
    "User": ("005", user_fields),
    "PermissionSet": ("0PS", permission_set_fields),
    "FieldPermissions": ("01k", field_permissions_fields),
    "CurrencyType": ("02y", currency_type_fields),
    "DatedConversionRate": ("04w", dated_rate_fields),
    "Task": ("00T", task_fields),
}
"""sObject -> (key prefix, field factory)."""


def new_org_store() -> Store:
    """An empty org (second-resolution stamps) with the admin user and two permission sets."""
    store = Store(Clock(resolution_ms=1000))
    for name, (prefix, fields) in TABLES.items():
        store.add_table(ObjectTable(name, fields(), id_prefix=prefix))
    admin = "admin@sandbox.valuesync.test"
    insert_records(store, "User", [{"Name": "Sandbox Admin", "Username": admin, "Email": admin,
                                    "IsActive": True, "ProfileId": PROFILE_ID}])  # fmt: skip
    insert_records(store, "PermissionSet", [
        {"Name": "valuesync", "Label": "valuesync", "IsOwnedByProfile": False, "ProfileId": None},
        {"Name": "X00e000000000001AAA", "Label": "System Administrator", "IsOwnedByProfile": True,
         "ProfileId": PROFILE_ID},
    ])  # fmt: skip
    insert_records(store, "CurrencyType", [
        {"IsoCode": code, "ConversionRate": rate, "DecimalPlaces": 2, "IsActive": True,
         "IsCorporate": code == "EUR"} for code, rate in RATES.items()
    ])  # fmt: skip
    return store


def org_table_for(store: Store, name: str) -> ObjectTable | None:
    """The table of sObject `name`, matched case-insensitively (as Salesforce does), or None."""
    if name in store.tables:
        return store.tables[name]
    lowered = name.lower()
    return next((t for n, t in store.tables.items() if n.lower() == lowered), None)


def field_for(table: ObjectTable, name: str, *, visible_only: bool = True) -> FieldDef | None:
    """The field `name` of `table`, case-insensitively; None if unknown (or invisible)."""
    f = table.fields.get(name)
    if f is None:
        lowered = name.lower()
        f = next((x for n, x in table.fields.items() if n.lower() == lowered), None)
    if f is None or (visible_only and not f.visible):
        return None
    return f


def insert_records(
    store: Store, sobject: str, rows: Iterable[Record], *, stamp: datetime | None = None
) -> list[str]:
    """Insert records with Id, IsDeleted, audit stamps and owner filled where missing."""
    table = store.table(sobject)
    now = stamp or store.clock.now()
    prepared = [_with_system_fields(table, dict(row), now) for row in rows]
    if sobject == "Case":  # numbered in insertion order, after any existing cases
        start = len(table.records) + 1
        for n, row in enumerate(prepared, start):
            row.setdefault("CaseNumber", f"{n:08d}")
    return store.insert_many(sobject, prepared)


def _with_system_fields(table: ObjectTable, row: Record, now: datetime) -> Record:
    rid = row.get("_id") or row.get("Id") or table.new_id()
    row["_id"] = row["Id"] = rid
    row.setdefault("IsDeleted", False)
    row.setdefault("CreatedDate", now)
    row.setdefault("LastModifiedDate", row["CreatedDate"])
    row.setdefault("SystemModstamp", row["LastModifiedDate"])
    row.setdefault("CreatedById", USER_ID)
    row.setdefault("LastModifiedById", USER_ID)
    if "OwnerId" in table.fields:
        row.setdefault("OwnerId", USER_ID)
    if table.name == "Opportunity" and row.get("StageName") in OPPORTUNITY_STAGES:
        row["IsClosed"], row["IsWon"] = OPPORTUNITY_STAGES[row["StageName"]]
    if table.name == "Case":
        row.setdefault("IsClosed", row.get("Status") == "Closed")
        row.setdefault("IsEscalated", False)
    return row
