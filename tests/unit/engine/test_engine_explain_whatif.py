"""Reasons (phrases, missing data, length) and what-if scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, A, make_population

from value_engine import ValueModel, compute, horizon_scenarios, what_if
from value_engine.explain import Part, join, money
from value_engine.model import Axis, Criterion
from value_engine.scoring import axis_scores, percentile_points
from value_engine.whatif import cost_scenarios


@pytest.mark.parametrize(
    ("value", "text"),
    [(850.0, "€850"), (35_400.0, "€35k"), (1_240_000.0, "€1.2M"), (-579.2, "-€579")],
)
def test_money(value: float, text: str) -> None:
    assert money(value, "EUR") == text


def test_money_without_a_symbol_uses_the_code() -> None:
    assert money(2_000.0, "CHF") == "CHF 2k"


def test_join_skips_empty_parts_and_capitalises_the_first() -> None:
    parts = [
        Part(["quadrant set by hand"], np.array([0, -1, -1])),
        Part(["margin 35%"], np.array([0, 0, -1])),
        Part(["no data: payment"], np.array([-1, 0, 0])),
    ]
    assert list(join(parts, 3)) == [
        "Quadrant set by hand; margin 35%",
        "Margin 35%; no data: payment",
        "No data: payment",
    ]


def test_percentile_points_average_ties_and_ignore_row_order() -> None:
    x = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    pts = percentile_points(x, x)
    assert pts[:4].tolist() == [0.0, 50.0, 50.0, 100.0] and np.isnan(pts[4])
    order = np.array([3, 0, 4, 2, 1])
    assert np.array_equal(percentile_points(x[order], x[order]), pts[order], equal_nan=True)


@pytest.mark.parametrize(
    ("missing", "score"), [("neutral", 75.0), ("worst", 50.0), ("exclude", 100.0)]
)
def test_missing_policies(missing: str, score: float) -> None:
    feats = pd.DataFrame({"margin_pct": [np.nan], "recurrence": [1.0]})
    axis = Axis(
        criteria=(
            Criterion(
                feature="margin_pct", weight=1, transform="linear", bounds=(0, 1), missing=missing
            ),  # type: ignore[arg-type]
            Criterion(feature="recurrence", weight=1, transform="linear", bounds=(0, 1)),
        )  # fmt: skip
    )
    out = axis_scores(feats, axis, np.ones(1, dtype=bool))
    assert out.score[0] == pytest.approx(score)
    assert out.missing[0].tolist() == [True, False]


def test_missing_data_shows_in_the_reason() -> None:
    frames = make_population(n=60, prospects=0)
    inv = frames["invoices"]
    frames["invoices"] = inv[inv["account_id"] != A]  # A loses its payment history
    acc = compute(frames, ValueModel(), as_of=AS_OF).accounts.set_index("account_id")
    assert "no data: payment" in acc.loc[A, "reason"]


def test_what_if_horizons_and_costs() -> None:
    model = ValueModel()
    result = compute(make_population(n=150, prospects=5), model, as_of=AS_OF)
    out = what_if(result.features, model, horizon_scenarios((12, 36, 60)) + cost_scenarios())
    summary = out.summary.set_index("scenario")
    assert list(summary.index) == [
        "base", "horizon_12m", "horizon_36m", "horizon_60m", "cost_to_serve_-10%",
        "cost_to_serve_+10%",
    ]  # fmt: skip
    assert summary.loc["horizon_36m", "changed"] == 0  # the model's own horizon
    assert summary.loc["horizon_12m", "horizon_months"] == 12
    for scenario in summary.index:
        assert (
            summary.loc[scenario, ["Core", "Fix or Reprice", "Develop", "Deprioritize"]].sum()
            == 155
        )
    base = out.quadrants["base"].astype(str)
    assert (base == result.accounts["computed_quadrant"].astype(str)).all()
    changed = (out.quadrants["horizon_12m"] != out.quadrants["base"]).sum()
    assert summary.loc["horizon_12m", "changed"] == changed


def test_what_if_shows_money() -> None:
    """Issue 15: the what-if states money (lifetime value in total, high value, moving)."""
    model = ValueModel()
    result = compute(make_population(n=150, prospects=5), model, as_of=AS_OF)
    out = what_if(result.features, model, horizon_scenarios((12, 60)) + cost_scenarios())
    summary = out.summary.set_index("scenario")
    assert summary.loc["base", "clv_total"] == pytest.approx(result.accounts["clv"].sum(), 1e-6)
    assert summary.loc["horizon_12m", "clv_total"] < summary.loc["base", "clv_total"]
    assert summary.loc["horizon_60m", "clv_total"] > summary.loc["base", "clv_total"]
    assert summary.loc["cost_to_serve_+10%", "clv_total"] < summary.loc["base", "clv_total"]
    assert summary.loc["base", "clv_changed"] == 0
    moved = out.quadrants["horizon_12m"] != out.quadrants["base"]
    assert (summary.loc["horizon_12m", "clv_changed"] != 0) == bool(moved.any())
    assert summary.loc["base", "max_acquisition_cost_total"] == pytest.approx(
        summary.loc["base", "clv_total"] / 3, rel=0.05
    )
