"""Update-only writes by record Id: sObject Collections below a threshold, Bulk 2.0 above.

The input frame has an `Id` (or `id`) column and one column per CRM field to write.
A missing cell (None / NaN / NA) means "not changed": the field is not sent. To clear a
field, put `CLEAR` in the cell. A row with nothing changed is not sent at all, so a run
with nothing changed makes no write call. An optional `parent_id` column (e.g. the
AccountId of an Opportunity) orders the records so one parent's children travel
together, which reduces UNABLE_TO_LOCK_ROW contention; it is never written.

Per-record results come back as data. Transient per-record errors (UNABLE_TO_LOCK_ROW,
...) are retried with backoff; permanent ones (validation rules, bad values) become
`Rejection`s and never stop the other records.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import ObjectSchema, Rejection, WriteResult
from connectors.retry import RetryPolicy
from connectors.salesforce.bulk import ingest_update
from connectors.salesforce.client import TRANSIENT_CODES, SalesforceApi
from mappings.errors import ConfigError

log = logging.getLogger(__name__)

CLEAR = "#N/A"
"""Cell value that sets a field to null (Bulk API's own null marker)."""
PARENT_COLUMN = "parent_id"
COLLECTION_SIZE = 200
Record = dict[str, Any]


def _json_value(v: Any) -> Any:
    if isinstance(v, str) and v == CLEAR:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp | datetime):
        ts = pd.Timestamp(v)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    if isinstance(v, date):
        return v.isoformat()
    return v


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def to_records(schema: ObjectSchema, changes: pd.DataFrame) -> list[Record]:
    """Changed fields per record (NA = unchanged), ordered by parent then Id."""
    id_col = next((c for c in ("Id", "id") if c in changes.columns), None)
    if id_col is None:
        raise ConfigError(f"push to {schema.name}: the changes frame needs an 'Id' column")
    fields = [c for c in changes.columns if c not in (id_col, PARENT_COLUMN)]
    names = {}
    for f in fields:
        info = schema.get(f)
        if info is None or not info.updateable:
            raise ConfigError(
                f"push to {schema.name}: field '{f}' is not an updateable field of {schema.name}; "
                "check the outputs in the mapping file (run `valuesync check`)"
            )
        names[f] = info.name
    frame = changes
    if PARENT_COLUMN in changes.columns:
        frame = changes.sort_values([PARENT_COLUMN, id_col], kind="stable", na_position="last")
    out: list[Record] = []
    for row in frame[[id_col, *fields]].itertuples(index=False, name=None):
        rec = {
            names[f]: _json_value(v)
            for f, v in zip(fields, row[1:], strict=True)
            if not _missing(v)
        }
        if rec and not _missing(row[0]):
            out.append({"Id": str(row[0]), **rec})
    return out


def _rejections(rid: str, errors: Iterable[dict[str, Any]]) -> list[Rejection]:
    out = [
        Rejection(
            rid,
            ",".join(e.get("fields") or []),
            str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
            str(e.get("message", "")),
        )
        for e in errors
    ]
    return out or [Rejection(rid, "", "UNKNOWN", "the record was not saved")]


class Pusher:
    """One push to one object: batches, per-record retries and results."""

    def __init__(
        self, api: SalesforceApi, schema: ObjectSchema, policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.api, self.schema, self.policy, self.sleep = api, schema, policy, sleep
        self.result = WriteResult()
        self._transient_last: dict[str, Rejection] = {}
        """Id -> the transient error of its latest attempt (reported if retries run out)."""

    def run(self, records: list[Record]) -> WriteResult:
        pending = records
        for round_ in range(self.policy.attempts):
            if not pending:
                break
            if round_:
                wait = min(self.policy.max_wait, self.policy.base_wait * 2**round_)
                log.warning(
                    "retrying %d locked record(s) on %s in %.2fs",
                    len(pending),
                    self.schema.name,
                    wait,
                )  # noqa: E501
                self.sleep(wait)
            if len(pending) >= self.api.conn.bulk_write_threshold:
                pending = self._bulk(pending)
            else:
                pending = self._collections(pending)
        self.result.rejected.extend(self._transient_last[r["Id"]] for r in pending)
        return self.result

    def _transient(self, rec: Record, rejection: Rejection, out: list[Record]) -> None:
        out.append(rec)
        self._transient_last[rec["Id"]] = rejection

    def _collections(self, records: list[Record]) -> list[Record]:
        obj = self.schema.name
        retry: list[Record] = []
        self.api.transport.require(math.ceil(len(records) / COLLECTION_SIZE), f"push to {obj}")
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": obj}, **r} for r in chunk],
            }
            results = self.api.call(
                f"collections update {obj}",
                partial(_patch_collection, body=body),
            )
            for rec, res in matched(chunk, results):
                if res is None:
                    self.result.rejected.append(Rejection(rec["Id"], "", "NO_RESULT", UNMATCHED))
                else:
                    self._one(rec, bool(res.get("success")), res.get("errors") or [], retry)
        return retry

    def _one(
        self, rec: Record, ok: bool, errors: list[dict[str, Any]], retry: list[Record]
    ) -> None:
        rid = rec["Id"]
        if ok:
            self.result.accepted.append(rid)
            return
        rejections = _rejections(rid, errors)
        if any(r.code in TRANSIENT_CODES for r in rejections):
            self._transient(rec, rejections[0], retry)
        else:
            self.result.rejected.extend(rejections)

    def _bulk(self, records: list[Record]) -> list[Record]:
        obj = self.schema.name
        self.api.transport.require(5, f"bulk push to {obj}")
        text = bulk_csv(records)
        _, failed, unprocessed = ingest_update(self.api, obj, text, len(records), sleep=self.sleep)
        failures = {_id15(row["Id"]): row for row in _csv_rows(failed)}
        skipped = {_id15(row["Id"]) for row in _csv_rows(unprocessed)}
        retry: list[Record] = []
        for rec in records:
            rid, key = rec["Id"], _id15(rec["Id"])
            if key in skipped:
                self._transient(
                    rec, Rejection(rid, "", "UNPROCESSED", "Bulk job left it unprocessed"), retry
                )  # noqa: E501
            elif key in failures:
                code, message, fields = parse_bulk_error(failures[key].get("sf__Error", ""))
                err = {"statusCode": code, "message": message, "fields": fields}
                self._one(rec, False, [err], retry)
            else:
                self._one(rec, True, [], retry)
        return retry


UNMATCHED = (
    "the CRM's answer has no result for this record, so whether it was written is not "
    "known; the next run writes it again if needed"
)


def _id15(record_id: str) -> str:
    """The case-sensitive 15-character form of a Salesforce id (18-char ids add a suffix)."""
    return str(record_id)[:15]


def matched(sent: Sequence[Record], results: Any) -> list[tuple[Record, dict[str, Any] | None]]:
    """Each record sent with its SaveResult, or None when the answer has none for it.

    Results come in input order (API-NOTES §A6), but an answer with fewer or more results
    than records, or a success naming another id, cannot be trusted by position: then a
    result counts only when its `id` names the record, and a failure (which has no id)
    cannot be attributed at all.
    """
    answers = [r for r in results or [] if isinstance(r, dict)]
    if len(answers) == len(sent) and all(
        not r.get("id") or _id15(r["id"]) == _id15(rec["Id"])
        for rec, r in zip(sent, answers, strict=True)
    ):
        return list(zip(sent, answers, strict=True))
    by_id = {_id15(r["id"]): r for r in answers if r.get("id")}
    return [(rec, by_id.get(_id15(rec["Id"]))) for rec in sent]


def _patch_collection(sf: Any, body: dict[str, Any]) -> Any:
    """One sObject Collections update (docs/crm-wire.md §A6); simple-salesforce has no helper."""
    return sf.restful("composite/sobjects", method="PATCH", json=body)


def bulk_csv(records: Sequence[Record]) -> str:
    """Records as one update CSV: an empty cell leaves a field unchanged, `#N/A` clears it."""
    columns = list(dict.fromkeys(k for r in records for k in r))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow(
            ["#N/A" if k in r and r[k] is None else _csv_cell(r.get(k)) for k in columns]
        )
    return buf.getvalue()


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _csv_rows(text: str) -> list[dict[str, str]]:
    if not text or not text.strip():
        return []
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:  # the original Id column; sf__Id may be blank on a failed update
        row["Id"] = row.get("Id") or row.get("ID") or row.get("sf__Id") or ""
    return rows


def parse_bulk_error(text: str) -> tuple[str, str, list[str]]:
    """`CODE:message:Field1,Field2 --` (failedResults sf__Error) -> (code, message, fields)."""
    text = text.strip().removesuffix("--").strip()
    code, _, rest = text.partition(":")
    message, sep, fields = rest.rpartition(":")
    if not sep:
        message, fields = rest, ""
    return code.strip() or "UNKNOWN", message.strip(), [f for f in fields.strip().split(",") if f]
