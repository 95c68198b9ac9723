"""Live records of one table ordered by (hs_lastmodifieddate, id), kept exact on every write.

The connector's incremental pulls search one modified-date window at a time, sorted by
that date with ties by id, and page with `after` offsets (docs/crm-wire.md §B7).
With the records already in that order a window is two binary searches and a page a
slice, where filtering and sorting the whole table cost ~0.5 s per call at 300,000 deals.

Only what the general search path could match is indexed: live (not archived) records
whose stamp is a timezone-aware datetime (any other value never satisfies a range or EQ
filter on a datetime property). Writes through the portal re-file their record; any
other change to the store (bulk loads, tests editing records then calling
`HubSpotPortal.touched`) makes the index rebuild on its next use.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import numpy as np

from connectors.sandbox.store import ObjectTable, Record

STAMP = "hs_lastmodifieddate"
Key = tuple[int, int, str]
"""(stamp in microseconds since the epoch, numeric id, id): the order of the connector's
windows. Integers, not datetimes, so that comparing keys is cheap."""
Probe = tuple[Any, ...]
"""A bound to look up: `(t,)` sorts before every key stamped t, `(t, inf)` after them."""
_LOAD = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(t: datetime) -> int:
    """An aware datetime as exact microseconds since the epoch (equal instants, equal ints)."""
    return (t - _EPOCH) // _MICROSECOND


def lower_probe(t: datetime, inclusive: bool) -> Probe:
    """The first position of stamps >= t (inclusive) or > t."""
    return (micros(t),) if inclusive else (micros(t), math.inf)


def upper_probe(t: datetime, inclusive: bool) -> Probe:
    """The end position of stamps <= t (inclusive) or < t."""
    return (micros(t), math.inf) if inclusive else (micros(t),)


def record_key(rec: Record) -> Key | None:
    """A record's index key, or None when no stamp filter could match it.

    The numeric id is -1 when the id is not a plain number, which makes the index unusable
    (see StampIndex.usable)."""
    if rec.get("_archived"):
        return None
    stamp = rec.get(STAMP)
    if not isinstance(stamp, datetime) or stamp.utcoffset() is None:
        return None
    rid = rec["_id"]
    return (micros(stamp), int(rid) if rid.isdigit() else -1, rid)


def _canonical(key: Key) -> bool:
    return str(key[1]) == key[2]


def _sorted(keys: list[Key]) -> list[Key]:
    """`sorted(keys)` for keys with unique canonical ids, via numpy (tuple sorts are slow)."""
    try:
        stamps = np.fromiter((k[0] for k in keys), np.int64, len(keys))
        ids = np.fromiter((k[1] for k in keys), np.int64, len(keys))
    except OverflowError:
        return sorted(keys)
    return [keys[i] for i in np.lexsort((ids, stamps)).tolist()]


class SortedKeys:
    """Sorted keys in blocks of about `_LOAD`, so that an insert or a removal moves one
    block rather than the whole list; positions come from per-block start offsets,
    recomputed on the first lookup after a change."""

    def __init__(
        self, keys: Iterable[Key] = (), load: int | None = None, *, presorted: bool = False
    ) -> None:
        self._load = load or _LOAD
        items = list(keys) if presorted else sorted(keys)
        step = self._load
        self._blocks = [items[i : i + step] for i in range(0, len(items), step)]
        self._maxes = [b[-1] for b in self._blocks]
        self._starts: list[int] | None = None
        self._len = len(items)

    def __len__(self) -> int:
        return self._len

    def add(self, key: Key) -> None:
        if not self._blocks:
            self._blocks.append([key])
            self._maxes.append(key)
        else:
            i = min(bisect_left(self._maxes, key), len(self._blocks) - 1)
            block = self._blocks[i]
            insort(block, key)
            self._maxes[i] = block[-1]
            if len(block) > 2 * self._load:
                half = self._load
                self._blocks[i : i + 1] = [block[:half], block[half:]]
                self._maxes[i : i + 1] = [block[half - 1], block[-1]]
        self._len += 1
        self._starts = None

    def remove(self, key: Key) -> None:
        """Remove one key; KeyError when absent."""
        i = bisect_left(self._maxes, key)
        block = self._blocks[i] if i < len(self._blocks) else []
        j = bisect_left(block, key)
        if j == len(block) or block[j] != key:
            raise KeyError(key)
        del block[j]
        if block:
            self._maxes[i] = block[-1]
        else:
            del self._blocks[i], self._maxes[i]
        self._len -= 1
        self._starts = None

    def _block_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = list(accumulate((len(b) for b in self._blocks), initial=0))
        return self._starts

    def position(self, probe: Probe) -> int:
        """How many keys sort before `probe`."""
        i = bisect_left(self._maxes, probe)
        if i == len(self._blocks):
            return self._len
        return self._block_starts()[i] + bisect_left(self._blocks[i], probe)

    def slice(self, start: int, stop: int) -> list[Key]:
        """The keys at positions start..stop-1."""
        starts = self._block_starts()
        out: list[Key] = []
        i = max(0, bisect_right(starts, start) - 1)
        while start < stop and i < len(self._blocks):
            first = starts[i]
            block = self._blocks[i]
            out.extend(block[start - first : stop - first])
            start = first + len(block)
            i += 1
        return out

    def __iter__(self) -> Any:
        for block in self._blocks:
            yield from block


def _scan(table: ObjectTable) -> dict[str, Key]:
    """The keys of the matchable records by id."""
    key_of: dict[str, Key] = {}
    collecting = gc.isenabled()
    gc.disable()  # ~300,000 new tuples would run the collector over every stored record
    try:
        for rid, rec in list(table.records.items()):
            stamp = rec.get(STAMP)
            if stamp.__class__ is datetime and stamp.tzinfo is UTC and not rec.get("_archived"):
                # what record_key computes, inlined for the common case (aware UTC stamps)
                n = int(rid) if rid.isdigit() else -1
                key_of[rid] = ((stamp - _EPOCH) // _MICROSECOND, n, rid)
            elif (key := record_key(rec)) is not None:
                key_of[rid] = key
    finally:
        if collecting:
            gc.enable()
    return key_of


class StampIndex:
    """One table's matchable records in (stamp, id) order."""

    def __init__(self, table: ObjectTable) -> None:
        self.name = table.name
        self.size = len(table.records)
        """len(table.records) when last in step; the table grew behind our back if it differs."""
        self.stale = False
        self.key_of = _scan(table)
        keys = list(self.key_of.values())
        self.usable = all(_canonical(k) for k in keys)
        """False when a matchable record's id is not a plain number: the general path, which
        orders by int(id), then answers (or fails) exactly as it always has."""
        self.keys = SortedKeys(_sorted(keys) if self.usable else [], presorted=True)

    def in_step(self, table: ObjectTable) -> bool:
        return not self.stale and self.size == len(table.records)

    def refile(self, rec: Record) -> None:
        """Move one record to where its current stamp and archived flag put it (or out)."""
        rid = rec["_id"]
        old = self.key_of.pop(rid, None)
        if old is not None and self.usable:
            self.keys.remove(old)
        new = record_key(rec)
        if new is not None:
            self.key_of[rid] = new
            self.usable = self.usable and _canonical(new)
            if self.usable:
                self.keys.add(new)
