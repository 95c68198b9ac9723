"""CRM tasks for account owners, created once per external key.

A task's external key is a hash of the connection, the account, the quadrants it moved
between and the run it is measured against (the baseline): a rerun that sees the same
migration computes the same key and finds it claimed in `vs_alert_tasks`, so it creates
nothing. Keys are claimed before the CRM call (a unique row), so two workers never
create the same task; a task the CRM refused (or a CRM that was down) stays `failed`
and is tried again on the next run with the spec it was stored with.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from connectors.base import TaskResult, TaskSpec
from mappings.errors import ValuesyncError
from sync.state.alerts import AlertStore

log = logging.getLogger(__name__)
ConnectorFactory = Callable[[], Any]


def external_key(connection: str, account_id: str, what: str, baseline: int | str) -> str:
    """A stable key for one task: the same migration measured the same way, the same key."""
    raw = f"{connection}|{account_id}|{what}|{baseline}".encode()
    return "vs-" + hashlib.sha256(raw).hexdigest()[:40]


def migration_tasks(
    connection: str,
    moved: pd.DataFrame,
    baseline: int | str,
    *,
    due_in_days: int,
    severity: str,
    today: date | None = None,
    what: str = "migration",
) -> list[TaskSpec]:
    """A task per moved account for its owner: what changed, why, what to do now."""
    due = (today or datetime.now(UTC).date()) + timedelta(days=due_in_days)
    priority = "high" if severity == "critical" else ("normal" if severity == "warning" else "low")
    specs = []
    for row in moved.to_dict("records"):
        account = str(row["account_id"])
        name = row.get("name") or account
        change = f"{row['from_quadrant']} -> {row['to_quadrant']}"
        action = row.get("account_action")
        lines = [f"{name} moved from {row['from_quadrant']} to {row['to_quadrant']}."]
        if row.get("reason"):
            lines.append(f"Why: {row['reason']}")
        if action:
            lines.append(f"What the rules say now: {action}")
        clv = row.get("clv")
        if clv is not None and clv == clv:
            lines.append(f"CLV: {float(clv):,.0f}")
        owner = row.get("owner_id")
        specs.append(
            TaskSpec(
                external_key=external_key(connection, account, f"{what}:{change}", baseline),
                account_id=account,
                owner_id=str(owner) if owner is not None and owner == owner else None,
                subject=f"Value review: {name} {change}"[:255],
                body="\n".join(lines),
                due=due,
                priority=priority,  # type: ignore[arg-type]
            )
        )
    return specs


def _spec_dict(t: TaskSpec) -> dict[str, Any]:
    return {"subject": t.subject, "body": t.body, "due": t.due.isoformat(), "priority": t.priority}


def _from_row(row: Mapping[str, Any]) -> TaskSpec:
    spec = row["spec"]
    return TaskSpec(
        row["external_key"],
        row["account_id"],
        row["owner_id"],
        spec["subject"],
        spec["body"],
        date.fromisoformat(spec["due"]),
        spec["priority"],
    )


def create_once(
    store: AlertStore,
    connection: str,
    specs: Sequence[TaskSpec],
    connector: ConnectorFactory,
    run_id: int | None,
) -> TaskResult:
    """Create the tasks whose keys are new (plus earlier failures); never raises."""
    specs = list({t.external_key: t for t in specs}.values())  # one per key
    rows = [
        {
            "external_key": t.external_key,
            "account_id": t.account_id,
            "owner_id": t.owner_id,
            "spec": _spec_dict(t),
        }
        for t in specs
    ]
    claimed = set(store.claim_tasks(connection, rows, run_id))
    todo = [t for t in specs if t.external_key in claimed]
    known = {t.external_key for t in specs}
    retry = [r for r in store.tasks(connection, "failed") if r["external_key"] not in known]
    if retry:
        again = set(store.claim_tasks(connection, retry, run_id))
        todo += [_from_row(r) for r in retry if r["external_key"] in again]
    if not todo:
        return TaskResult()
    try:
        result: TaskResult = connector().create_tasks(todo)
    except ValuesyncError as exc:
        log.warning(
            "%s: %d CRM task(s) not created, retried next run: %s", connection, len(todo), exc
        )
        result = TaskResult(failed={t.external_key: str(exc)[:500] for t in todo})
    except Exception as exc:  # the CRM must never fail the run through its tasks
        log.exception("%s: CRM task creation failed unexpectedly", connection)
        result = TaskResult(
            failed={t.external_key: f"unexpected {type(exc).__name__}" for t in todo}
        )
    store.finish_tasks(connection, result.created, result.failed)
    log.info(
        "%s: %d CRM task(s) created, %d failed", connection, len(result.created), len(result.failed)
    )
    return result
