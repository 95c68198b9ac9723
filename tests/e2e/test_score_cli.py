"""`valuesync score DIR` end to end: the console script on canonical files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ENGINE_TESTS = Path(__file__).parents[1] / "unit" / "engine"
sys.path.insert(0, str(ENGINE_TESTS))
from engine_population import make_population  # noqa: E402

VALUESYNC = Path(sys.executable).parent / "valuesync"
INVALID_MODEL = Path(__file__).parents[1] / "data" / "engine" / "invalid_model.yaml"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    for name, frame in make_population(n=80, prospects=5).items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def workdir(export: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(export, target)
    return target


def run(*args: str, columns: int = 120) -> subprocess.CompletedProcess[str]:
    """Run the command; stderr comes back with Rich's line wrapping undone."""
    env = {"COLUMNS": str(columns), "PATH": str(VALUESYNC.parent)}
    if os.environ.get("PYTHONPATH"):  # a worktree first on the path: test its code
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [str(VALUESYNC), "score", *args], capture_output=True, text=True, env=env, timeout=120
    )
    done.stderr = " ".join(done.stderr.split())
    return done


def test_scores_are_written_and_the_matrix_printed(workdir: Path) -> None:
    done = run(str(workdir), "--as-of", "2025-07-01")
    assert done.returncode == 0, done.stderr
    for label in ("Core", "Fix or Reprice", "Develop", "Deprioritize"):
        assert label in done.stdout
    accounts = pd.read_csv(workdir / "scores" / "account_scores.csv")
    opps = pd.read_csv(workdir / "scores" / "opportunity_scores.csv")
    assert len(accounts) == 85 and len(opps) == 2 * 80 + 85
    for column in (
        "account_id",
        "value_score",
        "fit_score",
        "clv",
        "max_acquisition_cost",
        "quadrant",
        "account_action",
        "service_tier",
        "reason",
        "revenue_12m",
    ):
        assert column in accounts.columns  # fmt: skip
    for column in ("opportunity_id", "quadrant", "deal_priority", "reason", "predicted"):
        assert column in opps.columns


def test_parquet_output_and_json(workdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("--as-of", "2025-07-01", "--out", str(out), "--format", "parquet", "--json")
    done = run(str(workdir), *args)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["accounts"] == 85
    assert [q["quadrant"] for q in report["quadrants"]][0] == "Core"
    assert len(pd.read_parquet(out / "account_scores.parquet")) == 85


def test_what_if_table(workdir: Path) -> None:
    done = run(str(workdir), "--as-of", "2025-07-01", "--what-if")
    assert done.returncode == 0, done.stderr
    assert "What-if" in done.stdout and "horizon_60m" in done.stdout


def _edit(workdir: Path, table: str, column: str, row: int, value: object) -> None:
    path = workdir / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


def test_a_missing_column_names_file_and_column(workdir: Path) -> None:
    path = workdir / "invoices.csv"
    pd.read_csv(path).drop(columns=["amount"]).to_csv(path, index=False)
    done = run(str(workdir), "--as-of", "2025-07-01")
    assert done.returncode == 2
    assert "invoices.csv" in done.stderr and "column amount is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_type_names_file_column_and_row(workdir: Path) -> None:
    _edit(workdir, "finance", "revenue", 3, "lots")
    done = run(str(workdir), "--as-of", "2025-07-01")
    assert done.returncode == 2
    assert "finance.csv" in done.stderr
    assert "column revenue: expected a number in row 4" in done.stderr


def test_an_unknown_currency_is_an_error_until_a_rate_is_given(workdir: Path) -> None:
    _edit(workdir, "invoices", "currency", 0, "CHF")
    done = run(str(workdir), "--as-of", "2025-07-01")
    assert done.returncode == 2
    assert "invoices.csv" in done.stderr and "no rate for CHF in row 1" in done.stderr
    pd.DataFrame({"currency": ["CHF"], "rate": [1.05]}).to_csv(workdir / "rates.csv", index=False)
    assert run(str(workdir), "--as-of", "2025-07-01").returncode == 0


def test_an_invalid_model_lists_every_problem(workdir: Path) -> None:
    done = run(str(workdir), "--model", str(INVALID_MODEL))
    assert done.returncode == 2
    assert "6 problems in the configuration" in done.stderr
    assert "invalid_model.yaml:3 at 'colour'" in done.stderr


def test_a_bad_date_is_a_usage_error(workdir: Path) -> None:
    done = run(str(workdir), "--as-of", "July")
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


def test_what_if_shows_the_money_that_moves(workdir: Path) -> None:
    done = run(str(workdir), "--as-of", "2025-07-01", "--what-if", columns=240)  # one line a row
    assert done.returncode == 0, done.stderr
    for header in ("Revenue moving (12m)", "CLV moving", "CLV, all accounts"):
        assert header in done.stdout, header
    base = next(line for line in done.stdout.splitlines() if "│ base" in line)
    assert base.count("€") == 3  # revenue and CLV moving (nothing: €0) and every account's CLV
    assert "€0" in base


@pytest.mark.parametrize(
    ("value", "ok"),
    [("true", True), ("Yes", True), ("y", True), ("1", True), ("FALSE", True), ("no", True),
     ("N", True), ("0", True), ("", True), ("maybe", False), ("-1", False), ("oui", False)],
)  # fmt: skip
def test_advocacy_flags_are_yes_no_or_an_error(workdir: Path, value: str, ok: bool) -> None:
    path = workdir / "accounts.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["reference_customer"] = "yes"
    frame.loc[6, "reference_customer"] = value
    frame.to_csv(path, index=False)
    done = run(str(workdir), "--as-of", "2025-07-01")
    if ok:
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 2
    assert "accounts.csv" in done.stderr
    assert "column reference_customer: expected yes or no" in done.stderr
    assert "in row 7" in done.stderr and value not in done.stderr.split("accounts.csv", 1)[1]
    assert "Traceback" not in done.stderr
