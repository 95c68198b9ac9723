"""Bulk API 2.0 ingest jobs (operation `update`) for the sandbox org.

Lifecycle per docs/crm-wire.md §A8: create (Open) -> PUT CSV batches (201, empty) ->
PATCH UploadComplete -> poll (InProgress, then JobComplete | Failed) -> per-record
results as CSV. Rows are saved through `writes.update_records`, so they fail with the
same codes as sObject Collections. In the CSV an empty cell leaves the field as it is
and `#N/A` sets it to null (Salesforce "Prepare CSV files" docs).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.org import API_VERSION, USER_ID, SalesforceOrg, sf_datetime
from connectors.sandbox.salesforce.schema import field_for, org_table_for
from connectors.sandbox.salesforce.writes import RecordResult, update_records

DELIMITERS = {
    "COMMA": ",",
    "BACKQUOTE": "`",
    "CARET": "^",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
SUPPORTED_OPERATIONS = ("update",)
NULL = "#N/A"
BASE = "/services/data/v{version}/jobs/ingest"


@dataclass
class IngestJob:
    """One ingest job: its settings, uploaded rows and, once processed, per-row results."""

    id: str
    object: str
    operation: str
    created: datetime
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    results: list[RecordResult] = field(default_factory=list)
    error_message: str | None = None
    final_state: str = "JobComplete"
    """The state processing ended in, shown once the InProgress polls are used up."""
    ready_at: float = 0.0
    """time.monotonic() when processing is done: like Salesforce, a job completes by time,
    not by how often it is polled (SalesforceOrg.bulk_processing_seconds after close)."""
    modstamp: datetime | None = None

    def info(self) -> dict[str, Any]:
        """Job info as GET /jobs/ingest/{id} returns it."""
        failed = sum(not r.success for r in self.results)
        body: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object,
            "createdById": USER_ID, "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.modstamp or self.created), "state": self.state,
            "externalIdFieldName": None, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(API_VERSION), "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{API_VERSION}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": len(self.results), "numberRecordsFailed": failed,
            "retries": 0, "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }  # fmt: skip
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


class IngestJobs:
    """The ingest jobs of one org, with the handlers that drive them."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self.jobs: dict[str, IngestJob] = {}
        self._seq = itertools.count(1)

    # --- helpers ----------------------------------------------------------------------
    def _job(self, request: Request) -> IngestJob | Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self.org.error(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    async def _json(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return self.org.error(
                400, "JSON_PARSER_ERROR", "Unexpected character in the request body"
            )
        if not isinstance(body, dict):
            return self.org.error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        return body

    # --- handlers ---------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        table = org_table_for(self.org.store, str(body.get("object", "")))
        if table is None:
            msg = f"sObject type '{body.get('object')}' is not supported."
            return self.org.error(400, "INVALIDJOB", msg)
        op = body.get("operation")
        if op not in SUPPORTED_OPERATIONS:
            msg = f"InvalidJob : operation '{op}' is not supported by the sandbox (only update)"
            return self.org.error(400, "INVALIDJOB", msg)
        delim, ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if delim not in DELIMITERS or ending not in ("LF", "CRLF"):
            return self.org.error(
                400, "INVALIDJOB", "InvalidJob : bad columnDelimiter or lineEnding"
            )
        job = IngestJob(
            id=f"750I{next(self._seq):011d}AAA",
            object=table.name,
            operation=str(op),
            created=self.org.store.clock.now(),
            column_delimiter=delim,
            line_ending=ending,
        )
        self.jobs[job.id] = job
        return self.org.json(job.info())

    async def upload(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        if job.state != "Open":
            msg = f"Job {job.id} is not in the Open state: {job.state}"
            return self.org.error(409, "INVALIDJOBSTATE", msg)
        text = (await request.body()).decode("utf-8-sig")
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter]
        )
        rows = [r for r in reader if r]
        if not rows:
            return self.org.error(400, "INVALIDBATCH", "InvalidBatch : no data in the request body")
        if job.header and rows[0] != job.header:
            return self.org.error(
                400, "INVALIDBATCH", "InvalidBatch : header differs from earlier upload"
            )
        job.header = rows[0]
        job.rows.extend(rows[1:])
        # Upload Job Data: 201 Created with an empty body (simple-salesforce insists on 201).
        return Response(status_code=201, headers=self.org.limit_headers())

    async def set_state(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        wanted = body.get("state")
        if wanted == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
            job.ready_at = time.monotonic() + self.org.bulk_processing_seconds
            self._process(job)
        elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
        else:
            msg = f"Cannot change the state of job {job.id} from {job.state} to {wanted}"
            return self.org.error(409, "INVALIDJOBSTATE", msg)
        job.modstamp = self.org.store.clock.now()
        return self.org.json(job.info())

    def _process(self, job: IngestJob) -> None:
        """Save every row; an unknown column fails the whole job, as Salesforce does."""
        table = self.org.store.table(job.object)
        unknown = [h for h in job.header if field_for(table, h) is None]
        if unknown or "id" not in (h.lower() for h in job.header):
            job.error_message = f"InvalidBatch : Field name not found : {(unknown or ['Id'])[0]}"
            job.final_state = "Failed"
            return
        updates = [self._row_update(job.header, row) for row in job.rows]
        job.results = update_records(self.org, job.object, updates)

    @staticmethod
    def _row_update(header: list[str], row: list[str]) -> dict[str, Any]:
        update: dict[str, Any] = {}
        for name, cell in zip(header, row, strict=False):
            if name.lower() == "id":
                update["Id"] = cell
            elif cell == NULL:
                update[name] = None
            elif cell != "":
                update[name] = cell
        return update

    async def get(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        if job.state in ("UploadComplete", "InProgress"):
            job.state = "InProgress" if time.monotonic() < job.ready_at else job.final_state
        return self.org.json(job.info())

    async def delete(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        del self.jobs[job.id]
        return Response(status_code=204, headers=self.org.limit_headers())

    async def list_jobs(self, request: Request) -> Response:
        records = [j.info() for j in self.jobs.values()]
        return self.org.json({"done": True, "records": records, "nextRecordsUrl": None})

    async def results(self, request: Request) -> Response:
        """successfulResults / failedResults / unprocessedrecords, matched case-insensitively."""
        job = self._job(request)
        if isinstance(job, Response):
            return job
        kind = request.path_params["kind"].lower()
        if kind not in ("successfulresults", "failedresults", "unprocessedrecords"):
            return self.org.error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(
            _results_csv(job, kind),
            media_type="text/csv",
            headers=self.org.limit_headers(),
        )


def _results_csv(job: IngestJob, kind: str) -> str:
    """One results file: `sf__Id`, `sf__Created`|`sf__Error`, then the uploaded columns."""
    buf = io.StringIO()
    out = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    if kind == "unprocessedrecords":
        out.writerow(job.header)
        if job.state == "Aborted" or job.error_message:
            out.writerows(job.rows)
        return buf.getvalue()
    ok = kind == "successfulresults"
    out.writerow(["sf__Id", "sf__Created" if ok else "sf__Error", *job.header])
    for row, res in zip(job.rows, job.results, strict=False):
        if res.success == ok:
            out.writerow([res.id or "", "false" if ok else res.bulk_error(), *row])
    return buf.getvalue()


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """Ingest job routes; every one needs a session and counts as an API call."""
    jobs = IngestJobs(org)

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            return org.guard(request) or await handler(request)

        return endpoint

    table: list[tuple[str, Any, list[str]]] = [
        (BASE, jobs.create, ["POST"]),
        (BASE, jobs.list_jobs, ["GET"]),
        (BASE + "/{job_id}", jobs.get, ["GET"]),
        (BASE + "/{job_id}", jobs.set_state, ["PATCH"]),
        (BASE + "/{job_id}", jobs.delete, ["DELETE"]),
        (BASE + "/{job_id}/batches", jobs.upload, ["PUT"]),
        (BASE + "/{job_id}/{kind}", jobs.results, ["GET"]),
    ]
    out: list[BaseRoute] = []
    for path, handler, methods in table:
        endpoint = guarded(handler)
        out += [
            Route(path, endpoint, methods=methods),
            Route(path + "/", endpoint, methods=methods),
        ]
    return out
