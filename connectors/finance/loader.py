"""Finance sources: read the ERP export, check every row, convert into the corporate currency.

`load_finance(mapping, base_dir=..., as_of=..., rates=...)` reads the sources that
`mappings/finance.yaml` names (CSV, Parquet, Excel, a SQL query or table, or a SQL
customer-month aggregate computed in the database: `aggregate.py`), validates row by row,
and returns the canonical `finance` frame (one row per customer and month; rows of the
same customer and month are summed), the optional `invoices` frame, and the quarantine
report (file, line, column, value, reason). When the quarantined share of a table is not
under `quarantine.max_share` it raises `FinanceDataError` before anything is written.

`match_accounts(finance, accounts)` then joins ERP customers to CRM accounts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.finance.aggregate import read_aggregate
from connectors.finance.match import (
    MatchResult,
    match_accounts,
    normalise_domain,
    normalise_id,
    normalise_name,
)
from connectors.finance.rates import (
    convert,
    empty_rates,
    load_rates_file,
    normalise_rates,
    rates_from_salesforce,
)
from connectors.finance.read import QUARANTINE_COLUMNS, RawTable, empty_quarantine, read_source
from connectors.finance.validate import Checked, check_table, columns_of
from mappings.errors import ConfigError, DataError, FinanceDataError
from mappings.finance import FinanceMapping, TableName, load_finance_mapping

log = logging.getLogger(__name__)

AMOUNTS = {"finance": ["revenue", "cost_of_delivery", "acquisition_cost"], "invoices": ["amount"]}
SHOWN = 5
"""How many bad lines a DataError message names; the full list is the quarantine report."""


@dataclass(frozen=True)
class TableStats:
    """What happened to one source table."""

    source: str
    unit: str
    """What a position counts in this source: "line" (CSV) or "row"."""
    rows_read: int
    rows_quarantined: int
    rows_kept: int
    converted: dict[str, int] = field(default_factory=dict)
    """Source currency -> rows converted into the corporate currency."""

    @property
    def quarantined_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


@dataclass(frozen=True)
class FinanceLoad:
    """The checked finance data, and what was left out of it."""

    frame: pd.DataFrame
    """Canonical finance columns (+ domain, customer_name), amounts in corporate currency."""
    invoices: pd.DataFrame | None
    quarantine: pd.DataFrame
    stats: dict[str, TableStats]
    corporate_currency: str


def load_finance(
    mapping: FinanceMapping | Path | str,
    *,
    base_dir: Path | str = ".",
    as_of: date | None = None,
    rates: pd.DataFrame | None = None,
) -> FinanceLoad:
    """Read, check and convert every finance table the mapping names.

    `rates`: the CRM's rates (currency, rate[, date]) when `rates.kind` is crm; see
    `rates_from_salesforce`. `as_of`: rows for months after it are quarantined.
    """
    if not isinstance(mapping, FinanceMapping):
        mapping = load_finance_mapping(mapping)
    base = Path(base_dir)
    rate_frame = _rates(mapping, base, rates)
    as_of_period = as_of.strftime("%Y-%m") if as_of else None
    frames: dict[str, pd.DataFrame] = {}
    reports: list[pd.DataFrame] = []
    stats: dict[str, TableStats] = {}
    for table, spec in mapping.tables.items():
        if spec.source.aggregate is not None:
            raw = read_aggregate(spec, as_of)  # summed per customer and month in the database
        else:
            raw = read_source(spec.source, base)
        if raw.rows_read == 0:
            raise DataError(
                f"{raw.label}: the {table} source has a header but no rows; export the data "
                "again (or check the query's filter)."
            )
        checked = check_table(
            raw,
            table,
            spec,
            negatives_allowed=mapping.negatives_allowed(table),
            corporate_currency=mapping.corporate_currency,
            as_of_period=as_of_period,
            quarantine=mapping.quarantine,
        )
        frames[table], converted = _convert(raw, checked, table, mapping, rate_frame)
        report = checked.quarantine()
        reports.append(report)
        bad = int(report["line"].nunique())
        stats[table] = TableStats(
            raw.label, raw.unit, raw.rows_read, bad, len(frames[table]), converted
        )
    quarantine = _concat(reports)
    _stop_if_too_many(stats, quarantine, mapping)
    if as_of is not None:
        _stop_if_stale(frames["finance"], stats["finance"].source, as_of, mapping)
    finance = _per_month(frames["finance"])
    log.info(
        "finance loaded: %d customer-months, %d quarantined rows",
        len(finance),
        sum(s.rows_quarantined for s in stats.values()),
    )
    return FinanceLoad(
        finance, frames.get("invoices"), quarantine, stats, mapping.corporate_currency
    )


def _rates(mapping: FinanceMapping, base: Path, given: pd.DataFrame | None) -> pd.DataFrame:
    kind = mapping.rates.kind
    if kind == "file":
        path = Path(mapping.rates.path or "")
        return load_rates_file(path if path.is_absolute() else base / path)
    if kind == "crm":
        if given is None:
            raise ConfigError(
                "finance.yaml sets rates.kind: crm but the run passed no CRM rates; pull "
                "CurrencyType / DatedConversionRate first or use rates.kind: file"
            )
        return normalise_rates(given, label="CRM currency rates")
    return empty_rates()


def _convert(
    raw: RawTable,
    checked: Checked,
    table: TableName,
    mapping: FinanceMapping,
    rates: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, int]]:
    frame = checked.frame
    if table == "finance":
        dates = _each_distinct(
            frame["period"],
            lambda p: pd.to_datetime(p + "-01", format="%Y-%m-%d", errors="coerce"),
        )
    else:
        dates = frame["issue_date"]
    converted, missing = convert(
        frame,
        AMOUNTS[table],
        dates,
        rates,
        mapping.corporate_currency,
    )
    source_currency = frame["currency"]
    foreign = (source_currency != mapping.corporate_currency).to_numpy() & ~missing
    counts = source_currency[foreign].value_counts()
    if missing.any():
        cspec = mapping.tables[table].column("currency")
        how = (
            f"add it to the rates ({mapping.rates.kind})"
            if mapping.rates.kind != "none"
            else "finance.yaml has no rates (rates.kind: none), so only "
            f"{mapping.corporate_currency} is accepted; set rates.kind: file or crm"
        )
        checked.problems.append(
            pd.DataFrame(
                {
                    "file": raw.label,
                    "line": checked.lines[missing],
                    "column": cspec.source if cspec else "currency",
                    "value": source_currency[missing].astype(str).to_numpy(),
                    "reason": f"unknown currency: no exchange rate into "
                    f"{mapping.corporate_currency} for this date; {how}",
                },
                columns=QUARANTINE_COLUMNS,
            )
        )
        converted = converted[~missing].reset_index(drop=True)
        checked.lines = checked.lines[~missing]
    return converted, {str(k): int(v) for k, v in counts.items()}


def _each_distinct(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`parse(values)` for a value-by-value `parse`, run once per distinct value."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    distinct = pd.Series(uniques, dtype=object)
    if (codes < 0).any():
        distinct = pd.concat([distinct, pd.Series([None], dtype=object)], ignore_index=True)
        codes = np.where(codes < 0, len(distinct) - 1, codes)
    return parse(distinct).take(codes).set_axis(values.index)


def _concat(reports: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [r for r in reports if len(r)]
    return pd.concat(parts, ignore_index=True) if parts else empty_quarantine()


def _stop_if_too_many(
    stats: dict[str, TableStats], quarantine: pd.DataFrame, mapping: FinanceMapping
) -> None:
    limit = mapping.quarantine.max_share
    for table, s in stats.items():
        if s.rows_quarantined == 0 or s.quarantined_share < limit:
            continue
        rows = quarantine[quarantine["file"] == s.source].head(SHOWN)
        first = "; ".join(
            f"{s.unit} {r.line} column '{r.column}': {r.reason}" for r in rows.itertuples()
        )
        raise FinanceDataError(
            f"{s.source}: {s.rows_quarantined} of {s.rows_read} {table} rows "
            f"({s.quarantined_share:.1%}) are bad, not under the {limit:.0%} allowed "
            f"(quarantine.max_share in finance.yaml), so the run stopped before writing "
            f"anything. First bad rows: {first}. Fix these rows in the source and run again; "
            "the quarantine report lists every bad row.",
            quarantine,
        )


def _stop_if_stale(frame: pd.DataFrame, source: str, as_of: date, mapping: FinanceMapping) -> None:
    """An export whose latest month is too long before the run's month stops the run."""
    limit = mapping.max_staleness_months
    periods = frame["period"].dropna()
    if limit is None or periods.empty:
        return
    latest = str(periods.max())
    year, month = (int(x) for x in latest.split("-")[:2])
    behind = (as_of.year * 12 + as_of.month) - (year * 12 + month)
    if behind <= limit:
        return
    raise DataError(
        f"{source}: the latest period in the finance export is {latest}, {behind} months "
        f"before the run's month {as_of:%Y-%m} (as of {as_of.isoformat()}); "
        f"max_staleness_months in finance.yaml allows {limit}, so the run stopped before "
        "writing anything. Export the finance data again, or, to score this old export on "
        "purpose, raise max_staleness_months (or set it to null) in finance.yaml."
    )


def _per_month(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and month: several rows of the same month (product lines) add up.

    Grouped on one integer per (customer, account, month), built from each key's sorted
    codes with missing last: the groups, their order and the sums are those of
    `groupby(keys, dropna=False, sort=True)`, without a 3-level index of strings.
    """
    keys = ["erp_customer_id", "account_id", "period"]
    if frame.empty:
        return frame.drop(columns=["invoice_id"], errors="ignore")
    group = np.zeros(len(frame), dtype="int64")
    for key in keys:
        codes, uniques = pd.factorize(frame[key], sort=True)
        group = group * (len(uniques) + 1) + np.where(codes < 0, len(uniques), codes)
    ids, first = np.unique(group, return_index=True)  # first row of each group, in key order
    grouped = frame.groupby(np.searchsorted(ids, group), sort=True)
    sums = grouped[["revenue", "cost_of_delivery"]].sum()
    firsts = grouped[["currency", "domain", "customer_name"]].first()
    out = {
        "erp_customer_id": _objects(frame["erp_customer_id"].to_numpy(dtype=object)[first]),
        "account_id": _objects(frame["account_id"].to_numpy(dtype=object)[first]),
        # groupby's index levels infer their dtype ("str" for text): so does the month
        "period": pd.Series(frame["period"].to_numpy(dtype=object)[first]).infer_objects(),
        "revenue": sums["revenue"].to_numpy(),
        "cost_of_delivery": sums["cost_of_delivery"].to_numpy(),
        "acquisition_cost": grouped["acquisition_cost"].sum(min_count=1).to_numpy(),
        **{col: _objects(firsts[col].to_numpy(dtype=object)) for col in firsts.columns},
    }
    order = [c for c in columns_of("finance") if c in out and c != "invoice_id"]
    return pd.DataFrame({c: out[c] for c in order})


def _objects(values: np.ndarray) -> pd.Series:
    """Text as Python objects, None where missing (pandas would infer "str" with NaN)."""
    values = np.array(values, dtype=object)  # a copy: to_numpy may give a read-only view
    values[pd.isna(values)] = None
    return pd.Series(values, dtype=object)


__all__ = [
    "FinanceDataError",
    "FinanceLoad",
    "MatchResult",
    "TableStats",
    "load_finance",
    "load_rates_file",
    "match_accounts",
    "normalise_domain",
    "normalise_id",
    "normalise_name",
    "rates_from_salesforce",
]
