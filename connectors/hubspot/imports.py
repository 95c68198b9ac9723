"""Large pushes as one CRM import per object: a CSV file per call (docs/crm-wire.md §B13).

Batch updates take 100 records per call, so 100,000 changed companies cost 1,000 calls,
five minutes of a 190-calls-per-10-s portal. An import takes the whole change set in one
multipart call (`POST /crm/v3/imports`: the `importRequest` JSON and the CSV file), runs
in HubSpot's background, and is then polled and its row errors read:

- the CSV holds `hs_object_id` (mapped with `idColumnType: HUBSPOT_OBJECT_ID`) and one
  column per changed property; `importOperations: {objectTypeId: "UPDATE"}`, so an
  unknown id fails its row instead of creating a record;
- a blank cell leaves a property as it is (HubSpot imports never clear a value), so a
  record's clears (a property sent as "") go through the batch path (push.py) and its
  other values through the import; the record is accepted when both parts are;
- each row error (`GET /crm/v3/imports/{id}/errors`) is matched to its record by the id
  cell of its `rowData` (else its line number) and becomes a Rejection, as in the batch
  path; the ids sent and not rejected are accepted once the import is DONE;
- an import is an UPDATE by id that sets values, so sending it again (a retried create,
  a rerun after a kill) is harmless;
- before starting one, earlier valuesync imports still running are waited for, so this
  run's values are applied after a killed run's (docs/crm-wire.md §B13 gives the argument);
- the portal's daily import limit (500 per rolling 24 h) falls back to batch updates.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base import Rejection, WriteResult
from connectors.hubspot.client import SYSTEM, HubSpotApi
from connectors.hubspot.push import Input, Pusher
from mappings.errors import FatalApiError, QuotaError

log = logging.getLogger(__name__)
OBJECT_TYPE_IDS = {"companies": "0-2", "contacts": "0-1", "deals": "0-3", "tickets": "0-5",
                   "invoices": "0-53"}  # fmt: skip
"""HubSpot's object type ids (developers.hubspot.com/docs/api/crm/understanding-the-crm)."""
ID_COLUMN = "hs_object_id"
NAME_PREFIX = "valuesync "
RUNNING = ("STARTED", "PROCESSING", "DEFERRED")
ERRORS_PAGE = 500


@dataclass(frozen=True)
class Polling:
    """Back-off of the state polls: first wait, growth factor, longest wait, deadline."""

    first: float = 0.5
    factor: float = 1.8
    longest: float = 15.0
    deadline: float = 3_600.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.longest < self.first:
            raise ValueError(f"polling needs first > 0, factor >= 1, longest >= first: {self}")

    def waits(self) -> Any:
        """Successive waits until the deadline is spent."""
        wait, spent = self.first, 0.0
        while spent < self.deadline:
            yield wait
            spent += wait
            wait = min(self.longest, wait * self.factor)


def object_type_id(object_type: str) -> str | None:
    """The objectTypeId an import names (`0-2`, a custom `2-123`), or None if unknown."""
    if re.fullmatch(r"\d+-\d+", object_type):
        return object_type
    return OBJECT_TYPE_IDS.get(object_type.lower())


def csv_file(inputs: Sequence[Input]) -> tuple[str, list[str]]:
    """The import file (header: hs_object_id, then every property) and its columns."""
    props = sorted({p for i in inputs for p in i.properties})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([ID_COLUMN, *props])
    for item in inputs:
        values = item.properties
        writer.writerow([item.id, *(values.get(p, "") for p in props)])
    return out.getvalue(), props


def import_request(name: str, file_name: str, type_id: str, props: Sequence[str]) -> str:
    """The importRequest JSON: one CSV, updates by record id only."""
    mappings = [
        {"columnObjectTypeId": type_id, "columnName": ID_COLUMN, "propertyName": ID_COLUMN,
         "idColumnType": "HUBSPOT_OBJECT_ID"},
        *({"columnObjectTypeId": type_id, "columnName": p, "propertyName": p} for p in props),
    ]  # fmt: skip
    request = {
        "name": name,
        "importOperations": {type_id: "UPDATE"},
        "dateFormat": "YEAR_MONTH_DAY",
        "files": [
            {
                "fileName": file_name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }
    return json.dumps(request)


class Importer:
    """One object's push as a CRM import (clears by batch update)."""

    def __init__(
        self,
        api: HubSpotApi,
        object_type: str,
        *,
        polling: Polling = Polling(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.object_type = object_type
        self.polling = polling
        self.sleep = sleep

    def push(self, inputs: Sequence[Input]) -> WriteResult:
        """Write every input; per-record outcomes as data, calls counted as `write`."""
        batch = Pusher(self.api, self.object_type)
        type_id = object_type_id(self.object_type)
        if type_id is None:  # an object imports cannot name: batch updates
            return batch.push(inputs)
        result = WriteResult()
        sets = _part(inputs, clears=False)
        clears = _part(inputs, clears=True)
        with self.api.counting() as calls:
            try:
                self._import(sets, type_id, result)
            except QuotaError as exc:
                if exc.code != "IMPORT_LIMIT_DAILY":
                    raise
                log.warning("%s: the daily import limit is used up; batch updates instead",
                            self.object_type)  # fmt: skip
                clears = list(inputs)
        spent = sum(calls.values())
        if clears:
            other = batch.push(clears)  # counts its own calls
            _merge(result, other)
            spent += other.calls.get("write", 0)
        result.calls = {"write": spent}
        log.info(
            "%s: import of %d records: %d accepted, %d rejected in %d calls",
            self.object_type, len(inputs), len(set(result.accepted)),
            len({r.record_id for r in result.rejected}), spent,
        )  # fmt: skip
        return result

    def _import(self, inputs: Sequence[Input], type_id: str, result: WriteResult) -> None:
        if not inputs:
            return
        self.wait_for_earlier()
        text, props = csv_file(inputs)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{NAME_PREFIX}{self.object_type} {stamp}"
        with tempfile.TemporaryDirectory(prefix="valuesync-import-") as folder:
            # hubspot-api-client opens `files` by path (ApiClient.files_parameters)
            path = Path(folder) / f"{self.object_type}-{stamp}.csv"
            path.write_text(text, encoding="utf-8")
            started = self.api.call_json(
                "write",
                f"import {self.object_type}",
                self.api.client.crm.imports.core_api.create_with_http_info,
                files=str(path),
                import_request=import_request(name, path.name, type_id, props),
            )
        import_id = str(started.get("id") or "")
        if not import_id:
            raise FatalApiError(
                "the import's answer has no id",
                system=SYSTEM,
                operation=f"import {self.object_type}",
                code="NO_IMPORT_ID",
            )
        final = self._finish(import_id, started)
        self._collect(import_id, final, inputs, result)

    def _finish(self, import_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Poll the import with back-off until it is no longer running."""
        for wait in self.polling.waits():
            if str(body.get("state")) not in RUNNING:
                return body
            self.sleep(wait)
            body = self._state(import_id)
        if str(body.get("state")) not in RUNNING:
            return body
        raise FatalApiError(
            f"import {import_id} still runs after {self.polling.deadline:.0f} s; run again "
            "once it has finished (the next run reads what it wrote)",
            system=SYSTEM,
            operation=f"import {self.object_type}",
            code="IMPORT_TIMEOUT",
        )

    def _state(self, import_id: str) -> dict[str, Any]:
        return self.api.call_json(
            "write",
            f"import {import_id} state",
            self.api.client.crm.imports.core_api.get_by_id_with_http_info,
            import_id,
        )

    def _collect(
        self, import_id: str, final: dict[str, Any], inputs: Sequence[Input], result: WriteResult
    ) -> None:
        state = str(final.get("state"))
        sent = [i.id for i in inputs]
        counters = (final.get("metadata") or {}).get("counters") or {}
        errors = self._errors(import_id) if counters.get("ERRORS", 1) or state != "DONE" else []
        lines = {n + 2: rid for n, rid in enumerate(sent)}  # the header is line 1
        asked = set(sent)
        refused: set[str] = set()
        header = _header(inputs)
        for error in errors:
            rid = _error_id(error, lines)
            if rid is None or rid not in asked:
                continue
            refused.add(rid)
            column = error.get("knownColumnNumber")
            field = ""
            if isinstance(column, int) and 0 < column < len(header):
                field = header[column]
            kind = str(error.get("errorType") or "IMPORT_ERROR")
            message = str(error.get("errorMessage") or kind)
            result.rejected.append(Rejection(rid, field, kind, message))
        if state != "DONE":
            for rid in sorted(asked - refused):
                message = f"import {import_id} ended {state}; nothing is known of this record"
                result.rejected.append(Rejection(rid, "", f"IMPORT_{state}", message))
            return
        result.accepted += [rid for rid in sent if rid not in refused]

    def _errors(self, import_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            kwargs: dict[str, Any] = {"limit": ERRORS_PAGE, "include_error_message": True,
                                      "include_row_data": True}  # fmt: skip
            if after:
                kwargs["after"] = after
            page = self.api.call_json(
                "write",
                f"import {import_id} errors",
                self.api.client.crm.imports.public_imports_api.get_errors_with_http_info,
                import_id,
                **kwargs,
            )
            out += page.get("results") or []
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after or after in seen:  # a repeated cursor ends the loop
                return out
            seen.add(after)

    def wait_for_earlier(self) -> None:
        """Wait until no earlier valuesync import of this object is still running."""
        for wait in self.polling.waits():
            page = self.api.call_json(
                "imports",
                "list imports",
                self.api.client.crm.imports.core_api.get_page_with_http_info,
                limit=100,
            )
            running = [
                str(i.get("id"))
                for i in page.get("results") or []
                if str(i.get("state")) in RUNNING
                and str(i.get("importName") or "").startswith(f"{NAME_PREFIX}{self.object_type} ")
            ]
            if not running:
                return
            log.warning("%s: waiting for earlier import(s) %s to finish",
                        self.object_type, ", ".join(running))  # fmt: skip
            self.sleep(wait)


def _part(inputs: Sequence[Input], *, clears: bool) -> list[Input]:
    """The inputs' clears (properties sent as "") or their other values; empty ones dropped."""
    out = [Input(i.id, {p: v for p, v in i.properties.items() if (v == "") == clears})
           for i in inputs]  # fmt: skip
    return [i for i in out if i.properties]


def _header(inputs: Sequence[Input]) -> list[str]:
    return [ID_COLUMN, *sorted({p for i in inputs for p in i.properties})]


def _error_id(error: dict[str, Any], lines: dict[int, str]) -> str | None:
    source = error.get("sourceData") or {}
    row = source.get("rowData")
    if isinstance(row, list) and row and str(row[0]).strip():
        return str(row[0]).strip()
    line = source.get("lineNumber")
    return lines.get(line) if isinstance(line, int) else None


def _merge(result: WriteResult, other: WriteResult) -> None:
    """Add a batch push's outcome: a record is accepted only if no part was rejected."""
    result.rejected += other.rejected
    bad = {r.record_id for r in result.rejected}
    merged = dict.fromkeys([*result.accepted, *other.accepted])
    result.accepted = [rid for rid in merged if rid not in bad]
