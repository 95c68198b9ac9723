"""How the sandbox stores canonical sample data on each side.

One table per side: canonical table and column -> Salesforce object and field, and
-> HubSpot object and property. The sample-data loader, both sides' schemas and the
shipped default mappings (`mappings/salesforce.yaml`, `mappings/hubspot.yaml`) agree
on these names. Values in `value_maps` translate canonical codes into the picklist /
enumeration values a standard org or portal uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SideMap:
    """Where one canonical table lives on one CRM side."""

    object: str
    columns: dict[str, str]
    """canonical column -> CRM field / property."""
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    """canonical column -> {canonical value: CRM value}."""


SALESFORCE: dict[str, SideMap] = {
    "accounts": SideMap(
        "Account",
        {
            "account_id": "Id",
            "name": "Name",
            "domain": "Website",
            "erp_id": "AccountNumber",
            "industry": "Industry",
            "employees": "NumberOfEmployees",
            "annual_revenue": "AnnualRevenue",
            "region": "BillingCountry",
            "owner_id": "OwnerId",
            "created_at": "CreatedDate",
            "modified_at": "SystemModstamp",
        },
    ),
    "opportunities": SideMap(
        "Opportunity",
        {
            "opportunity_id": "Id",
            "account_id": "AccountId",
            "name": "Name",
            "amount": "Amount",
            "stage": "StageName",
            "is_closed": "IsClosed",
            "is_won": "IsWon",
            "close_date": "CloseDate",
            "created_at": "CreatedDate",
            "type": "Type",
            "modified_at": "SystemModstamp",
        },
        {
            "type": {
                "new": "New Customer",
                "renewal": "Existing Customer - Renewal",
                "expansion": "Existing Customer - Upgrade",
            },
            "stage": {
                "prospecting": "Prospecting",
                "qualification": "Qualification",
                "proposal": "Proposal/Price Quote",
                "negotiation": "Negotiation/Review",
                "closed_won": "Closed Won",
                "closed_lost": "Closed Lost",
            },
        },
    ),
    "tickets": SideMap(
        "Case",
        {
            "ticket_id": "Id",
            "account_id": "AccountId",
            "created_at": "CreatedDate",
            "closed_at": "ClosedDate",
            "priority": "Priority",
            "is_escalation": "IsEscalated",
            "category": "Type",
            "effort_hours": "Effort_Hours__c",
            "modified_at": "SystemModstamp",
        },
        {
            "priority": {"low": "Low", "medium": "Medium", "high": "High", "urgent": "Urgent"},
            "category": {
                "problem": "Problem",
                "question": "Question",
                "feature_request": "Feature Request",
                "special_request": "Special Request",
            },
        },
    ),
    "invoices": SideMap(
        "blng__Invoice__c",
        {
            "invoice_id": "Id",
            "account_id": "blng__Account__c",
            "issue_date": "blng__InvoiceDate__c",
            "due_date": "blng__DueDate__c",
            "paid_date": "Paid_Date__c",
            "amount": "blng__TotalAmount__c",
            "currency": "CurrencyIsoCode",
            "status": "blng__InvoiceStatus__c",
        },
        {"status": {"open": "Posted", "paid": "Paid", "void": "Cancelled"}},
    ),
}

CANONICAL_STAGES = (
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)
"""Canonical opportunity stages (added for the sample-data loader; both sides map them)."""

HUBSPOT_INDUSTRIES: dict[str, str] = {
    "Machinery": "MACHINERY",
    "Manufacturing": "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "Electronics": "ELECTRICAL_ELECTRONIC_MANUFACTURING",
    "Retail": "RETAIL",
    "Shipping": "LOGISTICS_AND_SUPPLY_CHAIN",
    "Food & Beverage": "FOOD_BEVERAGES",
    "Construction": "CONSTRUCTION",
    "Consulting": "MANAGEMENT_CONSULTING",
    "Technology": "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "Chemicals": "CHEMICALS",
    "Healthcare": "HOSPITAL_HEALTH_CARE",
    "Transportation": "TRANSPORTATION_TRUCKING_RAILROAD",
    "Telecommunications": "TELECOMMUNICATIONS",
    "Energy": "OIL_ENERGY",
    "Apparel": "APPAREL_FASHION",
    "Banking": "BANKING",
    "Insurance": "INSURANCE",
    "Utilities": "UTILITIES",
}
"""Canonical industry (Salesforce's standard picklist labels) -> HubSpot `industry` option."""

HUBSPOT: dict[str, SideMap] = {
    "accounts": SideMap(
        "companies",
        {
            "account_id": "hs_object_id",
            "name": "name",
            "domain": "domain",
            "erp_id": "erp_customer_id",
            "industry": "industry",
            "employees": "numberofemployees",
            "annual_revenue": "annualrevenue",
            "region": "country",
            "owner_id": "hubspot_owner_id",
            "created_at": "createdate",
            "modified_at": "hs_lastmodifieddate",
        },
        {"industry": HUBSPOT_INDUSTRIES},
    ),
    "opportunities": SideMap(
        "deals",
        {
            "opportunity_id": "hs_object_id",
            "name": "dealname",
            "amount": "amount",
            "currency": "deal_currency_code",
            "stage": "dealstage",
            "is_closed": "hs_is_closed",
            "is_won": "hs_is_closed_won",
            "close_date": "closedate",
            "created_at": "createdate",
            "type": "dealtype",
            "modified_at": "hs_lastmodifieddate",
        },
        {
            "type": {"new": "newbusiness", "renewal": "renewal", "expansion": "existingbusiness"},
            "stage": {
                "prospecting": "appointmentscheduled",
                "qualification": "qualifiedtobuy",
                "proposal": "presentationscheduled",
                "negotiation": "contractsent",
                "closed_won": "closedwon",
                "closed_lost": "closedlost",
            },
        },
    ),
    "tickets": SideMap(
        "tickets",
        {
            "ticket_id": "hs_object_id",
            "created_at": "createdate",
            "closed_at": "closed_date",
            "priority": "hs_ticket_priority",
            "is_escalation": "escalated",
            "category": "hs_ticket_category",
            "effort_hours": "effort_hours",
            "modified_at": "hs_lastmodifieddate",
        },
        {
            "priority": {"low": "LOW", "medium": "MEDIUM", "high": "HIGH", "urgent": "URGENT"},
            "category": {
                "problem": "PRODUCT_ISSUE",
                "question": "GENERAL_INQUIRY",
                "feature_request": "FEATURE_REQUEST",
                "special_request": "SPECIAL_REQUEST",
            },
        },
    ),
    "invoices": SideMap(
        "invoices",
        {
            "invoice_id": "hs_object_id",
            "issue_date": "hs_invoice_date",
            "due_date": "hs_due_date",
            "paid_date": "paid_date",
            "amount": "hs_amount_billed",
            "currency": "hs_currency",
            "status": "hs_invoice_status",
        },
        {"status": {"open": "open", "paid": "paid", "void": "voided"}},
    ),
}
"""HubSpot links deals, tickets and invoices to companies through associations (v4),
not through a property; the loader creates deal->company, ticket->company and
invoice->company associations from the canonical account_id."""
