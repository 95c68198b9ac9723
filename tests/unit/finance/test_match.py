"""Matching finance customers to CRM accounts: ERP id, then domain, then normalised name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.finance.loader import match_accounts, normalise_domain, normalise_name

ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["001A", "001B", "001C", "001D", "001E", "001F"],
        "name": ["Acme GmbH", "Globex Inc.", "Initech Ltd", "Umbrella AG", "Twin Co", "Twin LLC"],
        "domain": ["https://www.acme.de/about", "globex.com", None, "umbrella.example", None, None],
        "erp_id": ["K-100", None, None, None, None, None],
    }
)
FINANCE = pd.DataFrame(
    {
        "erp_customer_id": ["k-100 ", "K-100", "K-200", "K-300", "K-400", "K-500"],
        "period": ["2026-01", "2026-02", "2026-01", "2026-01", "2026-01", "2026-01"],
        "revenue": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "domain": [None, None, "WWW.Globex.com", None, None, None],
        "customer_name": [None, None, None, "INITECH, Limited", "Twin", "Nobody SA"],
    }
)


def test_erp_id_then_domain_then_name():
    result = match_accounts(FINANCE, ACCOUNTS)
    assert result.frame["account_id"].tolist() == ["001A", "001A", "001B", "001C", None, None]
    assert result.frame["match_method"].tolist()[:4] == ["erp_id", "erp_id", "domain", "name"]
    assert result.by_method == {
        "account_id": 0, "erp_id": 1, "domain": 1, "name": 1, "unmatched": 2,
    }  # fmt: skip
    # "Twin Co" and "Twin LLC" both normalise to "twin": ambiguous, so not used.
    assert result.ambiguous["name"] == 1
    assert result.unmatched_finance["erp_customer_id"].tolist() == ["K-400", "K-500"]
    assert result.accounts_without_finance["account_id"].tolist() == ["001D", "001E", "001F"]
    assert "account_id" not in FINANCE.columns  # the input is not mutated


def test_given_account_id_wins_when_it_exists():
    finance = pd.DataFrame({"account_id": ["001D", "999"], "period": ["2026-01"] * 2})
    result = match_accounts(finance, ACCOUNTS)
    assert result.frame["account_id"].tolist() == ["001D", None]
    assert result.by_method["account_id"] == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.de/about?x=1", "acme.de"),
        ("http://shop.acme.de:8080", "shop.acme.de"),
        ("info@acme.de", "acme.de"),
        ("www2.acme.de.", "acme.de"),
        ("  ", None),
    ],
    ids=["url-with-path", "port", "email", "www2-trailing-dot", "blank"],
)
def test_normalise_domain(raw, expected):
    got = normalise_domain(pd.Series([raw]))[0]
    assert (got if pd.notna(got) else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME Holding GmbH & Co. KG", "acmeholding"),
        ("Müller-Lüdenscheidt AG", "mullerludenscheidt"),
        ("Globex, Inc.", "globex"),
        ("Société Générale S.A.", "societegenerale"),
        ("Initech B.V.", "initech"),
    ],
    ids=["gmbh-co-kg", "accents", "inc", "sa-with-dots", "bv-with-dots"],
)
def test_normalise_name(raw, expected):
    assert normalise_name(pd.Series([raw]))[0] == expected


@given(st.lists(st.text(max_size=30), min_size=1, max_size=30))
def test_normalise_name_is_idempotent(names):
    once = normalise_name(pd.Series(names))
    twice = normalise_name(once)
    assert once.fillna("<NA>").tolist() == twice.fillna("<NA>").tolist()


def test_matching_100k_finance_rows_is_vectorised():
    n = 20_000
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": [f"Firm {i} GmbH" for i in range(n)],
            "domain": [f"firm{i}.example" for i in range(n)],
            "erp_id": [f"K{i}" if i % 3 == 0 else None for i in range(n)],
        }
    )
    i = np.repeat(np.arange(n), 5)
    finance = pd.DataFrame(
        {
            "erp_customer_id": [f"K{k}" for k in i],
            "period": "2026-01",
            "domain": [f"https://firm{k}.example" if k % 3 == 1 else None for k in i],
            "customer_name": [f"FIRM {k} gmbh" for k in i],
        }
    )
    result = match_accounts(finance, accounts)
    assert result.frame["account_id"].notna().all()
    assert result.by_method["erp_id"] + result.by_method["domain"] + result.by_method["name"] == n
