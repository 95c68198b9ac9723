"""Segments x value-chain activities: what acquisition, sales, delivery and service cost.

A segment is the combination of the model's `value_chain.segment_by` columns (default
industry x size band), e.g. "Machinery | 50-249"; an account with an empty key column is
in the segment "unknown". Per customer and per segment, over the last 12 months:

- delivery: cost of delivery (finance); gross margin = revenue - delivery.
- acquisition: acquisition cost / value_chain.acquisition_years (what winning the
  customer costs per year of the relationship).
- sales: cost of sales (finance column cost_of_sales) + clv.account_management_cost_per_year.
- service: cost to serve (tickets, escalations, hours).

Alignment = 1 - (acquisition + sales + service) / gross margin, between 0 and 1: the share
of the margin the account (or the segment, from its sums) keeps after the activities
that sell to and serve it. 1: selling and serving cost nothing next to the margin; 0: they
eat all of it, or there is no margin. `chain_alignment` is the account's own,
`segment_alignment` its segment's (also for prospects, whose segment has customers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine.model import ValueModel

UNKNOWN = "unknown"


def segment_labels(features: pd.DataFrame, keys: tuple[str, ...]) -> pd.Categorical:
    """The segment of every account: its key values joined with ' | '.

    Built from the codes of each key column, so only the distinct combinations are
    turned into text (cheap for a million accounts).
    """
    combined = np.zeros(len(features), dtype=np.int64)
    names: list[list[str]] = []
    for key in keys:
        values = features[key] if key in features.columns else pd.Series([None] * len(features))
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = [str(u) for u in uniques] + [UNKNOWN]
        codes = np.where(codes < 0, len(uniques), codes)
        combined = combined * len(texts) + codes
        names.append(texts)
    found, first = np.unique(combined, return_inverse=True)
    labels = []
    for value in found:
        parts = []
        for texts in reversed(names):
            value, code = divmod(int(value), len(texts))
            parts.append(texts[code])
        labels.append(" | ".join(reversed(parts)))
    # Two combinations may print alike (1 and "1"): the categorical merges them.
    return pd.Categorical(np.asarray(labels, dtype=object)[first.reshape(-1)])


def activity_costs(features: pd.DataFrame, model: ValueModel) -> dict[str, np.ndarray]:
    """Per account: gross margin and the yearly cost of acquisition, sales and service."""
    customer = features["is_customer"].to_numpy()
    years = model.value_chain.acquisition_years
    flat = model.clv.account_management_cost_per_year
    return {
        "revenue": features["revenue_12m"].to_numpy(),
        "delivery": features["cost_of_delivery_12m"].to_numpy(),
        "gross_margin": features["margin_12m"].to_numpy(),
        "acquisition": np.where(customer, features["acquisition_cost"].to_numpy() / years, 0.0),
        "sales": features["sales_cost_12m"].to_numpy() + np.where(customer, flat, 0.0),
        "service": features["cost_to_serve_12m"].to_numpy(),
    }


def alignment(gross: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """1 - spend / gross margin within 0-1; 0 without margin; empty where margin is unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(1.0 - spend / gross, 0.0, 1.0)
    return np.where(np.isnan(gross), np.nan, np.where(gross > 0, share, 0.0))


def add_alignment(features: pd.DataFrame, model: ValueModel) -> None:
    """Add segment, chain_alignment and segment_alignment to the features (in place)."""
    segment = segment_labels(features, model.value_chain.segment_by)
    costs = activity_costs(features, model)
    spend = costs["acquisition"] + costs["sales"] + costs["service"]
    customer = features["is_customer"].to_numpy()
    features["segment"] = segment
    features["chain_alignment"] = np.where(
        customer, alignment(costs["gross_margin"], spend), np.nan
    )
    codes = np.asarray(segment.codes, dtype=np.int64)
    k = len(segment.categories)
    known = customer & ~np.isnan(costs["gross_margin"])
    gross = np.bincount(codes[known], costs["gross_margin"][known], minlength=k)
    spent = np.bincount(codes[known], spend[known], minlength=k)
    count = np.bincount(codes[known], minlength=k)
    per_segment = np.where(count > 0, alignment(gross, spent), np.nan)
    features["segment_alignment"] = per_segment[codes] if k else np.full(len(features), np.nan)


def segment_table(
    accounts: pd.DataFrame, features: pd.DataFrame, model: ValueModel
) -> pd.DataFrame:
    """One row per segment: accounts, money per value-chain activity, alignment, LTV:CAC.

    Shares are of the segment's revenue; alignment as in the module docstring;
    ltv_to_cac = sum of ltv / sum of acquisition cost over the customers; cac_payback_months
    = their acquisition cost / their monthly contribution (empty when that is not positive).
    """
    costs = activity_costs(features, model)
    customer = features["is_customer"].to_numpy()
    frame = pd.DataFrame({
        "segment": features["segment"].to_numpy(), "customer": customer,
        "high_value": accounts["value_band"].astype(object).to_numpy() == "high",
        **{k: np.where(customer, np.nan_to_num(v), 0.0) for k, v in costs.items()},
        "clv": np.where(customer, np.nan_to_num(accounts["clv"].to_numpy()), 0.0),
        "ltv": np.where(customer, np.nan_to_num(accounts["ltv"].to_numpy()), 0.0),
        "cac": np.where(customer, features["acquisition_cost"].to_numpy(), 0.0),
        "monthly": np.where(customer, np.nan_to_num(features["monthly_contribution"]), 0.0),
    })  # fmt: skip
    grouped = frame.groupby("segment", sort=True, observed=True)
    out = grouped.agg(
        accounts=("customer", "size"), customers=("customer", "sum"),
        high_value=("high_value", "sum"), revenue_12m=("revenue", "sum"),
        delivery_cost_12m=("delivery", "sum"), gross_margin_12m=("gross_margin", "sum"),
        acquisition_cost_per_year=("acquisition", "sum"), sales_cost_12m=("sales", "sum"),
        service_cost_12m=("service", "sum"), clv=("clv", "sum"), ltv=("ltv", "sum"),
        cac=("cac", "sum"), monthly=("monthly", "sum"),
    )  # fmt: skip
    spend = out["acquisition_cost_per_year"] + out["sales_cost_12m"] + out["service_cost_12m"]
    out["net_contribution_12m"] = out["gross_margin_12m"] - spend
    with np.errstate(invalid="ignore", divide="ignore"):
        revenue = out["revenue_12m"].where(out["revenue_12m"] > 0)
        for name, column in (
            ("delivery", "delivery_cost_12m"),
            ("acquisition", "acquisition_cost_per_year"),
            ("sales", "sales_cost_12m"),
            ("service", "service_cost_12m"),
        ):
            out[f"{name}_share"] = out[column] / revenue
        out["alignment"] = alignment(out["gross_margin_12m"].to_numpy(), spend.to_numpy())
        out["ltv_to_cac"] = (out["ltv"] / out["cac"].where(out["cac"] > 0)).to_numpy()
        out["cac_payback_months"] = out["cac"] / out["monthly"].where(out["monthly"] > 0)
    out["alignment"] = out["alignment"].where(out["customers"] > 0)
    out = out.drop(columns=["monthly", "ltv"]).rename(columns={"cac": "acquisition_cost"})
    return out.reset_index()
