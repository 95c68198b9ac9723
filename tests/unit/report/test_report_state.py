"""The report's state-database adapter and health section, on a real SQLite StateDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from mappings.errors import StateError
from sync.pipeline.model_file import load_value_model
from sync.report.data import ReportInput, assemble
from sync.report.health import health, rejected_by_code
from sync.report.sources import StateSource
from sync.state.db import StateDB


@pytest.fixture
def db(tmp_path: Path, sample_dirs: tuple[Path, Path]) -> StateDB:
    """Three runs of 'acme': two finished with scores (the second moves accounts), one failed."""
    input_dir, scores_dir = sample_dirs
    state = StateDB(f"sqlite:///{tmp_path / 'state.db'}")
    scores = pd.read_csv(scores_dir / "account_scores.csv")
    names = pd.read_csv(input_dir / "accounts.csv", dtype=str)
    state.upsert_mirror("acme", "accounts", names, key="account_id")
    first = state.start_run("acme")
    state.record_scores(first, scores)
    state.finish_run(
        first, "succeeded", counts={"Account": {"written": 300}}, api_calls={"rest": 7}
    )
    second = state.start_run("acme")
    moved = scores.copy()
    moved.loc[:9, "quadrant"] = "Deprioritize"
    state.record_scores(second, moved)
    rejected = pd.DataFrame(
        {
            "record_id": ["S1", "S2", "S3"],
            "field": ["Fit__c"] * 3,
            "code": ["FIELD_CUSTOM_VALIDATION_EXCEPTION"] * 2 + ["ENTITY_IS_DELETED"],
            "message": ["m"] * 3,
        }
    )
    state.record_rejected(second, "Account", rejected)
    state.finish_run(
        second,
        "succeeded_with_rejections",
        counts={"Account": {"written": 12, "rejected": 3}},
        api_calls={"rest": 5, "bulk": 2},
    )
    failed = state.start_run("acme")
    state.finish_run(failed, "failed", message="CRM unreachable")
    return state


def test_latest_and_previous_runs_with_scores(db: StateDB) -> None:
    source = StateSource(db, "acme", load_value_model(None))
    assert source.latest() == 2  # run 3 failed and stored no scores
    assert source.previous(2) == 1 and source.previous(1) is None
    scores = source.scores(2)
    assert scores.accounts["name"].notna().all()
    assert not scores.accounts["name"].eq(scores.accounts["account_id"]).any()  # from the mirror
    previous = source.scores(1)
    runs, rejected = source.health(2)
    data = assemble(
        ReportInput(scores, previous=previous, runs=runs, rejected=rejected, daily_limit=15000)
    )
    assert data.transitions is not None and data.movers is not None
    stayed = sum(data.transitions.loc[q, q] for q in data.labels)
    assert stayed == 300 - int((previous.accounts["quadrant"].iloc[:10] != "Deprioritize").sum())
    assert list(data.health.runs["run"]) == [3, 2, 1]
    assert list(data.health.runs["written"]) == [0, 12, 300]
    assert data.health.api_calls_24h == 14
    assert data.health.rejected["records"].tolist() == [2, 1]


@pytest.mark.parametrize(
    ("connection", "run", "message"),
    [
        ("other", None, "connection 'other' has no finished run with scores"),
        ("acme", 3, "run 3 stored no scores"),
        ("acme", 99, "there is no run 99"),
    ],
    ids=["unknown-connection", "failed-run", "missing-run"],
)
def test_state_problems_name_the_fix(
    db: StateDB, connection: str, run: int | None, message: str
) -> None:
    source = StateSource(db, connection, load_value_model(None))
    with pytest.raises(StateError, match=message):
        source.scores(run) if run is not None else source.latest()


def test_health_counts_flat_and_per_object_and_only_the_last_day() -> None:
    now = datetime(2026, 7, 1, 3, tzinfo=UTC)
    runs = [
        {
            "id": 3,
            "started_at": now,
            "finished_at": now + timedelta(seconds=42),
            "counts": {"written": 5, "rejected": 1},
            "api_calls": {"rest": 10},
        },
        {
            "id": 2,
            "started_at": now - timedelta(hours=23),
            "counts": {"Account": {"written": 7}},
            "api_calls": {"rest": 4, "bulk": 1},
        },
        {"id": 1, "started_at": now - timedelta(hours=25), "counts": {}, "api_calls": {"rest": 99}},
    ]
    h = health(runs, None, 1000)
    assert h.runs["written"].tolist() == [5, 7, 0]
    assert h.runs["seconds"].tolist()[0] == 42.0
    assert h.api_calls_24h == 15  # run 1 is older than a day before the newest
    assert rejected_by_code(None).empty
