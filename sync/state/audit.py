"""The audit of project file changes saved by the console: who, when, which file, the diff
(table vs_config_changes, schema migration 10); and the cursors a mapping change voids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sync.state.models import ConfigChangeRow, CursorRow

T_CONFIG_CHANGES = ConfigChangeRow.__table__  # type: ignore[attr-defined]
T_CURSORS = CursorRow.__table__  # type: ignore[attr-defined]


def record_config_change(state: Any, who: str, connection: str, file: str, diff: str) -> int:
    """Store one saved change; returns its id."""
    row = {
        "at": datetime.now(UTC),
        "who": who[:200],
        "connection": connection,
        "file": file[:1000],
        "diff": diff,
    }
    with state.transaction() as conn:
        result = conn.execute(sa.insert(T_CONFIG_CHANGES).values(**row))
        return int(result.inserted_primary_key[0])


def config_changes(state: Any, connection: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest saved changes of a connection's files, newest first."""
    query = (
        sa.select(T_CONFIG_CHANGES)
        .where(T_CONFIG_CHANGES.c.connection == connection)
        .order_by(T_CONFIG_CHANGES.c.id.desc())
        .limit(limit)
    )
    with state.reading() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def forget_cursors(state: Any, connection: str, tables: list[str]) -> int:
    """Drop the pull cursors of `tables`: their next pull reads them in full (after a
    mapping change, the mirror holds values read through the old mapping)."""
    if not tables:
        return 0
    query = sa.delete(T_CURSORS).where(
        T_CURSORS.c.connection == connection, T_CURSORS.c.object.in_(tables)
    )
    with state.transaction() as conn:
        return int(conn.execute(query).rowcount or 0)
