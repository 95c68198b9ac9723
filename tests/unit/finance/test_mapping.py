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
