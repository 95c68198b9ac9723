"""Bulk API 2.0 query jobs through simple-salesforce's `bulk2` against the sandbox org."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceOperationError

from connectors.sandbox.clients import RewritingSession
from connectors.sandbox.salesforce.schema import insert_records, new_org_store
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store

TOTAL = 1_234
DELETED = {5, 600, 1233}
LIVE = TOTAL - len(DELETED)
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
JOBS = "/services/data/v59.0/jobs/query"


def bulk_store() -> Store:
    store = new_org_store()
    insert_records(store, "Account", [
        {"Name": f'Acct "{i:04d}", Inc.', "NumberOfEmployees": i,
         "Industry": "Banking" if i % 2 else None, "AnnualRevenue": i * 1.5,
         "CreatedDate": BASE + timedelta(seconds=i), "IsDeleted": i in DELETED}
        for i in range(TOTAL)
    ])  # fmt: skip
    insert_records(store, "Opportunity", [
        {"Name": "Deal", "StageName": "Closed Won", "CloseDate": date(2024, 6, 30), "Amount": 10.0}
    ])  # fmt: skip
    return store


@pytest.fixture
def server(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox(sf_store=bulk_store())


@pytest.fixture
def sf(server: SandboxServer) -> Salesforce:
    token = server.sf.new_session()
    return Salesforce(
        instance_url=server.url, session_id=token, session=RewritingSession(server.url)
    )


def raw(
    sf: Salesforce, server: SandboxServer, method: str, path: str, **kw: object
) -> requests.Response:
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)  # type: ignore[arg-type]


def rows_of(chunk: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(chunk)))


SOQL = "SELECT Id, Name, NumberOfEmployees, IsDeleted, CreatedDate, Industry FROM Account"


@pytest.mark.parametrize(("max_records", "chunks"), [(500, 3), (1_231, 1), (50_000, 1), (200, 7)])
def test_query_in_chunks_returns_every_row_once(
    sf: Salesforce, server: SandboxServer, max_records: int, chunks: int
) -> None:
    got = list(sf.bulk2.Account.query(SOQL, max_records=max_records, wait=0))
    assert len(got) == chunks
    ids: list[str] = []
    for chunk in got:
        rows = rows_of(chunk)
        assert rows[0] == [
            "Id",
            "Name",
            "NumberOfEmployees",
            "IsDeleted",
            "CreatedDate",
            "Industry",
        ]
        assert len(rows) - 1 <= max_records
        ids += [r[0] for r in rows[1:]]
    live = [r["Id"] for r in server.sf.store.iter("Account") if not r["IsDeleted"]]
    assert len(ids) == len(set(ids)) == LIVE and set(ids) == set(live)


def test_values_are_quoted_typed_strings(sf: Salesforce) -> None:
    soql = "select name, numberofemployees, isdeleted, createddate, industry, annualrevenue from account where NumberOfEmployees = 2 OR NumberOfEmployees = 3 ORDER BY NumberOfEmployees"  # noqa: E501
    (chunk,) = sf.bulk2.Account.query(soql, wait=0)
    lines = chunk.split("\n")
    assert (
        lines[0]
        == '"Name","NumberOfEmployees","IsDeleted","CreatedDate","Industry","AnnualRevenue"'
    )
    assert lines[1] == '"Acct ""0002"", Inc.","2","false","2024-05-01T12:00:02.000+0000","","3.0"'
    assert (
        lines[2]
        == '"Acct ""0003"", Inc.","3","false","2024-05-01T12:00:03.000+0000","Banking","4.5"'
    )
    assert lines[3:] == [""]  # LF line endings, one after the last row
    (opp,) = sf.bulk2.Opportunity.query("SELECT CloseDate, IsWon FROM Opportunity", wait=0)
    assert opp == '"CloseDate","IsWon"\n"2024-06-30","true"\n'


def test_query_all_includes_deleted_rows(sf: Salesforce) -> None:
    soql = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"
    assert [len(rows_of(c)) - 1 for c in sf.bulk2.Account.query(soql, wait=0)] == [0]
    (chunk,) = sf.bulk2.Account.query_all(soql, wait=0)
    assert [r[1] for r in rows_of(chunk)[1:]] == ["true"] * len(DELETED)


def test_bad_soql_is_refused_when_the_job_is_created(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        list(sf.bulk2.Account.query("SELECT Nope__c FROM Account", wait=0))
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        list(sf.bulk2.Account.query("SELECT Id FROM Account GROUP BY Name", wait=0))
    assert exc.value.content[0]["errorCode"] == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "soql",
    ["SELECT COUNT() FROM Account", "SELECT Id FROM Account ORDER BY Name OFFSET 10"],
    ids=["count", "offset"],
)
def test_unsupported_in_bulk_fails_the_job(sf: Salesforce, soql: str) -> None:
    with pytest.raises(SalesforceOperationError, match="not supported by Bulk API 2.0"):
        list(sf.bulk2.Account.query(soql, wait=0))


def test_job_lifecycle_over_raw_http(sf: Salesforce, server: SandboxServer) -> None:
    body = {"operation": "query", "query": "SELECT Id FROM Account LIMIT 3",
            "columnDelimiter": "COMMA", "lineEnding": "LF"}  # fmt: skip
    created = raw(sf, server, "POST", JOBS, json=body)
    assert created.status_code == 200
    info = created.json()
    assert info["state"] == "UploadComplete" and info["object"] == "Account"
    assert info["id"].startswith("750") and len(info["id"]) == 18 and info["apiVersion"] == 59.0
    early = raw(sf, server, "GET", f"{JOBS}/{info['id']}/results")
    assert early.status_code == 412 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    polled = raw(sf, server, "GET", f"{JOBS}/{info['id']}").json()
    assert polled["state"] == "JobComplete" and polled["jobType"] == "V2Query"
    assert polled["numberRecordsProcessed"] == 3 and polled["retries"] == 0
    results = raw(sf, server, "GET", f"{JOBS}/{info['id']}/results", params={"maxRecords": 2})
    assert results.headers["Sforce-NumberOfRecords"] == "2"
    locator = results.headers["Sforce-Locator"]
    assert locator not in ("", "null")
    last = raw(
        sf,
        server,
        "GET",
        f"{JOBS}/{info['id']}/results",
        params={"maxRecords": 2, "locator": locator},
    )
    assert (
        last.headers["Sforce-NumberOfRecords"] == "1" and last.headers["Sforce-Locator"] == "null"
    )
    listed = raw(sf, server, "GET", JOBS).json()
    assert listed["done"] is True and listed["nextRecordsUrl"] is None
    assert info["id"] in [j["id"] for j in listed["records"]]
    deleted = raw(sf, server, "DELETE", f"{JOBS}/{info['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert raw(sf, server, "GET", f"{JOBS}/{info['id']}").status_code == 404


def test_aborted_job_cannot_give_results(sf: Salesforce, server: SandboxServer) -> None:
    job = raw(
        sf, server, "POST", JOBS, json={"operation": "queryAll", "query": "SELECT Id FROM Account"}
    ).json()
    aborted = raw(sf, server, "PATCH", f"{JOBS}/{job['id']}", json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert raw(sf, server, "GET", f"{JOBS}/{job['id']}/results").status_code == 400
    with pytest.raises(SalesforceOperationError):
        sf.bulk2.Account._client.wait_for_job(job["id"], True, 0)


def test_bad_job_requests(sf: Salesforce, server: SandboxServer) -> None:
    bad_op = raw(
        sf, server, "POST", JOBS, json={"operation": "upsert", "query": "SELECT Id FROM Account"}
    )
    assert bad_op.status_code == 400 and isinstance(bad_op.json(), list)
    unauth = requests.post(
        server.url + JOBS, json={"operation": "query", "query": SOQL}, timeout=10
    )
    assert unauth.status_code == 401 and unauth.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert raw(sf, server, "GET", f"{JOBS}/750000000000999AAA").status_code == 404
