"""The audit of project file changes saved by the console: who, when, which file, the diff
(table vs_config_changes, schema migration 10)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sync.state.models import ConfigChangeRow

T_CONFIG_CHANGES = ConfigChangeRow.__table__  # type: ignore[attr-defined]


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
    with state.transaction() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
