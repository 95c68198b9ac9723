"""HubSpot records -> canonical frames: names from the mapping, value maps, real types.

HubSpot sends every property value as a string (numbers "17", booleans "false",
datetimes ISO-8601 or epoch ms, dates "YYYY-MM-DD"; docs/crm-wire.md §B4, §B11), so
each canonical column is parsed to its kind. Requested properties that no canonical
column maps keep their HubSpot name and stay strings (e.g. output fields, read back
for diffing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mappings.canonical import TABLES
from mappings.crm import ObjectMapping

ASSOCIATED_ACCOUNT = "account_id"
"""Deals, tickets and invoices get account_id from their company association."""


def _to_bool(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip().str.lower()
    mapped = text.map(
        {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    )
    return mapped.astype("boolean")


def _to_datetime(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    is_epoch = text.str.fullmatch(r"\d{10,}").fillna(False).astype(bool)
    out = pd.to_datetime(text.where(~is_epoch), utc=True, errors="coerce", format="ISO8601")
    if is_epoch.any():
        epoch = pd.to_datetime(
            pd.to_numeric(text.where(is_epoch), errors="coerce"), unit="ms", utc=True
        )
        out = out.where(~is_epoch, epoch)
    return out


def _typed(series: pd.Series, kind: str) -> pd.Series:
    if kind in ("float", "int"):
        numbers = pd.to_numeric(series, errors="coerce")
        return numbers.round().astype("Int64") if kind == "int" else numbers.astype("Float64")
    if kind == "bool":
        return _to_bool(series)
    if kind == "datetime":
        return _to_datetime(series).astype("datetime64[us, UTC]")
    if kind == "date":
        days = _to_datetime(series).dt.normalize().dt.tz_localize(None)
        return days.astype("datetime64[us]")
    return series.astype("string")


def to_frame(
    table: str,
    mapping: ObjectMapping,
    records: Sequence[Any],
    properties: Sequence[str],
    accounts: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """A canonical frame for `records` (objects with `.id` and `.properties`)."""
    canon = TABLES[table]
    by_property: dict[str, list[str]] = {}
    for column, prop in mapping.fields.items():
        by_property.setdefault(prop, []).append(column)
    raw: dict[str, list[Any]] = {}
    for prop in properties:
        values = [r.properties.get(prop) for r in records]
        if prop == "hs_object_id":
            values = [v or r.id for v, r in zip(values, records, strict=True)]
        for column in by_property.get(prop, []):
            raw[column] = values
        if prop not in by_property:
            raw[prop] = values
    frame = pd.DataFrame(raw, index=pd.RangeIndex(len(records)))
    for column in frame.columns:
        if column not in canon.column_names:
            frame[column] = frame[column].astype("string")
            continue
        series = frame[column]
        value_map = mapping.values.get(column)
        if value_map:
            mapped = series.map(value_map)
            series = mapped.where(mapped.notna(), series)
        frame[column] = _typed(series, canon.column(column).kind)
    if accounts is not None and ASSOCIATED_ACCOUNT in canon.column_names:
        ids = (
            frame[canon.key].astype("string")
            if canon.key in frame
            else pd.Series([], dtype="string")
        )
        frame[ASSOCIATED_ACCOUNT] = ids.map(lambda i: accounts.get(str(i))).astype("string")
    ordered = [c for c in canon.column_names if c in frame.columns]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]
