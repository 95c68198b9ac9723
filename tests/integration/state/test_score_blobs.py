"""Per-run scores as shared Parquet blobs, per backend: the frame comes back as stored
(sorted by record id, canonical dates restored), equal scores share one blob, and the JSON
rows of runs recorded before schema version 6 stay readable."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from sync.state import migrations
from sync.state.codec import decode_frame, json_lines
from sync.state.db import StateDB
from sync.state.runs import T_BLOBS, T_FRAMES, T_SCORES


@pytest.fixture
def db(state_url: str):
    state = StateDB(state_url)
    yield state
    state.close()


def account_scores(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    labels = ["Core", "Develop", "Fix or Reprice", "Deprioritize"]
    return pd.DataFrame(
        {
            "account_id": pd.array([f"A{i:05d}" for i in range(n)][::-1], dtype="str"),
            "value_score": rng.uniform(0, 100, n).round(1),
            "clv": np.where(np.arange(n) % 9 == 0, np.nan, rng.uniform(0, 1e5, n)),
            "lookalike_size": np.arange(n, dtype="int64"),
            "predicted": np.arange(n) % 2 == 0,
            "quadrant": pd.Categorical([labels[i % 4] for i in range(n)], categories=labels),
            "reason": pd.array([f"margin {i % 13}% €" for i in range(n)], dtype="string"),
        }
    )


def opportunity_scores(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": [f"O{i:05d}" for i in range(n)],
            "account_id": [f"A{i % 7:05d}" for i in range(n)],
            "close_date": pd.Timestamp("2026-03-01 09:30") + pd.to_timedelta(np.arange(n), "D"),
            "amount": np.arange(n) * 100.0,
            "deal_priority": pd.Categorical(["Pursue", "Qualify fit first"] * (n // 2)),
        }
    )


def json_era(frame: pd.DataFrame, kind: str, key: str) -> pd.DataFrame:
    """What scores() gave when each record was a JSON row (sorted by record id)."""
    plain = frame.assign(
        **{c: frame[c].astype(object) for c in frame.columns
           if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )  # fmt: skip
    back = decode_frame(json_lines(plain), kind)
    return back.sort_values(key, key=lambda s: s.astype(str)).reset_index(drop=True)


def test_scores_come_back_as_the_json_rows_did(db: StateDB):
    run = db.start_run("c1")
    accounts, opps = account_scores(500), opportunity_scores(300)
    assert db.record_scores(run, accounts, opps) == 800
    got = db.scores(run, "accounts")
    want = json_era(accounts, "accounts", "account_id")
    pd.testing.assert_frame_equal(got, want)  # columns, dtypes, order, values
    assert got["account_id"].is_monotonic_increasing
    got_opps = db.scores(run, "opportunities")
    want_opps = json_era(opps, "opportunities", "opportunity_id")
    pd.testing.assert_frame_equal(got_opps, want_opps, check_dtype=False)
    assert (got_opps["close_date"].dt.hour == 0).all()  # a canonical date: midnight
    assert db.has_scores(run, "accounts") and db.has_scores(run, "opportunities")


def test_a_run_with_unchanged_scores_stores_a_reference_not_a_copy(db: StateDB):
    accounts = account_scores(400)
    first, second, third = (db.start_run("c1") for _ in range(3))
    db.record_scores(first, accounts, opportunity_scores(10))
    db.record_scores(second, accounts.sample(frac=1, random_state=3))  # same rows, shuffled
    db.record_scores(third, accounts.assign(value_score=accounts["value_score"] + 1))
    with db.transaction() as conn:
        blobs = conn.execute(sa.select(sa.func.count()).select_from(T_BLOBS)).scalar()
        digests = dict(
            conn.execute(
                sa.select(T_FRAMES.c.run_id, T_FRAMES.c.digest).where(T_FRAMES.c.kind == "accounts")
            ).all()
        )
    assert blobs == 3  # accounts of runs 1 (= 2) and 3, opportunities of run 1
    assert digests[first] == digests[second] != digests[third]
    pd.testing.assert_frame_equal(db.scores(second), db.scores(first))
    assert (db.scores(third)["value_score"] == db.scores(first)["value_score"] + 1).all()
    assert db.scores(second, "opportunities").empty and not db.has_scores(second, "opportunities")


def test_recording_a_run_again_replaces_its_scores_but_not_a_shared_blob(db: StateDB):
    accounts = account_scores(50)
    first, second = db.start_run("c1"), db.start_run("c1")
    db.record_scores(first, accounts)
    db.record_scores(second, accounts)
    db.record_scores(first, accounts.head(10))
    assert len(db.scores(first)) == 10
    pd.testing.assert_frame_equal(db.scores(second), json_era(accounts, "accounts", "account_id"))


def test_mixed_object_columns_survive(db: StateDB):
    run = db.start_run("c1")
    frame = pd.DataFrame(
        {"account_id": ["A1", "A2", "A3"], "note": pd.Series([1, "two", None], dtype=object)}
    )
    db.record_scores(run, frame)
    assert db.scores(run)["note"].tolist() == [1, "two", None]


def test_json_rows_of_an_older_database_are_still_read(state_url: str):
    old = StateDB(state_url, migrate=False)
    old.migrate(target=5)
    run = old.start_run("c1")
    accounts = account_scores(20)
    plain = accounts.assign(quadrant=accounts["quadrant"].astype(object))
    rows = [
        {"run_id": run, "kind": "accounts", "record_id": rid, "data": data}
        for rid, data in zip(accounts["account_id"], json_lines(plain), strict=True)
    ]
    with old.transaction() as conn:
        conn.execute(sa.insert(T_SCORES), rows)
    old.close()
    db = StateDB(state_url)
    assert db.schema_version() == migrations.LATEST
    assert db.has_scores(run) and not db.has_scores(run, "opportunities")
    got = db.scores(run)
    pd.testing.assert_frame_equal(got, json_era(accounts, "accounts", "account_id"))
    assert json.loads(rows[0]["data"])["account_id"] == accounts["account_id"].iloc[0]
    db.close()
