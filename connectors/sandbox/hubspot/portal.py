"""The state of one sandbox HubSpot portal and the helpers every route shares.

Routes live in sibling modules (objects, batch, search, associations, properties);
each exposes `routes(portal) -> list[BaseRoute]`. This module holds what they share:
the token check (§B1), the rate-limit buckets and headers (§B9), call counters, the
error body (§B2) and the record shape (§B4). Section numbers refer to
docs/crm-wire.md, part B.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from connectors.sandbox.faults import FaultController
from connectors.sandbox.hubspot.schema import PortalData, portal_data, resolve_object_type
from connectors.sandbox.hubspot.stamp_index import StampIndex
from connectors.sandbox.hubspot.values import created_at, iso_ms, record_value, to_wire
from connectors.sandbox.store import ObjectTable, Record, Store

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
RATE_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}
NOMINAL_TEN_SECOND_MAX = 190
"""What X-HubSpot-RateLimit-Max says when the sandbox enforces no limit (HubSpot Pro)."""
ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")
DEFAULT_PROPERTIES = {
    "companies": ("name", "domain", *ALWAYS),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", *ALWAYS),
    "tickets": (
        "subject",
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        *ALWAYS,
    ),  # fmt: skip
    "invoices": ("hs_createdate", *ALWAYS),
}
"""Properties returned when a request names none (HubSpot's per-object defaults)."""


def correlation_id() -> str:
    return str(uuid.uuid4())


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)  # compact, like HubSpot; 10x json.dumps on list pages


@dataclass
class HubSpotPortal:
    """One portal: records, associations, property groups, quotas and fault hooks."""

    store: Store
    faults: FaultController
    token: str = "pat-sandbox-0000"
    base_url: str = ""
    """Set by the server once it knows its port, e.g. http://127.0.0.1:54321."""
    omit_zero_ms: bool = False
    """Emit `...:00Z`, not `...:00.000Z`, when milliseconds are zero (HubSpot does both, §B12)."""
    inline_association_limit: int = 500
    """Entries per associated type embedded in a record (list/get `associations=`); more
    come with `paging` (the schema's CollectionResponseAssociatedId has it). The limit is
    the sandbox's choice, HubSpot's is undocumented: clients must follow `paging`."""

    def __post_init__(self) -> None:
        self.data: PortalData = portal_data(self.store)
        self.calls: Counter[str] = Counter()
        """Authenticated calls by kind (list, read, batch_read, batch_update, search, ...)."""
        self.daily_used = 0
        self.write_seq = 0
        """Bumped on every write through the API (search caches key on it)."""
        self._id_cache: dict[str, tuple[int, list[int]]] = {}
        self._stamp_indexes: dict[str, StampIndex] = {}
        self._archived_cache: dict[str, tuple[tuple[int, int], list[int]]] = {}
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._lock = threading.Lock()

    # --- objects ----------------------------------------------------------------------
    def table(self, object_type: str) -> ObjectTable | None:
        name = resolve_object_type(object_type)
        return self.store.tables.get(name) if name else None

    def sorted_ids(self, table: ObjectTable) -> list[int]:
        """All ids of a table as sorted ints (cached; extended when the table grows)."""
        n = len(table.records)
        cached = self._id_cache.get(table.name)
        if cached is not None and cached[0] == n:
            return cached[1]
        ids: list[int] | None = None
        if cached is not None and cached[0] < n:
            # records are only ever added (archiving is a flag), at the end of the dict
            new = [int(i) for i in islice(reversed(table.records), n - cached[0])][::-1]
            seq = [*cached[1][-1:], *new]
            if all(a < b for a, b in zip(seq, seq[1:], strict=False)):
                ids = cached[1] + new
        if ids is None:
            ids = sorted(int(i) for i in table.records)
        self._id_cache[table.name] = (n, ids)
        return ids

    def archived_ids(self, table: ObjectTable) -> list[int]:
        """The archived ids of a table as sorted ints (cached until a write or growth), so
        pages of the archived list do not each walk past every live record."""
        key = (len(table.records), self.write_seq)
        cached = self._archived_cache.get(table.name)
        if cached is None or cached[0] != key:
            ids = sorted(int(i) for i, r in list(table.records.items()) if r.get("_archived"))
            cached = self._archived_cache[table.name] = (key, ids)
        return cached[1]

    def stamp_index(self, table: ObjectTable) -> StampIndex:
        """The table's (hs_lastmodifieddate, id) index, rebuilt when out of step.

        Call with `store.lock` held.
        """
        index = self._stamp_indexes.get(table.name)
        if index is None or not index.in_step(table):
            index = self._stamp_indexes[table.name] = StampIndex(table)
        return index

    def wrote(self, table: ObjectTable, rec: Record, *, created: bool = False) -> None:
        """One record was written through the API: re-file it in the index, bump write_seq.

        Call with `store.lock` held, after the write.
        """
        index = self._stamp_indexes.get(table.name)
        if index is not None and not index.stale:
            if created and index.size == len(table.records) - 1:
                index.size += 1
            if index.size == len(table.records):
                index.refile(rec)
        with self._lock:
            self.write_seq += 1

    def touched(self) -> None:
        """Records changed outside the API (e.g. a test edited the store): drop derived state."""
        with self._lock:
            self.write_seq += 1
            for index in self._stamp_indexes.values():
                index.stale = True

    def links_changed(self) -> None:
        """Associations changed (no record stamp moves, so the stamp index stays valid)."""
        with self._lock:
            self.write_seq += 1

    # --- auth and limits --------------------------------------------------------------
    def guard(self, request: Request, kind: str) -> Response | None:
        """None when the call may proceed; else the 401 or 429 HubSpot would send."""
        auth = request.headers.get("authorization", "")
        if not (auth.lower().startswith("bearer ") and auth[7:].strip() == self.token):
            return self.error(
                401, "INVALID_AUTHENTICATION", AUTH_MESSAGE, search=True, count_headers=False
            )
        policy = self._take_quota(kind == "search")
        if policy:
            return self.rate_limited(policy, search=kind == "search")
        with self._lock:
            self.calls[kind] += 1
        return None

    def _take_quota(self, search: bool) -> str | None:
        """Record one call against the buckets; the policy name of the bucket it overflows."""
        p = self.faults.profile
        now = time.monotonic()
        with self._lock:
            if p.hs_daily_limit and self.daily_used >= p.hs_daily_limit:
                return "DAILY"
            # Search has its own per-second bucket (§B7) and does not spend the 10 s one.
            window, span, limit, policy = (
                (self._search_window, 1.0, p.hs_search_per_second, "SECONDLY")
                if search
                else (self._window, 10.0, p.hs_ten_second_limit, "TEN_SECONDLY_ROLLING")
            )
            while window and window[0] <= now - span:
                window.popleft()
            if limit and len(window) >= limit:
                return policy
            window.append(now)
            self.daily_used += 1
        return None

    def rate_headers(self) -> dict[str, str]:
        """X-HubSpot-RateLimit-* headers for non-search responses (§B9)."""
        p = self.faults.profile
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - 10.0:
                self._window.popleft()
            used = len(self._window)
            daily = p.hs_daily_limit or 0
            maximum = p.hs_ten_second_limit or NOMINAL_TEN_SECOND_MAX
            return {
                "X-HubSpot-RateLimit-Daily": str(daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self.daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(maximum),
                "X-HubSpot-RateLimit-Remaining": str(max(0, maximum - used)),
            }

    def rate_limited(self, policy: str, *, search: bool) -> Response:
        body = {
            "status": "error",
            "message": RATE_MESSAGES[policy],
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "requestId": correlation_id(),
        }
        with self._lock:
            self.calls["rate_limited"] += 1
        return self.json(body, 429, search=search)

    # --- responses --------------------------------------------------------------------
    def json(
        self, body: Any, status: int = 200, *, search: bool = False, count_headers: bool = True
    ) -> Response:
        """A JSON response with the correlation id and, except on search, rate-limit headers."""
        headers = {"X-HubSpot-Correlation-Id": correlation_id()}
        if not search and count_headers:
            headers.update(self.rate_headers())
        return Response(dumps(body), status, headers, media_type="application/json")

    def empty(self, status: int = 204) -> Response:
        return Response(b"", status, {"X-HubSpot-Correlation-Id": correlation_id()})

    def error(
        self,
        status: int,
        category: str,
        message: str,
        *,
        search: bool = False,
        count_headers: bool = True,
        **extra: Any,
    ) -> Response:
        """A §B2 error body: status, message, correlationId, category (+ context, errors ...)."""
        body = {"status": "error", "message": message, "correlationId": correlation_id()}
        body["category"] = category
        body.update(extra)
        return self.json(body, status, search=search, count_headers=count_headers)

    def validation_error(self, problems: list[dict[str, Any]], *, search: bool = False) -> Response:
        """400 VALIDATION_ERROR listing per-property problems the way HubSpot words them (§B2)."""
        inner = [{"isValid": False, **p} for p in problems]
        message = f"Property values were not valid: {json.dumps(inner)}"
        return self.error(400, "VALIDATION_ERROR", message, search=search)

    def unknown_type(self, object_type: str, *, search: bool = False) -> Response:
        msg = f"Unable to infer object type from: {object_type}"
        return self.error(400, "VALIDATION_ERROR", msg, search=search)

    def not_found(self, rid: str) -> Response:
        """404 for one record id (GET/PATCH/DELETE by id)."""
        msg = "Object not found.  objectId are usually numeric."
        return self.error(404, "OBJECT_NOT_FOUND", msg, context={"id": [rid]})

    # --- record shape -----------------------------------------------------------------
    def record_json(
        self, table: ObjectTable, rec: Record, properties: list[str] | None
    ) -> dict[str, Any]:
        """A SimplePublicObject: id, string properties, createdAt/updatedAt, archived (§B4)."""
        names = properties if properties else DEFAULT_PROPERTIES.get(table.name, ALWAYS)
        props: dict[str, str | None] = {}
        for name in (*names, *ALWAYS):
            if name in table.fields and name not in props:
                props[name] = to_wire(record_value(rec, name), self.omit_zero_ms)
        created = created_at(rec)
        updated = rec.get("hs_lastmodifieddate") or created
        short = self.omit_zero_ms
        out: dict[str, Any] = {
            "id": rec["_id"],
            "properties": props,
            "createdAt": _stamp(created, short),
            "updatedAt": _stamp(updated, short),
            "archived": bool(rec.get("_archived")),
        }
        archived_at = rec.get("_archived_at") or updated
        if rec.get("_archived") and archived_at:
            out["archivedAt"] = iso_ms(archived_at, short)
        return out

    def associations_json(
        self, table: ObjectTable, rid: str, to_types: list[str]
    ) -> dict[str, Any]:
        """v3 embedded associations: {"deals": {"results": [{"id", "type"}]}} (non-empty only).

        Past `inline_association_limit` entries the block ends with `paging` (a link to the
        record's v4 associations), as CollectionResponseAssociatedId allows.
        """
        out: dict[str, Any] = {}
        for to in to_types:
            to_name = resolve_object_type(to)
            if not to_name:
                continue
            entries = self.data.associations.v3_entries(table.name, rid, to_name)
            if not entries:
                continue
            limit = self.inline_association_limit
            block: dict[str, Any] = {"results": entries[:limit]}
            if len(entries) > limit:
                link = f"{self.base_url}/crm/v4/objects/{table.name}/{rid}/associations/{to_name}"
                block["paging"] = {"next": {"after": str(limit), "link": link}}
            out[to_name] = block
        return out


def query_list(request: Request, name: str) -> list[str]:
    """A list query param sent repeated (`a=x&a=y`, the client) or comma-separated (docs)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(p.strip() for p in raw.split(",") if p.strip())
    return out


def _stamp(value: Any, short: bool) -> str | None:
    """A stored stamp as the API shows it; a str is served as stored (a hostile value a
    test put into the record)."""
    if not value:
        return None
    return value if isinstance(value, str) else iso_ms(value, short)


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    """A boolean query param, case-insensitive (the client sends Python's `False`, §B4)."""
    raw = request.query_params.get(name)
    return default if raw is None else raw.strip().lower() == "true"


async def body_json(request: Request) -> Any:
    """The request body as JSON, or None when absent or malformed."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except ValueError:
        return None
