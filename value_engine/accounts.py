"""Scores, lifetime value and quadrants for every account (customers and new logos).

Customers (accounts with revenue before as_of) are scored on their own features; the
percentiles and the quadrant thresholds use the customers only. Accounts without revenue
are new logos: their value is predicted from look-alike customers (value_engine.lookalike)
with their open pipeline as the deal amount, their fit from the ICP criteria alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from value_engine import clv as clv_mod
from value_engine.lookalike import predict
from value_engine.model import ValueModel
from value_engine.quadrants import Cuts, assign, thresholds
from value_engine.scoring import AxisScores, axis_scores

COST_COLUMNS = ("cost_to_serve_12m", "cost_to_serve_lifetime", "service_cost_pct")


@dataclass(frozen=True)
class Scored:
    """The scored accounts: `table` (one row per account) and what explains it."""

    table: pd.DataFrame
    work: pd.DataFrame
    value: AxisScores
    fit: AxisScores
    icp: AxisScores
    cuts: Cuts


def score_accounts(
    features: pd.DataFrame,
    model: ValueModel,
    previous: pd.Series | None = None,
    horizon: int | None = None,
    cost_multiplier: float = 1.0,
) -> Scored:
    """Value, fit, lifetime value and computed quadrant of every account."""
    work = with_cost_multiplier(features, cost_multiplier)
    life = clv_mod.lifetime_value(work, model.clv, horizon)
    for name in life.columns:
        work[name] = life[name].to_numpy()
    customers = work["is_customer"].to_numpy()
    value = axis_scores(work, model.value, customers)
    fit = axis_scores(work, model.fit, customers)
    icp = axis_scores(work, model.fit, customers, icp_only=True)
    table = pd.DataFrame({"account_id": work["account_id"]})
    table["value_score"] = value.score
    table["fit_score"] = np.where(customers, fit.score, icp.score)
    for name in ("clv", "clv_gross", "max_acquisition_cost", "monthly_retention"):
        table[name] = work[name].to_numpy()
    table["predicted"] = ~customers
    table["lookalike_size"] = 0
    table["lookalike_level"] = -1
    _predict_new_logos(table, work, model, customers)
    cuts = thresholds(table["value_score"].to_numpy(), table["fit_score"].to_numpy(), customers,
                      model.quadrants)  # fmt: skip
    table["computed_quadrant"] = assign(
        table["value_score"].to_numpy(), table["fit_score"].to_numpy(), cuts, model.quadrants,
        previous,
    )  # fmt: skip
    return Scored(table, work, value, fit, icp, cuts)


def with_cost_multiplier(features: pd.DataFrame, multiplier: float) -> pd.DataFrame:
    """A shallow copy of the features with every cost-to-serve figure scaled (what-if)."""
    work = features.copy(deep=False)
    if multiplier != 1.0:
        for name in COST_COLUMNS:
            work[name] = work[name].to_numpy() * multiplier
        work["net_margin_12m"] = work["margin_12m"] - work["cost_to_serve_12m"]
    return work


def _predict_new_logos(
    table: pd.DataFrame, work: pd.DataFrame, model: ValueModel, customers: np.ndarray
) -> None:
    new = ~customers
    if not new.any():
        return
    pool = work.loc[customers, ["industry", "size_band", "revenue_12m", "clv_gross"]].copy()
    pool["value_score"] = table["value_score"].to_numpy()[customers]
    targets = work.loc[new, ["industry", "size_band"]]
    amount = work.loc[new, "open_pipeline"].to_numpy()
    pred = predict(pool, targets, amount, model.lookalike.min_group_size)
    gross = pred["clv_gross"].to_numpy()
    idx = np.flatnonzero(new)
    cols = {
        "value_score": pred["value_score"].to_numpy(),
        "clv": gross,
        "clv_gross": gross,
        "max_acquisition_cost": np.maximum(gross, 0.0) / model.clv.target_ltv_to_cac,
        "monthly_retention": np.nan,
        "lookalike_size": pred["lookalike_size"].to_numpy(),
    }
    for name, values in cols.items():
        column = table[name].to_numpy(copy=True)
        column[idx] = values
        table[name] = column
    level = table["lookalike_level"].to_numpy(copy=True)
    level[idx] = pred["lookalike_level"].to_numpy()
    table["lookalike_level"] = level
