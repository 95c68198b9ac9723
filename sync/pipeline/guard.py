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

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import FieldInfo, ObjectSchema
from mappings.errors import DataError
from sync.pipeline.diff import STAMP, is_missing, kind_of
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
    # A missing value (the engine has none, e.g. no Deal Priority on a closed deal) is no
    # value: the change clears the field.
    new[is_missing(new)] = None
    for (column, field), rows in frame.groupby(["column", "field"], sort=False).indices.items():
        info = schema.get(str(field))
        if info is not None:
            present = rows[~is_missing(new[rows])]
            _fit_rows(kind_of(str(column)), info, present, new, codes, messages)
    out = frame.assign(new=new)
    bad_rows = ~is_missing(codes)
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


def _fit_rows(
    kind: str, info: FieldInfo, rows: np.ndarray, new: np.ndarray, codes: np.ndarray,
    messages: np.ndarray,
) -> None:  # fmt: skip
    """Fit the present values `new[rows]` of one field in place; a value that cannot be
    written keeps its computed value and gets a code and a reason."""
    if len(rows) == 0:
        return
    if kind in ("number", "currency"):
        numbers = np.asarray(new[rows], dtype="float64")
        infinite = ~np.isfinite(numbers)
        if info.scale is not None:
            numbers = half_up_array(numbers, info.scale)
        too_big = np.zeros(len(rows), dtype=bool)
        if info.precision:
            with np.errstate(invalid="ignore"):
                too_big = np.abs(numbers) >= 10.0 ** (info.precision - (info.scale or 0))
            too_big &= ~infinite
        ok = ~(infinite | too_big)
        new[rows[ok]] = np.asarray(numbers[ok].tolist(), dtype=object)
        codes[rows[infinite]] = "NON_FINITE"
        messages[rows[infinite]] = "the computed value is not a finite number"
        codes[rows[too_big]] = "OUT_OF_RANGE"
        messages[rows[too_big]] = (
            f"the computed value does not fit {info.name} (precision {info.precision}, "
            f"scale {info.scale or 0}); {PROVISION}"
        )
    elif kind == "text" and info.length:
        length = info.length
        new[rows] = np.asarray(
            [v[:length] if isinstance(v, str) else v for v in new[rows]], dtype=object
        )
    elif kind == "picklist" and info.picklist:
        labels = pd.Series(new[rows], dtype=object).astype(str)
        for i in rows[~labels.isin(list(info.picklist)).to_numpy()]:
            codes[i] = "NOT_AN_OPTION"
            messages[i] = f"'{new[i]}' is not an option of {info.name}; {PROVISION}"


def half_up(number: float, scale: int) -> float:
    """`number` rounded to `scale` decimals half away from zero, as Salesforce stores it
    (Python's round() goes to even: 56.5 -> 56, where the CRM keeps 57)."""
    if abs(number) >= 2.0**52:
        return number  # every double this large is a whole number: nothing to round
    quantum = Decimal(1).scaleb(-scale)
    return float(Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP))


def half_up_array(numbers: np.ndarray, scale: int) -> np.ndarray:
    """`half_up` of every number: numpy's rounding where the decimal digits are not near a
    tie (both give the double nearest the same decimal), `half_up` itself near a tie and
    where the scaled number is too large to be exact; non-finite numbers stay as they are."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.abs(numbers) * 10.0**scale
        near = (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) | ~(scaled < 2.0**52)
        out = np.round(numbers, scale)
    for i in np.flatnonzero(near & np.isfinite(numbers)):
        out[i] = half_up(float(numbers[i]), scale)
    return np.where(np.isfinite(numbers), out, numbers)


def _unchanged(frame: pd.DataFrame) -> np.ndarray:
    """Numbers that, rounded to their field's scale, equal what the CRM holds."""
    numeric = frame["column"].map(kind_of).isin(["number", "currency"]).to_numpy()
    if not numeric.any():
        return np.zeros(len(frame), dtype=bool)
    old = pd.to_numeric(frame["previous"].where(numeric), errors="coerce").to_numpy(float)
    new = pd.to_numeric(frame["new"].where(numeric), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.asarray(numeric & (np.abs(old - new) < 1e-9), dtype=bool)


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
