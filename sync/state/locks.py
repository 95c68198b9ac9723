"""One run per CRM connection at a time: a lock row with an expiry, taken atomically.

Acquiring runs in one transaction that is serialised per connection: on PostgreSQL by a
transaction-scoped advisory lock on the connection's key plus `SELECT ... FOR UPDATE`, on
SQLite by `BEGIN IMMEDIATE` (the engine's begin hook). Inside it: no row, an expired row,
or our own row -> take it; someone else's live row -> LockHeldError naming the holder and the
expiry. A holder refreshes before expiry; a crashed holder's lock is taken over after it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mappings.errors import LockHeldError, StateError
from sync.state.models import LockRow

LOCKS = LockRow.__table__  # type: ignore[attr-defined]


def advisory_key(connection: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    digest = hashlib.blake2b(f"valuesync-lock:{connection}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def acquire(
    conn: Connection,
    connection: str,
    owner: str,
    *,
    ttl: timedelta,
    now: datetime,
    run_id: int | None = None,
) -> None:
    """Take the lock for `connection` or raise LockHeldError saying who holds it until when."""
    query = sa.select(LOCKS).where(LOCKS.c.connection == connection)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(connection)})
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    values = {"owner": owner, "run_id": run_id, "acquired_at": now, "expires_at": now + ttl}
    if row is None:
        conn.execute(sa.insert(LOCKS).values(connection=connection, **values))
        return
    if row["owner"] != owner and row["expires_at"] > now:
        held = f" by run {row['run_id']}" if row["run_id"] is not None else ""
        raise LockHeldError(
            f"another valuesync run is already working on connection '{connection}': it is "
            f"locked{held} (owner {row['owner']}) since {row['acquired_at']:%Y-%m-%d %H:%M:%S} "
            f"UTC until {row['expires_at']:%Y-%m-%d %H:%M:%S} UTC. This process exits without "
            "touching anything; run again when that run has finished (a crashed run's lock is "
            "taken over automatically once it expires)."
        )
    conn.execute(sa.update(LOCKS).where(LOCKS.c.connection == connection).values(**values))


def refresh(
    conn: Connection, connection: str, owner: str, *, ttl: timedelta, now: datetime
) -> None:
    """Push our lock's expiry out; StateError if it was taken over meanwhile."""
    done = conn.execute(
        sa.update(LOCKS)
        .where(LOCKS.c.connection == connection, LOCKS.c.owner == owner)
        .values(expires_at=now + ttl)
    )
    if done.rowcount == 0:
        raise StateError(
            f"the lock on connection '{connection}' is no longer held by this run (it expired "
            "and another run took it over); stop this run and raise the lock ttl if runs take "
            "longer than it"
        )


def release(conn: Connection, connection: str, owner: str) -> bool:
    """Drop our lock; False when it was not ours any more."""
    done = conn.execute(
        sa.delete(LOCKS).where(LOCKS.c.connection == connection, LOCKS.c.owner == owner)
    )
    return bool(done.rowcount)
