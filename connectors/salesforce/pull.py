"""Incremental pulls: COUNT() first, then REST query or Bulk API 2.0, page by page.

The cursor is (SystemModstamp, Id). A pull reads `cursor >= since - overlap` in the order
(cursor, Id), through queryAll so deletions come back too (`IsDeleted = true`,
docs/crm-wire.md §A4). `>=` plus the overlap means records that share the last timestamp,
or that committed late with an older stamp, are read again rather than lost; the
mirror upserts, so a re-read costs nothing. A yielded Page carries the cursor up to which
everything has been read, or None when that is not known yet, so the orchestrator can
stop after any page and resume from the last cursor it stored.

REST asks Salesforce for that order (`ORDER BY cursor, Id`): its pages are yielded as they
come, each with its last row's cursor, and a query whose locator expired resumes from the
last page's cursor. A Bulk API 2.0 job is sent without ORDER BY (which would turn off PK
chunking on exactly the large reads Bulk is for, docs/crm-wire.md §A7) and comes back in
no order: each chunk is yielded as a page as soon as it arrives, without a cursor, and the
job's last page carries the maximum (cursor, Id) of all its rows.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from connectors import quarantine as q
from connectors.base import Cursor, ObjectSchema, Page
from connectors.salesforce import soql
from connectors.salesforce.bulk import query_chunks
from connectors.salesforce.client import SalesforceApi
from connectors.salesforce.frames import (
    Column,
    canonical,
    checked_frame,
    from_csv,
    from_rest,
    unmapped,
)
from mappings.canonical import TABLES
from mappings.crm import OUTPUT_COLUMNS, CrmMapping
from mappings.errors import ConfigError, ConfigProblem, FatalApiError

log = logging.getLogger(__name__)
MAX_LOCATOR_RESTARTS = 3


OVERRIDE_COLUMN = "quadrant_override"
"""Frame column of the mapping's manual-override field."""
_ABSENT_DTYPE = {
    "number": "Float64", "currency": "Float64", "datetime": "datetime64[us, UTC]",
    "checkbox": "boolean",
}  # fmt: skip


@dataclass(frozen=True)
class PullPlan:
    """What to read from one object and how to name it in the frame."""

    table: str
    schema: ObjectSchema
    columns: tuple[Column, ...]
    cursor_field: str
    absent: tuple[tuple[str, str], ...] = ()
    """(column, dtype) of output fields not (yet) in the org: all-missing columns."""

    @property
    def obj(self) -> str:
        return self.schema.name

    @property
    def has_deleted(self) -> bool:
        return self.schema.get("IsDeleted") is not None

    def select_fields(self) -> list[str]:
        base = ["Id", self.cursor_field] + (["IsDeleted"] if self.has_deleted else [])
        names = base + [c.field for c in self.columns]
        return list(dict.fromkeys(soql.field_name(self.schema, n) for n in names))


def build_plan(
    mapping: CrmMapping, path: Path, table: str, schema: ObjectSchema, fields: Sequence[str]
) -> PullPlan:
    """Which fields to read for `fields` (canonical, output, override or raw CRM names).

    Empty `fields` = every mapped column, the outputs and the override. An output field
    the org does not have yet (not provisioned) becomes an all-missing column; a mapped
    read field the org lacks is a ConfigError naming the mapping key. Field names are
    case-insensitive in Salesforce: each is read under describe's spelling (a mapping saying
    `name` reads `Name`), since records come back keyed by that spelling.
    """
    om = mapping.objects[table]
    assert om is not None
    out = mapping.outputs.get(table)  # type: ignore[call-overload]

    def spelled(name: str) -> str:
        info = schema.get(name)
        return info.name if info is not None else name

    read = {col: Column(spelled(f), col, om.values.get(col)) for col, f in om.fields.items()}
    outputs: dict[str, tuple[Column, str]] = {}
    if out is not None:
        outputs = {
            c: (Column(spelled(f), c), OUTPUT_COLUMNS.get(c, "picklist"))
            for c, f in out.fields.items()
        }
        if out.override_field:
            override = Column(spelled(out.override_field), OVERRIDE_COLUMN)
            outputs[OVERRIDE_COLUMN] = (override, "picklist")
    wanted = list(dict.fromkeys(fields or [*read, *outputs]))
    key = TABLES[table].key
    wanted = [key] + [w for w in wanted if w != key]
    columns: list[Column] = []
    absent: list[tuple[str, str]] = []
    problems: list[ConfigProblem] = []
    for name in wanted:
        col = read.get(name) or (outputs[name][0] if name in outputs else Column(name, name))
        if schema.get(col.field) is not None:
            columns.append(col)
        elif name in outputs:
            absent.append((name, _ABSENT_DTYPE.get(outputs[name][1], "string")))
        else:
            where = f"objects.{table}.fields.{name}" if name in read else f"pull fields '{name}'"
            problems.append(
                ConfigProblem(
                    str(path), where, f"'{col.field}' is not a readable field of {schema.name}"
                )
            )
    if problems:
        raise ConfigError(problems)
    cursor = spelled(om.cursor or "SystemModstamp")
    return PullPlan(table, schema, tuple(columns), cursor, tuple(absent))


def _where(plan: PullPlan, since: Cursor | None, overlap: float) -> list[soql.Where]:
    if since is None:
        return []
    start = since.modified_at - timedelta(seconds=overlap)
    return [soql.Where(plan.cursor_field, ">=", start)]


def _page(plan: PullPlan, raw: pd.DataFrame, fields: Sequence[str], before: Cursor | None) -> Page:
    """The checked page of `raw` rows; its cursor is the rows' maximum (cursor, Id), or
    `before` when no row has a stamp."""
    deleted_raw = raw["IsDeleted"] if plan.has_deleted and "IsDeleted" in raw.columns else None
    skip = (
        None
        if deleted_raw is None
        else deleted_raw.astype(str).str.lower().eq("true").to_numpy(dtype=bool)
    )
    frame, rejected = checked_frame(raw, plan.schema, fields, skip)
    rejected = q.combine([rejected, unmapped(frame, plan.columns, plan.table, skip)])
    cursor = _max_cursor(frame, soql.field_name(plan.schema, plan.cursor_field)) or before
    deleted = frame["IsDeleted"].fillna(False).astype(bool) if plan.has_deleted else None
    live = frame if deleted is None else frame[~deleted.to_numpy()].reset_index(drop=True)
    gone = () if deleted is None else tuple(frame.loc[deleted.to_numpy(), "Id"].astype(str))
    live = q.without(live, "Id", rejected)
    records = canonical(live, plan.columns)
    for name, dtype in plan.absent:
        records[name] = pd.Series([None] * len(records), dtype=object).astype(dtype)
    return Page(plan.table, records, cursor, gone, rejected if len(rejected) else None)


def _max_cursor(frame: pd.DataFrame, cursor_col: str) -> Cursor | None:
    """The largest (stamp, Id) of `frame`, Ids compared as SOQL orders them (code points);
    None when no row has a stamp."""
    if frame.empty:
        return None
    stamps = frame[cursor_col]
    latest = stamps.max()
    if pd.isna(latest):
        return None
    ids = frame.loc[(stamps == latest).fillna(False).to_numpy(dtype=bool), "Id"]
    return Cursor(pd.Timestamp(latest).to_pydatetime(), max(ids.astype(str)))


def _later(a: Cursor | None, b: Cursor | None) -> Cursor | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=lambda c: (c.modified_at, c.last_id))


def count_rows(api: SalesforceApi, plan: PullPlan, where: list[soql.Where]) -> int:
    """`SELECT COUNT()` over queryAll: the size estimate (one `count` call)."""
    text = soql.count(plan.schema, where)

    def run(sf: Any) -> Any:
        with api.transport.calling("count"):
            return sf.query(text, include_deleted=plan.has_deleted)

    answer = api.call(f"count {plan.obj}", run)
    total = answer.get("totalSize") if isinstance(answer, dict) else None
    if not isinstance(total, int):
        raise FatalApiError(
            f"the COUNT() query on {plan.obj} answered without a totalSize; treat it as lost",
            system="salesforce", operation="count", code="BAD_RESPONSE_BODY",
        )  # fmt: skip
    return total


def pull_pages(
    api: SalesforceApi,
    plan: PullPlan,
    since: Cursor | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Page]:
    """Pages of `plan.obj` changed since `since`, REST or Bulk by the COUNT() estimate."""
    conn = api.conn
    where = _where(plan, since, conn.overlap_seconds)
    total = count_rows(api, plan, where)
    # The org's time when it counted, one second back for the Date header's resolution:
    # everything stamped before it that will ever be visible is read now or within the
    # next pull's overlap.
    asked = api.transport.server_time
    high = Cursor(asked - timedelta(seconds=1), "") if asked is not None else None
    if total == 0:
        yield from _caught_up(plan, since, high)
        return
    fields = plan.select_fields()
    use_bulk = total >= conn.bulk_query_threshold
    empty = pd.DataFrame()
    if use_bulk:
        needed = 2 + math.ceil(total / conn.bulk_query_page)
    else:
        needed = math.ceil(total / conn.rest_batch_size)
    api.transport.require(needed, f"pull of {plan.obj} ({total} rows)")
    log.info(
        "pulling %s: about %d rows via %s", plan.obj, total, "Bulk 2.0" if use_bulk else "REST"
    )
    if use_bulk:
        text = soql.select(plan.schema, fields, where)  # no ORDER BY: see _bulk_pages
        pages = _bulk_pages(api, plan, text, fields, since, total, sleep)
    else:
        text = soql.select(plan.schema, fields, where, order_by=[plan.cursor_field, "Id"])
        pages = _rest_pages(api, plan, text, fields, since, total)
    for page in pages:
        since, empty = page.cursor or since, page.records.iloc[:0]
        yield page
    yield from _caught_up(plan, since, high, empty)


def _bulk_pages(
    api: SalesforceApi, plan: PullPlan, text: str, fields: list[str], since: Cursor | None,
    total: int, sleep: Callable[[float], None],
) -> Iterator[Page]:  # fmt: skip
    """Pages of a Bulk 2.0 job sent without ORDER BY, one per chunk, as the chunks arrive.

    The chunks come in no order, so no cursor is safe before the last one is read: a row
    with an older stamp may still come. So every page but the last has no cursor (it is
    stored, the table's cursor stays where it was) and the last carries the job's maximum
    (cursor, Id). A run stopped mid-job reads the job again from the old cursor; the mirror
    upserts, so nothing is counted twice. One chunk is held back to know which is last.
    Why no ORDER BY: docs/crm-wire.md §A7.
    """
    size = api.conn.bulk_query_page
    cap = math.ceil(total / size) + 10
    held: Page | None = None
    latest = since
    for chunk in query_chunks(api, plan.obj, text, page_size=size, page_cap=cap, sleep=sleep):
        page = _page(plan, from_csv(chunk, fields), fields, None)
        latest = _later(latest, page.cursor)
        if held is not None:
            yield held
        held = replace(page, cursor=None)
    if held is None:
        held = _page(plan, from_csv("", fields), fields, None)
    yield replace(held, cursor=latest)


def _caught_up(
    plan: PullPlan, last: Cursor | None, high: Cursor | None, empty: pd.DataFrame | None = None
) -> Iterator[Page]:
    """After a complete pull, a page with no rows whose cursor is the time the org counted
    (when that is later than the last row read), so the next pull's overlap reaches back
    from now, not from the last change however long ago it was: otherwise every pull
    re-reads whatever was written in the overlap before the last change (after a run wrote
    400k records, all of them, run after run, until someone edits a record)."""
    if high is None or (last is not None and last.modified_at >= high.modified_at):
        return
    yield Page(plan.table, pd.DataFrame() if empty is None else empty, high, ())


def _query(sf: Any, text: str, deleted: bool, headers: dict[str, str]) -> Any:
    return sf.query(text, include_deleted=deleted, headers=headers)


def _more(sf: Any, url: str, headers: dict[str, str]) -> Any:
    return sf.query_more(url, identifier_is_url=True, headers=headers)


def _rest_pages(
    api: SalesforceApi, plan: PullPlan, text: str, fields: list[str], since: Cursor | None,
    total: int,
) -> Iterator[Page]:  # fmt: skip
    """REST query + query_more; restarts from the last cursor if the locator expires."""
    conn = api.conn
    headers = {"Sforce-Query-Options": f"batchSize={conn.rest_batch_size}"}
    cap = math.ceil(total / 200) + 10
    restarts = 0
    result = api.call(
        f"query {plan.obj}",
        lambda sf: sf.query(text, include_deleted=plan.has_deleted, headers=headers),
    )
    seen: set[str] = set()
    for _ in range(cap):
        page = _page(plan, from_rest(result.get("records", []), fields), fields, since)
        since = page.cursor
        yield page
        next_url = result.get("nextRecordsUrl")
        if result.get("done", True) or not next_url:
            return
        if next_url in seen:
            raise FatalApiError(
                f"query on {plan.obj} repeated the page {next_url}; stopped to avoid a loop",
                system="salesforce",
                operation="query_more",
            )
        seen.add(next_url)
        try:
            result = api.call(
                f"query_more {plan.obj}",
                partial(_more, url=next_url, headers=headers),
            )
        except FatalApiError as exc:
            if exc.code != "INVALID_QUERY_LOCATOR" or restarts >= MAX_LOCATOR_RESTARTS:
                raise
            # The query cursor expired (~15 min idle): re-query from the last page's cursor.
            restarts += 1
            log.warning("query locator on %s expired; resuming from the last cursor", plan.obj)
            where = [soql.Where(plan.cursor_field, ">=", since.modified_at)] if since else []
            again = soql.select(plan.schema, fields, where, order_by=[plan.cursor_field, "Id"])
            result = api.call(
                f"query {plan.obj}",
                partial(_query, text=again, deleted=plan.has_deleted, headers=headers),
            )
    raise FatalApiError(
        f"query on {plan.obj} returned more than {cap} pages; stopped to avoid a loop",
        system="salesforce",
        operation="query_more",
    )
