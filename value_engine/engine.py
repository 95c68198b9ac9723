"""The engine's entry point: canonical frames + value model + as_of -> account and deal scores.

Steps: features per account (value_engine.features, .activity, .history, .valuechain) ->
lifetime value (.clv, .clv_models) -> the two scores of the preset (.scoring) -> prospects
predicted from look-alikes (.lookalike) -> economic guardrails (.guardrails) -> quadrants
with hysteresis (.quadrants) -> manual overrides -> decision rules (.rules) -> reasons
(.explain) -> opportunities (.opportunities) -> the segment roll-up (.valuechain).
Everything is computed on the whole population at once and ordered by id, so the same
inputs always give the same outputs, whatever the order of the input rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from value_engine import explain
from value_engine.accounts import Scored, score_accounts
from value_engine.features import compute_features
from value_engine.guardrails import guard_part
from value_engine.lookalike import CONFIDENCE
from value_engine.model import ValueModel
from value_engine.opportunities import lookalike_prefix, score_opportunities
from value_engine.quadrants import Cuts, align, bands
from value_engine.rules import apply_rules
from value_engine.valuechain import segment_table

REPORTED = ("is_customer", "lifecycle", "loss_making", "segment", "revenue_12m", "margin_12m",
            "margin_pct", "cost_to_serve_12m", "acquisition_cost", "monthly_contribution",
            "chain_alignment", "segment_alignment")  # fmt: skip
MONEY = ("clv", "clv_gross", "ltv", "max_acquisition_cost", "revenue_12m", "margin_12m",
         "cost_to_serve_12m", "acquisition_cost", "monthly_contribution", "contribution_to_date",
         "cac_unrecovered")  # fmt: skip
SCORE_DECIMALS = 1
MONEY_DECIMALS = 2


@dataclass(frozen=True)
class EngineResult:
    """What one computation produced.

    accounts: one row per account (sorted by account_id); opportunities: one row per
    opportunity (in input order); features: the inputs of the scores per account;
    cuts: the score thresholds of the quadrants; segments: one row per segment with the
    money of each value-chain activity (value_engine.valuechain.segment_table); axes: what
    value_score and fit_score mean under the model's preset.
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    features: pd.DataFrame
    cuts: Cuts
    segments: pd.DataFrame
    axes: tuple[str, str] = ("value", "fit")

    def distribution(self) -> pd.DataFrame:
        """Accounts, revenue_12m and margin_12m per quadrant (every quadrant listed)."""
        grouped = self.accounts.groupby("quadrant", observed=False, sort=False)
        out = grouped.agg(
            accounts=("account_id", "size"),
            revenue_12m=("revenue_12m", "sum"),
            margin_12m=("margin_12m", "sum"),
        )
        out = out.reindex(self.accounts["quadrant"].cat.categories)
        return out.rename_axis("quadrant").reset_index()


def compute(
    frames: Mapping[str, pd.DataFrame],
    model: ValueModel,
    *,
    as_of: date,
    previous_quadrants: pd.Series | None = None,
    overrides: pd.Series | None = None,
) -> EngineResult:
    """Score every account and opportunity as of `as_of` (exclusive).

    `frames` maps canonical table names to frames (accounts required; opportunities,
    tickets, invoices, finance optional). `previous_quadrants` and `overrides` are quadrant
    labels indexed by account_id: the first enables hysteresis, the second forces the
    quadrant used by the rules (the computed one stays in `computed_quadrant`).
    """
    fs = compute_features(frames, model, as_of)
    features, index = fs.frame, fs.index
    previous = align(previous_quadrants, index.ids, model.quadrants, "previous_quadrants")
    forced = align(overrides, index.ids, model.quadrants, "overrides")
    scored = score_accounts(features, model, previous)
    accounts = _account_table(scored, model, forced)
    # The per-criterion matrices explained the accounts' reasons; the opportunities need only
    # the scores, so the matrices go before the largest table is built.
    scored = scored.scores_only()
    opps_frame = frames.get("opportunities")
    opps = score_opportunities(
        opps_frame if opps_frame is not None else pd.DataFrame({"opportunity_id": []}),
        fs.opportunity_codes, accounts, scored, model,
    )  # fmt: skip
    segments = segment_table(accounts, scored.work, model)
    return EngineResult(
        _rounded(accounts), _rounded(opps), features, scored.cuts, segments, model.axis_names()
    )


def _account_table(scored: Scored, model: ValueModel, forced: pd.Series | None) -> pd.DataFrame:
    table = scored.table.copy(deep=False)  # columns are replaced, never written into
    computed = table["computed_quadrant"].array
    quadrant = computed
    if forced is not None:
        chosen = pd.Categorical(forced, dtype=computed.dtype)
        quadrant = pd.Categorical.from_codes(
            np.where(chosen.codes >= 0, chosen.codes, computed.codes), dtype=computed.dtype
        )
    table["quadrant"] = quadrant
    proven = scored.work["economic_ok"].to_numpy() & scored.work["is_customer"].to_numpy()
    table["value_band"], table["fit_band"] = bands(quadrant, model.quadrants, proven)
    for name in REPORTED:
        table[name] = scored.work[name].array  # categoricals stay categoricals
    table = apply_rules(table, model, "accounts", scored.work)
    table["reason"] = _account_reasons(scored, model, forced, table)
    return table


def _account_reasons(
    scored: Scored, model: ValueModel, forced: pd.Series | None, table: pd.DataFrame
) -> pd.Series:
    customers = scored.work["is_customer"].to_numpy()
    by_hand = np.full(len(customers), -1, dtype=np.int64)
    if forced is not None:
        by_hand[forced.notna().to_numpy()] = 0
    prefix = explain.Part(["quadrant set by hand"], by_hand)
    guard, taken = guard_part(scored.work, model.quadrants.floors, model.currency)
    value_high = table["value_band"].astype(object).to_numpy() == "high"
    fit_high = table["fit_band"].astype(object).to_numpy() == "high"
    sides = [explain.Side(scored.value, scored.cuts.value, value_high),
             explain.Side(scored.fit, scored.cuts.fit, fit_high)]  # fmt: skip
    reason = explain.reasons(scored.work, sides, model.currency, [prefix, guard], taken=taken)
    new = np.flatnonzero(~customers)
    if not len(new):
        return reason
    lead = lookalike_prefix(
        table["lookalike_level"].to_numpy()[new], table["lookalike_size"].to_numpy()[new],
        table["lookalike_confidence"].cat.codes.to_numpy()[new],
    )  # fmt: skip
    work = scored.work.iloc[new].reset_index(drop=True)
    parts = [explain.Part(prefix.table, by_hand[new]), lead]
    icp_high = scored.icp.score[new] >= scored.cuts.fit
    icp = [explain.Side(scored.icp.take(new), scored.cuts.fit, icp_high)]
    predicted = explain.reasons(work, icp, model.currency, parts, slots=2, fix_word="to qualify")
    return explain.replace_rows(reason, new, predicted)


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Scores to 0.1 and money to cents, so that tiny float noise never reads as a change."""
    for name in ("value_score", "fit_score"):
        if name in table.columns:
            table[name] = table[name].round(SCORE_DECIMALS)
    for name in MONEY:
        if name in table.columns:
            table[name] = table[name].round(MONEY_DECIMALS)
    return table


def output_labels(model: ValueModel) -> dict[str, list[str]]:
    """Every label the model can write per output field: quadrant, lifecycle, look-alike
    confidence and each rule field."""
    labels = {
        "quadrant": list(model.quadrants.label_tuple()),
        "lifecycle": ["customer", "prospect"],
        "lookalike_confidence": list(CONFIDENCE),
    }
    for ruleset in model.rules:
        labels[ruleset.field] = list(ruleset.labels)
    return labels
