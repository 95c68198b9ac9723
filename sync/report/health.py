"""The report's sync-health section: recent runs, rejected records by error, API calls used.

Pure: takes run rows as `StateDB.runs()` returns them (dicts with id, connection, kind,
status, started_at, finished_at, counts, api_calls) and a rejected-records frame (code,
object, field; messages are not shown, as a CRM error message may quote a field value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

WRITTEN_KEYS = ("written", "records_written")
REJECTED_KEYS = ("rejected", "records_rejected")
QUARANTINED_KEYS = ("quarantined",)
"""Records a run set aside: a CRM value it cannot read or map, an output a field cannot hold."""


@dataclass(frozen=True)
class Health:
    """runs: one row per run; rejected: count per object, field and error code; api: usage."""

    runs: pd.DataFrame
    rejected: pd.DataFrame
    api_calls_24h: int | None
    daily_limit: int | None

    @property
    def empty(self) -> bool:
        return bool(self.runs.empty)


def health(
    runs: Sequence[Mapping[str, Any]], rejected: pd.DataFrame | None, daily_limit: int | None
) -> Health:
    """The health tables from run rows (newest first) and the latest run's rejected records."""
    table = pd.DataFrame([_run_row(r) for r in runs], columns=_RUN_COLUMNS)
    return Health(
        runs=table,
        rejected=rejected_by_code(rejected),
        api_calls_24h=_calls_last_day(runs),
        daily_limit=daily_limit,
    )


_RUN_COLUMNS = [
    "run",
    "connection",
    "kind",
    "status",
    "started",
    "seconds",
    "written",
    "rejected",
    "set_aside",
    "api_calls",
]


def _run_row(run: Mapping[str, Any]) -> dict[str, Any]:
    counts = run.get("counts") or {}
    started, finished = run.get("started_at"), run.get("finished_at")
    seconds = (
        (finished - started).total_seconds()
        if isinstance(started, datetime) and isinstance(finished, datetime)
        else None
    )
    return {
        "run": run.get("id"),
        "connection": run.get("connection", ""),
        "kind": run.get("kind", ""),
        "status": run.get("status", ""),
        "started": started.strftime("%Y-%m-%d %H:%M UTC") if isinstance(started, datetime) else "",
        "seconds": None if seconds is None else round(seconds, 1),
        "written": _count(counts, WRITTEN_KEYS),
        "rejected": _count(counts, REJECTED_KEYS),
        "set_aside": _count(counts, QUARANTINED_KEYS),
        "api_calls": sum(int(v) for v in (run.get("api_calls") or {}).values()),
    }


def _count(counts: Mapping[str, Any], keys: Sequence[str]) -> int:
    """A total from flat counts ({"written": 5}) or per object ({"Account": {"written": 5}})."""
    total = 0
    for key, value in counts.items():
        if isinstance(value, Mapping):
            total += _count(value, keys)
        elif key in keys and isinstance(value, int | float):
            total += int(value)
    return total


def _calls_last_day(runs: Sequence[Mapping[str, Any]]) -> int | None:
    """API calls of the runs started within 24 h before the newest run started."""
    starts = [r["started_at"] for r in runs if isinstance(r.get("started_at"), datetime)]
    if not starts:
        return None
    since = max(starts) - timedelta(hours=24)
    return sum(
        sum(int(v) for v in (r.get("api_calls") or {}).values())
        for r in runs
        if isinstance(r.get("started_at"), datetime) and r["started_at"] >= since
    )


def rejected_by_code(rejected: pd.DataFrame | None) -> pd.DataFrame:
    """Rejected records counted per object, field and error code, most frequent first."""
    cols = ["object", "field", "code"]
    if rejected is None or rejected.empty:
        return pd.DataFrame(columns=[*cols, "records"])
    frame = rejected.reindex(columns=cols).fillna("")
    counts = frame.groupby(cols, dropna=False).size().rename("records").reset_index()
    return counts.sort_values(["records", *cols], ascending=[False, True, True, True])
