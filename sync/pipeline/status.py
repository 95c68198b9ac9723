"""What `valuesync status` and the console's Connections page show, computed once.

Per connection: the last run, who holds its lock, the next scheduled run and the state
of its alert triggers. Both the CLI and the console call these functions; neither
computes a status of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def iso(ts: datetime | None) -> str | None:
    """A stored timestamp as ISO 8601 in UTC to the second (stored naive stamps are UTC)."""
    return None if ts is None else _utc(ts).isoformat(timespec="seconds")


def run_totals(counts: Mapping[str, Any]) -> dict[str, int]:
    """A stored run's per-object counts summed over objects (pulled, written, ...)."""
    objects = counts.get("objects")
    totals: dict[str, int] = {}
    if isinstance(objects, Mapping):
        for per_object in objects.values():
            for key, value in per_object.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
    return totals


def locks(state: Any) -> dict[str, dict[str, Any]]:
    """Every connection's run lock: owner, run id, since, until, and whether it expired."""
    import sqlalchemy as sa

    from sync.state.locks import LOCKS

    with state.reading() as conn:
        rows = conn.execute(sa.select(LOCKS)).mappings().all()
    now = datetime.now(UTC)
    return {
        r["connection"]: {
            "owner": r["owner"],
            "run_id": r["run_id"],
            "since": iso(r["acquired_at"]),
            "expires_at": iso(r["expires_at"]),
            "expired": _utc(r["expires_at"]) <= now,
        }
        for r in rows
    }


def connection_status(
    state: Any, url: str, name: str, lock: dict[str, Any] | None
) -> dict[str, Any]:
    """One connection's last run, lock, next scheduled run and alert triggers."""
    from sync import scheduler
    from sync.alerts.status import alert_status

    runs = state.runs(connection=name, limit=1)
    last = runs[0] if runs else None
    return {
        "connection": name,
        "last_run": None if last is None else {
            "id": last["id"],
            "kind": last["kind"],
            "status": last["status"],
            "started_at": iso(last["started_at"]),
            "finished_at": iso(last["finished_at"]),
            "counts": last["counts"],
            "message": last.get("message"),
        },
        "lock": lock,
        "next_run": iso(scheduler.next_run(url, name)),
        "alerts": alert_status(state, name),
    }  # fmt: skip


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
