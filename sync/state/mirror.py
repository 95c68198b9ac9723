"""The cursor and mirror half of the state database (mixed into StateDB).

A page and its cursor are stored in one transaction (`store_page`), so a cursor never moves
past data that is not on disk. Every mirror write stamps the table's next version, so a
local Parquet snapshot (mirror_cache.py) can be brought up to date with only the rows
written since.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from connectors.base import Cursor
from mappings.canonical import TABLES
from sync.state.codec import decode_frame, mirror_rows, upsert
from sync.state.mirror_cache import MirrorSnapshots, merge
from sync.state.models import CursorRow, MirrorRow, MirrorVersionRow

T_CURSORS = CursorRow.__table__  # type: ignore[attr-defined]
T_MIRROR = MirrorRow.__table__  # type: ignore[attr-defined]
T_VERSIONS = MirrorVersionRow.__table__  # type: ignore[attr-defined]


def utcnow() -> datetime:
    """Aware UTC, as every timestamp in the state database."""
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    """A timestamp in UTC; a naive one is taken to be UTC already."""
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


class MirrorState:
    """Cursors and the canonical mirror of every pulled table."""

    engine: Engine
    snapshots: MirrorSnapshots

    def transaction(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Connection]:  # provided by StateDB
        raise NotImplementedError

    # -- cursors and mirror ---------------------------------------------------------------
    def get_cursor(self, connection: str, obj: str) -> Cursor | None:
        """Where the last stored page of `obj` ended, or None for a full pull."""
        query = sa.select(T_CURSORS.c.modified_at, T_CURSORS.c.last_id).where(
            T_CURSORS.c.connection == connection, T_CURSORS.c.object == obj
        )
        with self.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else Cursor(_aware(row[0]), row[1])

    def _set_cursor(
        self, conn: Connection, connection: str, obj: str, cursor: Cursor, run_id: int | None
    ) -> None:
        row = {
            "connection": connection,
            "object": obj,
            "modified_at": _aware(cursor.modified_at),
            "last_id": cursor.last_id,
            "run_id": run_id,
            "updated_at": utcnow(),
        }
        upsert(conn, T_CURSORS, [row], ["connection", "object"])

    def store_page(
        self,
        connection: str,
        table: str,
        frame: pd.DataFrame,
        *,
        key: str,
        cursor: Cursor | None,
        obj: str | None = None,
        run_id: int | None = None,
        deleted_ids: Sequence[str] = (),
    ) -> int:
        """Upsert a page into the mirror and move the cursor, in one transaction."""
        with self.transaction() as conn:
            n = self._upsert_mirror(conn, connection, table, frame, key, run_id, deleted_ids)
            if cursor is not None:
                self._set_cursor(conn, connection, obj or table, cursor, run_id)
        return n

    def upsert_mirror(
        self,
        connection: str,
        table: str,
        frame: pd.DataFrame,
        *,
        key: str,
        run_id: int | None = None,
        deleted_ids: Sequence[str] = (),
    ) -> int:
        """Bulk upsert canonical rows (keyed by `key`) into the mirror; returns rows written."""
        with self.transaction() as conn:
            return self._upsert_mirror(conn, connection, table, frame, key, run_id, deleted_ids)

    def _upsert_mirror(
        self,
        conn: Connection,
        connection: str,
        table: str,
        frame: pd.DataFrame,
        key: str,
        run_id: int | None,
        deleted_ids: Sequence[str],
    ) -> int:
        now = utcnow()
        version = self._next_version(conn, connection, table)
        rows = mirror_rows(
            frame,
            key=key,
            connection=connection,
            table=table,
            run_id=run_id,
            now=now,
            dialect=conn.dialect.name,
            version=version,
        )
        upsert(conn, T_MIRROR, rows, ["connection", "table_name", "record_id"], prepared=True)
        if deleted_ids:
            tombstones = [
                {
                    "connection": connection,
                    "table_name": table,
                    "record_id": str(i),
                    "data": "{}",
                    "modified_at": None,
                    "deleted": True,
                    "run_id": run_id,
                    "updated_at": now,
                    "version": version,
                }
                for i in deleted_ids
            ]
            upsert(
                conn,
                T_MIRROR,
                tombstones,
                ["connection", "table_name", "record_id"],
                update=["deleted", "run_id", "updated_at", "version"],
            )
        return len(rows) + len(deleted_ids)

    def _next_version(self, conn: Connection, connection: str, table: str) -> int:
        """The table's write counter, incremented in the writing transaction (the row stays
        locked until it commits, so committed versions follow commit order)."""
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(T_VERSIONS).values(
            connection=connection, table_name=table, version=1, epoch=uuid.uuid4().hex
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["connection", "table_name"],
            set_={"version": T_VERSIONS.c.version + 1},
        ).returning(T_VERSIONS.c.version)
        return int(conn.execute(stmt).scalar_one())

    def mirror_frame(
        self, connection: str, table: str, *, include_deleted: bool = False
    ) -> pd.DataFrame:
        """The mirrored rows of a canonical table as a DataFrame (canonical types restored),
        ordered by record id (code-point order on every database).

        With a snapshot folder, the last snapshot plus the rows written since it; the result
        is then saved as the new snapshot.
        """
        where = (T_MIRROR.c.connection == connection, T_MIRROR.c.table_name == table)
        if include_deleted:
            with self.transaction() as conn:
                data = list(conn.execute(sa.select(T_MIRROR.c.data).where(*where)).scalars())
            return _by_id(decode_frame(data, table), table)
        with self.transaction() as conn:
            # The counter first: rows read after it hold at least everything up to it.
            counter = conn.execute(
                sa.select(T_VERSIONS.c.epoch, T_VERSIONS.c.version).where(
                    T_VERSIONS.c.connection == connection, T_VERSIONS.c.table_name == table
                )
            ).first()
            snapshot = None
            if counter is not None:
                snapshot = self.snapshots.load(connection, table, counter[0], counter[1])
            if snapshot is None:
                query = sa.select(T_MIRROR.c.data).where(*where, T_MIRROR.c.deleted.is_(False))
                data = list(conn.execute(query).scalars())
            else:
                query = sa.select(T_MIRROR.c.record_id, T_MIRROR.c.data, T_MIRROR.c.deleted).where(
                    *where, T_MIRROR.c.version > snapshot.version
                )
                delta = conn.execute(query).all()
        if snapshot is None:
            frame = _by_id(decode_frame(data, table), table)
        elif not delta:
            return snapshot.frame
        else:
            live = [d for _, d, gone in delta if not gone]
            frame = merge(
                snapshot.frame, _key(table), [r for r, _, _ in delta], decode_frame(live, table)
            )
        if counter is not None and len(frame):
            self.snapshots.save(connection, table, counter[0], counter[1], frame)
        return frame


def _key(table: str) -> str:
    canonical = TABLES.get(table)
    return canonical.key if canonical is not None else "record_id"


def _by_id(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Rows in record-id order (Python's code-point order, the same on SQLite and PostgreSQL
    whatever its collation)."""
    key = _key(table)
    if frame.empty or key not in frame.columns:
        return frame
    order = frame[key].astype(str).argsort(kind="stable").to_numpy()
    return frame.iloc[order].reset_index(drop=True)
