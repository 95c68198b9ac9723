"""Match finance customers to CRM accounts: ERP id, then normalised domain, then normalised name.

All of it is merges on normalised key columns, one pass per method over the distinct
customers, never a Python loop over rows. A key that two CRM accounts share is ambiguous
and not used for that method (the customer falls through to the next one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def each_distinct(values: pd.Series, normalise: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`normalise(values)` for a value-by-value `normalise`, run once per distinct value.

    The values are made text first (`str` of each), so 1, 1.0 and True stay distinct.
    """
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string":
        # Python strings (and None / NaN): hashing them as they are is exact, and skips
        # turning every row into an Arrow string first.
        codes, uniques = pd.factorize(values.to_numpy())
        distinct = pd.Series(uniques, dtype="string")
    else:
        codes, uniques = values.astype("string").array.factorize()
        distinct = pd.Series(uniques)
    if (codes < 0).any():
        distinct = pd.concat([distinct, pd.Series([pd.NA], dtype="string")], ignore_index=True)
        codes = np.where(codes < 0, len(distinct) - 1, codes)
    done = normalise(distinct)
    return pd.Series(done.array.take(codes), index=values.index, name=values.name)


def normalise_domain(values: pd.Series) -> pd.Series:
    """`https://www.Acme.com/about` -> `acme.com`; emails keep the part after @; blank -> NA."""
    return each_distinct(values, _domain)


def _domain(values: pd.Series) -> pd.Series:
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
    return each_distinct(values, _name)


def _name(values: pd.Series) -> pd.Series:
    s = values.astype("string").str.normalize("NFKD").str.encode("ascii", "ignore")
    s = s.str.decode("ascii").astype("string").str.casefold()
    # Dots vanish ("S.A." -> "sa", "B.V." -> "bv"); other punctuation separates words.
    s = s.str.replace(".", "", regex=False).str.replace(r"[^\w\s]|_", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    s = s.str.replace(_SUFFIX_RE, "", regex=True).str.replace(" ", "", regex=False)
    return s.replace("", pd.NA)


def normalise_id(values: pd.Series) -> pd.Series:
    """ERP ids compared trimmed and case-insensitive; blank -> NA."""
    return each_distinct(values, _id)


def _id(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.casefold().replace("", pd.NA)


def _given(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().replace("", pd.NA)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _customer_key(finance: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row: the customer (ERP id, else "acct:" + the given account id), ERP id, given id."""
    erp = normalise_id(_column(finance, "erp_customer_id"))
    given = each_distinct(_column(finance, "account_id"), _given)
    return erp.fillna("acct:" + given), erp, given


def _customers(
    finance: pd.DataFrame, keys: tuple[pd.Series, pd.Series, pd.Series]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per finance customer: its key, the given account_id and its match keys;
    and each row's position among the customers (-1: no key).

    The customers are sorted; each match key is the customer's first non-missing one,
    as `groupby("customer", sort=True).first()` would give them.
    """
    key, erp, given = keys
    codes, names = pd.factorize(key, sort=True)
    keyed = {
        "erp": erp,
        "given": given,
        "domain": normalise_domain(_column(finance, "domain")),
        "name": normalise_name(_column(finance, "customer_name")),
    }
    has_key = codes >= 0
    out = pd.DataFrame({"customer": pd.Series(names)})
    for column, values in keyed.items():
        rows = np.flatnonzero(has_key & values.notna().to_numpy())
        found, first = np.unique(codes[rows], return_index=True)
        pick = np.full(len(names), -1, dtype=np.intp)
        pick[found] = rows[first]
        out[column] = values.array.take(pick, allow_fill=True)
    out["rows"] = np.bincount(codes[has_key], minlength=len(names)).astype("int64")
    return out, codes


def _isin(values: pd.Series, allowed: set[str]) -> np.ndarray:
    """`values.isin(allowed)` for text, missing -> False; pandas would box each allowed value."""
    text = pa.array(values.astype("string").array)  # an Array or a ChunkedArray
    wanted = pa.array(sorted(allowed), type=text.type)
    return np.asarray(pc.is_in(text, value_set=wanted), dtype=bool)


def _unique_keys(accounts: pd.DataFrame, key: pd.Series) -> tuple[pd.DataFrame, int]:
    pairs = pd.DataFrame({"key": key, "account": accounts["account_id"].astype("string")})
    pairs = pairs.dropna().drop_duplicates()
    counts = pairs["key"].value_counts()
    shared = counts[counts > 1].index
    return pairs[~pairs["key"].isin(shared)], len(shared)


def match_accounts(finance: pd.DataFrame, accounts: pd.DataFrame) -> MatchResult:
    """Fill account_id on finance rows: given account_id, ERP id, domain, then name."""
    customers, codes = _customers(finance, _customer_key(finance))
    customers["account"] = pd.Series(pd.NA, index=customers.index, dtype="string")
    customers["method"] = pd.Series(pd.NA, index=customers.index, dtype="string")
    known = set(accounts["account_id"].astype(str))
    given_ok = _isin(customers["given"], known)
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
    return _result(finance, accounts, customers, codes, ambiguous)


def _result(
    finance: pd.DataFrame,
    accounts: pd.DataFrame,
    customers: pd.DataFrame,
    codes: np.ndarray,
    ambiguous: dict[str, int],
) -> MatchResult:
    frame = finance.copy(deep=False)  # new columns only: the input's stay shared, unchanged
    for column, source in (("account_id", "account"), ("match_method", "method")):
        taken = customers[source].array.take(codes, allow_fill=True)
        values = pd.Series(taken, index=frame.index).astype(object)
        frame[column] = values.where(pd.notna(values), None)
    unmatched = customers[customers["account"].isna()]
    first_rows = np.unique(codes, return_index=True)[1][1 if (codes < 0).any() else 0 :]
    first = finance.iloc[first_rows].set_axis(customers["customer"].to_numpy(), axis=0)
    unmatched_finance = pd.DataFrame(
        {
            "erp_customer_id": unmatched["customer"].map(_column(first, "erp_customer_id")),
            "domain": unmatched["customer"].map(_column(first, "domain")),
            "customer_name": unmatched["customer"].map(_column(first, "customer_name")),
            "rows": unmatched["rows"].astype("int64"),
        }
    ).reset_index(drop=True)
    matched = set(customers["account"].dropna())
    without = ~_isin(accounts["account_id"].astype(str), matched)
    accounts_without = accounts.loc[
        without, ["account_id", *(["name"] if "name" in accounts else [])]
    ]
    counts = customers["method"].value_counts()
    by_method = {m: int(counts.get(m, 0)) for m in METHODS}
    by_method["unmatched"] = len(unmatched)
    return MatchResult(
        frame, unmatched_finance, accounts_without.reset_index(drop=True), by_method, ambiguous
    )
