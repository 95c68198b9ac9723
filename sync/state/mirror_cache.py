"""Local Parquet snapshots of the mirror, brought up to date from the rows written since.

Decoding the whole mirror from its JSON rows costs about 20 s per run at 100k accounts
with their 1.5M related records, although an incremental run changes 1 % of them. Every
mirror write stamps its rows with the table's next version (`vs_mirror_versions`), so a
snapshot that holds the table at version S only needs the rows of versions after S.

A snapshot is a cache, never the truth: it names the database's random epoch and the
version it holds; one from another database, a newer version than the database's, a
corrupt file or a frame Parquet cannot hold exactly (mixed types in a column) is simply
not used, and the mirror is read in full. Files are replaced atomically, one per
connection and table, so the cache never grows past one copy of the mirror.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

FORMAT = b"valuesync-mirror-1"
"""Bumped whenever what a snapshot holds changes meaning."""


@dataclass(frozen=True)
class Snapshot:
    frame: pd.DataFrame
    version: int


def _meta(epoch: str, version: int) -> dict[bytes, bytes]:
    return {
        b"valuesync.format": FORMAT,
        b"valuesync.epoch": epoch.encode(),
        b"valuesync.version": str(version).encode(),
    }


class MirrorSnapshots:
    """Snapshots under `folder` (created on first save); None disables them."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def path(self, connection: str, table: str) -> Path | None:
        if self.folder is None:
            return None
        # A connection name is free text: the file name is a digest of it, plus the table.
        digest = hashlib.sha256(connection.encode()).hexdigest()[:16]
        return self.folder / f"mirror-{digest}-{table}.parquet"

    def load(self, connection: str, table: str, epoch: str, version: int) -> Snapshot | None:
        """The snapshot of this database's table at a version <= `version`, if any."""
        path = self.path(connection, table)
        if path is None or not path.exists():
            return None
        try:
            arrow = pq.read_table(path)
            meta = arrow.schema.metadata or {}
            if meta.get(b"valuesync.format") != FORMAT:
                return None
            if meta.get(b"valuesync.epoch") != epoch.encode():
                return None
            held = int(meta[b"valuesync.version"])
            if held > version:
                return None
            return Snapshot(arrow.to_pandas(), held)
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            log.debug("mirror snapshot %s unreadable, reading the mirror in full: %s", path, exc)
            return None

    def save(
        self, connection: str, table: str, epoch: str, version: int, frame: pd.DataFrame
    ) -> bool:
        """Store `frame` as the table at `version`; False when Parquet cannot hold it exactly."""
        path = self.path(connection, table)
        if path is None:
            return False
        try:
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            log.debug("mirror of %s not snapshotted (%s)", table, exc)
            return False
        arrow = arrow.replace_schema_metadata(
            {**(arrow.schema.metadata or {}), **_meta(epoch, version)}
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            os.close(fd)
            try:
                pq.write_table(arrow, tmp, compression="zstd")
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            log.debug("mirror snapshot %s not written: %s", path, exc)
            return False
        return True


def merge(
    snapshot: pd.DataFrame, key: str, changed_ids: list[str], changed: pd.DataFrame
) -> pd.DataFrame:
    """The snapshot with the rows of `changed_ids` replaced by `changed` (deleted ones gone),
    ordered by the key's text as the database orders record ids."""
    if not changed_ids:
        return snapshot
    if len(snapshot):
        # an object-dtype index: isin on pandas 3's Arrow-backed strings loops per value
        ids = pd.Index(snapshot[key].astype(str).to_numpy(dtype=object), dtype=object)
        kept = snapshot[~ids.isin(changed_ids)]
    else:
        kept = snapshot
    parts = [p for p in (kept, changed) if len(p.columns)]
    if not parts:
        return snapshot.iloc[0:0]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    # A column of text in one part and only nulls in the other concatenates as object;
    # decoding all rows at once would have given text (NaN for null): infer it the same way.
    frame = frame.infer_objects()
    if frame.empty:
        return frame.reset_index(drop=True)
    order = frame[key].astype(str).argsort(kind="stable")
    return frame.iloc[order.to_numpy()].reset_index(drop=True)
