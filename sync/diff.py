"""Step 6 of a run: computed output fields against what the CRM holds now; real changes only.

Values are compared as the CRM stores them: scores to 0.1, money to cents, text and
picklists exactly (empty = missing), checkboxes as booleans (missing = false), date-times
to the second. `scored_at` never changes alone: it is written only on records that get
another change, otherwise every run would rewrite every record.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mappings.canonical import TABLES
from mappings.crm import OUTPUT_COLUMNS
from sync.connect import OUTPUT_TABLES, Setup

CHANGE_COLUMNS = ["object", "record_id", "column", "field", "previous", "new"]
STAMP = "scored_at"


def kind_of(column: str) -> str:
    return OUTPUT_COLUMNS.get(column, "picklist")


def decimals(column: str) -> int:
    return 1 if column.endswith("_score") else 2


def normalise(values: pd.Series, column: str) -> pd.Series:
    """Values as the CRM stores them, as Python objects (None = empty)."""
    kind = kind_of(column)
    if kind in ("number", "currency"):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").round(decimals(column))
        return pd.Series(
            [None if math.isnan(v) else float(v) for v in numbers], index=values.index, dtype=object
        )
    if kind == "checkbox":
        text = values.astype("string").str.strip().str.lower()
        return pd.Series(text.isin(["true", "1", "yes"]).to_numpy(), index=values.index).astype(
            object
        )
    if kind == "datetime":
        stamps = _stamps(values)
        return pd.Series(
            [None if pd.isna(v) else v.isoformat() for v in stamps.dt.floor("s")],
            index=values.index,
            dtype=object,
        )
    text = values.astype(object).where(values.notna(), None)
    return text.map(lambda v: None if v is None or str(v) == "" else str(v)).astype(object)


def _stamps(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
    else:
        text = values.astype("string").str.strip()
        epoch = text.str.fullmatch(r"\d{10,}").fillna(False).astype(bool)
        out = pd.to_datetime(text.where(~epoch), utc=True, errors="coerce", format="ISO8601")
        if epoch.any():
            ms = pd.to_datetime(pd.to_numeric(text.where(epoch)), unit="ms", utc=True)
            out = out.where(~epoch, ms)
    return out


def same(a: pd.Series, b: pd.Series, column: str) -> np.ndarray:
    """Element-wise equality of two normalised series."""
    if kind_of(column) in ("number", "currency"):
        tol = 0.5 * 10 ** -(decimals(column) + 1)
        return np.array(
            [(x is None and y is None) or (x is not None and y is not None and abs(x - y) < tol)
             for x, y in zip(a, b, strict=True)], dtype=bool,
        )  # fmt: skip
    return np.array([x == y for x, y in zip(a, b, strict=True)], dtype=bool)


def computed_frame(result_frame: pd.DataFrame, scored_at: datetime) -> pd.DataFrame:
    frame = result_frame.copy()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    frame[STAMP] = scored_at.astimezone(UTC).replace(microsecond=0)
    return frame


def diff_table(
    setup: Setup, table: str, computed: pd.DataFrame, current: pd.DataFrame
) -> pd.DataFrame:
    """Changes of one output table: object, record_id, column, field, previous, new."""
    outputs = setup.outputs(table)
    key = TABLES[table].key
    if not outputs or computed.empty or current.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    now = current.drop_duplicates(key).set_index(current[key].astype(str).rename("_id"))
    new = computed.set_index(computed[key].astype(str).rename("_id"))
    ids = new.index.intersection(now.index)
    new, now = new.loc[ids], now.loc[ids]
    parts: list[pd.DataFrame] = []
    touched = np.zeros(len(ids), dtype=bool)
    for column, field in outputs.items():
        if column == STAMP or column not in new.columns:
            continue
        fresh = normalise(new[column], column)
        held = normalise(now[column], column) if column in now.columns else _empty(ids)
        changed = ~same(fresh, held, column)
        touched |= changed
        parts.append(_changes(table, ids, column, field, held, fresh, changed))
    if STAMP in outputs:
        held = normalise(now[STAMP], STAMP) if STAMP in now.columns else _empty(ids)
        fresh = normalise(new[STAMP], STAMP)
        parts.append(_changes(table, ids, STAMP, outputs[STAMP], held, fresh, touched))
    found = [p for p in parts if len(p)]
    if not found:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(found, ignore_index=True)


def _empty(ids: pd.Index) -> pd.Series:
    return pd.Series([None] * len(ids), index=ids, dtype=object)


def _changes(
    table: str, ids: pd.Index, column: str, field: str, held: pd.Series, fresh: pd.Series,
    mask: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {
            "object": table,
            "record_id": ids[mask].astype(str),
            "column": column,
            "field": field,
            "previous": held.to_numpy()[mask],
            "new": fresh.to_numpy()[mask],
        }
    )


def diff_all(
    setup: Setup, computed: dict[str, pd.DataFrame], current: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Changes per output table (accounts, opportunities)."""
    return {
        t: diff_table(setup, t, computed[t], current.get(t, pd.DataFrame()))
        for t in OUTPUT_TABLES
        if t in computed
    }


def push_frame(changes: pd.DataFrame, clear: Any) -> pd.DataFrame:
    """Wide frame for connector.push: `id` + one column per CRM field; None = unchanged."""
    if changes.empty:
        return pd.DataFrame({"id": []})
    values = [
        clear if v is None else (pd.Timestamp(v) if kind_of(c) == "datetime" else v)
        for c, v in zip(changes["column"], changes["new"], strict=True)
    ]
    long = changes.assign(value=values)
    ids = list(dict.fromkeys(long["record_id"]))
    fields = list(dict.fromkeys(long["field"]))
    out = pd.DataFrame({"id": ids})
    pos = {rid: i for i, rid in enumerate(ids)}
    for field in fields:
        part = long[long["field"] == field]
        column: list[Any] = [None] * len(ids)
        for rid, v in zip(part["record_id"], part["value"], strict=True):
            column[pos[rid]] = v
        out[field] = pd.Series(column, dtype=object)
    return out
