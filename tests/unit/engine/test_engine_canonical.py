"""Checking canonical tables read from files, and converting currencies."""

from __future__ import annotations

import pandas as pd
import pytest

from mappings.canonical import coerce_table, convert_currency
from mappings.errors import DataError

INVOICES = {
    "invoice_id": ["1", "2", "3"],
    "account_id": ["a", "b", "c"],
    "issue_date": ["2025-01-05", "2025-02-05", "2025-03-05"],
    "due_date": ["2025-02-04", "", "2025-04-04"],
    "paid_date": ["2025-02-01T09:30:00Z", "", ""],
    "amount": ["100.5", "200", "300"],
    "currency": ["EUR", "CHF", ""],
    "status": ["paid", "open", "open"],
}


def _invoices(**changes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({**INVOICES, **changes})


def test_good_rows_are_typed() -> None:
    out = coerce_table("invoices", _invoices(), "inv.csv")
    assert out["amount"].tolist() == [100.5, 200.0, 300.0]
    assert out["issue_date"].iloc[0] == pd.Timestamp("2025-01-05")
    assert out["paid_date"].iloc[0] == pd.Timestamp("2025-02-01")  # a date: time dropped
    assert out["due_date"].isna().tolist() == [False, True, False]


BAD = [
    ("bad_number", {"amount": ["1", "x", "3"]}, "column amount: expected a number in row 2"),
    ("required_empty", {"amount": ["1", "", "3"]}, "column amount: a value is required"),
    ("bad_date", {"issue_date": ["2025-01-05", "soon", "2025-13-01"]},
     "column issue_date: expected a date (YYYY-MM-DD) in rows 2, 3"),
    ("bad_choice", {"status": ["paid", "lost", "open"]},
     "column status: expected one of open, paid, void in row 2"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_rows_name_file_column_and_rows(changes: dict[str, list[str]], message: str) -> None:
    with pytest.raises(DataError) as info:
        coerce_table("invoices", _invoices(**changes), "export/invoices.csv")
    assert str(info.value).startswith("export/invoices.csv: ")
    assert message in str(info.value)


def test_missing_columns_are_all_listed() -> None:
    frame = _invoices().drop(columns=["amount", "account_id"])
    with pytest.raises(DataError) as info:
        coerce_table("invoices", frame, "invoices.csv")
    text = str(info.value)
    assert "column amount is missing" in text and "column account_id is missing" in text


def test_only_first_rows_are_shown() -> None:
    frame = pd.DataFrame({"account_id": [str(i) for i in range(9)], "period": ["2025-13"] * 9,
                          "revenue": ["1"] * 9, "cost_of_delivery": ["1"] * 9})  # fmt: skip
    with pytest.raises(DataError, match=r"rows 1, 2, 3, 4, 5 and 4 more"):
        coerce_table("finance", frame, "finance.csv")


def test_booleans_and_periods() -> None:
    tickets = pd.DataFrame({"ticket_id": ["1", "2"], "account_id": ["a", "b"],
                            "created_at": ["2025-01-01T10:00:00", "2025-01-02"],
                            "is_escalation": ["TRUE", "no"]})  # fmt: skip
    out = coerce_table("tickets", tickets, "t.csv")
    assert out["is_escalation"].tolist() == [True, False]
    fin = pd.DataFrame({"account_id": ["a"], "period": ["2025-03"], "revenue": ["1"],
                        "cost_of_delivery": ["0"]})  # fmt: skip
    assert coerce_table("finance", fin, "f.csv")["period"].iloc[0] == pd.Timestamp("2025-03-01")


def test_currency_conversion_and_unknown_currency() -> None:
    frame = coerce_table("invoices", _invoices(), "inv.csv")
    out = convert_currency("invoices", frame, "EUR", {"CHF": 1.05}, "inv.csv")
    assert out["amount"].tolist() == [100.5, 210.0, 300.0]
    assert (out["currency"] == "EUR").all()
    with pytest.raises(DataError, match="inv.csv: column currency: no rate for CHF in row 2"):
        convert_currency("invoices", frame, "EUR", {}, "inv.csv")
