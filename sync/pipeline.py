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
so nothing stale is ever replayed. See DESIGN.md "Data flow of one run".
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors.base import ProvisionResult
from mappings.errors import ConfigError, ConfigProblem, StateError, ValuesyncError
from mappings.project import DEFAULT_STATE_URL, LoadedProject
from sync import checks
from sync.compute_step import compute_run, load_finance_for
from sync.connect import Setup, build_connector, load_setup, write_calls
from sync.diff import computed_frame, diff_all
from sync.pipeline_report import fill_report, object_counts
from sync.pull_step import Puller
from sync.push_step import push_changes, record_change_sets
from sync.reports import NoProgress, Progress, RollbackReport, RunReport
from sync.rollback import crm_now, plan_rollback, written_changes
from sync.state import StateDB, new_owner

log = logging.getLogger(__name__)
LOCK_REFRESH_SECONDS = 60.0

__all__ = ["check", "open_state", "plan", "provision_fields", "rollback", "run"]


def open_state(project: LoadedProject, env: Mapping[str, str] | None = None) -> StateDB:
    """The project's state database (a relative SQLite path is relative to the project file)."""
    env = os.environ if env is None else env
    cfg = project.project.state
    url = cfg.url
    if cfg.url_env:
        url = env.get(cfg.url_env)
        if not url:
            raise ConfigError(
                [ConfigProblem(str(project.path), "state.url_env",
                               f"environment variable {cfg.url_env} is not set; export the "
                               "state database URL in it")]  # fmt: skip
            )
    url = url or DEFAULT_STATE_URL
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            url = parsed.set(database=str(project.root / path)).render_as_string(
                hide_password=False
            )
    return StateDB(url)


def default_as_of(today: date | None = None) -> date:
    """The first day of the current UTC month (the engine's as_of is exclusive)."""
    today = today or datetime.now(UTC).date()
    return today.replace(day=1)


class _Lock:
    """The connection's lock for one run, refreshed while the run works."""

    def __init__(self, state: StateDB, connection: str) -> None:
        self.state, self.connection = state, connection
        self.owner = new_owner()
        self.last = time.monotonic()

    def acquire(self) -> None:
        try:
            self.state.acquire_lock(self.connection, self.owner)
        except StateError:
            dead = self.state.take_over_dead_lock(self.connection)
            if dead is None:
                raise
            log.warning("%s: took over the lock of a stopped process", self.connection)
            self.state.acquire_lock(self.connection, self.owner)

    def bind(self, run_id: int) -> None:
        self.state.acquire_lock(self.connection, self.owner, run_id=run_id)

    def keep(self) -> None:
        if time.monotonic() - self.last >= LOCK_REFRESH_SECONDS:
            self.state.refresh_lock(self.connection, self.owner)
            self.last = time.monotonic()

    def release(self) -> None:
        self.state.release_lock(self.connection, self.owner)


@contextmanager
def _session(
    project: LoadedProject, connection: str | None, kind: str, env: Mapping[str, str] | None
) -> Iterator[tuple[Setup, Any, StateDB, int, _Lock]]:
    """Files, connector, state and the lock; a run row that fails if the block raises."""
    setup = load_setup(project, connection)
    connector = build_connector(setup, env)
    state = open_state(project, env)
    lock = _Lock(state, setup.name)
    try:
        lock.acquire()
        try:
            run_id = state.start_run(setup.name, kind)
            lock.bind(run_id)
            abandoned = state.abandon_running(setup.name, keep=run_id)
            if abandoned:
                log.warning("%s: run(s) %s had stopped; marked abandoned", setup.name, abandoned)
            try:
                yield setup, connector, state, run_id, lock
            except BaseException as exc:
                state.finish_run(
                    run_id, "failed", api_calls=_calls(connector), message=_message(exc)
                )
                raise
        finally:
            lock.release()
    finally:
        state.close()


def _message(exc: BaseException) -> str:
    if isinstance(exc, ValuesyncError):
        return str(exc)[:2000]
    return f"{type(exc).__name__} (see the log for details)"


def _calls(connector: Any) -> dict[str, int]:
    return {k: int(v) for k, v in dict(connector.calls).items() if v}


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
    return _execute(project, connection, write=True, as_of=as_of, full=full,
                    progress=progress or NoProgress(), env=env)  # fmt: skip


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
    with _session(project, connection, kind, env) as (setup, connector, state, run_id, lock):
        report = RunReport(run_id, setup.name, setup.crm, "running", datetime.now(UTC),
                           as_of=day.isoformat(), dry_run=not write)  # fmt: skip
        phases: dict[str, float] = {}
        timer = _timer(phases)
        with timer("finance"):
            finance = load_finance_for(setup, state, run_id, day)
        with timer("check"):
            preflight(setup, connector)
        with timer("pull"):
            puller = Puller(setup, connector, state, run_id, progress, lock.keep)
            counts = puller.pull_all(full=full)
        with timer("compute"):
            inputs = compute_run(setup, state, run_id, day, finance)
        with timer("diff"):
            computed = {
                "accounts": computed_frame(inputs.result.accounts, report.started_at),
                "opportunities": computed_frame(inputs.result.opportunities, report.started_at),
            }
            changes = diff_all(setup, computed, inputs.current)
        object_counts(counts, changes)
        rejected = None
        if write:
            with timer("record"):
                record_change_sets(state, run_id, changes)
            with timer("push"):
                rejected = push_changes(
                    setup, connector, state, run_id, changes, counts, progress, lock.keep
                )
        else:
            for table, frame in changes.items():
                counts[table].write_calls = write_calls(setup, frame["record_id"].nunique())
        report.objects, report.phase_seconds = counts, phases
        report.api_calls = _calls(connector)
        fill_report(report, setup, inputs, changes, rejected, sample)
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


def _status(write: bool, counts: Mapping[str, Any]) -> str:
    if not write:
        return "planned"
    if any(c.rejected for c in counts.values()):
        return "succeeded_with_rejections"
    return "succeeded"


def _run_counts(report: RunReport) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "objects": {k: asdict(v) for k, v in report.objects.items()},
        "phase_seconds": report.phase_seconds,
        "as_of": report.as_of,
        "finance": {k: v for k, v in report.finance.items() if k != "unmatched_sample"},
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
    with _session(project, connection, "rollback", env) as (setup, connector, state, rb_id, lock):
        written, since = written_changes(state, setup, run_id)
        restores: dict[str, pd.DataFrame] = {}
        skipped: list[pd.DataFrame] = []
        for table, part in written.groupby("object", sort=True) if len(written) else []:
            now = crm_now(setup, connector, state, str(table), since, rb_id)
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
        from dataclasses import asdict

        state.finish_run(rb_id, status, counts={"objects": {k: asdict(v) for k, v in counts.items()},
                                                "rolled_back_run": run_id},
                         api_calls=_calls(connector))  # fmt: skip
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
) -> list[ConfigProblem]:
    """Every problem of the connection's files, and with `live` against the CRM; [] = good."""
    return checks.check(project, connection, live=live, env=env)
