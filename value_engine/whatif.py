"""What-if: every account's quadrant under other lifetime-value horizons or service costs.

Each scenario recomputes lifetime value, scores and quadrants from the same features with
one setting changed: the CLV horizon (e.g. 12 / 36 / 60 months) or a multiplier on every
cost-to-serve figure (e.g. 0.9 or 1.1 for -10 % / +10 %). With percentile thresholds the
thresholds are recomputed too, as they would be in a real run. No hysteresis is applied,
so the comparison shows the pure effect of the setting. `changed` counts the accounts
whose quadrant differs from the base case (the model as it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from value_engine.accounts import score_accounts
from value_engine.model import ValueModel


@dataclass(frozen=True)
class Scenario:
    """One variation of the model: a horizon in months and/or a cost-to-serve multiplier."""

    name: str
    horizon_months: int | None = None
    cost_to_serve_multiplier: float = 1.0


@dataclass(frozen=True)
class WhatIf:
    """quadrants: account_id, base and one column per scenario; summary: one row per scenario."""

    quadrants: pd.DataFrame
    summary: pd.DataFrame


def horizon_scenarios(horizons: Sequence[int] = (12, 36, 60)) -> list[Scenario]:
    """One scenario per CLV horizon, named e.g. 'horizon_12m'."""
    return [Scenario(f"horizon_{h}m", horizon_months=h) for h in horizons]


def cost_scenarios(multipliers: Sequence[float] = (0.9, 1.1)) -> list[Scenario]:
    """One scenario per cost-to-serve multiplier, named e.g. 'cost_to_serve_+10%'."""
    return [
        Scenario(f"cost_to_serve_{m - 1:+.0%}", cost_to_serve_multiplier=m) for m in multipliers
    ]


def what_if(features: pd.DataFrame, model: ValueModel, scenarios: Sequence[Scenario]) -> WhatIf:
    """The quadrant of every account in each scenario, and how many accounts change."""
    base = score_accounts(features, model).table
    quadrants = pd.DataFrame({"account_id": base["account_id"], "base": base["computed_quadrant"]})
    rows = [_summary_row("base", model.clv.horizon_months, 1.0, base["computed_quadrant"], 0)]
    for sc in scenarios:
        table = score_accounts(
            features, model, horizon=sc.horizon_months, cost_multiplier=sc.cost_to_serve_multiplier
        ).table
        quadrant = table["computed_quadrant"]
        quadrants[sc.name] = quadrant
        changed = int((quadrant.to_numpy() != base["computed_quadrant"].to_numpy()).sum())
        horizon = sc.horizon_months or model.clv.horizon_months
        rows.append(_summary_row(sc.name, horizon, sc.cost_to_serve_multiplier, quadrant, changed))
    return WhatIf(quadrants, pd.DataFrame(rows))


def _summary_row(
    name: str, horizon: int, multiplier: float, quadrant: pd.Series, changed: int
) -> dict[str, object]:
    counts = quadrant.value_counts(sort=False)
    row: dict[str, object] = {
        "scenario": name,
        "horizon_months": horizon,
        "cost_to_serve_multiplier": multiplier,
        "changed": changed,
    }
    row.update({str(label): int(count) for label, count in counts.items()})
    return row
