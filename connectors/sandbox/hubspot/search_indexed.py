"""The search fast path: queries on a hs_lastmodifieddate range answered from the stamp index.

It answers one filter group holding at least one bound on hs_lastmodifieddate (EQ,
GT, GTE, LT, LTE, BETWEEN), no free-text `query`, sorted the way the index is ordered:
by hs_lastmodifieddate ascending (then hs_object_id ascending, HubSpot's tie order
here), or by hs_object_id alone when every match shares one stamp. That covers the
connector's windows and its same-stamp keyset pages (connectors/hubspot/pull.py).
Results, `total` and paging are exactly what the general path (search.py) returns;
any other query returns None and goes there.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot.portal import HubSpotPortal
from connectors.sandbox.hubspot.search_filters import Predicate, compile_groups, parse_sorts
from connectors.sandbox.hubspot.stamp_index import (
    STAMP,
    Probe,
    StampIndex,
    lower_probe,
    record_key,
    upper_probe,
)
from connectors.sandbox.hubspot.values import parse_datetime
from connectors.sandbox.store import ObjectTable

BOUND_OPERATORS = ("EQ", "GT", "GTE", "LT", "LTE", "BETWEEN")
MAX_CANDIDATES = 20_000
"""Above this many records in the range, other filters are left to the general path,
which caches its matches across pages."""


class _OutOfDate(Exception):
    pass


def _bounds(filters: list[dict[str, Any]]) -> tuple[Probe | None, Probe | None, bool]:
    """(lower probe, upper probe, whether the stamp bounds are the only filters).

    Filters were already compiled (validated), so the values parse."""
    lo: Probe | None = None
    hi: Probe | None = None
    only_bounds = True
    for flt in filters:
        op = str(flt.get("operator", "EQ")).upper()
        if flt.get("propertyName") != STAMP or op not in BOUND_OPERATORS:
            only_bounds = False
            continue
        t = parse_datetime(flt["value"])
        lower: Probe | None = None
        upper: Probe | None = None
        if op in ("EQ", "GTE", "BETWEEN", "GT"):
            lower = lower_probe(t, inclusive=op != "GT")
        if op in ("EQ", "LTE", "LT"):
            upper = upper_probe(t, inclusive=op != "LT")
        if op == "BETWEEN":
            upper = upper_probe(parse_datetime(flt["highValue"]), inclusive=True)
        if lower is not None:
            lo = lower if lo is None else max(lo, lower)
        if upper is not None:
            hi = upper if hi is None else min(hi, upper)
    return lo, hi, only_bounds


def _in_index_order(sorts: list[tuple[str, bool]], one_stamp: bool) -> bool:
    """Whether `sorts` (ties then by id ascending) order the matches as the index does."""
    seq: list[tuple[str, bool]] = []
    for name, desc in sorts:
        if name == STAMP and one_stamp:
            continue  # every match has the same stamp: this sort cannot reorder them
        seq.append((name, desc))
        if name == "hs_object_id":
            break  # ids are unique: later sorts never apply
    if one_stamp:
        return seq in ([], [("hs_object_id", False)])
    return seq in ([(STAMP, False)], [(STAMP, False), ("hs_object_id", False)])


def indexed_page(
    portal: HubSpotPortal, table: ObjectTable, body: dict[str, Any], offset: int, limit: int
) -> tuple[int, list[str]] | None:
    """(total, ids of the page) from the index, or None when the query needs the general path.

    Raises FilterError for invalid filters or sorts, as the general path does."""
    groups = body.get("filterGroups") or []
    pred = compile_groups(table, groups)
    sorts = parse_sorts(table, body.get("sorts"))
    field = table.fields.get(STAMP)
    filled = [g["filters"] for g in groups if g.get("filters")]
    if pred is None or len(filled) != 1 or str(body.get("query") or "").strip():
        return None
    if field is None or field.type != "datetime" or field.calculated:
        return None
    lo, hi, only_bounds = _bounds(filled[0])
    if lo is None and hi is None:
        return None
    if not (_in_index_order(sorts, False) or _in_index_order(sorts, True)):
        return None  # decided before the index is built or brought up to date
    rest = None if only_bounds else pred
    with portal.store.lock:
        index = portal.stamp_index(table)
        if not index.usable:
            return None
        try:
            return _from_index(index, table, lo, hi, sorts, rest, offset, limit)
        except _OutOfDate:
            index.stale = True  # a record changed behind the portal's back: rebuild once
            index = portal.stamp_index(table)
            if not index.usable:
                return None
            return _from_index(index, table, lo, hi, sorts, rest, offset, limit)


def _from_index(
    index: StampIndex,
    table: ObjectTable,
    lo: Probe | None,
    hi: Probe | None,
    sorts: list[tuple[str, bool]],
    pred: Predicate | None,
    offset: int,
    limit: int,
) -> tuple[int, list[str]] | None:
    """The page, or None for the general path; _OutOfDate when a record is not where
    the index has it (it was changed without going through the portal)."""
    keys = index.keys
    start = 0 if lo is None else keys.position(lo)
    stop = len(keys) if hi is None else keys.position(hi)
    if stop <= start:
        return 0, []
    first, last = keys.slice(start, start + 1)[0], keys.slice(stop - 1, stop)[0]
    if not _in_index_order(sorts, first[0] == last[0]):
        return None
    if pred is None:
        page = keys.slice(start + offset, min(stop, start + offset + limit))
        records = [table.records.get(k[2]) for k in page]
        if any(r is None or record_key(r) != k for r, k in zip(records, page, strict=True)):
            raise _OutOfDate
        return stop - start, [k[2] for k in page]
    if stop - start > MAX_CANDIDATES:
        return None
    ids: list[str] = []
    for k in keys.slice(start, stop):
        rec = table.records.get(k[2])
        if rec is None or record_key(rec) != k:
            raise _OutOfDate
        if pred(rec):
            ids.append(k[2])
    return len(ids), ids[offset : offset + limit]
