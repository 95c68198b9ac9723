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

import numpy as np
import pandas as pd

from mappings.errors import DataError

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


ADVOCACY_SIGNALS = ("reference_customer", "referrals", "case_study", "product_feedback")
"""Optional account columns the value engine reads as yes/no or a count, when mapped."""
TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "1", "1.0", "x"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "0", "0.0", ""})
"""Texts of a yes/no value, compared stripped and in lower case."""

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

# --- Checking frames read from files --------------------------------------------------

ACCOUNT_LINK = ("account_id", "erp_customer_id")
"""Child tables name their account by account_id or (invoices, finance) erp_customer_id."""
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunities": ("amount",),
    "invoices": ("amount",),
    "finance": ("revenue", "cost_of_delivery", "acquisition_cost"),
}
"""Amount columns per table, in the row's `currency`."""
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_SHOWN_ROWS = 5


def coerce_table(name: str, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a canonical table read from `source` and convert its columns to their kinds.

    Returns a new DataFrame: numbers as float, booleans as bool (empty -> False), dates and
    datetimes as naive UTC datetime64, periods ('YYYY-MM') as the first day of the month.
    Raises DataError naming the file, each bad column and its first bad rows (counted from
    1 after the header); column values are never echoed.
    """
    table = TABLES[name]
    out = frame.copy()
    problems = _missing_columns(table, out)
    for column in table.columns:
        if column.name in out.columns:
            converted, bad = _convert(out[column.name], column)
            out[column.name] = converted
            problems += _row_problems(column, converted, bad)
    if problems:
        raise DataError(f"{source}: " + "; ".join(problems))
    return out


def _missing_columns(table: Table, frame: pd.DataFrame) -> list[str]:
    missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
    if table.key and table.key not in frame.columns and table.key not in missing:
        missing.append(table.key)
    problems = [f"column {m} is missing; add it" for m in missing]
    if table.name != "accounts" and not any(c in frame.columns for c in ACCOUNT_LINK):
        problems.append("column account_id is missing (or erp_customer_id); add it")
    return problems


def _row_problems(column: Column, values: pd.Series, bad: pd.Series) -> list[str]:
    out = []
    rows = np.flatnonzero(np.asarray(bad))
    if len(rows):
        what = f"expected {_KIND_TEXT[column.kind]}"
        if column.choices:
            what = f"expected one of {', '.join(column.choices)}"
        out.append(f"column {column.name}: {what} in {_rows(rows)}")
    if column.required:
        empty = np.flatnonzero(values.isna().to_numpy() & ~np.asarray(bad))
        if len(empty):
            out.append(f"column {column.name}: a value is required, empty in {_rows(empty)}")
    return out


def _rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:_SHOWN_ROWS])
    more = f" and {len(rows) - _SHOWN_ROWS} more" if len(rows) > _SHOWN_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


_KIND_TEXT = {
    "str": "text",
    "float": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601)",
    "period": "a month (YYYY-MM)",
}


def _convert(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series]:
    """(converted values, rows that could not be converted)."""
    given = _given(values)
    if column.kind in ("float", "int"):
        converted = pd.to_numeric(values, errors="coerce").astype("float64")
        bad = given & converted.isna()
        if column.kind == "int":
            bad |= converted.notna() & (converted % 1 != 0)
        return converted, bad
    if column.kind == "bool":
        return _booleans(values, given)
    if column.kind in ("date", "datetime", "period"):
        return _dates(values, column.kind, given)
    converted = values.where(given, None)
    bad = given & ~converted.isin(column.choices) if column.choices else given & False
    return converted, bad


def _given(values: pd.Series) -> pd.Series:
    """Rows holding a value: not missing and, for text, not blank. Numbers, booleans and
    datetimes cannot be blank, so they are not turned into text to find out (1.5M rows)."""
    dtype = values.dtype
    if (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        return values.notna()
    return values.notna() & (values.astype("string").str.strip() != "")


def _booleans(values: pd.Series, given: pd.Series) -> tuple[pd.Series, pd.Series]:
    if values.dtype == bool:
        return values, given & False
    text = values.astype("string").str.strip().str.lower()
    true, false = text.isin(_TRUE), text.isin(_FALSE)
    return (true & given).astype(bool), given & ~(true | false)


def _dates(values: pd.Series, kind: str, given: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(values):
        converted = values
    else:  # parse each distinct text once: files repeat dates a lot
        codes, uniques = pd.factorize(values.astype("string").str.strip())
        if kind == "period":
            parsed = pd.to_datetime(pd.Series(uniques), format="%Y-%m", errors="coerce")
        else:
            parsed = pd.to_datetime(pd.Series(uniques), format="ISO8601", errors="coerce", utc=True)
        taken = parsed.take(codes.clip(0)).reset_index(drop=True).where(codes >= 0)
        converted = pd.Series(taken.to_numpy(), index=values.index)
    if getattr(converted.dt, "tz", None) is not None:
        converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
    if kind in ("date", "period"):
        converted = converted.dt.normalize()
    return converted, given & converted.isna()


def convert_currency(
    name: str, frame: pd.DataFrame, currency: str, rates: dict[str, float], source: str
) -> pd.DataFrame:
    """Amounts of `name` in `currency`: rows in another currency are multiplied by its rate.

    `rates` gives units of `currency` per unit of each other currency. An empty currency
    means `currency`. A currency with no rate is a DataError naming it and the first rows.
    """
    columns = [c for c in MONEY_COLUMNS.get(name, ()) if c in frame.columns]
    if "currency" not in frame.columns or not columns:
        return frame
    codes = frame["currency"].astype("string").str.strip().str.upper().fillna(currency)
    known = {currency: 1.0, **{k.upper(): float(v) for k, v in rates.items()}}
    unknown = ~codes.isin(list(known))
    if unknown.any():
        listed = ", ".join(sorted(set(codes[unknown].astype(str)))[:10])
        rows = np.flatnonzero(unknown.to_numpy())
        raise DataError(
            f"{source}: column currency: no rate for {listed} in {_rows(rows)}; "
            f"add it under rates: in the value model or in rates.csv (currency, rate)"
        )
    factor = codes.map(known).astype("float64")
    out = frame.copy()
    for column in columns:
        out[column] = out[column] * factor
    out["currency"] = currency
    return out
