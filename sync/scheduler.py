"""Scheduled runs: APScheduler 3 cron (or interval) jobs kept in the state database.

Jobs live in APScheduler's SQLAlchemyJobStore, in the same database as the run state
(table `vs_scheduler_jobs`), so several `valuesync scheduler start` processes on several
hosts can share them. APScheduler 3 does not coordinate processes: each one fires a due
job itself. The connection lock of the state database (sync/state/locks.py) is what keeps
one CRM connection from running twice at once; the loser logs a refusal and the
scheduler carries on. Within one process a job has max_instances=1 and coalesce=True.

The job function is the importable reference `sync.scheduler:run_connection`, called
with (project_path, connection), so a stored job survives restarts and new releases.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mappings.errors import ConfigError, ConfigProblem, LockHeldError, StateError, ValuesyncError
from mappings.project import LoadedProject

log = logging.getLogger(__name__)

JOB_TABLE = "vs_scheduler_jobs"
JOB_FUNC = "sync.scheduler:run_connection"
DEFAULT_MISFIRE_GRACE = 3600
CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")


# -- the job ------------------------------------------------------------------------------
def run_connection(project_path: str, connection: str) -> dict[str, Any]:
    """Run one connection of a project (the scheduled job); never raises.

    A run refused because another process holds the connection's lock is logged as a
    refusal; any other valuesync error is logged in one line. Returns a small summary.
    """
    from mappings.project import load_project
    from sync.pipeline import runner as pipeline

    try:
        report = pipeline.run(load_project(Path(project_path)), connection)
    except LockHeldError as exc:
        log.warning("refused: scheduled run of %s skipped: %s", connection, exc)
        return {"connection": connection, "status": "refused", "message": str(exc)}
    except ValuesyncError as exc:
        log.error("scheduled run of %s failed: %s", connection, exc)
        return {"connection": connection, "status": "failed", "message": str(exc)}
    log.info(
        "scheduled run %s of %s %s: %d written", report.run_id, connection, report.status,
        report.written,
    )  # fmt: skip
    return {"connection": connection, "status": report.status, "run_id": report.run_id}


# -- triggers -----------------------------------------------------------------------------
def cron_trigger(expr: str, source: str = "command line", key: str = "--cron") -> CronTrigger:
    """A UTC CronTrigger from 5 fields; a ConfigError naming the bad field otherwise."""
    parts = expr.split()
    if len(parts) != len(CRON_FIELDS):
        raise ConfigError(
            [
                ConfigProblem(
                    source,
                    key,
                    f"{expr!r} has {len(parts)} fields; a cron expression has 5: minute hour "
                    "day-of-month month day-of-week (UTC), e.g. '0 2 * * *' for 02:00 daily",
                )
            ]
        )
    problems = []
    for field, name, value in zip(CRON_FIELDS, _CRON_NAMES, parts, strict=True):
        try:
            CronTrigger(**{field: value}, timezone=UTC)
        except ValueError as exc:
            problems.append(
                ConfigProblem(
                    source, key, f"{name} field {value!r} of {expr!r} is not valid: {exc}"
                )
            )
    if problems:
        raise ConfigError(problems)
    return CronTrigger.from_crontab(expr, timezone=UTC)


def interval_trigger(seconds: float) -> IntervalTrigger:
    if seconds <= 0:
        raise ConfigError(
            [ConfigProblem("command line", "--every", "give a positive number of seconds")]
        )
    return IntervalTrigger(seconds=seconds, timezone=UTC)


# -- the job store ------------------------------------------------------------------------
def state_url(project: LoadedProject, env: Mapping[str, str] | None = None) -> str:
    """The state database URL of a project (the job store shares it)."""
    from sync.pipeline import runner as pipeline

    state = pipeline.open_state(project, env=env)
    try:
        return str(state.url)
    finally:
        state.close()


def job_store(url: str) -> SQLAlchemyJobStore:
    """APScheduler's SQLAlchemy store on the state database's engine (WAL, busy timeout)."""
    from sync.state.db import make_engine

    return SQLAlchemyJobStore(engine=make_engine(url), tablename=JOB_TABLE)


def job_defaults(misfire_grace: int = DEFAULT_MISFIRE_GRACE) -> dict[str, Any]:
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace}


class _Executor(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler ships no types
    """A thread pool that drops a job due while the scheduler shuts down (instead of the
    RuntimeError a closed pool raises: the loop may be mid-way when SIGTERM arrives)."""

    stopping = False

    def shutdown(self, wait: bool = True) -> None:
        self.stopping = True
        super().shutdown(wait)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if self.stopping:
            log.info("not starting %s: the scheduler is stopping", job.name)
            return
        super()._do_submit_job(job, run_times)


def make_scheduler(url: str, *, misfire_grace: int = DEFAULT_MISFIRE_GRACE) -> BlockingScheduler:
    """The scheduler `scheduler start` runs: jobs in the state DB, UTC, one run per job."""
    return BlockingScheduler(
        executors={"default": _Executor()},
        jobstores={"default": job_store(url)},
        job_defaults=job_defaults(misfire_grace),
        timezone=UTC,
    )


@dataclass(frozen=True)
class ScheduledJob:
    """One stored job as the CLI shows it."""

    id: str
    connection: str
    project: str
    trigger: str
    next_run: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "connection": self.connection,
            "project": self.project,
            "trigger": self.trigger,
            "next_run": self.next_run.isoformat() if self.next_run else None,
        }


def _describe(trigger: BaseTrigger) -> str:
    if isinstance(trigger, CronTrigger):
        by_name = {f.name: str(f) for f in trigger.fields}
        return "cron " + " ".join(by_name[f] for f in CRON_FIELDS)
    if isinstance(trigger, IntervalTrigger):
        return f"every {trigger.interval.total_seconds():g} s"
    return str(trigger)


def _job(job: Any) -> ScheduledJob:
    project, connection = job.args
    return ScheduledJob(job.id, connection, project, _describe(job.trigger), job.next_run_time)


class _StoreOnly(BaseScheduler):  # type: ignore[misc]  # APScheduler ships no types
    """A scheduler without a loop: it edits the stored jobs and never runs one.

    (A paused BackgroundScheduler would still process due jobs once while shutting down.)
    """

    def wakeup(self) -> None:
        return None

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


class Schedules:
    """Add, list and remove stored jobs of one state database (no job is executed)."""

    def __init__(self, url: str) -> None:
        self.scheduler = _StoreOnly(
            jobstores={"default": job_store(url)}, job_defaults=job_defaults(), timezone=UTC
        )

    def __enter__(self) -> Schedules:
        try:
            self.scheduler.start(paused=True)
        except Exception as exc:  # the job store's database is unreachable or broken
            raise StateError(f"cannot open the schedule store: {exc}") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.scheduler.shutdown(wait=False)

    def add(
        self,
        project: LoadedProject,
        connection: str | None,
        trigger: BaseTrigger,
        *,
        misfire_grace: int = DEFAULT_MISFIRE_GRACE,
    ) -> ScheduledJob:
        """Store a job (the same project, connection and trigger replace each other)."""
        name, _ = project.connection(connection)
        path = str(project.path.resolve())
        job_id = f"{name}-{hashlib.sha1(f'{path}|{trigger}'.encode()).hexdigest()[:8]}"
        job = self.scheduler.add_job(
            JOB_FUNC,
            trigger,
            args=(path, name),
            id=job_id,
            name=f"valuesync run {name}",
            replace_existing=True,
            misfire_grace_time=misfire_grace,
        )
        return _job(self.scheduler.get_job(job.id))

    def list(self) -> list[ScheduledJob]:
        jobs = [_job(j) for j in self.scheduler.get_jobs()]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(jobs, key=lambda j: (j.next_run or far, j.id))

    def remove(self, job_id: str) -> ScheduledJob:
        job = self.scheduler.get_job(job_id)
        if job is None:
            known = ", ".join(j.id for j in self.list()) or "none"
            raise ConfigError(
                [
                    ConfigProblem(
                        "command line", "ID", f"no scheduled job {job_id!r}; scheduled: {known}"
                    )
                ]
            )
        found = _job(job)
        self.scheduler.remove_job(job_id)
        return found


def next_run(url: str, connection: str) -> datetime | None:
    """When the connection runs next according to the stored jobs (None: not scheduled)."""
    with Schedules(url) as s:
        runs = [j for j in s.list() if "-digest-" not in j.id]  # the alerts digest is no run
        times = [j.next_run for j in runs if j.connection == connection and j.next_run]
    return min(times) if times else None


# -- running the scheduler ----------------------------------------------------------------
def run_due(url: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Run every stored job that is due now, once, and move it to its next time."""
    now = now or datetime.now(UTC)
    results = []
    with Schedules(url) as s:
        for job in s.scheduler.get_jobs():
            if job.next_run_time is None or job.next_run_time > now:
                continue
            results.append(job.func(*job.args))  # a run, or another job (the alerts digest)
            nxt = job.trigger.get_next_fire_time(job.next_run_time, datetime.now(UTC))
            if nxt is None:
                s.scheduler.remove_job(job.id)
            else:
                s.scheduler.modify_job(job.id, next_run_time=nxt)
    return results


def serve(url: str) -> None:
    """Run the BlockingScheduler until SIGTERM or SIGINT; a running job finishes first."""
    scheduler = make_scheduler(url)
    stopper: list[threading.Thread] = []

    def _stop(signum: int, _frame: object) -> None:
        if stopper:
            return
        log.warning("received %s: stopping after running jobs finish", signal.Signals(signum).name)
        # shutdown() joins the worker threads; doing that inside the handler, on the thread
        # that runs the scheduler loop, could deadlock, so it runs aside. Pausing first keeps
        # the loop from submitting a due job to the executor being shut down.
        stopper.append(threading.Thread(target=_pause_and_stop, args=(scheduler,)))
        stopper[0].start()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        for t in stopper:
            t.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.warning("scheduler stopped")


def _pause_and_stop(scheduler: BaseScheduler) -> None:
    scheduler.pause()
    scheduler.shutdown(wait=True)


def apply_misfire_grace(url: str, seconds: int) -> None:
    """Set misfire_grace_time on every stored job (scheduler start --misfire-grace)."""
    with Schedules(url) as s:
        for job in s.scheduler.get_jobs():
            s.scheduler.modify_job(job.id, misfire_grace_time=seconds)
