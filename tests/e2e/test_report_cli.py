"""`valuesync report` end to end: from score files, from canonical inputs, from state-DB runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from report_helpers import AS_OF, sample_input, valuesync

from sync.state.db import StateDB


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample input, its scores, and an earlier run's scores (a few accounts elsewhere)."""
    root = tmp_path_factory.mktemp("report-cli")
    sample_input(root / "input")
    done = valuesync("score", "input", "--as-of", AS_OF, "--out", "scores", cwd=root)
    assert done.returncode == 0, done.stderr
    earlier = pd.read_csv(root / "scores" / "account_scores.csv")
    earlier.loc[:24, "quadrant"] = "Deprioritize"
    (root / "earlier").mkdir()
    earlier.to_csv(root / "earlier" / "account_scores.csv", index=False)
    return root


def test_scores_input_and_compare_fill_every_section(work: Path) -> None:
    done = valuesync(
        "report",
        "--scores",
        "scores",
        "--input",
        "input",
        "--as-of",
        AS_OF,
        "--compare",
        "earlier",
        "--out",
        "value.html",
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    assert "value.html" in done.stdout and "value.png" in done.stdout
    page = (work / "value.html").read_text(encoding="utf-8")
    for heading in (
        "1. The value matrix",
        "2. Revenue is not value",
        "3. Segments and the value chain",
        "4. Movement between runs",
        "5. What-if",
        "6. Drivers",
        "7. Health of the sync",
    ):
        assert heading in page
    assert "Accounts that moved most" in page and "Finance customers matching no account" in page
    assert "12 months" in page or "horizon_12m" in page
    assert "<div id='segment-table'>" in page and "fig-segments" in page
    with Image.open(work / "value.png") as png:
        assert png.size == (1920, 1080)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--out", "r.html"], 2, "there is no project file here; pass --project PATH"),
        (["--scores", "input", "--out", "r.html"], 2, "account_scores.csv or account_scores"),
        (
            ["--scores", "scores", "--compare", "4", "--out", "r.html"],
            2,
            "a run id needs the state database",
        ),
        (["--scores", "scores", "--out", "nowhere/r.html"], 2, "the folder nowhere does not exist"),
        (["--input", "input", "--as-of", "July", "--out", "r.html"], 2, "'July' is not a date"),
    ],
    ids=["no-project", "not-a-scores-folder", "run-id-without-state", "missing-folder", "bad-date"],
)
def test_user_mistakes_are_one_clear_paragraph(
    work: Path, args: list[str], code: int, message: str
) -> None:
    done = valuesync("report", *args, cwd=work)
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_latest_run_of_the_project_with_movement_and_health(work: Path, tmp_path: Path) -> None:
    done = valuesync("init", "proj", "--crm", "salesforce", "--name", "acme", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    db = StateDB(f"sqlite:///{tmp_path / 'proj' / '.valuesync' / 'state.db'}")
    db.upsert_mirror(
        "acme",
        "accounts",
        pd.read_csv(work / "input" / "accounts.csv", dtype=str),
        key="account_id",
    )
    for folder in ("earlier", "scores"):
        run = db.start_run("acme")
        db.record_scores(run, pd.read_csv(work / folder / "account_scores.csv"))
        db.finish_run(
            run,
            "succeeded",
            counts={"objects": {"Account": {"written": 40 + run}}, "as_of": AS_OF},
            api_calls={"rest": 3},
        )
    db.close()
    done = valuesync(
        "report",
        "--project",
        "proj/valuesync.yaml",
        "--daily-limit",
        "15000",
        "--out",
        "r.html",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Value matrix as of 2026-07-01" in page and "run 2 of acme" in page
    assert "25 accounts changed quadrant" in page or "accounts changed quadrant" in page
    assert "Accounts that moved most" in page
    assert "fig-api" in page  # API calls against the daily limit
    assert "carry no segment table" in page  # scores recorded without one
    names = pd.read_csv(work / "input" / "accounts.csv")["name"]
    assert names.iloc[0] in page  # hover names come from the mirror
