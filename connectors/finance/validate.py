"""Turn a raw finance source into canonical columns, row-level checks returning bad rows as data.

Each check is vectorised over the whole column and yields quarantine rows (file, line,
source column, value as read, reason). A row with any problem is left out of the
canonical frame; the caller decides whether the share of such rows stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.finance.parse import parse_column
from connectors.finance.read import QUARANTINE_COLUMNS, RawTable, empty_quarantine
from mappings.canonical import FINANCE, INVOICES, Column
from mappings.errors import DataError
from mappings.finance import FINANCE_EXTRA, MATCH_COLUMNS, QuarantineSpec, TableSource

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


class Reasons:
    """Per row, the first problem found (code 0: none) and the text of each code."""

    def __init__(self, rows: int) -> None:
        self.code = np.zeros(rows, dtype=np.int16)
        self.texts: list[str] = []

    def add(self, mask: np.ndarray, text: str) -> None:
        """`text` for the rows in `mask` that have no reason yet."""
        new = mask & (self.code == 0)
        if new.any():
            self.texts.append(text)
            self.code[new] = len(self.texts)

    @property
    def bad(self) -> np.ndarray:
        return self.code > 0

    def of(self, mask: np.ndarray) -> np.ndarray:
        """The reason of each row in `mask`."""
        return np.asarray(np.asarray(self.texts, dtype=object)[self.code[mask] - 1])


def check_table(
    raw: RawTable,
    table: str,
    spec: TableSource,
    *,
    negatives_allowed: Sequence[str],
    corporate_currency: str,
    as_of_period: str | None = None,
    quarantine: QuarantineSpec | None = None,
) -> Checked:
    """Parse every mapped column, run the row checks, and keep the rows that passed."""
    limits = quarantine or QuarantineSpec()
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
        parsed = parse_column(
            source,
            column,
            cspec.format,
            corporate_currency,
            (spec.source.decimal, spec.source.thousands),
        )
        reasons = Reasons(len(source))
        reasons.add(parsed.bad, parsed.reason)
        if column.required:
            reasons.add(parsed.blank, "missing value; this column is required")
        if column.kind == "float":
            huge = (parsed.values.abs() > limits.max_amount).fillna(False).to_numpy(dtype=bool)
            reasons.add(
                huge,
                f"{name} is beyond ±{limits.max_amount:,.0f}, not a real amount; fix the cell "
                "(or raise quarantine.max_amount in finance.yaml)",
            )
        if column.kind == "float" and name not in negatives_allowed:
            reasons.add(
                (parsed.values < 0).fillna(False).to_numpy(dtype=bool),
                f"negative {name} is not allowed; fix the sign, or list {name} under "
                "allow_negative in finance.yaml",
            )
        if name == "period" and as_of_period is not None:
            future = (parsed.values > as_of_period).fillna(False).to_numpy(dtype=bool)
            reasons.add(future, f"period is after the run's month {as_of_period}")
        out[name] = parsed.values
        problems.append(_report(raw, reasons.bad, reasons.of, cspec.source, source))
        bad |= reasons.bad
    frame = pd.DataFrame(out)
    bad |= _check_exact_duplicates(raw, limits, problems)
    bad |= _check_keys(raw, spec, frame, problems)
    bad |= _check_duplicates(raw, spec, frame, "invoice_id", problems)
    if not bad.any():
        return Checked(frame, raw.lines, problems)
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


def _reasons(reason: str) -> Callable[[np.ndarray], np.ndarray]:
    """The same reason for every bad row."""
    return lambda mask: np.full(int(mask.sum()), reason, dtype=object)


def _report(
    raw: RawTable,
    bad: np.ndarray,
    reasons: Callable[[np.ndarray], np.ndarray],
    column: str,
    source: pd.Series,
) -> pd.DataFrame:
    if not bad.any():
        return empty_quarantine()
    return pd.DataFrame(
        {
            "file": raw.label,
            "line": raw.lines[bad],
            "column": column,
            "value": source[bad].astype("string").fillna("").astype(object).to_numpy(),
            "reason": reasons(bad),
        },
        columns=QUARANTINE_COLUMNS,
    )


def _check_exact_duplicates(
    raw: RawTable, limits: QuarantineSpec, problems: list[pd.DataFrame]
) -> np.ndarray:
    """Rows identical in every column to an earlier row: quarantined, or a DataError."""
    if raw.frame.empty:
        return np.zeros(0, dtype=bool)
    dup = np.asarray(raw.frame.duplicated(keep="first"), dtype=bool)
    if not dup.any():
        return dup
    groups = raw.frame.groupby(list(raw.frame.columns), dropna=False, sort=False).ngroup()
    first_line = pd.Series(raw.lines).groupby(groups.to_numpy()).transform("min").to_numpy()
    unit = raw.unit
    if limits.duplicates == "error":
        pairs = ", ".join(
            f"{unit} {a} repeats {unit} {b}"
            for a, b in list(zip(raw.lines[dup], first_line[dup], strict=True))[:5]
        )
        raise DataError(
            f"{raw.label}: {int(dup.sum())} row(s) are exact copies of earlier rows ({pairs}); "
            "summed they would double that revenue, so the run stopped before writing. "
            "Remove the copies from the export (or set quarantine.duplicates: quarantine "
            "in finance.yaml to set them aside)."
        )
    reasons = np.array(
        [f"exact duplicate of {unit} {n}; remove the copy from the export" for n in first_line],
        dtype=object,
    )
    first_col = str(raw.frame.columns[0])
    problems.append(
        _report(
            raw,
            dup,
            lambda mask: reasons[mask],
            first_col,
            raw.frame[first_col].reset_index(drop=True),
        )  # fmt: skip
    )
    return dup


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
        reason = _reasons(f"no customer key; fill {' or '.join(mapped)}")
        values = raw.frame[source] if source in raw.frame else pd.Series([""] * len(frame))
        problems.append(_report(raw, no_key, reason, source, values.reset_index(drop=True)))
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
        return np.asarray(dup)
    first_line = pd.Series(raw.lines, index=ids.index).groupby(ids).transform("min")
    reasons = f"duplicate {key}; first seen on {raw.unit} " + first_line.astype(str)
    problems.append(
        _report(
            raw,
            dup,
            lambda mask: reasons[mask].to_numpy(dtype=object),
            cspec.source,
            raw.frame[cspec.source].reset_index(drop=True),
        )
    )
    return np.asarray(dup)
