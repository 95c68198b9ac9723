"""Read a finance source (CSV, Parquet, Excel, SQL query) into a raw frame with line numbers.

Values stay as the source gave them (CSV: text); parsing and validation happen in
`finance_validate`. Every row carries where it came from: the line in a CSV file, the
row in an Excel sheet (header = row 1), the row ordinal in Parquet and SQL results.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.finance.fast_csv import read_csv_fast
from mappings.errors import ConfigError, ConnectorError, DataError
from mappings.finance import SourceSpec, config_problem

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ["file", "line", "column", "value", "reason"]


@dataclass(frozen=True)
class RawTable:
    """A source read as-is: its rows, where each row came from, and rows that did not split."""

    frame: pd.DataFrame
    lines: np.ndarray
    label: str
    unit: str
    """"line" (CSV) or "row" (Excel, Parquet, SQL): what `lines` counts."""
    bad: pd.DataFrame
    """Quarantine rows for records that could not be split into the header's columns."""

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.bad)


def empty_quarantine() -> pd.DataFrame:
    """A quarantine report with no rows and the report's columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS}).astype(
        {"line": "int64"}
    )


def read_source(spec: SourceSpec, base_dir: Path) -> RawTable:
    """Read one source; a missing file is a ConfigError, an unreadable one a DataError."""
    started = time.monotonic()
    if spec.kind == "sql":
        raw = _read_sql(spec)
    else:
        path = Path(spec.path or "")
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise config_problem(
                path,
                f"the {spec.kind} finance source does not exist; check source.path in "
                f"finance.yaml or the data directory ({base_dir})",
            )
        reader = {"csv": _read_csv, "parquet": _read_parquet, "excel": _read_excel}[spec.kind]
        raw = reader(spec, path)
    log.info(
        "finance source %s: %d rows read, %d unsplittable, %.2fs",
        raw.label,
        raw.rows_read,
        len(raw.bad),
        time.monotonic() - started,
    )
    return raw


def _read_csv(spec: SourceSpec, path: Path) -> RawTable:
    encoding = "utf-8-sig" if spec.encoding.lower().replace("_", "-") == "utf-8" else spec.encoding
    fast = read_csv_fast(path, encoding, spec.delimiter)
    if fast is None:
        return _read_csv_exact(spec, path, encoding)
    header, frame, lines = fast
    label = str(path)
    header = _header(label, header)
    frame.columns = header
    return RawTable(frame, lines, label, "line", empty_quarantine())


def _header(label: str, header: list[str] | None) -> list[str]:
    if header is None or not any(h.strip() for h in header):
        raise DataError(
            f"{label}: the file is empty; a finance export needs a header line (line 1) "
            "naming its columns, then one row per line. Export it again with a header."
        )
    header = [h.strip() for h in header]
    _check_header(label, header)
    return header


def _read_csv_exact(spec: SourceSpec, path: Path, encoding: str) -> RawTable:
    """`csv.reader` line by line: the reference for rows, line numbers and messages."""
    label = str(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[str, int, str, str, str]] = []
    try:
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=spec.delimiter)
            header = _header(label, next(reader, None))
            width = len(header)
            previous = reader.line_num
            for record in reader:
                start = previous + 1
                previous = reader.line_num
                if len(record) == width:
                    rows.append(record)
                    lines.append(start)
                elif any(field.strip() for field in record):
                    bad.append(
                        (
                            label,
                            start,
                            "",
                            spec.delimiter.join(record)[:80],
                            f"the line has {len(record)} fields, the header has {width}; "
                            "fix the separators or quote the values that contain them",
                        )
                    )
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{label}: the file is not valid {spec.encoding} text (byte {exc.start}); save it "
            "as UTF-8 or set source.encoding in finance.yaml (e.g. cp1252)."
        ) from None
    except csv.Error as exc:
        raise DataError(
            f"{label}:{reader.line_num}: the CSV cannot be split ({exc}); fix the quoting on "
            "that line or export the file again."
        ) from None
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return RawTable(frame, np.asarray(lines, dtype="int64"), label, "line", _bad_frame(bad))


def _check_header(label: str, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                f"{label}:1: the column '{name}' appears twice in the header; rename one of "
                "them so each source column has one meaning."
            )
        seen.add(name)


def _bad_frame(bad: list[tuple[str, int, str, str, str]]) -> pd.DataFrame:
    if not bad:
        return empty_quarantine()
    return pd.DataFrame(bad, columns=QUARANTINE_COLUMNS).astype({"line": "int64"})


def _read_parquet(spec: SourceSpec, path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a broken file
        raise DataError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}); export it again or "
            "change source.kind in finance.yaml to match the file."
        ) from None
    frame = frame.reset_index(drop=True)
    return RawTable(frame, np.arange(1, len(frame) + 1), str(path), "row", empty_quarantine())


def _read_excel(spec: SourceSpec, path: Path) -> RawTable:
    sheet = 0 if spec.sheet is None else spec.sheet
    if path.suffix.lower() in (".xlsx", ".xlsm") and importlib.util.find_spec("openpyxl") is None:
        raise ConfigError(
            f"{path}: reading Excel files needs the openpyxl package; install it "
            "(pip install openpyxl) or export the sheet as CSV."
        )
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object)
    except ImportError:
        raise ConfigError(
            f"{path}: reading Excel files needs the openpyxl package; install it "
            "(pip install openpyxl) or export the sheet as CSV."
        ) from None
    except (ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: cannot read sheet {sheet!r} ({exc}); check source.sheet in finance.yaml."
        ) from None
    except Exception as exc:  # zipfile / openpyxl errors for a file that is not a workbook
        raise DataError(
            f"{path}: not a readable Excel workbook ({type(exc).__name__}); save it as .xlsx "
            "again or change source.kind in finance.yaml."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    # Row 1 of the sheet is the header, so data row i sits on sheet row i + 2.
    return RawTable(frame, np.arange(2, len(frame) + 2), str(path), "row", empty_quarantine())


def engine_for(spec: SourceSpec) -> sa.Engine:
    """An engine for a sql source's URL; ConfigError when the URL or its driver is unusable."""
    try:
        return sa.create_engine(spec.resolved_url())
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigError(
            f"finance source {spec.describe()}: cannot use this database URL "
            f"({type(exc).__name__}); check the dialect and that its driver is installed."
        ) from None


def database_error(label: str, exc: Exception) -> ConnectorError:
    """The driver's first line of a failed query, naming the source (never the password)."""
    # pandas wraps the SQLAlchemy error, which wraps the driver's: report the driver's.
    inner = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
    orig = getattr(inner, "orig", None) or inner or exc
    text = str(orig).strip()
    first = text.splitlines()[0] if text else type(orig).__name__
    return ConnectorError(
        f"{label}: {first}; check the query and the database in finance.yaml",
        system="finance",
        operation="sql query",
    )


def _read_sql(spec: SourceSpec) -> RawTable:
    label = spec.describe()
    engine = engine_for(spec)
    if spec.table is not None:
        schema, _, name = spec.table.rpartition(".")
        stmt: sa.Executable = sa.select(sa.text("*")).select_from(
            sa.table(name, schema=schema or None)
        )
    else:
        stmt = sa.text(spec.query or "")
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_query(stmt, conn)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise database_error(label, exc) from None
    finally:
        engine.dispose()
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, np.arange(1, len(frame) + 1), label, "row", empty_quarantine())
