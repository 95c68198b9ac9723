"""The write log half of the state database: change sets with previous values, per-record
write results, rejected rows and quarantined finance rows, all keyed by run id."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.base import WriteResult
from sync.state.bulk import append_rows, json_loads, json_values
from sync.state.models import ChangeRow, QuarantineRow, RejectedRow, WriteResultRow

T_CHANGES = ChangeRow.__table__  # type: ignore[attr-defined]
T_RESULTS = WriteResultRow.__table__  # type: ignore[attr-defined]
T_REJECTED = RejectedRow.__table__  # type: ignore[attr-defined]
T_QUARANTINE = QuarantineRow.__table__  # type: ignore[attr-defined]


def _texts(values: pd.Series) -> list[str]:
    """str() of each value (the object array first: iterating an Arrow-backed column is slow)."""
    return list(map(str, values.to_numpy(dtype=object)))


def _plain_columns(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    """`columns` of `frame` as lists of Python values (missing column or NaN -> None)."""
    part = frame.reindex(columns=columns).astype(object)
    part = part.where(part.notna(), None)
    return {c: part[c].tolist() for c in columns}


class RunLog:
    """What a run planned and what happened, record by record (mixed into StateDB)."""

    def transaction(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    def record_changes(self, run_id: int, obj: str, changes: pd.DataFrame) -> int:
        """Store planned changes (record_id, field, previous, new) before anything is pushed.

        previous/new are stored as JSON text (`json.dumps` of each value), encoded once per
        distinct value; the rows go in column by column (COPY on PostgreSQL).
        """
        columns = {
            "run_id": run_id,
            "object": obj,
            "record_id": _texts(changes["record_id"]),
            "field": _texts(changes["field"]),
            "previous": json_values(changes["previous"]),
            "new": json_values(changes["new"]),
            "status": "planned",
        }
        with self.transaction() as conn:
            return append_rows(conn, T_CHANGES, columns, len(changes))

    def record_write_result(self, run_id: int, obj: str, result: WriteResult) -> None:
        """Log each record's outcome and mark its planned changes written or rejected.

        Called once per push batch: the cost follows the batch, not the run's change set
        (the updates find their rows through the (run_id, object, record_id) index).
        """
        rejected = list(result.rejected)
        accepted = [str(i) for i in result.accepted]
        columns = {
            "run_id": run_id,
            "object": obj,
            "record_id": accepted + [r.record_id for r in rejected],
            "ok": [True] * len(accepted) + [False] * len(rejected),
            "field": [None] * len(accepted) + [r.field or None for r in rejected],
            "code": [None] * len(accepted) + [r.code for r in rejected],
            "message": [None] * len(accepted) + [r.message for r in rejected],
            "at": datetime.now(UTC),
        }
        with self.transaction() as conn:
            append_rows(conn, T_RESULTS, columns, len(accepted) + len(rejected))
            for status, ids in (
                ("written", accepted),
                ("rejected", [r.record_id for r in rejected]),
            ):
                self._mark(conn, run_id, obj, status, ids)

    @staticmethod
    def _mark(conn: Connection, run_id: int, obj: str, status: str, ids: list[str]) -> None:
        """Set the status of the run's changes of these records through the (run_id, object,
        record_id) index. SQLite probes the index for an IN list; PostgreSQL gets one equality
        look-up per record, because it plans an IN list as a scan of the whole run while its
        statistics still think the fresh change set is empty."""
        if not ids:
            return
        where = (T_CHANGES.c.run_id == run_id, T_CHANGES.c.object == obj)
        unique = list(dict.fromkeys(ids))
        if conn.dialect.name == "sqlite":
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                conn.execute(
                    sa.update(T_CHANGES)
                    .where(*where, T_CHANGES.c.record_id.in_(part))
                    .values(status=status)
                )
            return
        stmt = (
            sa.update(T_CHANGES)
            .where(*where, T_CHANGES.c.record_id == sa.bindparam("rid"))
            .values(status=status)
        )
        conn.execute(stmt, [{"rid": i} for i in unique])

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
            frame[col] = json_loads(frame[col])
        return frame

    def write_results(self, run_id: int, obj: str | None = None) -> pd.DataFrame:
        return self._frame(T_RESULTS, run_id, obj)

    def record_rejected(self, run_id: int, obj: str, rejected: pd.DataFrame) -> int:
        """Store rows left out of a run (record_id, field, code, message and, when the frame
        has it, value)."""
        names = ["record_id", "field", "code", "message", "value"]
        columns = {"run_id": run_id, "object": obj, **_plain_columns(rejected, names)}
        with self.transaction() as conn:
            return append_rows(conn, T_REJECTED, columns, len(rejected))

    def rejected(self, run_id: int, obj: str | None = None) -> pd.DataFrame:
        return self._frame(T_REJECTED, run_id, obj)

    def record_quarantine(self, run_id: int, report: pd.DataFrame) -> int:
        """Store a finance quarantine report (file, line, column, value, reason)."""
        renamed = report.rename(columns={"column": "column_name"})
        names = ["file", "line", "column_name", "value", "reason"]
        columns = {"run_id": run_id, **_plain_columns(renamed, names)}
        with self.transaction() as conn:
            return append_rows(conn, T_QUARANTINE, columns, len(renamed))

    def quarantine(self, run_id: int) -> pd.DataFrame:
        return self._frame(T_QUARANTINE, run_id, None).rename(columns={"column_name": "column"})

    def _frame(self, table: sa.Table, run_id: int, obj: str | None) -> pd.DataFrame:
        query = sa.select(table).where(table.c.run_id == run_id).order_by(table.c.id)
        if obj is not None:
            query = query.where(table.c.object == obj)
        with self.reading() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
