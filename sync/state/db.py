"""The state database: runs, cursors, the canonical mirror, change sets, write log, locks.

`StateDB(url)` opens SQLite (default `sqlite:///.valuesync/state.db`, folder created) or
PostgreSQL by URL, migrates the schema to the latest version (`sync/state/migrations.py`), and
offers what a run needs. Bulk paths (mirror, change sets, results) are SQLAlchemy Core
executemany in chunks with the dialect's `INSERT ... ON CONFLICT DO UPDATE`, never
row-by-row ORM. A page and its cursor are stored in one transaction, so a cursor never
moves past data that is not on disk. No secret is ever stored; the URL is shown masked.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import Cursor
from mappings.canonical import TABLES
from mappings.errors import StateError
from sync.state import locks as state_locks
from sync.state import migrations
from sync.state.codec import (
    decode_frame,
    mirror_rows,
    upsert,
)
from sync.state.log import RunLog
from sync.state.mirror_cache import MirrorSnapshots, merge
from sync.state.models import (
    CursorRow,
    MirrorRow,
    MirrorVersionRow,
    RunRow,
)
from sync.state.runs import RunState

DEFAULT_URL = "sqlite:///.valuesync/state.db"
DEFAULT_LOCK_TTL = timedelta(minutes=15)
RUN_STATUSES = (
    "running",
    "succeeded",
    "succeeded_with_rejections",
    "failed",
    "aborted",
    "planned",
    "abandoned",
)

T_RUNS = RunRow.__table__  # type: ignore[attr-defined]
T_CURSORS = CursorRow.__table__  # type: ignore[attr-defined]
T_MIRROR = MirrorRow.__table__  # type: ignore[attr-defined]
T_VERSIONS = MirrorVersionRow.__table__  # type: ignore[attr-defined]


def utcnow() -> datetime:
    """Aware UTC, as every timestamp in the state database."""
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    """A timestamp in UTC; a naive one is taken to be UTC already."""
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine for SQLite (folder created, WAL, BEGIN IMMEDIATE) or PostgreSQL."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StateError(
            f"state database URL uses '{backend}'; valuesync supports sqlite:///path and "
            "postgresql+psycopg://user@host/db"
        )
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"the state database's folder {Path(parsed.database).parent} cannot be created "
                f"({exc.strerror}); point state.url at a writable place"
            ) from None
    # hide_parameters: customer field values never reach an error message or a log line.
    engine = sa.create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself, so DDL is transactional and writers queue.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class StateDB(RunLog, RunState):
    """The facade every part of a run uses to read and write state."""

    def __init__(
        self, url: str | None = None, *, migrate: bool = True, cache_dir: Path | None = None
    ) -> None:
        """`cache_dir`: where mirror snapshots go (sync/state/mirror_cache.py); None: none."""
        self.url = url or DEFAULT_URL
        self.engine = make_engine(self.url)
        self.cache_dir = cache_dir
        self.snapshots = MirrorSnapshots(cache_dir / "mirror" if cache_dir else None)
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        masked = sa.engine.make_url(self.url).render_as_string(hide_password=True)
        return f"StateDB({masked!r})"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; database failures become StateError (never with the URL)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
            raise StateError(
                f"state database {self!r}: {first}; check that it is reachable and writable"
            ) from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------
    def migrate(self, target: int = migrations.LATEST) -> list[int]:
        """Apply missing migrations up to `target`; returns the versions applied."""
        with self.transaction() as conn:
            return migrations.migrate(conn, target)

    def schema_version(self) -> int:
        with self.transaction() as conn:
            return migrations.current_version(conn)

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, connection: str, kind: str = "sync") -> int:
        """Record a new running run; returns its id."""
        row = {
            "connection": connection,
            "kind": kind,
            "status": "running",
            "started_at": utcnow(),
            "counts": "{}",
            "api_calls": "{}",
        }
        with self.transaction() as conn:
            return int(
                conn.execute(sa.insert(T_RUNS).values(**row).returning(T_RUNS.c.id)).scalar_one()
            )

    def add_api_calls(self, run_id: int, calls: Mapping[str, int]) -> None:
        """Add API calls by kind (e.g. {"rest": 3, "bulk": 1}) to the run's totals."""
        with self.transaction() as conn:
            current = json.loads(self._run_field(conn, run_id, "api_calls"))
            for kind, n in calls.items():
                current[kind] = current.get(kind, 0) + int(n)
            conn.execute(
                sa.update(T_RUNS)
                .where(T_RUNS.c.id == run_id)
                .values(api_calls=json.dumps(current, sort_keys=True))
            )

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        counts: Mapping[str, Any] | None = None,
        api_calls: Mapping[str, int] | None = None,
        message: str | None = None,
    ) -> None:
        """Close a run with its status, figures and (for failures) a message without secrets."""
        if status not in RUN_STATUSES[1:]:
            raise ValueError(f"status must be one of {RUN_STATUSES[1:]}")
        if api_calls:
            self.add_api_calls(run_id, api_calls)
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "message": message}
        if counts is not None:
            values["counts"] = json.dumps(dict(counts), sort_keys=True, default=str)
        with self.transaction() as conn:
            conn.execute(sa.update(T_RUNS).where(T_RUNS.c.id == run_id).values(**values))

    def run(self, run_id: int) -> dict[str, Any]:
        """One run as a dict (counts and api_calls decoded); StateError if unknown."""
        with self.transaction() as conn:
            row = conn.execute(sa.select(T_RUNS).where(T_RUNS.c.id == run_id)).mappings().first()
        if row is None:
            raise StateError(f"there is no run {run_id} in {self!r}; list runs to find its id")
        return {
            **row,
            "counts": json.loads(row["counts"]),
            "api_calls": json.loads(row["api_calls"]),
        }

    def runs(self, connection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        query = sa.select(T_RUNS.c.id).order_by(T_RUNS.c.id.desc()).limit(limit)
        if connection is not None:
            query = query.where(T_RUNS.c.connection == connection)
        with self.transaction() as conn:
            ids = list(conn.execute(query).scalars())
        return [self.run(i) for i in ids]

    def _run_field(self, conn: Connection, run_id: int, column: str) -> Any:
        value = conn.execute(sa.select(T_RUNS.c[column]).where(T_RUNS.c.id == run_id)).scalar()
        if value is None:
            raise StateError(f"there is no run {run_id} in {self!r}")
        return value

    # -- cursors and mirror ---------------------------------------------------------------
    def get_cursor(self, connection: str, obj: str) -> Cursor | None:
        """Where the last stored page of `obj` ended, or None for a full pull."""
        query = sa.select(T_CURSORS.c.modified_at, T_CURSORS.c.last_id).where(
            T_CURSORS.c.connection == connection, T_CURSORS.c.object == obj
        )
        with self.transaction() as conn:
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

    def set_cursor(
        self, connection: str, obj: str, cursor: Cursor, run_id: int | None = None
    ) -> None:
        """Move a cursor on its own (prefer store_page, which stores the data with it)."""
        with self.transaction() as conn:
            self._set_cursor(conn, connection, obj, cursor, run_id)

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

    # -- locks ----------------------------------------------------------------------------
    def acquire_lock(
        self,
        connection: str,
        owner: str,
        *,
        ttl: timedelta = DEFAULT_LOCK_TTL,
        run_id: int | None = None,
        now: datetime | None = None,
    ) -> None:
        """Take the connection's lock; StateError (who holds it, until when) if it is taken."""
        with self.transaction() as conn:
            state_locks.acquire(
                conn, connection, owner, ttl=ttl, now=_aware(now or utcnow()), run_id=run_id
            )

    def refresh_lock(
        self,
        connection: str,
        owner: str,
        *,
        ttl: timedelta = DEFAULT_LOCK_TTL,
        now: datetime | None = None,
    ) -> None:
        """Extend our lock; StateError if another run took it over after it expired."""
        with self.transaction() as conn:
            state_locks.refresh(conn, connection, owner, ttl=ttl, now=_aware(now or utcnow()))

    def release_lock(self, connection: str, owner: str) -> bool:
        with self.transaction() as conn:
            return state_locks.release(conn, connection, owner)

    @contextmanager
    def lock(
        self, connection: str, *, ttl: timedelta = DEFAULT_LOCK_TTL, run_id: int | None = None
    ) -> Iterator[str]:
        """Hold the connection's lock for a block; yields the owner token (for refresh_lock)."""
        owner = new_owner()
        self.acquire_lock(connection, owner, ttl=ttl, run_id=run_id)
        try:
            yield owner
        finally:
            self.release_lock(connection, owner)


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


def new_owner() -> str:
    """A lock owner token: host, process and a random part (tells people who holds it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
