"""What the pipeline tells its callers: progress while it works, a report when it ends.

The pipeline (sync/pipeline/runner.py) fills these; the CLI renders them with Rich or as JSON
(`to_json`), the demo and the report read them. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pandas as pd


class Progress(Protocol):
    """Where long work reports how far it got (the CLI draws Rich progress bars)."""

    def start(self, task: str, total: int | None = None) -> None: ...

    def advance(self, task: str, n: int = 1) -> None: ...

    def finish(self, task: str) -> None: ...


class NoProgress:
    """Progress that goes nowhere (library use, tests, --json)."""

    def start(self, task: str, total: int | None = None) -> None:
        return None

    def advance(self, task: str, n: int = 1) -> None:
        return None

    def finish(self, task: str) -> None:
        return None


@dataclass
class ObjectCounts:
    """Per CRM object: rows pulled, deletions seen, and fields changed / written / rejected."""

    pulled: int = 0
    deleted: int = 0
    records_changed: int = 0
    fields_changed: int = 0
    written: int = 0
    rejected: int = 0
    write_calls: int = 0
    quarantined: int = 0
    """Records set aside: a CRM value could not be read or mapped, or a computed value
    does not fit its field (stored as rejected rows of the run)."""


@dataclass
class RunReport:
    """The outcome of one run (or of a dry run, when `dry_run` is true)."""

    run_id: int | None
    connection: str
    crm: str
    status: str
    """succeeded | succeeded_with_rejections | failed | planned"""
    started_at: datetime
    finished_at: datetime | None = None
    as_of: str = ""
    dry_run: bool = False
    objects: dict[str, ObjectCounts] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    distribution: pd.DataFrame | None = None
    """Quadrant, accounts, revenue_12m, margin_12m (and clv) per quadrant."""
    field_changes: pd.DataFrame | None = None
    """Object, CRM field, records whose value in that field changes."""
    transitions: pd.DataFrame | None = None
    """Quadrant now in the CRM (rows) x quadrant computed (columns), counts."""
    sample: pd.DataFrame | None = None
    """A few changed records: object, record id, name, field, old value, new value."""
    examples: pd.DataFrame | None = None
    """A few opportunities as a rep sees them: name, quadrant, deal priority, max CAC, reason."""
    rejected: pd.DataFrame | None = None
    """record_id, object, field, code, message for every rejected record."""
    quarantined: pd.DataFrame | None = None
    """object, record_id, field, value, code, message of every record set aside (a CRM
    value that cannot be read or mapped, a computed value that does not fit its field)."""
    finance: dict[str, Any] = field(default_factory=dict)
    """Finance join figures: matched by method, unmatched customers, accounts without finance."""
    messages: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(c.written for c in self.objects.values())

    @property
    def write_calls(self) -> int:
        return sum(c.write_calls for c in self.objects.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for --json): frames become lists of records."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, pd.DataFrame):
                out[key] = _records(value)
            elif isinstance(value, datetime):
                out[key] = value.isoformat()
            elif key == "objects":
                out[key] = {k: asdict(v) for k, v in value.items()}
            else:
                out[key] = value
        out["written"] = self.written
        out["write_calls"] = self.write_calls
        return out


@dataclass
class RollbackReport:
    """What `rollback RUN_ID` restored, and what it left alone because someone edited it since."""

    run_id: int
    rollback_run_id: int | None
    restored: int = 0
    skipped: pd.DataFrame | None = None
    """object, record_id, field, value we wrote, value the CRM holds now."""
    rejected: pd.DataFrame | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rollback_run_id": self.rollback_run_id,
            "restored": self.restored,
            "skipped": _records(self.skipped),
            "rejected": _records(self.rejected),
        }


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
