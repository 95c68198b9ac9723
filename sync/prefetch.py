"""Read an iterator ahead in one background thread, so fetching overlaps with storing.

The pull fetches a page from the CRM, then stores it in the state DB; done in turn, each
side waits for the other. `prefetch(pages)` runs the page generator in a producer thread
that stays at most `ahead` pages in front of the consumer, so the next page is on its
way while the current one is stored. The consumer still sees every page once, in order,
so storing each page with its own cursor keeps its meaning: a run killed mid-pull
resumes after the last *stored* page (pages fetched ahead are simply fetched again).

- An exception raised by the source is re-raised in the consumer where it happened,
  after the pages before it, with its own type and traceback.
- When the consumer stops early (break, exception, `close()`), the producer is told to
  stop and joined; the source is closed in the producer thread, so its `finally`
  blocks run in the thread that ran the rest of it. Use `contextlib.closing` to make
  that happen at a known point rather than when the generator is garbage-collected.
- The source is driven from one other thread: it must not be used by the consumer's
  thread at the same time (the pull leaves the connector alone while a table is read).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_ITEM, _DONE, _ERROR = "item", "done", "error"


class _Channel(Generic[T]):
    """A bounded hand-off between one producer and one consumer that either side can stop."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        self.cond = threading.Condition()
        self.entries: deque[tuple[str, Any]] = deque()
        self.stopped = False

    def put(self, kind: str, value: Any) -> bool:
        """Queue an entry, waiting for room; False when the consumer has stopped."""
        with self.cond:
            # An end entry (done / error) always fits, so the consumer learns the outcome.
            while kind == _ITEM and len(self.entries) >= self.ahead and not self.stopped:
                self.cond.wait()
            if self.stopped:
                return False
            self.entries.append((kind, value))
            self.cond.notify_all()
            return True

    def get(self) -> tuple[str, Any]:
        """The next entry, waiting for the producer (interruptible by KeyboardInterrupt)."""
        with self.cond:
            while not self.entries:
                self.cond.wait()
            entry = self.entries.popleft()
            self.cond.notify_all()
            return entry

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.entries.clear()
            self.cond.notify_all()


def _produce(source: Iterator[T], channel: _Channel[T]) -> None:
    """The producer thread: feed `source`'s items into `channel` until done or stopped."""
    try:
        try:
            for item in source:
                if not channel.put(_ITEM, item):
                    return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # runs the generator's cleanup in this thread
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
        if not channel.put(_ERROR, exc):
            log.debug("prefetch source failed after its consumer stopped: %r", exc)
        return
    channel.put(_DONE, None)


def prefetch(
    source: Iterable[T], *, ahead: int = 2, name: str = "prefetch"
) -> Generator[T, None, None]:
    """`source`'s items in order, read up to `ahead` items in front by a background thread."""
    if ahead < 1:
        raise ValueError(f"prefetch needs ahead >= 1, got {ahead}")
    return _consume(iter(source), ahead, name)


def _consume(source: Iterator[T], ahead: int, name: str) -> Generator[T, None, None]:
    channel: _Channel[T] = _Channel(ahead)
    thread = threading.Thread(target=_produce, args=(source, channel), name=name, daemon=True)
    del source  # the producer thread owns it from here
    try:
        thread.start()  # inside the try: Ctrl-C can land while start() waits for the thread
        while True:
            kind, value = channel.get()
            if kind == _DONE:
                return
            if kind == _ERROR:
                try:
                    raise value
                finally:
                    value = None  # no reference cycle through the traceback
            yield value
    finally:
        channel.stop()
        _join(thread)


def _join(thread: threading.Thread) -> None:
    """Wait for the producer; it sees the stop at its next hand-off (after an in-flight fetch).

    A daemon thread, so a second Ctrl-C during a long fetch still ends the process.
    """
    try:
        thread.join()
    except RuntimeError:
        # start() was interrupted before the thread ran: it finds the channel stopped
        # at its first hand-off and ends there.
        log.debug("prefetch thread %s was stopped before it started", thread.name)
