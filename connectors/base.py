"""The CrmConnector protocol and the value types that cross the connector boundary.

A connector is a protocol, not a class hierarchy: `describe`, `check_mapping`, `pull`,
`push`, `provision` and the few facts where CRMs differ. It keeps no state between calls;
the orchestrator persists cursors. `connectors/registry.py` builds the one a connection
names; nothing outside connectors/ knows which CRM it holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

import pandas as pd

if TYPE_CHECKING:
    from mappings.crm import CrmMapping
    from mappings.errors import ConfigProblem

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
    custom: bool = False
    """Created by an admin or an app (Salesforce `custom`; HubSpot not `hubspotDefined`).
    valuesync writes only custom fields: a standard field holds the customer's own data."""
    precision: int | None = None
    """Digits a number field holds in all (None: not said, e.g. HubSpot)."""
    scale: int | None = None
    """Digits after the decimal point a number field keeps (None: not said)."""
    length: int | None = None
    """Characters a text field holds (None: not said)."""


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
    rejected: pd.DataFrame | None = None
    """Records left out of `records` because a value cannot be read or mapped, as data:
    record_id, field (the CRM's name), value, code, message (connectors/quarantine.py)."""


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
    """Everything the pipeline needs from a CRM, and all it knows of one.

    The pipeline (sync/) never asks which CRM it talks to: where the CRMs differ (what a
    pull returns by default, how a field is cleared, batch sizes, reconciliation reads,
    association refreshes), the difference is a member of this protocol.
    """

    system: ClassVar[str]
    """The CRM's name as the project file spells it (`crm:`)."""
    pull_streams: ClassVar[int]
    """How many objects `pull` may read at once, each from its own thread (1: one at a time)."""
    push_streams: ClassVar[int]
    """How many `push` calls may be under way at once, from several threads."""
    reads_outputs: ClassVar[bool]
    """True when `pull` returns the output and override fields without being asked for them."""
    clear_value: ClassVar[str]
    """The cell value that sets a field to empty in a `push` frame."""

    @property
    def calls(self) -> dict[str, int]:
        """API calls made so far, by kind."""
        ...

    def count_calls(self, calls: Mapping[str, int]) -> None:
        """Add calls made for this connector by another process (a pull worker)."""
        ...

    def describe(self, obj: str) -> ObjectSchema: ...

    def check_mapping(
        self,
        mapping: CrmMapping,
        mapping_path: Path | str,
        required_labels: Mapping[str, Sequence[str]],
    ) -> list[ConfigProblem]:
        """Every problem of `mapping` against the live CRM's describe, at once (no raise)."""
        ...

    def unmapped_values(self, mapping: CrmMapping, mapping_path: Path | str) -> list[ConfigProblem]:
        """Picklist values the CRM offers that the mapping's value maps leave without a
        canonical choice (records holding one are set aside); `check` lists them."""
        ...

    def currency_rates(self) -> pd.DataFrame | None:
        """The CRM's exchange rates (currency, rate, date; rate = units of the currency per
        corporate unit, date empty = undated) for `rates.kind: crm`; None: it has none."""
        ...

    def pull(
        self, obj: str, *, fields: Sequence[str], since: Cursor | None, full: bool = False
    ) -> Iterator[Page]:
        """Pages of canonical table `obj` changed since `since`; `full`: every record."""
        ...

    def reconciliation_due(self, last_full: datetime | None, now: datetime) -> bool:
        """Whether an incremental pull should be a full read this time (deletions the
        incremental read cannot see)."""
        ...

    def associations_due(self, last_refresh: datetime | None, now: datetime) -> bool:
        """Whether record-to-account links must be re-read (`pull_associations`)."""
        ...

    def pull_associations(self, obj: str) -> Iterator[Page]:
        """Pages of (key, account_id) of every record of `obj`, for links a pull misses."""
        ...

    def write_chunk(self, records: int) -> int:
        """Records per `push` call for a push of `records` changed records."""
        ...

    def write_calls(self, records: int) -> int:
        """API calls a push of `records` changed records needs (the plan's estimate)."""
        ...

    def push(self, obj: str, changes: pd.DataFrame) -> WriteResult: ...

    def provision(self, obj: str, fields: Sequence[FieldSpec]) -> ProvisionResult: ...

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> TaskResult:
        """Create tasks on accounts for their owners, in the largest batches the API allows;
        a task the CRM refuses is reported in `failed`, never raised."""
        ...

    def owner_emails(self, owner_ids: Sequence[str]) -> dict[str, str]:
        """The e-mail address of each owner id the CRM knows as an active user (Salesforce
        User, HubSpot owner); ids it does not know are left out."""
        ...
