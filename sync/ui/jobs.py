"""Check, plan, run, provision and rollback as background jobs of the console process.

One job at a time per connection (a second one is refused with a message); the pipeline
itself still takes the state database's run lock, so a CLI run or the scheduler working
on the same connection is refused too. A job's progress is kept in memory, so a page left
and opened again shows where the job is; its outcome is kept until the next job starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mappings.errors import StateError, ValuesyncError

log = logging.getLogger(__name__)


@dataclass
class Task:
    """One progress bar: how far a phase got."""

    name: str
    total: int | None = None
    done: int = 0
    finished: bool = False

    @property
    def percent(self) -> int | None:
        if self.finished:
            return 100
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))


class JobProgress:
    """The pipeline's Progress protocol, recorded for the page (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tasks: dict[str, Task] = {}

    def start(self, task: str, total: int | None = None) -> None:
        with self._lock:
            self.tasks[task] = Task(task, total)

    def advance(self, task: str, n: int = 1) -> None:
        with self._lock:
            self.tasks.setdefault(task, Task(task)).done += n

    def finish(self, task: str) -> None:
        with self._lock:
            self.tasks.setdefault(task, Task(task)).finished = True

    def snapshot(self) -> list[Task]:
        with self._lock:
            return [Task(t.name, t.total, t.done, t.finished) for t in self.tasks.values()]


@dataclass
class Job:
    """One piece of work started from the page."""

    id: int
    connection: str
    kind: str
    started_at: datetime
    progress: JobProgress = field(default_factory=JobProgress)
    status: str = "running"
    """running | done | failed"""
    finished_at: datetime | None = None
    result: Any = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return round((end - self.started_at).total_seconds(), 1)


Work = Callable[[JobProgress], Any]


class Jobs:
    """The console's jobs: at most one running per connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 1
        self._jobs: dict[int, Job] = {}
        self._latest: dict[str, int] = {}

    def start(self, connection: str, kind: str, work: Work) -> Job:
        """Start `work` in a thread; a StateError when this connection already has a job."""
        with self._lock:
            current = self.latest(connection)
            if current is not None and current.status == "running":
                raise StateError(
                    f"connection '{connection}' is busy: a {current.kind} started from this "
                    f"console is still going ({current.seconds:.0f} s); wait for it to end"
                )
            job = Job(self._next, connection, kind, datetime.now(UTC))
            self._next += 1
            self._jobs[job.id] = job
            self._latest[connection] = job.id
        thread = threading.Thread(
            target=self._run, args=(job, work), daemon=True, name=f"console-{kind}-{connection}"
        )
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        start = time.perf_counter()
        try:
            job.result = work(job.progress)
            job.status = "done"
        except ValuesyncError as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # the page shows a message; the log has the traceback
            log.exception("console %s of %s failed", job.kind, job.connection)
            job.error = f"{type(exc).__name__}: an unexpected error (the console log has details)"
            job.status = "failed"
        finally:
            job.finished_at = datetime.now(UTC)
            log.info(
                "console %s of %s: %s in %.1f s",
                job.kind,
                job.connection,
                job.status,
                time.perf_counter() - start,
            )

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def latest(self, connection: str) -> Job | None:
        found = self._latest.get(connection)
        return None if found is None else self._jobs.get(found)

    def wait(self, job_id: int, timeout: float = 60.0) -> Job | None:
        """Block until the job ends (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        while job is not None and job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        return job
