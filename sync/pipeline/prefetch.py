"""Read iterators ahead in background threads, so fetching overlaps with storing.

The pull fetches a page from the CRM, then stores it in the state DB; done in turn, each
side waits for the other. `prefetch_merged({name: pages})` runs the page generator in a
producer thread that stays at most `ahead` pages in front of the consumer, so the next
page is on its way while the current one is stored. The consumer still sees every page
once, in order, so storing each page with its own cursor keeps its meaning: a run killed
mid-pull resumes after the last *stored* page (pages fetched ahead are simply fetched again).

`prefetch_merged({name: pages, ...}, at_once=n)` does the same for several sources, n of
them read at once, each by its own producer thread: the consumer gets (name, item) pairs
as they arrive, every source's items in that source's order, and (name, FINISHED) once a
source is exhausted. A CRM answers one list page after another for one object, so
reading several objects at once is what keeps both the CRM and this process busy.

- An exception raised by a source is re-raised in the consumer where it happened,
  after the items of that source before it, with its own type and traceback; the other
  sources are then stopped.
- When the consumer stops early (break, exception, `close()`), every producer is told to
  stop and joined; each source is closed in its producer thread, so its `finally`
  blocks run in the thread that ran the rest of it. Use `contextlib.closing` to make
  that happen at a known point rather than when the generator is garbage-collected.
- Each source is driven from one other thread: what it uses must be safe to use from
  several threads at once when `at_once` > 1 (the connectors' clients and counters are).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_ITEM, _DONE, _ERROR = "item", "done", "error"


class _Finished:
    def __repr__(self) -> str:
        return "FINISHED"


FINISHED: Any = _Finished()
"""What `prefetch_merged` yields, with a source's name, once that source is exhausted."""


class _Channel:
    """A bounded hand-off between producers and one consumer that either side can stop;
    each producer may have at most `ahead` items waiting."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        self.cond = threading.Condition()
        self.entries: deque[tuple[str, str, Any]] = deque()
        self.waiting: Counter[str] = Counter()
        self.stopped = False

    def put(self, name: str, kind: str, value: Any) -> bool:
        """Queue an entry, waiting for room; False when the consumer has stopped."""
        with self.cond:
            # An end entry (done / error) always fits, so the consumer learns the outcome.
            while kind == _ITEM and self.waiting[name] >= self.ahead and not self.stopped:
                self.cond.wait()
            if self.stopped:
                return False
            self.entries.append((name, kind, value))
            self.waiting[name] += kind == _ITEM
            self.cond.notify_all()
            return True

    def get(self) -> tuple[str, str, Any]:
        """The next entry, waiting for a producer (interruptible by KeyboardInterrupt)."""
        with self.cond:
            while not self.entries:
                self.cond.wait()
            name, kind, value = self.entries.popleft()
            self.waiting[name] -= kind == _ITEM
            self.cond.notify_all()
            return name, kind, value

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.entries.clear()
            self.cond.notify_all()


def _produce(name: str, source: Iterator[Any], channel: _Channel) -> None:
    """A producer thread: feed `source`'s items into `channel` until done or stopped."""
    try:
        try:
            for item in source:
                if not channel.put(name, _ITEM, item):
                    return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # runs the generator's cleanup in this thread
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
        if not channel.put(name, _ERROR, exc):
            log.debug("prefetch source %s failed after its consumer stopped: %r", name, exc)
        return
    channel.put(name, _DONE, None)


def prefetch_merged(
    sources: Mapping[str, Iterable[T]], *, ahead: int = 2, at_once: int = 1
) -> Generator[tuple[str, T], None, None]:
    """(name, item) of every source, `at_once` sources read at a time in the given order,
    each up to `ahead` items in front by a thread named after it; (name, FINISHED) once a
    source is exhausted (the next one has started by then)."""
    if ahead < 1:
        raise ValueError(f"prefetch needs ahead >= 1, got {ahead}")
    if at_once < 1:
        raise ValueError(f"prefetch needs at_once >= 1, got {at_once}")
    return _consume({k: iter(v) for k, v in sources.items()}, ahead, at_once)


def _consume(
    sources: dict[str, Iterator[Any]], ahead: int, at_once: int
) -> Generator[tuple[str, Any], None, None]:
    channel = _Channel(ahead)
    queue = deque(sources.items())
    del sources  # the producer threads own them from here
    running: dict[str, threading.Thread] = {}

    def start_next() -> None:
        name, source = queue.popleft()
        thread = threading.Thread(
            target=_produce, args=(name, source, channel), name=name, daemon=True
        )
        running[name] = thread
        thread.start()

    try:
        # inside the try: Ctrl-C can land while start() waits for a thread
        while queue and len(running) < at_once:
            start_next()
        while running:
            name, kind, value = channel.get()
            if kind == _ERROR:
                try:
                    raise value
                finally:
                    value = None  # no reference cycle through the traceback
            if kind == _DONE:
                _join(running.pop(name))
                if queue:
                    start_next()
                value = FINISHED
            yield name, value
    finally:
        channel.stop()
        for thread in running.values():
            _join(thread)
        for _, source in queue:  # never started: nothing ran, nothing to clean up there
            close = getattr(source, "close", None)
            if close is not None:
                close()


def _join(thread: threading.Thread) -> None:
    """Wait for a producer; it sees the stop at its next hand-off (after an in-flight fetch).

    A daemon thread, so a second Ctrl-C during a long fetch still ends the process.
    """
    try:
        thread.join()
    except RuntimeError:
        # start() was interrupted before the thread ran: it finds the channel stopped
        # at its first hand-off and ends there.
        log.debug("prefetch thread %s was stopped before it started", thread.name)
