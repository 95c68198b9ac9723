"""Parse one finance source column (amount, date, period, text) and say which values are bad.

Every parse here is value by value, so a text column is parsed once per distinct value and
spread back over the rows (an export repeats each customer's id, name and domain and each
month ~100,000 times). Amounts have too many distinct values for that; plain decimals go
through pyarrow's parser when every value in the column is one (see `_to_number`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mappings.canonical import Column

PLAIN = np.zeros(256, dtype=bool)
PLAIN[[*b"0123456789.-"]] = True
PLAIN_MAX = 15
"""Characters of a plain decimal: with at most 15 digits it is m / 10**k with both exact in
a double, so every correctly rounding parser (pandas' precise_xstrtod, Arrow's fast_float)
gives the same value."""


@dataclass(frozen=True)
class Parsed:
    """One parsed column: values (None / NaN / NaT where bad or blank), and why rows are bad."""

    values: pd.Series
    bad: np.ndarray
    reason: str
    blank: np.ndarray


def parse_column(
    source: pd.Series,
    column: Column,
    fmt: str | None,
    corporate: str,
    number: tuple[str, str | None],
) -> Parsed:
    """Parsed values and which rows could not be parsed (`reason` says why)."""
    if column.kind == "float":
        blank = _blank(source)
        parsed = _to_number(source, *number)
        bad = ~blank & (parsed.isna() | np.isinf(parsed)).to_numpy()
        reason = (
            f"unparsable amount (or nan / inf); write a number such as 1234{number[0]}50 "
            "(separators: source.decimal / source.thousands in finance.yaml)"
        )
        return Parsed(parsed.where(~bad), bad, reason, blank)
    if not len(source) or pd.api.types.is_datetime64_any_dtype(source):
        return _parse_text(source, column, fmt, corporate)
    # The rest depends on the text of each value alone: parse each distinct value once.
    # (As text first: 1, 1.0 and True are one value to a hash table, not to str().)
    text = source.astype("string")
    codes, uniques = text.array.factorize()
    distinct = pd.Series(uniques)
    if (codes < 0).any():
        missing = pd.Series([pd.NA], dtype=text.dtype)
        distinct = pd.concat([distinct, missing], ignore_index=True)
        codes = np.where(codes < 0, len(distinct) - 1, codes)
    one = _parse_text(distinct, column, fmt, corporate)
    return Parsed(
        one.values.take(codes).reset_index(drop=True),
        one.bad[codes],
        one.reason,
        one.blank[codes],
    )


def _parse_text(source: pd.Series, column: Column, fmt: str | None, corporate: str) -> Parsed:
    blank = _blank(source)
    if column.kind in ("period", "date"):
        parsed_dt = _to_datetime(source, fmt, column.kind)
        bad = ~blank & parsed_dt.isna().to_numpy()
        expected = fmt or ("%Y-%m" if column.kind == "period" else "%Y-%m-%d")
        reason = f"unparsable date; expected the format {expected} (source format in finance.yaml)"
        if column.kind == "period":
            values = parsed_dt.dt.strftime("%Y-%m").astype(object).where(~bad & ~blank, None)
        else:
            values = parsed_dt.where(~bad)
        return Parsed(values, bad, reason, blank)
    text = source.astype("string").str.strip().astype(object).where(~blank, None)
    if column.name == "currency":
        upper = text.astype("string").str.upper()
        bad = ~blank & ~upper.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy()
        values = upper.astype(object).where(~blank, corporate).where(~bad, None)
        return Parsed(
            values, bad, "unknown currency; use an ISO 4217 code such as EUR or USD", blank
        )
    if column.choices:
        lower = text.astype("string").str.lower()
        bad = ~blank & ~lower.isin(column.choices).fillna(False).to_numpy()
        reason = f"{column.name} must be one of {', '.join(column.choices)}"
        return Parsed(lower.astype(object).where(~bad & ~blank, None), bad, reason, blank)
    return Parsed(text, np.zeros(len(source), dtype=bool), "", blank)


def _blank(source: pd.Series) -> np.ndarray:
    text = source.astype("string").str.strip()
    return np.asarray((source.isna() | (text == "")).fillna(True).to_numpy(dtype=bool))


def _to_number(source: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(source) and not pd.api.types.is_bool_dtype(source):
        return source.astype("float64")
    # No guessing between "1.234" and "1,234": the separators are the mapping's choice.
    text = source.astype("string").str.strip()
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    plain = _plain_decimals(text)
    if plain is not None:
        return plain
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _plain_decimals(text: pd.Series) -> pd.Series | None:
    """The column parsed by Arrow when every value is a plain decimal or empty, else None.

    to_numeric's result for one value can depend on the others (all integers -> int64, a
    huge integer -> uint64 or float), but not for plain decimals: each is exact as an int
    and correctly rounded as a float. "-0" is the exception (int 0, float -0.0): not plain.
    """
    arr = pa.array(text.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not isinstance(arr, pa.LargeStringArray):
        arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = arr.buffers()[2]
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    if not PLAIN[chars].all():
        return None  # a letter, a space, an exponent, "1,5": to_numeric decides
    length = np.diff(offsets)
    present = arr.is_valid().to_numpy(zero_copy_only=False)
    plain = present & (length > 0) & (length <= PLAIN_MAX)
    if not (plain | ~present | (length == 0)).all():
        return None
    try:
        values = pc.cast(arr.filter(pa.array(plain)), pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # "-", "1-2", "1.2.3": to_numeric decides
    if ((values == 0) & np.signbit(values)).any():
        return None
    out = np.full(len(arr), np.nan)
    out[plain] = values
    return pd.Series(out, index=text.index)


def _to_datetime(source: pd.Series, fmt: str | None, kind: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(source):
        values = source.dt.tz_localize(None) if source.dt.tz is not None else source
        return values.dt.normalize()
    text = source.astype("string").str.strip()
    if fmt:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    first = "%Y-%m" if kind == "period" else "%Y-%m-%d"
    parsed = pd.to_datetime(text, format=first, errors="coerce")
    rest = parsed.isna() & text.notna()
    if rest.any():
        parsed = parsed.fillna(pd.to_datetime(text.where(rest), format="ISO8601", errors="coerce"))
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.dt.normalize()
