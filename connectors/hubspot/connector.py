"""The HubSpot connector: hubspot-api-client 12 behind the CrmConnector protocol.

HubSpot's limits are shared by every integration in a portal, so this connector is
frugal and exact. The pitfalls it avoids, and where:

- search stops at 10,000 results: adaptive time windows, keyset paging (pull.py);
- association reads stop at a page unless followed; association changes do not bump
  hs_lastmodifieddate: v4 batch reads with every page followed, and a separate full
  association refresh on its own cadence (`pull_associations`);
- contacts stamp lastmodifieddate, other objects hs_lastmodifieddate (`modified_property`);
- one duplicate id rejects a batch; a VALIDATION_ERROR rejects all 100: de-duplicated
  inputs, bad inputs isolated (push.py); large pushes are one CRM import (imports.py);
- the client returns None for an unlisted status: an error naming the call (client.py).

Objects are named either by canonical table (`accounts`, `opportunities`, `tickets`,
`invoices`) or by HubSpot object type (`companies`, `deals`, ...). Frames come out in
canonical column names; requested properties no column maps keep their HubSpot name.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from connectors.base import (
    Cursor,
    FieldSpec,
    ObjectSchema,
    Page,
    ProvisionResult,
    TaskResult,
    TaskSpec,
    WriteResult,
)
from connectors.hubspot.client import HubSpotApi
from connectors.hubspot.frames import ASSOCIATED_ACCOUNT, checked_frame, chunks, to_frame
from connectors.hubspot.imports import Importer, Polling
from connectors.hubspot.limits import PortalLimiter, limiter_for, portal_key
from connectors.hubspot.provision import Provisioner
from connectors.hubspot.pull import (
    ASSOCIATION_INPUTS,
    Puller,
    Record,
    companies_by_child,
    modified_property,
    primary_company,
    read_associations,
    window_start,
)
from connectors.hubspot.push import Pusher, inputs_from
from connectors.hubspot.schema import (
    check_mapping,
    get_properties,
    to_schema,
    unmapped_values,
)
from connectors.hubspot.tasks import create_tasks, owner_emails
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from mappings.canonical import TABLES
from mappings.crm import CrmMapping, ObjectMapping, OutputMapping
from mappings.errors import ConfigError, ConfigProblem
from mappings.hubspot_connection import HubSpotConnection

COMPANIES = "companies"
FULL_READ_FRAME = 5 * ASSOCIATION_INPUTS
"""Rows per Page of a full read: list pages of 100 are gathered, because building a
DataFrame costs ~15 ms however few rows it has, and association reads take 1,000 ids."""


class HubSpotConnector:
    """One HubSpot portal, read and written through the mapping."""

    system: ClassVar[str] = "hubspot"
    pull_streams: ClassVar[int] = 2
    """Objects read at once. HubSpot answers one list page after another per object, so
    reading two objects keeps the portal and this process busy at the same time; calls
    still go through the portal's shared limiter, so the pace stays within its limits."""
    push_streams: ClassVar[int] = 2
    """Batch updates under way at once: one is answered while the next is on its way in
    (each push counts its own calls; the limiter keeps the pace)."""
    reads_outputs: ClassVar[bool] = False
    """A pull returns only the properties asked for: outputs must be named in `fields`."""
    clear_value: ClassVar[str] = ""
    """HubSpot clears a property that is sent as an empty string."""
    WRITE_BATCH: ClassVar[int] = 100
    """Inputs per batch update call."""
    IMPORT_CALLS: ClassVar[int] = 3
    """An import of one object: the running-imports check, the start, one state poll."""

    def __init__(
        self,
        connection: HubSpotConnection,
        mapping: CrmMapping,
        *,
        env: Mapping[str, str] | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        limiter: PortalLimiter | None = None,
        client: Any = None,
    ) -> None:
        from hubspot import HubSpot

        token = connection.token(env)
        self.connection = connection
        self.mapping = mapping
        # retry=False: urllib3 must not retry behind the shared policy's back.
        client = client or HubSpot(
            access_token=token.get_secret_value(), host=connection.base_url, retry=False
        )
        limiter = limiter or limiter_for(
            portal_key(connection.base_url, token.get_secret_value()), connection.rate_limits
        )
        self.api = HubSpotApi(client, limiter, timeout=connection.timeout_seconds, policy=policy)
        self.last_windows: list[tuple[int, int, int]] = []
        self.polling = Polling(deadline=connection.import_wait_seconds)

    def __repr__(self) -> str:
        c = self.connection
        return f"HubSpotConnector(base_url={c.base_url!r}, auth={c.auth.kind})"

    @property
    def calls(self) -> dict[str, int]:
        """API calls this connector made, by kind, plus the 429s it received."""
        kinds = dict.fromkeys(("read", "search", "associations", "write", "properties"), 0)
        return {**kinds, **self.api.calls, "throttled_429": self.api.throttled}

    def count_calls(self, calls: Mapping[str, int]) -> None:
        """Add calls made for this connector by another process (a pull worker)."""
        self.api.add_calls(calls)

    # -- describe ----------------------------------------------------------------------
    def describe(self, obj: str) -> ObjectSchema:
        """The properties of an object as an ObjectSchema (one call)."""
        object_type = self._object_type(obj)
        return to_schema(object_type, get_properties(self.api, object_type))

    def check_mapping(
        self,
        mapping: CrmMapping,
        mapping_path: Path | str,
        required_labels: Mapping[str, Sequence[str]],
    ) -> list[ConfigProblem]:
        """Every problem of `mapping` against this portal's properties, at once."""
        return check_mapping(self.api, mapping, mapping_path, required_labels)

    def unmapped_values(self, mapping: CrmMapping, mapping_path: Path | str) -> list[ConfigProblem]:
        """Enumeration options that the mapping's value maps leave unmapped."""
        return unmapped_values(self.api, mapping, mapping_path)

    def currency_rates(self) -> pd.DataFrame | None:
        """None: valuesync does not read HubSpot's currency settings (its account-level
        currencies API is not part of the CRM object APIs this connector speaks), so
        `rates.kind: crm` is refused by `check` and `run` for HubSpot."""
        return None

    # -- pull --------------------------------------------------------------------------
    def pull(
        self,
        obj: str,
        *,
        fields: Sequence[str] = (),
        since: Cursor | None = None,
        full: bool = False,
    ) -> Iterator[Page]:
        """Pages of canonical rows: incremental search since `since`, else a full read.

        `full=True` (or no cursor) lists every record, then the archived ones as
        `deleted_ids`; its final page carries the cursor to resume incrementally.
        """
        table, om = self._table(obj)
        puller = Puller(
            self.api,
            om.object,
            self._properties(om, fields),
            modified_property(om.object, om.cursor),
        )
        puller.window_target = self.connection.search_window_target
        self.last_windows = puller.windows  # (start ms, end ms, total) per search window
        if since is None or full:
            started = datetime.now(UTC)
            # a full read takes each record's companies embedded in the list pages (one
            # call per 100 records instead of one more per 1,000)
            embed = COMPANIES if self._needs_account(table, om) else ""
            pages = ((r, None) for r in puller.list_all(embed=embed))
            yield from self._framed(table, om, puller, pages)
            resume = Cursor(started - timedelta(seconds=self.connection.cursor_overlap_seconds))
            archived = [r.id for page in puller.list_all(archived=True) for r in page]
            yield Page(table, to_frame(table, om, [], puller.wanted), resume, tuple(archived))
            return
        start = window_start(since, self.connection.cursor_overlap_seconds)
        end = datetime.now(UTC)
        last = since
        for page in self._framed(table, om, puller, puller.search(start, end)):
            last = page.cursor or last
            yield page
        # Every window up to `end` was read: a page with no rows moves the cursor there, so
        # the next pull's overlap reaches back from now, not from the last change however
        # long ago (else each pull re-reads all that changed in the overlap before it).
        if last is None or last.modified_at < end:
            yield Page(table, to_frame(table, om, [], puller.wanted), Cursor(end), ())

    def pull_associations(self, obj: str) -> Iterator[Page]:
        """Every record's company (key, account_id), read from the company side, all pages.

        Association changes do not bump hs_lastmodifieddate, so the orchestrator runs
        this on `cadence.associations_refresh_hours`, independent of object cursors.
        """
        table, om = self._table(obj)
        key = TABLES[table].key
        companies = self._table("accounts")[1].object
        puller = Puller(self.api, companies, ["hs_object_id"], modified_property(companies))
        by_company: dict[str, list[tuple[str, bool]]] = {}
        ids = (r.id for page in puller.list_all() for r in page)
        for chunk in chunks(ids, ASSOCIATION_INPUTS):
            by_company.update(read_associations(self.api, companies, om.object, chunk))
        by_child = companies_by_child(by_company)
        children = list(by_child)
        for start in range(0, max(len(children), 1), ASSOCIATION_INPUTS):
            part = children[start : start + ASSOCIATION_INPUTS]
            frame = pd.DataFrame(
                {key: part, ASSOCIATED_ACCOUNT: [by_child[c] for c in part]}, dtype="string"
            )
            yield Page(table, frame, None)

    def reconciliation_due(self, last_full: datetime | None, now: datetime) -> bool:
        """True when a full reconciliation read is due (or never ran)."""
        hours = self.connection.cadence.full_reconciliation_hours
        return last_full is None or now - last_full >= timedelta(hours=hours)

    def associations_due(self, last_refresh: datetime | None, now: datetime) -> bool:
        """True when the full association refresh is due (or never ran)."""
        hours = self.connection.cadence.associations_refresh_hours
        return last_refresh is None or now - last_refresh >= timedelta(hours=hours)

    def _framed(
        self,
        table: str,
        om: ObjectMapping,
        puller: Puller,
        pages: Iterator[tuple[list[Record], Cursor | None]],
    ) -> Iterator[Page]:
        needs_account = self._needs_account(table, om)
        buffer: list[Record] = []
        cursor: Cursor | None = None
        for records, page_cursor in pages:
            buffer += records
            cursor = page_cursor if page_cursor is not None else cursor
            if page_cursor is None:  # a full read: frames of FULL_READ_FRAME rows
                flush = len(buffer) >= FULL_READ_FRAME
            else:  # search pages: each one (with its cursor), or enough for one batch read
                flush = not needs_account or len(buffer) >= ASSOCIATION_INPUTS - 200
            if flush:
                yield self._page(table, om, puller, buffer, cursor, needs_account)
                buffer, cursor = [], None
        if buffer or cursor is not None:
            yield self._page(table, om, puller, buffer, cursor, needs_account)

    @staticmethod
    def _needs_account(table: str, om: ObjectMapping) -> bool:
        """True when the table's account_id comes from the record's company association."""
        return (
            ASSOCIATED_ACCOUNT in TABLES[table].column_names
            and ASSOCIATED_ACCOUNT not in om.fields
            and om.object != COMPANIES
        )

    def _page(
        self,
        table: str,
        om: ObjectMapping,
        puller: Puller,
        records: list[Record],
        cursor: Cursor | None,
        needs_account: bool,
    ) -> Page:
        if needs_account:
            return self._with_accounts(table, om, puller, records, cursor)
        frame, rejected = checked_frame(table, om, records, puller.wanted)
        return Page(table, frame, cursor, (), rejected if len(rejected) else None)

    def _with_accounts(
        self,
        table: str,
        om: ObjectMapping,
        puller: Puller,
        records: list[Record],
        cursor: Cursor | None,
    ) -> Page:
        links: dict[str, Sequence[tuple[str, bool]]] = {
            r.id: r.companies for r in records if r.companies is not None
        }
        unknown = [r.id for r in records if r.companies is None]  # searched, or paged links
        if unknown:
            links.update(read_associations(self.api, om.object, COMPANIES, unknown))
        accounts = {rid: primary_company(ls) for rid, ls in links.items()}
        frame, rejected = checked_frame(table, om, records, puller.wanted, accounts)
        return Page(table, frame, cursor, (), rejected if len(rejected) else None)

    # -- push --------------------------------------------------------------------------
    def write_chunk(self, records: int) -> int:
        """One batch update (100 records), or the whole push as one import from the
        connection's `import_threshold` on."""
        if records >= self.connection.import_threshold:
            return max(records, 1)
        return self.WRITE_BATCH

    def write_calls(self, records: int) -> int:
        """ceil(records / 100) batch updates, or one import's calls."""
        if records >= self.connection.import_threshold:
            return self.IMPORT_CALLS
        return math.ceil(records / self.WRITE_BATCH)

    def push(
        self, obj: str, changes: pd.DataFrame, *, current: pd.DataFrame | None = None
    ) -> WriteResult:
        """Write changed output values; NA cells are 'unchanged' and never sent.

        `changes` holds the key column (account_id / opportunity_id, or `id`) and output
        columns (engine names such as `quadrant`, or the mapped HubSpot names). With
        `current` (same shape, the values HubSpot holds), equal values are dropped too.
        Costs ceil(changed records / 100) calls, or one import (a handful of calls) from
        the connection's `import_threshold` changed records on; nothing changed costs none.
        """
        table, out = self._output(obj)
        ids, columns = self._columns(table, out, changes)
        before: dict[str, dict[str, str]] = {}
        if current is not None and len(current):
            cur_ids, cur_columns = self._columns(table, out, current)
            for rid, props in ((i.id, i.properties) for i in inputs_from(cur_ids, cur_columns, {})):
                before[rid] = props
        inputs = inputs_from(ids, columns, before)
        if len(inputs) >= self.connection.import_threshold:
            return Importer(self.api, out.object, polling=self.polling).push(inputs)
        return Pusher(self.api, out.object).push(inputs)

    def _columns(
        self, table: str, out: OutputMapping, frame: pd.DataFrame
    ) -> tuple[list[Any], dict[str, list[Any]]]:
        key = next(
            (k for k in (TABLES[table].key, "id", "hs_object_id") if k in frame.columns), None
        )
        if key is None:
            raise ConfigError(
                f"push {table}: the changes have no id column; expected {TABLES[table].key} or id"
            )
        allowed = {**out.fields, **{v: v for v in out.fields.values()}}
        unknown = [c for c in frame.columns if c != key and c not in allowed]
        if unknown:
            raise ConfigError(
                f"push {table}: column(s) {', '.join(map(str, unknown))} are not output fields of "
                f"outputs.{table}; allowed: {', '.join(sorted(out.fields))}"
            )
        columns = {allowed[c]: frame[c].tolist() for c in frame.columns if c != key}
        return frame[key].tolist(), columns

    # -- provision ---------------------------------------------------------------------
    def provision(self, obj: str, fields: Sequence[FieldSpec]) -> ProvisionResult:
        """Create the valuesync group and output properties; add missing options."""
        return Provisioner(self.api, self._object_type(obj)).provision(fields)

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> TaskResult:
        """Tasks associated with companies and assigned to their owners, 100 per call."""
        return create_tasks(self.api, tasks)

    def owner_emails(self, owner_ids: Sequence[str]) -> dict[str, str]:
        """E-mail addresses of the active owners among `owner_ids` (owners API)."""
        return owner_emails(self.api, owner_ids)

    # -- names -------------------------------------------------------------------------
    def _table(self, obj: str) -> tuple[str, ObjectMapping]:
        for table, om in self.mapping.objects.items():
            if om is not None and obj in (table, om.object):
                return table, om
        mapped = ", ".join(
            f"{t} ({om.object})" for t, om in self.mapping.objects.items() if om is not None
        )
        raise ConfigError(f"'{obj}' is not mapped in the HubSpot mapping; mapped: {mapped}")

    def _output(self, obj: str) -> tuple[str, OutputMapping]:
        for table, out in self.mapping.outputs.items():
            if obj in (table, out.object):
                return table, out
        raise ConfigError(
            f"'{obj}' has no outputs in the HubSpot mapping; "
            f"outputs: {', '.join(self.mapping.outputs)}"
        )

    def _object_type(self, obj: str) -> str:
        om = self.mapping.objects.get(obj)
        out = {str(t): o.object for t, o in self.mapping.outputs.items()}
        return om.object if om is not None else out.get(obj, obj)

    @staticmethod
    def _properties(om: ObjectMapping, fields: Sequence[str]) -> list[str]:
        extra = [om.fields.get(f, f) for f in fields]
        return list(dict.fromkeys([*om.fields.values(), *extra]))
