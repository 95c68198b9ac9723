"""`valuesync score` input and what-if money: advocacy yes/no flags parsed or refused, and
the revenue and lifetime value that move between quadrants."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mappings.errors import DataError
from sync.cli.score import check_signals, read_tables
from sync.cli.score_whatif import flows, moving_money
from sync.pipeline.model_file import load_value_model
from value_engine import compute, horizon_scenarios, what_if
from value_engine.frames import truth_values
from value_engine.whatif import cost_scenarios

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from engine_population import make_population  # noqa: E402

YES = ["true", "True", "YES", "yes", "y", "Y", "1"]
NO = ["false", "FALSE", "no", "No", "n", "N", "0"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return make_population(n=80, prospects=5)  # some accounts move in the what-if


def write(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_yes_no_flags_in_every_spelling_parse_to_one_and_zero(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    accounts = frames["accounts"].copy()
    flags = (YES + NO + [""]) * (len(accounts) // 15 + 1)
    accounts["case_study"] = flags[: len(accounts)]
    accounts["referrals"] = [str(i % 4) for i in range(len(accounts))]
    read = read_tables(write(tmp_path, {**frames, "accounts": accounts}), load_value_model(None))
    got = truth_values(read["accounts"], "case_study")
    want = [1.0 if v in YES else 0.0 if v in NO else np.nan for v in flags[: len(accounts)]]
    np.testing.assert_array_equal(got, np.array(want))
    np.testing.assert_array_equal(
        truth_values(read["accounts"], "referrals"), [i % 4 for i in range(len(accounts))]
    )


@pytest.mark.parametrize("bad", ["maybe", "ja", "-2", "nan", "inf", "1e400"])
def test_anything_else_is_an_error_naming_column_and_row(bad: str) -> None:
    accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "reference_customer": ["yes", "", bad]})
    with pytest.raises(DataError) as err:
        check_signals(accounts, "export/accounts.csv")
    text = str(err.value)
    assert text.startswith("export/accounts.csv: column reference_customer: expected yes or no")
    assert "in row 3;" in text and "fix the values or leave them empty" in text
    assert f"'{bad}'" not in text and f" {bad} " not in text  # the value is never echoed


def test_booleans_and_counts_from_parquet_pass() -> None:
    accounts = pd.DataFrame(
        {"account_id": ["a", "b"], "case_study": [True, False], "referrals": [0.0, 3.0]}
    )
    check_signals(accounts, "accounts.parquet")  # no error


def test_money_moving_is_the_revenue_and_clv_of_the_accounts_that_change(
    frames: dict[str, pd.DataFrame],
) -> None:
    model = load_value_model(None)
    result = compute(frames, model, as_of=date(2025, 7, 1))
    found = what_if(result.features, model, horizon_scenarios() + cost_scenarios())
    money = moving_money(result.accounts, found).set_index("scenario")
    summary = found.summary.set_index("scenario")
    revenue = result.accounts.set_index("account_id")["revenue_12m"]
    moved_any = False
    for name in summary.index:
        q = found.quadrants.set_index("account_id")
        moved = q.index[q[name].astype(str) != q["base"].astype(str)] if name != "base" else []
        assert money.loc[name, "changed"] == summary.loc[name, "changed"] == len(moved)
        assert money.loc[name, "revenue_moving"] == pytest.approx(revenue.loc[moved].sum())
        assert money.loc[name, "clv_moving"] == summary.loc[name, "clv_changed"]
        assert money.loc[name, "clv_total"] == summary.loc[name, "clv_total"]
        moved_any |= len(moved) > 0
    assert moved_any, "the sample must move some account in some scenario"
    moves = flows(result.accounts, found)
    per_scenario = moves.groupby("scenario")["accounts"].sum()
    for name, count in per_scenario.items():
        assert count == summary.loc[name, "changed"]
    assert (moves["from"] != moves["to"]).all()
