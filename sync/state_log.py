"""The write log half of the state database: change sets with previous values, per-record
write results, rejected rows and quarantined finance rows, all keyed by run id."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.base import WriteResult
from sync.state_io import encode_values, frame_records, upsert
from sync.state_models import ChangeRow, QuarantineRow, RejectedRow, WriteResultRow

T_CHANGES = ChangeRow.__table__  # type: ignore[attr-defined]
T_RESULTS = WriteResultRow.__table__  # type: ignore[attr-defined]
T_REJECTED = RejectedRow.__table__  # type: ignore[attr-defined]
T_QUARANTINE = QuarantineRow.__table__  # type: ignore[attr-defined]


class RunLog:
    """What a run planned and what happened, record by record (mixed into StateDB)."""

    def transaction(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    def record_changes(self, run_id: int, obj: str, changes: pd.DataFrame) -> int:
        """Store planned changes (record_id, field, previous, new) before anything is pushed."""
        prev, new = encode_values(changes["previous"]), encode_values(changes["new"])
        rows = [
            {
                "run_id": run_id,
                "object": obj,
                "record_id": str(r),
                "field": str(f),
                "previous": p,
                "new": n,
                "status": "planned",
            }
            for r, f, p, n in zip(changes["record_id"], changes["field"], prev, new, strict=True)
        ]
        with self.transaction() as conn:
            upsert(conn, T_CHANGES, rows, None)
        return len(rows)

    def record_write_result(self, run_id: int, obj: str, result: WriteResult) -> None:
        """Log each record's outcome and mark its planned changes written or rejected."""
        now = datetime.now(UTC)
        rows = [
            {
                "run_id": run_id,
                "object": obj,
                "record_id": str(i),
                "ok": True,
                "field": None,
                "code": None,
                "message": None,
                "at": now,
            }
            for i in result.accepted
        ]
        rows += [
            {
                "run_id": run_id,
                "object": obj,
                "record_id": r.record_id,
                "ok": False,
                "field": r.field or None,
                "code": r.code,
                "message": r.message,
                "at": now,
            }
            for r in result.rejected
        ]
        with self.transaction() as conn:
            upsert(conn, T_RESULTS, rows, None)
            for status, ids in (
                ("written", result.accepted),
                ("rejected", [r.record_id for r in result.rejected]),
            ):
                for start in range(0, len(ids), 500):
                    conn.execute(
                        sa.update(T_CHANGES)
                        .where(
                            T_CHANGES.c.run_id == run_id,
                            T_CHANGES.c.object == obj,
                            T_CHANGES.c.record_id.in_([str(i) for i in ids[start : start + 500]]),
                        )
                        .values(status=status)
                    )

    def set_change_status(self, run_id: int, status: str) -> None:
        """Mark every change of a run (e.g. rolled_back after `rollback RUN`)."""
        with self.transaction() as conn:
            conn.execute(
                sa.update(T_CHANGES).where(T_CHANGES.c.run_id == run_id).values(status=status)
            )

    def changes(self, run_id: int, obj: str | None = None) -> pd.DataFrame:
        """A run's change set with previous and new values decoded from JSON."""
        frame = self._frame(T_CHANGES, run_id, obj)
        for col in ("previous", "new"):
            frame[col] = pd.Series([json.loads(v) for v in frame[col]], dtype=object)
        return frame

    def write_results(self, run_id: int, obj: str | None = None) -> pd.DataFrame:
        return self._frame(T_RESULTS, run_id, obj)

    def record_rejected(self, run_id: int, obj: str, rejected: pd.DataFrame) -> int:
        """Store rows left out of a run (record_id, field, code, message)."""
        rows = frame_records(
            rejected, ["record_id", "field", "code", "message"], {"run_id": run_id, "object": obj}
        )
        with self.transaction() as conn:
            upsert(conn, T_REJECTED, rows, None)
        return len(rows)

    def rejected(self, run_id: int, obj: str | None = None) -> pd.DataFrame:
        return self._frame(T_REJECTED, run_id, obj)

    def record_quarantine(self, run_id: int, report: pd.DataFrame) -> int:
        """Store a finance quarantine report (file, line, column, value, reason)."""
        renamed = report.rename(columns={"column": "column_name"})
        rows = frame_records(
            renamed, ["file", "line", "column_name", "value", "reason"], {"run_id": run_id}
        )
        with self.transaction() as conn:
            upsert(conn, T_QUARANTINE, rows, None)
        return len(rows)

    def quarantine(self, run_id: int) -> pd.DataFrame:
        return self._frame(T_QUARANTINE, run_id, None).rename(columns={"column_name": "column"})

    def _frame(self, table: sa.Table, run_id: int, obj: str | None) -> pd.DataFrame:
        query = sa.select(table).where(table.c.run_id == run_id).order_by(table.c.id)
        if obj is not None:
            query = query.where(table.c.object == obj)
        with self.transaction() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
