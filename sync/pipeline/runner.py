"""One run: lock -> finance -> pull -> mirror -> compute -> diff -> record -> push -> finish.

```python
project = load_project("valuesync.yaml")
report = run(project)                      # RunReport; plan(project) is the dry run
rollback(project, report.run_id)           # previous values back where nobody edited since
provision_fields(project); check(project)  # output fields in the CRM; every config problem
```

A run killed at any point can simply be run again: cursors only move with stored data,
the change set is on disk before the first write, a run left 'running' is marked
abandoned when its lock is taken over, and every write is recomputed from a fresh pull,
so nothing stale is ever replayed. See docs/architecture.md, "Data flow of one run" and
"Crash safety".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from connectors.base import ProvisionResult
from mappings.errors import ConfigError, ConfigProblem
from mappings.project import LoadedProject
from sync.alerts import after_run
from sync.pipeline import checks, quarantine
from sync.pipeline.compute import compute_run, load_finance_for
from sync.pipeline.diff import computed_frame, diff_all
from sync.pipeline.guard import enforce, guard
from sync.pipeline.pull import Puller
from sync.pipeline.push import push_changes, record_change_sets
from sync.pipeline.rates import crm_rates
from sync.pipeline.results import NoProgress, ObjectCounts, Progress, RollbackReport, RunReport
from sync.pipeline.rollback import crm_now, plan_rollback, written_changes
from sync.pipeline.session import api_calls, default_as_of, open_state, session
from sync.pipeline.setup import Setup
from sync.pipeline.summary import fill_report, object_counts

log = logging.getLogger(__name__)

__all__ = ["check", "open_state", "plan", "provision_fields", "rollback", "run"]


def run(
    project: LoadedProject,
    connection: str | None = None,
    *,
    dry_run: bool = False,
    as_of: date | None = None,
    full: bool = False,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
) -> RunReport:
    """One sync run of a connection (the only one when `connection` is None)."""
    if dry_run:
        return plan(project, connection, as_of=as_of, progress=progress, env=env)
    try:
        return _execute(project, connection, write=True, as_of=as_of, full=full,
                        progress=progress or NoProgress(), env=env)  # fmt: skip
    finally:
        after_run(project, connection, env)  # alerts; never raises (sync/alerts/)


def plan(
    project: LoadedProject,
    connection: str | None = None,
    *,
    as_of: date | None = None,
    sample: int = 10,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
) -> RunReport:
    """A dry run: pull, compute and diff, no CRM write; the write calls it would need."""
    return _execute(project, connection, write=False, as_of=as_of, full=False,
                    progress=progress or NoProgress(), env=env, sample=sample)  # fmt: skip


def _execute(
    project: LoadedProject,
    connection: str | None,
    *,
    write: bool,
    as_of: date | None,
    full: bool,
    progress: Progress,
    env: Mapping[str, str] | None,
    sample: int = 10,
) -> RunReport:
    day = as_of or default_as_of()
    kind = "sync" if write else "plan"
    with session(project, connection, kind, env) as (setup, connector, state, run_id, lock):
        report = RunReport(run_id, setup.name, setup.crm, "running", datetime.now(UTC),
                           as_of=day.isoformat(), dry_run=not write)  # fmt: skip
        phases: dict[str, float] = {}
        timer = _timer(phases)
        with timer("finance"):
            finance = load_finance_for(setup, state, run_id, day, crm_rates(setup, connector))
        with timer("check"):
            preflight(setup, connector)
        with timer("pull"):
            puller = Puller(setup, connector, state, run_id, progress, lock.keep, env=env)
            counts = puller.pull_all(full=full)
            quarantine.enforce_share(setup, state, run_id, puller, counts)
        with timer("compute"):
            inputs = compute_run(setup, state, run_id, day, finance)
        with timer("diff"):
            computed = {
                "accounts": computed_frame(inputs.result.accounts, report.started_at),
                "opportunities": computed_frame(inputs.result.opportunities, report.started_at),
            }
            changes = diff_all(setup, computed, inputs.current)
            changes = quarantine.leave_out(changes, puller.set_aside)
            changes = _guarded(setup, connector, state, run_id, changes, inputs, counts)
        object_counts(counts, changes)
        rejected = None
        if write:
            with timer("record"):
                record_change_sets(state, run_id, changes)
            with timer("push"):
                rejected = push_changes(
                    setup, connector, state, run_id, changes, counts, progress, lock.keep,
                    current=inputs.current,
                )  # fmt: skip
        else:
            for table, frame in changes.items():
                counts[table].write_calls = connector.write_calls(frame["record_id"].nunique())
        report.objects, report.phase_seconds = counts, phases
        report.api_calls = api_calls(connector)
        fill_report(report, setup, inputs, changes, rejected, sample)
        report.quarantined = quarantine.quarantined(state, run_id)
        note = quarantine.summary(report.quarantined, run_id, setup.mapping_path)
        if note:
            report.messages.append(note)
        report.status = _status(write, counts)
        report.finished_at = datetime.now(UTC)
        state.finish_run(run_id, report.status, counts=_run_counts(report),
                         api_calls=report.api_calls)  # fmt: skip
        return report


def preflight(setup: Setup, connector: Any) -> None:
    """The mapping against the CRM's describe before anything is pulled or written."""
    problems = connector.check_mapping(setup.mapping, setup.mapping_path, setup.labels())
    if problems:
        raise ConfigError(problems)


def _guarded(
    setup: Setup, connector: Any, state: Any, run_id: int, changes: dict[str, pd.DataFrame],
    inputs: Any, counts: dict[str, Any],
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The changes fitted to their fields (sync/pipeline/guard.py); the records set aside
    are rejected rows of the run."""
    totals = {t: len(f) for t, f in inputs.current.items()}
    guarded = guard(setup, connector.describe, changes)
    for table, part in guarded.rejected.groupby("object", sort=False):
        state.record_rejected(run_id, str(table), part.drop(columns=["object"]))
        c = counts.setdefault(str(table), ObjectCounts())
        c.quarantined += int(part["record_id"].nunique())
    enforce(setup, guarded.rejected, totals)
    return guarded.changes


def _status(write: bool, counts: Mapping[str, Any]) -> str:
    if not write:
        return "planned"
    if any(c.rejected or c.quarantined for c in counts.values()):
        return "succeeded_with_rejections"
    return "succeeded"


def _run_counts(report: RunReport) -> dict[str, Any]:
    return {
        "objects": {k: asdict(v) for k, v in report.objects.items()},
        "phase_seconds": report.phase_seconds,
        "as_of": report.as_of,
        "finance": {
            k: v for k, v in report.finance.items() if k not in ("unmatched_sample", "quarantined")
        },
    }


def _timer(phases: dict[str, float]) -> Callable[[str], Any]:
    @contextmanager
    def timed(name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - start, 3)

    return timed


def rollback(
    project: LoadedProject,
    run_id: int,
    *,
    connection: str | None = None,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
) -> RollbackReport:
    """Write back the previous values of `run_id` where the CRM still holds what it wrote."""
    progress = progress or NoProgress()
    with session(project, connection, "rollback", env) as (setup, connector, state, rb_id, lock):
        written = written_changes(state, setup, run_id)
        restores: dict[str, pd.DataFrame] = {}
        skipped: list[pd.DataFrame] = []
        for table, part in written.groupby("object", sort=True) if len(written) else []:
            now = crm_now(setup, connector, state, str(table), rb_id)
            restores[str(table)], skip = plan_rollback(setup, str(table), part, now)
            skipped.append(skip)
        counts = object_counts({}, restores)
        record_change_sets(state, rb_id, restores)
        rejected = push_changes(setup, connector, state, rb_id, restores, counts, progress,
                                lock.keep)  # fmt: skip
        bad = set(zip(rejected["object"], rejected["record_id"], strict=True))
        for table, frame in restores.items():
            keys = [(r, f) for r, f in zip(frame["record_id"], frame["field"], strict=True)
                    if (table, r) not in bad]  # fmt: skip
            state.set_change_status_for(run_id, table, keys, "rolled_back")
        status = "succeeded_with_rejections" if len(rejected) else "succeeded"
        figures = {"objects": {k: asdict(v) for k, v in counts.items()}, "rolled_back_run": run_id}
        state.finish_run(rb_id, status, counts=figures, api_calls=api_calls(connector))
        skipped_frame = pd.concat(skipped, ignore_index=True) if skipped else None
        return RollbackReport(
            run_id, rb_id, restored=sum(c.written for c in counts.values()),
            skipped=skipped_frame, rejected=rejected,
        )  # fmt: skip


def provision_fields(
    project: LoadedProject, connection: str | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, ProvisionResult]:
    """Create or extend the output fields in the CRM; CRM object -> what was done."""
    return checks.provision(project, connection, env)


def check(
    project: LoadedProject,
    connection: str | None = None,
    *,
    live: bool = True,
    env: Mapping[str, str] | None = None,
    as_of: date | None = None,
) -> list[ConfigProblem]:
    """Every problem of the connection's files, and with `live` against the CRM; [] = good."""
    return checks.check(project, connection, live=live, env=env, as_of=as_of)
