"""Mirror snapshots: a snapshot plus the rows written since equals a full read, per backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.state.db import StateDB


@pytest.fixture
def cached(state_url: str, tmp_path: Path):
    state = StateDB(state_url, cache_dir=tmp_path / "cache")
    yield state
    state.close()


@pytest.fixture
def plain(state_url: str):
    state = StateDB(state_url)
    yield state
    state.close()


def accounts(ids: list[int], name: str = "Customer") -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in ids],
            "name": [f"{name} {i}" for i in ids],
            "employees": np.arange(n, dtype=float),
            "quadrant": [None if i % 3 else "Core" for i in ids],
            "modified_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(ids, "s"),
        }
    )


def snapshot_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("mirror/mirror-*.parquet")) if folder.exists() else []


def plain_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Values with every missing one as None: a full decode types a column by the rows it
    holds (text and nulls -> str with NaN, only nulls -> object with None), so the same
    rows can come back with either spelling of "missing"."""
    out = frame.reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(plain_values(a), plain_values(b), check_like=True)


def test_snapshot_plus_delta_equals_full_read(cached: StateDB, plain: StateDB, tmp_path: Path):
    cached.upsert_mirror("c1", "accounts", accounts(list(range(200))), key="account_id")
    first = cached.mirror_frame("c1", "accounts")
    assert len(snapshot_files(tmp_path / "cache")) == 1  # written by the full read
    # Writes after the snapshot: updates, new rows, deletions, a new column.
    cached.upsert_mirror(
        "c1", "accounts", accounts([5, 7, 250], name="Renamed").assign(extra="x"),
        key="account_id", deleted_ids=["A00009", "A00199"],
    )  # fmt: skip
    merged = cached.mirror_frame("c1", "accounts")
    full = plain.mirror_frame("c1", "accounts")  # no snapshot: every row decoded
    assert_same(merged, full)
    assert len(merged) == 199 and merged["account_id"].is_monotonic_increasing
    assert set(merged.loc[merged["name"].str.startswith("Renamed"), "account_id"]) == {
        "A00005", "A00007", "A00250",
    }  # fmt: skip
    assert len(first) == 200
    # Unchanged since: the snapshot alone answers, and still equals the database.
    assert_same(cached.mirror_frame("c1", "accounts"), full)


def test_snapshot_is_used_not_the_json_rows(cached: StateDB, tmp_path: Path):
    """Proof that a read is served from the snapshot: a row changed behind the counter's back
    (never done by valuesync) shows only once the snapshot is gone."""
    cached.upsert_mirror("c1", "accounts", accounts(list(range(10))), key="account_id")
    cached.mirror_frame("c1", "accounts")
    with cached.transaction() as conn:
        conn.exec_driver_sql("UPDATE vs_mirror SET data = REPLACE(data, 'Customer 3', 'Sneaky 3')")
    assert "Sneaky 3" not in set(cached.mirror_frame("c1", "accounts")["name"])
    for path in snapshot_files(tmp_path / "cache"):
        path.unlink()
    assert "Sneaky 3" in set(cached.mirror_frame("c1", "accounts")["name"])


def test_corrupt_or_foreign_snapshot_is_ignored(state_url: str, tmp_path: Path):
    folder = tmp_path / "cache"
    db = StateDB(state_url, cache_dir=folder)
    db.upsert_mirror("c1", "accounts", accounts(list(range(20))), key="account_id")
    db.mirror_frame("c1", "accounts")
    (path,) = snapshot_files(folder)
    path.write_bytes(b"not parquet at all")
    assert len(db.mirror_frame("c1", "accounts")) == 20  # read in full, snapshot rebuilt
    assert path.read_bytes()[:4] == b"PAR1"
    # Another database with the same connection and as many writes: its epoch differs.
    other_url = f"sqlite:///{tmp_path}/other.db"
    other = StateDB(other_url, cache_dir=folder)
    other.upsert_mirror("c1", "accounts", accounts([1, 2, 3], name="Other"), key="account_id")
    assert list(other.mirror_frame("c1", "accounts")["name"]) == ["Other 1", "Other 2", "Other 3"]
    db.close()
    other.close()


def test_mixed_types_are_not_snapshotted_but_read_exactly(cached: StateDB, tmp_path: Path):
    frame = accounts([1, 2]).assign(custom=["text", 5])  # Parquet cannot hold both in one column
    cached.upsert_mirror("c1", "accounts", frame, key="account_id")
    back = cached.mirror_frame("c1", "accounts")
    assert list(back["custom"]) == ["text", 5]
    assert snapshot_files(tmp_path / "cache") == []


def test_every_write_gets_the_next_version(cached: StateDB):
    for n in range(3):
        cached.upsert_mirror("c1", "accounts", accounts([n]), key="account_id")
    cached.upsert_mirror("c1", "opportunities", pd.DataFrame({"opportunity_id": ["O1"]}),
                         key="opportunity_id")  # fmt: skip
    with cached.transaction() as conn:
        rows = dict(
            conn.exec_driver_sql(
                "SELECT table_name, version FROM vs_mirror_versions WHERE connection = 'c1'"
            ).all()
        )
        stamped = sorted(
            conn.exec_driver_sql(
                "SELECT version FROM vs_mirror WHERE table_name = 'accounts'"
            ).scalars()
        )
    assert rows == {"accounts": 3, "opportunities": 1}
    assert stamped == [1, 2, 3]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.integers(0, 40), max_size=15),  # upserted ids
            st.lists(st.integers(0, 40), max_size=5),  # deleted ids
            st.booleans(),  # read (and snapshot) after this step
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_writes_and_reads_matches_a_full_read(
    state_url: str, tmp_path_factory, steps
):
    folder = tmp_path_factory.mktemp("cache")
    url = state_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/state.db"
    cached, plain = StateDB(url, cache_dir=folder), StateDB(url)
    try:
        with cached.transaction() as conn:
            conn.exec_driver_sql("DELETE FROM vs_mirror")
            conn.exec_driver_sql("DELETE FROM vs_mirror_versions")
        for i, (ids, deleted, read) in enumerate(steps):
            ids = sorted(set(ids))
            cached.upsert_mirror("c", "accounts", accounts(ids, name=f"v{i}"), key="account_id",
                                 deleted_ids=[f"A{d:05d}" for d in deleted])  # fmt: skip
            if read:
                got = cached.mirror_frame("c", "accounts")
                want = plain.mirror_frame("c", "accounts")
                assert (
                    list(got["account_id"]) == list(want["account_id"]) if len(want) else got.empty
                )
                if len(want):
                    assert_same(got, want)
    finally:
        cached.close()
        plain.close()
