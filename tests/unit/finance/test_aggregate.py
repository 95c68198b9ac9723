"""The customer-month aggregate: its SQL per dialect, and the same finance frame on SQLite.

PostgreSQL and SQL Server compile with SQLAlchemy's own dialect classes. Snowflake and
BigQuery drivers are not dependencies: their statements compile with SQLAlchemy's generic
dialect under their names (how `@compiles` dispatches), the expected SQL written out here.
The same comparison on PostgreSQL: tests/integration/finance/test_finance_aggregate.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql, sqlite
from sqlalchemy.engine.default import DefaultDialect

from connectors.finance.aggregate import aggregate_query, start_date
from connectors.finance.loader import load_finance
from mappings.finance import FinanceMapping, TableSource, load_finance_mapping

COLUMNS = {
    "erp_customer_id": "customer_no",
    "period": {"source": "invoice_date", "format": "%Y-%m-%d"},
    "revenue": "net_amount",
    "cost_of_delivery": "cost",
    "currency": {"source": "currency", "optional": True},
}


def table_source(**source: object) -> TableSource:
    spec = {"kind": "sql", "url": "postgresql+psycopg://etl@erp/erp", **source}
    return TableSource.model_validate({"source": spec, "columns": COLUMNS})


def named(name: str) -> DefaultDialect:
    """SQLAlchemy's generic dialect under a vendor's name (no driver package needed)."""
    return type(f"{name}_dialect", (DefaultDialect,), {"name": name})()


T = 'erp."Invoice_Lines"'
MONTH = {
    "postgresql": f"CAST(DATE_TRUNC('month', CAST({T}.invoice_date AS TIMESTAMP)) AS DATE)",
    "snowflake": f"CAST(DATE_TRUNC('MONTH', {T}.invoice_date) AS DATE)",
    "bigquery": f"DATE_TRUNC(CAST({T}.invoice_date AS DATE), MONTH)",
    "mssql": "DATEFROMPARTS(YEAR(erp.[Invoice_Lines].invoice_date), "
    "MONTH(erp.[Invoice_Lines].invoice_date), 1)",
    "sqlite": f"DATE({T}.invoice_date, 'start of month')",
}
DIALECTS = {
    "postgresql": postgresql.dialect(),
    "mssql": mssql.dialect(),
    "sqlite": sqlite.dialect(),
    "snowflake": named("snowflake"),
    "bigquery": named("bigquery"),
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_the_aggregate_compiles_for_each_dialect(dialect: str):
    stmt = aggregate_query(table_source(table="erp.Invoice_Lines"), date(2024, 1, 1))
    sql = " ".join(str(stmt.compile(dialect=DIALECTS[dialect])).split())
    t = "erp.[Invoice_Lines]" if dialect == "mssql" else T
    month = MONTH[dialect]
    double = "FLOAT64" if dialect == "bigquery" else "FLOAT"
    expected = (
        f"SELECT {t}.customer_no, {t}.currency, {month} AS invoice_date, "
        f"CAST(sum({t}.net_amount) AS {double}) AS net_amount, "
        f"CAST(sum({t}.cost) AS {double}) AS cost, "
        f"count(*) AS valuesync_source_rows FROM {t} WHERE {t}.invoice_date >= "
    )
    assert sql.startswith(expected), sql
    # the start date is a bound parameter, never pasted into the text
    assert "2024" not in sql
    assert sql.endswith(
        f"GROUP BY {t}.customer_no, {t}.currency, {month} "
        f"ORDER BY {t}.customer_no, {t}.currency, {month}"
    ), sql


def test_a_query_source_becomes_a_subquery_and_names_are_quoted():
    source = TableSource.model_validate(
        {
            "source": {"kind": "sql", "url": "sqlite://", "query": "select * from x"},
            "columns": {
                "erp_customer_id": 'Kunde "Nr"',
                "period": "Datum",
                "revenue": "net",
                "cost_of_delivery": "cost",
            },
        }
    )
    sql = str(aggregate_query(source, None).compile(dialect=postgresql.dialect()))
    quoted = 'finance_source."Kunde ""Nr"""'
    assert f"FROM (select * from x) AS finance_source GROUP BY {quoted}, " in sql
    assert "WHERE" not in sql and 'finance_source."Datum"' in sql


@pytest.mark.parametrize(
    ("aggregate", "as_of", "expected"),
    [
        ({"months": 36}, date(2026, 12, 3), date(2023, 12, 1)),
        ({"months": 1}, date(2026, 1, 31), date(2025, 12, 1)),
        ({"since": "2024-02-15"}, date(2026, 12, 3), date(2024, 2, 15)),
        (True, date(2026, 12, 3), None),
    ],
    ids=["36-months", "across-a-year", "since", "everything"],
)
def test_start_date(aggregate: object, as_of: date, expected: date | None):
    assert start_date(table_source(table="lines", aggregate=aggregate), as_of) == expected


LINES = pd.DataFrame(
    {
        "line_no": range(1, 9),
        "customer_no": ["C1", "C1", "C1", "C2", "C2", "C2", "C1", "C3"],
        "invoice_date": [
            "2026-01-03",
            "2026-01-28",
            "2026-02-01",
            "2026-01-15",
            "2026-01-15",
            "2026-03-31",
            "2025-11-30",
            "2026-02-10",
        ],  # fmt: skip
        "net_amount": [100.25, 50.5, 10.0, 220.0, -20.0, 108.0, 999.0, 5.0],
        "cost": [40.0, 10.0, 1.0, 110.0, 0.0, 54.0, 1.0, 2.0],
        "currency": ["EUR", "EUR", "EUR", "USD", "USD", "USD", "EUR", "EUR"],
    }
)
RATES = pd.DataFrame({"currency": ["USD"], "rate": [1 / 1.10], "date": [""]})


def mapping(url: str, **source: object) -> FinanceMapping:
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["finance"] = {"source": {"kind": "sql", "url": url, **source}, "columns": COLUMNS}
    raw["rates"] = {"kind": "crm"}
    return FinanceMapping.model_validate(raw)


def test_sqlite_aggregate_feeds_the_same_finance_frame_as_the_lines(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/erp.db"
    engine = sa.create_engine(url)
    LINES.to_sql("lines", engine, index=False)
    engine.dispose()
    as_of = date(2026, 4, 2)
    rows = load_finance(mapping(url, query="select * from lines"), rates=RATES, as_of=as_of)
    summed = load_finance(
        mapping(url, table="lines", aggregate={"chunk_rows": 100}), rates=RATES, as_of=as_of
    )
    pd.testing.assert_frame_equal(summed.frame, rows.frame, check_exact=False, rtol=1e-12)
    assert summed.frame["period"].tolist() == ["2025-11", "2026-01", "2026-02", "2026-01",
                                               "2026-03", "2026-02"]  # fmt: skip
    assert summed.stats["finance"].rows_read == 6 and rows.stats["finance"].rows_read == 8
    recent = load_finance(
        mapping(url, table="lines", aggregate={"since": "2026-01-01"}), rates=RATES, as_of=as_of
    )
    assert "2025-11" not in set(recent.frame["period"])
    pd.testing.assert_frame_equal(
        recent.frame, rows.frame[rows.frame["period"] != "2025-11"].reset_index(drop=True)
    )
