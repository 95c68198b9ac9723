"""Scores, lifetime value and quadrants for every account (customers and new logos).

Customers (accounts with revenue or delivery cost before as_of) are scored on their own
features; the percentiles and the quadrant thresholds use the customers only. Accounts
with neither are prospects (new logos): their value is predicted from look-alike
customers (value_engine.lookalike) with their open pipeline as the deal amount, their fit
from the criteria known before a purchase.

Economic guardrails: an account is on the high-value side only when its value score is at
or above the threshold and it passes the floors (quadrants.floors): it is not loss-making
(margin_12m, monthly contribution and lifetime value all >= 0), its lifetime value and
margin are at least min_clv and min_margin, and it is at least min_active_probability
likely to still be active. An empty figure (no cost data) passes the floor it is
compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from value_engine import clv_models
from value_engine.guardrails import loss_making, passes_floors
from value_engine.lookalike import CONFIDENCE, predict
from value_engine.model import ValueModel
from value_engine.quadrants import Cuts, assign, thresholds
from value_engine.scoring import AxisScores, axis_scores
from value_engine.valuechain import add_alignment

COST_COLUMNS = ("cost_to_serve_12m", "cost_to_serve_lifetime", "service_cost_pct")
LIFE_COLUMNS = ("clv", "clv_gross", "max_acquisition_cost", "monthly_retention",
                "active_probability", "ltv", "ltv_to_cac", "cac_payback_months",
                "contribution_to_date", "cac_unrecovered", "clv_method")  # fmt: skip


@dataclass(frozen=True)
class Scored:
    """The scored accounts: `table` (one row per account) and what explains it."""

    table: pd.DataFrame
    work: pd.DataFrame
    value: AxisScores
    fit: AxisScores
    icp: AxisScores
    cuts: Cuts

    def scores_only(self) -> Scored:
        """The same result without the per-criterion matrices of the three scores."""
        return replace(
            self, value=self.value.scores_only(), fit=self.fit.scores_only(),
            icp=self.icp.scores_only(),
        )  # fmt: skip


def score_accounts(
    features: pd.DataFrame,
    model: ValueModel,
    previous: pd.Series | None = None,
    horizon: int | None = None,
    cost_multiplier: float = 1.0,
) -> Scored:
    """Value, fit, lifetime value and computed quadrant of every account."""
    work = with_cost_multiplier(features, cost_multiplier)
    if cost_multiplier != 1.0:
        add_alignment(work, model)  # the cost of service is one of the value-chain activities
    life = clv_models.lifetime_value(work, model.clv, horizon)
    for name in life.columns:
        work[name] = life[name].to_numpy()
    customers = work["is_customer"].to_numpy()
    value_axis, fit_axis = model.axes()
    value = axis_scores(work, value_axis, customers)
    fit = axis_scores(work, fit_axis, customers)
    icp = axis_scores(work, fit_axis, customers, icp_only=True)
    table = pd.DataFrame({"account_id": work["account_id"]})
    table["value_score"] = value.score
    table["fit_score"] = np.where(customers, fit.score, icp.score)
    for name in LIFE_COLUMNS:
        table[name] = work[name].to_numpy()
    table["predicted"] = ~customers
    table["lookalike_size"] = 0
    table["lookalike_level"] = -1
    table["lookalike_confidence"] = np.full(len(table), None, dtype=object)
    _predict_new_logos(table, work, model, customers)
    table["lookalike_confidence"] = pd.Categorical(
        table["lookalike_confidence"], categories=list(CONFIDENCE)
    )
    for name in ("clv", "ltv", "ltv_to_cac", "max_acquisition_cost"):
        work[name] = table[name].to_numpy()
    work["loss_making"] = loss_making(work)
    work["economic_ok"] = passes_floors(work, model.quadrants.floors)
    cuts = thresholds(table["value_score"].to_numpy(), table["fit_score"].to_numpy(), customers,
                      model.quadrants)  # fmt: skip
    table["computed_quadrant"] = assign(
        table["value_score"].to_numpy(), table["fit_score"].to_numpy(), cuts, model.quadrants,
        previous, allowed_high=work["economic_ok"].to_numpy(),
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
    cac = work["typical_cac"].to_numpy()[new]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(cac > 0, gross / cac, np.nan)
    cols = {
        "value_score": pred["value_score"].to_numpy(),
        "clv": gross,
        "clv_gross": gross,
        "ltv": gross,
        "ltv_to_cac": ratio,
        "max_acquisition_cost": np.maximum(gross, 0.0) / model.clv.target_ltv_to_cac,
        "monthly_retention": np.nan,
        "lookalike_size": pred["lookalike_size"].to_numpy(),
        "lookalike_level": pred["lookalike_level"].to_numpy(),
        "lookalike_confidence": np.asarray(pred["lookalike_confidence"], dtype=object),
    }
    idx = np.flatnonzero(new)
    for name, values in cols.items():
        column = table[name].to_numpy(copy=True)
        column[idx] = values
        table[name] = column
