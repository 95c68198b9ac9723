"""Per-account features as of a date, from the canonical frames.

Time windows. `as_of` is exclusive: everything dated before it counts. Monthly figures use
whole calendar months: "the last 12 months" are the 12 months before the month of
`as_of` (as_of 2025-07-01 -> July 2024 to June 2025), "the prior 12 months" the 12 before
those, "the last 24 months" both together. Use the first day of a month as `as_of` to
include the month just ended.

Money. Revenue and cost of delivery come from the finance table (one row per account and
month). An account without any finance row falls back to its invoices (amounts of invoices
that are not void, by issue month); its cost of delivery is then unknown, and so are its
margins.

- revenue_12m, revenue_prior_12m, revenue_lifetime: sums of monthly revenue.
- margin_12m = revenue_12m - cost_of_delivery_12m (contribution margin); margin_pct =
  margin_12m / revenue_12m; margin_lifetime likewise over all months.
- growth = (revenue_12m - revenue_prior_12m) / revenue_prior_12m (empty without prior revenue).
- recurrence = months with revenue in the last 24 / 24; months_with_revenue_24 is the count.
- revenue_cv, recency, purchase cycle, months observed, purchase frequency, order value:
  see value_engine.history.
- sales_cost_12m: the finance table's optional cost_of_sales over the last 12 months.
- acquisition_cost: the finance table's acquisition_cost summed per account; when an account
  has none, typical_cac: the segment CAC of its size band (model.clv.segment_cac), else
  model.clv.default_cac.
- tenure_months: months from the earlier of created_at and the first active month (revenue
  or cost of delivery) to the as-of month.
- is_customer / lifecycle: an account with revenue or cost of delivery before as_of is a
  customer (cost alone: a customer losing money); any other is a prospect.
- advocacy signals (reference_customer, referrals, case_study, product_feedback): numbers,
  or yes/no text (true / yes / 1 in any case); advocacy_points and advocacy_value_per_year
  (money: referrals a year x the CAC each saves, references, case studies).
- segment, chain_alignment, segment_alignment: see value_engine.valuechain.

Service, payment and deals: see value_engine.activity. Rates per 100k: escalations_12m
(or special_requests_12m) / revenue_12m x 100,000 - empty without revenue.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from value_engine import activity, history
from value_engine.catalog import ADVOCACY_SIGNALS
from value_engine.frames import (
    NO_DAY,
    AccountIndex,
    account_codes,
    account_index,
    as_of_numbers,
    day_numbers,
    hundredths,
    month_of_day,
    numbers,
    per_account,
    period_months,
    truth_values,
)
from value_engine.model import ValueModel
from value_engine.valuechain import add_alignment

WINDOW = 24
LINKED = ("finance", "invoices", "tickets", "opportunities")
"""Child tables, largest first (so the two linking threads finish close together)."""


@dataclass(frozen=True)
class FeatureSet:
    """The features (one row per account, sorted by account_id) and the links behind them."""

    frame: pd.DataFrame
    index: AccountIndex
    opportunity_codes: np.ndarray
    """The account code of each opportunity row (-1: no known account)."""


def compute_features(
    frames: Mapping[str, pd.DataFrame], model: ValueModel, as_of: date
) -> FeatureSet:
    """One row per account (sorted by account_id) with every feature of the catalogue."""
    index, accounts = account_index(frames["accounts"])
    day, month = as_of_numbers(as_of)
    n = index.size
    tables = {name: _frame(frames, name) for name in LINKED}
    codes = link_accounts(tables, index)
    inv = activity.invoice_arrays(tables["invoices"], codes["invoices"])
    feats: dict[str, object] = {"account_id": accounts["account_id"]}
    rev24, active24, first, last = _money(feats, tables["finance"], codes["finance"], inv, n, month)
    feats.update(history.revenue_shape(rev24))
    del rev24
    feats.update(history.activity_shape(active24, first, last, month))
    del active24
    feats.update(activity.ticket_features(tables["tickets"], codes["tickets"], n, month, model))
    feats.update(
        activity.payment_features(inv, tables["invoices"], n, day, model.payment_terms_days)
    )
    feats.update(activity.deal_features(tables["opportunities"], codes["opportunities"], n, day))
    feats.update(_attributes(accounts, model))
    # copy=False: the columns keep their arrays instead of being copied into one block, so
    # the features never exist twice (a million accounts x 60 features is ~0.5 GB).
    out = pd.DataFrame(feats, copy=False)
    del feats
    _derived(out, accounts, month, model)
    add_alignment(out, model)
    return FeatureSet(out, index, codes["opportunities"])


def link_accounts(tables: Mapping[str, pd.DataFrame], index: AccountIndex) -> dict[str, np.ndarray]:
    """The account code of every row of each child table.

    Hashing the id strings is the single largest cost of a run; the hashing releases
    Python's lock, so two tables are linked at a time. The result does not depend on it.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = pool.map(account_codes, tables.values(), [index] * len(tables))
        return dict(zip(tables, codes, strict=True))


def _frame(frames: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = frames.get(name)
    return frame if frame is not None else pd.DataFrame()


def _money(
    feats: dict[str, object],
    finance: pd.DataFrame,
    codes: np.ndarray,
    inv: activity.Invoices,
    n: int,
    month: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Revenue, cost and acquisition-cost features.

    Returns the accounts x 24 revenue matrix, the accounts x 24 activity matrix (revenue or
    cost of delivery) and the first and last active month of each account's history.
    """
    months = period_months(finance["period"]) if "period" in finance.columns else codes * 0
    before = months < month
    revenue = numbers(finance, "revenue", 0.0)
    cost = numbers(finance, "cost_of_delivery", 0.0)
    has_fin = per_account(codes, n, where=before) > 0
    # Invoices count only for accounts without any finance row: select those rows first.
    inv_rows = np.flatnonzero(
        ~inv.void & (inv.issue != NO_DAY) & ~has_fin[np.maximum(inv.codes, 0)]
    )
    inv_codes, inv_amount = inv.codes[inv_rows], inv.amount[inv_rows]
    inv_months = month_of_day(inv.issue[inv_rows])
    rev24 = _monthly(codes, months, revenue, n, month)
    rev24 += _monthly(inv_codes, inv_months, inv_amount, n, month)  # in place: no third matrix
    active24 = (rev24 > 0) | _active(codes, months, cost, n, month)
    recent = (months >= month - 12) & before
    feats["cost_of_delivery_12m"] = np.where(has_fin, per_account(codes, n, cost, recent), np.nan)
    feats["sales_cost_12m"] = _optional_sum(finance, "cost_of_sales", codes, n, recent)
    inv_life = per_account(inv_codes, n, inv_amount, inv_months < month)
    feats["revenue_lifetime"] = per_account(codes, n, revenue, before) + inv_life
    cost_life = per_account(codes, n, cost, before)
    feats["cost_of_delivery_lifetime"] = cost_life
    feats["margin_lifetime"] = np.where(has_fin, feats["revenue_lifetime"] - cost_life, np.nan)
    feats["finance_acquisition_cost"] = _acquisition_cost(finance, codes, n, before)
    feats["has_finance"] = has_fin
    fin_active = before & ((revenue > 0) | (cost > 0))
    inv_active = (inv_months < month) & (inv_amount > 0)
    first, last = _first_last(
        np.concatenate([codes[fin_active], inv_codes[inv_active]]),
        np.concatenate([months[fin_active], inv_months[inv_active]]), n,
    )  # fmt: skip
    return rev24, active24, first, last


def _optional_sum(
    finance: pd.DataFrame, name: str, codes: np.ndarray, n: int, where: np.ndarray
) -> np.ndarray:
    """Per-account sum of an optional finance column (0 without the column: no copy of zeros
    a row long is made)."""
    if name not in finance.columns:
        return np.zeros(n)
    return per_account(codes, n, numbers(finance, name, 0.0), where)


def _acquisition_cost(
    finance: pd.DataFrame, codes: np.ndarray, n: int, before: np.ndarray
) -> np.ndarray:
    """Acquisition cost summed per account; empty where an account has none."""
    if "acquisition_cost" not in finance.columns:
        return np.full(n, np.nan)
    acq = numbers(finance, "acquisition_cost")
    has_acq = per_account(codes, n, where=before & ~np.isnan(acq)) > 0
    acq_sum = per_account(codes, n, np.nan_to_num(acq), before)
    return np.where(has_acq, acq_sum, np.nan)


def _active(
    codes: np.ndarray, months: np.ndarray, cost: np.ndarray, n: int, month: int
) -> np.ndarray:
    """An accounts x 24 matrix: True in the months with cost of delivery (bools, not sums)."""
    keep = (codes >= 0) & (months >= month - WINDOW) & (months < month) & (cost > 0)
    flat = np.zeros(n * WINDOW, dtype=bool)
    flat[codes[keep] * WINDOW + (months[keep] - (month - WINDOW))] = True
    return flat.reshape(n, WINDOW)


def _first_last(codes: np.ndarray, months: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last month per account code (NO_DAY where none); codes -1 drop out."""
    keep = codes >= 0
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, NO_DAY, dtype=np.int64)
    np.minimum.at(first, codes[keep], months[keep])
    np.maximum.at(last, codes[keep], months[keep])
    return np.where(last == NO_DAY, NO_DAY, first), last


def _monthly(
    codes: np.ndarray,
    months: np.ndarray,
    values: np.ndarray,
    n: int,
    month: int,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """An accounts x 24 matrix of sums per month; column 23 is the month before as_of."""
    keep = (codes >= 0) & (months >= month - WINDOW) & (months < month)
    if where is not None:
        keep &= where
    # Rows outside the window go to one extra bin (cut off) instead of being copied out.
    flat = np.where(keep, codes * WINDOW + (months - (month - WINDOW)), n * WINDOW)
    weights = np.where(keep, hundredths(values), 0.0)
    del keep
    counted = np.bincount(flat, weights=weights, minlength=n * WINDOW + 1)[: n * WINDOW]
    del flat, weights
    sums: np.ndarray = counted.astype(np.float64, copy=False)  # empty input counts as integers
    sums /= 100.0
    return sums.reshape(n, WINDOW)


def _attributes(accounts: pd.DataFrame, model: ValueModel) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in ("industry", "region", *model.attributes):
        values = accounts[name] if name in accounts.columns else pd.Series([None] * len(accounts))
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[name] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = pd.Categorical(values.astype(object).where(values.notna(), None))
    employees = numbers(accounts, "employees")
    out["employees"] = employees
    out["annual_revenue"] = numbers(accounts, "annual_revenue")
    out["size_band"] = size_bands(employees, model.size_bands)
    out.update(_advocacy(accounts, model))
    out["created_day"] = day_numbers(
        accounts["created_at"] if "created_at" in accounts.columns else None, len(accounts)
    )
    return out


def size_band_labels(edges: tuple[int, ...]) -> list[str]:
    """Band names for employee-count edges, e.g. (50, 250) -> 1-49, 50-249, 250+."""
    lows = [1, *edges]
    return [f"{lo}-{hi - 1}" for lo, hi in zip(lows, edges, strict=False)] + [f"{lows[-1]}+"]


def size_bands(employees: np.ndarray, edges: tuple[int, ...]) -> pd.Categorical:
    """The size band of each employee count; empty where the count is."""
    labels = size_band_labels(edges)
    codes = np.searchsorted(np.asarray(edges, dtype=np.float64), employees, side="right")
    codes = np.where(np.isnan(employees), -1, codes)
    return pd.Categorical.from_codes(codes, categories=labels)


def _advocacy(accounts: pd.DataFrame, model: ValueModel) -> dict[str, np.ndarray]:
    """Each mapped signal; advocacy_points = points per signal (counts up to 3), max 100."""
    out: dict[str, np.ndarray] = {}
    total = np.zeros(len(accounts))
    seen = np.zeros(len(accounts), dtype=bool)
    for name in ADVOCACY_SIGNALS:
        values = truth_values(accounts, name)
        out[name] = values
        per_item = model.advocacy_points.get(name, 0.0)  # type: ignore[call-overload]
        cap = 1.0 if name in ("reference_customer", "case_study") else 3.0
        total += per_item * np.clip(np.nan_to_num(values), 0, cap)
        seen |= ~np.isnan(values)
    out["advocacy_points"] = np.where(seen, np.minimum(total, 100.0), np.nan)
    return out


def _derived(out: pd.DataFrame, accounts: pd.DataFrame, month: int, model: ValueModel) -> None:
    rev, prior = out["revenue_12m"].to_numpy(), out["revenue_prior_12m"].to_numpy()
    has_rev = rev > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out["margin_12m"] = rev - out["cost_of_delivery_12m"].to_numpy()
        out["margin_pct"] = np.where(has_rev, out["margin_12m"] / rev, np.nan)
        out["growth"] = np.where(prior > 0, (rev - prior) / prior, np.nan)
        out["service_cost_pct"] = np.where(has_rev, out["cost_to_serve_12m"] / rev, np.nan)
        out["net_margin_12m"] = out["margin_12m"] - out["cost_to_serve_12m"]
        for count, rate in (
            ("escalations_12m", "escalations_per_100k"),
            ("special_requests_12m", "special_requests_per_100k"),
        ):
            out[rate] = np.where(has_rev, out[count].to_numpy() / rev * 1e5, np.nan)
        out["purchase_frequency"] = (
            out["months_with_revenue_12"].to_numpy() * 12.0 / out["months_observed"].to_numpy()
        )
    out["recurrence"] = out["months_with_revenue_24"] / WINDOW
    created = out.pop("created_day").to_numpy()
    created_month = np.where(created != NO_DAY, month_of_day(created), NO_DAY)
    since_created = np.where(created != NO_DAY, month - created_month, np.nan)
    tenure = np.fmax(since_created, out["months_since_first_active"].to_numpy())
    out["tenure_months"] = np.where(tenure > 0, tenure, np.nan).astype(np.float64)
    # A customer has revenue or delivery cost before as_of; cost alone is a customer that
    # loses money, not a prospect.
    customer = (out["revenue_lifetime"].to_numpy() > 0) | (
        out.pop("cost_of_delivery_lifetime").to_numpy() > 0
    )
    out["is_customer"] = customer
    out["lifecycle"] = pd.Categorical.from_codes(
        np.where(customer, 0, 1), categories=["customer", "prospect"]
    )
    bands = out["size_band"].cat
    cac = [model.clv.segment_cac.get(str(c), model.clv.default_cac) for c in bands.categories]
    typical = np.append(np.asarray(cac, dtype=np.float64), model.clv.default_cac)[bands.codes]
    acq = out.pop("finance_acquisition_cost").to_numpy()
    out["typical_cac"] = typical
    out["acquisition_cost"] = np.where(np.isnan(acq), typical, acq)
    out["acquisition_cost_source"] = np.where(np.isnan(acq), "segment", "finance")
    out["advocacy_value_per_year"] = advocacy_value(out, model)


def advocacy_value(out: pd.DataFrame, model: ValueModel) -> np.ndarray:
    """Advocacy in money a year: referrals a year x the CAC each saves, plus references and
    case studies at the model's yearly values (empty where no signal is mapped)."""
    clv = model.clv
    years = np.maximum(np.nan_to_num(out["tenure_months"].to_numpy(), nan=12.0) / 12.0, 1.0)
    referrals = out["referrals"].to_numpy()
    per_referral = out["typical_cac"].to_numpy() if clv.referrals_save_cac else 0.0
    parts = (
        np.clip(referrals, 0, None) / years * per_referral,
        np.clip(out["reference_customer"].to_numpy(), 0, 1) * clv.reference_value_per_year,
        np.clip(out["case_study"].to_numpy(), 0, 1) * clv.case_study_value_per_year,
    )
    known = np.zeros(len(out), dtype=bool)
    total = np.zeros(len(out))
    for part in parts:
        known |= ~np.isnan(part)
        total += np.nan_to_num(part)
    return np.where(known, total, np.nan)
