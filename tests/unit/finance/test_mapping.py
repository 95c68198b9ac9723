"""finance.yaml: the shipped one loads; broken ones name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.errors import ConfigError
from mappings.finance import load_finance_mapping

DATA = Path(__file__).parents[2] / "data" / "mappings"

BROKEN = {
    "finance_password_in_url.yaml": [
        "tables.finance.source",
        "must not contain a password",
        "password_env",
    ],
    "finance_unknown_column.yaml": ["unknown column(s) turnover", "allowed: account_id"],
    "finance_no_finance_table.yaml": ["tables.finance must be defined"],
    "finance_sql_without_query.yaml": ["a sql source needs a query"],
    "finance_typo_key.yaml": [
        "quarantine.max_shar",
        "unknown key",
        "allowed: duplicates, max_amount, max_share",
    ],
    "finance_bad_currency.yaml": ["corporate_currency", "ISO 4217"],
    "finance_share_over_one.yaml": ["quarantine.max_share", "less than or equal to 1"],
    "finance_aggregate_on_invoices.yaml": [
        "at 'tables'",
        "invoices: source.aggregate only applies to the finance table",
    ],
    "finance_aggregate_invoice_id.yaml": ["invoice_id cannot be mapped with source.aggregate"],
    "finance_aggregate_column_twice.yaml": ["d is mapped to more than one"],
    "finance_aggregate_since_and_months.yaml": [
        "tables.finance.source.aggregate",
        "since (a date) or months (a count), not both",
    ],
    "finance_aggregate_typo.yaml": [
        "tables.finance.source.aggregate.month",
        "allowed: chunk_rows, months, since",
    ],
    "finance_aggregate_on_csv.yaml": [
        "tables.finance.source",
        "aggregate only applies to kind: sql; remove it from this csv source",
    ],
    "finance_sql_query_and_table.yaml": ["a query or a table, not both"],
    "finance_sql_bad_table.yaml": ["'lines; drop table lines' is not a table name"],
}


def test_shipped_mapping_loads():
    mapping = load_finance_mapping()
    assert mapping.corporate_currency == "EUR"
    assert mapping.tables["finance"].source.path == "finance.csv"
    assert mapping.quarantine.max_share == 0.01


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_finance_mapping(name: str):
    path = DATA / name
    with pytest.raises(ConfigError) as info:
        load_finance_mapping(path)
    message = str(info.value)
    assert str(path) in message
    for part in BROKEN[name]:
        assert part in message, message
