"""sync/pipeline/prefetch.py: order, exceptions where they happened, and a clean stop of the
producers (one source first, then several read at once)."""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import pytest

from sync.pipeline.prefetch import FINISHED, prefetch_merged


def prefetch(source: Any, *, ahead: int = 2, name: str = "prefetch") -> Iterator[Any]:
    """One source through prefetch_merged: its items only (the pull reads one table so)."""
    merged = prefetch_merged({name: source}, ahead=ahead)

    def items() -> Iterator[Any]:
        with closing(merged):  # closing this generator stops the thread now
            for _, item in merged:
                if item is not FINISHED:
                    yield item

    return items()


class SourceFailed(Exception):
    """Raised by a test source after some items."""


@dataclass
class Source:
    """A counting generator that records how far it got and where it was closed."""

    count: int | None = None
    fail_at: int | None = None
    produced: int = 0
    threads: set[str] = field(default_factory=set)
    closed_in: str | None = None
    after_item: Any = None
    """Called (in the producer thread) after the first item was handed over."""

    def __iter__(self) -> Iterator[int]:
        try:
            i = 0
            while self.count is None or i < self.count:
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise_from_deep_inside(i)
                self.produced += 1
                yield i
                if i == 0 and self.after_item is not None:
                    self.after_item()
                i += 1
        finally:
            self.closed_in = threading.current_thread().name


def raise_from_deep_inside(i: int) -> None:
    raise SourceFailed(f"item {i} could not be fetched")


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("test-prefetch")]


@pytest.mark.parametrize("ahead", [1, 2, 7], ids=["ahead1", "ahead2", "ahead7"])
@pytest.mark.parametrize("count", [0, 1, 2, 50], ids=["empty", "one", "two", "fifty"])
def test_every_item_once_in_order_from_another_thread(ahead: int, count: int) -> None:
    source = Source(count=count)
    assert list(prefetch(source, ahead=ahead, name="test-prefetch")) == list(range(count))
    assert source.threads <= {"test-prefetch"}
    assert source.closed_in == "test-prefetch"
    assert prefetch_threads() == []


def test_source_error_comes_after_the_items_before_it_with_its_traceback() -> None:
    source = Source(count=10, fail_at=3)
    got: list[int] = []
    with pytest.raises(SourceFailed, match="item 3 could not be fetched") as info:
        for item in prefetch(source, ahead=2, name="test-prefetch"):
            got.append(item)
    assert got == [0, 1, 2]
    functions = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert functions[-2:] == ["__iter__", "raise_from_deep_inside"]
    assert prefetch_threads() == []


def test_break_stops_the_producer_near_the_consumer_and_closes_the_source() -> None:
    source = Source(count=None)  # endless: only a stop ends it
    pages = prefetch(source, ahead=2, name="test-prefetch")
    with closing(pages):
        for item in pages:
            if item == 4:
                break
    assert prefetch_threads() == []
    assert source.closed_in == "test-prefetch"
    assert source.produced <= 5 + 2 + 1  # consumed, queued, and at most one in flight


def test_consumer_error_stops_and_joins_the_producer() -> None:
    source = Source(count=None)
    pages = prefetch(source, ahead=3, name="test-prefetch")
    with pytest.raises(RuntimeError, match="storing failed"), closing(pages):
        for item in pages:
            if item == 2:
                raise RuntimeError("storing failed")
    assert prefetch_threads() == []
    assert source.closed_in == "test-prefetch"
    assert source.produced <= 3 + 3 + 1


def test_closing_before_the_first_item_starts_nothing() -> None:
    source = Source(count=5)
    prefetch(source, name="test-prefetch").close()
    assert source.produced == 0
    assert prefetch_threads() == []


def test_keyboard_interrupt_while_waiting_for_an_item() -> None:
    """Ctrl-C while the consumer waits for the producer stops both, and is not swallowed."""
    interrupted = threading.Event()
    main = threading.main_thread().ident
    assert threading.current_thread() is threading.main_thread()

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    def send_sigint() -> None:  # from the producer thread, while the consumer waits
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)
        interrupted.wait(timeout=30)

    source = Source(count=None, after_item=send_sigint)
    previous = signal.signal(signal.SIGINT, on_sigint)
    got: list[int] = []
    try:
        pages = prefetch(source, ahead=1, name="test-prefetch")
        with pytest.raises(KeyboardInterrupt), closing(pages):
            for item in pages:
                got.append(item)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert interrupted.is_set()
    assert got in ([], [0])  # the signal may land before or after item 0 is taken
    assert prefetch_threads() == []
    assert source.closed_in == "test-prefetch"


def test_generator_exit_in_the_source_runs_its_cleanup_once() -> None:
    cleanups: list[str] = []

    def pages() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            cleanups.append(threading.current_thread().name)

    stream = prefetch(pages(), ahead=1, name="test-prefetch")
    assert next(stream) == 0
    stream.close()
    assert cleanups == ["test-prefetch"]


@pytest.mark.parametrize("ahead", [0, -1])
def test_ahead_must_be_positive(ahead: int) -> None:
    with pytest.raises(ValueError, match="ahead >= 1"):
        prefetch(range(3), ahead=ahead)


def merged_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("test-merged")]


@pytest.mark.parametrize("at_once", [1, 2, 3, 5])
def test_merged_sources_each_in_order_then_finished(at_once: int) -> None:
    sources = {f"test-merged-{k}": Source(count=n) for k, n in enumerate([5, 0, 12, 1])}
    got: dict[str, list[Any]] = {name: [] for name in sources}
    for name, item in prefetch_merged(sources, ahead=2, at_once=at_once):
        got[name].append(item)
    for name, source in sources.items():
        assert got[name] == [*range(source.count or 0), FINISHED]
        assert source.threads <= {name} and source.closed_in == name
    assert merged_threads() == []


def test_merged_reads_at_once_as_many_sources_as_asked() -> None:
    """Source a waits, after its first item, until b has produced one: with at_once=2 both
    run together; items of a and b interleave."""
    b_started = threading.Event()
    a = Source(count=3, after_item=lambda: b_started.wait(timeout=30))
    b = Source(count=3, after_item=b_started.set)
    order = [name for name, item in prefetch_merged({"test-merged-a": a, "test-merged-b": b},
                                                    ahead=1, at_once=2)
             if item is not FINISHED]  # fmt: skip
    assert b_started.is_set()
    assert sorted(order) == ["test-merged-a"] * 3 + ["test-merged-b"] * 3
    assert merged_threads() == []


def test_merged_one_at_a_time_starts_the_next_source_when_one_ends() -> None:
    a, b = Source(count=3), Source(count=3)
    seen_b_while_a_ran: list[bool] = []
    pages = prefetch_merged({"test-merged-a": a, "test-merged-b": b}, ahead=5, at_once=1)
    for name, item in pages:
        if name == "test-merged-a" and item is not FINISHED:
            seen_b_while_a_ran.append(b.produced > 0)
    assert seen_b_while_a_ran == [False, False, False]
    assert a.closed_in == "test-merged-a" and b.closed_in == "test-merged-b"


def test_merged_error_in_one_source_stops_and_closes_all() -> None:
    failing = Source(count=10, fail_at=2)
    endless = Source(count=None)
    waiting = Source(count=4)  # never started: at_once=2 and the first two never end
    sources = {"test-merged-f": failing, "test-merged-e": endless, "test-merged-w": waiting}
    got: list[tuple[str, Any]] = []
    with pytest.raises(SourceFailed, match="item 2"):
        for pair in prefetch_merged(sources, ahead=2, at_once=2):
            got.append(pair)
    assert [i for n, i in got if n == "test-merged-f"] == [0, 1]
    assert merged_threads() == []
    assert failing.closed_in == "test-merged-f" and endless.closed_in == "test-merged-e"
    assert waiting.produced == 0


def test_merged_close_stops_every_reader() -> None:
    sources = {f"test-merged-{k}": Source(count=None) for k in range(3)}
    pages = prefetch_merged(sources, ahead=2, at_once=2)
    with closing(pages):
        for n, (_, _) in enumerate(pages):
            if n == 5:
                break
    assert merged_threads() == []
    assert [s.closed_in for s in sources.values()][:2] == ["test-merged-0", "test-merged-1"]
    assert list(sources.values())[2].produced == 0


@pytest.mark.parametrize("at_once", [0, -2])
def test_at_once_must_be_positive(at_once: int) -> None:
    with pytest.raises(ValueError, match="at_once >= 1"):
        prefetch_merged({"a": range(3)}, at_once=at_once)
