"""An in-memory, typed record store shared by the sandbox's Salesforce and HubSpot sides.

Values are kept as Python types (str, int, float, bool, date, datetime in UTC, None);
each side serialises them in its own wire format. Every write goes through `update`
so modification stamps advance the way the real systems do.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Record = dict[str, Any]


@dataclass
class FieldDef:
    """Metadata of one field (Salesforce) or property (HubSpot)."""

    name: str
    type: str
    label: str = ""
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    custom: bool = False
    length: int = 0
    picklist: list[str] = field(default_factory=list)
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    calculated: bool = False
    visible: bool = True
    """False until field-level security grants it (Salesforce fields made via Tooling)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Side-specific metadata, e.g. HubSpot `fieldType`, `groupName`, `description`."""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name


class ObjectTable:
    """The records of one object type, keyed by id, in insertion order."""

    def __init__(self, name: str, fields: Iterable[FieldDef], id_prefix: str = "") -> None:
        self.name = name
        self.fields: dict[str, FieldDef] = {f.name: f for f in fields}
        self.id_prefix = id_prefix
        self.records: dict[str, Record] = {}
        self._seq = itertools.count(1)

    def new_id(self) -> str:
        """The next id: an 18-character Salesforce-style id when a prefix is set, else a number."""
        n = next(self._seq)
        if self.id_prefix:
            return f"{self.id_prefix}{n:012d}AAA"[:18]
        return str(n)

    def new_ids(self, count: int) -> list[str]:
        """`count` fresh ids at once, the same sequence `new_id` gives (bulk loading)."""
        start = next(self._seq)
        self._seq = itertools.count(start + count)
        nums = range(start, start + count)
        if self.id_prefix:
            return [f"{self.id_prefix}{n:012d}AAA"[:18] for n in nums]
        return [str(n) for n in nums]

    def add_field(self, f: FieldDef) -> None:
        self.fields[f.name] = f

    def visible_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.visible]


class Clock:
    """A UTC clock that never goes backwards.

    `resolution_ms` = 1000 mimics Salesforce's second-resolution stamps (several records
    can share one); 1 gives HubSpot's strictly increasing millisecond stamps.
    """

    def __init__(self, resolution_ms: int = 1, strictly_increasing: bool = False) -> None:
        self.resolution_ms = resolution_ms
        self.strict = strictly_increasing
        self._last: datetime | None = None
        self.offset = timedelta(0)
        """Tests shift time by setting this."""

    def now(self) -> datetime:
        t = datetime.now(UTC) + self.offset
        res = self.resolution_ms * 1000
        t = t.replace(microsecond=(t.microsecond // res) * res) if res <= 1_000_000 else t
        if self._last is not None:
            if t < self._last:
                t = self._last
            if self.strict and t <= self._last:
                t = self._last + timedelta(milliseconds=self.resolution_ms)
        self._last = t
        return t


class Store:
    """A set of object tables guarded by one lock, with a clock for modification stamps."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.tables: dict[str, ObjectTable] = {}
        self.lock = threading.RLock()
        self.clock = clock or Clock()

    def add_table(self, table: ObjectTable) -> ObjectTable:
        self.tables[table.name] = table
        return table

    def table(self, name: str) -> ObjectTable:
        return self.tables[name]

    def insert_many(self, name: str, rows: Iterable[Record]) -> list[str]:
        """Insert records as given (ids assigned where missing); stamps are the caller's."""
        t = self.tables[name]
        ids: list[str] = []
        with self.lock:
            for row in rows:
                rid = row.get("_id") or t.new_id()
                row["_id"] = rid
                t.records[rid] = row
                ids.append(rid)
        return ids

    def iter(self, name: str) -> Iterator[Record]:
        return iter(list(self.tables[name].records.values()))
