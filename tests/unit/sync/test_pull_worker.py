"""sync/pipeline/worker.py: a full read done by a worker process, its pages stored here.

The worker builds its connector with the factory it is given (`fake_connector` here, which
it imports by name in its own process, as it would `sync.pipeline.setup.build_connector`).
What crosses the pipe is real: pages, credits, log records, call counts, exceptions.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from connectors.base import Cursor, Page
from mappings.errors import FatalApiError, ValuesyncError
from sync.pipeline.prefetch import FINISHED
from sync.pipeline.worker import TableRead, remote_pages

PAGES = {"accounts": 3, "opportunities": 5, "tickets": 0, "bad": 4, "dies": 2}
END = Cursor(datetime(2024, 5, 1, tzinfo=UTC), "z")


class FakeConnector:
    """Pages of one row each; 'bad' fails on its second page, 'dies' kills the process."""

    system = "fake"
    pull_streams = 2
    push_streams = 1

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.made)

    def count_calls(self, calls: Any) -> None:
        self.made.update(calls)

    def pull(self, table: str, *, fields: Any, since: Any, full: bool = False) -> Iterator[Page]:
        logging.getLogger("connectors.fake").warning("reading %s from the worker", table)
        for i in range(PAGES[table]):
            self.made["read"] += 1
            if table == "bad" and i == 1:
                raise FatalApiError("the portal refused", system="fake", operation="list bad")
            if table == "dies" and i == 1:
                os._exit(3)
            last = i == PAGES[table] - 1
            yield Page(table, pd.DataFrame({"id": [f"{table}-{i}"]}), END if last else None)


def fake_connector(setup: Any, env: Any) -> FakeConnector:
    return FakeConnector()


def reads(*tables: str) -> list[TableRead]:
    return [TableRead(f"pull {t}", t, (), None, True) for t in tables]


def collect(tables: list[str], **kw: Any) -> tuple[dict[str, list[Any]], Counter[str]]:
    calls: Counter[str] = Counter()
    got: dict[str, list[Any]] = {}
    for task, page in remote_pages(
        SimpleNamespace(crm="fake"),
        {},
        reads(*tables),
        ahead=2,
        add_calls=calls.update,
        factory=fake_connector,
        **kw,
    ):
        got.setdefault(task, []).append(page if page is FINISHED else page.records["id"][0])
    return got, calls


def test_every_page_in_its_tables_order_with_the_workers_calls() -> None:
    got, calls = collect(["accounts", "opportunities", "tickets"])
    assert got == {
        "pull accounts": ["accounts-0", "accounts-1", "accounts-2", FINISHED],
        "pull opportunities": [f"opportunities-{i}" for i in range(5)] + [FINISHED],
        "pull tickets": [FINISHED],
    }
    assert calls == Counter(read=8)
    assert mp.active_children() == []


def test_the_workers_log_records_reach_this_processs_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        collect(["accounts"])
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("connectors.fake", "reading accounts from the worker") in messages


def test_an_error_in_the_worker_is_raised_here_with_its_type_after_the_pages_before_it() -> None:
    calls: Counter[str] = Counter()
    got: list[Any] = []
    with pytest.raises(FatalApiError, match="the portal refused") as info:
        for _, page in remote_pages(
            SimpleNamespace(crm="fake"),
            {},
            reads("bad"),
            ahead=2,
            add_calls=calls.update,
            factory=fake_connector,
        ):
            got.append(page.records["id"][0])
    assert got == ["bad-0"]
    assert info.value.operation == "list bad"
    assert calls == Counter(read=2)
    assert mp.active_children() == []


def test_a_worker_that_dies_is_an_error_that_says_how_to_go_on() -> None:
    with pytest.raises(ValuesyncError, match=r"exit code 3\); run again to resume"):
        collect(["dies"])
    assert mp.active_children() == []


def test_stopping_early_stops_the_worker() -> None:
    pages = remote_pages(
        SimpleNamespace(crm="fake"),
        {},
        reads("opportunities"),
        ahead=1,
        add_calls=lambda c: None,
        factory=fake_connector,
    )
    task, page = next(pages)
    assert (task, page.records["id"][0]) == ("pull opportunities", "opportunities-0")
    pages.close()
    assert mp.active_children() == []


def test_ahead_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ahead >= 1"):
        next(remote_pages(SimpleNamespace(crm="fake"), {}, reads("accounts"), ahead=0,
                          add_calls=lambda c: None))  # fmt: skip


def test_a_silent_worker_is_given_up_on_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every receive has a timeout: a worker that never answers ends the read with an error."""
    monkeypatch.setattr("sync.pipeline.worker.SILENCE_LIMIT_SECONDS", 2.0)
    with pytest.raises(ValuesyncError, match="sent nothing for 2 s"):
        list(
            remote_pages(
                SimpleNamespace(crm="fake"),
                {},
                reads("accounts"),
                ahead=1,
                add_calls=lambda c: None,
                factory=silent_connector,
            )
        )
    assert mp.active_children() == []


def silent_connector(setup: Any, env: Any) -> FakeConnector:
    """A connector whose build never returns (a CRM that accepts and never answers)."""
    import time

    time.sleep(3600)
    return FakeConnector()


def test_the_worker_is_not_forked_from_this_process() -> None:
    """A fork of a process with threads and held locks may inherit a lock nobody releases:
    the worker is spawned, never forked from this one."""
    from sync.pipeline.worker import _context

    assert _context().get_start_method() == "spawn"
