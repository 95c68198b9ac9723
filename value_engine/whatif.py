"""What-if: every account's quadrant under other lifetime-value horizons or service costs.

Each scenario recomputes lifetime value, scores and quadrants from the same features with
one setting changed: the CLV horizon (e.g. 12 / 36 / 60 months) or a multiplier on every
cost-to-serve figure (e.g. 0.9 or 1.1 for -10 % / +10 %). With percentile thresholds the
thresholds are recomputed too, as they would be in a real run. No hysteresis is applied,
so the comparison shows the pure effect of the setting. `changed` counts the accounts
whose quadrant differs from the base case (the model as it is).

Money per scenario (after the quadrant counts): clv_total (lifetime value of every
account), clv_high_value (of the accounts on the high-value side), clv_changed (of the
accounts whose quadrant changes, in the scenario) and max_acquisition_cost_total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
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
    none = np.zeros(len(base), dtype=bool)
    rows = [_summary_row("base", model.clv.horizon_months, 1.0, base, none, model)]
    for sc in scenarios:
        table = score_accounts(
            features, model, horizon=sc.horizon_months, cost_multiplier=sc.cost_to_serve_multiplier
        ).table
        quadrants[sc.name] = table["computed_quadrant"]
        moved = table["computed_quadrant"].to_numpy() != base["computed_quadrant"].to_numpy()
        horizon = sc.horizon_months or model.clv.horizon_months
        rows.append(
            _summary_row(sc.name, horizon, sc.cost_to_serve_multiplier, table, moved, model)
        )
    return WhatIf(quadrants, pd.DataFrame(rows))


def _summary_row(
    name: str, horizon: int, multiplier: float, table: pd.DataFrame, moved: np.ndarray,
    model: ValueModel,
) -> dict[str, object]:  # fmt: skip
    quadrant = table["computed_quadrant"]
    counts = quadrant.value_counts(sort=False)
    row: dict[str, object] = {
        "scenario": name,
        "horizon_months": horizon,
        "cost_to_serve_multiplier": multiplier,
        "changed": int(moved.sum()),
    }
    row.update({str(label): int(count) for label, count in counts.items()})
    clv = np.nan_to_num(table["clv"].to_numpy(dtype=np.float64))
    high = np.isin(quadrant.astype(object).to_numpy(), model.quadrants.label_tuple()[:2])
    mac = np.nan_to_num(table["max_acquisition_cost"].to_numpy(dtype=np.float64))
    row.update({
        "clv_total": round(float(clv.sum()), 2),
        "clv_high_value": round(float(clv[high].sum()), 2),
        "clv_changed": round(float(clv[moved].sum()), 2),
        "max_acquisition_cost_total": round(float(mac.sum()), 2),
    })  # fmt: skip
    return row
