"""`valuesync score --what-if`: accounts, revenue and lifetime value moving between quadrants.

value_engine.what_if recomputes every account's quadrant under other CLV horizons and
cost-to-serve multipliers. Its summary counts the accounts that change quadrant and adds
the lifetime value at stake (`clv_changed`: their lifetime value in the scenario;
`clv_total`: every account's). The revenue that moves is computed here from the scored
accounts (revenue_12m of the accounts whose quadrant changes), and so are the largest
flows (from one quadrant to another) with their revenue and lifetime value as the model
is configured. Money is shown in the model currency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from rich.console import Console

    from value_engine import EngineResult
    from value_engine.model import ValueModel
    from value_engine.whatif import WhatIf

FLOWS_SHOWN = 3
"""Largest quadrant-to-quadrant moves listed per scenario."""


def moving_money(accounts: pd.DataFrame, whatif: WhatIf) -> pd.DataFrame:
    """Per scenario: accounts changing quadrant, their revenue_12m and lifetime value
    (in the scenario, from the summary) and every account's lifetime value."""
    quads = whatif.quadrants.merge(
        accounts[["account_id", "revenue_12m"]], on="account_id", how="left"
    )
    revenue = np.nan_to_num(pd.to_numeric(quads["revenue_12m"]).to_numpy(dtype=float))
    base = quads["base"].astype(object).to_numpy()
    rows = []
    for rec in whatif.summary.itertuples(index=False):
        name = str(rec.scenario)
        moved = np.zeros(len(quads), dtype=bool) if name == "base" else _moved(quads, name, base)
        rows.append(
            {
                "scenario": name,
                "changed": int(moved.sum()),
                "revenue_moving": float(revenue[moved].sum()),
                "clv_moving": float(getattr(rec, "clv_changed", 0.0)),
                "clv_total": float(getattr(rec, "clv_total", 0.0)),
            }
        )
    return pd.DataFrame(rows)


def _moved(quads: pd.DataFrame, name: str, base: np.ndarray) -> np.ndarray:
    return np.asarray(quads[name].astype(object).to_numpy() != base, dtype=bool)


def flows(accounts: pd.DataFrame, whatif: WhatIf) -> pd.DataFrame:
    """Per scenario and move (from -> to): accounts, revenue_12m and clv (as configured),
    largest revenue first."""
    cols = ["account_id", "revenue_12m", "clv"]
    quads = whatif.quadrants.merge(accounts[cols], on="account_id", how="left")
    parts = []
    for name in whatif.quadrants.columns[2:]:
        moved = quads[quads[name].astype(object) != quads["base"].astype(object)]
        if moved.empty:
            continue
        grouped = moved.groupby(
            [moved["base"].astype(str).rename("from"), moved[name].astype(str).rename("to")]
        ).agg(
            accounts=("account_id", "size"),
            revenue_12m=("revenue_12m", "sum"),
            clv=("clv", "sum"),
        )
        grouped = grouped.reset_index().assign(scenario=name)
        order = ["revenue_12m", "from", "to"]
        parts.append(grouped.sort_values(order, ascending=[False, True, True]))
    if not parts:
        return pd.DataFrame(columns=["scenario", "from", "to", "accounts", "revenue_12m", "clv"])
    return pd.concat(parts, ignore_index=True)


def print_what_if(console: Console, result: EngineResult, model: ValueModel) -> None:
    """The what-if table (counts and money) and the largest moves of each scenario."""
    from rich.table import Table

    from value_engine import horizon_scenarios, what_if
    from value_engine.explain import money
    from value_engine.whatif import cost_scenarios

    scenarios = horizon_scenarios() + cost_scenarios()
    found = what_if(result.features, model, scenarios)
    summary = found.summary
    cash = moving_money(result.accounts, found).set_index("scenario")
    labels = [str(c) for c in model.quadrants.label_tuple()]
    table = Table(title="What-if: accounts and money changing quadrant against the model")
    headers = ["Scenario", "Months", "Cost ×", "Changed", *labels,
               "Revenue moving (12m)", "CLV moving", "CLV, all accounts"]  # fmt: skip
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
    cur = model.currency
    for rec in summary.to_dict("records"):
        name = str(rec["scenario"])
        row = cash.loc[name]
        table.add_row(
            name, str(rec["horizon_months"]), f"{rec['cost_to_serve_multiplier']:g}",
            f"{int(rec['changed']):,}", *(f"{int(rec.get(q, 0) or 0):,}" for q in labels),
            money(float(row["revenue_moving"]), cur), money(float(row["clv_moving"]), cur),
            money(float(row["clv_total"]), cur),
        )  # fmt: skip
    console.print(table)
    moves = flows(result.accounts, found)
    for name, part in moves.groupby("scenario", sort=False):
        shown = "; ".join(
            f"{r['from']} → {r['to']}: {_accounts(int(r['accounts']))}, revenue "
            f"{money(float(r['revenue_12m']), cur)}, lifetime value {money(float(r['clv']), cur)}"
            for r in part.head(FLOWS_SHOWN).to_dict("records")
        )
        console.print(f"{name}: {shown}")
    console.print(
        "Revenue moving: revenue of the last 12 months of the accounts that change quadrant; "
        "CLV moving: their lifetime value in the scenario; the moves list lifetime value as "
        "the model is configured."
    )


def _accounts(n: int) -> str:
    return f"{n:,} account" + "s" * (n != 1)
