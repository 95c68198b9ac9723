"""Issue 15, items 1, 3 and 4 on every population shape, with hypothesis.

Shapes: a single account, identical accounts, all loss-making, an €80M loss-making
outlier, cost-only accounts, prospects, closed-won deals, no size bands at all (and a
mixed population). For each: the economic guardrails, customers / prospects / deals, and
numerically stable, row-order and currency independent scoring.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from engine_shapes import AS_OF, SHAPES, Acct, frames, shape, steady
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from value_engine import EngineResult, ValueModel, compute

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
shapes = st.sampled_from(SHAPES)
seeds = st.integers(0, 5)  # few seeds per shape, so that populations are cached across tests
HIGH_ONLY = {"account_action": {"Invest"}, "service_tier": {"Premium"}}


@cache
def scored(name: str, seed: int) -> tuple[dict[str, pd.DataFrame], EngineResult]:
    data = frames(shape(name, seed))
    return data, compute(data, ValueModel(), as_of=AS_OF)


@SETTINGS
@given(name=shapes, seed=seeds)
def test_losses_are_never_high_value_invest_premium_or_pursue(name: str, seed: int) -> None:
    _, result = scored(name, seed)
    acc = result.accounts
    losing = acc["is_customer"] & (
        (acc["margin_12m"] < 0) | (acc["clv"] < 0) | (acc["monthly_contribution"] < 0)
    )
    assert (acc.loc[losing, "loss_making"]).all()
    assert (acc.loc[losing, "value_band"] == "low").all()
    high_labels = set(ValueModel().quadrants.label_tuple()[:2])
    assert not acc.loc[losing, "quadrant"].isin(high_labels).any()
    for column, labels in HIGH_ONLY.items():
        assert not acc.loc[losing, column].isin(labels).any(), column
    opps = result.opportunities
    if len(opps):
        bad = opps["account_id"].isin(acc.loc[losing, "account_id"]) | (opps["clv"] < 0)
        assert not (opps.loc[bad, "deal_priority"] == "Pursue").any()


@SETTINGS
@given(name=shapes, seed=seeds)
def test_single_and_identical_accounts_get_absolute_answers(name: str, seed: int) -> None:
    data, result = scored(name, seed)
    acc = result.accounts
    customers = acc[acc["is_customer"]]
    q = ValueModel().quadrants
    if len(customers) < q.min_population or customers["value_score"].nunique() == 1:
        assert result.cuts.value == q.value_threshold
    if name == "identical":
        assert customers["quadrant"].nunique() == 1
        assert customers["account_action"].nunique() == 1
        assert customers["value_score"].nunique() == 1
    if name in ("single", "identical") and not customers["loss_making"].any():
        # A profitable, active customer paying on time is worth investing in on its own.
        one = customers.iloc[0]
        assert one["value_band"] == ("high" if one["value_score"] >= q.value_threshold else "low")


@SETTINGS
@given(name=shapes, seed=seeds)
def test_customers_prospects_and_deals(name: str, seed: int) -> None:
    data, result = scored(name, seed)
    acc = result.accounts.set_index("account_id")
    fin = data["finance"]
    cost_only = set(fin.groupby("account_id")["revenue"].sum().loc[lambda s: s == 0].index)
    for account in cost_only:
        row = acc.loc[account]
        assert row["is_customer"] and row["lifecycle"] == "customer"
        assert row["clv"] < 0 and row["loss_making"]
        assert row["account_action"] == "Fix or reprice"
    prospects = acc[acc["lifecycle"] == "prospect"]
    assert set(prospects.index).isdisjoint(set(fin["account_id"]))
    assert (prospects["account_action"] == "Qualify").all()
    assert (prospects["service_tier"] == "Pre-sales").all()
    assert prospects["lookalike_confidence"].notna().all()
    opps = result.opportunities
    if len(opps):
        assert opps.loc[opps["is_closed"], "deal_priority"].isna().all()
        assert opps.loc[~opps["is_closed"], "deal_priority"].notna().all()
    if name == "no_size_bands" and len(prospects):
        assert not (prospects["lookalike_confidence"] == "high").any()
        assert prospects["reason"].str.contains("confidence").all()


@SETTINGS
@given(name=shapes, seed=seeds, shuffle=st.integers(0, 2**31))
def test_row_order_does_not_matter(name: str, seed: int, shuffle: int) -> None:
    data, result = scored(name, seed)
    rng = np.random.default_rng(shuffle)
    shuffled = {n: f.iloc[rng.permutation(len(f))].reset_index(drop=True) for n, f in data.items()}
    again = compute(shuffled, ValueModel(), as_of=AS_OF)
    pd.testing.assert_frame_equal(result.accounts, again.accounts)
    pd.testing.assert_frame_equal(result.segments, again.segments)


MONEY = {"finance": ("revenue", "cost_of_delivery"), "invoices": ("amount",),
         "opportunities": ("amount",)}  # fmt: skip


def in_currency(data: dict[str, pd.DataFrame], rate: float) -> dict[str, pd.DataFrame]:
    """The same population with every amount converted at `rate` (to the cent)."""
    out = {name: frame.copy() for name, frame in data.items()}
    for name, columns in MONEY.items():
        for column in columns:
            out[name][column] = np.round(out[name][column] * rate, 2)
    return out


def model_in_currency(rate: float) -> ValueModel:
    base = ValueModel()
    costs = base.cost_to_serve
    clv = base.clv.model_copy(update={
        "default_cac": base.clv.default_cac * rate,
        "reference_value_per_year": base.clv.reference_value_per_year * rate,
        "case_study_value_per_year": base.clv.case_study_value_per_year * rate,
    })  # fmt: skip
    serve = costs.model_copy(update={
        "ticket_cost": {k: v * rate for k, v in costs.ticket_cost.items()},
        "escalation_cost": costs.escalation_cost * rate,
        "effort_hour_cost": costs.effort_hour_cost * rate,
    })  # fmt: skip
    return base.model_copy(update={"currency": "USD", "clv": clv, "cost_to_serve": serve})


@SETTINGS
@given(name=shapes, seed=seeds, rate=st.sampled_from([0.85, 1.0873, 7.46, 161.3]))
def test_another_currency_gives_the_same_quadrants(name: str, seed: int, rate: float) -> None:
    data, result = scored(name, seed)
    other = compute(in_currency(data, rate), model_in_currency(rate), as_of=AS_OF).accounts
    assert (other["quadrant"].astype(str) == result.accounts["quadrant"].astype(str)).all()
    assert (other["account_action"] == result.accounts["account_action"]).all()


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 5),
    base=st.sampled_from([15_132.00, 999.99, 48_000.50]),
    cents=st.integers(1, 99),
)
def test_ties_are_ties_constant_revenues_cents_apart(seed: int, base: float, cents: int) -> None:
    """Two constant customers cents apart: no CV noise, so the same fit and the same fit side.

    (Their revenue and lifetime value differ by those cents, so their value ranks may.)
    """
    pop = shape("mixed", seed)
    a = steady("T-A", base, 0.3, late_days=3.0)
    b = steady("T-B", base + cents / 100, 0.3, late_days=3.0)
    result = compute(frames([*pop, a, b]), ValueModel(), as_of=AS_OF)
    feats = result.features.set_index("account_id")
    assert feats.loc["T-A", "revenue_cv"] == 0.0 == feats.loc["T-B", "revenue_cv"]
    acc = result.accounts.set_index("account_id")
    assert acc.loc["T-A", "fit_score"] == acc.loc["T-B", "fit_score"]
    assert acc.loc["T-A", "fit_band"] == acc.loc["T-B", "fit_band"]


def test_an_80m_loss_maker_is_fixed_not_developed() -> None:
    pop = [*shape("mixed", 5), steady("Z", 80e6 / 12, -0.05, tickets=1)]
    acc = compute(frames(pop), ValueModel(), as_of=AS_OF).accounts.set_index("account_id")
    assert acc.loc["Z", "account_action"] == "Fix or reprice"
    assert acc.loc["Z", "reason"].startswith("Loss-making: margin -€")


def test_when_every_customer_loses_money_nobody_is_invested_in() -> None:
    result = compute(frames(shape("all_loss", 11)), ValueModel(), as_of=AS_OF)
    assert not (result.accounts["account_action"] == "Invest").any()
    assert (result.accounts["value_band"] == "low").all()


def test_booleans_written_as_text_count_as_advocacy() -> None:
    pop = shape("mixed", 3)
    data = frames(pop)
    given = ["TRUE", "yes", "No", "1", "false", None]
    data["accounts"]["reference_customer"] = given + [None] * (len(pop) - len(given))
    feats = compute_features_of(data).set_index("account_id")
    expected = [1.0, 1.0, 0.0, 1.0, 0.0, np.nan]
    got = feats["reference_customer"].to_numpy()[:6]
    np.testing.assert_array_equal(got, expected)
    assert (feats["advocacy_points"].to_numpy()[:2] >= 40).all()
    assert feats["advocacy_value_per_year"].to_numpy()[0] >= 2000


def compute_features_of(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return compute(data, ValueModel(), as_of=AS_OF).features


def test_closed_flags_written_as_text_are_parsed() -> None:
    data = frames([steady("A", 5000, 0.3, open_deal=1e4, won_deal=2e4)])
    data["opportunities"]["is_closed"] = data["opportunities"]["is_closed"].map(
        {True: "Yes", False: "no"}
    )
    opps = compute(data, ValueModel(), as_of=AS_OF).opportunities
    assert opps["deal_priority"].isna().tolist() == [False, True]


def test_an_empty_population_of_customers_does_not_crash() -> None:
    result = compute(frames([Acct("P1"), Acct("P2", employees=np.nan, industry=None)]),
                     ValueModel(), as_of=AS_OF)  # fmt: skip
    assert (result.accounts["account_action"] == "Qualify").all()
    assert (result.accounts["lookalike_confidence"] == "none").all()
