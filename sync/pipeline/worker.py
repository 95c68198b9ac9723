"""A full read in a worker process: the CRM is read, parsed and framed there, while this
process stores the pages.

A full read (a first run, `--full`, HubSpot's periodic reconciliation) moves every record
of the CRM, and one Python process does all of its work under one lock (the GIL): HTTP,
JSON or CSV parsing and frames on one side, JSON encoding and the state database on the
other. Done in a second process, the reading side runs on another core. The protocol:

- the worker builds its own connector from the run's Setup and environment (a client,
  its connections and its rate limiter are not things to share between processes);
- it reads `connector.pull_streams` tables at once (sync/pipeline/prefetch.py) and sends each page
  to this process, never more than `ahead` pages beyond the last one this process stored
  (a credit comes back per stored page), so memory stays bounded and a stop loses at
  most what a thread reading ahead would;
- pages carry their cursors; this process stores them, each table's in order, exactly as
  it stores pages read by a thread, so a run killed at any point resumes the same way;
- the worker's API calls come back with every message and are added to the connector's
  counts; its log records are handled by this process's logging; an exception raised
  there is raised here with its own type and message.

The worker is forked (on Linux), so it starts in milliseconds. It ends when its pages are
done, when this process stops it, or when this process dies (its next send or receive
finds the pipe closed).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import signal
import sys
import threading
from collections import Counter
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from connectors.base import CrmConnector, Cursor, Page
from mappings.errors import ValuesyncError
from sync.pipeline.prefetch import FINISHED, prefetch_merged

log = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 10.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class TableRead:
    """One table of the read: where it starts and what it asks for."""

    task: str
    table: str
    fields: tuple[str, ...]
    since: Cursor | None
    full_read: bool


def table_pages(connector: CrmConnector, read: TableRead) -> Iterator[Page]:
    """The connector's page iterator for one table."""
    return connector.pull(read.table, fields=read.fields, since=read.since, full=read.full_read)


def _context() -> Any:
    """Fork on Linux: the worker starts at once, with the modules already imported, and the
    caller's main module is not run again (spawn would, unless guarded by `__main__`).
    The worker touches nothing this process's other threads may hold: it builds its own
    connector and talks only to its pipe. Elsewhere, spawn."""
    return mp.get_context("fork" if sys.platform == "linux" else "spawn")


def remote_pages(
    setup: Any,
    env: Mapping[str, str],
    reads: Sequence[TableRead],
    *,
    ahead: int,
    add_calls: Any,
) -> Generator[tuple[str, Any], None, None]:
    """(task, Page) of every table read by a worker process, (task, FINISHED) when a table
    is done, as `prefetch_merged` yields them; `add_calls(counts)` receives the worker's API
    calls as they are made. Closing the generator stops the worker."""
    if ahead < 1:
        raise ValueError(f"remote_pages needs ahead >= 1, got {ahead}")
    ctx = _context()
    here, there = ctx.Pipe()
    level = logging.getLogger().getEffectiveLevel()
    job = (setup, dict(env), list(reads), ahead, level)
    worker = ctx.Process(target=_work, args=(job, there, here), name="valuesync pull", daemon=True)
    try:
        worker.start()
        there.close()  # the worker's end: only the worker holds it now
        while True:
            try:
                message = here.recv()
            except EOFError:
                worker.join(STOP_WAIT_SECONDS)
                raise ValuesyncError(
                    "the pull's worker process ended without finishing "
                    f"(exit code {worker.exitcode}); run again to resume from the last "
                    "stored page"
                ) from None
            kind, calls = message[0], message[-1]
            if calls:
                add_calls(calls)
            if kind == "log":
                logging.getLogger(message[1].name).handle(message[1])
            elif kind == "page":
                yield message[1], message[2]
                # a credit: the page was stored (the worker may have sent all it had and
                # ended already; its "done" is then queued here)
                with suppress(OSError):
                    here.send(None)
            elif kind == "finished":
                yield message[1], FINISHED
            elif kind == "error":
                raise message[1]
            else:  # "done"
                break
    finally:
        here.close()
        _stop(worker)


def _stop(worker: Any) -> None:
    """Join the worker; terminate it when it is still reading (the consumer stopped)."""
    if worker.pid is None:
        return  # never started
    worker.join(0.5 if worker.is_alive() else None)
    if worker.is_alive():
        worker.terminate()
        worker.join(STOP_WAIT_SECONDS)
    if worker.is_alive():
        worker.kill()
        worker.join()


# -- the worker process ------------------------------------------------------------------


class _Channel:
    """The worker's end of the pipe: sends from several threads, and the calls made since
    the last message ride along with each one."""

    def __init__(self, conn: Connection, connector: Any) -> None:
        self.conn, self.connector = conn, connector
        self.lock = threading.Lock()
        self.reported: Counter[str] = Counter()

    def send(self, *message: Any) -> None:
        with self.lock:
            now = Counter({k: int(v) for k, v in dict(self.connector.calls).items()})
            delta = {k: n - self.reported[k] for k, n in now.items() if n != self.reported[k]}
            self.reported = now
            self.conn.send((*message, delta))


class _PipeHandler(logging.Handler):
    """Hands the worker's log records to the parent's logging (formatted, no live args)."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self.channel.send("log", record)
        except (OSError, ValueError):
            pass  # the parent is gone: nothing to tell
        except Exception:  # noqa: BLE001 - a log record must never break the read
            self.handleError(record)


def _work(
    job: tuple[Any, dict[str, str], list[TableRead], int, int],
    conn: Connection,
    parents_end: Connection,
) -> None:
    """The worker process: read every table, send pages as credits allow."""
    from sync.pipeline.setup import build_connector

    # A forked worker holds the parent's end of the pipe too: closed, so that the parent's
    # death closes the pipe and ends this process at its next send or receive.
    parents_end.close()
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    setup, env, reads, ahead, level = job
    try:
        connector = build_connector(setup, env)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _send_error(conn, exc)
        return
    channel = _Channel(conn, connector)
    root = logging.getLogger()
    root.handlers[:] = [_PipeHandler(channel)]
    root.setLevel(level)
    sources = {r.task: table_pages(connector, r) for r in reads}
    unacknowledged = 0
    try:
        pages = prefetch_merged(sources, ahead=1, at_once=max(1, connector.pull_streams))
        for task, page in pages:
            if page is FINISHED:
                channel.send("finished", task)
                continue
            while unacknowledged >= ahead:
                conn.recv()  # a credit; EOFError when the parent has stopped
                unacknowledged -= 1
            channel.send("page", task, page)
            unacknowledged += 1
        channel.send("done")
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent stopped or died: nothing more to read for
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _send_error(conn, exc, channel)


def _die_with_parent() -> None:
    """On Linux, have the kernel end this process when its parent ends (even by SIGKILL),
    also while it waits on the CRM; elsewhere the closed pipe ends it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("prctl is not available; the worker ends when the pipe closes")


def _send_error(conn: Connection, exc: BaseException, channel: _Channel | None = None) -> None:
    try:
        if channel is not None:
            channel.send("error", exc)
        else:
            conn.send(("error", exc, {}))
    except (OSError, ValueError):
        return
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text then
        message = f"{type(exc).__name__}: {exc}"
        conn.send(("error", ValuesyncError(f"the pull's worker failed: {message}"), {}))
