"""Records set aside in a run: CRM values that cannot be read or mapped (found by the
connector's frames while pulling) and computed values that do not fit their field
(found before the first write, sync/pipeline/guard.py).

Each is a rejected row of the run in the state DB (object, record id, field, value, code,
reason). The run goes on without them, writes nothing to them, and says so; unless more
than `quarantine.max_share` of an object's records are bad, when it stops before any
write and puts that object's cursor back, so the next run reads the same records again
rather than skipping them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from mappings.canonical import TABLES
from mappings.errors import DataError
from sync.pipeline.pull import Puller
from sync.pipeline.results import ObjectCounts
from sync.pipeline.setup import Setup
from sync.state.db import StateDB

log = logging.getLogger(__name__)
SHOWN = 5
COLUMNS = ["object", "record_id", "field", "value", "code", "message"]


def enforce_share(
    setup: Setup, state: StateDB, run_id: int, puller: Puller, counts: Mapping[str, ObjectCounts]
) -> None:
    """DataError (nothing written yet) when too many of an object's records are bad."""
    limit = setup.mapping.quarantine.max_share
    over: list[str] = []
    for table, ids in sorted(puller.set_aside.items()):
        if not ids:
            continue
        mirror = state.mirror_frame(setup.name, table)
        key = TABLES[table].key
        known = set(mirror[key].astype(str)) if key in mirror.columns else set()
        total = max(len(known | ids), counts[table].pulled + len(ids), 1)
        share = len(ids) / total
        log.warning("%s: %d of %d %s set aside (unreadable values)",
                    setup.name, len(ids), total, table)  # fmt: skip
        if share > limit:
            over.append(f"{table}: {len(ids):,} of {total:,} records ({share:.1%})")
            # read them again next time instead of moving past them
            state.restore_cursor(setup.name, table, puller.before.get(table), run_id)
    if not over:
        return
    first = _first_lines(state.rejected(run_id))
    raise DataError(
        f"connection '{setup.name}': {'; '.join(over)} hold CRM values valuesync cannot read "
        f"or map, more than quarantine.max_share ({limit:.1%}) in {setup.mapping_path} allows; "
        f"the run stopped before any write. {first} Fix these values in the CRM, or the "
        f"mapping's value maps (then run `valuesync run --full`), or raise "
        f"quarantine.max_share; `valuesync runs show {run_id}` lists every record."
    )


def _first_lines(rejected: pd.DataFrame) -> str:
    if rejected.empty:
        return ""
    rows = rejected.head(SHOWN)
    shown = "; ".join(
        f"{o} record {r} field {f}: {m}"
        for o, r, f, m in zip(
            rows["object"], rows["record_id"], rows["field"], rows["message"], strict=True
        )
    )
    more = f" (and {len(rejected) - SHOWN:,} more)" if len(rejected) > SHOWN else ""
    return f"First: {shown}{more}."


def leave_out(
    changes: dict[str, pd.DataFrame], set_aside: Mapping[str, set[str]]
) -> dict[str, pd.DataFrame]:
    """The change sets without the records set aside (nothing is written to them)."""
    out = {}
    for table, frame in changes.items():
        ids = set_aside.get(table)
        if ids and len(frame):
            keep = ~frame["record_id"].astype(str).isin(ids).to_numpy()
            frame = frame[keep].reset_index(drop=True)
        out[table] = frame
    return out


def quarantined(state: StateDB, run_id: int) -> pd.DataFrame:
    """Every record set aside in the run: object, record_id, field, value, code, message."""
    frame = state.rejected(run_id)
    return frame.reindex(columns=COLUMNS)


def summary(frame: pd.DataFrame, run_id: int | None, mapping_path: object) -> str | None:
    """One note for the run's summary, naming the first records and the fix."""
    if frame is None or frame.empty:
        return None
    records = frame[["object", "record_id"]].drop_duplicates()
    return (
        f"{len(records):,} record(s) were set aside and not written: a value cannot be read, "
        f"mapped or written ({_first_lines(frame)}) Fix the value in the CRM, or add it to "
        f"{mapping_path} as the reason says and run `valuesync run --full`; "
        f"`valuesync runs show {run_id}` lists them all."
    )
