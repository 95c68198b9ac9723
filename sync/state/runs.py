"""What the pipeline adds to the state database: per-run scores, marks, run look-ups and the
take-over of locks and runs left behind by a process that died (mixed into StateDB)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from connectors.base import Cursor
from sync.state.codec import decode_frame, upsert
from sync.state.log import T_CHANGES
from sync.state.models import (
    CursorRow,
    LockRow,
    MarkRow,
    RunRow,
    ScoreBlobRow,
    ScoreFrameRow,
    ScoreRow,
)
from sync.state.scores import SCORE_KEYS, decode_scores, digest, encode_scores

T_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
T_MARKS = MarkRow.__table__  # type: ignore[attr-defined]
T_CURSORS_ = CursorRow.__table__  # type: ignore[attr-defined]
T_LOCKS = LockRow.__table__  # type: ignore[attr-defined]
T_RUNS_ = RunRow.__table__  # type: ignore[attr-defined]
T_BLOBS = ScoreBlobRow.__table__  # type: ignore[attr-defined]
T_FRAMES = ScoreFrameRow.__table__  # type: ignore[attr-defined]
__all__ = ["SCORE_KEYS", "RunState", "owner_is_dead"]


def _aware(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def owner_is_dead(owner: str) -> bool:
    """True when a lock owner token ("host:pid:rand") names a process of this host that is gone."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped by its parent still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class RunState:
    """Scores, marks and run bookkeeping of the pipeline."""

    def transaction(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    # -- scores ---------------------------------------------------------------------------
    def record_scores(
        self,
        run_id: int,
        accounts: pd.DataFrame,
        opportunities: pd.DataFrame | None = None,
        features: pd.DataFrame | None = None,
        segments: pd.DataFrame | None = None,
    ) -> int:
        """Store the engine's account and opportunity rows of a run (one blob per kind), the
        features they were scored on (what the console explains and previews from) and the
        segment table (what the report's value-chain section shows).

        A blob equal to one stored before (same bytes) is not stored again: the run refers
        to it, so a schedule whose scores do not change adds a few bytes per run.
        """
        blobs = {
            kind: (encode_scores(frame, kind), len(frame))
            for kind, frame in (
                ("accounts", accounts),
                ("opportunities", opportunities),
                ("features", features),
                ("segments", segments),
            )
            if frame is not None and not frame.empty
        }
        with self.transaction() as conn:
            for kind, (blob, rows) in blobs.items():
                name = digest(blob)
                known = sa.select(T_BLOBS.c.digest).where(T_BLOBS.c.digest == name)
                if conn.execute(known).first() is None:
                    insert: Any = (
                        postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
                    )
                    conn.execute(
                        insert(T_BLOBS)
                        .values(digest=name, rows=rows, data=blob)
                        .on_conflict_do_nothing(index_elements=["digest"])
                    )
                row = {"run_id": run_id, "kind": kind, "digest": name}
                upsert(conn, T_FRAMES, [row], ["run_id", "kind"])
        return sum(rows for _, rows in blobs.values())

    def scores(self, run_id: int, kind: str = "accounts") -> pd.DataFrame:
        """The rows `record_scores` stored for a run, as a DataFrame ordered by record id
        (empty, without columns, when the run stored none)."""
        query = (
            sa.select(T_BLOBS.c.data)
            .join(T_FRAMES, T_FRAMES.c.digest == T_BLOBS.c.digest)
            .where(T_FRAMES.c.run_id == run_id, T_FRAMES.c.kind == kind)
        )
        with self.reading() as conn:
            blob = conn.execute(query).scalar()
            if blob is None:  # a run recorded before schema version 6: a JSON row per record
                old = (
                    sa.select(T_SCORES.c.data)
                    .where(T_SCORES.c.run_id == run_id, T_SCORES.c.kind == kind)
                    .order_by(T_SCORES.c.record_id)
                )
                data = list(conn.execute(old).scalars())
        return decode_scores(bytes(blob), kind) if blob is not None else decode_frame(data, kind)

    def has_scores(self, run_id: int, kind: str = "accounts") -> bool:
        """Whether the run stored scores of this kind (without reading them)."""
        new = sa.select(T_FRAMES.c.run_id).where(
            T_FRAMES.c.run_id == run_id, T_FRAMES.c.kind == kind
        )
        old = sa.select(T_SCORES.c.id).where(T_SCORES.c.run_id == run_id, T_SCORES.c.kind == kind)
        with self.reading() as conn:
            return (
                conn.execute(new.limit(1)).first() is not None
                or conn.execute(old.limit(1)).first() is not None
            )

    # -- marks ----------------------------------------------------------------------------
    def get_mark(self, connection: str, name: str) -> datetime | None:
        """When `name` last happened on `connection` (None: never)."""
        query = sa.select(T_MARKS.c.at).where(
            T_MARKS.c.connection == connection, T_MARKS.c.name == name
        )
        with self.reading() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else _aware(found)

    def set_mark(self, connection: str, name: str, at: datetime) -> None:
        row = {"connection": connection, "name": name, "at": _aware(at)}
        with self.transaction() as conn:
            upsert(conn, T_MARKS, [row], ["connection", "name"])

    def restore_cursor(
        self, connection: str, obj: str, cursor: Cursor | None, run_id: int | None = None
    ) -> None:
        """Put a cursor back where it was (None: no cursor, the next pull reads in full)."""
        where = (T_CURSORS_.c.connection == connection, T_CURSORS_.c.object == obj)
        with self.transaction() as conn:
            conn.execute(sa.delete(T_CURSORS_).where(*where))
            if cursor is not None:
                row = {
                    "connection": connection, "object": obj,
                    "modified_at": _aware(cursor.modified_at), "last_id": cursor.last_id,
                    "run_id": run_id, "updated_at": datetime.now(UTC),
                }  # fmt: skip
                conn.execute(sa.insert(T_CURSORS_).values(**row))

    # -- runs -----------------------------------------------------------------------------
    def latest_run(
        self, connection: str, *, status: str | Sequence[str] | None = None, kind: str | None = None
    ) -> int | None:
        """The id of the newest run of `connection` (with that status / kind), or None."""
        query = sa.select(T_RUNS_.c.id).where(T_RUNS_.c.connection == connection)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(T_RUNS_.c.status.in_(wanted))
        if kind is not None:
            query = query.where(T_RUNS_.c.kind == kind)
        with self.reading() as conn:
            found = conn.execute(query.order_by(T_RUNS_.c.id.desc()).limit(1)).scalar()
        return None if found is None else int(found)

    def abandon_running(self, connection: str, keep: int) -> list[int]:
        """Mark runs of `connection` still 'running' (other than `keep`) as abandoned.

        Called by the lock holder: a run still 'running' then belongs to a process that
        died. Its planned changes stay 'planned' and are never replayed; the next run
        recomputes from a fresh pull.
        """
        query = sa.select(T_RUNS_.c.id).where(
            T_RUNS_.c.connection == connection,
            T_RUNS_.c.status == "running",
            T_RUNS_.c.id != keep,
        )
        with self.transaction() as conn:
            ids = [int(i) for i in conn.execute(query).scalars()]
            if ids:
                conn.execute(
                    sa.update(T_RUNS_)
                    .where(T_RUNS_.c.id.in_(ids))
                    .values(
                        status="abandoned",
                        finished_at=datetime.now(UTC),
                        message=f"abandoned: its process stopped; run {keep} took over",
                    )
                )
        return ids

    def take_over_dead_lock(self, connection: str) -> str | None:
        """Drop the connection's lock when its holder is a dead process of this host.

        Returns the dead owner's token, or None when the lock is free, live or held elsewhere
        (a holder on another host is only taken over after expiry, by `acquire_lock`).
        """
        query = sa.select(T_LOCKS.c.owner).where(T_LOCKS.c.connection == connection)
        with self.transaction() as conn:
            owner = conn.execute(query).scalar()
            if owner is None or not owner_is_dead(owner):
                return None
            conn.execute(
                sa.delete(T_LOCKS).where(
                    T_LOCKS.c.connection == connection, T_LOCKS.c.owner == owner
                )
            )
        return str(owner)

    def set_change_status_for(
        self, run_id: int, obj: str, keys: Sequence[tuple[str, str]], status: str
    ) -> None:
        """Mark some changes of a run (by (record_id, field)), e.g. rolled_back."""
        with self.transaction() as conn:
            for record_id, field in keys:
                conn.execute(
                    sa.update(T_CHANGES)
                    .where(
                        T_CHANGES.c.run_id == run_id,
                        T_CHANGES.c.object == obj,
                        T_CHANGES.c.record_id == record_id,
                        T_CHANGES.c.field == field,
                    )
                    .values(status=status)
                )
