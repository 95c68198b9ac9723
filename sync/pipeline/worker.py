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

The worker is spawned (a fresh interpreter), never forked from this process, which may
hold locks and run threads by then (the state database's pool, the lock keeper, Rich's
progress refresh): a forked child could inherit a lock that no thread of its own will ever
release. Spawning costs the worker about a second of imports, once per full read. It gets
this process's sys.path before it unpickles anything, so a project folder that happens to
hold a `mappings/` directory (the current directory of a run) never shadows valuesync's
own packages. It ends when its pages are done, when this process stops it, or when this
process dies (the kernel kills it: PR_SET_PDEATHSIG). Every receive on either side has a
timeout: a side that hears nothing for `SILENCE_LIMIT_SECONDS` gives up instead of waiting
forever.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from connectors.base import CrmConnector, Cursor, Page
from mappings.errors import ValuesyncError
from sync.pipeline.prefetch import FINISHED, prefetch_merged

log = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 10.0
POLL_SECONDS = 1.0
SILENCE_LIMIT_SECONDS = 900.0
"""Longer than the retry policy's whole budget for one call: silence beyond it is a hang."""
PR_SET_PDEATHSIG = 1


ConnectorFactory = Callable[[Any, Mapping[str, str]], CrmConnector]


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
    """Spawn, on every platform (see the module docstring)."""
    return mp.get_context("spawn")


def _ALWAYS() -> bool:
    """The worker's view of its parent: a dead parent closes the pipe (EOF), so polling
    the pipe is the whole check."""
    return True


def _receive(conn: Connection, alive: Callable[[], bool]) -> Any:
    """The next message on `conn`; EOFError when the other side is gone, TimeoutError when
    it said nothing for SILENCE_LIMIT_SECONDS."""
    waited = 0.0
    while not conn.poll(POLL_SECONDS):
        waited += POLL_SECONDS
        if not alive():
            raise EOFError
        if waited >= SILENCE_LIMIT_SECONDS:
            raise TimeoutError
    return conn.recv()


def remote_pages(
    setup: Any,
    env: Mapping[str, str],
    reads: Sequence[TableRead],
    *,
    ahead: int,
    add_calls: Any,
    factory: ConnectorFactory | None = None,
) -> Generator[tuple[str, Any], None, None]:
    """(task, Page) of every table read by a worker process, (task, FINISHED) when a table
    is done, as `prefetch_merged` yields them; `add_calls(counts)` receives the worker's API
    calls as they are made. Closing the generator stops the worker. `factory(setup, env)`
    builds the worker's connector (default `sync.pipeline.setup.build_connector`); it must
    be importable by name, as the worker receives it pickled."""
    if ahead < 1:
        raise ValueError(f"remote_pages needs ahead >= 1, got {ahead}")
    ctx = _context()
    here, there = ctx.Pipe()
    level = logging.getLogger().getEffectiveLevel()
    job = (factory, setup, dict(env), list(reads), ahead, level)
    worker = ctx.Process(target=_work, args=(job, there, here), name="valuesync pull", daemon=True)
    try:
        worker.start()
        there.close()  # the worker's end: only the worker holds it now
        while True:
            try:
                message = _receive(here, worker.is_alive)
            except TimeoutError:
                raise ValuesyncError(
                    f"the pull's worker process sent nothing for {SILENCE_LIMIT_SECONDS:.0f} s; "
                    "it was stopped. Run again to resume from the last stored page"
                ) from None
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
    job: tuple[ConnectorFactory | None, Any, dict[str, str], list[TableRead], int, int],
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
    factory, setup, env, reads, ahead, level = job
    try:
        connector = (factory or build_connector)(setup, env)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _send_error(conn, exc)
        _linger(conn)
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
                _receive(conn, _ALWAYS)  # a credit; EOFError when the parent's end closed
                unacknowledged -= 1
            channel.send("page", task, page)
            unacknowledged += 1
        channel.send("done")
    except (EOFError, BrokenPipeError, ConnectionResetError, TimeoutError):
        return  # the parent stopped, died or went silent: nothing more to read for
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _send_error(conn, exc, channel)
    _linger(conn)


def _linger(conn: Connection) -> None:
    """After the last message, read credits until the parent closes its end. A socket
    closed with unread data resets the connection, and the parent would then lose the
    last message (an error, or "done") that is still waiting for it."""
    with suppress(EOFError, OSError):  # TimeoutError is an OSError
        while True:
            _receive(conn, _ALWAYS)


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
