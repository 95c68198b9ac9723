"""Bulk API 2.0 ingest (update) through simple-salesforce's `sf.bulk2` (docs/crm-wire.md §A8)."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.sandbox.server import SandboxServer


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_update_round_trip_with_partial_failure(
    sf: Any, sf_server: SandboxServer, live_ids: list[str], deleted_ids: list[str]
) -> None:
    records = [
        {"Id": live_ids[0], "Industry": "Energy", "NumberOfEmployees": "12"},
        {"Id": live_ids[1], "Industry": "", "NumberOfEmployees": "many"},
        {"Id": live_ids[2], "Industry": "#N/A", "NumberOfEmployees": ""},
        {"Id": deleted_ids[0], "Industry": "Retail", "NumberOfEmployees": "1"},
    ]
    [job] = sf.bulk2.Account.update(records=records, wait=0)

    assert job["numberRecordsProcessed"] == 4
    assert job["numberRecordsFailed"] == 2
    ok = _rows(sf.bulk2.Account.get_successful_records(job["job_id"]))
    failed = _rows(sf.bulk2.Account.get_failed_records(job["job_id"]))
    assert [r["sf__Id"] for r in ok] == [live_ids[0], live_ids[2]]
    assert {r["sf__Created"] for r in ok} == {"false"}
    assert list(ok[0])[:2] == ["sf__Id", "sf__Created"]
    assert set(ok[0]) == {"sf__Id", "sf__Created", "Id", "Industry", "NumberOfEmployees"}
    errors = {r["sf__Id"]: r["sf__Error"] for r in failed}
    assert errors[live_ids[1]].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
    assert errors[deleted_ids[0]] == "ENTITY_IS_DELETED:entity is deleted: --"
    accounts = sf_server.sf.store.table("Account").records
    assert (accounts[live_ids[0]]["Industry"], accounts[live_ids[0]]["NumberOfEmployees"]) == (
        "Energy",
        12,
    )
    assert accounts[live_ids[1]]["Industry"] != ""  # empty cell = leave unchanged
    assert accounts[live_ids[2]]["Industry"] is None  # #N/A = set to null
    assert accounts[live_ids[2]]["NumberOfEmployees"] == 30


def test_all_ingest_records_has_the_three_lists(sf: Any, live_ids: list[str]) -> None:
    [job] = sf.bulk2.Account.update(records=[{"Id": live_ids[0], "Type": "Prospect"}], wait=0)
    result = sf.bulk2.Account.get_all_ingest_records(job["job_id"])
    assert len(result["successfulRecords"]) == 1
    assert result["failedRecords"] == []
    assert result["unprocessedRecords"] == []


def test_unknown_column_fails_the_whole_job(sf: Any, live_ids: list[str]) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Foo__c"):
        sf.bulk2.Account.update(records=[{"Id": live_ids[0], "Foo__c": "x"}], wait=0)


def test_restricted_picklist_in_bulk(sf: Any, sf_server: SandboxServer) -> None:
    opp = next(iter(sf_server.sf.store.table("Opportunity").records))
    [job] = sf.bulk2.Opportunity.update(records=[{"Id": opp, "StageName": "Maybe"}], wait=0)
    [failed] = _rows(sf.bulk2.Opportunity.get_failed_records(job["job_id"]))
    assert failed["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")


class _Raw:
    """Raw job calls for what simple-salesforce has no method for (job info, abort paths)."""

    def __init__(self, server: SandboxServer, sf: Any) -> None:
        self.base = f"{server.url}/services/data/v59.0/jobs/ingest"
        self.headers = {
            "Authorization": f"Bearer {sf.session_id}",
            "Content-Type": "application/json",
        }

    def call(self, method: str, path: str = "", **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kw)


def test_job_lifecycle_and_info_shape(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    raw = _Raw(sf_server, sf)
    job = raw.call(
        "POST", json={"object": "Account", "operation": "update", "contentType": "CSV"}
    ).json()
    assert job["state"] == "Open"
    assert job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    csv_body = f"Id,Name\n{live_ids[0]},Renamed\n"
    put = raw.call(
        "PUT", f"/{job['id']}/batches", data=csv_body, headers={"Content-Type": "text/csv"}
    )
    assert (put.status_code, put.content) == (201, b"")
    sf_server.sf.bulk_processing_seconds = 0.3
    closed = raw.call("PATCH", f"/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    # Salesforce completes a job by time, however often it is polled.
    states = [raw.call("GET", f"/{job['id']}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "InProgress"]
    time.sleep(0.35)
    assert raw.call("GET", f"/{job['id']}").json()["state"] == "JobComplete"
    info = raw.call("GET", f"/{job['id']}/").json()
    assert info["jobType"] == "V2Ingest"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (1, 0)
    listed = raw.call("GET").json()
    assert job["id"] in [j["id"] for j in listed["records"]]


@pytest.mark.parametrize(
    "path", ["/unprocessedrecords/", "/unprocessedRecords", "/UNPROCESSEDRECORDS"]
)
def test_aborted_job_reports_unprocessed_rows_any_case(
    sf: Any, sf_server: SandboxServer, live_ids: list[str], path: str
) -> None:
    raw = _Raw(sf_server, sf)
    job = raw.call("POST", json={"object": "Account", "operation": "update"}).json()
    raw.call("PUT", f"/{job['id']}/batches", data=f"Id,Name\n{live_ids[0]},X\n")
    assert (
        raw.call("PATCH", f"/{job['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    )
    rows = _rows(raw.call("GET", f"/{job['id']}{path}").text)
    assert rows == [{"Id": live_ids[0], "Name": "X"}]
    assert sf_server.sf.store.table("Account").records[live_ids[0]]["Name"] != "X"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"object": "Nope__c", "operation": "update"}, 400),
        ({"object": "Account", "operation": "insert"}, 400),
        ({"object": "Account", "operation": "update", "columnDelimiter": "DOLLAR"}, 400),
    ],
    ids=["unknown-object", "unsupported-operation", "bad-delimiter"],
)
def test_bad_job_requests(sf: Any, sf_server: SandboxServer, body: dict, status: int) -> None:
    resp = _Raw(sf_server, sf).call("POST", json=body)
    assert resp.status_code == status
    assert resp.json()[0]["errorCode"] == "INVALIDJOB"


def test_upload_to_a_closed_job_is_refused(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    raw = _Raw(sf_server, sf)
    job = raw.call("POST", json={"object": "Account", "operation": "update"}).json()
    raw.call("PUT", f"/{job['id']}/batches", data=f"Id,Name\n{live_ids[0]},X\n")
    raw.call("PATCH", f"/{job['id']}", json={"state": "UploadComplete"})
    again = raw.call("PUT", f"/{job['id']}/batches", data=f"Id,Name\n{live_ids[0]},Y\n")
    assert again.status_code == 409


def test_semicolon_delimiter(sf: Any, sf_server: SandboxServer, live_ids: list[str]) -> None:
    raw = _Raw(sf_server, sf)
    job = raw.call(
        "POST", json={"object": "Account", "operation": "update", "columnDelimiter": "SEMICOLON"}
    )
    job_id = job.json()["id"]
    raw.call("PUT", f"/{job_id}/batches", data=f"Id;Name\n{live_ids[0]};Semi, Colon\n")
    raw.call("PATCH", f"/{job_id}", json={"state": "UploadComplete"})
    assert sf_server.sf.store.table("Account").records[live_ids[0]]["Name"] == "Semi, Colon"
