"""The state database's tables, as sqlmodel classes (the schema's current version).

The DDL that builds them lives in `sync/state/migrations.py` (frozen per version); a test checks
that migrating an empty database yields exactly these tables and columns. Timestamps are
aware UTC (stored without offset on SQLite). Values whose type varies (record data,
previous/new field values, counts) are JSON text. Nothing here ever holds a secret.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

JSON = sa.Text


class SchemaVersion(SQLModel, table=True):
    """The one-row record of which migrations ran."""

    __tablename__ = "vs_schema_version"
    id: int = Field(default=1, primary_key=True)
    version: int
    applied_at: datetime


class RunRow(SQLModel, table=True):
    """One run: status, timings, counts and API calls by kind (both JSON objects)."""

    __tablename__ = "vs_runs"
    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    status: str = Field(max_length=20)
    started_at: datetime
    finished_at: datetime | None = None
    counts: str = Field(default="{}", sa_type=JSON)
    api_calls: str = Field(default="{}", sa_type=JSON)
    message: str | None = Field(default=None, sa_type=sa.Text)


class CursorRow(SQLModel, table=True):
    """Where the incremental pull of one object stopped, per connection."""

    __tablename__ = "vs_cursors"
    connection: str = Field(primary_key=True, max_length=200)
    object: str = Field(primary_key=True, max_length=100)
    modified_at: datetime
    last_id: str = Field(default="", max_length=100)
    run_id: int | None = None
    updated_at: datetime


class MirrorRow(SQLModel, table=True):
    """The canonical mirror: one row per record of a canonical table, its data as JSON."""

    __tablename__ = "vs_mirror"
    connection: str = Field(primary_key=True, max_length=200)
    table_name: str = Field(primary_key=True, max_length=40)
    record_id: str = Field(primary_key=True, max_length=100)
    data: str = Field(sa_type=JSON)
    modified_at: datetime | None = None
    deleted: bool = False
    run_id: int | None = None
    updated_at: datetime
    version: int | None = None
    """The table's write counter (MirrorVersionRow) when the row was last written."""


class MirrorVersionRow(SQLModel, table=True):
    """Per connection and canonical table: how many mirror writes happened, and the random
    epoch of this database's counter (a snapshot of another database never matches)."""

    __tablename__ = "vs_mirror_versions"
    connection: str = Field(primary_key=True, max_length=200)
    table_name: str = Field(primary_key=True, max_length=40)
    version: int
    epoch: str = Field(max_length=40)


class ChangeRow(SQLModel, table=True):
    """One field change a run plans to write, with the value it replaces (for rollback)."""

    __tablename__ = "vs_change_sets"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    object: str = Field(max_length=100)
    record_id: str = Field(max_length=100)
    field: str = Field(max_length=200)
    previous: str = Field(sa_type=JSON)
    new: str = Field(sa_type=JSON)
    status: str = Field(default="planned", max_length=20)


class WriteResultRow(SQLModel, table=True):
    """What the CRM said about one record of a push."""

    __tablename__ = "vs_write_results"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    object: str = Field(max_length=100)
    record_id: str = Field(max_length=100)
    ok: bool
    field: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=100)
    message: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime


class RejectedRow(SQLModel, table=True):
    """A pulled or computed row that was left out (mapping or canonical check failed)."""

    __tablename__ = "vs_rejected_rows"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    object: str = Field(max_length=100)
    record_id: str = Field(max_length=100)
    field: str | None = Field(default=None, max_length=200)
    code: str = Field(max_length=100)
    message: str = Field(sa_type=sa.Text)
    value: str | None = Field(default=None, sa_type=sa.Text)
    """The value that could not be read or written (cut to 200 characters)."""


class QuarantineRow(SQLModel, table=True):
    """A finance row left out of a run: where it is and why."""

    __tablename__ = "vs_quarantine"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    file: str = Field(sa_type=sa.Text)
    line: int
    column_name: str = Field(max_length=200)
    value: str = Field(sa_type=sa.Text)
    reason: str = Field(sa_type=sa.Text)


class LockRow(SQLModel, table=True):
    """Who runs a connection now, until when (a stale lock is taken over after expiry)."""

    __tablename__ = "vs_locks"
    connection: str = Field(primary_key=True, max_length=200)
    owner: str = Field(max_length=200)
    run_id: int | None = None
    acquired_at: datetime
    expires_at: datetime


class ScoreRow(SQLModel, table=True):
    """One scored account or opportunity of a run (the engine's row as JSON)."""

    __tablename__ = "vs_scores"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    kind: str = Field(max_length=20)
    record_id: str = Field(max_length=100)
    data: str = Field(sa_type=JSON)


class MarkRow(SQLModel, table=True):
    """When something last happened on a connection (e.g. a full reconciliation read)."""

    __tablename__ = "vs_marks"
    connection: str = Field(primary_key=True, max_length=200)
    name: str = Field(primary_key=True, max_length=100)
    at: datetime


class ScoreBlobRow(SQLModel, table=True):
    """One run's account or opportunity rows as Parquet (zstd), named by the SHA-256 of its
    bytes: runs whose scores are identical share one blob."""

    __tablename__ = "vs_score_blobs"
    digest: str = Field(primary_key=True, max_length=64)
    rows: int
    data: bytes = Field(sa_type=sa.LargeBinary)


class ScoreFrameRow(SQLModel, table=True):
    """Which blob holds a run's scores of one kind (accounts, opportunities)."""

    __tablename__ = "vs_score_frames"
    run_id: int = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=20)
    digest: str = Field(max_length=64)


class ConfigChangeRow(SQLModel, table=True):
    """A project file change saved by the console: who, when, which file, the diff."""

    __tablename__ = "vs_config_changes"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    who: str = Field(max_length=200)
    connection: str = Field(max_length=100)
    file: str = Field(max_length=1000)
    diff: str = Field(sa_type=sa.Text)


from sync.state import alert_models as _alert_models  # noqa: E402 (version 9 tables)

TABLES = (
    SchemaVersion,
    RunRow,
    CursorRow,
    MirrorRow,
    MirrorVersionRow,
    ChangeRow,
    WriteResultRow,
    RejectedRow,
    QuarantineRow,
    LockRow,
    ScoreRow,
    MarkRow,
    ScoreBlobRow,
    ScoreFrameRow,
    *_alert_models.ALERT_TABLES,
    ConfigChangeRow,
)
