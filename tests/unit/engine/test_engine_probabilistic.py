"""The probabilistic lifetime-value models against published estimates (CDNOW sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from value_engine.probabilistic import (
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_sbg,
    probability_alive,
    sbg_survival,
)

CDNOW = Path(__file__).parents[2] / "data" / "engine" / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    frame = pd.read_csv(CDNOW)
    assert len(frame) == 2357
    return frame


def _cols(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow: pd.DataFrame) -> None:
    fit = fit_bgnbd(*_cols(cdnow))
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name


def test_gamma_gamma_reproduces_the_published_estimates(cdnow: pd.DataFrame) -> None:
    repeat = cdnow[cdnow["frequency"] > 0]
    assert len(repeat) == 946
    fit = fit_gamma_gamma(
        repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    )
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name


def test_bgnbd_conditional_expectation_of_the_papers_example(cdnow: pd.DataFrame) -> None:
    """The 2005 paper's customer: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks."""
    fit = fit_bgnbd(*_cols(cdnow))
    one = np.array([2.0]), np.array([30.43]), np.array([38.86])
    assert expected_purchases(fit, 39.0, *one)[0] == pytest.approx(1.226, abs=0.005)
    # A customer quiet for longer is less likely alive and expected to buy less.
    quiet = np.array([2.0]), np.array([5.0]), np.array([38.86])
    assert probability_alive(fit, *quiet)[0] < probability_alive(fit, *one)[0]
    assert expected_purchases(fit, 39.0, *quiet)[0] < expected_purchases(fit, 39.0, *one)[0]


def test_gamma_gamma_shrinks_towards_the_population_mean(cdnow: pd.DataFrame) -> None:
    repeat = cdnow[cdnow["frequency"] > 0]
    fit = fit_gamma_gamma(
        repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    )
    mean = fit.p * fit.gamma / (fit.q - 1)
    few, many = expected_spend(fit, np.array([1.0, 20.0]), np.array([100.0, 100.0]))
    assert mean < few < many < 100.0


def test_sbg_recovers_simulated_churn() -> None:
    rng = np.random.default_rng(3)
    theta = rng.beta(1.5, 6.0, 20_000)
    life = rng.geometric(theta)  # periods until churn, >= 1
    horizon = 8
    churned = life <= horizon
    periods = np.where(churned, life - 1, horizon).astype(float)
    fit = fit_sbg(periods, churned)
    assert fit.a == pytest.approx(1.5, rel=0.1) and fit.b == pytest.approx(6.0, rel=0.1)
    survival = sbg_survival(fit.a, fit.b, np.array([0.0, 5.0]), 1)
    assert survival[1] > survival[0]  # retention rises with tenure
