"""Appending many rows to a state table, column by column, and JSON text for mixed values.

`append_rows` is a plain INSERT (no conflict key) for the per-run log tables whose primary
key is a serial id: SQLite gets one executemany of tuples per chunk, PostgreSQL one COPY
straight into the table (the id comes from its sequence). No dict is built per row.

`json_values` gives exactly `json.dumps(value)` per value (numpy scalars as Python ones,
NaN/NaT/NA as null, timestamps as ISO text) for a whole column at C speed for the common
types; `json_loads` decodes each distinct text once (a change set repeats values).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC
from itertools import islice, repeat
from json.encoder import encode_basestring_ascii
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mappings.errors import StateError
from sync.state.codec import SQLITE_STAMP, plain_value

CHUNK = 50_000
"""Rows per SQLite executemany."""


def append_rows(
    conn: Connection,
    table: sa.Table,
    columns: Mapping[str, Sequence[Any] | Any],
    n: int,
) -> int:
    """Insert `n` rows given per column: a sequence of `n` values, or one value for all rows.

    DateTime columns take aware or naive-UTC datetimes (or None). Returns `n`.
    """
    if n == 0:
        return 0
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise StateError(f"the state database dialect '{dialect}' is not supported")
    names = list(columns)
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in names)
    cells = [_column(table, c, columns[c], n, dialect) for c in names]
    rows = zip(*cells, strict=True)
    if dialect == "postgresql":
        _copy(conn, table, quoted, rows)
    else:
        sql = f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(names))})"
        while chunk := list(islice(rows, CHUNK)):
            conn.exec_driver_sql(sql, chunk)
    return n


def _column(table: sa.Table, name: str, values: Any, n: int, dialect: str) -> Iterable[Any]:
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray | pd.Series):
        values = repeat(_stamp(values, dialect) if _is_stamp(table, name) else values, n)
        return cast(Iterable[Any], values)
    if len(values) != n:
        raise ValueError(f"column {name} has {len(values)} values, expected {n}")
    if _is_stamp(table, name):
        return [_stamp(v, dialect) for v in values]
    return values.tolist() if isinstance(values, np.ndarray | pd.Series) else values


def _is_stamp(table: sa.Table, name: str) -> bool:
    kind = table.c[name].type
    return isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime)


def _stamp(value: Any, dialect: str) -> Any:
    """Aware UTC for psycopg; SQLAlchemy's naive UTC text for SQLite."""
    if value is None:
        return None
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.strftime(SQLITE_STAMP) if dialect == "sqlite" else aware


def _copy(conn: Connection, table: sa.Table, quoted: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY FROM STDIN into the table itself: a pure append needs no temporary table."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def json_value(value: Any) -> str:
    """One value as JSON text: numbers, text, booleans, timestamps (ISO), null."""
    return json.dumps(plain_value(value), default=str)


def json_values(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """`json_value` of every value, as an object array, without calling `json.dumps`.

    Values are grouped by Python type (1, 1.0 and True are equal but encode differently);
    the common types go through the encoder's own primitives (`float.__repr__`, the C string
    escaper, `int.__repr__`), which is what `json.dumps` does for them.
    """
    arr = (
        values.to_numpy(dtype=object)
        if isinstance(values, pd.Series)
        else np.asarray(values, dtype=object)
    )
    out = np.empty(len(arr), dtype=object)
    if not len(arr):
        return out
    kinds, types = pd.factorize(np.fromiter(map(type, arr), dtype=object, count=len(arr)))
    for k, kind in enumerate(types):
        mask = kinds == k
        out[mask] = _encode(kind, arr[mask])
    return out


def _encode(kind: type, part: np.ndarray) -> Any:
    if kind is type(None):
        return "null"
    if issubclass(kind, bool | np.bool_):
        return np.where(part.astype(bool), "true", "false")
    if issubclass(kind, float | np.floating):
        floats = part.astype(np.float64)
        texts = np.array(list(map(float.__repr__, floats.tolist())), dtype=object)
        texts[np.isnan(floats)] = "null"
        texts[floats == np.inf] = "Infinity"
        texts[floats == -np.inf] = "-Infinity"
        return texts
    if kind is str:
        return list(map(encode_basestring_ascii, part))
    if issubclass(kind, int | np.integer):
        return [int.__repr__(int(v)) for v in part]
    return [json_value(v) for v in part]  # timestamps, decimals, anything else


def json_loads(texts: pd.Series | Sequence[str]) -> pd.Series:
    """`json.loads` of every text (object Series), decoding each distinct text once."""
    series = pd.Series(texts, dtype=object) if not isinstance(texts, pd.Series) else texts
    codes, uniques = pd.factorize(series.to_numpy(dtype=object))
    decoded = np.empty(len(uniques) + 1, dtype=object)
    decoded[: len(uniques)] = [json.loads(t) for t in uniques]
    decoded[-1] = None  # code -1: a missing text
    return pd.Series(decoded[codes], index=series.index, dtype=object)
