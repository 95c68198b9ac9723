"""Issue 15, item 6: persona_value and value_chain are their own matrices, not relabels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, make_population

from value_engine import EngineResult, ValueModel, compute, parse_value_model


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return make_population(n=200, prospects=10)


def _run(frames: dict[str, pd.DataFrame], preset: str) -> EngineResult:
    return compute(frames, parse_value_model({"quadrants": {"preset": preset}}, "m"), as_of=AS_OF)


def _codes(result: EngineResult) -> np.ndarray:
    return np.asarray(result.accounts["quadrant"].cat.codes)


@pytest.mark.parametrize("preset", ["persona_value", "value_chain"])
def test_not_a_relabel_of_value_matrix(frames: dict[str, pd.DataFrame], preset: str) -> None:
    base, other = _run(frames, "value_matrix"), _run(frames, preset)
    table = pd.crosstab(_codes(base), _codes(other))
    # A relabel maps each value_matrix quadrant to exactly one quadrant of the other preset.
    assert (table.gt(0).sum(axis=1) > 1).any(), table
    moved = (_codes(base) != _codes(other)).mean()
    assert moved > 0.15, moved
    assert result_axes(other) != ("value", "fit")


def result_axes(result: EngineResult) -> tuple[str, str]:
    return result.axes


def test_persona_value_axes_and_actions(frames: dict[str, pd.DataFrame]) -> None:
    result = _run(frames, "persona_value")
    acc = result.accounts.set_index("account_id")
    assert result.axes == ("customer value", "persona alignment")
    labels = ["High-Value Loyalists", "High-Value Potentials", "Low-Value Loyalists",
              "Low-Value Potentials"]  # fmt: skip
    assert list(acc["quadrant"].cat.categories) == labels
    customers = acc[acc["is_customer"] & ~acc["loss_making"]]
    potentials = customers[customers["quadrant"] == "Low-Value Potentials"]
    assert len(potentials) and (potentials["account_action"] == "Nurture").all()
    assert (customers.loc[customers["quadrant"] == "High-Value Potentials", "account_action"]
            == "Nurture to loyalty").all()  # fmt: skip
    # The customer-value axis is made of frequency, order value and lifetime value.
    corr = np.corrcoef(customers["clv"], customers["value_score"])[0, 1]
    assert corr > 0.5


def test_value_chain_costs_alignment_and_service_model(frames: dict[str, pd.DataFrame]) -> None:
    result = _run(frames, "value_chain")
    seg = result.segments
    needed = {"segment", "revenue_12m", "delivery_cost_12m", "acquisition_cost_per_year",
              "sales_cost_12m", "service_cost_12m", "gross_margin_12m", "alignment",
              "ltv_to_cac", "cac_payback_months", "net_contribution_12m"}  # fmt: skip
    assert needed <= set(seg.columns)
    assert seg["accounts"].sum() == len(result.accounts)
    spend = seg["acquisition_cost_per_year"] + seg["sales_cost_12m"] + seg["service_cost_12m"]
    has = seg["gross_margin_12m"] > 0
    expected = np.clip(1 - spend[has] / seg.loc[has, "gross_margin_12m"], 0, 1)
    np.testing.assert_allclose(seg.loc[has, "alignment"], expected)
    acc = result.accounts
    assert acc["chain_alignment"].dropna().between(0, 1).all()
    by_segment = seg.set_index("segment")["alignment"]
    np.testing.assert_allclose(
        acc["segment_alignment"], by_segment.reindex(acc["segment"]).to_numpy(), equal_nan=True
    )
    assert set(acc["service_model"].dropna()) <= {"High-touch", "Standard", "Digital"}
    assert acc["service_model"].nunique() == 3
    assert not (acc.loc[acc["loss_making"], "service_model"] == "High-touch").any()


def test_segment_roll_up_exists_for_every_preset(frames: dict[str, pd.DataFrame]) -> None:
    result = compute(frames, ValueModel(), as_of=AS_OF)
    assert result.segments["customers"].sum() == result.accounts["is_customer"].sum()
    assert (result.segments["segment"].str.contains(" | ", regex=False)).all()
