"""Invariants of the engine, checked with hypothesis on small generated populations."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from engine_population import AS_OF, make_population
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from value_engine import ValueModel, compute
from value_engine.clv import lifetime_value
from value_engine.model import Clv

SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
seeds = st.integers(min_value=0, max_value=10_000)


@cache
def population(seed: int) -> dict[str, pd.DataFrame]:
    return make_population(n=40, seed=seed, prospects=4)


def _copy(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in frames.items()}


def _scores(frames: dict[str, pd.DataFrame], model: ValueModel | None = None) -> pd.DataFrame:
    return compute(frames, model or ValueModel(), as_of=AS_OF).accounts.set_index("account_id")


@SETTINGS
@given(seed=seeds, weights=st.lists(st.floats(0, 100), min_size=8, max_size=8))
def test_scores_stay_within_0_and_100(seed: int, weights: list[float]) -> None:
    base = ValueModel()
    pairs = zip(base.value.criteria, weights, strict=True)
    criteria = [c.model_copy(update={"weight": w}) for c, w in pairs]
    criteria[0] = criteria[0].model_copy(update={"weight": max(weights[0], 1.0)})
    model = base.model_copy(update={"value": base.value.model_copy(update={"criteria": criteria})})
    result = compute(population(seed), model, as_of=AS_OF)
    for frame in (result.accounts, result.opportunities):
        for column in ("value_score", "fit_score"):
            assert frame[column].between(0, 100).all()
        assert frame["reason"].str.len().max() <= 255


@SETTINGS
@given(seed=seeds, pick=st.integers(0, 39), cut=st.floats(0.05, 1.0))
def test_more_margin_never_lowers_the_value_score(seed: int, pick: int, cut: float) -> None:
    frames = _copy(population(seed))
    account = frames["accounts"]["account_id"].iloc[pick]
    before = _scores(frames).loc[account, "value_score"]
    fin = frames["finance"]
    rows = fin["account_id"] == account
    fin.loc[rows, "cost_of_delivery"] = np.round(fin.loc[rows, "cost_of_delivery"] * (1 - cut), 2)
    assert _scores(frames).loc[account, "value_score"] >= before


@SETTINGS
@given(seed=seeds, pick=st.integers(0, 39), extra=st.integers(1, 6))
def test_more_escalations_never_raise_the_fit_score(seed: int, pick: int, extra: int) -> None:
    frames = _copy(population(seed))
    account = frames["accounts"]["account_id"].iloc[pick]
    before = _scores(frames).loc[account, "fit_score"]
    new = pd.DataFrame(
        {
            "ticket_id": [f"X{i}" for i in range(extra)],
            "account_id": account,
            "created_at": pd.Timestamp("2025-03-03"),
            "priority": "high",
            "is_escalation": True,
            "category": "problem",
            "effort_hours": 1.0,
        }
    )
    frames["tickets"] = pd.concat([frames["tickets"], new], ignore_index=True)
    assert _scores(frames).loc[account, "fit_score"] <= before


@SETTINGS
@given(seed=seeds, shuffle=st.integers(0, 2**31))
def test_permuting_input_rows_changes_nothing(seed: int, shuffle: int) -> None:
    frames = population(seed)
    rng = np.random.default_rng(shuffle)
    shuffled = {
        n: f.iloc[rng.permutation(len(f))].reset_index(drop=True) for n, f in frames.items()
    }
    a = compute(frames, ValueModel(), as_of=AS_OF)
    b = compute(shuffled, ValueModel(), as_of=AS_OF)
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    key = "opportunity_id"
    pd.testing.assert_frame_equal(
        a.opportunities.sort_values(key).reset_index(drop=True),
        b.opportunities.sort_values(key).reset_index(drop=True),
    )


@SETTINGS
@given(seed=seeds)
def test_the_same_inputs_give_the_same_outputs(seed: int) -> None:
    a = compute(population(seed), ValueModel(), as_of=AS_OF)
    b = compute(_copy(population(seed)), ValueModel(), as_of=AS_OF)
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    pd.testing.assert_frame_equal(a.opportunities, b.opportunities)


@settings(max_examples=200, deadline=None)
@given(
    margin=st.floats(1.0, 1e7),
    serve_share=st.floats(0.0, 0.99),
    tenure=st.integers(0, 240),
    recency=st.integers(0, 30),
    rate=st.floats(0.0, 1.0),
    h1=st.integers(1, 239),
    step=st.integers(1, 60),
)
def test_a_longer_horizon_never_lowers_a_positive_margin_clv(
    margin: float, serve_share: float, tenure: int, recency: int, rate: float, h1: int, step: int
) -> None:
    feats = pd.DataFrame(
        {
            "margin_12m": [margin],
            "cost_to_serve_12m": [margin * serve_share],
            "cost_to_serve_lifetime": [0.0],
            "sales_cost_12m": [0.0],
            "months_observed": [12.0],
            "months_since_active": [float(recency)],
            "purchase_cycle_months": [1.0],
            "tenure_months": [float(tenure)],
            "margin_lifetime": [0.0],
            "acquisition_cost": [1000.0],
            "is_customer": [True],
            "advocacy_value_per_year": [np.nan],
        }
    )
    clv = Clv(discount_rate=rate)
    short = lifetime_value(feats, clv, horizon=h1)["clv"].iloc[0]
    long = lifetime_value(feats, clv, horizon=min(h1 + step, 240))["clv"].iloc[0]
    assert long >= short - 1e-9 * abs(short)
