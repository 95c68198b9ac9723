"""What `valuesync status` shows about alerts: each trigger's state and last notification,
and every delivery that failed (with the channel's error, never a secret)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sync.state.alerts import AlertStore
from sync.state.db import StateDB


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.isoformat(timespec="seconds")


def alert_status(state: StateDB, connection: str) -> dict[str, Any]:
    """Per trigger: status, since, last notification; plus failed deliveries."""
    store = AlertStore(state)
    events = store.events(connection, limit=200)
    last: dict[str, dict[str, Any]] = {}
    for e in events:  # newest first
        last.setdefault(e["trigger"], e)
    triggers = []
    for s in store.states(connection):
        told = last.get(s["trigger"])
        triggers.append(
            {
                "trigger": s["trigger"],
                "status": s["status"],
                "severity": s["severity"],
                "since": _iso(s["changed_at"]),
                "summary": s["summary"],
                "last_alert": None
                if told is None
                else {
                    "kind": told["kind"],
                    "subject": told["subject"],
                    "at": _iso(told["created_at"]),
                },
            }
        )
    for name, e in last.items():
        if name not in {t["trigger"] for t in triggers}:
            triggers.append(
                {
                    "trigger": name,
                    "status": None,
                    "severity": e["severity"],
                    "since": None,
                    "summary": "",
                    "last_alert": {
                        "kind": e["kind"],
                        "subject": e["subject"],
                        "at": _iso(e["created_at"]),
                    },
                }
            )
    failures = [
        {
            "event": e["subject"],
            "channel": d["channel"],
            "status": d["status"],
            "attempts": d["attempts"],
            "error": d["error"],
            "at": _iso(d["updated_at"]),
        }
        for e in events
        for d in e["deliveries"]
        if d["status"] in ("failed", "given_up")
    ]
    tasks = store.tasks(connection, "failed")
    return {"triggers": triggers, "delivery_failures": failures, "failed_tasks": len(tasks)}


def alert_lines(alerts: dict[str, Any]) -> list[str]:
    """The status text lines (Rich markup) for `alert_status`'s result."""
    lines = []
    for t in alerts["triggers"]:
        last = t["last_alert"]
        told = f"; last alert {last['kind']} at {last['at']}" if last else ""
        state = t["status"] or "-"
        lines.append(f"  alert:     {t['trigger']} {state}{told}")
    for f in alerts["delivery_failures"]:
        lines.append(
            f"  [red]delivery failed[/]: {f['channel']} ({f['attempts']} attempt(s), "
            f"{f['status']}): {f['error']}"
        )
    if alerts["failed_tasks"]:
        lines.append(f"  [red]CRM tasks failed[/]: {alerts['failed_tasks']} (retried next run)")
    return lines
