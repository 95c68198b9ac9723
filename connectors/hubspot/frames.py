"""HubSpot records -> canonical frames: names from the mapping, value maps, real types.

HubSpot sends every property value as a string (numbers "17", booleans "false",
datetimes ISO-8601 or epoch ms, dates "YYYY-MM-DD"; docs/crm-wire.md §B4, §B11), so
each canonical column is parsed to its kind. Requested properties that no canonical
column maps keep their HubSpot name and stay strings (e.g. output fields, read back
for diffing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from connectors import quarantine as q
from mappings.canonical import TABLES
from mappings.crm import ObjectMapping

ASSOCIATED_ACCOUNT = "account_id"
"""Deals, tickets and invoices get account_id from their company association."""


def _checked(series: pd.Series, kind: str) -> tuple[pd.Series, Any, Any]:
    """One column parsed to `kind`, and per row the code and message of a value that
    cannot be read (None where it is fine); bad values become missing."""
    if kind in ("float", "int"):
        numbers, codes, messages = q.check_numbers(series, kind)
        out = numbers.astype("Float64")
        return (out.round().astype("Int64") if kind == "int" else out), codes, messages
    if kind == "bool":
        return q.check_booleans(series)
    if kind in ("datetime", "date"):
        stamps, codes, messages = q.check_datetimes(series, epoch=True)
        if kind == "date":
            days = stamps.dt.normalize().dt.tz_localize(None)
            return days.astype("datetime64[us]"), codes, messages
        return stamps.astype("datetime64[us, UTC]"), codes, messages
    return series.astype("string"), None, None


def to_frame(
    table: str,
    mapping: ObjectMapping,
    records: Sequence[Any],
    properties: Sequence[str],
    accounts: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """A canonical frame for `records` (objects with `.id` and `.properties`); values that
    cannot be read are missing (`checked_frame` sets their records aside instead)."""
    return _frame(table, mapping, records, properties, accounts)[0]


def checked_frame(
    table: str,
    mapping: ObjectMapping,
    records: Sequence[Any],
    properties: Sequence[str],
    accounts: Mapping[str, str | None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(canonical frame of the readable records, rejected rows of the others)."""
    frame, rejected = _frame(table, mapping, records, properties, accounts)
    return q.without(frame, TABLES[table].key, rejected), rejected


def _frame(
    table: str,
    mapping: ObjectMapping,
    records: Sequence[Any],
    properties: Sequence[str],
    accounts: Mapping[str, str | None] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    canon = TABLES[table]
    by_property: dict[str, list[str]] = {}
    for column, prop in mapping.fields.items():
        by_property.setdefault(prop, []).append(column)
    raw: dict[str, list[Any]] = {}
    dicts = [r.properties for r in records]  # once, not once per property
    for prop in properties:
        values = [d.get(prop) for d in dicts]
        if prop == "hs_object_id":
            values = [v or r.id for v, r in zip(values, records, strict=True)]
        for column in by_property.get(prop, []):
            raw[column] = values
        if prop not in by_property:
            raw[prop] = values
    frame = pd.DataFrame(raw, index=pd.RangeIndex(len(records)))
    ids = pd.Series([str(r.id) for r in records], dtype=object)
    choices, signals = q.choices_of(table), q.signals_of(table)
    parts: list[pd.DataFrame] = []
    for column in frame.columns:
        if column not in canon.column_names:
            if column in signals:  # a yes/no-or-count: value-mapped, then checked
                series = _value_mapped(frame[column], mapping.values.get(column))
                codes, messages = q.check_signal(series, f"objects.{table}.values.{column}")
                parts.append(q.collect(ids, mapping.fields.get(column, column), frame[column],
                                       codes, messages))  # fmt: skip
                frame[column] = series
            frame[column] = frame[column].astype("string")
            continue
        series = frame[column]
        series = _value_mapped(series, mapping.values.get(column))
        field = mapping.fields.get(column, column)
        if column in choices:
            codes, messages = q.check_choices(
                series, choices[column], f"objects.{table}.values.{column}"
            )
            parts.append(q.collect(ids, field, frame[column], codes, messages))
        frame[column], codes, messages = _checked(series, canon.column(column).kind)
        if codes is not None:
            parts.append(q.collect(ids, field, series, codes, messages))
    if accounts is not None and ASSOCIATED_ACCOUNT in canon.column_names:
        keys = (
            frame[canon.key].astype("string")
            if canon.key in frame
            else pd.Series([], dtype="string")
        )
        frame[ASSOCIATED_ACCOUNT] = keys.map(lambda i: accounts.get(str(i))).astype("string")
    ordered = [c for c in canon.column_names if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in ordered]]
    return frame, q.combine(parts)


def _value_mapped(series: pd.Series, value_map: Mapping[str, str] | None) -> pd.Series:
    """`series` with the mapping's value map applied (values it does not name kept)."""
    if not value_map:
        return series
    mapped = series.map(value_map)
    return mapped.where(mapped.notna(), series)


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    """Lists of `size` items (the last one shorter)."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
