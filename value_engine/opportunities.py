"""Opportunity scores: an existing customer's deal carries its account; a new logo's is predicted.

An opportunity of an account with revenue before as_of carries that account's quadrant,
scores, lifetime value, maximum acquisition cost, account rule outputs and reason. Any
other opportunity (a new logo, or an account the CRM does not know) gets a predicted value
from look-alike customers scaled by its own amount, a fit score from the ICP criteria
alone, the quadrant those two give, and predicted = true. Then the opportunity rules
(Deal Priority, ...) run on the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine import explain
from value_engine.accounts import Scored
from value_engine.catalog import OPPORTUNITY_COLUMNS
from value_engine.frames import AccountIndex, account_codes, numbers
from value_engine.lookalike import LEVEL_TEXT, predict
from value_engine.model import ValueModel
from value_engine.quadrants import assign, bands
from value_engine.rules import apply_rules
from value_engine.scoring import axis_scores, is_icp_criterion

CARRIED = ("value_score", "fit_score", "clv", "clv_gross", "max_acquisition_cost", "quadrant",
           "computed_quadrant", "value_band", "fit_band", "reason")  # fmt: skip


def score_opportunities(
    opps: pd.DataFrame, accounts: pd.DataFrame, scored: Scored, index: AccountIndex,
    model: ValueModel,
) -> pd.DataFrame:  # fmt: skip
    """One row per opportunity (sorted by opportunity_id) with scores, rules and reason."""
    if "opportunity_id" in opps.columns:
        opps = opps.sort_values("opportunity_id", kind="stable").reset_index(drop=True)
    codes = account_codes(opps, index)
    known = codes >= 0
    safe = np.where(known, codes, 0)
    customer = known & scored.work["is_customer"].to_numpy()[safe]
    table = pd.DataFrame({"opportunity_id": _col(opps, "opportunity_id")})
    table["account_id"] = _col(opps, "account_id")
    for name in OPPORTUNITY_COLUMNS:
        if name in opps.columns:
            table[name] = opps[name].to_numpy()
    account_fields = list(CARRIED) + [r.field for r in model.rules if r.target == "accounts"]
    for name in account_fields:
        table[name] = _carry(accounts[name], safe, customer)
    table["predicted"] = ~customer
    table["lookalike_size"] = 0
    if (~customer).any():
        _predict(table, opps, codes, ~customer, scored, model)
    return apply_rules(table, model, "opportunities")


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy()
    return np.full(len(frame), None, dtype=object)


def _carry(column: pd.Series, codes: np.ndarray, keep: np.ndarray) -> pd.Categorical | np.ndarray:
    """The account's value for each opportunity where `keep`, empty elsewhere."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.array
        taken = np.where(keep, cat.codes[codes], -1)
        return pd.Categorical.from_codes(taken, dtype=cat.dtype)
    values = column.to_numpy()
    if values.dtype.kind == "f":
        return np.where(keep, values[codes], np.nan)
    return np.where(keep, values[codes], None)


def _predict(
    table: pd.DataFrame, opps: pd.DataFrame, codes: np.ndarray, new: np.ndarray, scored: Scored,
    model: ValueModel,
) -> None:  # fmt: skip
    work, n_acc = scored.work, len(scored.work)
    customers = work["is_customer"].to_numpy()
    icp_cols = {"industry", "size_band"} | {
        c.feature for c in model.fit.criteria if is_icp_criterion(c)
    }
    attrs = work[sorted(icp_cols)].reindex(np.arange(n_acc + 1))  # the last row is empty
    rows = np.where(codes >= 0, codes, n_acc)[new]
    targets = attrs.iloc[rows].reset_index(drop=True)
    pool = work.loc[customers, ["industry", "size_band", "revenue_12m", "clv_gross"]].copy()
    pool["value_score"] = scored.value.score[customers]
    amount = numbers(opps, "amount")[new]
    pred = predict(pool, targets, amount, model.lookalike.min_group_size)
    icp = axis_scores(targets, model.fit, customers, reference=work, icp_only=True)
    value = pred["value_score"].to_numpy()
    quadrant = assign(value, icp.score, scored.cuts, model.quadrants, None)
    vband, fband = bands(quadrant, model.quadrants)
    gross = pred["clv_gross"].to_numpy()
    updates = {
        "value_score": value, "fit_score": icp.score, "clv": gross, "clv_gross": gross,
        "max_acquisition_cost": np.maximum(gross, 0.0) / model.clv.target_ltv_to_cac,
        "quadrant": quadrant, "computed_quadrant": quadrant, "value_band": vband,
        "fit_band": fband, "lookalike_size": pred["lookalike_size"].to_numpy(),
    }  # fmt: skip
    prefix = lookalike_prefix(pred["lookalike_level"].to_numpy(), pred["lookalike_size"].to_numpy())
    updates["reason"] = explain.reasons(targets, [icp], model.currency, prefix=prefix, slots=2)
    idx = np.flatnonzero(new)
    for name, values in updates.items():
        _put(table, name, idx, values)


def _put(table: pd.DataFrame, name: str, idx: np.ndarray, values: object) -> None:
    column = table[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.array.codes.copy()
        codes[idx] = pd.Categorical(values, dtype=column.dtype).codes
        table[name] = pd.Categorical.from_codes(codes, dtype=column.dtype)
        return
    array = column.to_numpy(copy=True)
    array[idx] = np.asarray(values)
    table[name] = array


def lookalike_prefix(level: np.ndarray, size: np.ndarray) -> np.ndarray:
    """'New logo: predicted from 42 look-alike customers (same industry)' per row."""
    combo = level.astype(np.int64) * 10_000_000 + np.minimum(size, 9_999_999)
    codes, uniques = pd.factorize(combo)
    texts = []
    for u in uniques:
        lv, count = divmod(int(u), 10_000_000)
        if count == 0:
            texts.append("New logo: no customers to compare with yet")
        else:
            texts.append(
                f"New logo: predicted from {count} look-alike customers ({LEVEL_TEXT[lv]})"
            )
    return np.asarray(texts, dtype=object)[codes]
