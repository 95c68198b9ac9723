"""Features from each account's months of activity: totals, predictability, recency, cadence.

The inputs are two accounts x 24 matrices of the 24 calendar months before as_of (column
23 is the month just ended): revenue per month, and whether the account was active
(revenue or cost of delivery) that month; plus the first and last active month of the
account's whole history.

- revenue_12m, revenue_prior_12m: sums of the last 12 and the 12 before.
- months_with_revenue_24 / _12: months with revenue in the last 24 / 12.
- revenue_cv: standard deviation / mean of monthly revenue from the first month with
  revenue in the window (at least 3 months), computed in two passes (mean first, then
  the squared deviations) and rounded to 6 decimals, so a constant revenue gives exactly 0.
- purchase_cycle_months: the average gap between active months in the window (last -
  first) / (active months - 1); empty with fewer than two. Monthly billing gives 1,
  quarterly 3, yearly 12: customer-level activity, not consecutive invoice months.
- months_since_active: months between the last active month and as_of (0: active in the
  month just ended); empty for accounts never active.
- months_observed: how many months the 12-month figures cover: 12 once the account was
  active 12 or more months ago; for a younger customer the larger of the months since its
  first active month and (active months in the last 12 x purchase cycle), at most 12. With
  fewer than two active months the cycle is unknown and taken as 12 (one purchase a year).
  Dividing 12-month money by this annualises a short history at its own run-rate.
- purchase_frequency = months_with_revenue_12 x 12 / months_observed (purchase months a
  year); avg_order_value = revenue of the 24 months / months_with_revenue_24.
- purchase_x, purchase_t_x, purchase_T: repeat purchase months, months from the first to
  the last purchase month, months from the first purchase month to as_of (window only),
  as the probabilistic models need them.
"""

from __future__ import annotations

import numpy as np

from value_engine.frames import NO_DAY

WINDOW = 24
UNKNOWN_CYCLE = 12.0


def revenue_shape(rev24: np.ndarray) -> dict[str, np.ndarray]:
    """Totals, purchase counts, predictability and order value from the revenue matrix."""
    n = rev24.shape[0]
    bought = rev24 > 0
    count24 = bought.sum(axis=1).astype(np.float64)
    first = np.where(bought.any(axis=1), bought.argmax(axis=1), WINDOW)
    last = np.where(bought.any(axis=1), WINDOW - 1 - bought[:, ::-1].argmax(axis=1), -1)
    span = (WINDOW - first).astype(np.float64)
    inside = np.arange(WINDOW)[None, :] >= first[:, None]
    total = rev24.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / span
        dev = rev24 - np.nan_to_num(mean)[:, None]  # one n x 24 matrix, then in place
        dev[~inside] = 0.0
        dev *= dev
        cv = np.sqrt(dev.sum(axis=1) / span) / mean
        aov = np.where(count24 > 0, total / count24, np.nan)
    del dev, inside
    has = count24 > 0
    return {
        "revenue_12m": rev24[:, 12:].sum(axis=1),
        "revenue_prior_12m": rev24[:, :12].sum(axis=1),
        "months_with_revenue_24": count24,
        "months_with_revenue_12": bought[:, 12:].sum(axis=1).astype(np.float64),
        "revenue_cv": np.where((span >= 3) & (mean > 0), np.round(cv, 6), np.nan),
        "active_span_24": span,
        "avg_order_value": aov,
        "purchase_x": np.where(has, count24 - 1, 0.0),
        "purchase_t_x": np.where(has, (last - first).astype(np.float64), 0.0),
        "purchase_T": np.where(has, span, 0.0) if n else span,
    }


def activity_shape(
    active24: np.ndarray, first_month: np.ndarray, last_month: np.ndarray, month: int
) -> dict[str, np.ndarray]:
    """Recency, purchase cycle and the months the 12-month figures cover."""
    any24 = active24.any(axis=1)
    count24 = active24.sum(axis=1).astype(np.float64)
    count12 = active24[:, 12:].sum(axis=1).astype(np.float64)
    first = np.where(any24, active24.argmax(axis=1), WINDOW)
    last = np.where(any24, WINDOW - 1 - active24[:, ::-1].argmax(axis=1), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cycle = np.where(count24 >= 2, (last - first) / (count24 - 1), np.nan)
    ever = first_month != NO_DAY
    since_first = np.where(ever, month - first_month, 0).astype(np.float64)
    since_last = np.where(ever, month - 1 - last_month, np.nan).astype(np.float64)
    recency = np.where(any24, (WINDOW - 1 - last).astype(np.float64), since_last)
    covered = count12 * np.where(np.isnan(cycle), UNKNOWN_CYCLE, cycle)
    young = np.clip(np.maximum(since_first, covered), 1.0, 12.0)
    observed = np.where(since_first >= 12, 12.0, young)
    return {
        "active_months_24": count24,
        "months_since_active": recency,
        "purchase_cycle_months": cycle,
        "months_observed": observed,
        "months_since_first_active": np.where(ever, since_first, np.nan),
    }
