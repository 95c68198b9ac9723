"""Match finance customers to CRM accounts: ERP id, then normalised domain, then normalised name.

All of it is merges on normalised key columns, one pass per method over the distinct
customers, never a Python loop over rows. A key that two CRM accounts share is ambiguous
and not used for that method (the customer falls through to the next one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

LEGAL_SUFFIXES = (
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "ug",
    "se",
    "ltd",
    "limited",
    "plc",
    "llp",
    "lp",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "llc",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "oyj",
    "ab",
    "as",
    "asa",
    "aps",
    "pty",
    "pte",
    "kk",
    "sl",
    "sro",
    "zoo",
    "sp",
)
_SUFFIX_RE = r"(?:\s+(?:" + "|".join(LEGAL_SUFFIXES) + r"))+$"
METHODS = ("account_id", "erp_id", "domain", "name")


@dataclass(frozen=True)
class MatchResult:
    """Finance rows with account_id filled, and what did not match on either side."""

    frame: pd.DataFrame
    """The finance frame with account_id set where matched and a match_method column."""
    unmatched_finance: pd.DataFrame
    """Distinct finance customers that match no account (erp_customer_id, domain, name, rows)."""
    accounts_without_finance: pd.DataFrame
    """Accounts (account_id, name) that no finance row matched."""
    by_method: dict[str, int] = field(default_factory=dict)
    """Customers matched per method: account_id, erp_id, domain, name."""
    ambiguous: dict[str, int] = field(default_factory=dict)
    """Per method, keys shared by several accounts (not used for matching)."""


def normalise_domain(values: pd.Series) -> pd.Series:
    """`https://www.Acme.com/about` -> `acme.com`; emails keep the part after @; blank -> NA."""
    s = values.astype("string").str.strip().str.lower()
    s = s.str.replace(r"^[a-z][a-z0-9+.\-]*://", "", regex=True)
    s = s.str.replace(r"^[^/@]*@", "", regex=True)
    s = s.str.replace(r"[/?#].*$", "", regex=True)
    s = s.str.replace(r":\d+$", "", regex=True)
    s = s.str.replace(r"^www\d*\.", "", regex=True).str.strip(".")
    return s.replace("", pd.NA)


def normalise_name(values: pd.Series) -> pd.Series:
    """`ACME Holding GmbH & Co. KG` -> `acmeholding`: casefold, no accents, punctuation,
    legal suffixes or whitespace; blank -> NA."""
    s = values.astype("string").str.normalize("NFKD").str.encode("ascii", "ignore")
    s = s.str.decode("ascii").astype("string").str.casefold()
    # Dots vanish ("S.A." -> "sa", "B.V." -> "bv"); other punctuation separates words.
    s = s.str.replace(".", "", regex=False).str.replace(r"[^\w\s]|_", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    s = s.str.replace(_SUFFIX_RE, "", regex=True).str.replace(" ", "", regex=False)
    return s.replace("", pd.NA)


def normalise_id(values: pd.Series) -> pd.Series:
    """ERP ids compared trimmed and case-insensitive; blank -> NA."""
    return values.astype("string").str.strip().str.casefold().replace("", pd.NA)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _customers(finance: pd.DataFrame) -> pd.DataFrame:
    """One row per finance customer: its key, the given account_id and its match keys."""
    erp = normalise_id(_column(finance, "erp_customer_id"))
    given = _column(finance, "account_id").astype("string").str.strip().replace("", pd.NA)
    customer = erp.fillna("acct:" + given)
    keyed = pd.DataFrame(
        {
            "customer": customer,
            "erp": erp,
            "given": given,
            "domain": normalise_domain(_column(finance, "domain")),
            "name": normalise_name(_column(finance, "customer_name")),
        }
    )
    grouped = keyed.dropna(subset=["customer"]).groupby("customer", sort=True)
    out = grouped.first()  # first non-null per column
    out["rows"] = grouped.size()
    return out.reset_index()


def _unique_keys(accounts: pd.DataFrame, key: pd.Series) -> tuple[pd.DataFrame, int]:
    pairs = pd.DataFrame({"key": key, "account": accounts["account_id"].astype("string")})
    pairs = pairs.dropna().drop_duplicates()
    counts = pairs["key"].value_counts()
    shared = counts[counts > 1].index
    return pairs[~pairs["key"].isin(shared)], len(shared)


def match_accounts(finance: pd.DataFrame, accounts: pd.DataFrame) -> MatchResult:
    """Fill account_id on finance rows: given account_id, ERP id, domain, then name."""
    customers = _customers(finance)
    customers["account"] = pd.Series(pd.NA, index=customers.index, dtype="string")
    customers["method"] = pd.Series(pd.NA, index=customers.index, dtype="string")
    known = set(accounts["account_id"].astype(str))
    given_ok = customers["given"].isin(known).fillna(False)
    customers.loc[given_ok, "account"] = customers.loc[given_ok, "given"]
    customers.loc[given_ok, "method"] = "account_id"
    keys = {
        "erp_id": ("erp", normalise_id(_column(accounts, "erp_id"))),
        "domain": ("domain", normalise_domain(_column(accounts, "domain"))),
        "name": ("name", normalise_name(_column(accounts, "name"))),
    }
    ambiguous: dict[str, int] = {}
    for method, (column, account_key) in keys.items():
        lookup, ambiguous[method] = _unique_keys(accounts, account_key)
        open_rows = customers["account"].isna() & customers[column].notna()
        if not open_rows.any() or lookup.empty:
            continue
        hit = customers.loc[open_rows, [column]].merge(
            lookup, left_on=column, right_on="key", how="left"
        )
        hit.index = customers.index[open_rows]
        found = hit["account"].notna()
        customers.loc[found[found].index, "account"] = hit.loc[found, "account"]
        customers.loc[found[found].index, "method"] = method
    return _result(finance, accounts, customers, ambiguous)


def _result(
    finance: pd.DataFrame, accounts: pd.DataFrame, customers: pd.DataFrame, ambiguous: dict
) -> MatchResult:
    erp = normalise_id(_column(finance, "erp_customer_id"))
    given = _column(finance, "account_id").astype("string").str.strip().replace("", pd.NA)
    key = erp.fillna("acct:" + given)
    lookup = customers.set_index("customer")
    frame = finance.copy()
    frame["account_id"] = key.map(lookup["account"]).astype(object).where(key.notna(), None)
    frame["account_id"] = frame["account_id"].where(pd.notna(frame["account_id"]), None)
    frame["match_method"] = key.map(lookup["method"]).astype(object)
    frame["match_method"] = frame["match_method"].where(pd.notna(frame["match_method"]), None)
    unmatched = customers[customers["account"].isna()]
    first = finance.assign(_key=key.to_numpy()).drop_duplicates("_key").set_index("_key")
    unmatched_finance = pd.DataFrame(
        {
            "erp_customer_id": unmatched["customer"].map(_column(first, "erp_customer_id")),
            "domain": unmatched["customer"].map(_column(first, "domain")),
            "customer_name": unmatched["customer"].map(_column(first, "customer_name")),
            "rows": unmatched["rows"].astype("int64"),
        }
    ).reset_index(drop=True)
    matched = set(customers["account"].dropna())
    without = ~accounts["account_id"].astype(str).isin(matched)
    accounts_without = accounts.loc[
        without, ["account_id", *(["name"] if "name" in accounts else [])]
    ]
    counts = customers["method"].value_counts()
    by_method = {m: int(counts.get(m, 0)) for m in METHODS}
    by_method["unmatched"] = len(unmatched)
    return MatchResult(
        frame, unmatched_finance, accounts_without.reset_index(drop=True), by_method, ambiguous
    )
