"""Benchmark: finance from 10M invoice lines in PostgreSQL, summed in the database.

Generates the lines IN the database (`INSERT ... SELECT generate_series`, no row passes
through Python) into the dedicated table `valuesync_bench_finance.invoice_lines` of the
database at VALUESYNC_TEST_DATABASE_URL (default: the loopback server's `test` database),
then runs the whole finance load end to end with `source.aggregate` (connectors/finance/
aggregate.py): the customer-month aggregate computed by PostgreSQL, fetched in chunks
through a server-side cursor, checked, converted (a fifth of the customers bill in USD)
and summed per month by the loader. A table left by an earlier `--keep` run with the same
row count and shape is reused (the output says which); the schema is dropped at the end
unless `--keep`.

Prints the figures and ends with one JSON line:
{"rows": ..., "customer_months": ..., "load_s": ..., "peak_rss_mb": ..., "rss_growth_mb": ...}
`peak_rss_mb` is the process's peak resident memory (getrusage, imports included);
`rss_growth_mb` what the load added to it. Targets: 10M rows <= 30 s end to end,
<= 500 MB client memory.

Usage: python bench/finance_sql.py [--rows N] [--customers N] [--months N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.finance.loader import load_finance  # noqa: E402
from mappings.finance import FinanceMapping, load_finance_mapping  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "valuesync_bench_finance"
TABLE = f"{SCHEMA}.invoice_lines"
AS_OF = date(2026, 12, 3)
RATES = pd.DataFrame({"currency": ["USD"], "rate": [0.92], "date": [""]})
CREATE = f"""
CREATE TABLE {TABLE} (
    line_no bigint NOT NULL,
    customer_no text NOT NULL,
    invoice_date date NOT NULL,
    net_amount numeric(14, 2) NOT NULL,
    cost numeric(14, 2) NOT NULL,
    currency text NOT NULL
)
"""
FILL = f"""
INSERT INTO {TABLE}
SELECT g,
       'C' || lpad((g % :customers)::text, 7, '0'),
       CAST(:last AS date) - ((g * 7919) % (:months * 30))::int,
       round(((g * 104729) % 500000) / 100.0, 2),
       round(((g * 31337) % 300000) / 100.0, 2),
       CASE WHEN g % :customers < :customers / 5 THEN 'USD' ELSE 'EUR' END
FROM generate_series(1::bigint, :rows) AS g
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(engine: sa.Engine, rows: int, customers: int, months: int) -> tuple[str, float]:
    """("reused" | "generated", seconds): the lines, generated in the database if needed."""
    shape = f"rows={rows} customers={customers} months={months}"
    with engine.begin() as conn:
        found = conn.execute(
            sa.text("SELECT obj_description(to_regclass(:t), 'pg_class')"), {"t": TABLE}
        ).scalar()
        if found == shape:
            return "reused", 0.0
        started = time.perf_counter()
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        conn.execute(sa.text(CREATE))
        conn.execute(
            sa.text(FILL),
            {"customers": customers, "months": months, "rows": rows, "last": AS_OF.isoformat()},
        )
        conn.execute(sa.text(f"COMMENT ON TABLE {TABLE} IS '{shape}'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {TABLE}"))
    return "generated", time.perf_counter() - started


def mapping(url: str, months: int) -> FinanceMapping:
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["finance"] = {
        "source": {
            "kind": "sql",
            "url": url,
            "table": TABLE,
            "aggregate": {"months": months, "chunk_rows": 20_000},
        },
        "columns": {
            "erp_customer_id": "customer_no",
            "period": "invoice_date",
            "revenue": "net_amount",
            "cost_of_delivery": "cost",
            "currency": "currency",
        },
    }
    raw["rates"] = {"kind": "crm"}
    return FinanceMapping.model_validate(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36, help="months the lines span")
    parser.add_argument("--keep", action="store_true", help="keep the table for the next run")
    args = parser.parse_args()
    url = os.environ.get("VALUESYNC_TEST_DATABASE_URL") or DEFAULT_URL
    engine = sa.create_engine(url)
    table, fill_s = prepare(engine, args.rows, args.customers, args.months)
    print(f"{TABLE}: {table} ({args.rows:,} lines{f', {fill_s:.1f} s' if fill_s else ''})")
    finance = mapping(url, args.months)
    before = rss_mb()
    started = time.perf_counter()
    loaded = load_finance(finance, as_of=AS_OF, rates=RATES)
    load_s = time.perf_counter() - started
    peak = rss_mb()
    stats = loaded.stats["finance"]
    print(f"aggregate rows read: {stats.rows_read:,}; customer-months: {len(loaded.frame):,}")
    print(f"end to end (query, fetch, checks, conversion, per-month sum): {load_s:.1f} s")
    print(f"client peak RSS: {peak:.0f} MB (the load added {peak - before:.0f} MB)")
    if not args.keep:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    print(f"table {'kept for the next run' if args.keep else 'dropped'}")
    engine.dispose()
    figures = {
        "rows": args.rows,
        "customers": args.customers,
        "aggregate_rows": stats.rows_read,
        "customer_months": len(loaded.frame),
        "table": table,
        "generate_s": round(fill_s, 1),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak),
        "rss_growth_mb": round(peak - before),
        "target_s": 30,
        "target_mb": 500,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
