"""Alert bookkeeping in the state database: trigger states, notifications, deliveries, tasks.

Every write that decides "this worker sends it" is a compare-and-set or an insert on a
unique key inside one transaction, so scheduler workers sharing PostgreSQL never send a
status change twice: `transition` moves a trigger's state only from the state it read,
`add_event` inserts a notification only if its dedup key is new, `claim_delivery` takes
a delivery only at the attempt count it saw, `claim_tasks` takes a CRM task's external
key only once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from sync.state.alert_models import AlertDeliveryRow, AlertEventRow, AlertStateRow, AlertTaskRow
from sync.state.db import StateDB

T_STATES = AlertStateRow.__table__  # type: ignore[attr-defined]
T_EVENTS = AlertEventRow.__table__  # type: ignore[attr-defined]
T_DELIVERIES = AlertDeliveryRow.__table__  # type: ignore[attr-defined]
T_TASKS = AlertTaskRow.__table__  # type: ignore[attr-defined]


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _won(conn: Connection, stmt: Any, column: sa.Column[Any]) -> bool:
    """Whether an INSERT ... ON CONFLICT DO NOTHING or a conditional UPDATE changed a row.

    Told by RETURNING, not rowcount: psycopg 3 reports -1 for the conflict insert.
    """
    return conn.execute(stmt.returning(column)).first() is not None


@dataclass(frozen=True)
class Transition:
    """A trigger's state changed: `status` is the new one, `previous` None on first sight."""

    status: str
    previous: str | None


@dataclass(frozen=True)
class Delivery:
    """A notification due on one channel."""

    id: int
    event_id: int
    channel: str
    attempts: int
    subject: str
    body: dict[str, Any]
    severity: str


class AlertStore:
    """The alert tables of one state database."""

    def __init__(self, state: StateDB) -> None:
        self.state = state

    # -- trigger states -------------------------------------------------------------------
    def transition(
        self,
        connection: str,
        trigger: str,
        firing: bool,
        severity: str,
        summary: str,
        run_id: int | None,
    ) -> Transition | None:
        """Record a trigger's verdict; a Transition when its status changed (else None).

        First sight of a trigger that does not fire is not a change (nothing to recover).
        """
        status = "firing" if firing else "ok"
        now = _now()
        key = (T_STATES.c.connection == connection, T_STATES.c.trigger == trigger)
        values = {
            "severity": severity,
            "summary": summary[:2000],
            "run_id": run_id,
            "updated_at": now,
        }
        with self.state.transaction() as conn:
            old = conn.execute(sa.select(T_STATES.c.status).where(*key)).scalar()
            if old is None:
                row = {
                    "connection": connection,
                    "trigger": trigger,
                    "status": status,
                    "changed_at": now,
                    **values,
                }
                stmt = _insert(conn, T_STATES).values(**row).on_conflict_do_nothing()
                won = _won(conn, stmt, T_STATES.c.trigger)
                return Transition(status, None) if won and firing else None
            if old == status:
                conn.execute(sa.update(T_STATES).where(*key).values(**values))
                return None
            moved = _won(
                conn,
                sa.update(T_STATES)
                .where(*key, T_STATES.c.status == old)
                .values(status=status, changed_at=now, **values),
                T_STATES.c.trigger,
            )
        return Transition(status, old) if moved else None

    def states(self, connection: str) -> list[dict[str, Any]]:
        """Every trigger's state on a connection, by trigger name."""
        query = sa.select(T_STATES).where(T_STATES.c.connection == connection)
        with self.state.reading() as conn:
            rows = conn.execute(query.order_by(T_STATES.c.trigger)).mappings().all()
        return [dict(r) for r in rows]

    # -- notifications --------------------------------------------------------------------
    def add_event(
        self,
        *,
        dedup_key: str,
        connection: str,
        trigger: str,
        kind: str,
        severity: str,
        subject: str,
        body: dict[str, Any],
        run_id: int | None,
        channels: Sequence[str],
    ) -> int | None:
        """Insert a notification and its pending deliveries; None if the key exists already."""
        now = _now()
        row = {
            "dedup_key": dedup_key[:300],
            "connection": connection,
            "trigger": trigger,
            "kind": kind,
            "severity": severity,
            "subject": subject,
            "body": json.dumps(body, default=str),
            "run_id": run_id,
            "created_at": now,
        }
        with self.state.transaction() as conn:
            stmt = (
                _insert(conn, T_EVENTS)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["dedup_key"])
            )
            if not _won(conn, stmt, T_EVENTS.c.id):
                return None
            event_id = int(
                conn.execute(
                    sa.select(T_EVENTS.c.id).where(T_EVENTS.c.dedup_key == row["dedup_key"])
                ).scalar_one()
            )
            if channels:
                conn.execute(
                    sa.insert(T_DELIVERIES),
                    [
                        {
                            "event_id": event_id,
                            "channel": c,
                            "status": "pending",
                            "attempts": 0,
                            "updated_at": now,
                        }
                        for c in channels
                    ],
                )
        return event_id

    def due(self, connection: str, max_attempts: int) -> list[Delivery]:
        """Deliveries of a connection still to send: pending, or failed with attempts left."""
        query = (
            sa.select(T_DELIVERIES, T_EVENTS.c.subject, T_EVENTS.c.body, T_EVENTS.c.severity)
            .join(T_EVENTS, T_EVENTS.c.id == T_DELIVERIES.c.event_id)
            .where(
                T_EVENTS.c.connection == connection,
                T_DELIVERIES.c.status.in_(["pending", "failed"]),
                T_DELIVERIES.c.attempts < max_attempts,
            )
            .order_by(T_DELIVERIES.c.id)
        )
        with self.state.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Delivery(
                r["id"],
                r["event_id"],
                r["channel"],
                r["attempts"],
                r["subject"],
                json.loads(r["body"]),
                r["severity"],
            )
            for r in rows
        ]

    def claim_delivery(self, d: Delivery) -> bool:
        """Take a delivery for this worker (compare-and-set on its attempt count)."""
        with self.state.transaction() as conn:
            return _won(
                conn,
                sa.update(T_DELIVERIES)
                .where(
                    T_DELIVERIES.c.id == d.id,
                    T_DELIVERIES.c.attempts == d.attempts,
                    T_DELIVERIES.c.status.in_(["pending", "failed"]),
                )
                .values(status="sending", attempts=d.attempts + 1, updated_at=_now()),
                T_DELIVERIES.c.id,
            )

    def finish_delivery(self, d: Delivery, error: str | None, *, give_up: bool) -> None:
        """Sent (error None), failed (retried next run) or given up."""
        status = "sent" if error is None else ("given_up" if give_up else "failed")
        with self.state.transaction() as conn:
            conn.execute(
                sa.update(T_DELIVERIES)
                .where(T_DELIVERIES.c.id == d.id)
                .values(status=status, error=error and error[:2000], updated_at=_now())
            )

    def events(self, connection: str, limit: int = 50) -> list[dict[str, Any]]:
        """The latest notifications of a connection with their deliveries, newest first."""
        query = (
            sa.select(T_EVENTS)
            .where(T_EVENTS.c.connection == connection)
            .order_by(T_EVENTS.c.id.desc())
            .limit(limit)
        )
        with self.state.transaction() as conn:
            events = [dict(r) for r in conn.execute(query).mappings().all()]
            ids = [e["id"] for e in events]
            deliveries = (
                conn.execute(sa.select(T_DELIVERIES).where(T_DELIVERIES.c.event_id.in_(ids)))
                .mappings()
                .all()
                if ids
                else []
            )
        by_event: dict[int, list[dict[str, Any]]] = {}
        for d in deliveries:
            by_event.setdefault(d["event_id"], []).append(dict(d))
        for e in events:
            e["body"] = json.loads(e["body"])
            e["deliveries"] = sorted(by_event.get(e["id"], []), key=lambda d: d["channel"])
        return events

    # -- CRM tasks ------------------------------------------------------------------------
    def claim_tasks(
        self, connection: str, tasks: Sequence[dict[str, Any]], run_id: int | None
    ) -> list[str]:
        """Claim external keys for this worker: new keys, and keys whose creation failed.

        `tasks`: dicts with external_key, account_id, owner_id and spec (a JSON-able dict).
        Returns the keys claimed.
        """
        now = _now()
        claimed: list[str] = []
        with self.state.transaction() as conn:
            for t in tasks:
                row = {
                    "connection": connection,
                    "external_key": t["external_key"],
                    "account_id": str(t["account_id"]),
                    "owner_id": t.get("owner_id"),
                    "spec": json.dumps(t.get("spec") or {}, default=str),
                    "status": "claimed",
                    "run_id": run_id,
                    "updated_at": now,
                }
                stmt = _insert(conn, T_TASKS).values(**row).on_conflict_do_nothing()
                if _won(conn, stmt, T_TASKS.c.external_key):
                    claimed.append(t["external_key"])
                    continue
                retry = _won(
                    conn,
                    sa.update(T_TASKS)
                    .where(
                        T_TASKS.c.connection == connection,
                        T_TASKS.c.external_key == t["external_key"],
                        T_TASKS.c.status == "failed",
                    )
                    .values(status="claimed", run_id=run_id, updated_at=now),
                    T_TASKS.c.external_key,
                )
                if retry:
                    claimed.append(t["external_key"])
        return claimed

    def finish_tasks(
        self, connection: str, created: dict[str, str], failed: dict[str, str]
    ) -> None:
        """external key -> CRM task id (created) or -> error message (failed, retried)."""
        now = _now()
        updates: list[tuple[str, dict[str, Any]]] = [
            (k, {"status": "created", "crm_task_id": v, "error": None}) for k, v in created.items()
        ]
        updates += [(k, {"status": "failed", "error": v[:2000]}) for k, v in failed.items()]
        with self.state.transaction() as conn:
            for key, values in updates:
                conn.execute(
                    sa.update(T_TASKS)
                    .where(T_TASKS.c.connection == connection, T_TASKS.c.external_key == key)
                    .values(updated_at=now, **values)
                )

    def tasks(self, connection: str, status: str | None = None) -> list[dict[str, Any]]:
        """The CRM tasks of a connection (with that status), spec decoded."""
        query = sa.select(T_TASKS).where(T_TASKS.c.connection == connection)
        if status is not None:
            query = query.where(T_TASKS.c.status == status)
        with self.state.reading() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for r in rows:
            r["spec"] = json.loads(r["spec"])
        return rows
