"""The probabilistic lifetime-value methods, selected by `clv.method` in the value model.

- `bgnbd` (non-contractual buying): BG/NBD is fitted on the customers' purchase months in
  the last 24 months (x = repeat purchase months, t_x = months from the first to the last,
  T = months from the first to as_of; customers older than the window count from its
  start). Expected purchase months in each month of the horizon, discounted, times the
  expected value of a purchase month: Gamma-Gamma on each customer's average revenue per
  purchase month, times its contribution share ((margin_12m - cost_to_serve_12m -
  sales_cost_12m) / revenue_12m). The probability of still being active is BG/NBD's.
- `sbg` (contractual renewals every renewal_period_months): a customer without activity
  for longer than a period has left (after the periods it completed); the others are
  active. sBG is fitted on those periods; an active customer's chance of still being
  there in s months is B(a, b + n + s / P) / B(a, b + n) with n completed periods and P the
  period, applied to the monthly contribution of the margin method.

With fewer than clv.min_fit_customers customers to fit on, the margin method is used and
`clv_method` says so for every account.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine import clv as margin
from value_engine.model import Clv
from value_engine.probabilistic import (
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_sbg,
    probability_alive,
    sbg_survival,
)


def lifetime_value(
    features: pd.DataFrame, clv: Clv, horizon: int | None = None, cost_multiplier: float = 1.0
) -> pd.DataFrame:
    """The lifetime-value columns of value_engine.clv by the model's method, plus clv_method."""
    h = clv.horizon_months if horizon is None else horizon
    customer = features["is_customer"].to_numpy()
    method = clv.method
    if method == "bgnbd":
        fit_rows = customer & (features["purchase_T"].to_numpy() > 0)
    else:
        fit_rows = customer & ~np.isnan(features["months_since_active"].to_numpy())
    if method != "margin" and int(fit_rows.sum()) < clv.min_fit_customers:
        method = "margin"
    if method == "bgnbd":
        out = _bgnbd(features, clv, h, cost_multiplier, fit_rows)
    elif method == "sbg":
        out = _sbg(features, clv, h, cost_multiplier, fit_rows)
    else:
        out = margin.lifetime_value(features, clv, h, cost_multiplier)
    out["clv_method"] = method
    return out


def _bgnbd(
    features: pd.DataFrame, clv: Clv, h: int, multiplier: float, rows: np.ndarray
) -> pd.DataFrame:
    x, t_x, big_t = (features[c].to_numpy() for c in ("purchase_x", "purchase_t_x", "purchase_T"))
    params = fit_bgnbd(x[rows], t_x[rows], big_t[rows])
    aov = features["avg_order_value"].to_numpy()
    spend_rows = rows & (x > 0) & (aov > 0)
    spend = np.full(len(x), np.nan)
    if spend_rows.sum() >= 2:
        gg = fit_gamma_gamma(x[spend_rows], aov[spend_rows])
        spend = expected_spend(gg, x, np.nan_to_num(aov))
    spend = np.where(np.isnan(spend), aov, spend)
    m = margin.monthly_contribution(features, clv, multiplier)
    rev = features["revenue_12m"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(rev > 0, m * features["months_observed"].to_numpy() / rev, np.nan)
    q = margin.monthly_discount(clv)
    discounted = np.zeros(len(x))
    before = np.zeros(len(x))
    safe_t = np.where(big_t > 0, big_t, 1.0)
    for s in range(1, h + 1):
        now = expected_purchases(params, float(s), x, t_x, safe_t)
        discounted += (now - before) * q**s
        before = now
    alive = np.where(big_t > 0, probability_alive(params, x, t_x, safe_t), np.nan)
    value = np.where(big_t > 0, discounted * spend * share, np.nan)
    extra = (
        margin.advocacy_per_month(features)
        * alive
        * margin.survival_annuity(features["tenure_months"].to_numpy(), clv, h)
    )
    value = value + extra
    retention = margin.next_month_retention(features["tenure_months"].to_numpy(), clv)
    return margin.finish(features, clv, value, m, alive, retention, multiplier)


def _sbg(
    features: pd.DataFrame, clv: Clv, h: int, multiplier: float, rows: np.ndarray
) -> pd.DataFrame:
    period = float(clv.renewal_period_months)
    tenure = np.nan_to_num(features["tenure_months"].to_numpy(), nan=0.0)
    recency = features["months_since_active"].to_numpy()
    left = recency > period
    completed = np.floor(np.where(left, np.maximum(tenure - recency, 0.0), tenure) / period)
    params = fit_sbg(completed[rows], left[rows])
    q = margin.monthly_discount(clv)
    annuity = np.zeros(len(tenure))
    for s in range(1, h + 1):
        annuity += sbg_survival(params.a, params.b, completed, s / period) * q**s
    alive = np.where(np.isnan(recency), np.nan, np.where(left, 0.0, 1.0))
    m = margin.monthly_contribution(features, clv, multiplier)
    value = (m + margin.advocacy_per_month(features)) * alive * annuity
    retention = sbg_survival(params.a, params.b, completed, 1.0 / period)
    return margin.finish(features, clv, value, m, alive, retention, multiplier)
