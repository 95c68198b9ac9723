"""REST query / queryAll / query more through simple-salesforce against the sandbox org."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.clients import RewritingSession
from connectors.sandbox.salesforce.schema import insert_records, new_org_store
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store

TOTAL = 2_450
DELETED_EVERY = 49  # every 49th account is soft-deleted: 50 of them
LIVE = TOTAL - math.ceil(TOTAL / DELETED_EVERY)
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SOQL = "SELECT Id, Name FROM Account"


def paging_store() -> Store:
    store = new_org_store()
    insert_records(store, "Account", [
        {"Name": f"Acct {i:05d}", "NumberOfEmployees": i, "Industry": "Banking" if i % 2 else None,
         "CreatedDate": BASE + timedelta(minutes=i)}
        for i in range(TOTAL)
    ])  # fmt: skip
    for i, rec in enumerate(store.iter("Account")):
        rec["IsDeleted"] = i % DELETED_EVERY == 0
    insert_records(store, "Opportunity", [
        {"Name": "Deal 1", "StageName": "Closed Won", "CloseDate": date(2024, 6, 30),
         "Amount": 12.5},
    ])  # fmt: skip
    return store


@pytest.fixture
def server(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox(sf_store=paging_store())


@pytest.fixture
def sf(server: SandboxServer) -> Salesforce:
    token = server.sf.new_session()
    return Salesforce(
        instance_url=server.url, session_id=token, session=RewritingSession(server.url)
    )


def live_ids(server: SandboxServer) -> set[str]:
    return {r["Id"] for r in server.sf.store.iter("Account") if not r["IsDeleted"]}


def batch(n: int) -> dict[str, str]:
    return {"Sforce-Query-Options": f"batchSize={n}"}


def error_code(exc: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> str:
    content: Any = exc.value.content
    return str(content[0]["errorCode"])


@pytest.mark.parametrize(
    ("asked", "served"),
    [(200, 200), (500, 500), (2000, 2000), (50, 200), (5000, 2000)],
    ids=["200", "500", "2000", "below-min-clamps-to-200", "above-max-clamps-to-2000"],
)
def test_query_more_pages_every_row_once(
    sf: Salesforce, server: SandboxServer, asked: int, served: int
) -> None:
    page = sf.query(SOQL, headers=batch(asked))
    pages, seen = [page], [r["Id"] for r in page["records"]]
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=batch(asked))
        pages.append(page)
        seen += [r["Id"] for r in page["records"]]
    assert len(pages) == math.ceil(LIVE / served)
    assert all(p["totalSize"] == LIVE for p in pages)
    assert [len(p["records"]) for p in pages[:-1]] == [served] * (len(pages) - 1)
    assert "nextRecordsUrl" not in pages[-1]
    assert len(seen) == len(set(seen)) == LIVE
    assert set(seen) == live_ids(server)


@pytest.mark.parametrize("size", [200, 500, 2000])
def test_query_all_collects_every_page(sf: Salesforce, server: SandboxServer, size: int) -> None:
    result = sf.query_all(SOQL, headers=batch(size))
    ids = [r["Id"] for r in result["records"]]
    assert result["totalSize"] == LIVE and len(set(ids)) == LIVE
    assert set(ids) == live_ids(server)


def test_query_excludes_and_query_all_includes_deleted(
    sf: Salesforce, server: SandboxServer
) -> None:
    soql = "SELECT Id, IsDeleted FROM Account WHERE NumberOfEmployees < 100"
    live = sf.query_all(soql)["records"]
    every = sf.query_all(soql, include_deleted=True)["records"]
    assert len(live) == 100 - 3 and not any(r["IsDeleted"] for r in live)
    assert len(every) == 100 and sum(r["IsDeleted"] for r in every) == 3
    deleted = sf.query_all("SELECT Id FROM Account WHERE IsDeleted = true", include_deleted=True)
    assert deleted["totalSize"] == TOTAL - LIVE


def test_query_all_more_pages_via_both_resources(sf: Salesforce) -> None:
    head = sf.query(SOQL, include_deleted=True, headers=batch(2000))
    assert head["totalSize"] == TOTAL and "/query/" in head["nextRecordsUrl"]
    locator = head["nextRecordsUrl"].rsplit("/", 1)[1]
    rest = sf.query_more(locator, include_deleted=True, headers=batch(2000))  # .../queryAll/<loc>
    assert rest["done"] and len(head["records"]) + len(rest["records"]) == TOTAL


def test_records_keep_select_order_describe_casing_and_wire_formats(sf: Salesforce) -> None:
    rows = sf.query("select numberofemployees, NAME, createddate, id from account "
                    "where name = 'ACCT 00001'")["records"]  # fmt: skip
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["attributes", "NumberOfEmployees", "Name", "CreatedDate", "Id"]
    assert row["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{row['Id']}",
    }
    assert row["CreatedDate"] == "2024-05-01T12:01:00.000+0000"
    assert row["NumberOfEmployees"] == 1 and row["Name"] == "Acct 00001"
    opp = sf.query("SELECT CloseDate, Amount, IsWon FROM Opportunity")["records"][0]
    assert (opp["CloseDate"], opp["Amount"], opp["IsWon"]) == ("2024-06-30", 12.5, True)


def test_count_limit_and_offset(sf: Salesforce) -> None:
    count = sf.query("SELECT COUNT() FROM Account WHERE Industry = 'Banking'")
    assert count == {"totalSize": sum(1 for i in range(TOTAL) if i % 2 and i % DELETED_EVERY),
                     "done": True, "records": []}  # fmt: skip
    page = sf.query("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC LIMIT 3 OFFSET 2")
    assert [r["Name"] for r in page["records"]] == ["Acct 02447", "Acct 02446", "Acct 02445"]
    assert page["totalSize"] == 3 and page["done"]


def test_cursor_is_a_snapshot(sf: Salesforce, server: SandboxServer) -> None:
    page = sf.query(SOQL, headers=batch(2000))
    insert_records(server.sf.store, "Account", [{"Name": "Late arrival"}])
    rest = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert rest["totalSize"] == LIVE
    assert "Late arrival" not in {r["Name"] for r in rest["records"]}


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Owner.Name FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE CreatedDate > TODAY", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ],
    ids=[
        "group-by",
        "relationship",
        "date-literal",
        "unknown-field",
        "type-mismatch",
        "unknown-object",
    ],
)
def test_refused_queries_raise_malformed_request(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    assert exc.value.status == 400
    assert error_code(exc) == code
    assert "ERROR at Row:1:Column:" in exc.value.content[0]["message"]


def test_invalid_field_message_is_salesforces(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Foo__c FROM Account")
    assert exc.value.content[0]["message"].startswith(
        "\nSELECT Foo__c FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo__c'"
    )


def test_idle_cursor_expires(sf: Salesforce, server: SandboxServer) -> None:
    page = sf.query(SOQL, headers=batch(200))
    server.sf.store.clock.offset += timedelta(minutes=16)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(exc) == "INVALID_QUERY_LOCATOR"


def test_oldest_cursor_is_released_beyond_ten(sf: Salesforce) -> None:
    pages = [sf.query(SOQL, headers=batch(200)) for _ in range(11)]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more(pages[0]["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(exc) == "INVALID_QUERY_LOCATOR"
    # without the header, a later page keeps the batch size the query was opened with
    assert len(sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True)["records"]) == 200


def test_garbage_locator_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more("01gNOPE-200")
    assert error_code(exc) == "INVALID_QUERY_LOCATOR"


def test_limit_header_and_path_variants(sf: Salesforce, server: SandboxServer) -> None:
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used >= 1
    auth = {"Authorization": f"Bearer {sf.session_id}"}
    for path in ("/services/data/v59.0/query", "/services/data/v58.0/queryAll/"):
        resp = requests.get(
            server.url + path,
            params={"q": "SELECT Id FROM Account LIMIT 2"},
            headers=auth,
            timeout=10,
        )
        assert resp.status_code == 200 and len(resp.json()["records"]) == 2
        assert resp.headers["Sforce-Limit-Info"].startswith("api-usage=")
    missing = requests.get(server.url + "/services/data/v59.0/query/", headers=auth, timeout=10)
    assert missing.status_code == 400 and missing.json()[0]["errorCode"] == "MALFORMED_QUERY"
    unauth = requests.get(
        server.url + "/services/data/v59.0/query/", params={"q": SOQL}, timeout=10
    )
    assert unauth.status_code == 401 and unauth.json()[0]["errorCode"] == "INVALID_SESSION_ID"
