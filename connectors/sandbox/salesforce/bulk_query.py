"""Bulk API 2.0 query jobs: create, poll, CSV results in chunks, abort, delete, list.

Wire facts (docs/crm-wire.md §A7; query_create_job.htm, query_get_job_results.htm,
bulk_api_2_job_states.htm):
- Create answers 200 with state UploadComplete; the SOQL is checked at once (400 list
  error for bad SOQL). The job runs on the first poll: UploadComplete -> JobComplete.
- Results are CSV with a header row in every chunk, every value double-quoted, null as
  an empty string, columns in SELECT order; `Sforce-NumberOfRecords` is required by
  simple-salesforce, `Sforce-Locator` is opaque (base64 of the next offset, like the
  `MjAwMDAw` in Salesforce's examples) and the literal `null` on the last chunk.
- Results before completion: 412 JOB_NOT_COMPLETE. DELETE answers 204 with no body.
- Without ORDER BY Salesforce promises no order (a job is split into chunks that run in
  parallel); the sandbox shuffles such results (seeded by the job id, so reproducible)
  unless `SalesforceOrg.bulk_query_shuffle` is off, and records every job's SOQL in
  `SalesforceOrg.bulk_queries`.
- Bulk API 2.0 refuses aggregate functions such as COUNT() and OFFSET ("Understanding
  Bulk API 2.0 Query", queries.htm). The sandbox lets such a job be created and then
  fails it with an errorMessage (how Salesforce reports it is not verified: [3rd]).
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.org import USER_ID, SalesforceOrg, sf_datetime
from connectors.sandbox.salesforce.query import fmt_datetime
from connectors.sandbox.salesforce.soql import CompiledQuery, compile_query
from connectors.sandbox.salesforce.soql_lex import SoqlError
from connectors.sandbox.store import FieldDef

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_MAX_RECORDS = 50_000
TERMINAL = ("JobComplete", "Failed", "Aborted")


@dataclass
class QueryJob:
    id: str
    operation: str
    query: CompiledQuery
    created: datetime
    version: str
    delimiter: str
    line_ending: str
    state: str = "UploadComplete"
    modstamp: datetime | None = None
    ids: list[str] = field(default_factory=list)
    error: str | None = None
    processing_ms: int = 0

    def info(self, *, full: bool = True) -> dict[str, Any]:
        """Job info as Salesforce returns it (create omits the processing figures)."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.query.sobject,
            "createdById": USER_ID,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.modstamp or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if full:
            body.update(jobType="V2Query", numberRecordsProcessed=len(self.ids), retries=0,
                        totalProcessingTime=self.processing_ms)  # fmt: skip
            if self.error:
                body["errorMessage"] = self.error
        return body


def _csv_converter(f: FieldDef) -> Callable[[Any], Any] | None:
    if f.type == "boolean":
        return lambda v: "true" if v else "false"
    if f.type == "datetime":
        return fmt_datetime
    if f.type == "date":
        return lambda v: v.isoformat()
    return None


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class BulkQueryRoutes:
    """The handlers, sharing one job table per org."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self.jobs: dict[str, QueryJob] = {}
        self._seq = itertools.count(1)

    # --- create / list ------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        org = self.org
        if (denied := org.guard(request)) is not None:
            return denied
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return org.error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        if not isinstance(body, dict):
            return org.error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        problem = self._check_body(body)
        if problem:
            return org.error(400, "INVALIDJOB", problem)
        try:
            cq = compile_query(org.store, str(body["query"]))
        except SoqlError as exc:
            return org.error(exc.status, exc.code, exc.message)
        org.bulk_queries.append(str(body["query"]))
        job = QueryJob(
            id=f"750{next(self._seq):012d}AAA",
            operation=body["operation"],
            query=cq,
            created=org.store.clock.now(),
            version=request.path_params["version"],
            delimiter=body.get("columnDelimiter", "COMMA"),
            line_ending=body.get("lineEnding", "LF"),
        )
        self.jobs[job.id] = job
        return org.json(job.info(full=False))

    @staticmethod
    def _check_body(body: dict[str, Any]) -> str | None:
        if body.get("operation") not in ("query", "queryAll"):
            return "InvalidJob : operation must be 'query' or 'queryAll'"
        if not body.get("query"):
            return "InvalidJob : query is required"
        if body.get("columnDelimiter", "COMMA") not in DELIMITERS:
            return f"InvalidJob : columnDelimiter must be one of {', '.join(DELIMITERS)}"
        if body.get("lineEnding", "LF") not in LINE_ENDINGS:
            return "InvalidJob : lineEnding must be LF or CRLF"
        return None

    async def list_jobs(self, request: Request) -> Response:
        if (denied := self.org.guard(request)) is not None:
            return denied
        records = [j.info() for j in self.jobs.values()]
        return self.org.json({"done": True, "records": records, "nextRecordsUrl": None})

    # --- one job ------------------------------------------------------------------------
    def _job(self, request: Request) -> QueryJob | Response:
        if (denied := self.org.guard(request)) is not None:
            return denied
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self.org.error(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    async def get(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        if job.state == "UploadComplete":
            self._process(job)
        return self.org.json(job.info())

    def _process(self, job: QueryJob) -> None:
        """Run the query: Bulk API 2.0 refuses COUNT() and OFFSET, so those jobs fail."""
        start = time.perf_counter()
        stmt = job.query.stmt
        if job.query.count_only or stmt.offset is not None:
            what = "Aggregate functions such as COUNT()" if job.query.count_only else "OFFSET"
            job.state, job.error = "Failed", f"{what} are not supported by Bulk API 2.0 query"
        else:
            rows = job.query.run(self.org.store, include_deleted=job.operation == "queryAll")
            job.ids = [r["_id"] for r in rows]
            if self.org.bulk_query_shuffle and not stmt.order_by:
                random.Random(job.id).shuffle(job.ids)
            job.state = "JobComplete"
        job.processing_ms = int((time.perf_counter() - start) * 1000)
        job.modstamp = self.org.store.clock.now()

    async def patch(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return self.org.error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            return self.org.error(400, "INVALIDJOBSTATE", "A query job can only be set to Aborted")
        if job.state in TERMINAL:
            return self.org.error(400, "INVALIDJOBSTATE", f"Job is already {job.state}")
        job.state, job.modstamp = "Aborted", self.org.store.clock.now()
        return self.org.json(job.info())

    async def delete(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        del self.jobs[job.id]
        return Response(status_code=204, headers=self.org.limit_headers())

    # --- results ------------------------------------------------------------------------
    async def results(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        org = self.org
        if job.state in ("UploadComplete", "InProgress"):
            return org.error(412, "JOB_NOT_COMPLETE", f"Query job {job.id} is not complete")
        if job.state != "JobComplete":
            return org.error(400, "INVALIDJOBSTATE", f"Query job {job.id} is {job.state}")
        params = request.query_params
        max_text = params.get("maxRecords", str(DEFAULT_MAX_RECORDS))
        offset = decode_locator(params["locator"]) if params.get("locator") else 0
        if not max_text.isdigit() or int(max_text) < 1:
            return org.error(400, "INVALID_PARAMETER", "maxRecords must be a positive integer")
        if offset is None or offset > len(job.ids):
            return org.error(400, "INVALID_LOCATOR", "The locator is not valid for this job")
        end = offset + int(max_text)
        body, count = self._chunk(job, offset, end)
        headers = {
            **org.limit_headers(),
            "Sforce-NumberOfRecords": str(count),
            "Sforce-Locator": encode_locator(end) if end < len(job.ids) else "null",
        }
        return Response(body, media_type="text/csv", headers=headers)

    def _chunk(self, job: QueryJob, start: int, end: int) -> tuple[bytes, int]:
        """The CSV of job.ids[start:end], rendered now (results are prepared per chunk)."""
        cols = job.query.columns
        names = [f.name for f in cols]
        convs = [(i, c) for i, f in enumerate(cols) if (c := _csv_converter(f)) is not None]
        buf = io.StringIO()
        writer = csv.writer(
            buf, delimiter=DELIMITERS[job.delimiter], lineterminator=LINE_ENDINGS[job.line_ending],
            quoting=csv.QUOTE_ALL,
        )  # fmt: skip
        writer.writerow(names)
        records = job.query.table.records
        rows = []
        for rid in job.ids[start:end]:
            r = records.get(rid)
            if r is None:
                continue
            row = list(map(r.get, names))
            for i, conv in convs:
                if row[i] is not None and not isinstance(row[i], str):  # str: served as is
                    row[i] = conv(row[i])
            rows.append(row)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8"), len(rows)


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """The Bulk API 2.0 query endpoints under /services/data/vXX.X/jobs/query."""
    h = BulkQueryRoutes(org)
    base = "/services/data/v{version}/jobs/query"
    return [
        Route(base, h.create, methods=["POST"]),
        Route(base, h.list_jobs, methods=["GET"]),
        Route(f"{base}/", h.create, methods=["POST"]),
        Route(f"{base}/", h.list_jobs, methods=["GET"]),
        Route(f"{base}/{{job_id}}", h.get, methods=["GET"]),
        Route(f"{base}/{{job_id}}", h.patch, methods=["PATCH"]),
        Route(f"{base}/{{job_id}}", h.delete, methods=["DELETE"]),
        Route(f"{base}/{{job_id}}/results", h.results, methods=["GET"]),
    ]
