"""The CrmConnector protocol and the value types that cross the connector boundary.

A connector is a small protocol, not a class hierarchy: `describe`, `pull`, `push`,
`provision`. It keeps no state between calls; the orchestrator persists cursors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Literal, Protocol

import pandas as pd

FieldKind = Literal["picklist", "number", "currency", "text", "datetime", "checkbox"]


@dataclass(frozen=True, order=True)
class Cursor:
    """Where an incremental pull stopped: the modified stamp and the id that broke ties."""

    modified_at: datetime
    last_id: str = ""


@dataclass(frozen=True)
class FieldInfo:
    """One field of a CRM object as describe reports it, in vendor-neutral terms."""

    name: str
    type: str
    label: str = ""
    updateable: bool = False
    queryable: bool = True
    calculated: bool = False
    picklist: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSchema:
    """What describe says about one CRM object."""

    name: str
    fields: dict[str, FieldInfo]

    def get(self, name: str) -> FieldInfo | None:
        """A field by name; Salesforce names are case-insensitive, so fall back to that."""
        if name in self.fields:
            return self.fields[name]
        lowered = {k.lower(): v for k, v in self.fields.items()}
        return lowered.get(name.lower())


@dataclass(frozen=True)
class Page:
    """One page of pulled records, with the cursor to resume after it."""

    object: str
    records: pd.DataFrame
    cursor: Cursor | None
    deleted_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """One record the CRM refused, as data: never raised for a single bad record."""

    record_id: str
    field: str
    code: str
    message: str


@dataclass
class WriteResult:
    """What a push did: accepted ids, rejected rows, and the API calls it spent."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def rejected_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [r.__dict__ for r in self.rejected], columns=["record_id", "field", "code", "message"]
        )


@dataclass(frozen=True)
class FieldSpec:
    """An output field valuesync writes, to be created in the CRM when missing."""

    name: str
    label: str
    kind: FieldKind
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass
class ProvisionResult:
    """What provisioning did to each field: created, updated (options added) or unchanged."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskSpec:
    """A to-do for an account's owner in the CRM (Salesforce Task, HubSpot task).

    `external_key` names it for good: it is written into the task's description, and the
    orchestrator records it so that a rerun never creates the same task again.
    """

    external_key: str
    account_id: str
    owner_id: str | None
    subject: str
    body: str
    due: date
    priority: Literal["high", "normal", "low"] = "normal"


@dataclass
class TaskResult:
    """What `create_tasks` did: external key -> CRM task id, or -> the CRM's error."""

    created: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    calls: int = 0


class CrmConnector(Protocol):
    """What the pipeline needs from a CRM."""

    system: ClassVar[str]
    pull_streams: ClassVar[int]
    """How many objects `pull` may read at once, each from its own thread (1: one at a time)."""
    push_streams: ClassVar[int]
    """How many `push` calls may be under way at once, from several threads."""

    def count_calls(self, calls: Mapping[str, int]) -> None: ...

    def describe(self, obj: str) -> ObjectSchema: ...

    def pull(self, obj: str, *, fields: Sequence[str], since: Cursor | None) -> Iterator[Page]: ...

    def push(self, obj: str, changes: pd.DataFrame) -> WriteResult: ...

    def provision(self, obj: str, fields: Sequence[FieldSpec]) -> ProvisionResult: ...

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> TaskResult:
        """Create tasks on accounts for their owners, in the largest batches the API allows;
        a task the CRM refuses is reported in `failed`, never raised."""
        ...
