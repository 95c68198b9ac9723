"""Turn a raw finance source into canonical columns, row-level checks returning bad rows as data.

Each check is vectorised over the whole column and yields quarantine rows (file, line,
source column, value as read, reason). A row with any problem is left out of the
canonical frame; the caller decides whether the share of such rows stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.finance_read import QUARANTINE_COLUMNS, RawTable, empty_quarantine
from mappings.canonical import FINANCE, INVOICES, Column
from mappings.errors import DataError
from mappings.finance import FINANCE_EXTRA, MATCH_COLUMNS, TableSource

KEYS = ("account_id", "erp_customer_id")
EXTRA_KINDS = {"domain": "str", "customer_name": "str", "invoice_id": "str"}


@dataclass
class Checked:
    """A validated table: canonical columns of the good rows, and the quarantine report."""

    frame: pd.DataFrame
    lines: np.ndarray
    problems: list[pd.DataFrame] = field(default_factory=list)

    def quarantine(self) -> pd.DataFrame:
        parts = [p for p in self.problems if len(p)]
        if not parts:
            return empty_quarantine()
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["line", "column"], kind="stable").reset_index(drop=True)


def columns_of(table: str) -> dict[str, Column]:
    """Every column a source for `table` may map, with its canonical kind."""
    canonical = FINANCE if table == "finance" else INVOICES
    cols = {c.name: c for c in canonical.columns}
    extra = FINANCE_EXTRA if table == "finance" else MATCH_COLUMNS
    for name in extra:
        cols.setdefault(name, Column(name, EXTRA_KINDS[name]))  # type: ignore[arg-type]
    return cols


def check_table(
    raw: RawTable,
    table: str,
    spec: TableSource,
    *,
    negatives_allowed: Sequence[str],
    corporate_currency: str,
    as_of_period: str | None = None,
) -> Checked:
    """Parse every mapped column, run the row checks, and keep the rows that passed."""
    _require_columns(raw, table, spec)
    kinds = columns_of(table)
    out: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = [raw.bad]
    bad = np.zeros(len(raw.frame), dtype=bool)
    for name, column in kinds.items():
        cspec = spec.column(name)
        if cspec is None or cspec.source not in raw.frame.columns:
            out[name] = pd.Series([None] * len(raw.frame), dtype=object)
            continue
        source = raw.frame[cspec.source].reset_index(drop=True)
        parsed, reasons = _parse(
            source,
            column,
            cspec.format,
            corporate_currency,
            (spec.source.decimal, spec.source.thousands),
        )
        if column.required:
            missing = _blank(source)
            reasons = reasons.mask(
                missing & reasons.isna(), "missing value; this column is required"
            )
        if column.kind == "float" and name not in negatives_allowed:
            negative = (parsed < 0).fillna(False).to_numpy(dtype=bool)
            reasons = reasons.mask(
                negative & reasons.isna(),
                f"negative {name} is not allowed; fix the sign, or list {name} under "
                "allow_negative in finance.yaml",
            )
        if name == "period" and as_of_period is not None:
            future = (parsed > as_of_period).fillna(False).to_numpy(dtype=bool)
            reasons = reasons.mask(
                future & reasons.isna(), f"period is after the run's month {as_of_period}"
            )
        out[name] = parsed
        problems.append(_report(raw, reasons, cspec.source, source))
        bad |= reasons.notna().to_numpy()
    frame = pd.DataFrame(out)
    bad |= _check_keys(raw, spec, frame, problems)
    bad |= _check_duplicates(raw, spec, frame, "invoice_id", problems)
    keep = ~bad
    return Checked(frame[keep].reset_index(drop=True), raw.lines[keep], problems)


def _require_columns(raw: RawTable, table: str, spec: TableSource) -> None:
    header = list(raw.frame.columns)
    missing = []
    for name in spec.columns:
        cspec = spec.column(name)
        if cspec is not None and not cspec.optional and cspec.source not in header:
            missing.append(f"'{cspec.source}' (for {name})")
    if not missing:
        return
    where = f"{raw.label}:1" if raw.unit == "line" else raw.label
    hint = ""
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        sep = next(s for s in ";\t|" if s in header[0])
        hint = f" The header looks {sep!r}-separated: set source.delimiter: {sep!r}."
    raise DataError(
        f"{where}: column(s) {', '.join(missing)} missing from the {table} source; it has "
        f"{', '.join(repr(h) for h in header) or 'no columns'}. Rename the column in the export "
        f"or map the right one under tables.{table}.columns in finance.yaml.{hint}"
    )


def _blank(source: pd.Series) -> np.ndarray:
    text = source.astype("string").str.strip()
    return (source.isna() | (text == "")).fillna(True).to_numpy(dtype=bool)


def _parse(
    source: pd.Series,
    column: Column,
    fmt: str | None,
    corporate: str,
    number: tuple[str, str | None],
) -> tuple[pd.Series, pd.Series]:
    """Parsed values and, per row, the reason it could not be parsed (None when fine)."""
    blank = _blank(source)
    if column.kind == "float":
        parsed = _to_number(source, *number)
        bad = ~blank & (parsed.isna() | np.isinf(parsed)).to_numpy()
        reason = (
            f"unparsable amount; write a number such as 1234{number[0]}50 "
            "(separators: source.decimal / source.thousands in finance.yaml)"
        )
        return parsed.where(~bad), _reasons(bad, reason)
    if column.kind in ("period", "date"):
        parsed_dt = _to_datetime(source, fmt, column.kind)
        bad = ~blank & parsed_dt.isna().to_numpy()
        expected = fmt or ("%Y-%m" if column.kind == "period" else "%Y-%m-%d")
        reason = f"unparsable date; expected the format {expected} (source format in finance.yaml)"
        if column.kind == "period":
            values = parsed_dt.dt.strftime("%Y-%m").astype(object).where(~bad & ~blank, None)
        else:
            values = parsed_dt.where(~bad)
        return values, _reasons(bad, reason)
    text = source.astype("string").str.strip().astype(object).where(~blank, None)
    if column.name == "currency":
        upper = text.astype("string").str.upper()
        bad = ~blank & ~upper.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy()
        values = upper.astype(object).where(~blank, corporate).where(~bad, None)
        return values, _reasons(bad, "unknown currency; use an ISO 4217 code such as EUR or USD")
    if column.choices:
        lower = text.astype("string").str.lower()
        bad = ~blank & ~lower.isin(column.choices).fillna(False).to_numpy()
        reason = f"{column.name} must be one of {', '.join(column.choices)}"
        return lower.astype(object).where(~bad & ~blank, None), _reasons(bad, reason)
    return text, _reasons(np.zeros(len(source), dtype=bool), "")


def _to_number(source: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(source) and not pd.api.types.is_bool_dtype(source):
        return source.astype("float64")
    # No guessing between "1.234" and "1,234": the separators are the mapping's choice.
    text = source.astype("string").str.strip()
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


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


def _reasons(bad: np.ndarray, reason: str) -> pd.Series:
    return pd.Series(reason, index=pd.RangeIndex(len(bad)), dtype=object).where(bad, None)


def _report(raw: RawTable, reasons: pd.Series, column: str, source: pd.Series) -> pd.DataFrame:
    mask = reasons.notna().to_numpy()
    if not mask.any():
        return empty_quarantine()
    return pd.DataFrame(
        {
            "file": raw.label,
            "line": raw.lines[mask],
            "column": column,
            "value": source[mask].astype("string").fillna("").astype(object).to_numpy(),
            "reason": reasons[mask].to_numpy(),
        },
        columns=QUARANTINE_COLUMNS,
    )


def _check_keys(
    raw: RawTable, spec: TableSource, frame: pd.DataFrame, problems: list[pd.DataFrame]
) -> np.ndarray:
    mapped = [k for k in KEYS if spec.column(k) is not None]
    no_key = np.ones(len(frame), dtype=bool)
    for key in mapped:
        no_key &= frame[key].isna().to_numpy()
    if no_key.any():
        present = [k for k in mapped if spec.column(k).source in raw.frame]  # type: ignore[union-attr]
        source = spec.column((present or mapped)[-1]).source  # type: ignore[union-attr]
        reasons = _reasons(no_key, f"no customer key; fill {' or '.join(mapped)}")
        values = raw.frame[source] if source in raw.frame else pd.Series([""] * len(frame))
        problems.append(_report(raw, reasons, source, values.reset_index(drop=True)))
    return no_key


def _check_duplicates(
    raw: RawTable, spec: TableSource, frame: pd.DataFrame, key: str, problems: list[pd.DataFrame]
) -> np.ndarray:
    cspec = spec.column(key)
    if cspec is None or frame[key].isna().all():
        return np.zeros(len(frame), dtype=bool)
    ids = frame[key]
    dup = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
    if not dup.any():
        return dup
    first_line = pd.Series(raw.lines, index=ids.index).groupby(ids).transform("min")
    reasons = pd.Series(
        np.where(dup, f"duplicate {key}; first seen on {raw.unit} " + first_line.astype(str), None),
        dtype=object,
    )
    problems.append(
        _report(raw, reasons, cspec.source, raw.frame[cspec.source].reset_index(drop=True))
    )
    return dup
