"""`valuesync status`: per connection, the last run, who holds its lock, the next run."""

from __future__ import annotations

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
        from sync.pipeline.status import connection_status, locks

        held = locks(state)
        url = state.url
        rows = [connection_status(state, url, name, held.get(name)) for name in names]
    finally:
        state.close()
    if json_output:
        emit_json({"project": str(loaded.path), "connections": rows})
        return
    for row in rows:
        out.print(_text(row), highlight=False)


def _text(row: dict[str, Any]) -> str:
    from sync.alerts.status import alert_lines
    from sync.cli.render import status_text
    from sync.pipeline.status import run_totals

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
