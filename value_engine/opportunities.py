"""Opportunity scores: an existing customer's deal carries its account; a new logo's is predicted.

An opportunity of an account with revenue before as_of carries that account's quadrant,
scores, lifetime value, maximum acquisition cost, account rule outputs and reason. Any
other opportunity (a new logo, or an account the CRM does not know) gets a predicted value
from look-alike customers scaled by its own amount, a fit score from the ICP criteria
alone, the quadrant those two give (on the high-value side only when the predicted lifetime
value passes the floors), and predicted = true. Then the opportunity rules (Deal
Priority, ...) run on the open deals: a closed deal (won or lost) has nothing left to
decide, so its rule fields stay empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine import explain
from value_engine.accounts import Scored
from value_engine.catalog import OPPORTUNITY_COLUMNS
from value_engine.frames import flags, numbers
from value_engine.lookalike import CONFIDENCE, LEVEL_TEXT, predict
from value_engine.model import ValueModel
from value_engine.quadrants import assign, bands
from value_engine.rules import apply_rules
from value_engine.scoring import axis_scores, is_icp_criterion

CARRIED = ("value_score", "fit_score", "clv", "clv_gross", "max_acquisition_cost", "quadrant",
           "computed_quadrant", "value_band", "fit_band", "lifecycle", "loss_making",
           "ltv_to_cac")  # fmt: skip


def score_opportunities(
    opps: pd.DataFrame, codes: np.ndarray, accounts: pd.DataFrame, scored: Scored,
    model: ValueModel,
) -> pd.DataFrame:  # fmt: skip
    """One row per opportunity, in input order, with scores, rules and reason.

    `codes` holds each opportunity's account code (-1: no known account).
    """
    known = codes >= 0
    safe = np.where(known, codes, 0)
    customer = known & scored.work["is_customer"].to_numpy()[safe]
    table = pd.DataFrame(index=pd.RangeIndex(len(opps)))
    for name in ("opportunity_id", "account_id", *OPPORTUNITY_COLUMNS):
        if name in opps.columns:
            table[name] = opps[name].reset_index(drop=True)
    account_fields = list(CARRIED) + [r.field for r in model.rules if r.target == "accounts"]
    for name in account_fields:
        table[name] = _carry(accounts[name], safe, customer)
    table["predicted"] = ~customer
    table["lookalike_size"] = 0
    table["lookalike_confidence"] = pd.Categorical([None] * len(table), categories=CONFIDENCE)
    new = np.flatnonzero(~customer)
    rows = np.where(customer, codes, 0)
    source = accounts["reason"]
    if len(new):
        predicted = _predict(table, opps, codes, new, scored, model)
        rows[new] = len(source) + np.arange(len(new))
        source = pd.concat([source, predicted], ignore_index=True)
    # One take builds the texts: a million accounts' reasons are not copied row by row twice.
    table["reason"] = source.take(rows).reset_index(drop=True)
    out = apply_rules(table, model, "opportunities")
    closed = flags(opps, "is_closed")
    for ruleset in model.rules:
        if ruleset.target == "opportunities" and closed.any():
            out[ruleset.field] = _blank(out[ruleset.field], closed)
    return out


def _blank(column: pd.Series, rows: np.ndarray) -> pd.Categorical | np.ndarray:
    """The column with `rows` emptied."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.where(rows, -1, column.array.codes)
        return pd.Categorical.from_codes(codes, dtype=column.dtype)
    return np.where(rows, None, column.to_numpy(dtype=object))


def _carry(
    column: pd.Series, codes: np.ndarray, keep: np.ndarray
) -> pd.Categorical | pd.arrays.BooleanArray | np.ndarray:
    """The account's value for each opportunity where `keep`, empty elsewhere."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.array
        taken = np.where(keep, cat.codes[codes], -1)
        return pd.Categorical.from_codes(taken, dtype=cat.dtype)
    values = column.to_numpy()
    if values.dtype.kind == "f":
        return np.where(keep, values[codes], np.nan)
    if values.dtype.kind == "b":
        return pd.arrays.BooleanArray(np.where(keep, values[codes], False), ~keep)
    return np.where(keep, values[codes], None)


def _predict(
    table: pd.DataFrame, opps: pd.DataFrame, codes: np.ndarray, new: np.ndarray, scored: Scored,
    model: ValueModel,
) -> pd.Series:  # fmt: skip
    """Fill the predicted columns of the new-logo rows `new`; return their reasons."""
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
    gross = pred["clv_gross"].to_numpy()
    floor = model.quadrants.floors.min_clv
    allowed = np.isnan(gross) | (gross >= (0.0 if floor is None else max(floor, 0.0)))
    quadrant = assign(value, icp.score, scored.cuts, model.quadrants, None, allowed_high=allowed)
    vband, fband = bands(quadrant, model.quadrants, allowed)
    updates = {
        "value_score": value, "fit_score": icp.score, "clv": gross, "clv_gross": gross,
        "max_acquisition_cost": np.maximum(gross, 0.0) / model.clv.target_ltv_to_cac,
        "quadrant": quadrant, "computed_quadrant": quadrant, "value_band": vband,
        "fit_band": fband, "lookalike_size": pred["lookalike_size"].to_numpy(),
        "lookalike_confidence": pred["lookalike_confidence"].to_numpy(),
    }  # fmt: skip
    for name, values in updates.items():
        _put(table, name, new, values)
    lead = lookalike_prefix(
        pred["lookalike_level"].to_numpy(), pred["lookalike_size"].to_numpy(),
        pred["lookalike_confidence"].cat.codes.to_numpy(),
    )  # fmt: skip
    side = explain.Side(icp, scored.cuts.fit, icp.score >= scored.cuts.fit)
    return explain.reasons(targets, [side], model.currency, [lead], slots=2, fix_word="to qualify")


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


def lookalike_prefix(level: np.ndarray, size: np.ndarray, confidence: np.ndarray) -> explain.Part:
    """'New logo: predicted from 42 look-alike customers (same industry), medium confidence'."""
    combo = (confidence.astype(np.int64) * 10 + level.astype(np.int64)) * 10_000_000 + np.minimum(
        size, 9_999_999
    )
    codes, uniques = pd.factorize(combo)
    texts = []
    for u in uniques:
        key, count = divmod(int(u), 10_000_000)
        conf, lv = divmod(key, 10)
        if count == 0:
            texts.append("new logo: no customers to compare with yet, no confidence")
        else:
            texts.append(
                f"new logo: predicted from {count} look-alike customers ({LEVEL_TEXT[lv]}), "
                f"{CONFIDENCE[conf]} confidence"
            )
    return explain.Part(texts, codes.astype(np.int64))
