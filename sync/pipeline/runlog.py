"""Every run writes a log file: `scheduler start` loses stderr, the file keeps what happened.

`run_log(path)` sends the INFO records of valuesync's own loggers (one line per page,
batch and phase; never a field value or a secret) to `.valuesync/logs/<connection>-run-<id>.log`
next to the project file, for the duration of one run, whatever the console's log level.
`valuesync runs show ID` prints the path. The console keeps its level: handlers that had
none are pinned to the root logger's level while the run lowers its loggers' levels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOGGERS = ("sync", "connectors", "mappings", "value_engine")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

log = logging.getLogger(__name__)


def run_log_path(root: Path, connection: str, run_id: int) -> Path:
    """Where run `run_id` of `connection` writes its log, in the project folder `root`."""
    return root / ".valuesync" / "logs" / f"{connection}-run-{run_id}.log"


@contextmanager
def run_log(path: Path) -> Iterator[Path | None]:
    """INFO and above of valuesync's loggers into `path` while the block runs (None: the
    file could not be opened; the run goes on without it and says so on the console)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        log.warning("no run log: %s cannot be written (%s)", path, exc.strerror)
        yield None
        return
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    pinned = [h for h in root.handlers if h.level == logging.NOTSET]
    for h in pinned:
        h.setLevel(root.getEffectiveLevel())
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.getEffectiveLevel() > logging.INFO:
            lg.setLevel(logging.INFO)
        lg.addHandler(handler)
    try:
        yield path
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        for h in pinned:
            h.setLevel(logging.NOTSET)
        handler.close()
