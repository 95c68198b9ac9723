"""Turn Salesforce records (REST JSON or Bulk 2.0 CSV) into typed canonical frames.

REST gives JSON values (numbers, booleans, nulls, date strings); Bulk 2.0 gives CSV where
everything is text and an empty cell is null. Both go through `typed_frame`, which
types each column from describe, so the two paths produce identical frames:

| describe type                         | dtype                 |
|---------------------------------------|-----------------------|
| boolean                               | boolean               |
| int                                   | Int64                 |
| double, currency, percent             | Float64               |
| date                                  | datetime64[us]        |
| datetime                              | datetime64[us, UTC]   |
| anything else (id, string, picklist…) | string                |

Then columns are renamed to canonical names and the mapping's value maps applied.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from connectors import quarantine as q
from connectors.base import ObjectSchema

_FLOAT = {"double", "currency", "percent"}


def kind_of(sf_type: str) -> str:
    """The canonical kind of a describe field type."""
    if sf_type == "boolean":
        return "bool"
    if sf_type == "int":
        return "int"
    if sf_type in _FLOAT:
        return "float"
    if sf_type in ("date", "datetime"):
        return sf_type
    return "str"


@dataclass(frozen=True)
class Column:
    """One pulled column: the CRM field, its name in the frame, its value map."""

    field: str
    name: str
    values: Mapping[str, str] | None = None


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(s.notna() & (s != ""), None)


def _to_bool(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    return {"true": True, "false": False}.get(str(v).lower())


def typed(s: pd.Series, kind: str) -> pd.Series:
    """One column with the dtype of `kind`; "" and None become missing."""
    s = _blank_to_na(s)
    if kind == "bool":
        return s.map(_to_bool).astype("boolean")
    if kind == "int":
        return pd.to_numeric(s, errors="coerce").astype("Float64").round().astype("Int64")
    if kind == "float":
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    if kind == "date":
        return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    if kind == "datetime":
        out = pd.to_datetime(s, format="ISO8601", utc=True, errors="coerce")
        return out.astype("datetime64[us, UTC]")
    return s.astype("string")


def checked(s: pd.Series, kind: str) -> tuple[pd.Series, Any, Any]:
    """One column with the dtype of `kind`, and per row the code and message of a value
    that cannot be read (None where it is fine): bad values become missing."""
    s = _blank_to_na(s)
    if kind in ("int", "float"):
        numbers, codes, messages = q.check_numbers(s, kind)
        out = numbers.astype("Float64")
        return (out.round().astype("Int64") if kind == "int" else out), codes, messages
    if kind == "bool":
        return q.check_booleans(s)
    if kind in ("date", "datetime"):
        stamps, codes, messages = q.check_datetimes(s, date_only=kind == "date")
        if kind == "date":
            return stamps.dt.tz_localize(None).astype("datetime64[us]"), codes, messages
        return stamps, codes, messages
    return s.astype("string"), None, None


def checked_frame(
    raw: pd.DataFrame, schema: ObjectSchema, fields: Sequence[str], skip: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`typed_frame` plus the values that cannot be read, as rejected rows (by `Id`);
    rows where `skip` is true (deleted records) are not checked."""
    out: dict[str, pd.Series] = {}
    parts: list[pd.DataFrame] = []
    ids = raw["Id"].reset_index(drop=True) if "Id" in raw.columns else None
    for name in fields:
        info = schema.get(name)
        kind = kind_of(info.type) if info else "str"
        col = raw[name] if name in raw.columns else pd.Series([None] * len(raw), dtype=object)
        col = col.reset_index(drop=True)
        out[name], codes, messages = checked(col, kind)
        if codes is not None and ids is not None:
            if skip is not None:
                codes = codes.copy()
                codes[skip] = None
            parts.append(q.collect(ids, name, col, codes, messages))
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw))), q.combine(parts)


def typed_frame(raw: pd.DataFrame, schema: ObjectSchema, fields: Sequence[str]) -> pd.DataFrame:
    """`raw` (object columns named by CRM field) typed from describe, columns in `fields` order."""
    out: dict[str, pd.Series] = {}
    for name in fields:
        info = schema.get(name)
        kind = kind_of(info.type) if info else "str"
        col = raw[name] if name in raw.columns else pd.Series([None] * len(raw), dtype=object)
        out[name] = typed(col.reset_index(drop=True), kind)
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)))


def from_rest(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> pd.DataFrame:
    """REST query records (with `attributes`) as an object frame of `fields`."""
    rows = [{f: rec.get(f) for f in fields} for rec in records]
    return pd.DataFrame(rows, columns=list(fields), dtype=object)


def from_csv(text: str, fields: Sequence[str]) -> pd.DataFrame:
    """A Bulk 2.0 CSV chunk as an object frame of `fields` (all text, "" = null)."""
    if not text.strip():
        return pd.DataFrame(columns=list(fields), dtype=object)
    frame = pd.read_csv(
        io.StringIO(text), dtype=str, keep_default_na=False, na_values=[], encoding="utf-8"
    ).astype(object)
    # Bulk CSV headers carry the SELECT spelling; match case-insensitively.
    by_lower = {c.lower(): c for c in frame.columns}
    return pd.DataFrame(
        {f: frame[by_lower[f.lower()]] if f.lower() in by_lower else None for f in fields},
        columns=list(fields),
    ).astype(object)


def _value_mapper(values: Mapping[str, str]) -> Callable[[Any], Any]:
    lookup = dict(values)
    return lambda v: lookup.get(v, v) if isinstance(v, str) else None


def unmapped(
    frame: pd.DataFrame, columns: Sequence[Column], table: str, skip: Any = None
) -> pd.DataFrame:
    """Rejected rows (by `Id`) of picklist values whose canonical column allows fixed
    choices and that the mapping's value map does not translate into one of them, and of
    yes/no-or-count signals holding anything else."""
    choices, signals = q.choices_of(table), q.signals_of(table)
    parts = []
    for col in columns:
        allowed = choices.get(col.name)
        if not (allowed or col.name in signals) or col.field not in frame.columns:
            continue
        raw = frame[col.field].astype(object)
        mapped = raw.map(_value_mapper(col.values)) if col.values else raw
        where = f"objects.{table}.values.{col.name}"
        if allowed:
            codes, messages = q.check_choices(mapped, allowed, where)
        else:
            codes, messages = q.check_signal(mapped, where)
        if skip is not None:
            codes[skip] = None
        parts.append(q.collect(frame["Id"], col.field, raw, codes, messages))
    return q.combine(parts)


def canonical(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """Rename CRM fields to canonical names and apply value maps (unmapped values kept)."""
    out: dict[str, pd.Series] = {}
    for col in columns:
        s = frame[col.field]
        if col.values:
            s = s.astype(object).map(_value_mapper(col.values))
            s = s.astype("string")
        out[col.name] = s
    return pd.DataFrame(out, index=frame.index)
