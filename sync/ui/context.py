"""What every page of the console shares: the project file, the state database, the jobs,
and the last run's scores of each connection held in memory.

The project file and the files it names are read again on every request, so an edit made
with a text editor (or by another console) shows at once. The state database is opened once.
The scores snapshot is the last run's stored engine rows and features, scored again with
the model file as it is now (the per-criterion points are not stored), and is rebuilt when
a newer run stored scores or the model file changed.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from mappings.errors import ConfigError, ConfigProblem, ValuesyncError
from mappings.project import LoadedProject, load_project
from sync.pipeline.setup import Setup, load_setup
from sync.ui.describe_cache import DescribeCache
from sync.ui.jobs import Jobs
from value_engine.accounts import Scored, score_accounts
from value_engine.model import ValueModel


@dataclass(frozen=True)
class Snapshot:
    """The last run with stored scores, and the scores again with the current model."""

    run_id: int
    accounts: pd.DataFrame
    """The stored engine rows (quadrant, scores, rule fields, reason as written)."""
    features: pd.DataFrame | None
    scored: Scored | None
    model: ValueModel
    positions: pd.Series
    """account_id -> row position in `accounts`."""
    feature_positions: pd.Series | None
    names: pd.DataFrame
    """account_id, name, domain as the mirror holds them (what search looks at)."""


@dataclass
class Console:
    """The console's shared state (one per server)."""

    project_path: Path
    default_connection: str | None = None
    as_of: date | None = None
    ready_wait: float = 0.25
    """How long a page waits for the last run's scores before it says they are being read."""
    """The scoring date of plans and runs started here (None: the pipeline's default)."""
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    jobs: Jobs = field(default_factory=Jobs)
    describes: DescribeCache = field(default_factory=DescribeCache)
    _state: Any = None
    _snapshots: dict[str, tuple[Any, Snapshot]] = field(default_factory=dict)
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _projects: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _setups: dict[str, tuple[Any, Setup]] = field(default_factory=dict)

    def project(self) -> LoadedProject:
        """The project file, parsed again only when it changed on disk."""
        key = _stamp(self.project_path)
        cached = self._projects.get("project")
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        if not self.project_path.is_file():
            raise ConfigError(
                [
                    ConfigProblem(
                        str(self.project_path),
                        "",
                        "the project file is gone; start the console with --project PATH",
                    )
                ]
            )
        project = load_project(self.project_path)
        self._projects["project"] = (key, project)
        return project

    def names(self) -> list[str]:
        project = self.project()
        if self.default_connection:
            return [project.connection(self.default_connection)[0]]
        return list(project.project.connections)

    def setup(self, name: str) -> Setup:
        """The connection's files, validated; read again only when one of them changed."""
        project = self.project()
        conn = project.connection(self.known(name))[1]
        files = [project.resolve(p) for p in (conn.mapping, conn.value_model, conn.finance)]
        key = tuple(_stamp(p) for p in [self.project_path, *files] if p is not None)
        cached = self._setups.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        setup = load_setup(project, name)
        self._setups[name] = (key, setup)
        return setup

    def warm(self) -> threading.Thread:
        """Load every connection's last scores in the background (the first page is fast)."""

        def load() -> None:
            for name in self.names():
                # a problem is left to the page that needs the scores: it says what is wrong
                with contextlib.suppress(ValuesyncError):
                    self.snapshot(name)

        thread = threading.Thread(target=load, daemon=True, name="console-warm")
        thread.start()
        return thread

    def known(self, name: str) -> str:
        """`name` when the project defines it, else a ConfigError listing the connections."""
        names = self.names()
        if name not in names:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(self.project_path),
                        "connections",
                        f"no connection '{name}'; the project has {', '.join(names)}",
                    )
                ]
            )
        return name

    def state(self) -> Any:
        with self._lock:
            if self._state is None:
                from sync.pipeline.session import open_state

                self._state = open_state(self.project(), self.env)
            return self._state

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def snapshot(self, name: str) -> Snapshot | None:
        """The last run's scores of a connection (None: no run stored scores yet)."""
        found = self._current(name)
        if found is None or isinstance(found, Snapshot):
            return found
        run_id, key, model = found
        with self._snapshot_lock:  # the warm-up and a page never build it twice
            cached = self._snapshots.get(name)
            if cached is not None and cached[0] == key:
                return cached[1]
            snap = build_snapshot(self.state(), run_id, model, name)
            self._snapshots[name] = (key, snap)
        return snap

    def page_snapshot(self, name: str) -> Snapshot | Loading | None:
        """Like `snapshot`, but never waits: while the scores are read (a few seconds at
        100,000 accounts) a page says so and reloads itself."""
        found = self._current(name)
        if found is None or isinstance(found, Snapshot):
            return found
        if self._snapshot_lock.locked():
            return Loading(found[0])
        thread = threading.Thread(target=self.snapshot, args=(name,), daemon=True)
        thread.start()
        thread.join(timeout=self.ready_wait)  # a small population is ready at once
        done = self._current(name)
        return done if isinstance(done, Snapshot) else Loading(found[0])

    def _current(self, name: str) -> Snapshot | tuple[int, Any, ValueModel] | None:
        """The cached snapshot when it is current, else what building it needs."""
        setup = self.setup(name)
        run_id = last_scored_run(self.state(), name)
        if run_id is None:
            return None
        key = (run_id, _stamp(setup.model_path))
        cached = self._snapshots.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        return run_id, key, setup.model


@dataclass(frozen=True)
class Loading:
    """The last run's scores are being read; the page reloads itself."""

    run_id: int


def _stamp(path: Path) -> tuple[str, int, int, int]:
    """What tells that a file changed: its path, inode, size and modification time."""
    try:
        st = path.stat()
    except OSError:
        return (str(path), 0, -1, 0)
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def last_scored_run(state: Any, name: str) -> int | None:
    """The newest run of the connection that stored account scores."""
    for run in state.runs(connection=name, limit=20):
        if state.has_scores(run["id"], "accounts"):
            return int(run["id"])
    return None


def build_snapshot(state: Any, run_id: int, model: ValueModel, name: str) -> Snapshot:
    """Stored rows and features of a run, scored with `model`, and the accounts' names."""
    accounts = state.scores(run_id, "accounts").reset_index(drop=True)
    positions = pd.Series(range(len(accounts)), index=accounts["account_id"].astype(str))
    features = state.scores(run_id, "features") if state.has_scores(run_id, "features") else None
    scored = feature_positions = None
    if features is not None and len(features):
        features = features.reset_index(drop=True)
        scored = score_accounts(features, model)
        feature_positions = pd.Series(
            range(len(features)), index=features["account_id"].astype(str)
        )
    mirror = state.mirror_frame(name, "accounts")
    columns = [c for c in ("account_id", "name", "domain") if c in mirror.columns]
    names = mirror[columns].copy()
    names["account_id"] = names["account_id"].astype(str)
    for column in ("name", "domain"):
        if column not in names:
            names[column] = ""
        names[column] = names[column].fillna("").astype(str)
    names["key"] = (names["name"] + " " + names["domain"] + " " + names["account_id"]).str.lower()
    return Snapshot(
        run_id,
        accounts,
        features,
        scored,
        model,
        positions,
        feature_positions,
        names.reset_index(drop=True),
    )
