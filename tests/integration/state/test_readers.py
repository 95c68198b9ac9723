"""Readers never wait for a writer: `status`, the console's pages and the report read the
last committed state while a run holds the write lock (SQLite WAL; PostgreSQL MVCC)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from sync.pipeline.status import locks
from sync.state.audit import config_changes
from sync.state.db import T_RUNS, StateDB


def test_reads_finish_while_a_run_holds_the_write_lock(state_url: str) -> None:
    state = StateDB(state_url)
    try:
        done = state.start_run("sb")
        state.finish_run(done, "succeeded", counts={"objects": {}})
        seen: dict[str, object] = {}

        def read() -> None:
            seen["runs"] = [r["id"] for r in state.runs("sb")]
            seen["run"] = state.run(done)["status"]
            seen["cursor"] = state.get_cursor("sb", "accounts")
            seen["locks"] = locks(state)
            seen["changes"] = config_changes(state, "sb")

        with state.transaction() as writer:  # a run writing: the write lock is held
            writer.execute(sa.update(T_RUNS).where(T_RUNS.c.id == done).values(message="busy"))
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            reader.join(timeout=10)
            assert not reader.is_alive(), "a read waited for the writer's transaction"
        assert seen == {
            "runs": [done], "run": "succeeded", "cursor": None, "locks": {}, "changes": []
        }  # fmt: skip
        assert state.run(done)["message"] == "busy"  # committed once the writer finished
    finally:
        state.close()
