"""`load_finance`, answered from Parquet files when none of its inputs changed.

The inputs are: the mapping (its file's bytes and the model in use), every source file
and the rates file (resolved path and a SHA-256 of the content: an export edited in place
with the same size and modification time is a new key), `as_of`, and the code of the finance
loader itself. When all are as at a previous successful load, that load's frame, invoices
and quarantine are read back from `cache_dir` instead of reading and checking the export
again. A SQL source is never cached: its rows change without any file changing, and its
URL must not be written anywhere. A failed load is never cached.

Layout: per mapping file one manifest `<slot>.json` (the key, the stats, each frame's
column dtypes) and the frames as `<slot>-<key>-<name>.parquet`. Every file is written to
a temporary name and moved into place (`os.replace`), the manifest last, so a reader sees
either the old entry or the new one; the previous entry's files are then removed, so the
cache holds one entry per mapping file. An entry that cannot be read is ignored and
rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from connectors.finance.loader import FinanceLoad, TableStats, load_finance
from mappings.finance import FinanceMapping, load_finance_mapping

log = logging.getLogger(__name__)

FORMAT = 1
"""Bump when the layout of an entry changes."""
FRAMES = ("frame", "invoices", "quarantine")
CODE = (
    "loader.py",
    "cache.py",
    "fast_csv.py",
    "parse.py",
    "rates.py",
    "read.py",
    "validate.py",
)
"""The modules whose code shapes a FinanceLoad: a change to any of them is a new key."""


def load_finance_cached(
    mapping: FinanceMapping | Path | str,
    *,
    mapping_path: Path | str,
    base_dir: Path | str,
    as_of: date | None,
    cache_dir: Path | str,
) -> FinanceLoad:
    """What `load_finance(mapping, base_dir=..., as_of=...)` returns, from the cache when
    the mapping file, the source and rates files and `as_of` are those of a previous load."""
    mapping_path = Path(mapping_path)
    if not isinstance(mapping, FinanceMapping):
        mapping = load_finance_mapping(mapping)
    base, cache_dir = Path(base_dir), Path(cache_dir)
    key = _key(mapping, mapping_path, base, as_of)
    if key is None:
        return load_finance(mapping, base_dir=base, as_of=as_of)
    slot = hashlib.sha256(str(mapping_path.resolve()).encode()).hexdigest()[:16]
    cached = _read(cache_dir, slot, key)
    if cached is not None:
        log.info("finance loaded from the cache (%s): the files did not change", cache_dir)
        return cached
    loaded = load_finance(mapping, base_dir=base, as_of=as_of)  # raises: nothing stored
    if _key(mapping, mapping_path, base, as_of) == key:  # not changed while being read
        _write(cache_dir, slot, key, loaded)
    return loaded


def _key(mapping: FinanceMapping, mapping_path: Path, base: Path, as_of: date | None) -> str | None:
    """A digest of every input, or None when the load must not be cached."""
    files: list[Path] = []
    for spec in mapping.tables.values():
        if spec.source.kind == "sql" or not spec.source.path:
            return None
        files.append(Path(spec.source.path))
    if mapping.rates.kind == "file":
        files.append(Path(mapping.rates.path or ""))
    stamps = []
    for path in [mapping_path, *(p if p.is_absolute() else base / p for p in files)]:
        try:
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            return None  # load_finance says what is missing
        stamps.append([str(path.resolve()), digest])
    try:
        mapping_bytes = mapping_path.read_bytes()
    except OSError:
        return None
    inputs = {
        "format": FORMAT,
        "code": _code_digest(),
        "mapping_file": hashlib.sha256(mapping_bytes).hexdigest(),
        "mapping": hashlib.sha256(mapping.model_dump_json().encode()).hexdigest(),
        "files": stamps,
        "as_of": as_of.isoformat() if as_of else None,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


@cache
def _code_digest() -> str:
    """The finance loader's source: a changed parser must not serve old results."""
    here = Path(__file__).parent
    digest = hashlib.sha256(pd.__version__.encode())
    for name in CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _read(cache_dir: Path, slot: str, key: str) -> FinanceLoad | None:
    manifest = cache_dir / f"{slot}.json"
    if not manifest.is_file():
        return None
    try:
        entry = json.loads(manifest.read_text(encoding="utf-8"))
        if entry.get("format") != FORMAT or entry.get("key") != key:
            return None
        frames: dict[str, pd.DataFrame | None] = {}
        for name in FRAMES:
            dtypes = entry["dtypes"].get(name)
            path = cache_dir / f"{slot}-{key}-{name}.parquet"
            frames[name] = None if dtypes is None else _read_frame(path, dtypes)
        stats = {table: TableStats(**s) for table, s in entry["stats"].items()}
        frame, quarantine = frames["frame"], frames["quarantine"]
        if frame is None or quarantine is None:
            raise ValueError("an entry without the finance frame or the quarantine")
        return FinanceLoad(
            frame, frames["invoices"], quarantine, stats, str(entry["corporate_currency"])
        )
    except Exception as exc:  # a damaged entry is rebuilt, whatever broke in it
        log.debug(
            "finance cache entry %s unreadable (%s: %s); rebuilding",
            manifest,
            type(exc).__name__,
            exc,
        )
        return None


def _read_frame(path: Path, dtypes: dict[str, str]) -> pd.DataFrame:
    """A frame as written, with its dtypes: text in `object` columns as Python strings
    (None when missing), read dictionary-encoded so each distinct string is made once."""
    schema = pq.read_schema(path)
    text = [
        c
        for c, d in dtypes.items()
        if d == "object" and str(schema.field(c).type) in ("string", "large_string")
    ]
    frame = pq.read_table(path, read_dictionary=text).to_pandas()
    if list(frame.columns) != list(dtypes):
        raise ValueError(f"columns {list(frame.columns)} are not {list(dtypes)}")
    for column, dtype in dtypes.items():
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            words = np.array([*values.cat.categories.to_numpy(dtype=object), None])
            frame[column] = pd.Series(words[values.cat.codes.to_numpy()], dtype=object)
        elif dtype == "object":
            objects = values.to_numpy(dtype=object, copy=True)
            objects[pd.isna(objects)] = None
            frame[column] = pd.Series(objects, dtype=object)
        elif str(values.dtype) != dtype:
            frame[column] = values.astype(dtype)
    return frame


def _write(cache_dir: Path, slot: str, key: str, loaded: FinanceLoad) -> None:
    frames = {"frame": loaded.frame, "invoices": loaded.invoices, "quarantine": loaded.quarantine}
    entry: dict[str, Any] = {
        "format": FORMAT,
        "key": key,
        "corporate_currency": loaded.corporate_currency,
        "stats": {table: asdict(s) for table, s in loaded.stats.items()},
        "dtypes": {
            name: {str(c): str(t) for c, t in frame.dtypes.items()}
            for name, frame in frames.items()
            if frame is not None
        },
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            if frame is not None:
                _atomic(
                    cache_dir / f"{slot}-{key}-{name}.parquet",
                    lambda tmp, f=frame: f.to_parquet(tmp, index=False),
                )
        _atomic(
            cache_dir / f"{slot}.json",
            lambda tmp: tmp.write_text(json.dumps(entry), encoding="utf-8"),
        )
    except (OSError, ValueError, TypeError) as exc:
        log.warning(
            "finance cache not written to %s (%s: %s); the next run reads the files again",
            cache_dir,
            type(exc).__name__,
            exc,
        )
        return
    for old in cache_dir.glob(f"{slot}-*.parquet"):
        if not old.name.startswith(f"{slot}-{key}-"):
            old.unlink(missing_ok=True)
    log.info("finance cache written (%s)", cache_dir)


def _atomic(path: Path, write: Any) -> None:
    """`write(tmp)` to a temporary file beside `path`, then move it into place."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
