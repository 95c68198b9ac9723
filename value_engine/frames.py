"""Column helpers shared by the engine: account codes, day and month numbers.

Every child table (opportunities, tickets, invoices, finance) is linked to its account by
an integer code: the account's position in the accounts table sorted by account_id.
Dates become whole day numbers and months become month numbers (months since January
1970), so windows are integer comparisons and sums are `np.bincount` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mappings.canonical import FALSE_TEXTS, TRUE_TEXTS
from mappings.errors import DataError

NO_DAY = np.iinfo(np.int64).min
"""Day or month number of an empty date."""


@dataclass(frozen=True)
class AccountIndex:
    """The account ids in sorted order (position = account code) and their ERP ids."""

    ids: pd.Series
    erp_ids: pd.Series

    @property
    def size(self) -> int:
        return len(self.ids)


def account_index(accounts: pd.DataFrame) -> tuple[AccountIndex, pd.DataFrame]:
    """Sort accounts by id; a duplicated or empty account_id is a DataError."""
    if "account_id" not in accounts.columns:
        raise DataError("accounts: the column account_id is missing; add it")
    ids = accounts["account_id"]
    if ids.isna().any():
        rows = (np.flatnonzero(ids.isna().to_numpy())[:5] + 1).tolist()
        raise DataError(f"accounts: account_id is empty in row(s) {rows}; every account needs one")
    ordered = accounts.sort_values("account_id", kind="stable").reset_index(drop=True)
    dup = ordered["account_id"].duplicated()
    if dup.any():
        count = int(dup.sum())
        raise DataError(f"accounts: {count} account_id value(s) repeat; ids must be unique")
    erp = ordered["erp_id"] if "erp_id" in ordered.columns else pd.Series([None] * len(ordered))
    erp = erp.where(~erp.duplicated(keep=False))  # an ERP id shared by two accounts links none
    return AccountIndex(ordered["account_id"], erp.reset_index(drop=True)), ordered


def account_codes(frame: pd.DataFrame, index: AccountIndex) -> np.ndarray:
    """The account code of each row (-1 when unknown), by account_id, else erp_customer_id."""
    codes = np.full(len(frame), -1, dtype=np.int64)
    if "account_id" in frame.columns:
        codes = _lookup(frame["account_id"], index.ids)
    if "erp_customer_id" in frame.columns and index.erp_ids.notna().any():
        unknown = codes < 0
        if unknown.any():
            codes[unknown] = _lookup(frame["erp_customer_id"][unknown], index.erp_ids)
    return codes


def _lookup(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position in `keys` of each value (-1: not there or empty); keys are distinct or empty.

    Arrow-backed strings (the usual case) are looked up in a hash table of the keys alone, so
    the values are hashed once and never copied; other dtypes are factorised together with
    the keys (the keys first, so their codes give the positions directly).
    """
    if values.dtype != keys.dtype:
        values = values.astype(keys.dtype) if len(values) else values
    if _arrow_strings(keys) and len(values):
        found = pc.index_in(_arrow(values), value_set=_arrow(keys), skip_nulls=True)
        return np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)
    both = pd.concat([keys, values], ignore_index=True)
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    head, tail = codes[: len(keys)], codes[len(keys) :]
    table = np.full(int(codes.max(initial=-1)) + 2, -1, dtype=np.int64)
    known = head >= 0
    table[head[known]] = np.flatnonzero(known)
    return np.asarray(table[tail])


def _arrow_strings(column: pd.Series) -> bool:
    dtype = column.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _arrow(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The Arrow data behind an Arrow-backed string column (no copy)."""
    return pa.array(column.array)


def label_codes(values: pd.Series, labels: tuple[str, ...] | list[str]) -> np.ndarray:
    """Position of each value in `labels` (-1: empty or not a label); each distinct value once."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    table = np.append(
        pd.Index(list(labels), dtype=object).get_indexer(np.asarray(uniques, dtype=object)), -1
    )
    return np.asarray(table[codes].astype(np.int64, copy=False))


def day_numbers(column: pd.Series | None, length: int) -> np.ndarray:
    """Whole days since 1970-01-01 for each row; NO_DAY where the date is empty."""
    if column is None:
        return np.full(length, NO_DAY, dtype=np.int64)
    values = column
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = values.to_numpy()
    unit, count = np.datetime_data(stamps.dtype)
    per_day = int(np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype(np.int64)) // count
    raw = stamps.view(np.int64)
    # Integer floor division is exact and much faster than a datetime64 unit conversion.
    return np.where(np.isnat(stamps), NO_DAY, raw // per_day)


def month_of_day(days: np.ndarray) -> np.ndarray:
    """Month numbers (months since January 1970) of day numbers; NO_DAY stays NO_DAY.

    Looked up in a table of the days between the earliest and the latest date: a gather is
    far cheaper than a calendar conversion per row.
    """
    valid = days != NO_DAY
    if not valid.any():
        return np.full(len(days), NO_DAY, dtype=np.int64)
    first, last = int(days[valid].min()), int(days[valid].max())
    table = np.arange(first, last + 1).astype("datetime64[D]").astype("datetime64[M]")
    table = np.append(table.astype(np.int64), NO_DAY)
    return table[np.where(valid, days - first, last - first + 1)]


def period_months(column: pd.Series) -> np.ndarray:
    """Month numbers of a period column: 'YYYY-MM' text, pandas periods, or dates."""
    if isinstance(column.dtype, pd.PeriodDtype):
        valid = column.notna().to_numpy()
        out = np.full(len(column), NO_DAY, dtype=np.int64)
        out[valid] = (
            column[valid].dt.year * 12 + column[valid].dt.month - 1 - 1970 * 12
        ).to_numpy()
        return out
    if pd.api.types.is_datetime64_any_dtype(column):
        return month_of_day(day_numbers(column, len(column)))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    parsed = pd.to_datetime(
        pd.Series(uniques, dtype=object).astype(str), format="%Y-%m", errors="coerce"
    )
    table = np.append(month_of_day(day_numbers(parsed, len(parsed))), NO_DAY)
    return np.asarray(table[codes])


def as_of_numbers(as_of: date) -> tuple[int, int]:
    """(day number, month number) of the as-of date."""
    day = int(np.datetime64(as_of, "D").astype(np.int64))
    month = int(np.datetime64(as_of, "M").astype(np.int64))
    return day, month


def column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """The column, or None when the frame does not have it."""
    return frame[name] if name in frame.columns else None


def numbers(frame: pd.DataFrame, name: str, fill: float = np.nan) -> np.ndarray:
    """A column as float64 (empty -> `fill`); a missing column is all `fill`."""
    if name not in frame.columns:
        return np.full(len(frame), fill, dtype=np.float64)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(values), fill, values)


def truth_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A yes/no or count column as float64: numbers as they are, true/yes/1 (any case) -> 1,
    false/no/0 -> 0, anything else or empty -> NaN; a missing column is all NaN.

    Each distinct text is parsed once, so the cost does not grow with repeated values.
    """
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    column = frame[name]
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(column.dtype):
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    parsed = np.array([_truth(u) for u in uniques] + [np.nan], dtype=np.float64)
    return np.asarray(parsed[codes])


def _truth(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip().lower()
    if text in TRUE_TEXTS:
        return 1.0
    if text in FALSE_TEXTS and text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        return np.nan


def flags(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A boolean column as bool (true/yes/1 in any case; empty -> False); missing: all False."""
    values = truth_values(frame, name)
    return np.asarray(np.nan_to_num(values, nan=0.0) > 0, dtype=bool)


def texts_equal(frame: pd.DataFrame, name: str, value: str) -> np.ndarray:
    """Rows whose text column equals `value` (case-insensitive is the loader's job)."""
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray((frame[name] == value).fillna(False).to_numpy(dtype=bool))


def hundredths(values: np.ndarray) -> np.ndarray:
    """Values as whole hundredths (cents), still float64.

    Sums of whole numbers below 2^53 are exact in float64, so a total no longer depends on
    the order of the rows: permuting the input cannot change a single bit of the result.
    """
    return np.round(values * 100.0)


def per_account(
    codes: np.ndarray, n: int, weights: np.ndarray | None = None, where: np.ndarray | None = None
) -> np.ndarray:
    """Sum of `weights` (to the cent) or the count of rows per account code, over `where`.

    Rows with code -1 (no known account) drop out: they land in an extra bin that is cut off.
    """
    idx = codes if codes.min(initial=0) >= 0 else np.where(codes >= 0, codes, n)
    w = None if weights is None else hundredths(weights)
    if where is not None:
        w = where.astype(np.float64) if w is None else np.where(where, w, 0.0)
    sums = np.bincount(idx, weights=w, minlength=n + 1)[:n].astype(np.float64)
    return sums if weights is None else sums / 100.0
