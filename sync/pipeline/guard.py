"""Every computed value checked against its target field before the first write call.

Describe says what a field holds: numbers are rounded to the field's scale (a score
written to a whole-number field is compared as the whole number the CRM keeps, so it
is not rewritten every run), text is cut to the field's length. A value that cannot be
written at all (not finite, more digits than the field's precision allows, a label that
is not one of a restricted picklist's options) sets its record aside: none of that
record's fields is written, and it is a rejected row of the run with the reason. When
more than `quarantine.max_share` of an object's records are set aside here, the run
stops before the first write: a crash can never leave a half-pushed run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import FieldInfo, ObjectSchema
from mappings.errors import DataError
from sync.pipeline.diff import STAMP, kind_of
from sync.pipeline.setup import Setup

REJECTED = ["object", "record_id", "field", "value", "code", "message"]
PROVISION = "run `valuesync fields provision`, or map the output to a field that holds it"


@dataclass
class Guarded:
    """The changes that may be written, and the records set aside (REJECTED columns)."""

    changes: dict[str, pd.DataFrame]
    rejected: pd.DataFrame


def guard(
    setup: Setup,
    describe: Any,
    changes: Mapping[str, pd.DataFrame],
) -> Guarded:
    """Changes fitted to their fields, the unwritable set aside (`enforce` then decides
    whether the run may go on). `describe(table)` gives the output object's ObjectSchema."""
    kept: dict[str, pd.DataFrame] = {}
    parts: list[pd.DataFrame] = []
    for table, frame in changes.items():
        if frame.empty:
            kept[table] = frame
            continue
        fitted, bad = fit(table, describe(table), frame)
        kept[table] = fitted
        parts.append(bad)
    rejected = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REJECTED)
    return Guarded(kept, rejected.reindex(columns=REJECTED))


def fit(table: str, schema: ObjectSchema, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changes fitted to the fields, rejected rows of the records set aside)."""
    new = frame["new"].to_numpy(dtype=object, copy=True)
    codes = np.full(len(frame), None, dtype=object)
    messages = np.full(len(frame), None, dtype=object)
    for (column, field), rows in frame.groupby(["column", "field"], sort=False).indices.items():
        info = schema.get(str(field))
        if info is None:
            continue
        for i in rows:
            new[i], codes[i], messages[i] = _fit_one(kind_of(str(column)), info, new[i])
    out = frame.assign(new=new)
    bad_rows = np.array([c is not None for c in codes], dtype=bool)
    bad_ids = set(out.loc[bad_rows, "record_id"].astype(str))
    rejected = pd.DataFrame(
        {
            "object": table,
            "record_id": out.loc[bad_rows, "record_id"].astype(str).to_numpy(),
            "field": out.loc[bad_rows, "field"].astype(str).to_numpy(),
            "value": [None if v is None else str(v)[:200] for v in frame["new"][bad_rows]],
            "code": codes[bad_rows],
            "message": messages[bad_rows],
        },
        columns=REJECTED,
    )
    keep = ~out["record_id"].astype(str).isin(bad_ids).to_numpy()
    out = out[keep & ~_unchanged(out)]
    return _no_lone_stamps(out).reset_index(drop=True), rejected


def _fit_one(kind: str, info: FieldInfo, value: Any) -> tuple[Any, str | None, str | None]:
    """(value as the field keeps it, code, reason) of one computed value. A missing value
    (None, NaN, NA: the engine has none, e.g. no Deal Priority on a closed deal) is no
    value: the change clears the field. Only infinities are non-finite numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None, None, None
    if kind in ("number", "currency"):
        number = float(value)
        if not math.isfinite(number):
            return value, "NON_FINITE", "the computed value is not a finite number"
        if info.scale is not None:
            number = half_up(number, info.scale)
        if info.precision:
            limit = 10.0 ** (info.precision - (info.scale or 0))
            if abs(number) >= limit:
                return (
                    value,
                    "OUT_OF_RANGE",
                    (
                        f"the computed value does not fit {info.name} (precision "
                        f"{info.precision}, scale {info.scale or 0}); {PROVISION}"
                    ),
                )
        return number, None, None
    if kind in ("text",) and info.length and isinstance(value, str):
        return value[: info.length], None, None
    if kind == "picklist" and info.picklist and str(value) not in info.picklist:
        return value, "NOT_AN_OPTION", f"'{value}' is not an option of {info.name}; {PROVISION}"
    return value, None, None


def half_up(number: float, scale: int) -> float:
    """`number` rounded to `scale` decimals half away from zero, as Salesforce stores it
    (Python's round() goes to even: 56.5 -> 56, where the CRM keeps 57)."""
    quantum = Decimal(1).scaleb(-scale)
    return float(Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP))


def _unchanged(frame: pd.DataFrame) -> np.ndarray:
    """Numbers that, rounded to their field's scale, equal what the CRM holds."""
    out = np.zeros(len(frame), dtype=bool)
    for i, (column, old, new) in enumerate(
        zip(frame["column"], frame["previous"], frame["new"], strict=True)
    ):
        if kind_of(str(column)) in ("number", "currency") and old is not None and new is not None:
            try:
                out[i] = abs(float(old) - float(new)) < 1e-9
            except (TypeError, ValueError):
                out[i] = False
    return out


def _no_lone_stamps(frame: pd.DataFrame) -> pd.DataFrame:
    """`scored_at` is written only on records with another change (see diff.py)."""
    if frame.empty:
        return frame
    other = frame.loc[frame["column"] != STAMP, "record_id"].astype(str)
    lone = (frame["column"] == STAMP).to_numpy() & ~frame["record_id"].astype(str).isin(
        set(other)
    ).to_numpy()
    return frame[~lone]


def enforce(setup: Setup, rejected: pd.DataFrame, totals: Mapping[str, int]) -> None:
    """DataError (nothing written) when more than quarantine.max_share of an output
    table's records (`totals`) were set aside."""
    limit = setup.mapping.quarantine.max_share
    over = []
    for table, part in rejected.groupby("object", sort=True) if len(rejected) else []:
        bad = part["record_id"].nunique()
        total = max(int(totals.get(str(table), 0)), bad, 1)
        if bad / total > limit:
            over.append(f"{table}: {bad:,} of {total:,} records ({bad / total:.1%})")
    if not over:
        return
    first = rejected.iloc[0]
    raise DataError(
        f"connection '{setup.name}': computed values that the CRM fields cannot hold in "
        f"{'; '.join(over)}, more than quarantine.max_share ({limit:.1%}) in "
        f"{setup.mapping_path} allows; nothing was written. First: {first['object']} record "
        f"{first['record_id']} field {first['field']}: {first['message']}."
    )
