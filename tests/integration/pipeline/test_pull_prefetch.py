"""The pull reads pages ahead in background threads (sync/pipeline/prefetch.py), or for a full read
in a worker process (sync/pipeline/worker.py); stopping it midway still stores pages strictly
in order with their cursors, stops the reader near the stop, and the next run completes
the mirror.

A run is stopped after its first stored page of accounts by the Progress it reports to
(a caller-supplied object, the CLI's progress bars in real use), as a failing caller would.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable

import pytest
import yaml

from sync.pipeline.pull import PAGES_AHEAD
from sync.pipeline.results import NoProgress
from tests.integration.pipeline.conftest import CRMS, Site

ACCOUNTS = 1000
PAGE = {"salesforce": 200, "hubspot": ACCOUNTS}
"""Rows per stored accounts page: Salesforce's smallest REST batch; a HubSpot full read
frames up to 5,000 records per page, then a page with the archived ids and the cursor."""


class StopPulling(Exception):
    """Raised by the progress callback to stop the run after N stored pages."""


class StopAfter(NoProgress):
    def __init__(self, task: str, pages: int, requests: Callable[[], int]) -> None:
        self.task, self.left, self.requests = task, pages, requests
        self.requests_before = -1
        """Query requests made before the task started (the checks before the pull query too)."""

    def start(self, task: str, total: int | None = None) -> None:
        if task == self.task:
            self.requests_before = self.requests()

    def advance(self, task: str, n: int = 1) -> None:
        if task == self.task:
            self.left -= 1
            if self.left == 0:
                raise StopPulling(f"stopped after a page of {task}")


def page_requests(site: Site) -> Callable[[], int]:
    """Counter of Salesforce query requests (COUNT(), query, queryMore)."""
    seen: list[str] = []

    def observe(method: str, path: str) -> None:
        if "/query" in path:
            seen.append(path)

    site.server.faults.observers.append(observe)
    return lambda: len(seen)


def small_pages(site: Site) -> None:
    if site.crm == "salesforce":
        project = yaml.safe_load(site.project_file.read_text())
        project["connections"]["sb"]["salesforce"]["rest_batch_size"] = PAGE["salesforce"]
        site.project_file.write_text(yaml.safe_dump(project))


@pytest.mark.parametrize("crm", CRMS)
def test_stopped_pull_keeps_stored_pages_stops_reader_and_next_run_completes(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=ACCOUNTS, name="prefetch")
    small_pages(site)
    requests = page_requests(site)

    stop = StopAfter("pull accounts", pages=1, requests=requests)
    with pytest.raises(StopPulling, match="stopped after a page of pull accounts"):
        site.run(progress=stop)

    assert [t.name for t in threading.enumerate() if t.name.startswith("pull ")] == []
    assert mp.active_children() == []  # a first run's full read has a worker process
    assert stop.requests_before >= 0
    made = requests() - stop.requests_before
    if crm == "salesforce":
        # COUNT(), the stored page, the pages read ahead, at most one in flight: not all 5.
        assert 2 <= made <= 1 + 1 + PAGES_AHEAD + 1 < 1 + ACCOUNTS // PAGE[crm]
    state = site.state()
    try:
        mirror = state.mirror_frame("sb", "accounts")
        cursor = state.get_cursor("sb", "accounts")
    finally:
        state.close()
    assert len(mirror) == PAGE[crm]  # exactly the first page, nothing read ahead was stored
    if crm == "salesforce":
        assert cursor is not None and cursor.last_id in set(mirror["account_id"])
    else:  # a HubSpot full read sets its cursor on its last page only, not stored yet
        assert cursor is None

    report = site.run()
    assert report.status == "succeeded"
    state = site.state()
    try:
        mirror = state.mirror_frame("sb", "accounts")
    finally:
        state.close()
    assert sorted(mirror["account_id"]) == sorted(site.records("accounts"))
