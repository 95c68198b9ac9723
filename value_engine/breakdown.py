"""One account taken apart: each criterion's value, points, weight and contribution, the
thresholds, and which rule set each rule field; plus what a changed model would move.

Pure functions over what `score_accounts` and the stored engine rows already hold: the
console's "Explain an account" and the model editor's preview read these, so a figure
is computed by the engine once and only looked up here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from value_engine.accounts import Scored
from value_engine.explain import _feature
from value_engine.model import RuleSet, ValueModel
from value_engine.rules import condition_mask


@dataclass(frozen=True)
class CriterionLine:
    """One criterion of one axis for one account."""

    axis: str
    feature: str
    label: str
    value: object
    points: float | None
    weight: float
    contribution: float


@dataclass(frozen=True)
class RuleLine:
    """Which rule of a rule set matched one account (None: the default applied)."""

    field: str
    rule: int | None
    when: str
    output: object


def criteria_lines(scored: Scored, row: int) -> list[CriterionLine]:
    """Every criterion of the value and fit axes for the account at position `row`."""
    lines: list[CriterionLine] = []
    for name, axis in (("value", scored.value), ("fit", scored.fit)):
        for j, crit in enumerate(axis.criteria):
            missing = bool(axis.missing[row, j])
            raw = scored.work[crit.feature].iloc[row] if crit.feature in scored.work else None
            lines.append(
                CriterionLine(
                    axis=name,
                    feature=crit.feature,
                    label=_feature(crit).label,
                    value=None if missing or _isna(raw) else _plain(raw),
                    points=None if missing else round(float(axis.points[row, j]), 1),
                    weight=float(crit.weight),
                    contribution=round(float(axis.contributions[row, j]), 2),
                )
            )
    return lines


def fired_rules(
    account: pd.DataFrame, model: ValueModel, target: str = "accounts"
) -> list[RuleLine]:
    """For a one-row frame of stored engine output, the first matching rule per rule set."""
    lines = []
    for ruleset in model.rules:
        if ruleset.target != target:
            continue
        hit = _first_hit(account, ruleset)
        when = "default" if hit is None else describe_condition(ruleset.rules[hit].when)
        output = account[ruleset.field].iloc[0] if ruleset.field in account else None
        lines.append(RuleLine(ruleset.field, hit, when, _plain(output)))
    return lines


def _first_hit(account: pd.DataFrame, ruleset: RuleSet) -> int | None:
    for i, rule in enumerate(ruleset.rules):
        if bool(condition_mask(account, rule.when, ruleset.field)[0]):
            return i
    return None


def describe_condition(cond: object) -> str:
    """A condition as short text: `quadrant == Core`, `all(a > 1, b in [x, y])`."""
    all_ = getattr(cond, "all_", None)
    any_ = getattr(cond, "any_", None)
    if all_ is not None:
        return "all(" + ", ".join(describe_condition(c) for c in all_) + ")"
    if any_ is not None:
        return "any(" + ", ".join(describe_condition(c) for c in any_) + ")"
    return f"{getattr(cond, 'field', '')} {getattr(cond, 'op', '')} {getattr(cond, 'value', '')}"


def moves(before: pd.Series, after: pd.Series, labels: list[str]) -> pd.DataFrame:
    """Quadrant before (rows) x after (columns), counts, every label listed."""
    table = pd.crosstab(
        pd.Categorical(before.astype(str), categories=labels),
        pd.Categorical(after.astype(str), categories=labels),
        dropna=False,
    )
    table.index.name, table.columns.name = "before", "after"
    return table


def quadrant_summary(
    quadrant: pd.Series, revenue: pd.Series, value: pd.Series, labels: list[str]
) -> pd.DataFrame:
    """Per quadrant: accounts, share of accounts, revenue (12 months), value (summed)."""
    frame = pd.DataFrame(
        {
            "quadrant": pd.Categorical(quadrant.astype(str), categories=labels),
            "revenue": revenue.to_numpy(),
            "value": value.to_numpy(),
        }
    )
    grouped = frame.groupby("quadrant", observed=False)
    out = grouped.agg(
        accounts=("revenue", "size"), revenue=("revenue", "sum"), value=("value", "sum")
    )
    total = max(int(out["accounts"].sum()), 1)
    out["share"] = out["accounts"] / total
    return out.reset_index()


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))  # type: ignore[arg-type,unused-ignore]
    except (TypeError, ValueError):
        return False


def _plain(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    return v
