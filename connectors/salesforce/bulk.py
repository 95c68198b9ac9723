"""Bulk API 2.0 jobs, one retried call at a time (docs/crm-wire.md §A7, §A8).

simple-salesforce's `sf.bulk2.X.query/update` wrap a whole job in one call: they sleep
5 s before the first poll, cannot be retried step by step, and have no session refresh.
Here each step (create, upload, close, poll, results) is its own call through
`SalesforceApi.call`, so a 503 on a poll retries the poll, not the job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from simple_salesforce.bulk2 import Operation
from simple_salesforce.util import call_salesforce

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


_LOCATOR = re.compile(r"[A-Za-z0-9+/=_-]{1,200}")


def results_page(client: Any, job_id: str, locator: str, page_size: int) -> dict[str, Any]:
    """One results page of a query job, its headers checked (API-NOTES §A7).

    simple-salesforce's `get_query_results` reads a missing `Sforce-Locator` as "no more
    pages" (the rest of the result would be lost without a word) and a missing
    `Sforce-NumberOfRecords` as a KeyError; both are a broken answer, a ConnectorError.
    """
    params: dict[str, Any] = {"maxRecords": page_size}
    if locator:
        params["locator"] = locator
    response = call_salesforce(
        url=client._construct_request_url(job_id, True) + "/results",
        method="GET",
        session=client.session,
        headers=client._get_headers(client.JSON_CONTENT_TYPE, client.CSV_CONTENT_TYPE),
        params=params,
    )
    found = response.headers.get("Sforce-Locator")
    count = response.headers.get("Sforce-NumberOfRecords")
    problem = ""
    if found is None:
        problem = "has no Sforce-Locator header"
    elif found != "null" and not _LOCATOR.fullmatch(found):
        problem = "has a malformed Sforce-Locator header"
    elif count is None or not count.strip().isdigit():
        problem = "has no valid Sforce-NumberOfRecords header"
    if problem:
        raise FatalApiError(
            f"the Bulk API 2.0 results page of job {job_id} {problem}; the result cannot be "
            "read completely. Run again; if it persists, check a proxy between valuesync and "
            "Salesforce",
            system="salesforce", operation="bulk query results", status=response.status_code,
            code="BAD_BULK_HEADERS",
        )  # fmt: skip
    text = client.filter_null_bytes(response.content.decode("utf-8"))
    return {"locator": "" if found == "null" else found, "records": text}


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
            return results_page(api.bulk2(sf, obj), job_id, loc, page_size)

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
