"""Finance from a warehouse: the customer-month aggregate computed in the database.

A finance table whose sql source sets `aggregate` (mappings/finance.py, AggregateSpec) is
not read line by line. One statement, built with SQLAlchemy Core (names quoted by the
dialect, the start date a bound parameter, never text pasted together), asks for

    SELECT <grouped columns>, <month of the period column>,
           CAST(SUM(<amount>) AS FLOAT)..., COUNT(*)
    FROM <table, or (query) AS finance_source>
    [WHERE <period column> >= :since]
    GROUP BY <grouped columns>, <month of the period column>
    ORDER BY <grouped columns>, <month>

and the answer is fetched through a server-side cursor, `chunk_rows` rows per round trip.
Its columns carry the source names the mapping uses, the month as a date, so the rows go
through the same checks, currency conversion and per-month sum (`loader._per_month`) as
rows read one by one: on clean data the finance frame is the same (tests/integration/
finance/test_finance_aggregate.py shows it on PostgreSQL).

The month differs per dialect (`month_start`): PostgreSQL
`CAST(DATE_TRUNC('month', CAST(d AS TIMESTAMP)) AS DATE)`, Snowflake
`CAST(DATE_TRUNC('MONTH', d) AS DATE)`, SQL Server `DATEFROMPARTS(YEAR(d), MONTH(d), 1)`,
BigQuery `DATE_TRUNC(CAST(d AS DATE), MONTH)`, SQLite `DATE(d, 'start of month')`; any
other dialect gets the DATE_TRUNC form. The sums are cast to a double (`FLOAT`; BigQuery
`FLOAT64`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import expression
from sqlalchemy.sql.compiler import SQLCompiler

from connectors.finance.read import RawTable, database_error, empty_quarantine, engine_for
from mappings.finance import SUMMED, TableSource

log = logging.getLogger(__name__)

ROWS = "valuesync_source_rows"
"""The COUNT(*) column: how many source lines each aggregate row sums (for the log)."""


class month_start(expression.FunctionElement[date]):  # noqa: N801 (a SQL function)
    """The first day of the month of a date or timestamp, as a DATE, in every dialect."""

    type = sa.Date()
    name = "month_start"
    inherit_cache = True


def _arg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (arg,) = element.clauses
    return str(compiler.process(arg, **kw))


@compiles(month_start)
def _date_trunc(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(DATE_TRUNC('month', {_arg(element, compiler, **kw)}) AS DATE)"


@compiles(month_start, "postgresql")
def _postgresql(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    # date_trunc takes a date as a timestamptz (a time-zone conversion per row): cast it to
    # a timestamp first, which a timestamp already is and a timestamptz becomes in the
    # session's time zone, the zone date_trunc would cut it in anyway.
    arg = _arg(element, compiler, **kw)
    return f"CAST(DATE_TRUNC('month', CAST({arg} AS TIMESTAMP)) AS DATE)"


@compiles(month_start, "snowflake")
def _snowflake(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(DATE_TRUNC('MONTH', {_arg(element, compiler, **kw)}) AS DATE)"


@compiles(month_start, "mssql")
def _mssql(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    # DATEFROMPARTS: SQL Server 2012 and later (DATETRUNC only from 2022).
    arg = _arg(element, compiler, **kw)
    return f"DATEFROMPARTS(YEAR({arg}), MONTH({arg}), 1)"


@compiles(month_start, "bigquery")
def _bigquery(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE_TRUNC(CAST({_arg(element, compiler, **kw)} AS DATE), MONTH)"


@compiles(month_start, "sqlite")
def _sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE({_arg(element, compiler, **kw)}, 'start of month')"


class Amount(sa.Float[float]):
    """The sums' type on the wire: a double, `FLOAT` except in BigQuery (`FLOAT64`)."""


@compiles(Amount)
def _float(type_: Amount, compiler: Any, **kw: Any) -> str:
    return "FLOAT"


@compiles(Amount, "bigquery")
def _float64(type_: Amount, compiler: Any, **kw: Any) -> str:
    return "FLOAT64"


def _roles(table: TableSource) -> tuple[list[str], str, list[str]]:
    """(source columns grouped on, the period's source column, source columns summed)."""
    grouped: list[str] = []
    summed: list[str] = []
    period = ""
    for name in table.columns:
        spec = table.column(name)
        if spec is None:
            continue
        if name == "period":
            period = spec.source
        elif name in SUMMED:
            summed.append(spec.source)
        else:
            grouped.append(spec.source)
    return list(dict.fromkeys(grouped)), period, list(dict.fromkeys(summed))


def _from(table: TableSource, names: list[str]) -> sa.FromClause:
    """The table, or the query as a subquery, with the mapped source columns."""
    columns: list[sa.ColumnClause[Any]] = [sa.column(n) for n in names]
    source = table.source
    if source.table is not None:
        schema, _, name = source.table.rpartition(".")
        return sa.table(name, *columns, schema=schema or None)
    return sa.text(source.query or "").columns(*columns).subquery("finance_source")


def aggregate_query(table: TableSource, since: date | None) -> sa.Select[Any]:
    """The customer-month aggregate of `table`'s sql source, as a SQLAlchemy Core statement."""
    grouped, period, summed = _roles(table)
    src = _from(table, [*grouped, period, *summed])
    keys = [src.c[n] for n in grouped]
    month = month_start(src.c[period])
    stmt = sa.select(
        *keys,
        month.label(period),
        # the exact sum (NUMERIC stays NUMERIC in the database), handed over as a double:
        # a driver's Decimal costs a microsecond per value to turn into a float here
        *(sa.cast(sa.func.sum(src.c[n]), Amount()).label(n) for n in summed),
        sa.func.count().label(ROWS),
    )
    if since is not None:
        stmt = stmt.where(src.c[period] >= sa.bindparam("since", since, type_=sa.Date()))
    return stmt.group_by(*keys, month).order_by(*keys, month_start(src.c[period]))


def start_date(table: TableSource, as_of: date | None) -> date | None:
    """The first day read: `aggregate.since`, or the month `aggregate.months` before as_of."""
    spec = table.source.aggregate
    if spec is None or spec.since is not None:
        return None if spec is None else spec.since
    if spec.months is None:
        return None
    today = as_of or date.today()
    index = today.year * 12 + today.month - 1 - spec.months
    return date(index // 12, index % 12 + 1, 1)


PG_WORK_MEM_MB = 256
"""Work memory asked of PostgreSQL for the aggregate's own transaction."""


def read_aggregate(table: TableSource, as_of: date | None = None) -> RawTable:
    """Run the aggregate and read it in chunks: the raw table the finance checks take."""
    source = table.source
    assert source.aggregate is not None
    started = time.monotonic()
    label = f"{source.describe()} (summed per customer and month)"
    stmt = aggregate_query(table, start_date(table, as_of))
    grouped, period, summed = _roles(table)
    engine = engine_for(source)
    parts: list[pd.DataFrame] = []
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # The GROUP BY of a large table sorts or hashes in memory instead of spilling
                # to disk at PostgreSQL's 4 MB default; SET LOCAL lasts this transaction only.
                conn.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM_MB}MB'")
            options = {"stream_results": True, "yield_per": source.aggregate.chunk_rows}
            result = conn.execution_options(**options).execute(stmt)
            names = list(result.keys())
            for rows in result.partitions():
                # column by column: DataFrame.from_records probes every Row's attributes
                parts.append(_chunk(names, rows, period, summed))
    except SQLAlchemyError as exc:
        raise database_error(label, exc) from None
    finally:
        engine.dispose()
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({n: pd.Series(dtype=object) for n in [*grouped, period, *summed, ROWS]})
    )
    lines = int(frame.pop(ROWS).sum()) if len(frame) else 0
    log.info(
        "finance source %s: %d source rows summed into %d customer-months, %.2fs",
        label, lines, len(frame), time.monotonic() - started,
    )  # fmt: skip
    return RawTable(frame, np.arange(1, len(frame) + 1), label, "row", empty_quarantine())


def _chunk(names: list[str], rows: Sequence[Any], period: str, summed: list[str]) -> pd.DataFrame:
    """One fetched chunk, column by column (DataFrame.from_records probes every row's
    attributes): the month as datetime64 (so no date format applies), the sums as float64
    (as a row read one by one is parsed), the rest as objects, one per distinct value."""
    out: dict[str, pd.Series] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        if name == period:
            out[name] = pd.to_datetime(pd.Series(values, dtype=object))
        elif name in summed or name == ROWS:
            out[name] = pd.Series(np.array(values, dtype="float64"))  # None -> NaN
        else:
            out[name] = _shared(values)
    return pd.DataFrame(out)


def _shared(values: Sequence[Any]) -> pd.Series:
    """Values with one Python object per distinct value: a driver makes a new string for
    every row, and each customer's id comes once per month and currency."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    out = np.full(len(codes), None, dtype=object)
    present = codes >= 0
    out[present] = np.asarray(uniques, dtype=object)[codes[present]]
    return pd.Series(out, dtype=object)
