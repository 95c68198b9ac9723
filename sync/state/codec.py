"""Bulk writes and JSON encoding for the state database (SQLAlchemy Core, no ORM rows).

`upsert` is the dialect's `INSERT ... ON CONFLICT DO UPDATE` (SQLite and PostgreSQL share
the construct), executed as executemany in chunks. Frames become JSON text with pandas'
vectorised `to_json`, never a Python loop over cells.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mappings.canonical import TABLES
from mappings.errors import StateError

CHUNK = 5_000
COPY_FROM = 2_000
"""PostgreSQL upserts of more rows than this go through COPY and a temporary table."""
SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's SQLite DateTime stores a timestamp (UTC, no offset)."""


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str] | None,
    *,
    update: Iterable[str] | None = None,
    prepared: bool = False,
) -> None:
    """Insert `rows`; with `key`, rows whose key exists update `update` (default: all others).

    The statement is the dialect's `insert().on_conflict_do_update()`, compiled once and run
    as a DBAPI executemany per chunk: per-row SQLAlchemy type processing would cost more
    than the database does for 100k rows. Values are made driver-ready here instead
    (`prepared`: the caller already did, as `mirror_rows` does for whole columns).
    """
    if not rows:
        return
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise StateError(f"the state database dialect '{name}' is not supported")
    columns = list(rows[0])
    stmt: Any = (sqlite.insert if name == "sqlite" else postgresql.insert)(table)
    if key is not None:
        changed = list(update) if update is not None else [c for c in columns if c not in key]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in changed}
        )
    stamps = [c for c in columns if isinstance(getattr(table.c[c].type, "impl", None), sa.DateTime)]
    if name == "postgresql" and len(rows) > COPY_FROM:
        _copy_upsert(conn, table, rows, columns, stmt, prepared, stamps)
        return
    compiled = stmt.values({c: sa.bindparam(c) for c in columns}).compile(dialect=conn.dialect)
    order = list(compiled.positiontup or []) if compiled.positional else None
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        values = {c: [r[c] for r in chunk] for c in columns}
        if not prepared:
            for c in stamps:
                values[c] = [driver_stamp(v, name) for v in values[c]]
        params: list[Any] = (
            list(zip(*(values[c] for c in order), strict=True))
            if order is not None
            else [
                dict(zip(columns, row, strict=True)) for row in zip(*values.values(), strict=True)
            ]
        )
        conn.exec_driver_sql(compiled.string, params)


def _copy_upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    columns: list[str],
    stmt: Any,
    prepared: bool,
    stamps: list[str],
) -> None:
    """PostgreSQL, many rows: COPY into a temporary table, then the same ON CONFLICT upsert
    as INSERT ... SELECT (executemany costs a round trip per row even when pipelined)."""
    temp = f"tmp_{table.name}"
    cols = ", ".join(columns)
    # Only the given columns, no constraints: LIKE would copy NOT NULL of a serial id
    # without its default, and COPY of rows without an id would fail.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {temp}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "
        f"SELECT {cols} FROM {table.name} WITH NO DATA"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {temp} ({cols}) FROM STDIN") as copy:
        for row in rows:
            values = [row[c] for c in columns]
            if not prepared:
                values = [driver_stamp(v, "postgresql") if c in stamps else v
                          for c, v in zip(columns, values, strict=True)]  # fmt: skip
            copy.write_row(values)
    source = sa.table(temp, *[sa.column(c) for c in columns])
    select = sa.select(*[source.c[c] for c in columns])
    conn.execute(stmt.from_select(columns, select))


def driver_stamp(value: datetime | str | None, dialect: str) -> Any:
    """A timestamp as the driver takes it: aware UTC (PostgreSQL), naive UTC text (SQLite).

    Text is taken to be SQLITE_STAMP in UTC already (mirror_rows formats whole columns).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if dialect == "sqlite" else value + "+00"
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if dialect == "sqlite":
        return aware.strftime(SQLITE_STAMP)
    return aware


def json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (NaN/NaT -> null, datetimes ISO-8601)."""
    if frame.empty:
        return []
    frame = frame.assign(
        **{
            str(c): _iso(frame[c])
            for c, dtype in frame.dtypes.items()
            if pd.api.types.is_datetime64_any_dtype(dtype)
        }
    )
    text = frame.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
    lines = text.rstrip("\n").split("\n")
    if len(lines) != len(frame):  # only if a value held a raw newline, which JSON escapes
        raise StateError("could not encode the rows as JSON lines")
    return list(lines)


def _iso(values: pd.Series) -> pd.Series:
    """ISO-8601 text per timestamp, vectorised (to_json's own date path is 5x slower)."""
    aware = isinstance(values.dtype, pd.DatetimeTZDtype)
    text = stamp_text(values, sep="T", suffix="Z" if aware else "")
    return pd.Series(text, index=values.index, dtype=object)


def stamp_text(values: pd.Series, *, sep: str = " ", suffix: str = "") -> np.ndarray:
    """`%Y-%m-%d{sep}%H:%M:%S.%f{suffix}` per timestamp (aware ones in UTC), None for NaT.

    numpy's datetime_as_string is C code, about 3x faster than pandas' strftime, which
    formats each value through Python (a third of mirroring a page went there).
    """
    stamps = pd.to_datetime(values, utc=isinstance(values.dtype, pd.DatetimeTZDtype))
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[us]")
    fixed = np.datetime_as_string(raw, unit="us")  # YYYY-MM-DDTHH:MM:SS.ffffff, or NaT
    if sep != "T" and len(fixed):
        width = fixed.dtype.itemsize // np.dtype("U1").itemsize
        fixed.view("U1").reshape(len(fixed), width)[:, 10] = sep
    if suffix:
        fixed = np.char.add(fixed, suffix)
    out = fixed.astype(object)
    out[np.isnat(raw)] = None
    return np.asarray(out)


def mirror_rows(
    frame: pd.DataFrame,
    *,
    key: str,
    connection: str,
    table: str,
    run_id: int | None,
    now: datetime,
    dialect: str,
    version: int | None = None,
) -> list[dict[str, Any]]:
    """Mirror rows for a canonical frame, driver-ready: key, JSON data, modified stamp (UTC)."""
    if key not in frame.columns:
        raise StateError(f"cannot mirror {table}: the key column '{key}' is not in the frame")
    if frame[key].isna().any():
        raise StateError(f"cannot mirror {table}: some rows have no {key}; reject them first")
    data = json_lines(frame)
    updated = driver_stamp(now, dialect)
    ids = frame[key].astype(str).tolist()
    if "modified_at" in frame.columns:
        stamps = pd.to_datetime(frame["modified_at"], utc=True, errors="coerce")
        modified = stamp_text(stamps, suffix="" if dialect == "sqlite" else "+00").tolist()
    else:
        modified = [None] * len(frame)
    return [
        {
            "connection": connection,
            "table_name": table,
            "record_id": rid,
            "data": d,
            "modified_at": m,
            "deleted": False,
            "run_id": run_id,
            "updated_at": updated,
            "version": version,
        }
        for rid, d, m in zip(ids, data, modified, strict=True)
    ]


def decode_frame(data: Sequence[str], table: str) -> pd.DataFrame:
    """Mirror JSON back into a frame, restoring canonical datetime and date columns."""
    frame = (
        pd.DataFrame.from_records(orjson.loads("[" + ",".join(data) + "]"))
        if data
        else pd.DataFrame()
    )
    return restore_canonical(frame, table)


def restore_canonical(frame: pd.DataFrame, table: str, unit: str | None = None) -> pd.DataFrame:
    """Canonical datetime columns as aware UTC, date columns as naive midnight (ISO text or
    datetimes in; `unit`: the resolution to hold them in, else as parsed)."""
    canonical = TABLES.get(table)
    if canonical is None:
        return frame
    for col in canonical.columns:
        if col.name not in frame.columns or col.kind not in ("datetime", "date"):
            continue
        values = frame[col.name]
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = pd.to_datetime(values, utc=True)
        else:
            stamps = pd.to_datetime(values, utc=True, format="ISO8601")
        if col.kind == "date":
            stamps = stamps.dt.tz_convert(None).dt.normalize()
        frame[col.name] = stamps.dt.as_unit(unit) if unit else stamps
    return frame


def plain_value(value: Any) -> Any:
    """A cell as `json.dumps` takes it: missing -> None, timestamps ISO, numpy -> Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
