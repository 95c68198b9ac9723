"""The seed example (customers A and B): same revenue, very different value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, A, B, make_population

from value_engine import EngineResult, ValueModel, compute


@pytest.fixture(scope="module")
def result() -> EngineResult:
    return compute(make_population(), ValueModel(), as_of=AS_OF)


def _row(result: EngineResult, account_id: str) -> pd.Series:
    rows = result.accounts[result.accounts["account_id"] == account_id]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_and_b_have_the_same_revenue_and_the_stated_margins(result: EngineResult) -> None:
    a, b = _row(result, A), _row(result, B)
    assert a["revenue_12m"] == pytest.approx(100_000)
    assert b["revenue_12m"] == pytest.approx(100_000)
    assert a["margin_12m"] == pytest.approx(35_000)
    assert b["margin_12m"] == pytest.approx(12_000)


def test_a_is_high_value_high_fit_and_b_is_not(result: EngineResult) -> None:
    assert _row(result, A)["quadrant"] == "Core"
    assert _row(result, B)["quadrant"] != "Core"
    assert _row(result, A)["account_action"] == "Invest"


@pytest.mark.parametrize("column", ["value_score", "fit_score", "clv", "max_acquisition_cost"])
def test_a_beats_b(result: EngineResult, column: str) -> None:
    assert _row(result, A)[column] > _row(result, B)[column]


def test_reasons_name_margin_and_effort(result: EngineResult) -> None:
    for account in (A, B):
        reason = _row(result, account)["reason"].lower()
        assert "margin" in reason and "effort" in reason, reason
        assert len(reason) <= 255
    assert _row(result, A)["reason"].startswith("Margin 35%")
    assert "12% margin" in _row(result, B)["reason"]


def test_b_features_show_effort_escalations_and_unpredictability(result: EngineResult) -> None:
    feats = result.features.set_index("account_id")
    assert feats.loc[B, "escalations_12m"] == 9
    assert feats.loc[B, "special_requests_12m"] >= 8
    assert feats.loc[B, "revenue_cv"] > 3 * feats.loc[A, "revenue_cv"]
    assert feats.loc[A, "on_time_share"] == 1.0
    assert feats.loc[B, "on_time_share"] == 0.0


def test_opportunities_of_customers_carry_their_account(result: EngineResult) -> None:
    opps = result.opportunities
    a_opps = opps[opps["account_id"] == A]
    assert (a_opps["quadrant"] == "Core").all()
    # Issue 15: only open deals get a Deal Priority; closed (won) ones get none.
    assert (a_opps.loc[~a_opps["is_closed"], "deal_priority"] == "Pursue").all()
    assert a_opps.loc[a_opps["is_closed"], "deal_priority"].isna().all()
    assert (~a_opps["is_closed"]).sum() == 1
    assert not a_opps["predicted"].any()
    assert (a_opps["value_score"] == _row(result, A)["value_score"]).all()


def test_new_logos_are_predicted_from_lookalikes(result: EngineResult) -> None:
    new = result.accounts[~result.accounts["is_customer"]]
    assert len(new) == 20 and new["predicted"].all()
    assert new["reason"].str.startswith("New logo: predicted from").all()
    new_opps = result.opportunities[result.opportunities["predicted"]]
    assert len(new_opps) == 20
    assert new_opps["lookalike_size"].gt(0).all()
    assert np.isfinite(new_opps["max_acquisition_cost"]).all()
    assert new_opps["deal_priority"].notna().all()


def test_distribution_lists_every_quadrant(result: EngineResult) -> None:
    dist = result.distribution()
    assert list(dist["quadrant"]) == ["Core", "Fix or Reprice", "Develop", "Deprioritize"]
    assert dist["accounts"].sum() == len(result.accounts)
