"""Versioned schema migrations of the state database, applied in order, each exactly once.

Each migration is frozen DDL for its version (never the current models: a later change to
`sync/state/models.py` must come with a new migration, not an edit of an old one). The version
sits in `vs_schema_version`; `migrate` runs the missing steps in one transaction,
serialised across processes (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

MIGRATE_LOCK_KEY = 0x76616C7565  # "value": the advisory lock that serialises migrations


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_tables(conn: Connection) -> None:
    md = sa.MetaData()
    text, ts = sa.Text, sa.DateTime(timezone=True)

    def name(n: int = 200) -> sa.String:
        return sa.String(n)

    sa.Table(
        "vs_runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connection", name(), nullable=False),
        sa.Column("kind", name(40), nullable=False),
        sa.Column("status", name(20), nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.Column("finished_at", ts),
        sa.Column("counts", text, nullable=False),
        sa.Column("api_calls", text, nullable=False),
        sa.Column("message", text),
    )
    sa.Table(
        "vs_cursors",
        md,
        sa.Column("connection", name(), primary_key=True),
        sa.Column("object", name(100), primary_key=True),
        sa.Column("modified_at", ts, nullable=False),
        sa.Column("last_id", name(100), nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("updated_at", ts, nullable=False),
    )
    sa.Table(
        "vs_mirror",
        md,
        sa.Column("connection", name(), primary_key=True),
        sa.Column("table_name", name(40), primary_key=True),
        sa.Column("record_id", name(100), primary_key=True),
        sa.Column("data", text, nullable=False),
        sa.Column("modified_at", ts),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("updated_at", ts, nullable=False),
    )

    def per_run() -> list[sa.Column[Any]]:
        return [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.Integer, nullable=False),
        ]

    sa.Table(
        "vs_change_sets",
        md,
        *per_run(),
        sa.Column("object", name(100), nullable=False),
        sa.Column("record_id", name(100), nullable=False),
        sa.Column("field", name(), nullable=False),
        sa.Column("previous", text, nullable=False),
        sa.Column("new", text, nullable=False),
        sa.Column("status", name(20), nullable=False),
    )
    sa.Table(
        "vs_write_results",
        md,
        *per_run(),
        sa.Column("object", name(100), nullable=False),
        sa.Column("record_id", name(100), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("field", name()),
        sa.Column("code", name(100)),
        sa.Column("message", text),
        sa.Column("at", ts, nullable=False),
    )
    sa.Table(
        "vs_rejected_rows",
        md,
        *per_run(),
        sa.Column("object", name(100), nullable=False),
        sa.Column("record_id", name(100), nullable=False),
        sa.Column("field", name()),
        sa.Column("code", name(100), nullable=False),
        sa.Column("message", text, nullable=False),
    )
    sa.Table(
        "vs_quarantine",
        md,
        *per_run(),
        sa.Column("file", text, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("column_name", name(), nullable=False),
        sa.Column("value", text, nullable=False),
        sa.Column("reason", text, nullable=False),
    )
    sa.Table(
        "vs_locks",
        md,
        sa.Column("connection", name(), primary_key=True),
        sa.Column("owner", name(), nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("acquired_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
    )
    md.create_all(conn)


def _v2_indexes(conn: Connection) -> None:
    """Look-ups by run (rollback, reports) and the mirror's incremental reads."""
    for table in ("vs_change_sets", "vs_write_results", "vs_rejected_rows", "vs_quarantine"):
        conn.execute(sa.text(f"CREATE INDEX ix_{table}_run_id ON {table} (run_id)"))
    conn.execute(
        sa.text(
            "CREATE INDEX ix_vs_mirror_modified ON vs_mirror (connection, table_name, modified_at)"
        )
    )
    conn.execute(sa.text("CREATE INDEX ix_vs_runs_connection ON vs_runs (connection, id)"))


def _v3_scores_marks(conn: Connection) -> None:
    """Per-run scores (reports, rollback context) and per-connection marks (cadences)."""
    md = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    sa.Table(
        "vs_scores",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("record_id", sa.String(100), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    sa.Table(
        "vs_marks",
        md,
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("at", ts, nullable=False),
    )
    md.create_all(conn)
    conn.execute(sa.text("CREATE INDEX ix_vs_scores_run_id ON vs_scores (run_id, kind)"))


def _v4_change_lookup(conn: Connection) -> None:
    """Marking each record's changes written or rejected finds them by (run, object, record)
    instead of scanning the run's whole change set (100k-record runs)."""
    conn.execute(
        sa.text(
            "CREATE INDEX ix_vs_change_sets_record ON vs_change_sets (run_id, object, record_id)"
        )
    )


def _v5_mirror_versions(conn: Connection) -> None:
    """A per-table version counter stamped on every mirror write, so a local snapshot of the
    mirror (sync/state/mirror_cache.py) is brought up to date by reading only newer rows."""
    md = sa.MetaData()
    sa.Table(
        "vs_mirror_versions",
        md,
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("table_name", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("epoch", sa.String(40), nullable=False),
    )
    md.create_all(conn)
    conn.execute(sa.text("ALTER TABLE vs_mirror ADD COLUMN version INTEGER"))
    conn.execute(
        sa.text("CREATE INDEX ix_vs_mirror_version ON vs_mirror (connection, table_name, version)")
    )


def _v6_score_blobs(conn: Connection) -> None:
    """Per-run scores as one Parquet blob per (run, kind), shared by runs with equal scores
    (vs_scores' JSON row per record stays readable for older runs)."""
    md = sa.MetaData()
    sa.Table(
        "vs_score_blobs",
        md,
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    sa.Table(
        "vs_score_frames",
        md,
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    md.create_all(conn)
    if conn.dialect.name == "postgresql":  # zstd bytes: TOAST need not try pglz on them
        conn.execute(sa.text("ALTER TABLE vs_score_blobs ALTER COLUMN data SET STORAGE EXTERNAL"))


def _v7_drop_mirror_modified_index(conn: Connection) -> None:
    """No query reads the mirror by modified stamp (incremental reads go by version), and
    keeping that index costs a fifth of every mirror upsert: its keys arrive in random
    order."""
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_vs_mirror_modified"))


def _v8_rejected_value(conn: Connection) -> None:
    """Records set aside because a CRM value cannot be read keep that value (cut to 200
    characters) next to the field and reason, so an admin can find and fix it."""
    conn.execute(sa.text("ALTER TABLE vs_rejected_rows ADD COLUMN value TEXT"))


def _v9_alerts(conn: Connection) -> None:
    """Alerts: each trigger's state, notifications (unique key: one per status change even
    with several workers), their deliveries per channel, and CRM tasks by external key."""
    md = sa.MetaData()
    ts, name = sa.DateTime(timezone=True), sa.String(200)
    sa.Table(
        "vs_alert_states",
        md,
        sa.Column("connection", name, primary_key=True),
        sa.Column("trigger", name, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("changed_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    sa.Table(
        "vs_alert_events",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(300), nullable=False, unique=True),
        sa.Column("connection", name, nullable=False),
        sa.Column("trigger", name, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("created_at", ts, nullable=False),
    )
    sa.Table(
        "vs_alert_deliveries",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("channel", name, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", ts, nullable=False),
        sa.UniqueConstraint("event_id", "channel", name="uq_vs_alert_deliveries"),
    )
    sa.Table(
        "vs_alert_tasks",
        md,
        sa.Column("connection", name, primary_key=True),
        sa.Column("external_key", sa.String(100), primary_key=True),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("owner_id", sa.String(100)),
        sa.Column("crm_task_id", sa.String(100)),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("run_id", sa.Integer),
        sa.Column("updated_at", ts, nullable=False),
    )
    md.create_all(conn)
    conn.execute(
        sa.text("CREATE INDEX ix_vs_alert_deliveries_status ON vs_alert_deliveries (status)")
    )


def _v10_config_changes(conn: Connection) -> None:
    """Every change the console saves to a project file: who, when, which file, the diff."""
    md = sa.MetaData()
    sa.Table(
        "vs_config_changes",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("file", sa.String(1000), nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Index("ix_vs_config_changes_connection", "connection", "id"),
    )
    md.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, cursors, mirror, change sets, write results, rejects, quarantine, locks",
        _v1_tables,
    ),
    Migration(2, "indexes by run id and mirror modified stamp", _v2_indexes),
    Migration(3, "per-run account and opportunity scores; connection marks", _v3_scores_marks),
    Migration(4, "change sets looked up by run, object and record", _v4_change_lookup),
    Migration(5, "mirror write versions (incremental mirror snapshots)", _v5_mirror_versions),
    Migration(6, "per-run scores as shared Parquet blobs", _v6_score_blobs),
    Migration(7, "drop the unused mirror modified-stamp index", _v7_drop_mirror_modified_index),
    Migration(8, "the value of each rejected (set aside) CRM record", _v8_rejected_value),
    Migration(9, "alert states, notifications, deliveries and CRM tasks", _v9_alerts),
    Migration(
        10, "project file changes saved by the console (who, when, diff)", _v10_config_changes
    ),
)
LATEST = MIGRATIONS[-1].version


def _version_table(conn: Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "vs_schema_version",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    md.create_all(conn, checkfirst=True)


def current_version(conn: Connection) -> int:
    """The schema version recorded in the database; 0 when nothing was ever applied."""
    if not sa.inspect(conn).has_table("vs_schema_version"):
        return 0
    found = conn.execute(sa.text("SELECT version FROM vs_schema_version WHERE id = 1")).scalar()
    return int(found or 0)


def migrate(conn: Connection, target: int = LATEST) -> list[int]:
    """Apply the missing migrations up to `target` inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
    _version_table(conn)
    version = current_version(conn)
    if version > LATEST:
        from mappings.errors import StateError

        raise StateError(
            f"the state database is at schema version {version}, newer than this valuesync "
            f"({LATEST}); upgrade valuesync or point it at another database"
        )
    applied = []
    for step in MIGRATIONS:
        if version < step.version <= target:
            log.info("state schema: applying migration %d (%s)", step.version, step.description)
            step.apply(conn)
            applied.append(step.version)
            version = step.version
    if applied:
        now = datetime.now(UTC)
        updated = conn.execute(
            sa.text("UPDATE vs_schema_version SET version = :v, applied_at = :t WHERE id = 1"),
            {"v": version, "t": now},
        )
        if updated.rowcount == 0:
            conn.execute(
                sa.text(
                    "INSERT INTO vs_schema_version (id, version, applied_at) VALUES (1, :v, :t)"
                ),
                {"v": version, "t": now},
            )
    return applied
