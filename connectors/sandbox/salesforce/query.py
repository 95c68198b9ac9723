"""REST `query` / `queryAll` with server-side cursors and `nextRecordsUrl` paging.

Wire facts (docs/crm-wire.md §A4, resources_query.htm, headers_queryoptions.htm):
- `GET /services/data/vXX.X/query/?q=` (and `/queryAll/`), with or without the slash;
  more pages at `…/query/{cursorId}-{offset}`; queryAll's next URLs still say `/query/`.
- `totalSize` is the whole result; `nextRecordsUrl` is server-relative and absent on
  the last page; `Sforce-Query-Options: batchSize=N` is clamped to 200..2000.
- The result is a snapshot of ids taken when the query runs; a cursor idle for 15
  minutes answers 400 INVALID_QUERY_LOCATOR, and a user holds at most 10 open cursors
  (the oldest is released, as "Query cursors" in the SOQL limits describe).
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.org import SalesforceOrg, sf_value
from connectors.sandbox.salesforce.soql import CompiledQuery, compile_query
from connectors.sandbox.salesforce.soql_lex import SoqlError
from connectors.sandbox.store import FieldDef, ObjectTable, Record

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
CURSOR_IDLE = timedelta(minutes=15)
MAX_OPEN_CURSORS = 10
_VERSION = re.compile(r"\d{2}\.\d")
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_ALNUM = string.ascii_letters + string.digits


@dataclass
class Cursor:
    """The snapshot behind one query's `nextRecordsUrl`s."""

    id: str
    table: ObjectTable
    columns: list[FieldDef]
    ids: list[str]
    batch: int
    last_used: datetime


class CursorStore:
    """Open query cursors, least recently used first; expired or evicted ones are gone."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(
        self, table: ObjectTable, columns: list[FieldDef], ids: list[str], batch: int
    ) -> Cursor:
        cursor_id = "01g" + "".join(secrets.choice(_ALNUM) for _ in range(15))
        cur = Cursor(cursor_id, table, columns, ids, batch, self._now())
        with self._lock:
            self._cursors[cursor_id] = cur
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
        return cur

    def get(self, cursor_id: str) -> Cursor | None:
        now = self._now()
        with self._lock:
            cur = self._cursors.get(cursor_id)
            if cur is None:
                return None
            if now - cur.last_used > CURSOR_IDLE:
                del self._cursors[cursor_id]
                return None
            cur.last_used = now
            self._cursors.move_to_end(cursor_id)
            return cur

    def close(self, cursor_id: str) -> None:
        with self._lock:
            self._cursors.pop(cursor_id, None)


def batch_size(request: Request, default: int = DEFAULT_BATCH) -> int:
    """The page size asked for in `Sforce-Query-Options`, clamped as Salesforce does."""
    m = _BATCH.search(request.headers.get("sforce-query-options", ""))
    if m is None:
        return default
    return max(MIN_BATCH, min(MAX_BATCH, int(m.group(1))))


_DT_CACHE: dict[datetime, str] = {}
_DT_CACHE_MAX = 500_000


def fmt_datetime(v: datetime) -> str:
    """`sf_datetime` with a memo: formatting is the hot spot when serving large pages.

    Stamps repeat a lot (second-resolution clock, SystemModstamp == LastModifiedDate) and a
    datetime caches its own hash, so a dict lookup is ~50x cheaper than formatting.
    """
    s = _DT_CACHE.get(v)
    if s is None:
        if len(_DT_CACHE) >= _DT_CACHE_MAX:
            _DT_CACHE.clear()
        off = v.utcoffset()
        u = v - off if off else v
        s = _DT_CACHE[v] = u.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+0000"
    return s


def column_converters(columns: list[FieldDef]) -> list[tuple[str, Callable[[Any], Any] | None]]:
    """(field name, value converter or None) per column; only dates need converting for JSON."""
    out: list[tuple[str, Callable[[Any], Any] | None]] = []
    for f in columns:
        conv = fmt_datetime if f.type == "datetime" else sf_value if f.type == "date" else None
        out.append((f.name, conv))
    return out


def render_records(
    org: SalesforceOrg, table: ObjectTable, columns: list[FieldDef], rows: list[Record]
) -> list[dict[str, Any]]:
    """Records as the REST API shows them: `attributes` first, then the columns in order."""
    obj = table.name
    prefix = org.record_url(obj, "")
    cols = column_converters(columns)
    out: list[dict[str, Any]] = []
    for r in rows:
        rec: dict[str, Any] = {"attributes": {"type": obj, "url": prefix + r["_id"]}}
        for name, conv in cols:
            v = r.get(name)
            if conv is not None and v is not None and not isinstance(v, str):
                v = conv(v)  # a str is served as stored (a hostile value a test put there)
            rec[name] = v
        out.append(rec)
    return out


class QueryRoutes:
    """The handlers, sharing one cursor store per org."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self.cursors = CursorStore(org.store.clock.now)

    async def query(self, request: Request) -> Response:
        return self._start(request, include_deleted=False)

    async def query_all(self, request: Request) -> Response:
        return self._start(request, include_deleted=True)

    def _start(self, request: Request, *, include_deleted: bool) -> Response:
        org = self.org
        denied = org.guard(request) or self._check_version(request)
        if denied is not None:
            return denied
        text = request.query_params.get("q", "")
        try:
            cq: CompiledQuery = compile_query(org.store, text)
        except SoqlError as exc:
            return org.error(exc.status, exc.code, exc.message)
        rows = cq.run(org.store, include_deleted=include_deleted)
        if cq.count_only:
            return org.json({"totalSize": len(rows), "done": True, "records": []})
        size = batch_size(request)
        if len(rows) <= size:
            records = render_records(org, cq.table, cq.columns, rows)
            return org.json({"totalSize": len(rows), "done": True, "records": records})
        cur = self.cursors.open(cq.table, cq.columns, [r["_id"] for r in rows], size)
        return self._page(request, cur, 0, rows[:size])

    async def more(self, request: Request) -> Response:
        org = self.org
        denied = org.guard(request) or self._check_version(request)
        if denied is not None:
            return denied
        cursor_id, _, offset_text = request.path_params["locator"].rpartition("-")
        cur = self.cursors.get(cursor_id) if offset_text.isdigit() else None
        offset = int(offset_text) if cur is not None else -1
        if cur is None or not 0 <= offset < len(cur.ids):
            return org.error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        size = batch_size(request, cur.batch)
        records = cur.table.records
        rows = [r for rid in cur.ids[offset : offset + size] if (r := records.get(rid)) is not None]
        return self._page(request, cur, offset, rows, size)

    def _page(
        self,
        request: Request,
        cur: Cursor,
        offset: int,
        rows: list[Record],
        size: int | None = None,
    ) -> Response:
        size = size or cur.batch
        body: dict[str, Any] = {"totalSize": len(cur.ids), "done": True}
        nxt = offset + size
        if nxt < len(cur.ids):
            version = request.path_params["version"]
            body["done"] = False
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cur.id}-{nxt}"
        else:
            self.cursors.close(cur.id)
        body["records"] = render_records(self.org, cur.table, cur.columns, rows)
        return self.org.json(body)

    def _check_version(self, request: Request) -> Response | None:
        if _VERSION.fullmatch(request.path_params["version"]):
            return None
        return self.org.error(404, "NOT_FOUND", "The requested resource does not exist")


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """query, queryAll and their locator pages, with and without a trailing slash."""
    h = QueryRoutes(org)
    base = "/services/data/v{version}"
    out: list[BaseRoute] = []
    for resource, handler in (("query", h.query), ("queryAll", h.query_all)):
        out.append(Route(f"{base}/{resource}", handler, methods=["GET"]))
        out.append(Route(f"{base}/{resource}/", handler, methods=["GET"]))
        out.append(Route(f"{base}/{resource}/{{locator}}", h.more, methods=["GET"]))
    return out
