"""The report's figures from scores: shares, sampling, movement, drivers, predicted layer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mappings.errors import DataError
from sync.pipeline.model_file import load_value_model
from sync.report.data import (
    ReportInput,
    assemble,
    driver_phrases,
    headlines,
    movers,
    normalise,
    sample_points,
    shares,
    transitions,
)
from sync.report.sources import from_input, model_cuts, read_scores_dir, scores_from_frames

AS_OF = date(2026, 7, 1)
LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")


def frame(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    """account_id, quadrant, value, fit, revenue -> an account-scores frame."""
    ids, quadrant, value, fit, revenue = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "account_id": ids,
            "quadrant": quadrant,
            "value_score": value,
            "fit_score": fit,
            "revenue_12m": revenue,
            "margin_12m": np.array(revenue) * 0.2,
            "clv": np.array(revenue) * 0.5,
            "predicted": False,
            "reason": "",
        }
    )


def test_shares_add_up_to_one_and_equal_the_scores_file(sample_dirs: tuple[Path, Path]) -> None:
    _, scores_dir = sample_dirs
    raw = pd.read_csv(scores_dir / "account_scores.csv")
    data = assemble(ReportInput(read_scores_dir(scores_dir, load_value_model(None))))
    table = data.shares.set_index("quadrant")
    for col in ("accounts", "revenue_12m", "margin_12m", "clv"):
        assert table[f"{col}_share"].sum() == pytest.approx(1.0, abs=1e-12), col
        source = (
            raw.groupby("quadrant")["account_id"].size()
            if col == "accounts"
            else (raw.groupby("quadrant")[col].sum())
        )
        expected = (source / source.sum()).reindex(list(LABELS)).fillna(0.0)
        np.testing.assert_allclose(
            table[f"{col}_share"].to_numpy(), expected.to_numpy(), rtol=1e-12, err_msg=col
        )
    assert int(table["accounts"].sum()) == len(raw)


@pytest.mark.parametrize(
    ("n", "max_points", "shown"),
    [(50, 100, 50), (100, 100, 100), (5000, 1000, 1000)],
    ids=["fewer-than-max", "exactly-max", "sampled"],
)
def test_points_are_sampled_beyond_max_and_the_page_says_so(
    n: int, max_points: int, shown: int
) -> None:
    rng = np.random.default_rng(1)
    rows = [
        (f"A{i:05}", LABELS[i % 4], 50.0, 50.0, float(rng.integers(1, 10**6))) for i in range(n)
    ]
    accounts = normalise(frame(rows), LABELS)
    points, note = sample_points(accounts, max_points)
    assert abs(len(points) - shown) <= 2
    assert (note is None) == (n <= max_points)
    if note:
        assert f"of {n:,} accounts" in note
        top = accounts.nlargest(max_points // 5, "revenue_12m")["account_id"]
        assert set(top) <= set(points["account_id"])  # the largest are always drawn
        counts = points["quadrant"].value_counts()
        assert counts.max() - counts.min() <= 0.05 * len(points)  # proportional per quadrant


def test_transition_matrix_counts_moves_new_and_gone() -> None:
    before = normalise(
        frame(
            [
                ("a", "Core", 80, 80, 1),
                ("b", "Core", 60, 60, 1),
                ("c", "Develop", 30, 70, 1),
                ("d", "Deprioritize", 10, 10, 1),
            ]
        ),
        LABELS,
    )
    now = normalise(
        frame(
            [
                ("a", "Core", 81, 80, 1),
                ("b", "Fix or Reprice", 60, 20, 1),
                ("c", "Core", 70, 70, 1),
                ("e", "Develop", 30, 60, 1),
            ]
        ),
        LABELS,
    )
    t = transitions(before, now, LABELS)
    assert t.loc["Core", "Core"] == 1
    assert t.loc["Core", "Fix or Reprice"] == 1
    assert t.loc["Develop", "Core"] == 1
    assert t.loc["Deprioritize", "(gone)"] == 1
    assert t.loc["(new)", "Develop"] == 1
    assert int(t.to_numpy().sum()) == 5
    moved = movers(before, now)
    assert list(moved["account_id"]) == ["b", "c"]  # largest score movement first
    assert moved.loc[0, "quadrant_before"] == "Core" and moved.loc[0, "quadrant_now"] == (
        "Fix or Reprice"
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            "Lifetime value €68k (top 17%); Machinery is an ICP industry",
            ["Lifetime value … (top …)", "Machinery is an ICP industry"],
        ),
        ("low lifetime value -€60k; 12% margin", ["Low lifetime value …", "… margin"]),
        ("size 50-249 fits ICP", ["Size … fits ICP"]),
        ("", []),
    ],
    ids=["money-and-rank", "negative-money-and-percent", "size-band", "empty"],
)
def test_reason_phrases_become_generic_drivers(reason: str, expected: list[str]) -> None:
    assert list(driver_phrases(pd.Series([reason]))) == expected


def test_headline_names_the_quadrant_whose_revenue_is_not_value() -> None:
    accounts = normalise(
        frame([("a", "Core", 80, 80, 100.0), ("b", "Deprioritize", 10, 10, 100.0)]), LABELS
    )
    accounts["margin_12m"] = [30.0, 5.0]
    lines = headlines(shares(accounts, LABELS))
    assert lines[0].startswith("Deprioritize holds 50 % of revenue but only 14 % of")


def test_predicted_opportunities_are_a_second_layer(sample_dirs: tuple[Path, Path]) -> None:
    model = load_value_model(None)
    accounts = frame([("a", "Core", 80, 80, 1.0), ("b", "Develop", 20, 70, 1.0)])
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "name": ["New deal", "Won deal", "Open deal"],
            "predicted": [True, True, False],
            "is_closed": [False, True, False],
            "value_score": [55.0, 60.0, 40.0],
            "fit_score": [65.0, 70.0, 30.0],
            "amount": [1000.0, 2000.0, 500.0],
            "clv": [5000.0, 6000.0, 700.0],
            "reason": ["x"] * 3,
        }
    )
    data = assemble(ReportInput(scores_from_frames(accounts, opps, model, source="t")))
    assert list(data.predicted["id"]) == ["o1"]  # open and predicted only


def test_unknown_quadrant_label_names_the_source_and_the_fix() -> None:
    accounts = frame([("a", "Stars", 80, 80, 1.0)])
    with pytest.raises(DataError, match=r"scores x: quadrant 'Stars' .*--model FILE"):
        scores_from_frames(accounts, None, load_value_model(None), source="scores x")


def test_missing_scores_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="account_scores.csv or account_scores.parquet is missing"):
        read_scores_dir(tmp_path, load_value_model(None))


def test_thresholds_match_the_engine_within_score_rounding(sample_dirs: tuple[Path, Path]) -> None:
    input_dir, scores_dir = sample_dirs
    model = load_value_model(None)
    computed, summary, gaps, _ = from_input(input_dir, model, AS_OF)
    from_file = model_cuts(pd.read_csv(scores_dir / "account_scores.csv"), model)
    np.testing.assert_allclose(from_file, computed.cuts, atol=0.1)  # scores are rounded to 0.1
    assert list(summary["scenario"])[1:] == [
        "horizon_12m",
        "horizon_36m",
        "horizon_60m",
        "cost_to_serve_-10%",
        "cost_to_serve_+10%",
    ]
    assert gaps is not None and len(gaps.unmatched_finance) > 0
    assert len(gaps.accounts_without_finance) > 0
