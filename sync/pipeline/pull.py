"""Steps 2-3 of a run: pull every mapped object since its cursor and mirror it.

Each page is stored with its cursor in one transaction (`StateDB.store_page`), so a run
stopped at any point resumes after the last stored page and never skips data. Pages are
fetched up to PAGES_AHEAD pages in front of the one being stored, `connector.pull_streams`
tables at once, by background threads (sync/pipeline/prefetch.py) or, when every table is read in
full, by a worker process (sync/pipeline/worker.py), so the CRM and the state DB work at the
same time; pages are still stored one by one, each table's in order, by this thread.
Accounts and opportunities are read with their output fields and the override field, so
the diff sees what the CRM holds now. When the connector says so (`reconciliation_due`,
`associations_due`), an incremental pull becomes a full read (deletions an incremental read
cannot see) or is followed by a refresh of every record's account link.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from connectors.base import CrmConnector, Cursor, Page
from mappings.canonical import TABLES
from sync.pipeline.prefetch import FINISHED, prefetch_merged
from sync.pipeline.results import ObjectCounts, Progress
from sync.pipeline.setup import OUTPUT_TABLES, OVERRIDE_COLUMN, Setup
from sync.pipeline.worker import TableRead, remote_pages, table_pages
from sync.state.db import StateDB

log = logging.getLogger(__name__)
FULL_MARK = "full_read:{}"
ASSOC_MARK = "associations:{}"
TASK = "pull {}"
LARGEST_FIRST = ("invoices", "tickets", "opportunities", "accounts")
"""The canonical tables by how many records they usually hold (several invoices, tickets
and opportunities per account): with several tables read at once, starting the largest
first keeps every stream busy until the end, instead of one left reading invoices alone."""
PAGES_AHEAD = 2
"""Pages queued in front of the one being stored (plus one being fetched): memory for
PAGES_AHEAD + 2 pages at most."""


def mapped_tables(setup: Setup) -> list[str]:
    """Canonical tables the mapping reads, accounts first."""
    names = [t for t, om in setup.mapping.objects.items() if om is not None]
    return sorted(names, key=lambda t: (t != "accounts", t != "opportunities", t))


def pull_fields(setup: Setup, connector: CrmConnector, table: str) -> list[str]:
    """What to ask the connector for besides the mapped columns: outputs and override, for
    a connector that does not read them by default."""
    if connector.reads_outputs or table not in OUTPUT_TABLES:
        return []
    extra = list(setup.outputs(table).values())
    override = setup.override_field(table)
    return extra + ([override] if override else [])


def output_names(setup: Setup, table: str) -> dict[str, str]:
    """CRM field -> engine column, for connectors that return outputs under CRM names."""
    names = {field: column for column, field in setup.outputs(table).items()}
    override = setup.override_field(table)
    if override:
        names[override] = OVERRIDE_COLUMN
    return names


def canonical_page(setup: Setup, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A pulled page with output fields under their engine column names."""
    names = {
        f: c
        for f, c in output_names(setup, table).items()
        if f in frame.columns and c not in frame.columns
    }
    out = frame.rename(columns=names) if names else frame
    key = TABLES[table].key
    if key not in out.columns:
        out = out.assign(**{key: pd.Series([], dtype="string")}) if out.empty else out
    return out


class Puller:
    """Pulls and mirrors every mapped table of one connection for one run."""

    def __init__(
        self,
        setup: Setup,
        connector: CrmConnector,
        state: StateDB,
        run_id: int,
        progress: Progress,
        keep_lock: Callable[[], None],
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env`: where the connector's secrets are (default os.environ), for the worker
        process of a full read."""
        self.setup, self.connector, self.state = setup, connector, state
        self.run_id, self.progress, self.keep_lock = run_id, progress, keep_lock
        self.env = env
        self.before: dict[str, Cursor | None] = {}
        """Each table's cursor before this run (a run stopped for bad data goes back)."""
        self.set_aside: dict[str, set[str]] = {}
        """Per table, the records set aside because a value cannot be read or mapped."""
        self.seen: dict[str, set[str]] = {}
        """Per table read in full, every record id the CRM returned (live or deleted)."""
        self.purged: dict[str, int] = {}

    def pull_all(self, *, full: bool = False) -> dict[str, ObjectCounts]:
        """Pull every mapped table, `connector.pull_streams` tables at once; counts per table.

        Pages are stored one at a time in this thread, each table's in its own order with
        its own cursor, so a stop at any point leaves every table resumable. When every
        table is read in full, a worker process reads them (sync/pipeline/worker.py).
        """
        tables = mapped_tables(self.setup)
        counts = {table: ObjectCounts() for table in tables}
        now = datetime.now(UTC)
        reads: list[TableRead] = []
        for table in tables:
            self.before[table] = self.state.get_cursor(self.setup.name, table)
            since, full_read = self._since(table, full, now)
            if full_read:
                self.seen[table] = set()
            log.info(
                "%s: pulling %s (%s)",
                self.setup.name,
                table,
                "full" if full_read else "incremental",
            )
            fields = tuple(pull_fields(self.setup, self.connector, table))
            reads.append(TableRead(TASK.format(table), table, fields, since, full_read))
        at_once = max(1, int(self.connector.pull_streams))
        if at_once > 1:  # the longest reads start first, so no stream is left alone at the end
            reads.sort(
                key=lambda r: LARGEST_FIRST.index(r.table) if r.table in LARGEST_FIRST else 0
            )
        for read in reads[:at_once]:
            self.progress.start(read.task)
        started = at_once
        by_task = {read.task: read for read in reads}
        with closing(self._page_stream(reads, at_once)) as pages:
            # on any exit the reading threads (or the worker) are stopped here
            for task, page in pages:
                read = by_task[task]
                if page is FINISHED:
                    if started < len(reads):  # its reader started as this one ended
                        self.progress.start(reads[started].task)
                        started += 1
                    self._finish_table(read.table, read.full_read, now)
                    counts[read.table].deleted += self.purged.pop(read.table, 0)
                    continue
                self._store(read.table, page, counts[read.table])
                self.progress.advance(task, len(page.records))
                self.keep_lock()
        return counts

    def _page_stream(self, reads: list[TableRead], at_once: int) -> Any:
        """(task, Page | FINISHED) of every table: from a worker process for a full read of
        every table, else from threads in this process."""
        if reads and all(r.full_read for r in reads):
            env = os.environ if self.env is None else self.env
            return remote_pages(
                self.setup, env, reads, ahead=PAGES_AHEAD, add_calls=self.connector.count_calls
            )
        sources = {r.task: table_pages(self.connector, r) for r in reads}
        return prefetch_merged(sources, ahead=PAGES_AHEAD, at_once=at_once)

    def _since(self, table: str, full: bool, now: datetime) -> tuple[Cursor | None, bool]:
        """(cursor to pull from, whether this is a full read) for one table."""
        since = None if full else self.state.get_cursor(self.setup.name, table)
        full_read = since is None
        if not full_read:
            last = self.state.get_mark(self.setup.name, FULL_MARK.format(table))
            full_read = self.connector.reconciliation_due(last, now)
        return since, full_read

    def _finish_table(self, table: str, full_read: bool, now: datetime) -> None:
        """After a table's last page: the full-read marks, or the association refresh when
        the connector says it is due."""
        name = self.setup.name
        if full_read:
            self._sweep(table)
            self.state.set_mark(name, FULL_MARK.format(table), now)
            self.state.set_mark(name, ASSOC_MARK.format(table), now)
        elif self._needs_associations(table):
            last = self.state.get_mark(name, ASSOC_MARK.format(table))
            if self.connector.associations_due(last, now):
                self._refresh_associations(table)
                self.state.set_mark(name, ASSOC_MARK.format(table), now)
        self.progress.finish(TASK.format(table))

    def _store(self, table: str, page: Page, counts: ObjectCounts) -> None:
        frame = canonical_page(self.setup, table, page.records)
        key = TABLES[table].key
        if frame.empty and key not in frame.columns:
            frame = pd.DataFrame({key: pd.Series([], dtype="string")})
        self.state.store_page(
            self.setup.name, table, frame, key=key, cursor=page.cursor, obj=table,
            run_id=self.run_id, deleted_ids=page.deleted_ids,
        )  # fmt: skip
        counts.pulled += len(frame)
        counts.deleted += len(page.deleted_ids)
        bad = page.rejected
        if bad is not None and len(bad):
            self.state.record_rejected(self.run_id, table, bad)
            ids = set(bad["record_id"].astype(str))
            self.set_aside.setdefault(table, set()).update(ids)
            counts.quarantined = len(self.set_aside[table])
        if table in self.seen:
            seen = self.seen[table]
            if key in frame.columns:
                seen.update(frame[key].astype(str).to_numpy(dtype=object).tolist())
            seen.update(map(str, page.deleted_ids))
            seen.update(self.set_aside.get(table, ()))

    def _sweep(self, table: str) -> None:
        """After a full read: records the mirror holds that the CRM no longer returned at
        all (purged from the recycle bin or from HubSpot's archive) become deletions."""
        seen = self.seen.pop(table, None)
        if seen is None:
            return
        mirror = self.state.mirror_frame(self.setup.name, table)
        key = TABLES[table].key
        if mirror.empty or key not in mirror.columns:
            return
        gone = sorted(set(mirror[key].astype(str)) - seen)
        self.purged[table] = len(gone)
        if gone:
            empty = pd.DataFrame({key: pd.Series([], dtype="string")})
            self.state.upsert_mirror(
                self.setup.name, table, empty, key=key, run_id=self.run_id, deleted_ids=gone
            )
            log.info("%s: %d %s purged in the CRM; removed from the mirror",
                     self.setup.name, len(gone), table)  # fmt: skip

    def _needs_associations(self, table: str) -> bool:
        om = self.setup.mapping.objects.get(table)
        return (
            table != "accounts"
            and om is not None
            and "account_id" in TABLES[table].column_names
            and "account_id" not in om.fields
        )

    def _refresh_associations(self, table: str) -> None:
        """Re-read every record's company and update account_id in the mirror."""
        key = TABLES[table].key
        links: dict[str, Any] = {}
        for page in self.connector.pull_associations(table):
            frame = page.records
            links.update(zip(frame[key].astype(str), frame["account_id"], strict=True))
            self.keep_lock()
        mirror = self.state.mirror_frame(self.setup.name, table)
        if mirror.empty:
            return
        ids = mirror[key].astype(str)
        known = pd.Index(ids.to_numpy(dtype=object), dtype=object).isin(list(links))  # hashed in C
        new = ids.map(links).astype(object).where(known, None)
        old = mirror["account_id"].astype(object) if "account_id" in mirror else None
        changed = new.ne(old) if old is not None else pd.Series(True, index=mirror.index)
        changed &= ~(new.isna() & (old.isna() if old is not None else True))
        if changed.any():
            part = mirror[changed.to_numpy()].copy()
            part["account_id"] = new[changed.to_numpy()].to_numpy()
            self.state.upsert_mirror(self.setup.name, table, part, key=key, run_id=self.run_id)
            log.info("%s: %d %s moved to another company", self.setup.name, len(part), table)
