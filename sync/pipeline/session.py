"""The frame of every pipeline operation: state database, lock, run row, connector.

`session(...)` loads the connection's files, builds the connector, opens the state
database, takes the connection's lock (taking over the lock of a dead process on this
host), records a run row and marks runs left 'running' by dead processes abandoned. If
the block raises, the run is recorded as failed with a message that holds no secret.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mappings.errors import ConfigError, ConfigProblem, LockHeldError, ValuesyncError
from mappings.project import DEFAULT_STATE_URL, LoadedProject, state_url_problem
from sync.pipeline.runlog import run_log, run_log_path
from sync.pipeline.setup import Setup, build_connector, load_setup
from sync.state.db import StateDB, new_owner

log = logging.getLogger(__name__)
LOCK_REFRESH_SECONDS = 60.0


def open_state(
    project: LoadedProject, env: Mapping[str, str] | None = None, *, migrate: bool = True
) -> StateDB:
    """The project's state database (a relative SQLite path is relative to the project file)."""
    env = os.environ if env is None else env
    cfg = project.project.state
    url = cfg.url
    if cfg.url_env:
        url = env.get(cfg.url_env)
        if not url:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(project.path),
                        "state.url_env",
                        f"environment variable {cfg.url_env} is not set; export the "
                        "state database URL in it",
                    )
                ]  # fmt: skip
            )
    url = url or DEFAULT_STATE_URL
    problem = state_url_problem(url)
    if problem:
        key = "state.url_env" if cfg.url_env else "state.url"
        where = f" (from environment variable {cfg.url_env})" if cfg.url_env else ""
        raise ConfigError([ConfigProblem(str(project.path), key, problem + where)])
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            url = parsed.set(database=str(project.root / path)).render_as_string(
                hide_password=False
            )
    return StateDB(url, cache_dir=cache_dir(project), migrate=migrate)


def cache_dir(project: LoadedProject) -> Path:
    """Where a project keeps what it can rebuild (mirror snapshots, checked finance files)."""
    return project.root / ".valuesync" / "cache"


def default_as_of(today: date | None = None) -> date:
    """The first day of the current UTC month (the engine's as_of is exclusive)."""
    today = today or datetime.now(UTC).date()
    return today.replace(day=1)


class RunLock:
    """The connection's lock for one run, refreshed while the run works."""

    def __init__(self, state: StateDB, connection: str) -> None:
        self.state, self.connection = state, connection
        self.owner = new_owner()
        self.last = time.monotonic()

    def acquire(self) -> None:
        try:
            self.state.acquire_lock(self.connection, self.owner)
        except LockHeldError:
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
def session(
    project: LoadedProject, connection: str | None, kind: str, env: Mapping[str, str] | None
) -> Iterator[tuple[Setup, Any, StateDB, int, RunLock]]:
    """Files, connector, state and the lock; a run row that fails if the block raises."""
    setup = load_setup(project, connection)
    connector = build_connector(setup, env)
    state = open_state(project, env)
    lock = RunLock(state, setup.name)
    try:
        lock.acquire()
        try:
            run_id = state.start_run(setup.name, kind)
            lock.bind(run_id)
            with run_log(run_log_path(project.root, setup.name, run_id)):
                log.info("%s run %d of %s started", kind, run_id, setup.name)
                abandoned = state.abandon_running(setup.name, keep=run_id)
                if abandoned:
                    log.warning("%s: run(s) %s had stopped; marked abandoned", setup.name,
                                abandoned)  # fmt: skip
                try:
                    yield setup, connector, state, run_id, lock
                except BaseException as exc:
                    _log_failure(run_id, exc)
                    state.finish_run(
                        run_id, "failed", api_calls=api_calls(connector), message=_message(exc)
                    )
                    raise
                log.info("run %d finished", run_id)
        finally:
            lock.release()
    finally:
        state.close()


def _log_failure(run_id: int, exc: BaseException) -> None:
    if isinstance(exc, ValuesyncError):
        log.error("run %d failed: %s", run_id, _message(exc))
    else:  # a bug: the traceback belongs in the run's log file
        log.error("run %d failed on an unexpected %s", run_id, type(exc).__name__, exc_info=exc)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ValuesyncError):
        return str(exc)[:2000]
    return f"{type(exc).__name__} (see the log for details)"


def api_calls(connector: Any) -> dict[str, int]:
    return {k: int(v) for k, v in dict(connector.calls).items() if v}
