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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from mappings.errors import StateError
from sync.state import locks as state_locks
from sync.state import migrations
from sync.state.log import RunLog
from sync.state.mirror import MirrorState, _aware, utcnow
from sync.state.mirror_cache import MirrorSnapshots
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
    "planned",
    "abandoned",
)

T_RUNS = RunRow.__table__  # type: ignore[attr-defined]
T_CURSORS = CursorRow.__table__  # type: ignore[attr-defined]
T_MIRROR = MirrorRow.__table__  # type: ignore[attr-defined]
T_VERSIONS = MirrorVersionRow.__table__  # type: ignore[attr-defined]


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
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process
        # loses nothing committed, a power cut at most the last commits (a page and its
        # cursor go together, so a run simply reads them again), and never corrupts.
        cur.execute("PRAGMA synchronous=NORMAL")
        # A mirror of millions of rows is written in key order of no kind (Bulk chunks):
        # 128 MiB of page cache (the default is 2 MiB) keeps the B-tree's inner pages hot.
        cur.execute("PRAGMA cache_size=-131072")
        # Checkpoints (which do sync) every 64 MiB of WAL instead of every 4 MiB; the WAL
        # file is cut back to 64 MiB after one.
        cur.execute("PRAGMA wal_autocheckpoint=16384")
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock at once (no upgrade deadlock); a reader's deferred
        # transaction sees a WAL snapshot and never waits for a writer (StateDB.reading).
        reader = conn.get_execution_options().get("vs_reader", False)
        conn.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

    return engine


class StateDB(MirrorState, RunLog, RunState):
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
            raise self._failure(exc, "reachable and writable") from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction: on SQLite a deferred one, so a page or `status` reads
        the last committed state while a run holds the write lock (WAL), never waiting."""
        try:
            with self.engine.connect().execution_options(vs_reader=True) as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise self._failure(exc, "reachable") from exc

    def make_durable(self) -> None:
        """Everything committed so far survives a power cut, not only a killed process.

        SQLite runs with `synchronous=NORMAL` (commits are not synced one by one); before
        valuesync writes to a CRM, the change sets that let a run be rolled back must be on
        disk, so a WAL checkpoint syncs them. PostgreSQL commits are durable already."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            raw = self.engine.raw_connection()  # autocommit: outside any transaction
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                raw.close()
        except SQLAlchemyError as exc:
            raise self._failure(exc, "reachable and writable") from exc

    def _failure(self, exc: SQLAlchemyError, needs: str) -> StateError:
        """The database's own first line of the error, without the URL's secrets."""
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return StateError(f"state database {self!r}: {first}; check that it is {needs}")

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
        with self.reading() as conn:
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
        with self.reading() as conn:
            ids = list(conn.execute(query).scalars())
        return [self.run(i) for i in ids]

    def _run_field(self, conn: Connection, run_id: int, column: str) -> Any:
        value = conn.execute(sa.select(T_RUNS.c[column]).where(T_RUNS.c.id == run_id)).scalar()
        if value is None:
            raise StateError(f"there is no run {run_id} in {self!r}")
        return value

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


def new_owner() -> str:
    """A lock owner token: host, process and a random part (tells people who holds it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
