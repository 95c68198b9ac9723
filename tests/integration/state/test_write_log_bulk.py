"""The write log in bulk, per backend: change sets above the COPY threshold, write results of
a Bulk-sized push, rejects; previous/new stored as the same JSON text as json.dumps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Rejection, WriteResult
from sync.state.bulk import json_loads, json_value, json_values
from sync.state.db import StateDB
from sync.state.log import T_CHANGES


@pytest.fixture
def db(state_url: str):
    state = StateDB(state_url)
    yield state
    state.close()


def change_frame(n_records: int) -> pd.DataFrame:
    """Three fields per record with mixed value types, as the diff produces them."""
    ids = [f"A{i:06d}" for i in range(n_records)]
    score = [None if i % 5 == 0 else round(i / 7, 2) for i in range(n_records)]
    labels = ["Core", "Develop", "Fix or Reprice", "Deprioritize"]
    return pd.DataFrame(
        {
            "object": "accounts",
            "record_id": pd.array(ids * 3, dtype="str"),
            "column": ["value_score"] * n_records + ["quadrant"] * n_records * 2,
            "field": pd.array(
                ["Value_Score__c"] * n_records
                + ["Value_Quadrant__c"] * n_records
                + ["Is_Key__c"] * n_records,
                dtype="str",
            ),
            "previous": pd.Series(score + [None] * n_records + [False] * n_records, dtype=object),
            "new": pd.Series(
                [float(i) for i in range(n_records)]
                + [labels[i % 4] for i in range(n_records)]
                + [True] * n_records,
                dtype=object,
            ),
        }
    )


def test_large_change_set_round_trips_with_the_old_json_text(db: StateDB):
    run = db.start_run("c1")
    changes = change_frame(1_500)  # 4,500 rows: above the PostgreSQL COPY threshold
    assert db.record_changes(run, "accounts", changes) == 4_500
    with db.transaction() as conn:
        stored = conn.execute(
            sa.select(T_CHANGES.c.previous, T_CHANGES.c.new).order_by(T_CHANGES.c.id)
        ).all()
    assert [p for p, _ in stored] == [json.dumps(v) for v in changes["previous"]]
    assert [n for _, n in stored] == [json.dumps(v) for v in changes["new"]]
    back = db.changes(run, "accounts")
    assert back["record_id"].tolist() == changes["record_id"].tolist()
    assert back["previous"].tolist() == changes["previous"].tolist()
    assert back["new"].tolist() == changes["new"].tolist()
    assert set(back["status"]) == {"planned"}


def test_write_results_mark_only_their_records_in_a_large_run(db: StateDB):
    other = db.start_run("c1")
    db.record_changes(other, "accounts", change_frame(10))
    run = db.start_run("c1")
    db.record_changes(run, "accounts", change_frame(3_000))
    db.record_changes(run, "opportunities", change_frame(10))
    ids = [f"A{i:06d}" for i in range(3_000)]
    bulk = WriteResult(
        accepted=ids[:2_500],  # a Bulk job's results: above the COPY threshold
        rejected=[Rejection("A002500", "Value_Score__c", "FIELD_INTEGRITY_EXCEPTION", "bad")],
    )
    db.record_write_result(run, "accounts", bulk)
    db.record_write_result(run, "accounts", WriteResult(accepted=["A002501"], rejected=[]))
    got = db.changes(run, "accounts")
    status = got.groupby("record_id")["status"].agg(set)
    assert (status.loc[ids[:2_500]] == {"written"}).all()
    assert status.loc["A002500"] == {"rejected"} and status.loc["A002501"] == {"written"}
    assert (status.loc[ids[2_502:]] == {"planned"}).all()
    assert set(db.changes(run, "opportunities")["status"]) == {"planned"}  # other object
    assert set(db.changes(other)["status"]) == {"planned"}  # other run
    results = db.write_results(run)
    assert len(results) == 2_502 and int((~results["ok"]).sum()) == 1
    bad = results[~results["ok"]].iloc[0]
    assert (bad["record_id"], bad["field"], bad["code"]) == (
        "A002500",
        "Value_Score__c",
        "FIELD_INTEGRITY_EXCEPTION",
    )
    assert results["at"].notna().all()


def test_many_rejected_rows_are_stored(db: StateDB):
    run = db.start_run("c1")
    rejected = pd.DataFrame(
        {
            "record_id": [f"T{i}" for i in range(2_500)],
            "field": [None if i % 2 else "priority" for i in range(2_500)],
            "code": "UNMAPPED_VALUE",
            "message": "no map",
        }
    )
    assert db.record_rejected(run, "tickets", rejected) == 2_500
    back = db.rejected(run)
    assert back["record_id"].tolist() == rejected["record_id"].tolist()
    assert back["field"].isna().sum() == 1_250


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from([np.float64(0.1), np.int64(-3), np.bool_(False), np.float32(2.5)]),
    st.sampled_from([pd.NaT, pd.NA, pd.Timestamp("2026-01-02T03:04:05Z")]),
)


@given(st.lists(SCALARS, max_size=40))
def test_json_values_equals_json_dumps_per_value(values: list[object]):
    series = pd.Series(values, dtype=object)
    assert list(json_values(series)) == [json_value(v) for v in values]
    texts = pd.Series([json_value(v) for v in values], dtype=object)
    assert json_loads(texts).tolist() == [json.loads(t) for t in texts]
