"""Margin-based customer lifetime value over a horizon, discounted; acquisition cost.

In plain words, for each account:

1. Expected monthly contribution  m = (margin_12m - cost_to_serve_12m) / 12
   (last year's contribution margin after the cost of serving the account, per month).
2. Monthly retention  r = (kept + k x p0) / (base + k), the account's own history:
   `base` = months with revenue in the last 24 that had a following month in the window,
   `kept` = how many of those were followed by another month with revenue; p0 =
   model.clv.prior_monthly_retention and k = prior_strength_months act as k months of
   typical behaviour, so a short history leans on the prior and a long one on itself.
   r is the chance that a paying month is followed by another paying month.
3. Monthly discount  d = (1 + discount_rate)^(1/12) - 1 (10 % a year -> 0.797 % a month).
4. Gross lifetime value over H = horizon_months months:
       clv_gross = sum over t = 1..H of  m x r^t / (1 + d)^t
                 = m x q x (1 - q^H) / (1 - q),  with q = r / (1 + d).
   For m > 0 every extra month adds a positive term, so a longer horizon never lowers it.
5. Unrecovered acquisition cost = max(0, acquisition_cost - max(0, margin_lifetime -
   cost_to_serve_lifetime)): what the contribution earned so far has not yet paid back.
6. clv = clv_gross - unrecovered acquisition cost.
7. max_acquisition_cost = max(0, clv_gross) / target_ltv_to_cac: what winning such a
   customer may cost at the target LTV:CAC ratio (3 by default). It uses the value before
   acquisition cost, as LTV:CAC ratios conventionally do.

An account without cost-of-delivery data has no margin, so its lifetime value is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine.model import Clv


def monthly_retention(features: pd.DataFrame, clv: Clv) -> np.ndarray:
    """r = (kept + k x p0) / (base + k), see the module docstring."""
    k, p0 = clv.prior_strength_months, clv.prior_monthly_retention
    kept = features["retention_kept"].to_numpy()
    base = features["retention_base"].to_numpy()
    if k == 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(base > 0, np.minimum(kept / base, 0.999), p0)
    return (kept + k * p0) / (base + k)


def annuity(retention: np.ndarray, clv: Clv, horizon: int | None = None) -> np.ndarray:
    """Sum over t = 1..H of (r / (1 + d))^t: the discounted expected months of contribution."""
    h = clv.horizon_months if horizon is None else horizon
    monthly_discount = (1.0 + clv.discount_rate) ** (1.0 / 12.0)
    q = retention / monthly_discount
    with np.errstate(invalid="ignore", divide="ignore"):
        closed_form = q * (1.0 - q**h) / (1.0 - q)
    return np.where(np.isclose(q, 1.0), float(h), closed_form)


def lifetime_value(
    features: pd.DataFrame, clv: Clv, horizon: int | None = None, cost_multiplier: float = 1.0
) -> pd.DataFrame:
    """monthly_retention, clv_gross, clv and max_acquisition_cost for every account."""
    cts_12m = features["cost_to_serve_12m"].to_numpy() * cost_multiplier
    cts_life = features["cost_to_serve_lifetime"].to_numpy() * cost_multiplier
    monthly = (features["margin_12m"].to_numpy() - cts_12m) / 12.0
    retention = monthly_retention(features, clv)
    gross = monthly * annuity(retention, clv, horizon)
    recovered = np.maximum(features["margin_lifetime"].to_numpy() - cts_life, 0.0)
    unrecovered = np.maximum(features["acquisition_cost"].to_numpy() - recovered, 0.0)
    return pd.DataFrame(
        {
            "monthly_retention": retention,
            "clv_gross": gross,
            "clv": gross - np.nan_to_num(unrecovered),
            "max_acquisition_cost": np.maximum(gross, 0.0) / clv.target_ltv_to_cac,
        }
    )
