"""On PostgreSQL: the aggregate computed in the database feeds the same finance frame as
the invoice lines read one by one (and summed per customer and month by the loader).

Needs VALUESYNC_TEST_DATABASE_URL pointing at a server that answers; each test builds its
lines in a schema of its own (INSERT ... SELECT generate_series) and drops it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.finance.loader import load_finance
from mappings.finance import FinanceMapping, load_finance_mapping
from tests.integration.state.conftest import PG_BASE, PG_ENV

URL = PG_BASE
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        URL is None, reason=f"no PostgreSQL answers: set {PG_ENV} to a reachable server"
    ),
]
RATES = pd.DataFrame(  # corporate_per_unit: EUR per USD, one rate from 2025-07
    {"currency": ["USD", "USD"], "rate": [1 / 1.10, 1 / 1.05], "date": ["", "2025-07-01"]}
)
LINES = """
INSERT INTO {t} (line_no, customer_no, invoice_date, invoiced_at, net_amount, cost,
                 acquisition, currency, domain, customer_name)
SELECT g,
       'C' || lpad((g % 97)::text, 3, '0'),
       DATE '2024-01-01' + ((g * 7919) % 730)::int,
       TIMESTAMP '2024-01-01 00:00:00' + ((g * 7919) % 730) * INTERVAL '1 day'
           + (g % 86400) * INTERVAL '1 second',
       round((((g * 104729) % 100000) / 100.0 - 50)::numeric, 2),
       round((((g * 31337) % 40000) / 100.0)::numeric, 2),
       CASE WHEN g % 5 = 0 THEN round(((g % 900) / 10.0)::numeric, 2) END,
       CASE WHEN g % 97 < 20 THEN 'USD' ELSE 'EUR' END,
       'c' || (g % 97) || '.example.com',
       'Customer ' || (g % 97)
FROM generate_series(1::bigint, {n}) AS g
"""


@pytest.fixture
def lines() -> Iterator[str]:
    """A schema-qualified table of 30,000 invoice lines over 97 customers and 24 months."""
    assert URL is not None
    schema = f"vs_fin_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(URL)
    table = f"{schema}.invoice_lines"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {table} (line_no bigint, customer_no text, invoice_date date, "
                "invoiced_at timestamp, net_amount numeric(14, 2), cost numeric(14, 2), "
                "acquisition numeric(14, 2), currency text, domain text, customer_name text)"
            )
        )
        conn.execute(sa.text(LINES.format(t=table, n=30_000)))
    try:
        yield table
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def mapping(period: str, **source: object) -> FinanceMapping:
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["finance"] = {
        "source": {"kind": "sql", "url": URL, **source},
        "columns": {
            "erp_customer_id": "customer_no",
            "period": {"source": period, "format": "%Y-%m-%d"},
            "revenue": "net_amount",
            "cost_of_delivery": "cost",
            "acquisition_cost": "acquisition",
            "currency": "currency",
            "domain": "domain",
            "customer_name": "customer_name",
        },
        "allow_negative": ["revenue"],
    }
    raw["rates"] = {"kind": "crm"}
    raw["max_staleness_months"] = None
    return FinanceMapping.model_validate(raw)


@pytest.mark.parametrize("period", ["invoice_date", "invoiced_at"], ids=["date", "timestamp"])
def test_pushed_down_aggregate_gives_the_finance_frame_of_the_lines(lines: str, period: str):
    as_of = date(2026, 1, 15)
    by_line = load_finance(
        mapping(period, query=f"select * from {lines}"), rates=RATES, as_of=as_of
    )
    summed = load_finance(
        mapping(period, table=lines, aggregate={"chunk_rows": 500}), rates=RATES, as_of=as_of
    )
    months, usd = count(lines, period)
    assert by_line.stats["finance"].rows_read == 30_000 and by_line.quarantine.empty
    assert summed.quarantine.empty
    # one aggregate row per customer, month and currency: more than one chunk of 500
    assert summed.stats["finance"].rows_read == len(summed.frame) == months > 500
    pd.testing.assert_frame_equal(summed.frame, by_line.frame, check_exact=False, rtol=1e-9)
    assert summed.stats["finance"].converted == {"USD": usd}
    assert by_line.stats["finance"].converted["USD"] > usd


def count(table: str, period: str) -> tuple[int, int]:
    """(customer-months, customer-months in USD) of the lines, counted by the database."""
    assert URL is not None
    engine = sa.create_engine(URL)
    month = f"date_trunc('month', {period})"
    with engine.connect() as conn:
        months, usd = conn.execute(
            sa.text(
                f"SELECT count(DISTINCT (customer_no, {month})), count(DISTINCT (customer_no, "
                f"{month})) FILTER (WHERE currency = 'USD') FROM {table}"
            )
        ).one()
    engine.dispose()
    return int(months), int(usd)


def test_since_months_reads_only_the_last_months(lines: str):
    as_of = date(2026, 1, 15)
    by_line = load_finance(
        mapping("invoice_date", query=f"select * from {lines}"), rates=RATES, as_of=as_of
    )
    recent = load_finance(
        mapping("invoice_date", table=lines, aggregate={"months": 6}), rates=RATES, as_of=as_of
    )
    assert sorted(set(recent.frame["period"])) == [
        "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"
    ]  # fmt: skip
    expected = by_line.frame[by_line.frame["period"] >= "2025-07"].reset_index(drop=True)
    pd.testing.assert_frame_equal(recent.frame, expected, check_exact=False, rtol=1e-9)
