"""Features checked by hand on tiny frames (as_of 2025-07-01: last 12 months = Jul 2024-Jun 25)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from mappings.errors import DataError
from value_engine import ValueModel
from value_engine.features import compute_features, size_band_labels

AS_OF = date(2025, 7, 1)
MONTHS = [str(p) for p in pd.period_range("2023-07", "2025-06", freq="M")]


def _frames() -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["X", "Y", "Z"],
            "erp_id": ["E-X", "E-Y", "E-Z"],
            "industry": ["Machinery", "Retail", None],
            "employees": [120, 10, np.nan],
            "created_at": pd.to_datetime(["2020-07-15", "2024-01-01", None]),
        }
    )
    finance = pd.DataFrame(
        {
            "account_id": ["X"] * 24 + [None, "X", "X"],
            "erp_customer_id": [None] * 24 + ["E-X", None, None],
            "period": MONTHS + ["2025-06", "2025-07", "2022-01"],
            "revenue": [1000.0] * 24 + [500.0, 9999.0, 2000.0],
            "cost_of_delivery": [600.0] * 24 + [100.0, 9999.0, 1000.0],
            "acquisition_cost": [np.nan] * 26 + [3000.0],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3"],
            "account_id": ["X", "X", "X"],
            "created_at": pd.to_datetime(["2025-02-10", "2024-05-20", "2025-07-02"]),
            "priority": ["high", "low", "urgent"],
            "is_escalation": [True, False, True],
            "category": ["special_request", "problem", "problem"],
            "effort_hours": [2.0, 1.0, 5.0],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["i1", "i2", "i3", "i4", "i5"],
            "account_id": ["X", "X", "X", "Y", "Y"],
            "issue_date": pd.to_datetime(
                ["2025-04-01", "2025-05-01", "2025-05-15", "2025-03-10", "2025-04-10"]
            ),
            "due_date": pd.to_datetime(["2025-05-01", "2025-06-01", "2025-06-15", None, None]),
            "paid_date": pd.to_datetime(["2025-05-11", "2025-05-30", None, None, None]),
            "amount": [1000.0, 1000.0, 300.0, 700.0, 800.0],
            "status": ["paid", "paid", "open", "open", "void"],
        }
    )
    return {"accounts": accounts, "finance": finance, "tickets": tickets, "invoices": invoices}


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    return compute_features(_frames(), ValueModel(), AS_OF).frame.set_index("account_id")


CHECKS = [
    ("revenue_12m_includes_erp_linked_row", "X", "revenue_12m", 12_500.0),
    ("prior_12m", "X", "revenue_prior_12m", 12_000.0),
    ("lifetime_excludes_as_of_month", "X", "revenue_lifetime", 26_500.0),
    ("margin_12m", "X", "margin_12m", 12_500.0 - 7_300.0),
    ("margin_pct", "X", "margin_pct", 5_200.0 / 12_500.0),
    ("growth", "X", "growth", 500.0 / 12_000.0),
    ("recurrence", "X", "recurrence", 1.0),
    ("tickets_12m_excludes_older_and_later", "X", "tickets_12m", 1.0),
    ("cost_to_serve_priority_escalation_hours", "X", "cost_to_serve_12m", 100 + 400 + 2 * 60),
    ("cost_to_serve_lifetime", "X", "cost_to_serve_lifetime", 620 + 25 + 60),
    ("special_requests", "X", "special_requests_12m", 1.0),
    ("escalations_per_100k", "X", "escalations_per_100k", 1 / 12_500 * 1e5),
    ("on_time_share", "X", "on_time_share", 1 / 3),
    ("avg_days_late", "X", "avg_days_late", (10 + 0 + 16) / 3),
    ("overdue_amount", "X", "overdue_amount", 300.0),
    ("finance_acquisition_cost", "X", "acquisition_cost", 3000.0),
    ("segment_cac_fallback", "Y", "acquisition_cost", 5000.0),
    ("tenure_from_created_at", "X", "tenure_months", 60.0),
    ("invoice_revenue_fallback_skips_void", "Y", "revenue_12m", 700.0),
    ("default_terms_make_invoice_due", "Y", "overdue_amount", 700.0),
]


@pytest.mark.parametrize(
    ("account", "feature", "expected"), [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS]
)
def test_feature(feats: pd.DataFrame, account: str, feature: str, expected: float) -> None:
    assert feats.loc[account, feature] == pytest.approx(expected)


def test_margin_unknown_without_finance(feats: pd.DataFrame) -> None:
    assert np.isnan(feats.loc["Y", "margin_12m"])
    assert not feats.loc["Y", "has_finance"]


def test_cv_is_std_over_mean_and_unknown_without_history(feats: pd.DataFrame) -> None:
    months = np.array([1000.0] * 23 + [1500.0])  # June 2025 has the ERP-linked extra 500
    # Two-pass variance, rounded to 6 decimals (float noise never decides a rank).
    assert feats.loc["X", "revenue_cv"] == pytest.approx(months.std() / months.mean(), abs=1e-6)
    assert np.isnan(feats.loc["Z", "revenue_cv"])


def test_account_without_anything_is_a_new_logo(feats: pd.DataFrame) -> None:
    assert not feats.loc["Z", "is_customer"]
    assert feats.loc["Z", "revenue_12m"] == 0
    assert pd.isna(feats.loc["Z", "size_band"])


def test_size_bands(feats: pd.DataFrame) -> None:
    assert size_band_labels((50, 250)) == ["1-49", "50-249", "250+"]
    assert feats.loc["X", "size_band"] == "50-249"
    assert feats.loc["Y", "size_band"] == "1-49"


def test_rows_are_sorted_by_account_id_whatever_the_input_order() -> None:
    frames = _frames()
    frames["accounts"] = frames["accounts"].iloc[::-1]
    out = compute_features(frames, ValueModel(), AS_OF).frame
    assert list(out["account_id"]) == ["X", "Y", "Z"]


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (pd.DataFrame({"account_id": ["A", "A"]}), "repeat"),
        (pd.DataFrame({"account_id": ["A", None]}), "empty in row"),
        (pd.DataFrame({"name": ["A"]}), "account_id is missing"),
    ],
    ids=["duplicate", "empty", "missing_column"],
)
def test_bad_account_ids_are_data_errors(accounts: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        compute_features({"accounts": accounts}, ValueModel(), AS_OF)
