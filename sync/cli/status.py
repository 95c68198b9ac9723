"""`valuesync status`: per connection, the last run, who holds its lock, the next run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sync.cli.options import (
    DEFAULT_PROJECT,
    ConnectionOpt,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
    open_state,
)

EPILOG = examples("valuesync status", "valuesync status --connection acme-sf --json")


def status(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The last run of each connection, the lock holder if a run is going on, the next run."""
    from sync.cli.render import out

    loaded = load(project)
    names = [loaded.connection(connection)[0]] if connection else list(loaded.project.connections)
    state = open_state(loaded)
    try:
        locks = _locks(state)
        url = state.url
        rows = [_connection_status(state, url, name, locks.get(name)) for name in names]
    finally:
        state.close()
    if json_output:
        emit_json({"project": str(loaded.path), "connections": rows})
        return
    for row in rows:
        out.print(_text(row), highlight=False)


def _locks(state: Any) -> dict[str, dict[str, Any]]:
    import sqlalchemy as sa

    from sync.state.locks import LOCKS

    with state.transaction() as conn:
        rows = conn.execute(sa.select(LOCKS)).mappings().all()
    now = datetime.now(UTC)
    return {
        r["connection"]: {
            "owner": r["owner"],
            "run_id": r["run_id"],
            "since": _iso(r["acquired_at"]),
            "expires_at": _iso(r["expires_at"]),
            "expired": _utc(r["expires_at"]) <= now,
        }
        for r in rows
    }


def _connection_status(
    state: Any, url: str, name: str, lock: dict[str, Any] | None
) -> dict[str, Any]:
    from sync import scheduler
    from sync.alerts.status import alert_status

    runs = state.runs(connection=name, limit=1)
    last = runs[0] if runs else None
    nxt = scheduler.next_run(url, name)
    return {
        "connection": name,
        "last_run": None
        if last is None
        else {
            "id": last["id"],
            "kind": last["kind"],
            "status": last["status"],
            "started_at": _iso(last["started_at"]),
            "finished_at": _iso(last["finished_at"]),
            "counts": last["counts"],
            "message": last.get("message"),
        },
        "lock": lock,
        "next_run": _iso(nxt),
        "alerts": alert_status(state, name),
    }


def _text(row: dict[str, Any]) -> str:
    from sync.alerts.status import alert_lines
    from sync.cli.render import run_totals, status_text

    lines = [f"[bold]{row['connection']}[/]"]
    last = row["last_run"]
    if last is None:
        lines.append("  last run:  none yet (valuesync run)")
    else:
        lines.append(
            f"  last run:  {last['id']} ({last['kind']}) {status_text(last['status'])}, "
            f"started {last['started_at']}, finished {last['finished_at'] or '-'}"
        )
        counts = run_totals(last["counts"])
        if counts:
            lines.append("  counts:    " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if last.get("message"):
            lines.append(f"  message:   {last['message']}")
    lock = row["lock"]
    if lock is None:
        lines.append("  lock:      free")
    else:
        state = "expired" if lock["expired"] else "held"
        held_by = f"run {lock['run_id']}, " if lock["run_id"] is not None else ""
        lines.append(
            f"  lock:      {state} by {held_by}{lock['owner']} since {lock['since']} "
            f"until {lock['expires_at']}"
        )
    lines.append(f"  next run:  {row['next_run'] or 'not scheduled (valuesync schedule add)'}")
    lines += alert_lines(row["alerts"])
    return "\n".join(lines)


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else _utc(ts).isoformat(timespec="seconds")
