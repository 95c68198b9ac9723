"""The malformed finance corpus (tests/data/finance): each file gives a clear one-paragraph
message naming file, line, column and the fix, or a quarantine report naming the bad rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.finance.loader import load_finance
from mappings.errors import ConfigError, DataError, FinanceDataError

DATA = Path(__file__).parents[2] / "data" / "finance"
LENIENT = {"quarantine": {"max_share": 0.9}}
RATES = {"rates": {"kind": "file", "path": str(DATA / "rates.csv")}}
WITH_INVOICE_ID = {
    "columns": {
        "invoice_id": "invoice_id",
        "erp_customer_id": "erp_customer_id",
        "period": {"source": "period", "format": "%Y-%m"},
        "revenue": "revenue",
        "cost_of_delivery": "cost_of_delivery",
        "currency": "currency",
    }
}

# file -> (mapping changes, load kwargs, expected quarantine rows (line, column, reason part))
QUARANTINED = {
    "bad_amount.csv": ({}, {}, [(3, "revenue", "unparsable amount")]),
    "bad_period.csv": (
        {},
        {},
        [(3, "period", "expected the format %Y-%m"), (4, "period", "unparsable date")],
    ),
    "negative_cost.csv": (
        {},
        {},
        [
            (3, "cost_of_delivery", "negative cost_of_delivery is not allowed"),
            (4, "acquisition_cost", "list acquisition_cost under allow_negative"),
        ],
    ),
    "unknown_currency.csv": (
        RATES,
        {},
        [
            (3, "currency", "no exchange rate into EUR"),
            (4, "currency", "use an ISO 4217 code"),
        ],
    ),
    "duplicate_invoice.csv": (WITH_INVOICE_ID, {}, [(4, "invoice_id", "first seen on line 2")]),
    "ragged_line.csv": ({}, {}, [(3, "", "the line has 7 fields, the header has 6")]),
    "missing_key.csv": ({}, {}, [(3, "erp_customer_id", "no customer key")]),
    "missing_value.csv": (
        {},
        {},
        [(3, "revenue", "missing value"), (4, "cost_of_delivery", "missing value")],
    ),
    "future_period.csv": (
        {"max_staleness_months": None},  # E1's 2026-01 is old: this case is about E2
        {"as_of": date(2026, 6, 30)},
        [(3, "period", "after the run's month 2026-06")],
    ),
    "thousands.csv": ({}, {}, [(2, "revenue", "source.decimal / source.thousands")]),
}


@pytest.mark.parametrize("name", list(QUARANTINED))
def test_bad_rows_are_quarantined_with_file_line_column_reason(name: str, finance_mapping):
    changes, kwargs, expected = QUARANTINED[name]
    mapping = finance_mapping(DATA / name, **{**LENIENT, **changes})
    loaded = load_finance(mapping, **kwargs)
    report = loaded.quarantine
    assert list(report.columns) == ["file", "line", "column", "value", "reason"]
    assert (report["file"] == str(DATA / name)).all()
    got = [(int(r.line), r.column) for r in report.itertuples()]
    assert got == [(line, column) for line, column, _ in expected]
    for row, (_, _, reason) in zip(report.itertuples(), expected, strict=True):
        assert reason in row.reason, row.reason
    bad_lines = {line for line, _, _ in expected}
    assert loaded.stats["finance"].rows_quarantined == len(bad_lines)
    assert loaded.stats["finance"].rows_kept == loaded.stats["finance"].rows_read - len(bad_lines)


# file -> (mapping changes, error type, parts the one-paragraph message must contain)
REFUSED = {
    "missing_column.csv": (
        {},
        DataError,
        [
            ":1:",
            "'cost_of_delivery' (for cost_of_delivery) missing",
            "map the right one under tables.finance.columns",
        ],
    ),
    "semicolon.csv": ({}, DataError, [":1:", "set source.delimiter: ';'"]),
    "empty.csv": ({}, DataError, ["the file is empty", "header line (line 1)"]),
    "header_only.csv": ({}, DataError, ["has a header but no rows"]),
    "latin1.csv": ({}, DataError, ["not valid utf-8 text", "set source.encoding"]),
    "duplicate_header.csv": ({}, DataError, [":1:", "'revenue' appears twice", "rename one"]),
    "not_parquet.parquet": (
        {"kind": "parquet"},
        DataError,
        ["not a readable Parquet file", "source.kind"],
    ),
    "too_many_bad.csv": (
        {},
        FinanceDataError,
        [
            "2 of 62 finance rows (3.2%)",
            "not under the 1% allowed",
            "line 62 column 'revenue'",
            "line 63 column 'cost_of_delivery'",
            "stopped before writing anything",
        ],
    ),
    "rates_negative.csv": (
        {"rates": {"kind": "file", "path": str(DATA / "rates_negative.csv")}},
        DataError,
        ["rates_negative.csv", "line(s) 2 have a bad rate", "a positive number"],
    ),
    "does_not_exist.csv": ({}, ConfigError, ["does not exist", "check source.path"]),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_unreadable_sources_stop_with_one_paragraph(name: str, finance_mapping):
    changes, error, parts = REFUSED[name]
    source = "bad_amount.csv" if name.startswith("rates_") else name
    with pytest.raises(error) as info:
        load_finance(finance_mapping(DATA / source, **changes))
    message = str(info.value)
    assert "\n" not in message, "one paragraph"
    assert name in message
    for part in parts:
        assert part in message, message


def test_too_many_bad_rows_carry_the_full_report(finance_mapping):
    with pytest.raises(FinanceDataError) as info:
        load_finance(finance_mapping(DATA / "too_many_bad.csv"))
    assert info.value.quarantine["line"].tolist() == [62, 63]


def test_corpus_has_at_least_14_malformed_files():
    malformed = {*QUARANTINED, *REFUSED} - {"does_not_exist.csv"}
    assert len(malformed) >= 14
    assert all((DATA / name).is_file() for name in malformed)
