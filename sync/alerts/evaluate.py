"""After every run (succeeded or failed): judge the triggers, notify status changes, send.

```python
after_run(project, connection, env)   # called by sync/pipeline/runner.py; never raises
```

1. The connection's newest finished sync run and its facts (status, duration, figures,
   pulled counts of earlier runs, the finance export's age) are judged by the pure
   triggers in value_engine/alerts.py.
2. A trigger whose status changed (ok -> firing, firing -> ok) gets one notification;
   the state row moves by compare-and-set, so workers sharing PostgreSQL agree on who
   sends it. A trigger that keeps firing sends nothing more; its recovery sends one notice.
3. Quadrant migrations since the baseline run notify owners and create CRM tasks.
4. Every due delivery is sent (earlier failures are retried).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.base import TaskSpec
from mappings.alerts import AlertsConfig, QuadrantMigration, RecordCount
from mappings.project import LoadedProject
from sync.alerts import messages
from sync.alerts.deliver import deliver_due
from sync.alerts.movers import SUCCEEDED, baseline_run, finished_sync_runs, movers
from sync.alerts.tasks import create_once, migration_tasks
from sync.state.alerts import AlertStore
from sync.state.db import StateDB
from value_engine.alerts import RunFacts, evaluate

log = logging.getLogger(__name__)


def after_run(
    project: LoadedProject, connection: str | None, env: Mapping[str, str] | None = None
) -> None:
    """Alerts for the connection's latest run; failures are logged, never raised."""
    config = project.project.alerts
    if config is None:
        return
    try:
        name = project.connection(connection)[0]
        from sync.pipeline.session import open_state

        state = open_state(project, env)
        try:
            evaluate_run(project, state, name, config, os.environ if env is None else env)
        finally:
            state.close()
    except Exception:  # alerts must never change a run's outcome
        log.exception("alerts: evaluation failed; the run's outcome stands")


def evaluate_run(
    project: LoadedProject,
    state: StateDB,
    name: str,
    config: AlertsConfig,
    env: Mapping[str, str],
) -> None:
    """Judge the newest finished sync run of `name`, notify changes, deliver what is due."""
    store = AlertStore(state)
    runs = finished_sync_runs(state, name)
    if runs:
        run = runs[0]
        facts = run_facts(project, name, run, runs[1:], config)
        for finding in evaluate(config.triggers, facts):
            changed = store.transition(
                name, finding.trigger, finding.firing, finding.severity, finding.summary, run["id"]
            )
            if changed is None:
                continue
            trigger = next(t for t in config.triggers if t.key == finding.trigger)
            recovered = changed.status == "ok"
            doc = messages.status_change(str(project.path), name, finding, recovered, run["id"])
            store.add_event(
                dedup_key=f"{name}|{finding.trigger}|{changed.status}|{run['id']}",
                connection=name,
                trigger=finding.trigger,
                kind="recovered" if recovered else "fired",
                severity=doc["severity"],
                subject=doc["subject"],
                body=doc,
                run_id=run["id"],
                channels=config.channels_for(trigger.channels),
            )
        if run["status"] in SUCCEEDED:
            migration_alerts(project, state, store, name, config, int(run["id"]), env)
    deliver_due(store, config, name, env)


def run_facts(
    project: LoadedProject,
    name: str,
    run: Mapping[str, Any],
    earlier: list[dict[str, Any]],
    config: AlertsConfig,
) -> RunFacts:
    """What the triggers judge, from the run row and the project's files."""
    counts = run.get("counts") or {}
    objects = counts.get("objects") or {}
    started, finished = run.get("started_at"), run.get("finished_at")
    duration = (finished - started).total_seconds() if started and finished else None
    window = max([t.window for t in config.triggers if isinstance(t, RecordCount)] or [0])
    history: dict[str, list[int]] = {}
    for r in [r for r in earlier if r["status"] in SUCCEEDED][:window]:
        for obj, c in ((r.get("counts") or {}).get("objects") or {}).items():
            history.setdefault(obj, []).append(int(c.get("pulled", 0)))
    return RunFacts(
        status=str(run["status"]),
        message=str(run.get("message") or ""),
        duration_seconds=duration,
        written=sum(int(c.get("written", 0)) for c in objects.values()),
        rejected=sum(int(c.get("rejected", 0)) for c in objects.values()),
        pulled={k: int(c.get("pulled", 0)) for k, c in objects.items()},
        history=history,
        finance_age_days=finance_age_days(project, name),
    )


def finance_age_days(
    project: LoadedProject, name: str, now: datetime | None = None
) -> float | None:
    """Days since the finance export file was written; None without a file source."""
    from sync.pipeline.setup import load_setup

    try:
        setup = load_setup(project, name)
    except Exception:
        return None
    if setup.finance is None or setup.finance_path is None:
        return None
    source = setup.finance.tables["finance"].source
    if source.path is None:
        return None
    path = Path(source.path)
    path = path if path.is_absolute() else setup.finance_path.parent / path
    if not path.exists():
        return None
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return ((now or datetime.now(UTC)) - written).total_seconds() / 86400


def connector_factory(
    project: LoadedProject, name: str, env: Mapping[str, str]
) -> Callable[[], Any]:
    """Builds the connection's CRM connector only when tasks are to be created."""

    def build() -> Any:
        from sync.pipeline.setup import build_connector, load_setup

        return build_connector(load_setup(project, name), env)

    return build


def migration_alerts(
    project: LoadedProject,
    state: StateDB,
    store: AlertStore,
    name: str,
    config: AlertsConfig,
    run_id: int,
    env: Mapping[str, str],
) -> None:
    """Per migration trigger: a notice per owner, and a CRM task per moved account; tasks
    the CRM failed to create earlier are retried even when nothing moved this time."""
    rules = [t for t in config.triggers if isinstance(t, QuadrantMigration)]
    crm_on = any(config.crm_channels(r.channels, name) for r in rules)
    baseline = baseline_run(state, name, run_id) if rules else None
    specs: list[TaskSpec] = []
    for rule in rules:
        if baseline is None:
            break
        moved = movers(state, name, baseline, run_id, rule)
        if moved.empty:
            continue
        owners = moved["owner_id"].fillna("(no owner)") if "owner_id" in moved else None
        for owner, part in moved.groupby(owners if owners is not None else [""] * len(moved)):
            doc = messages.migrations(name, rule.key, rule.severity, str(owner), part, run_id)
            store.add_event(
                dedup_key=f"{name}|{rule.key}|migration|{baseline}|{owner}",
                connection=name,
                trigger=rule.key,
                kind="migration",
                severity=rule.severity,
                subject=doc["subject"],
                body=doc,
                run_id=run_id,
                channels=config.channels_for(rule.channels),
            )
        for channel in config.crm_channels(rule.channels, name):
            specs += migration_tasks(
                name, moved, baseline, due_in_days=channel.due_in_days, severity=rule.severity
            )
    if crm_on and (specs or store.tasks(name, "failed")):
        create_once(store, name, specs, connector_factory(project, name, env), run_id)
