"""A run's engine rows (accounts or opportunities) as one compact blob, and back.

A frame is stored as Parquet (zstd), sorted by record id, without pandas metadata, so the
same rows always give the same bytes: the SHA-256 of the bytes names the blob, and a run
whose scores did not change refers to the blob an earlier run stored instead of a copy.
Reading restores the canonical date and datetime columns the way the mirror does.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sync.state.bulk import json_loads, json_values
from sync.state.codec import restore_canonical

SCORE_KEYS = {"accounts": "account_id", "opportunities": "opportunity_id"}
JSON_COLUMNS = b"valuesync.json_columns"
"""Schema metadata: object columns Arrow cannot type (mixed values), stored as JSON text."""
CATEGORIES = b"valuesync.categories"
"""Schema metadata of feature frames: categorical columns and their categories, restored
on reading (the engine groups by their codes)."""
KEEP_CATEGORIES = ("features",)
ZSTD_LEVEL = 3


def encode_scores(frame: pd.DataFrame, kind: str) -> bytes:
    """The frame as Parquet bytes, rows ordered by record id (as text)."""
    key = SCORE_KEYS.get(kind)
    plain = frame.reset_index(drop=True)
    if key is not None and key in plain.columns:
        order = plain[key].astype(str).to_numpy(dtype=object).argsort(kind="stable")
        plain = plain.take(order).reset_index(drop=True)
    arrays, json_columns = [], []
    categories: dict[str, list[Any]] = {}
    for name in plain.columns:
        values = plain[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            if kind in KEEP_CATEGORIES:
                categories[str(name)] = values.cat.categories.tolist()
            values = values.astype(object)
        try:
            arrays.append(pa.array(values, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays.append(pa.array(json_values(values).tolist(), type=pa.string()))
            json_columns.append(str(name))
    table = pa.Table.from_arrays(arrays, names=[str(c) for c in plain.columns])
    meta = {}
    if json_columns:
        meta[JSON_COLUMNS] = json.dumps(json_columns).encode()
    if categories:
        meta[CATEGORIES] = json.dumps(categories, default=str).encode()
    if meta:
        table = table.replace_schema_metadata(meta)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=ZSTD_LEVEL)
    return sink.getvalue()


def digest(blob: bytes) -> str:
    """The name of a blob: SHA-256 of its bytes, hex."""
    return hashlib.sha256(blob).hexdigest()


def decode_scores(blob: bytes, kind: str) -> pd.DataFrame:
    """The frame `encode_scores` stored, canonical dates and datetimes restored."""
    table = pq.read_table(io.BytesIO(blob))
    meta = table.schema.metadata or {}
    frame = table.to_pandas()
    for name in json.loads(meta.get(JSON_COLUMNS, b"[]")):
        frame[name] = json_loads(frame[name])
    for name, cats in json.loads(meta.get(CATEGORIES, b"{}")).items():
        frame[name] = pd.Categorical(frame[name].astype(object), categories=cats)
    return restore_canonical(frame, kind, unit="us")
