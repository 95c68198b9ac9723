"""Step 6 of a run: computed output fields against what the CRM holds now; real changes only.

Values are compared as the CRM stores them: scores to 0.1, money to cents, text and
picklists exactly (empty = missing), checkboxes as booleans (missing = false), date-times
to the second. `scored_at` never changes alone: it is written only on records that get
another change, otherwise every run would rewrite every record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mappings.canonical import TABLES
from mappings.crm import OUTPUT_COLUMNS
from sync.pipeline.setup import OUTPUT_TABLES, Setup

CHANGE_COLUMNS = ["object", "record_id", "column", "field", "previous", "new"]
STAMP = "scored_at"


def kind_of(column: str) -> str:
    return OUTPUT_COLUMNS.get(column, "picklist")


def decimals(column: str) -> int:
    return 1 if column.endswith("_score") else 2


def is_missing(values: np.ndarray) -> np.ndarray:
    """Where `values` hold no value: None, NaN, NaT or NA. `normalise` turns every one of
    them into None; the guard and the push read missing values through this one test."""
    return np.asarray(pd.isna(values), dtype=bool)


def normalise(values: pd.Series, column: str) -> pd.Series:
    """Values as the CRM stores them, as Python objects (None = empty, the one missing)."""
    kind = kind_of(column)
    if kind in ("number", "currency"):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").round(decimals(column))
        return _none_where(numbers.astype(object), numbers.isna())
    if kind == "checkbox":
        text = values.astype("string").str.strip().str.lower()
        return pd.Series(text.isin(["true", "1", "yes"]).to_numpy(), index=values.index).astype(
            object
        )
    if kind == "datetime":
        stamps = _stamps(values).dt.floor("s")
        # ISO 8601 in UTC to the second, as datetime.isoformat() writes it
        text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").astype(object)
        return _none_where(text, stamps.isna())
    text = values.astype("string")
    return _none_where(text.astype(object), (text.isna() | (text == "")).to_numpy(dtype=bool))


def _none_where(values: pd.Series, missing: Any) -> pd.Series:
    out = values.to_numpy(dtype=object, copy=True)
    out[np.asarray(missing, dtype=bool)] = None
    return pd.Series(out, index=values.index, dtype=object)  # None, never NaN: None == None


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
    """Element-wise equality of two normalised series (both empty counts as equal)."""
    if kind_of(column) in ("number", "currency"):
        tol = 0.5 * 10 ** -(decimals(column) + 1)
        x = np.asarray(a.to_numpy(dtype=object), dtype="float64")  # None -> NaN
        y = np.asarray(b.to_numpy(dtype=object), dtype="float64")
        with np.errstate(invalid="ignore"):
            close = np.abs(x - y) < tol
        return np.asarray((np.isnan(x) & np.isnan(y)) | close, dtype=bool)
    return np.asarray(a.to_numpy(dtype=object) == b.to_numpy(dtype=object), dtype=bool)


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
    """Wide frame for connector.push: `id` + one column per CRM field; None = unchanged.

    Records and fields in order of first appearance; a None value becomes `clear`, a
    date-time value a Timestamp; a (record, field) listed twice keeps the later value.
    """
    if changes.empty:
        return pd.DataFrame({"id": []})
    rows, ids = pd.factorize(changes["record_id"], use_na_sentinel=False)
    cols, fields = pd.factorize(changes["field"], use_na_sentinel=False)
    values = _push_values(changes, clear)
    last = ~pd.Series(cols * len(ids) + rows).duplicated(keep="last").to_numpy()
    grid = np.full((len(fields), len(ids)), None, dtype=object)
    grid[cols[last], rows[last]] = values[last]
    data: dict[Any, Any] = {"id": ids.tolist()}
    for j, name in enumerate(fields.tolist()):
        data[name] = pd.Series(grid[j], dtype=object)  # object: pandas would infer `str`
    return pd.DataFrame(data)


def _push_values(changes: pd.DataFrame, clear: Any) -> np.ndarray:
    """`new` as written: None -> `clear`, date-time columns as Timestamps."""
    values = changes["new"].to_numpy(dtype=object, copy=True)
    none = is_missing(values)  # None, NaN, NaT, NA; only None is a clear
    none[none] = [v is None for v in values[none]]
    column = changes["column"]
    stamps = [c for c in column.unique() if kind_of(c) == "datetime"]
    if stamps:
        at = np.flatnonzero(column.isin(stamps).to_numpy() & ~none)
        values[at] = _timestamps(values[at])
    values[none] = clear
    # The loop this replaced put the values in a column (`assign`) and read them back, so
    # pandas' dtype inference shaped them (an all-number column gives floats, a None in a
    # float or text column NaN); the same round trip keeps the output identical.
    boxed = pd.Series(values.tolist())
    if boxed.dtype == object:
        return np.asarray(values)  # the usual mix of text, numbers and Timestamps: kept as they are
    return np.fromiter(boxed.tolist(), object, len(boxed))


def _timestamps(values: np.ndarray) -> np.ndarray:
    """pd.Timestamp of each value; ISO strings (one `scored_at` per run) parsed once each."""
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return np.fromiter((pd.Timestamp(v) for v in values), object, len(values))
    codes, uniques = pd.factorize(values)
    parsed = np.fromiter((pd.Timestamp(v) for v in uniques), object, len(uniques))
    return np.asarray(parsed[codes])
