"""`rollback RUN`: write back the values a run replaced, where nobody changed them since.

The CRM is read now (a full read of each object the run wrote), not the mirror. A field
still holding what the run wrote gets its previous value back; a field someone edited
since is left alone and listed. The rollback is a run of its own (kind rollback) with
its own change set, so it can itself be rolled back.
"""

from __future__ import annotations

import pandas as pd

from connectors.base import CrmConnector
from mappings.canonical import TABLES
from mappings.errors import StateError
from sync.pipeline.diff import CHANGE_COLUMNS, normalise, same
from sync.pipeline.pull import canonical_page, pull_fields
from sync.pipeline.setup import Setup
from sync.state.db import StateDB

SKIPPED_COLUMNS = ["object", "record_id", "field", "written", "now"]


def crm_now(
    setup: Setup, connector: CrmConnector, state: StateDB, table: str, run_id: int
) -> pd.DataFrame:
    """Every record of `table` read from the CRM now (the mirror is refreshed with them).

    A full read, not a search since the run started: a search index may lag the writes it must
    see (HubSpot), and a rollback is rare enough to afford reading everything.
    """
    key = TABLES[table].key
    parts = []
    fields = pull_fields(setup, connector, table)
    for page in connector.pull(table, fields=fields, since=None, full=True):
        frame = canonical_page(setup, table, page.records)
        if len(frame):
            state.upsert_mirror(setup.name, table, frame, key=key, run_id=run_id)
            parts.append(frame)
    if not parts:
        return pd.DataFrame({key: pd.Series([], dtype="string")})
    frame = pd.concat(parts, ignore_index=True)
    return frame.drop_duplicates(key, keep="last").set_index(frame[key].astype(str))


def plan_rollback(
    setup: Setup, table: str, written: pd.DataFrame, now: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changes that restore previous values, skipped rows) for one table."""
    columns = {f: c for c, f in setup.outputs(table).items()}
    restore, skipped = [], []
    for field, part in written.groupby("field", sort=False):
        column = columns.get(str(field))
        if column is None:
            continue
        ids = part["record_id"].astype(str)
        present = ids.isin(now.index).to_numpy()
        held_raw = (
            now.reindex(ids)[column]
            if column in now.columns
            else pd.Series([None] * len(ids), index=ids)
        )
        held = normalise(held_raw, column)
        wrote = normalise(pd.Series(part["new"].to_numpy(), index=ids), column)
        ok = same(held, wrote, column) & present
        back = pd.Series(part["previous"].to_numpy(), index=ids)
        restore.append(
            pd.DataFrame(
                {
                    "object": table,
                    "record_id": ids[ok],
                    "column": column,
                    "field": field,
                    "previous": held.to_numpy()[ok],
                    "new": normalise(back, column).to_numpy()[ok],
                }
            )  # fmt: skip
        )
        skipped.append(
            pd.DataFrame(
                {
                    "object": table,
                    "record_id": ids[~ok],
                    "field": field,
                    "written": wrote.to_numpy()[~ok],
                    "now": [
                        v if p else "(record deleted)"
                        for v, p in zip(held.to_numpy()[~ok], present[~ok], strict=True)
                    ],
                }
            )  # fmt: skip
        )
    return _concat(restore, CHANGE_COLUMNS), _concat(skipped, SKIPPED_COLUMNS)


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    found = [p for p in parts if len(p)]
    return pd.concat(found, ignore_index=True)[columns] if found else pd.DataFrame(columns=columns)


def written_changes(state: StateDB, setup: Setup, run_id: int) -> pd.DataFrame:
    """The changes of `run_id` that reached the CRM."""
    info = state.run(run_id)
    if info["connection"] != setup.name:
        raise StateError(
            f"run {run_id} belongs to connection '{info['connection']}', not '{setup.name}'; "
            f"pass --connection {info['connection']}"
        )
    changes = state.changes(run_id)
    return changes[changes["status"] == "written"] if len(changes) else changes
