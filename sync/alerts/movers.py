"""Which accounts moved between two runs, with what a person needs to act on them.

Scores of every run are in the state database (`vs_score_frames`); the mirror holds each
account's name and owner. A run's baseline is the newest earlier run of the same
connection that succeeded and stored scores.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mappings.alerts import QuadrantMigration
from sync.state.db import StateDB
from value_engine.alerts import quadrant_migrations

SUCCEEDED = ("succeeded", "succeeded_with_rejections")
CARRIED = ("name", "owner_id")


def finished_sync_runs(state: StateDB, connection: str, limit: int = 50) -> list[dict[str, Any]]:
    """The connection's sync runs that ended (any outcome), newest first."""
    return [
        r
        for r in state.runs(connection=connection, limit=limit)
        if r["kind"] == "sync" and r["status"] != "running"
    ]


def baseline_run(state: StateDB, connection: str, before: int) -> int | None:
    """The newest successful sync run before `before` that stored account scores."""
    for r in finished_sync_runs(state, connection, limit=200):
        if r["id"] < before and r["status"] in SUCCEEDED and state.has_scores(r["id"]):
            return int(r["id"])
    return None


def scored_accounts(state: StateDB, connection: str, run_id: int) -> pd.DataFrame:
    """A run's account scores with each account's name and owner from the mirror."""
    scores = state.scores(run_id, "accounts")
    if scores.empty:
        return scores
    scores = scores.drop(columns=[c for c in CARRIED if c in scores.columns])
    mirror = state.mirror_frame(connection, "accounts")
    keep = [c for c in ("account_id", *CARRIED) if c in mirror.columns]
    people = mirror[keep].copy()
    people["account_id"] = people["account_id"].astype(str)
    scores["account_id"] = scores["account_id"].astype(str)
    return scores.merge(people, on="account_id", how="left")


def movers(
    state: StateDB,
    connection: str,
    baseline: int,
    run_id: int,
    rule: QuadrantMigration | None = None,
) -> pd.DataFrame:
    """Accounts whose quadrant differs between `baseline` and `run_id` (filtered by rule)."""
    before = state.scores(baseline, "accounts")
    after = scored_accounts(state, connection, run_id)
    moved = quadrant_migrations(before, after, rule)
    if "owner_id" in moved.columns:
        moved["owner_id"] = moved["owner_id"].astype(object).where(moved["owner_id"].notna(), None)
    return moved
