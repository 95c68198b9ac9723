"""Steps 7-8 of a run: the change set on disk first, then pushes, each result as it returns.

Changes are pushed per object in chunks of one API batch (200 records per sObject
Collections call, 100 per HubSpot batch update; one Bulk 2.0 job above the Salesforce
threshold). Each chunk's per-record results are recorded, in order, as it returns; at most
`connector.push_streams` chunks are under way beyond the last recorded one, so a run
stopped anywhere leaves a record of what reached the CRM, and the change set stored first
covers what may have reached it since. A rejected record is logged with the CRM's error
and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import WriteResult
from mappings.canonical import TABLES
from sync.pipeline.diff import push_frame
from sync.pipeline.results import ObjectCounts, Progress
from sync.pipeline.setup import Setup
from sync.state.db import StateDB

log = logging.getLogger(__name__)
REJECTED_COLUMNS = ["object", "record_id", "field", "code", "message"]
NOT_WRITE_CALLS = {"throttled_429", "login", "describe", "limits"}


def record_change_sets(state: StateDB, run_id: int, changes: dict[str, pd.DataFrame]) -> int:
    """Store every planned change (with its previous value) before the first write, synced
    to disk (a power cut after the push must not lose what a rollback needs)."""
    n = sum(
        state.record_changes(run_id, table, frame) for table, frame in changes.items() if len(frame)
    )
    state.make_durable()
    return n


def push_changes(
    setup: Setup,
    connector: Any,
    state: StateDB,
    run_id: int,
    changes: dict[str, pd.DataFrame],
    counts: dict[str, ObjectCounts],
    progress: Progress,
    keep_lock: Callable[[], None],
    current: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Push every table's changes; returns the rejected rows of all of them. `current`: the
    mirror's rows as the run read them (else read again) for `mirror_written`."""
    rejected: list[pd.DataFrame] = []
    clear = connector.clear_value
    for table, frame in changes.items():
        if frame.empty:
            continue
        wide = push_frame(frame, clear)
        c = counts.setdefault(table, ObjectCounts())
        size = connector.write_chunk(len(wide))
        task = f"push {table}"
        progress.start(task, total=len(wide))
        tally = _Tally(state, run_id, table, c, progress, task, keep_lock)
        chunks = (
            wide.iloc[start : start + size].reset_index(drop=True)
            for start in range(0, len(wide), size)
        )
        push_pipelined(partial(connector.push, table), chunks, tally.record, connector.push_streams)
        rejected += tally.rejected
        progress.finish(task)
        mirror = (current or {}).get(table)
        mirror_written(setup, state, run_id, table, frame, tally.accepted, mirror)
        log.info(
            "%s: %s written %d, rejected %d in %d call(s)",
            setup.name, table, c.written, c.rejected, c.write_calls,
        )  # fmt: skip
    if not rejected:
        return pd.DataFrame(columns=REJECTED_COLUMNS)
    return pd.concat(rejected, ignore_index=True)[REJECTED_COLUMNS]


@dataclass
class _Tally:
    """One table's push results as they are recorded: state DB, counts, progress, lock."""

    state: StateDB
    run_id: int
    table: str
    counts: ObjectCounts
    progress: Progress
    task: str
    keep_lock: Callable[[], None]
    accepted: set[str] = field(default_factory=set)
    rejected: list[pd.DataFrame] = field(default_factory=list)

    def record(self, result: WriteResult, rows: int) -> None:
        self.state.record_write_result(self.run_id, self.table, result)
        bad = {r.record_id for r in result.rejected}
        self.accepted |= set(map(str, result.accepted)) - bad
        c = self.counts
        c.written += len(set(result.accepted) - bad)
        c.rejected += len(bad)
        c.write_calls += sum(n for k, n in result.calls.items() if k not in NOT_WRITE_CALLS)
        if result.rejected:
            self.rejected.append(result.rejected_frame().assign(object=self.table))
        self.progress.advance(self.task, rows)
        self.keep_lock()


def push_pipelined(
    push: Callable[[pd.DataFrame], WriteResult],
    chunks: Iterator[pd.DataFrame],
    recorded: Callable[[WriteResult, int], None],
    streams: int = 1,
) -> None:
    """Push chunks from `streams` worker threads, recording each result in this thread
    while the workers send the next chunks: the CRM's time and the state DB's overlap.

    At most `streams` chunks are sent beyond the last recorded one, as when that many
    requests are under way, so a run killed here resumes as before: the change set on
    disk says what may still be unwritten. Results are recorded in push order. Once a push
    fails, nothing more is sent; the chunks already under way are recorded when they were
    written, and then the first error is raised here.
    """
    if streams < 1:
        raise ValueError(f"push_pipelined needs streams >= 1, got {streams}")
    failed = threading.Event()

    def guarded(chunk: pd.DataFrame) -> WriteResult | None:
        """The chunk's result; None when it was not sent because a push before it failed."""
        if failed.is_set():
            return None
        try:
            return push(chunk)
        except BaseException:
            failed.set()
            raise

    pending: deque[tuple[Future[WriteResult | None], int]] = deque()
    error: BaseException | None = None

    def record_oldest() -> None:
        nonlocal error
        future, rows = pending.popleft()
        try:
            result = future.result()
        except BaseException as exc:
            error = error or exc
            return
        if result is not None:  # None: skipped after a failure
            recorded(result, rows)

    with ThreadPoolExecutor(max_workers=streams, thread_name_prefix="push") as workers:
        try:
            for chunk in chunks:
                if failed.is_set():
                    break
                pending.append((workers.submit(guarded, chunk), len(chunk)))
                while len(pending) > streams:
                    record_oldest()
            while pending:
                record_oldest()
        except BaseException:
            failed.set()  # this thread failed (recording, Ctrl-C): send nothing more
            raise
    if error is not None:
        raise error


def mirror_written(
    setup: Setup,
    state: StateDB,
    run_id: int,
    table: str,
    changes: pd.DataFrame,
    accepted: set[str],
    mirror: pd.DataFrame | None = None,
) -> None:
    """Put the values the CRM accepted into the mirror (`mirror`: its rows as this run read
    them; read again when not given).

    The next run then does not depend on the CRM's search index to see our own writes
    (HubSpot's lags), so it never writes the same values again; a later edit by someone
    else still arrives through the pull, with a newer modification stamp.
    """
    # Object-dtype indexes (pandas 3 would infer Arrow-backed strings, whose isin loops in
    # Python per value): hash look-ups in C.
    record_ids = pd.Index(changes["record_id"].astype(str).to_numpy(dtype=object), dtype=object)
    wanted = record_ids.isin(list(accepted))
    done = changes[wanted]
    if done.empty:
        return
    key = TABLES[table].key
    if mirror is None:
        mirror = state.mirror_frame(setup.name, table)
    if mirror.empty:
        return
    keys = pd.Index(mirror[key].astype(str).to_numpy(dtype=object), dtype=object)
    mirror = mirror[keys.isin(record_ids[wanted].unique())].copy()
    ids = pd.Index(mirror[key].astype(str).to_numpy(dtype=object), dtype=object)
    for column, part in done.groupby("column", sort=False):
        new = pd.Series(
            part["new"].to_numpy(dtype=object),
            index=pd.Index(part["record_id"].astype(str).to_numpy(dtype=object), dtype=object),
        )
        new = new[~new.index.duplicated(keep="last")]
        position = new.index.get_indexer(ids)
        hit = position >= 0
        old = (
            mirror[column].to_numpy(dtype=object, copy=True)
            if column in mirror
            else np.full(len(mirror), None, dtype=object)
        )
        old[hit] = new.to_numpy()[position[hit]]
        mirror[str(column)] = pd.Series(old, index=mirror.index, dtype=object)
    state.upsert_mirror(setup.name, table, mirror, key=key, run_id=run_id)
