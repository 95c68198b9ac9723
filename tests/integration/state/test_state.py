"""Runs, cursors, the mirror, change sets, write results, rejects and quarantine, per backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.base import Cursor, Rejection, WriteResult
from mappings.errors import StateError
from sync.state.db import StateDB


@pytest.fixture
def db(state_url: str):
    state = StateDB(state_url)
    yield state
    state.close()


def accounts(n: int, name: str = "Customer") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "name": [f"{name} {i}" for i in range(n)],
            "employees": np.arange(n),
            "annual_revenue": np.linspace(0.0, 1e6, n),
            "created_at": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), "h"),
            "modified_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(n), "s"),
        }
    )


def test_run_lifecycle_with_counts_and_api_calls(db: StateDB):
    run = db.start_run("acme-sf")
    db.add_api_calls(run, {"rest": 3})
    db.finish_run(
        run, "succeeded", counts={"pulled": 10, "written": 4}, api_calls={"rest": 2, "bulk": 1}
    )
    got = db.run(run)
    assert got["status"] == "succeeded"
    assert got["counts"] == {"pulled": 10, "written": 4}
    assert got["api_calls"] == {"bulk": 1, "rest": 5}
    assert got["finished_at"] >= got["started_at"]
    assert [r["id"] for r in db.runs("acme-sf")] == [run]
    with pytest.raises(StateError, match="there is no run 999"):
        db.run(999)


def test_mirror_round_trip_update_and_delete(db: StateDB):
    frame = accounts(50)
    assert db.upsert_mirror("c1", "accounts", frame, key="account_id") == 50
    back = db.mirror_frame("c1", "accounts")
    pd.testing.assert_frame_equal(
        back[frame.columns].reset_index(drop=True), frame, check_dtype=False, check_exact=False
    )
    assert back["modified_at"].dt.tz is not None
    db.upsert_mirror("c1", "accounts", frame.head(5).assign(name="Renamed"), key="account_id",
                     deleted_ids=["A000049"])  # fmt: skip
    back = db.mirror_frame("c1", "accounts")
    assert len(back) == 49
    assert (back.head(5)["name"] == "Renamed").all() and back.iloc[5]["name"] == "Customer 5"
    assert len(db.mirror_frame("c1", "accounts", include_deleted=True)) == 50
    assert db.mirror_frame("other", "accounts").empty  # connections do not see each other


def test_page_and_cursor_are_stored_together(db: StateDB):
    assert db.get_cursor("c1", "Account") is None
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "001A")
    db.store_page("c1", "accounts", accounts(3), key="account_id", cursor=cursor, obj="Account")
    assert db.get_cursor("c1", "Account") == cursor
    broken = accounts(3).assign(account_id=[None, "X", "Y"])
    later = Cursor(datetime(2026, 2, 1, tzinfo=UTC), "001B")
    with pytest.raises(StateError, match="some rows have no account_id"):
        db.store_page("c1", "accounts", broken, key="account_id", cursor=later, obj="Account")
    assert db.get_cursor("c1", "Account") == cursor  # not moved past data that was not stored


def test_change_set_and_write_results(db: StateDB):
    run = db.start_run("c1")
    changes = pd.DataFrame(
        {
            "record_id": ["A1", "A1", "A2", "A3"],
            "field": ["Value_Quadrant__c", "Value_Score__c", "Value_Score__c", "Value_Score__c"],
            "previous": [None, 41.5, np.nan, 10],
            "new": ["Core", 77.0, 12.0, 11],
        }
    )
    assert db.record_changes(run, "Account", changes) == 4
    result = WriteResult(
        accepted=["A1", "A3"],
        rejected=[
            Rejection("A2", "Value_Score__c", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "too low")
        ],
    )
    db.record_write_result(run, "Account", result)
    got = db.changes(run)
    assert got["previous"].tolist() == [None, 41.5, None, 10]
    assert got["new"].tolist() == ["Core", 77.0, 12.0, 11]
    assert got["status"].tolist() == ["written", "written", "rejected", "written"]
    results = db.write_results(run)
    assert results["ok"].tolist() == [True, True, False]
    assert results.iloc[2]["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    db.set_change_status(run, "rolled_back")
    assert set(db.changes(run, "Account")["status"]) == {"rolled_back"}


def test_rejected_rows_and_quarantine(db: StateDB):
    run = db.start_run("c1")
    rejected = pd.DataFrame(
        {
            "record_id": ["T1"],
            "field": ["priority"],
            "code": ["UNMAPPED_VALUE"],
            "message": ["no map"],
        }
    )
    assert db.record_rejected(run, "tickets", rejected) == 1
    assert db.rejected(run)["code"].tolist() == ["UNMAPPED_VALUE"]
    report = pd.DataFrame(
        {"file": ["finance.csv"] * 2, "line": [4, 9], "column": ["revenue", "period"],
         "value": ["12x", "2026-13"], "reason": ["unparsable amount", "unparsable date"]}
    )  # fmt: skip
    assert db.record_quarantine(run, report) == 2
    back = db.quarantine(run)
    pd.testing.assert_frame_equal(back[report.columns], report, check_dtype=False)


def test_default_sqlite_file_lives_under_dot_valuesync(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = StateDB()
    db.start_run("c1")
    db.close()
    assert (tmp_path / ".valuesync" / "state.db").is_file()


def statements(db: StateDB) -> list[int]:
    """Counts the DBAPI statements `db` sends (a list the caller reads after the work)."""
    sent: list[int] = []

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(1)

    return sent


@pytest.mark.parametrize("n", [20_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_mirror_upserts_are_bulk_statements_not_one_per_row(db: StateDB, n: int):
    """Insert then update n rows: a handful of executemany / COPY statements per write,
    never one per row (the speed itself is bench/sync.py's figure, not a timed test)."""
    frame = accounts(n)
    sent = statements(db)
    db.upsert_mirror("bulk", "accounts", frame, key="account_id")
    db.upsert_mirror("bulk", "accounts", frame.assign(name="x"), key="account_id")
    back = db.mirror_frame("bulk", "accounts")
    assert len(back) == n and set(back["name"]) == {"x"}
    assert len(sent) < 2 * (n // 5_000 + 10), f"{len(sent)} statements for {2 * n} rows"


def test_upsert_of_many_rows_into_a_table_with_a_serial_id(db: StateDB):
    """Above the COPY threshold PostgreSQL copies into a temporary table first; it must not
    inherit NOT NULL of the serial id the rows do not carry."""
    from sync.state.codec import COPY_FROM, upsert
    from sync.state.log import T_REJECTED

    run = db.start_run("c1")
    rows = [
        {"run_id": run, "object": "accounts", "record_id": f"A{i}", "field": None,
         "code": "X", "message": "m"}
        for i in range(COPY_FROM + 500)
    ]  # fmt: skip
    with db.transaction() as conn:
        upsert(conn, T_REJECTED, rows, None)
        stored = (
            conn.execute(
                T_REJECTED.select()
                .where(T_REJECTED.c.run_id == run)
                .with_only_columns(T_REJECTED.c.id)
            )
            .scalars()
            .all()
        )
    assert len(stored) == COPY_FROM + 500 and len(set(stored)) == len(stored)
