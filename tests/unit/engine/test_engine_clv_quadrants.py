"""Lifetime value by hand, and quadrants: presets, thresholds, hysteresis, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, A, B, make_population

from mappings.errors import DataError
from value_engine import ValueModel, compute
from value_engine.clv import lifetime_value
from value_engine.model import Clv, Quadrants
from value_engine.quadrants import Cuts, assign, from_sides, high_side, thresholds


def _one_account(**overrides: float) -> pd.DataFrame:
    row = {"margin_12m": 12_000.0, "cost_to_serve_12m": 0.0, "cost_to_serve_lifetime": 0.0,
           "sales_cost_12m": 0.0, "months_observed": 12.0, "months_since_active": 0.0,
           "purchase_cycle_months": 1.0, "tenure_months": 24.0, "margin_lifetime": 2_000.0,
           "acquisition_cost": 5_000.0, "is_customer": True,
           "advocacy_value_per_year": np.nan}  # fmt: skip
    row.update(overrides)
    return pd.DataFrame([row])


def test_clv_matches_the_documented_sum() -> None:
    clv = Clv()
    k, p0, t = 12.0, 0.95, 24.0
    survive, terms = 1.0, []
    for s in range(36):
        survive *= (k * p0 + t + s) / (k + t + s)
        terms.append(1000.0 * survive / 1.1 ** ((s + 1) / 12))
    out = lifetime_value(_one_account(), clv).iloc[0]
    assert out["monthly_retention"] == pytest.approx((k * p0 + t) / (k + t))
    assert out["clv"] == pytest.approx(sum(terms))
    assert out["clv_gross"] == out["clv"]  # CAC is sunk: forward value only
    assert out["max_acquisition_cost"] == pytest.approx(sum(terms) / 3.0)
    assert out["ltv"] == pytest.approx(2_000.0 + sum(terms))
    assert out["ltv_to_cac"] == pytest.approx((2_000.0 + sum(terms)) / 5_000.0)
    assert out["cac_payback_months"] == pytest.approx(5.0)
    assert out["cac_unrecovered"] == pytest.approx(3_000.0)


def test_cost_to_serve_lowers_clv_and_cac_is_not_subtracted() -> None:
    base = lifetime_value(_one_account(acquisition_cost=1e6), Clv()).iloc[0]
    assert base["clv"] == pytest.approx(lifetime_value(_one_account(), Clv()).iloc[0]["clv"])
    served = lifetime_value(_one_account(cost_to_serve_12m=6_000.0), Clv()).iloc[0]
    assert served["clv"] == pytest.approx(base["clv"] / 2)


def test_retention_rises_with_tenure_without_a_cap() -> None:
    new = lifetime_value(_one_account(tenure_months=0.0), Clv()).iloc[0]
    old = lifetime_value(_one_account(tenure_months=120.0), Clv()).iloc[0]
    assert new["monthly_retention"] == pytest.approx(0.95)
    assert old["monthly_retention"] > 0.995 > new["monthly_retention"]
    assert old["clv"] > new["clv"]


@pytest.mark.parametrize(("months", "cycle", "expected"), [
    (0.0, 1.0, 1.0), (1.0, 1.0, 1.0), (2.0, 1.0, 0.5), (6.0, 1.0, 0.5**5),
    (11.0, 12.0, 1.0), (24.0, 12.0, 0.5), (6.0, 3.0, 0.5),
])  # fmt: skip
def test_each_missed_purchase_cycle_halves_the_active_probability(
    months: float, cycle: float, expected: float
) -> None:
    acct = _one_account(months_since_active=months, purchase_cycle_months=cycle)
    assert lifetime_value(acct, Clv()).iloc[0]["active_probability"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value_high", "fit_high", "preset", "label"),
    [
        (True, True, "value_matrix", "Core"),
        (True, False, "value_matrix", "Fix or Reprice"),
        (False, True, "value_matrix", "Develop"),
        (False, False, "value_matrix", "Deprioritize"),
        (True, True, "persona_value", "High-Value Loyalists"),
        (False, True, "persona_value", "Low-Value Loyalists"),
        (True, False, "value_chain", "High Value–Low Alignment"),
        (False, False, "value_chain", "Low Value–Low Alignment"),
    ],
)
def test_preset_labels(value_high: bool, fit_high: bool, preset: str, label: str) -> None:
    q = Quadrants(preset=preset)  # type: ignore[arg-type]
    assert from_sides(np.array([value_high]), np.array([fit_high]), q)[0] == label


def test_thresholds_percentile_and_absolute() -> None:
    scores = np.arange(101, dtype=float)
    pop = np.ones(101, dtype=bool)
    q = Quadrants(value_threshold=80, fit_threshold=20)
    assert thresholds(scores, scores, pop, q) == Cuts(80.0, 20.0)
    pop[:50] = False
    assert thresholds(scores, scores, pop, q) == Cuts(90.0, 60.0)
    q_abs = Quadrants(method="absolute", value_threshold=70, fit_threshold=40)
    assert thresholds(scores, scores, pop, q_abs) == Cuts(70.0, 40.0)


@pytest.mark.parametrize(
    ("score", "previous", "expected"),
    [
        (52.0, 0.0, False),  # inside the band: stays low
        (48.0, 1.0, True),  # inside the band: stays high
        (56.0, 0.0, True),  # outside the band: moves
        (44.0, 1.0, False),
        (52.0, np.nan, True),  # no previous quadrant: plain threshold
        (50.0, np.nan, True),  # at the threshold counts as high
    ],
)
def test_hysteresis(score: float, previous: float, expected: bool) -> None:
    assert high_side(np.array([score]), 50.0, 5.0, np.array([previous]))[0] == expected


def test_assign_keeps_previous_quadrant_near_the_boundary() -> None:
    q = Quadrants()
    prev = pd.Series(["Deprioritize", "Core", "unknown label"])
    out = assign(np.array([53.0, 47.0, 53.0]), np.array([53.0, 47.0, 53.0]), Cuts(50, 50), q, prev)
    assert list(out) == ["Deprioritize", "Core", "Core"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return make_population(n=120, prospects=5)


def test_overrides_drive_the_rules_and_keep_the_computed_quadrant(
    frames: dict[str, pd.DataFrame],
) -> None:
    overrides = pd.Series({A: "Deprioritize"})
    acc = compute(frames, ValueModel(), as_of=AS_OF, overrides=overrides).accounts
    a = acc.set_index("account_id").loc[A]
    assert a["quadrant"] == "Deprioritize" and a["computed_quadrant"] == "Core"
    assert a["account_action"] == "Manage for cost"
    assert a["reason"].startswith("Quadrant set by hand; ")
    b = acc.set_index("account_id").loc[B]
    assert b["quadrant"] == b["computed_quadrant"]


def test_unknown_override_label_is_a_data_error(frames: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(DataError, match="allowed: Core, Fix or Reprice"):
        compute(frames, ValueModel(), as_of=AS_OF, overrides=pd.Series({A: "Gold"}))


def test_previous_quadrants_apply_hysteresis(frames: dict[str, pd.DataFrame]) -> None:
    model = ValueModel()
    first = compute(frames, model, as_of=AS_OF)
    flipped = first.accounts.set_index("account_id")["quadrant"].map(
        {
            "Core": "Develop",
            "Develop": "Core",
            "Fix or Reprice": "Deprioritize",
            "Deprioritize": "Fix or Reprice",
        }  # fmt: skip
    )
    second = compute(frames, model, as_of=AS_OF, previous_quadrants=flipped).accounts
    near = (first.accounts["value_score"] - first.cuts.value).abs() < 5
    kept = second["quadrant"].astype(str).to_numpy() == flipped.to_numpy()
    far = ~near.to_numpy()
    assert (second["quadrant"].to_numpy()[far] == first.accounts["quadrant"].to_numpy()[far]).all()
    assert kept[near.to_numpy()].all() or near.sum() == 0
