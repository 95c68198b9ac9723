"""Forward-looking customer lifetime value over a horizon, discounted; LTV:CAC and payback.

In plain words, for each account (docs/value-model.md has the same with examples):

1. Monthly contribution  m = (margin_12m - cost_to_serve_12m - sales_cost_12m) /
   months_observed - account_management_cost_per_year / 12 + advocacy_value_per_year / 12.
   months_observed is 12 for customers active a year or longer and the months actually
   covered for younger ones (value_engine.history), so a short history counts at its own
   run-rate, and billing monthly, quarterly or yearly gives the same m.
2. Probability of still being active  p = 0.5 ^ (overdue / (cycle x half_life)), with
   overdue = max(0, months_since_active - cycle) and cycle the account's purchase cycle (12
   when unknown): each purchase cycle without activity beyond the expected one halves it.
3. Survival: retention rises with tenure, because customers likely to leave leave early
   (shifted-beta-geometric). With p0 = prior_monthly_retention and k =
   prior_strength_months, the chance that a customer of tenure t stays one more month is
   r(t) = (k p0 + t) / (k + t): p0 for a new customer, halfway to 1 after k months.
   S(s) = r(t) x r(t + 1) x ... x r(t + s - 1) is the chance to still be there in s months.
4. clv = sum over s = 1..H of  m x p x S(s) / (1 + d)^s, d the monthly discount rate
   ((1 + discount_rate)^(1/12) - 1), H = horizon_months. It is forward value only:
   acquisition cost already paid is sunk and not subtracted. clv_gross equals clv.
5. max_acquisition_cost = max(0, clv) / target_ltv_to_cac, so clv = target x max
   acquisition cost whenever clv >= 0.
6. contribution_to_date = margin_lifetime - cost_to_serve_lifetime (what the account has
   earned so far); ltv = contribution_to_date + clv (customers; prospects: clv);
   ltv_to_cac = ltv / acquisition_cost; cac_payback_months = acquisition_cost / (m
   without advocacy) when that is positive; cac_unrecovered = max(0, acquisition_cost -
   max(0, contribution_to_date)).

Method `bgnbd` replaces steps 2-4 by BG/NBD + Gamma-Gamma fitted on the customers, and
`sbg` by a shifted-beta-geometric fit of renewals (value_engine.clv_models). An account
without cost-of-delivery data has no margin, so its lifetime value is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine.model import Clv


def monthly_discount(clv: Clv) -> float:
    """The monthly discount factor 1 / (1 + d)."""
    return float(1.0 / (1.0 + clv.discount_rate) ** (1.0 / 12.0))


def monthly_contribution(
    features: pd.DataFrame, clv: Clv, cost_multiplier: float = 1.0
) -> np.ndarray:
    """m of step 1 (without advocacy: see `advocacy_per_month`)."""
    cts = features["cost_to_serve_12m"].to_numpy() * cost_multiplier
    margin = features["margin_12m"].to_numpy() - cts - features["sales_cost_12m"].to_numpy()
    flat = np.where(features["is_customer"].to_numpy(), clv.account_management_cost_per_year, 0.0)
    return np.asarray(margin / features["months_observed"].to_numpy() - flat / 12.0)


def advocacy_per_month(features: pd.DataFrame) -> np.ndarray:
    """Advocacy in money per month (0 where no signal is mapped)."""
    return np.asarray(np.nan_to_num(features["advocacy_value_per_year"].to_numpy()) / 12.0)


def active_probability(features: pd.DataFrame, clv: Clv) -> np.ndarray:
    """p of step 2; empty for accounts never active."""
    cycle = features["purchase_cycle_months"].to_numpy()
    cycle = np.where(np.isnan(cycle), 12.0, np.maximum(cycle, 1.0))
    overdue = np.maximum(features["months_since_active"].to_numpy() - cycle, 0.0)
    return np.asarray(0.5 ** (overdue / (cycle * clv.recency_half_life_cycles)))


def next_month_retention(tenure: np.ndarray, clv: Clv) -> np.ndarray:
    """r(t) of step 3."""
    k, p0 = clv.prior_strength_months, clv.prior_monthly_retention
    t = np.nan_to_num(tenure, nan=0.0)
    return np.asarray((k * p0 + t) / (k + t))


def survival_annuity(tenure: np.ndarray, clv: Clv, horizon: int) -> np.ndarray:
    """Sum over s = 1..H of S(s) / (1 + d)^s: the discounted months a customer is expected
    to stay (at most H), one vector step per month."""
    k, p0 = clv.prior_strength_months, clv.prior_monthly_retention
    t = np.nan_to_num(tenure, nan=0.0)
    q = monthly_discount(clv)
    survive = np.ones(len(t))
    total = np.zeros(len(t))
    weight = 1.0
    for s in range(horizon):
        survive *= (k * p0 + t + s) / (k + t + s)
        weight *= q
        total += survive * weight
    return total


def lifetime_value(
    features: pd.DataFrame, clv: Clv, horizon: int | None = None, cost_multiplier: float = 1.0
) -> pd.DataFrame:
    """Steps 1-6 for every account (the margin method); see the module docstring."""
    h = clv.horizon_months if horizon is None else horizon
    m = monthly_contribution(features, clv, cost_multiplier)
    alive = active_probability(features, clv)
    annuity = survival_annuity(features["tenure_months"].to_numpy(), clv, h)
    value = (m + advocacy_per_month(features)) * alive * annuity
    retention = next_month_retention(features["tenure_months"].to_numpy(), clv)
    return finish(features, clv, value, m, alive, retention, cost_multiplier)


def finish(
    features: pd.DataFrame, clv: Clv, value: np.ndarray, m: np.ndarray, alive: np.ndarray,
    retention: np.ndarray, cost_multiplier: float = 1.0,
) -> pd.DataFrame:  # fmt: skip
    """The reported columns around a lifetime value (steps 5 and 6)."""
    cts_life = features["cost_to_serve_lifetime"].to_numpy() * cost_multiplier
    to_date = features["margin_lifetime"].to_numpy() - cts_life
    customer = features["is_customer"].to_numpy()
    cac = features["acquisition_cost"].to_numpy()
    ltv = np.where(customer, to_date + value, value)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(cac > 0, ltv / cac, np.nan)
        payback = np.where(m > 0, cac / m, np.nan)
    return pd.DataFrame(
        {
            "active_probability": alive,
            "monthly_retention": retention,
            "monthly_contribution": m,
            "clv": value,
            "clv_gross": value,
            "max_acquisition_cost": np.maximum(value, 0.0) / clv.target_ltv_to_cac,
            "contribution_to_date": to_date,
            "ltv": ltv,
            "ltv_to_cac": ratio,
            "cac_payback_months": payback,
            "cac_unrecovered": np.where(
                customer, np.maximum(cac - np.maximum(np.nan_to_num(to_date), 0.0), 0.0), np.nan
            ),
        }
    )
