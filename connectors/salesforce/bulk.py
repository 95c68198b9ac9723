"""Bulk API 2.0 jobs, one retried call at a time (docs/crm-wire.md §A7, §A8).

simple-salesforce's `sf.bulk2.X.query/update` wrap a whole job in one call: they sleep
5 s before the first poll, cannot be retried step by step, and have no session refresh.
Here each step (create, upload, close, poll, results) is its own call through
`SalesforceApi.call`, so a 503 on a poll retries the poll, not the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from simple_salesforce.bulk2 import Operation

from connectors.salesforce.client import SalesforceApi
from mappings.errors import FatalApiError

TERMINAL = ("JobComplete", "Failed", "Aborted")


def wait_for_job(
    api: SalesforceApi, obj: str, job_id: str, *, is_query: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:  # fmt: skip
    """Poll until the job is terminal; the job info, or FatalApiError on Failed/Aborted."""
    conn = api.conn
    deadline = time.monotonic() + conn.bulk_timeout_seconds
    wait = conn.bulk_poll_seconds
    kind = "bulk query" if is_query else "bulk ingest"
    while True:
        sleep(wait)
        info = api.call(f"{kind} status", lambda sf: api.bulk2(sf, obj).get_job(job_id, is_query))
        state = info.get("state")
        if state == "JobComplete":
            return dict(info)
        if state in TERMINAL:
            raise FatalApiError(
                f"{kind} job {job_id} on {obj} ended {state}: {info.get('errorMessage') or '-'}",
                system="salesforce",
                operation=kind,
                code=state,
            )
        if time.monotonic() > deadline:
            raise FatalApiError(
                f"{kind} job {job_id} on {obj} still {state} after "
                f"{conn.bulk_timeout_seconds:.0f}s; raise bulk_timeout_seconds or retry later",
                system="salesforce",
                operation=kind,
            )
        wait = min(max(wait * 2, 0.05), 10.0)


def query_chunks(
    api: SalesforceApi, obj: str, soql: str, *, page_size: int, page_cap: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:  # fmt: skip
    """The CSV chunks of a queryAll job, lazily; stops on a repeated locator or the page cap."""
    job = api.call(
        "bulk query create",
        lambda sf: api.bulk2(sf, obj).create_job(Operation.query_all, soql),
    )
    job_id = job["id"]
    wait_for_job(api, obj, job_id, is_query=True, sleep=sleep)
    locator, seen = "", set()
    for _ in range(page_cap):

        def fetch(sf: Any, loc: str = locator) -> Any:
            return api.bulk2(sf, obj).get_query_results(job_id, loc, page_size)

        result = api.call("bulk query results", fetch)
        yield result["records"]
        locator = result["locator"]
        if not locator or locator in seen:
            return
        seen.add(locator)
    raise FatalApiError(
        f"bulk query on {obj} returned more than {page_cap} pages; stopped to avoid a loop",
        system="salesforce",
        operation="bulk query results",
    )


def ingest_update(
    api: SalesforceApi, obj: str, csv_text: str, n_records: int, *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], str, str]:  # fmt: skip
    """Run one update job: (job info, failedResults CSV, unprocessedRecords CSV)."""
    job = api.call("bulk ingest create", lambda sf: api.bulk2(sf, obj).create_job(Operation.update))
    job_id = job["id"]
    api.call("bulk ingest upload", lambda sf: api.bulk2(sf, obj).upload_job_data(job_id, csv_text))
    api.call("bulk ingest close", lambda sf: api.bulk2(sf, obj).close_job(job_id))
    info = wait_for_job(api, obj, job_id, is_query=False, sleep=sleep)
    failed = unprocessed = ""
    if int(info.get("numberRecordsFailed") or 0) > 0:
        failed = api.call(
            "bulk ingest failed results",
            lambda sf: api.bulk2(sf, obj).get_ingest_results(job_id, "failedResults"),
        )
    total = int(info.get("numberRecordsProcessed") or 0)
    if total < n_records:
        unprocessed = api.call(
            "bulk ingest unprocessed",
            lambda sf: api.bulk2(sf, obj).get_ingest_results(job_id, "unprocessedrecords"),
        )
    return info, failed, unprocessed
