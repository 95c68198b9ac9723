"""Steps 2-3 of a run: pull every mapped object since its cursor and mirror it.

Each page is stored with its cursor in one transaction (`StateDB.store_page`), so a run
stopped at any point resumes after the last stored page and never skips data. Pages are
fetched by a background thread up to PAGES_AHEAD pages in front of the one being stored
(sync/prefetch.py), so the CRM and the state DB work at the same time; pages are still
stored one by one, in order. The connector is left alone by this thread meanwhile. Accounts
and opportunities are read with their output fields and the override field, so the diff
sees what the CRM holds now. HubSpot: a full reconciliation read (archived records as
deletions) and a full association refresh on the connection's cadences.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from connectors.base import Cursor, Page
from mappings.canonical import TABLES
from sync.connect import OUTPUT_TABLES, OVERRIDE_COLUMN, Setup
from sync.prefetch import prefetch
from sync.reports import ObjectCounts, Progress
from sync.state import StateDB

log = logging.getLogger(__name__)
FULL_MARK = "full_read:{}"
ASSOC_MARK = "associations:{}"
PAGES_AHEAD = 2
"""Pages queued in front of the one being stored (plus one being fetched): memory for
PAGES_AHEAD + 2 pages at most."""


def mapped_tables(setup: Setup) -> list[str]:
    """Canonical tables the mapping reads, accounts first."""
    names = [t for t, om in setup.mapping.objects.items() if om is not None]
    return sorted(names, key=lambda t: (t != "accounts", t != "opportunities", t))


def pull_fields(setup: Setup, table: str) -> list[str]:
    """What to ask the connector for: every mapped column, outputs and override."""
    if setup.crm == "salesforce" or table not in OUTPUT_TABLES:
        return []  # Salesforce reads mapped columns, outputs and override by default
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
        connector: Any,
        state: StateDB,
        run_id: int,
        progress: Progress,
        keep_lock: Callable[[], None],
    ) -> None:
        self.setup, self.connector, self.state = setup, connector, state
        self.run_id, self.progress, self.keep_lock = run_id, progress, keep_lock

    def pull_all(self, *, full: bool = False) -> dict[str, ObjectCounts]:
        """Pull every mapped table; counts per table."""
        counts: dict[str, ObjectCounts] = {}
        for table in mapped_tables(self.setup):
            counts[table] = self.pull_table(table, full=full)
        return counts

    def pull_table(self, table: str, *, full: bool) -> ObjectCounts:
        counts = ObjectCounts()
        name = self.setup.name
        since = None if full else self.state.get_cursor(name, table)
        now = datetime.now(UTC)
        full_read = since is None
        hubspot = self.setup.crm == "hubspot"
        if hubspot and not full_read:
            last = self.state.get_mark(name, FULL_MARK.format(table))
            full_read = self.connector.reconciliation_due(last, now)
        task = f"pull {table}"
        self.progress.start(task)
        log.info("%s: pulling %s (%s)", name, table, "full" if full_read else "incremental")
        pages = prefetch(self._pages(table, since, full_read), ahead=PAGES_AHEAD, name=task)
        with closing(pages):  # on any exit the fetching thread is stopped and joined here
            for page in pages:
                self._store(table, page, counts)
                self.progress.advance(task, len(page.records))
                self.keep_lock()
        if hubspot and full_read:
            self.state.set_mark(name, FULL_MARK.format(table), now)
            self.state.set_mark(name, ASSOC_MARK.format(table), now)
        elif hubspot and self._needs_associations(table):
            last = self.state.get_mark(name, ASSOC_MARK.format(table))
            if self.connector.associations_due(last, now):
                self._refresh_associations(table)
                self.state.set_mark(name, ASSOC_MARK.format(table), now)
        self.progress.finish(task)
        return counts

    def _pages(self, table: str, since: Cursor | None, full_read: bool) -> Iterator[Page]:
        fields = pull_fields(self.setup, table)
        if self.setup.crm == "hubspot":
            return self.connector.pull(table, fields=fields, since=since, full=full_read)  # type: ignore[no-any-return]
        return self.connector.pull(table, fields=fields, since=None if full_read else since)  # type: ignore[no-any-return]

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
