"""The canonical schema: the tables and columns every part of valuesync agrees on.

Connectors translate CRM records into these tables, the finance loader translates ERP
exports into them, the value engine reads only them, and `valuesync score DIR` reads
them from files named after the tables (`accounts.csv`, `finance.parquet`, ...).
More columns may appear (mapped ICP attributes, advocacy signals); the ones listed
here keep their names and meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "float", "int", "bool", "date", "datetime", "period"]


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, kind, and whether a row may leave it empty."""

    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A canonical table: its key column and its columns in order."""

    name: str
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


PRIORITIES = ("low", "medium", "high", "urgent")
OPPORTUNITY_TYPES = ("new", "renewal", "expansion")
INVOICE_STATUSES = ("open", "paid", "void")

ACCOUNTS = Table(
    "accounts",
    "account_id",
    (
        Column("account_id", "str", required=True),
        Column("name", "str", required=True),
        Column("domain", "str"),
        Column("erp_id", "str"),
        Column("industry", "str"),
        Column("employees", "int"),
        Column("annual_revenue", "float"),
        Column("region", "str"),
        Column("owner_id", "str"),
        Column("created_at", "datetime"),
        Column("modified_at", "datetime"),
    ),
)

OPPORTUNITIES = Table(
    "opportunities",
    "opportunity_id",
    (
        Column("opportunity_id", "str", required=True),
        Column("account_id", "str"),
        Column("name", "str"),
        Column("amount", "float"),
        Column("currency", "str"),
        Column("stage", "str"),
        Column("is_closed", "bool"),
        Column("is_won", "bool"),
        Column("close_date", "date"),
        Column("created_at", "datetime"),
        Column("type", "str", choices=OPPORTUNITY_TYPES),
        Column("modified_at", "datetime"),
    ),
)

TICKETS = Table(
    "tickets",
    "ticket_id",
    (
        Column("ticket_id", "str", required=True),
        Column("account_id", "str"),
        Column("created_at", "datetime", required=True),
        Column("closed_at", "datetime"),
        Column("priority", "str", choices=PRIORITIES),
        Column("is_escalation", "bool"),
        Column("category", "str"),
        Column("effort_hours", "float"),
        Column("modified_at", "datetime"),
    ),
)

INVOICES = Table(
    "invoices",
    "invoice_id",
    (
        Column("invoice_id", "str", required=True),
        Column("account_id", "str"),
        Column("erp_customer_id", "str"),
        Column("issue_date", "date", required=True),
        Column("due_date", "date"),
        Column("paid_date", "date"),
        Column("amount", "float", required=True),
        Column("currency", "str"),
        Column("status", "str", choices=INVOICE_STATUSES),
    ),
)

FINANCE = Table(
    "finance",
    "",
    (
        Column("account_id", "str"),
        Column("erp_customer_id", "str"),
        Column("period", "period", required=True),
        Column("revenue", "float", required=True),
        Column("cost_of_delivery", "float", required=True),
        Column("acquisition_cost", "float"),
        Column("currency", "str"),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (ACCOUNTS, OPPORTUNITIES, TICKETS, INVOICES, FINANCE)
}

SPECIAL_REQUEST = "special_request"
"""The ticket category that counts as a special request in the fit axis."""
