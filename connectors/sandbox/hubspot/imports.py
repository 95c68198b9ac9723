"""CRM imports: `POST /crm/v3/imports` (multipart), state, errors (docs/crm-wire.md §B13).

An import is a multipart request: an `importRequest` text part (JSON: name, files with
their column mappings, importOperations) and one `files` part per file, named as the
request's `fileName`. It answers 200 with the import in state STARTED and is processed
afterwards, in a thread, as HubSpot processes it in the background: STARTED ->
PROCESSING -> DONE (or FAILED, CANCELED). The sandbox serves what valuesync uses:
updates of existing records by record id (a column mapped with `idColumnType:
HUBSPOT_OBJECT_ID`, `importOperations: {objectTypeId: "UPDATE"}`); a request that would
create records is refused with a 400 naming the limitation.

Row semantics: a blank cell leaves the property as it is (imports never clear a value);
a row whose id is unknown or archived, or with a value the property does not accept,
fails as a whole and is listed by `GET /crm/v3/imports/{id}/errors`; the other rows
apply. Each import is one API call for the rate limits; starting more than the profile's
`hs_daily_imports` in a rolling 24 h answers 429.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import HubSpotPortal, correlation_id
from connectors.sandbox.hubspot.schema import OBJECT_TYPE_IDS, SINGULAR
from connectors.sandbox.hubspot.values import InvalidValue, iso_ms, parse_value
from connectors.sandbox.store import ObjectTable

FINISHED = ("DONE", "FAILED", "CANCELED")
ERROR_TYPES = {
    "INVALID_OPTION": "INVALID_ENUMERATION_OPTION",
    "INVALID_DECIMAL": "COULD_NOT_PARSE_NUMBER",
    "INVALID_DATE": "COULD_NOT_PARSE_DATE",
    "INVALID_BOOLEAN": "FAILED_VALIDATION",
}
"""Batch-write property error codes -> the import error types of the same failure."""
ROWS_PER_LOCK = 2_000
"""Rows applied per hold of the store lock, so reads go on while a large import runs."""
_ids = itertools.count(40_000_001)


@dataclass
class ImportJob:
    """One import: what was asked, its state, counters and row errors."""

    id: str
    name: str
    request: dict[str, Any]
    table: ObjectTable
    type_id: str
    header: list[str]
    rows: list[list[str]]
    id_column: int
    columns: dict[int, str]
    """Column index -> property name (the id column excluded)."""
    created: Any
    state: str = "STARTED"
    updated: Any = None
    counters: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)


class Imports:
    """The portal's imports and its daily import allowance."""

    def __init__(self, portal: HubSpotPortal) -> None:
        self.portal = portal
        self.jobs: dict[str, ImportJob] = {}
        self.started: deque[float] = deque()
        self.lock = threading.Lock()

    def over_daily_limit(self) -> bool:
        """Count one import against the rolling 24 h; True when that is one too many."""
        limit = self.portal.faults.profile.hs_daily_imports
        now = time.monotonic()
        with self.lock:
            while self.started and self.started[0] <= now - 86_400:
                self.started.popleft()
            if limit and len(self.started) >= limit:
                return True
            self.started.append(now)
        return False

    def body(self, job: ImportJob) -> dict[str, Any]:
        """A PublicImportResponse."""
        return {
            "id": job.id,
            "state": job.state,
            "importName": job.name,
            "importSource": "API",
            "optOutImport": False,
            "createdAt": iso_ms(job.created),
            "updatedAt": iso_ms(job.updated or job.created),
            "mappedObjectTypeIds": [job.type_id],
            "importRequestJson": job.request,
            "metadata": {"counters": dict(job.counters), "fileIds": [job.id], "objectLists": []},
        }

    def run(self, job: ImportJob) -> None:
        """Apply the rows (in a thread): PROCESSING, then DONE (or CANCELED)."""
        portal = self.portal
        with portal.store.lock:
            job.state, job.updated = "PROCESSING", portal.store.clock.now()
        delay = portal.faults.profile.hs_import_seconds
        if delay > 0:
            job.cancel.wait(delay)
        updated = emitted = 0
        for start in range(0, len(job.rows), ROWS_PER_LOCK):
            if job.cancel.is_set():
                job.state = "CANCELED"
                break
            with portal.store.lock:
                for offset, row in enumerate(job.rows[start : start + ROWS_PER_LOCK]):
                    n = self._apply(job, start + offset, row)
                    if n is not None:
                        updated += 1
                        emitted += n
        job.counters = {
            "TOTAL_ROWS": len(job.rows),
            "UPDATED_OBJECTS": updated,
            "PROPERTY_VALUES_EMITTED": emitted,
            "ERRORS": len(job.errors),
        }
        with portal.store.lock:
            job.updated = portal.store.clock.now()
            if job.state != "CANCELED":
                job.state = "DONE"

    def _apply(self, job: ImportJob, index: int, row: list[str]) -> int | None:
        """One row (store lock held): the number of values set, or None when it failed."""
        table = job.table
        rid = row[job.id_column].strip() if job.id_column < len(row) else ""
        if len(row) != len(job.header):
            self._fail(job, index, row, "INCORRECT_NUMBER_OF_COLUMNS", None)
            return None
        rec = table.records.get(rid)
        if rec is None or rec.get("_archived"):
            self._fail(job, index, row, "INVALID_OBJECT_ID", job.id_column)
            return None
        values: dict[str, Any] = {}
        for column, name in job.columns.items():
            raw = row[column]
            if raw == "":
                continue  # a blank cell leaves the property as it is
            try:
                values[name] = parse_value(table.fields[name], raw)
            except InvalidValue as exc:
                kind = ERROR_TYPES.get(exc.code, "FAILED_VALIDATION")
                self._fail(job, index, row, kind, column, str(exc))
                return None
        if values:
            rec.update(values)
            rec["hs_lastmodifieddate"] = self.portal.store.clock.now()
            self.portal.wrote(table, rec)
        return len(values)

    def _fail(
        self,
        job: ImportJob,
        index: int,
        row: list[str],
        kind: str,
        column: int | None,
        message: str = "",
    ) -> None:
        """Record a failed row in HubSpot's import error shape."""
        error: dict[str, Any] = {
            "id": str(len(job.errors) + 1),
            "createdAt": int(time.time() * 1000),
            "errorType": kind,
            "objectType": SINGULAR[job.table.name].upper(),
            "objectTypeId": job.type_id,
            "errorMessage": message or kind.replace("_", " ").lower(),
            "sourceData": {
                "rowData": row,
                "lineNumber": index + 2,  # the header is line 1
                "containsEncryptedProperties": False,
                "fileId": int(job.id),
                "pageName": "",
            },
        }
        if column is not None and column < len(row):
            error["knownColumnNumber"] = column
            error["invalidValue"] = row[column]
        job.errors.append(error)


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """POST /crm/v3/imports, GET /crm/v3/imports[/{id}[/errors]], POST .../{id}/cancel."""
    imports = Imports(portal)

    async def start(request: Request) -> Response:
        denied = portal.guard(request, "imports_create")
        if denied:
            return denied
        if imports.over_daily_limit():
            limit = portal.faults.profile.hs_daily_imports
            return portal.error(
                429,
                "RATE_LIMITS",
                f"You have reached your daily limit of {limit} imports.",
                errorType="RATE_LIMIT",
                policyName="DAILY_IMPORTS",
            )
        try:
            form = await request.form()
        except ClientDisconnect:  # the client died mid-upload: no import, as in HubSpot
            return portal.empty(400)
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        files = {str(f.filename): await f.read() for f in uploads}
        job_or_error = plan(portal, form.get("importRequest"), files)
        if isinstance(job_or_error, str):
            return portal.error(400, "VALIDATION_ERROR", job_or_error)
        job = job_or_error
        imports.jobs[job.id] = job
        threading.Thread(target=imports.run, args=(job,), daemon=True).start()
        return portal.json(imports.body(job))

    def one(request: Request, operation: str) -> ImportJob | Response:
        """The import the path names, or the answer refusing the request (limit, 404)."""
        denied = portal.guard(request, operation)
        if denied:
            return denied
        job = imports.jobs.get(request.path_params["importId"])
        if job is None:
            return portal.error(404, "OBJECT_NOT_FOUND", "Import not found")
        return job

    async def get(request: Request) -> Response:
        job = one(request, "imports_get")
        if isinstance(job, Response):
            return job
        return portal.json(imports.body(job))

    async def errors(request: Request) -> Response:
        job = one(request, "imports_errors")
        if isinstance(job, Response):
            return job
        after = int(request.query_params.get("after") or 0)
        limit = min(max(int(request.query_params.get("limit") or 100), 1), 1_000)
        page = job.errors[after : after + limit]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(job.errors):
            link = f"{portal.base_url}/crm/v3/imports/{job.id}/errors?after={after + limit}"
            body["paging"] = {"next": {"after": str(after + limit), "link": link}}
        return portal.json(body)

    async def listing(request: Request) -> Response:
        denied = portal.guard(request, "imports_list")
        if denied:
            return denied
        newest = sorted(imports.jobs.values(), key=lambda j: int(j.id), reverse=True)
        return portal.json({"results": [imports.body(j) for j in newest]})

    async def cancel(request: Request) -> Response:
        job = one(request, "imports_cancel")
        if isinstance(job, Response):
            return job
        job.cancel.set()
        now = iso_ms(portal.store.clock.now())
        return portal.json({"status": "COMPLETE", "startedAt": now, "completedAt": now})

    return [
        Route("/crm/v3/imports", start, methods=["POST"]),
        Route("/crm/v3/imports/", start, methods=["POST"]),
        Route("/crm/v3/imports", listing, methods=["GET"]),
        Route("/crm/v3/imports/", listing, methods=["GET"]),
        Route("/crm/v3/imports/{importId}", get, methods=["GET"]),
        Route("/crm/v3/imports/{importId}/errors", errors, methods=["GET"]),
        Route("/crm/v3/imports/{importId}/cancel", cancel, methods=["POST"]),
    ]


def plan(portal: HubSpotPortal, raw: Any, files: dict[str, bytes]) -> ImportJob | str:
    """The import a request asks for, or the message of the 400 that refuses it."""
    try:
        request = orjson.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return "importRequest must be a JSON object (a text part of the multipart body)"
    specs = request.get("files")
    if not isinstance(specs, list) or len(specs) != 1 or not isinstance(specs[0], dict):
        return "importRequest.files must list exactly one file (the sandbox serves one)"
    spec = specs[0]
    name = spec.get("fileName")
    if name not in files:
        return f"No uploaded file is named {name!r}; uploaded: {sorted(files)}"
    if str(spec.get("fileFormat", "CSV")).upper() != "CSV":
        return "fileFormat must be CSV (the sandbox reads no spreadsheets)"
    page = spec.get("fileImportPage") or {}
    mappings = page.get("columnMappings")
    if not isinstance(mappings, list) or not mappings:
        return "fileImportPage.columnMappings must list the file's columns"
    try:
        text = files[name].decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"{name} is not UTF-8"
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or not page.get("hasHeader", True):
        return "the file needs a header row (hasHeader: true)"
    header = lines[0]
    return _job(portal, request, header, lines[1:], mappings)


def _job(
    portal: HubSpotPortal,
    request: dict[str, Any],
    header: list[str],
    rows: list[list[str]],
    mappings: list[Any],
) -> ImportJob | str:
    type_ids = {m.get("columnObjectTypeId") for m in mappings if isinstance(m, dict)}
    if len(type_ids) != 1:
        return "every column must map to the same columnObjectTypeId (one object per import)"
    type_id = str(type_ids.pop())
    table = portal.store.tables.get(OBJECT_TYPE_IDS.get(type_id, ""))
    if table is None:
        return f"Unknown columnObjectTypeId {type_id}; known: {', '.join(OBJECT_TYPE_IDS)}"
    operation = (request.get("importOperations") or {}).get(type_id)
    id_column, columns = None, {}
    for m in mappings:
        column = m.get("columnName")
        if column not in header:
            return f"columnName {column!r} is not a column of the file's header"
        index = header.index(column)
        if m.get("idColumnType") == "HUBSPOT_OBJECT_ID":
            id_column = index
            continue
        prop = m.get("propertyName")
        f = table.fields.get(prop or "")
        if f is None:
            return f'Property "{prop}" does not exist on {table.name}'
        if not f.updateable:
            return f"{prop} is a read only property; its value cannot be set."
        columns[index] = str(prop)
    if id_column is None or operation != "UPDATE":
        return (
            "the sandbox serves updates by record id only: map a column with idColumnType "
            f'HUBSPOT_OBJECT_ID and set importOperations {{"{type_id}": "UPDATE"}}'
        )
    now = portal.store.clock.now()
    return ImportJob(
        id=str(next(_ids)),
        name=str(request.get("name") or f"import {correlation_id()}"),
        request=request,
        table=table,
        type_id=type_id,
        header=header,
        rows=rows,
        id_column=id_column,
        columns=columns,
        created=now,
    )
