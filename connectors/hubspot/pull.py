"""Reading HubSpot records: incremental search windows, full list reads, associations v4.

Incremental pulls use the search API, which stops at 10,000 results per query (paging
past it answers 400; docs/crm-wire.md §B7). So the time range since the cursor is cut
into windows, each probed by its first page: a window whose `total` exceeds the target
is split (by time, in proportion to its total) before any of it is consumed. Inside a
window, pages are read by keyset on the modified stamp, not by `after` offsets: each
query starts at the last stamp seen (`GTE`, dropping ids already read at that stamp),
so a record modified mid-pull, which leaves the window, cannot shift the offsets and
make another record skip. A page whose records all share one stamp switches to keyset
on `hs_object_id` for that stamp, so even 10,000 writes in one millisecond are read.

Full list reads (first run, periodic reconciliation) page through
`GET /crm/v3/objects/{type}` and then the archived list, whose ids come back as
deletions. Associations are read with v4 batch reads, every per-record page followed
(association changes do not bump hs_lastmodifieddate, so they get their own cadence).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot.crm.objects import PublicObjectSearchRequest

from connectors.base import Cursor
from connectors.hubspot.client import SYSTEM, HubSpotApi
from connectors.hubspot.limits import SEARCH
from mappings.errors import FatalApiError

log = logging.getLogger(__name__)

SEARCH_CAP = 10_000
SEARCH_PAGE = 200
LIST_PAGE = 100
ASSOCIATION_INPUTS = 1_000
MAX_PAGES = 1_000_000
PRIMARY_TYPE_IDS = frozenset({1, 5, 6, 25, 26})
"""HUBSPOT_DEFINED primary company links (contact 1, deal 5/6, ticket 26/25)."""
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
"""Contacts stamp changes in lastmodifieddate; every other object in hs_lastmodifieddate."""


def modified_property(object_type: str, configured: str | None = None) -> str:
    """The property that stamps a change on `object_type` (the mapping may override it)."""
    return configured or MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate")


PRIMARY_V3_TYPES = frozenset({"contact_to_company", "deal_to_company", "ticket_to_company"})
"""v3 embedded association types naming a record's primary company; every link is also
listed as `..._unlabeled`, and custom labels under their own names."""


@dataclass(frozen=True)
class Record:
    """One HubSpot record as pulled: id, string-valued properties and, when the list read
    embedded them completely, its companies as (company id, is primary)."""

    id: str
    properties: dict[str, Any]
    companies: tuple[tuple[str, bool], ...] | None = None


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _stamp(value: Any) -> int | None:
    """Epoch ms of a HubSpot datetime property value (ISO-8601 or epoch-ms string)."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return _ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _records(results: Iterable[dict[str, Any]] | None, embedded: str = "") -> list[Record]:
    """Records of a parsed JSON page (`results`: [{"id", "properties", ...}]); with
    `embedded` (e.g. "companies"), each record's embedded links to that type."""
    return [
        Record(
            str(r["id"]),
            r.get("properties") or {},
            _embedded_links(r, embedded) if embedded else None,
        )
        for r in results or ()
    ]


def _embedded_links(record: dict[str, Any], to_type: str) -> tuple[tuple[str, bool], ...] | None:
    """(id, is primary) per linked record, in order; None when the block has more pages (the
    caller then reads that record's links with the v4 batch read)."""
    block = (record.get("associations") or {}).get(to_type)
    if not block:
        return ()  # no links: HubSpot leaves the type out
    if block.get("paging"):
        return None
    links: dict[str, bool] = {}
    for entry in block.get("results") or ():
        target = str(entry["id"])
        links[target] = links.get(target, False) or entry.get("type") in PRIMARY_V3_TYPES
    return tuple(links.items())


def _next_after(page: dict[str, Any]) -> str | None:
    """`paging.next.after` of a parsed page, None on the last page."""
    nxt = (page.get("paging") or {}).get("next") or {}
    after = nxt.get("after")
    return None if after in (None, "") else str(after)


class Puller:
    """The read paths of one object type."""

    def __init__(self, api: HubSpotApi, object_type: str, properties: Sequence[str], stamp: str):
        self.api = api
        self.object_type = object_type
        self.stamp = stamp
        self.properties = list(dict.fromkeys([*properties, stamp, "hs_object_id"]))
        self.wanted = list(properties)
        """The properties the caller asked for (the frame's columns)."""
        self.window_target = 5_000
        self.windows: list[tuple[int, int, int]] = []
        """(start ms, end ms, total) of every window consumed: evidence for tests and logs."""

    # -- incremental: search windows -------------------------------------------------
    def search(self, start: datetime, end: datetime) -> Iterator[tuple[list[Record], Cursor]]:
        """Records modified in [start, end), ascending, each page with its cursor.

        Windows adapt to the density seen so far: the first page of a window is its
        probe, a window whose total exceeds the target is shrunk in proportion before
        any of it is consumed, and the next window's length follows the last density.
        """
        lo, end_ms = _ms(start), _ms(end)
        aim = self.window_target * 0.8
        length: float = end_ms - lo
        while lo < end_ms:
            hi = min(end_ms, lo + max(1, int(length)))
            first = self._search_page([self._range(lo, hi)])
            total = int(first.get("total") or 0)
            if total > self.window_target and hi - lo > 1:
                stamps = [_stamp(r.properties.get(self.stamp)) for r in _records(first["results"])]
                known = [s for s in stamps if s is not None]
                if known and known[0] > lo:  # nothing lies before the first result
                    lo = known[0]
                    span = max(1, known[-1] - known[0] + 1)
                    length = min(hi - lo, span * aim / max(1, len(known)))
                else:
                    length = (hi - lo) * aim / total
                log.info("%s: %d results in one window; narrowing it", self.object_type, total)
                continue
            self.windows.append((lo, hi, total))
            yield from self._window(first, lo, hi)
            length = (hi - lo) * aim / total if total else (hi - lo) * 2
            lo = hi

    def _range(self, lo: int, hi: int, strict: bool = False) -> list[dict[str, str]]:
        return [
            {"propertyName": self.stamp, "operator": "GT" if strict else "GTE", "value": str(lo)},
            {"propertyName": self.stamp, "operator": "LT", "value": str(hi)},
        ]

    def _search_page(
        self, filter_groups: list[list[dict[str, str]]], sort: str = ""
    ) -> dict[str, Any]:
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": f} for f in filter_groups],
            sorts=[{"propertyName": sort or self.stamp, "direction": "ASCENDING"}],
            properties=self.properties,
            limit=SEARCH_PAGE,
            after="0",
        )
        return self.api.call_json(
            SEARCH,
            f"search {self.object_type}",
            self.api.client.crm.objects.search_api.do_search_with_http_info,
            self.object_type,
            public_object_search_request=request,
        )

    def _window(
        self, page: dict[str, Any], lo: int, hi: int
    ) -> Iterator[tuple[list[Record], Cursor]]:
        anchor, seen = lo, set[str]()
        for _ in range(MAX_PAGES):
            started = time.monotonic()
            records = _records(page.get("results"))
            fresh = [r for r in records if r.id not in seen]
            stamps = [_stamp(r.properties.get(self.stamp)) or anchor for r in records]
            if len(records) < SEARCH_PAGE:
                yield fresh, Cursor(_dt(hi), "")
                return
            last = stamps[-1]
            if last == anchor:  # a full page on one stamp: key on the id for that stamp
                fresh += self._same_stamp(anchor, seen | {r.id for r in fresh})
                page = self._search_page([self._range(anchor, hi, strict=True)])
                seen = set()
            else:
                seen = {r.id for r, s in zip(records, stamps, strict=True) if s == last}
                anchor = last
                page = self._search_page([self._range(anchor, hi)])
            if fresh:
                log.info(
                    "%s: %d records (%.2fs)",
                    self.object_type,
                    len(fresh),
                    time.monotonic() - started,
                )
                yield fresh, Cursor(_dt(anchor), fresh[-1].id)
        raise FatalApiError(
            f"more than {MAX_PAGES} search pages in one window",
            system=SYSTEM,
            operation=f"search {self.object_type}",
        )

    def _same_stamp(self, stamp: int, seen: set[str]) -> list[Record]:
        out: list[Record] = []
        last_id = "0"
        for _ in range(MAX_PAGES):
            page = self._search_page(
                [
                    [
                        {"propertyName": self.stamp, "operator": "EQ", "value": str(stamp)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                    ]
                ],
                sort="hs_object_id",
            )
            records = _records(page.get("results"))
            out += [r for r in records if r.id not in seen]
            if len(records) < SEARCH_PAGE:
                return out
            last_id = records[-1].id
        raise FatalApiError("search paging did not end", system=SYSTEM, operation="search")

    # -- full list read ----------------------------------------------------------------
    def list_all(self, archived: bool = False, embed: str = "") -> Iterator[list[Record]]:
        """Every record (or every archived record) through the list endpoint, all pages;
        with `embed` (an object type), each record's links to it come embedded."""
        after: str | None = None
        seen: set[str] = set()
        operation = f"list {'archived ' if archived else ''}{self.object_type}"
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"limit": LIST_PAGE}
            if archived:  # the spec's boolean: `true`; false is the default, so left out
                kwargs["archived"] = "true"
            if after:
                kwargs["after"] = after
            if not archived:
                kwargs["properties"] = self.properties
            if embed:
                kwargs["associations"] = [embed]
            page = self.api.call_json(
                "read",
                operation,
                self.api.client.crm.objects.basic_api.get_page_with_http_info,
                self.object_type,
                **kwargs,
            )
            yield _records(page.get("results"), embed)
            nxt = _next_after(page)
            if not nxt:
                return
            if nxt in seen:
                raise FatalApiError(
                    f"paging cursor {nxt!r} repeated; stopping instead of looping",
                    system=SYSTEM,
                    operation=operation,
                )
            seen.add(nxt)
            after = nxt
        raise FatalApiError("list paging did not end", system=SYSTEM, operation=operation)


def read_associations(
    api: HubSpotApi, from_type: str, to_type: str, ids: Iterable[str]
) -> dict[str, list[tuple[str, bool]]]:
    """from id -> [(to id, is primary)], every page of every record followed (v4 batch read)."""
    out: dict[str, list[tuple[str, bool]]] = {}
    pending: list[tuple[str, str | None]] = [(str(i), None) for i in dict.fromkeys(ids)]
    seen_after: set[tuple[str, str]] = set()
    operation = f"associations {from_type}->{to_type}"
    while pending:
        chunk, pending = pending[:ASSOCIATION_INPUTS], pending[ASSOCIATION_INPUTS:]
        # A plain dict body: the client serialises it as it would the models, and building
        # 1,000 generated models costs a Configuration object each (~0.2 ms).
        body = {"inputs": [{"id": i} if a is None else {"id": i, "after": a} for i, a in chunk]}
        page = api.call_json(
            "associations",
            operation,
            api.client.crm.associations.v4.batch_api.get_page_with_http_info,
            from_type,
            to_type,
            batch_input_public_fetch_associations_batch_request=body,
            expect=(200, 207),
        )
        for result in page.get("results") or ():
            source = str(result["from"]["id"])
            links = out.setdefault(source, [])
            for target in result.get("to") or ():
                primary = any(
                    t.get("label") == "Primary" or t.get("typeId") in PRIMARY_TYPE_IDS
                    for t in target.get("associationTypes") or ()
                )
                links.append((str(target["toObjectId"]), primary))
            nxt = _next_after(result)
            if nxt:
                if (source, nxt) in seen_after:
                    raise FatalApiError(
                        f"association cursor repeated for {source}",
                        system=SYSTEM,
                        operation=operation,
                    )
                seen_after.add((source, nxt))
                pending.append((source, nxt))
        for error in page.get("errors") or ():
            category = str(error.get("category") or "")
            if category not in ("OBJECT_NOT_FOUND", "NO_ASSOCIATIONS_FOUND"):
                raise FatalApiError(
                    str(error.get("message") or "association read failed"),
                    system=SYSTEM,
                    operation=operation,
                    code=category or None,
                )
    return out


def companies_by_child(
    by_company: dict[str, list[tuple[str, bool]]],
) -> dict[str, str]:
    """Invert company -> children links into child -> its primary (else lowest) company."""
    links: dict[str, list[tuple[str, bool]]] = {}
    for company, children in by_company.items():
        for child, primary in children:
            links.setdefault(child, []).append((company, primary))
    return {child: c for child, ls in links.items() if (c := primary_company(ls)) is not None}


def primary_company(links: Sequence[tuple[str, bool]]) -> str | None:
    """The primary company of one record, else its lowest-numbered company."""
    if not links:
        return None
    for target, primary in links:
        if primary:
            return target
    return min((t for t, _ in links), key=lambda t: (len(t), t))


def window_start(since: Cursor, overlap_seconds: float) -> datetime:
    """Where an incremental pull starts: the cursor minus the indexing-lag overlap."""
    return since.modified_at - timedelta(seconds=overlap_seconds)
