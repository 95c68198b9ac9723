"""CRM values that cannot be read, found column by column and returned as data.

A pulled value that cannot be parsed into its canonical kind (text in a number field, an
integer beyond 2^63, `inf`, a 17-digit epoch, a date in the year 9999) or a picklist
value the mapping does not translate into an allowed canonical code sets its record
aside: the frames code returns such records in `Page.rejected` (record_id, field,
value, code, message) and leaves them out of the page, so one bad record never stops
the others. The pipeline stores them as rejected rows and decides whether too many
are bad to go on. Vendor-neutral: both connectors' frames use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mappings.canonical import ADVOCACY_SIGNALS, FALSE_TEXTS, TABLES, TRUE_TEXTS

REJECTED_COLUMNS = ["record_id", "field", "value", "code", "message"]
INT_LIMIT = 2.0**63
"""Whole numbers must fit a signed 64-bit integer (HubSpot sends any digits as text)."""
FLOAT_LIMIT = 1e18
"""Larger numbers are not amounts (Salesforce numbers hold at most 18 digits)."""
EPOCH_MS_RANGE = (-2_208_988_800_000, 7_258_118_400_000)
"""Epoch milliseconds of 1900-01-01 and 2200-01-01: dates outside are out of range."""
YEAR_RANGE = (1900, 2199)
VALUE_CHARS = 200
"""A rejected value is stored cut to this many characters."""
_TRUE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def empty_rejected() -> pd.DataFrame:
    """A rejected-records frame with no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REJECTED_COLUMNS})


def _given(raw: pd.Series) -> np.ndarray:
    s = raw.astype(object)
    mask = s.notna().to_numpy() & (s.astype(str).str.strip() != "").to_numpy()
    return np.asarray(mask, dtype=bool)


def _reasons(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def check_numbers(raw: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(numbers as float64 with bad ones NaN, code per row or None, message per row)."""
    given = _given(raw)
    values = raw.astype(object).where(pd.Series(given, index=raw.index), None)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(copy=True)
    codes, messages = _reasons(len(raw)), _reasons(len(raw))
    unparsed = given & np.isnan(numbers)
    infinite = given & np.isinf(numbers)
    limit = INT_LIMIT if kind == "int" else FLOAT_LIMIT
    with np.errstate(invalid="ignore"):
        huge = given & np.isfinite(numbers) & (np.abs(numbers) >= limit)
    what = "a whole number" if kind == "int" else "a number"
    codes[unparsed], messages[unparsed] = "NOT_A_NUMBER", f"not {what}"
    codes[infinite], messages[infinite] = "NON_FINITE", "not a finite number"
    span = "a signed 64-bit integer (beyond 2^63)" if kind == "int" else f"±{limit:.0e}"
    codes[huge], messages[huge] = "OUT_OF_RANGE", f"out of range: outside {span}"
    numbers[unparsed | infinite | huge] = np.nan
    return pd.Series(numbers, index=raw.index), codes, messages


def check_booleans(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(booleans, code, message): anything but true/false/1/0/yes/no is bad."""
    given = _given(raw)
    text = raw.astype("string").str.strip().str.lower()
    mapped = text.map(_TRUE).astype("boolean")
    bad = given & mapped.isna().to_numpy()
    codes, messages = _reasons(len(raw)), _reasons(len(raw))
    codes[bad], messages[bad] = "NOT_A_BOOLEAN", "not true or false"
    return mapped, codes, messages


def check_datetimes(
    raw: pd.Series, *, date_only: bool = False, epoch: bool = False
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(UTC timestamps, code, message). `epoch`: all-digit values are epoch milliseconds
    (HubSpot); `date_only`: YYYY-MM-DD. Outside 1900-2199 is out of range."""
    given = _given(raw)
    text = raw.astype("string").str.strip()
    is_epoch = (
        text.str.fullmatch(r"-?\d{10,}").fillna(False).to_numpy(dtype=bool)
        if epoch
        else np.zeros(len(raw), dtype=bool)
    )
    codes, messages = _reasons(len(raw)), _reasons(len(raw))
    iso = text.where(pd.Series(~is_epoch, index=raw.index))
    if date_only:
        out = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce", utc=True)
    else:
        out = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True)
    out = out.astype("datetime64[us, UTC]")
    far = np.zeros(len(raw), dtype=bool)
    if is_epoch.any():
        ms = pd.to_numeric(text.where(pd.Series(is_epoch, index=raw.index)), errors="coerce")
        ms_values = ms.astype("float64").to_numpy()
        low, high = EPOCH_MS_RANGE
        with np.errstate(invalid="ignore"):
            far = is_epoch & ~((ms_values >= low) & (ms_values < high))
        usable = ms.where(pd.Series(is_epoch & ~far, index=raw.index))
        stamps = pd.to_datetime(usable, unit="ms", utc=True, errors="coerce")
        out = out.where(pd.Series(~is_epoch, index=raw.index), stamps.astype(out.dtype))
    years = out.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        far |= given & ~np.isnan(years) & ((years < YEAR_RANGE[0]) | (years > YEAR_RANGE[1]))
    unparsed = given & out.isna().to_numpy() & ~far
    codes[unparsed] = "NOT_A_DATE"
    messages[unparsed] = "not a date (YYYY-MM-DD)" if date_only else "not a date and time"
    codes[far], messages[far] = "OUT_OF_RANGE", "date out of range (before 1900 or after 2199)"
    out = out.where(pd.Series(~(unparsed | far), index=raw.index))
    return out, codes, messages


def check_choices(
    mapped: pd.Series, choices: Sequence[str], where: str
) -> tuple[np.ndarray, np.ndarray]:
    """(code, message) for values (after the value map) that are not canonical choices;
    `where`: the mapping key path to add the CRM value under."""
    given = _given(mapped)
    ok = mapped.astype(object).isin(list(choices)).to_numpy()
    bad = given & ~ok
    codes, messages = _reasons(len(mapped)), _reasons(len(mapped))
    codes[bad] = "UNMAPPED_VALUE"
    messages[bad] = (
        f"picklist value not mapped: add it under {where} with one of {', '.join(choices)}"
    )
    return codes, messages


def signals_of(table: str) -> tuple[str, ...]:
    """Columns of `table` read as yes/no or a count (advocacy signals of accounts)."""
    return ADVOCACY_SIGNALS if table == "accounts" else ()


def check_signal(mapped: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(code, message) for yes/no-or-count values (after the value map) that are neither:
    text such as 'maybe', a negative, non-finite or unparseable number. Without this the
    engine would read them as "no data" and drop the signal without a word."""
    given = _given(mapped)
    values = mapped.astype(object)
    text = values.astype(str).str.strip().str.lower()
    yes_no = text.isin(TRUE_TEXTS | FALSE_TEXTS).to_numpy()
    numbers = pd.to_numeric(values.where(~pd.Series(yes_no, index=mapped.index)), errors="coerce")
    counts = numbers.astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        count_ok = np.isfinite(counts) & (counts >= 0)
    bad = given & ~yes_no & ~count_ok
    codes, messages = _reasons(len(mapped)), _reasons(len(mapped))
    codes[bad] = "UNREADABLE_VALUE"
    messages[bad] = (
        "not yes/no or a count: this signal takes true/false, yes/no, 1/0 or a count of 0 "
        f"or more; map other values under {where}"
    )
    return codes, messages


def collect(
    ids: pd.Series,
    field: str,
    raw: pd.Series,
    codes: np.ndarray,
    messages: np.ndarray,
) -> pd.DataFrame:
    """The rejected rows of one column (rows with a code), as REJECTED_COLUMNS."""
    bad = np.array([c is not None for c in codes], dtype=bool)
    if not bad.any():
        return empty_rejected()
    values = raw.astype(object).to_numpy()[bad]
    return pd.DataFrame(
        {
            "record_id": ids.astype(object).to_numpy()[bad].astype(str),
            "field": field,
            "value": [None if v is None else str(v)[:VALUE_CHARS] for v in values],
            "code": codes[bad],
            "message": messages[bad],
        },
        columns=REJECTED_COLUMNS,
    )


def combine(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One rejected frame of several columns' rejected rows."""
    found = [p for p in parts if len(p)]
    if not found:
        return empty_rejected()
    return pd.concat(found, ignore_index=True)[REJECTED_COLUMNS]


def without(frame: pd.DataFrame, key: str, rejected: pd.DataFrame) -> pd.DataFrame:
    """`frame` without the records named in `rejected` (by the key column)."""
    if rejected.empty or key not in frame.columns:
        return frame
    bad = frame[key].astype(str).isin(set(rejected["record_id"].astype(str)))
    return frame[~bad.to_numpy()].reset_index(drop=True)


def choices_of(table: str) -> dict[str, tuple[str, ...]]:
    """Canonical columns of `table` whose values must be among fixed choices."""
    return {c.name: c.choices for c in TABLES[table].columns if c.choices}


def uncovered(
    table: str, column: str, options: Sequence[str], value_map: dict[str, str] | None
) -> list[str]:
    """Options a CRM picklist offers for `column` that the value map does not turn into
    one of the column's canonical choices, or into a yes/no or count for a signal column
    (records holding them would be set aside)."""
    lookup = value_map or {}
    allowed = set(choices_of(table).get(column, ()))
    if not allowed:
        if column not in signals_of(table):
            return []
        mapped = pd.Series([lookup.get(o, o) for o in options if o], dtype=object)
        codes, _ = check_signal(mapped, "")
        return [o for o, c in zip([o for o in options if o], codes, strict=True) if c]
    return [o for o in options if o and lookup.get(o, o) not in allowed]


def uncovered_message(obj: str, field: str, table: str, column: str, values: list[str]) -> str:
    """The `check` problem text for `uncovered` options, with the key path to add them."""
    shown = ", ".join(repr(v) for v in values[:10])
    more = f" and {len(values) - 10} more" if len(values) > 10 else ""
    choices = choices_of(table).get(column) or ("yes", "no")
    allowed = ", ".join(choices_of(table).get(column) or ("yes", "no", "a count"))
    return (
        f"{obj}.{field} offers picklist value(s) {shown}{more} that no entry maps to a "
        f"{column} ({allowed}); records holding one are set aside by `run`. Add each under "
        f"objects.{table}.values.{column}, e.g. `{values[0]}: {choices[0]}`"
    )
