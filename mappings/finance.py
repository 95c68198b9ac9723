"""The finance mapping (`mappings/finance.yaml`): where the ERP export lives and how to read it.

One source per canonical table (`finance`, optionally `invoices`): its kind (csv, parquet,
excel, sql), where it is (a path, or a SQLAlchemy URL plus a query or a table), and which
source column feeds each canonical column (with a date format where needed). A sql source
of the finance table may ask for `aggregate`: the database sums the mapped amounts per
customer and month and only that aggregate is read (`connectors/finance/aggregate.py`).
Plus the corporate currency, where exchange rates come from, and the quarantine threshold.

Secrets never sit in this file: a SQL source names environment variables (`url_env` for
the whole URL, or `password_env` for the password of `url`).
"""

from __future__ import annotations

import codecs
import os
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mappings.canonical import FINANCE, INVOICES
from mappings.errors import ConfigError, ConfigProblem
from mappings.yamlfile import load_model

SHIPPED = Path(__file__).parent / "finance.yaml"

MATCH_COLUMNS = ("domain", "customer_name")
"""Extra finance columns used only to match ERP customers to CRM accounts."""
FINANCE_EXTRA = (*MATCH_COLUMNS, "invoice_id")
"""Columns a finance source may map beyond the canonical ones (invoice_id: duplicate check)."""

ALLOWED_COLUMNS: dict[str, tuple[str, ...]] = {
    "finance": (*FINANCE.column_names, *FINANCE_EXTRA),
    "invoices": (*INVOICES.column_names, *MATCH_COLUMNS),
}
DEFAULT_NEGATIVE: dict[str, tuple[str, ...]] = {"finance": ("revenue",), "invoices": ("amount",)}
"""Columns where a negative value is normal (credit notes) unless the mapping says otherwise."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnSpec(_Strict):
    """One source column feeding a canonical column."""

    source: str
    format: str | None = None
    """strptime format for dates and periods, e.g. "%Y-%m" or "%d.%m.%Y"."""
    optional: bool = False
    """The source may lack this column (it is then empty); otherwise a missing column stops."""


TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]*(\.[A-Za-z_][A-Za-z0-9_$-]*){0,2}")
"""`table`, `schema.table` or (BigQuery) `project.dataset.table`; quoted by SQLAlchemy."""
SUMMED = ("revenue", "cost_of_delivery", "acquisition_cost")
"""The finance columns an aggregating source sums per customer and month."""


class AggregateSpec(_Strict):
    """sql, finance table: let the database sum the amounts per customer and month.

    The mapped `period` column is a date (or timestamp) cut to its month in the database;
    revenue, cost_of_delivery and acquisition_cost are summed; every other mapped column
    (the customer keys, currency, domain, customer_name) is grouped on. `aggregate: true`
    is this with the defaults.
    """

    since: date | None = None
    """Read only rows dated on or after this day (`WHERE <period column> >= since`)."""
    months: int | None = Field(default=None, ge=1)
    """Read only the last N months: from the first day of the month N months before the
    run's month (36 with a run in 2026-12 reads from 2023-12-01)."""
    chunk_rows: int = Field(default=10_000, ge=100)
    """Aggregate rows fetched per round trip (a server-side cursor): client memory stays
    bounded by the aggregate, never by the lines."""

    @model_validator(mode="after")
    def _one_start(self) -> AggregateSpec:
        if self.since is not None and self.months is not None:
            raise ValueError("aggregate takes since (a date) or months (a count), not both")
        return self


class SourceSpec(_Strict):
    """Where one table comes from."""

    kind: Literal["csv", "parquet", "excel", "sql"]
    path: str | None = None
    """csv / parquet / excel: relative to the directory the loader is given."""
    sheet: str | int | None = None
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    url: str | None = None
    """sql: a SQLAlchemy URL without a password (`postgresql+psycopg://etl@db/erp`)."""
    url_env: str | None = None
    """sql: the name of an environment variable holding the whole URL."""
    password_env: str | None = None
    """sql: the name of an environment variable holding the password for `url`."""
    query: str | None = None
    table: str | None = None
    """sql: a table (`schema.table`) read instead of a query."""
    aggregate: AggregateSpec | None = None
    """sql, finance table: sum per customer and month in the database (AggregateSpec)."""

    @field_validator("aggregate", mode="before")
    @classmethod
    def _aggregate_flag(cls, value: object) -> object:
        """`aggregate: true` is the block with its defaults; `false` is none."""
        if value is True:
            return {}
        return None if value is False else value

    @model_validator(mode="after")
    def _where(self) -> SourceSpec:
        if self.kind == "sql":
            if self.path is not None:
                raise ValueError("a sql source takes url (or url_env) and query, not path")
            if (self.url is None) == (self.url_env is None):
                raise ValueError("a sql source needs exactly one of url or url_env")
            if not self.query and not self.table:
                raise ValueError("a sql source needs a query (or a table)")
            if self.query and self.table:
                raise ValueError("a sql source takes a query or a table, not both")
            if self.table is not None and not TABLE_NAME.fullmatch(self.table):
                raise ValueError(
                    f"table '{self.table}' is not a table name; write table, schema.table or "
                    "project.dataset.table (for anything else write a query)"
                )
            if self.url is not None:
                try:
                    parsed = make_url(self.url)
                except ArgumentError:
                    raise ValueError(
                        "url is not a SQLAlchemy URL (dialect+driver://user@host/db)"
                    ) from None
                if parsed.password is not None:
                    raise ValueError(
                        "url must not contain a password: remove it and name an environment "
                        "variable in password_env instead"
                    )
        else:
            if not self.path:
                raise ValueError(f"a {self.kind} source needs a path")
            keys = ("url", "url_env", "password_env", "query", "table", "aggregate")
            extra = [k for k in keys if getattr(self, k)]
            if extra:
                raise ValueError(
                    f"{', '.join(extra)} only {'applies' if len(extra) == 1 else 'apply'} to "
                    f"kind: sql; remove {'it' if len(extra) == 1 else 'them'} from this "
                    f"{self.kind} source"
                )
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character, e.g. ',' or ';'")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(
                f"encoding '{self.encoding}' is not a known text encoding; use one such as "
                "utf-8, cp1252 or latin-1"
            ) from None
        return self

    def resolved_url(self) -> URL:
        """The SQL URL with the password from the environment; ConfigError names a missing var."""
        if self.url_env is not None:
            raw = os.environ.get(self.url_env)
            if not raw:
                raise ConfigError(
                    f"environment variable {self.url_env} (finance source url_env) is not set; "
                    "export it with the SQLAlchemy URL of the ERP database"
                )
            return make_url(raw)
        url = make_url(self.url or "")
        if self.password_env is not None:
            password = os.environ.get(self.password_env)
            if password is None:
                raise ConfigError(
                    f"environment variable {self.password_env} (finance source password_env) "
                    "is not set; export it with the database password"
                )
            url = url.set(password=password)
        return url

    def describe(self) -> str:
        """Where the data comes from, for messages (never with a password)."""
        if self.kind != "sql":
            return str(self.path)
        what = f"sql table {self.table}" if self.table else "sql query"
        if self.url_env is not None:
            return f"{what} on ${self.url_env}"
        return f"{what} on {make_url(self.url or '').render_as_string(hide_password=True)}"


class TableSource(_Strict):
    """One canonical table read from a source: where, and column by column."""

    source: SourceSpec
    columns: dict[str, ColumnSpec | str]
    """canonical column -> source column name, or {source, format, optional}."""
    allow_negative: tuple[str, ...] | None = None
    """Columns where negative values are accepted; default: revenue (finance), amount (invoices)."""

    def column(self, name: str) -> ColumnSpec | None:
        spec = self.columns.get(name)
        return ColumnSpec(source=spec) if isinstance(spec, str) else spec


RATE_COLUMN = "corporate_per_unit"
"""The one rate convention of valuesync, named where rates are written: units of the
corporate (model) currency per one unit of the other currency, so corporate = amount * rate
(USD,0.92 with EUR as corporate currency). The value model's `rates:` use it too."""

DIRECTION_MOVED = (
    "rates.direction is no longer read: valuesync has one rate convention, named by the "
    "rates file's column corporate_per_unit (units of the corporate currency per one unit of "
    "the currency, e.g. USD,0.92 for EUR). Remove 'direction'; if it said "
    "currency_per_corporate (1 EUR = 1.09 USD, Salesforce's ConversionRate), write 1/rate "
    "into the rates file"
)


class RatesSpec(_Strict):
    """Where exchange rates come from."""

    kind: Literal["file", "crm", "none"] = "none"
    """file: a CSV `currency,corporate_per_unit[,date]`; crm: the caller passes the CRM's
    rates (converted to corporate_per_unit); none: one currency only (any other currency is
    quarantined)."""
    path: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_direction(cls, data: object) -> object:
        if isinstance(data, dict) and "direction" in data:
            raise ValueError(DIRECTION_MOVED)
        return data

    @model_validator(mode="after")
    def _path(self) -> RatesSpec:
        if self.kind == "file" and not self.path:
            raise ValueError("rates of kind file need a path (a CSV currency,rate[,date])")
        if self.kind != "file" and self.path:
            raise ValueError("path only applies to rates of kind file")
        return self


class QuarantineSpec(_Strict):
    """How many bad rows a run tolerates."""

    max_share: float = Field(default=0.01, ge=0.0, le=1.0)
    """The run goes on only when quarantined rows / rows read is under this share."""
    duplicates: Literal["quarantine", "error"] = "quarantine"
    """A row identical in every column to an earlier one (an export appended twice):
    quarantine sets the copy aside (the run exits 1 and lists it); error stops the run."""
    max_amount: float = Field(default=1e12, gt=0)
    """An amount beyond plus or minus this is quarantined as absurd (1e308 is a typo, and
    sums of it overflow); non-finite values (nan, inf) always are."""


TableName = Literal["finance", "invoices"]


class FinanceMapping(_Strict):
    """A whole finance mapping file."""

    corporate_currency: str = "EUR"
    max_staleness_months: int | None = Field(default=2, ge=0)
    """The latest finance period may be at most this many months before the run's month;
    an older export stops the run (scored on old data it would write wrong values).
    Raise it, or set null, to score an old export on purpose."""
    tables: dict[TableName, TableSource]
    rates: RatesSpec = RatesSpec()
    quarantine: QuarantineSpec = QuarantineSpec()

    @field_validator("corporate_currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise ValueError("corporate_currency must be an ISO 4217 code such as EUR or USD")
        return value

    @field_validator("tables")
    @classmethod
    def _columns(cls, tables: dict[str, TableSource]) -> dict[str, TableSource]:
        if "finance" not in tables:
            raise ValueError("tables.finance must be defined: it is the monthly finance export")
        problems: list[str] = []
        for name, table in tables.items():
            allowed = ALLOWED_COLUMNS[name]
            unknown = sorted(set(table.columns) - set(allowed))
            if unknown:
                problems.append(
                    f"{name}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
                )
            canonical = FINANCE if name == "finance" else INVOICES
            missing = [
                c.name for c in canonical.columns if c.required and c.name not in table.columns
            ]
            if missing:
                problems.append(f"{name}: required column(s) {', '.join(missing)} must be mapped")
            keys = {"account_id", "erp_customer_id"} & set(table.columns)
            if not keys:
                problems.append(f"{name}: map account_id or erp_customer_id (the customer key)")
            bad_neg = sorted(set(table.allow_negative or ()) - set(allowed))
            if bad_neg:
                problems.append(f"{name}: allow_negative names unknown column(s) {bad_neg}")
            if table.source.aggregate is not None:
                problems += _aggregate_problems(name, table)
        if problems:
            raise ValueError("; ".join(problems))
        return tables

    def negatives_allowed(self, table: TableName) -> tuple[str, ...]:
        allowed = self.tables[table].allow_negative
        return DEFAULT_NEGATIVE[table] if allowed is None else allowed


def _aggregate_problems(name: str, table: TableSource) -> list[str]:
    """What a table with `source.aggregate` must not map: the source sums lines per month."""
    if name != "finance":
        return [
            f"{name}: source.aggregate only applies to the finance table; invoices are read "
            "one by one (payment quality needs each invoice), so remove aggregate here"
        ]
    out = []
    if "invoice_id" in table.columns:
        out.append(
            "finance: invoice_id cannot be mapped with source.aggregate (lines are summed per "
            "customer and month, so no line id is left to check); remove it from columns"
        )
    roles: dict[str, set[str]] = {}
    for column in table.columns:
        spec = table.column(column)
        if spec is not None:
            role = "summed" if column in SUMMED else "month" if column == "period" else "grouped"
            roles.setdefault(spec.source, set()).add(role)
    mixed = sorted(source for source, r in roles.items() if len(r) > 1)
    if mixed:
        out.append(
            f"finance: with source.aggregate a source column is summed (revenue, costs), cut "
            f"to its month (period) or grouped on (the rest), not two of these; "
            f"{', '.join(mixed)} is mapped to more than one; map each to one column"
        )
    return out


def load_finance_mapping(path: Path | str = SHIPPED) -> FinanceMapping:
    """Load and validate a finance mapping; every problem at once in one ConfigError."""
    return load_model(Path(path), FinanceMapping)


def config_problem(path: Path | str, message: str) -> ConfigError:
    """A ConfigError about a finance source that is not about one YAML key."""
    return ConfigError([ConfigProblem(str(path), "", message)])
