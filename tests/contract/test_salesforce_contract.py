"""The Salesforce connector against recorded wire traffic (vcrpy cassettes).

The cassettes under cassettes/salesforce/ hold the documented response shapes
(docs/crm-wire.md §A1-§A10): OAuth token, describe, COUNT(), REST query pages,
Bulk 2.0 query and ingest jobs, sObject Collections, Tooling CustomField and
FieldPermissions. They were recorded once against the sandbox org on a fixed loopback
port (delete a cassette to re-record it) and are scrubbed of every token, secret and
email before they are written. Replay needs no server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd
import pytest
import vcr

from connectors.base import FieldSpec
from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from mappings.salesforce_connection import SalesforceConnection

CASSETTES = Path(__file__).parent / "cassettes" / "salesforce"
PORT = 58761
URL = f"http://127.0.0.1:{PORT}"
ENV = {
    "SALESFORCE_USERNAME": "integration@example.invalid",
    "SALESFORCE_PASSWORD": "not-a-real-password",
    "SALESFORCE_CONSUMER_KEY": "consumer-key",
    "SALESFORCE_CONSUMER_SECRET": "consumer-secret",
}
TOKEN = "00D000000000001EAA!AQscrubbed"
_SESSION = re.compile(r"00D[0-9A-Za-z]{15}![A-Za-z0-9_.\-]+")
_SECRET_FORM_KEYS = {"password", "client_secret", "username", "client_id", "assertion"}


def _scrub_text(text: str) -> str:
    text = _SESSION.sub(TOKEN, text)
    return re.sub(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", "user@example.invalid", text)


def _scrub_request(request: Any) -> Any:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body and "grant_type=" in body:
        form = dict(parse_qsl(body, keep_blank_values=True))
        form = {k: ("scrubbed" if k in _SECRET_FORM_KEYS else v) for k, v in form.items()}
        body = urlencode(form)
    if body:
        request.body = _scrub_text(body).encode()
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"].get("string", b"")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    response["body"]["string"] = _scrub_text(body).encode()
    return response


RECORDER = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="once",
    match_on=["method", "path", "query"],
    filter_headers=["authorization", "cookie", "set-cookie"],
    before_record_request=_scrub_request,
    before_record_response=_scrub_response,
    decode_compressed_response=True,
)


@pytest.fixture
def sandbox_if_recording(request, make_sandbox):
    """Start the sandbox on the fixed port only when the cassette has to be recorded."""
    name = request.node.name + ".yaml"
    if (CASSETTES / name).exists():
        return None
    from connectors.sandbox.salesforce.org import Credentials
    from connectors.sandbox.salesforce.schema import new_org_store
    from tests.integration.sf_connector.conftest import seed

    store = new_org_store()
    seed(store, accounts=5, opportunities=6)
    c = Credentials(username=ENV["SALESFORCE_USERNAME"], password=ENV["SALESFORCE_PASSWORD"],
                    consumer_key=ENV["SALESFORCE_CONSUMER_KEY"],
                    consumer_secret=ENV["SALESFORCE_CONSUMER_SECRET"])  # fmt: skip
    server = make_sandbox(sf_store=store, port=PORT, credentials=c)
    server.faults.configure(reject_ids=frozenset(list(store.table("Account").records)[-1:]))
    return server


def connector(**overrides: Any) -> SalesforceConnector:
    conn = SalesforceConnection(
        kind="password", login_url=URL, instance_url=URL, bulk_poll_seconds=0, **overrides
    )
    policy = RetryPolicy(attempts=2, base_wait=0.0, max_wait=0.0)
    return SalesforceConnector(conn, env=ENV, policy=policy, sleep=lambda s: None)


def cassette(request) -> Any:
    return RECORDER.use_cassette(request.node.name + ".yaml")


def test_rest_pull(request, sandbox_if_recording):
    with cassette(request):
        sf = connector()
        pages = list(sf.pull("accounts", fields=["name", "employees", "modified_at"]))
    page, caught_up = pages
    # A row-less last page: its cursor is the org's time when it counted (the count
    # response's Date header, 1 s back for its resolution), after the last row's stamp.
    assert caught_up.records.empty and list(caught_up.records.columns) == list(page.records.columns)
    assert caught_up.cursor.modified_at > page.cursor.modified_at
    assert list(page.records.columns) == ["account_id", "name", "employees", "modified_at"]
    assert page.records["employees"].tolist() == [10, 11, 12, 13, 14]
    assert str(page.records["modified_at"].dtype) == "datetime64[us, UTC]"
    assert page.cursor.last_id == page.records["account_id"].iloc[-1]
    assert sf.calls == {"login": 1, "describe": 1, "count": 1, "query": 1}


def test_bulk_pull(request, sandbox_if_recording):
    with cassette(request):
        sf = connector(bulk_query_threshold=1, bulk_query_page=4)
        pages = list(sf.pull("opportunities", fields=["amount", "type", "is_won"]))
    assert [len(p.records) for p in pages] == [4, 2, 0]  # 0: the caught-up cursor page
    # the job's rows come in no order; only its last page carries a cursor
    assert pages[0].cursor is None and pages[1].cursor is not None
    frame = pd.concat([p.records for p in pages], ignore_index=True)
    frame = frame.sort_values("opportunity_id").reset_index(drop=True)
    assert frame["type"].tolist() == ["new", "renewal", "expansion"] * 2
    assert frame["is_won"].tolist() == [False, True] * 3
    assert sf.calls["bulk_query"] == 4  # create, poll, 2 result pages


def test_collections_push(request, sandbox_if_recording):
    with cassette(request):
        sf = connector()
        ids = next(sf.pull("accounts", fields=["name"])).records["account_id"].tolist()
        result = sf.push("Account", pd.DataFrame({"Id": ids, "Name": "renamed"}))
    assert sorted(result.accepted) == sorted(ids[:-1])
    (rej,) = result.rejected
    assert (rej.record_id, rej.code) == (ids[-1], "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert result.calls == {"collections": 1}


def test_bulk_push(request, sandbox_if_recording):
    with cassette(request):
        sf = connector(bulk_write_threshold=1)
        ids = next(sf.pull("accounts", fields=["name"])).records["account_id"].tolist()
        result = sf.push("Account", pd.DataFrame({"Id": ids, "AnnualRevenue": 1.0}))
    assert sorted(result.accepted) == sorted(ids[:-1])
    assert [r.code for r in result.rejected] == ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]
    assert result.calls["bulk_ingest"] >= 5  # create, upload, close, poll(s), failedResults


def test_provision(request, sandbox_if_recording):
    specs = [FieldSpec("Value_Quadrant__c", "Value Quadrant", "picklist", ("Core", "Develop")),
             FieldSpec("Value_Score__c", "Value Score", "number")]  # fmt: skip
    with cassette(request):
        sf = connector()
        result = sf.provision("Account", specs)
    assert result.created == ["Value_Quadrant__c", "Value_Score__c"]
    assert sf.calls == {"login": 1, "describe": 2, "query": 1, "tooling": 2, "rest": 2}


def _interactions() -> list[tuple[str, dict[str, Any]]]:
    import yaml

    out = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for i in yaml.safe_load(path.read_text())["interactions"]:
            out.append((path.name, i))
    return out


def test_cassettes_hold_no_token_secret_or_email():
    text = "\n".join(p.read_text() for p in CASSETTES.glob("*.yaml"))
    assert text, "cassettes are recorded"
    for secret in (*ENV.values(), "sandbox-password", "sandbox-consumer-secret"):
        assert secret not in text
    assert not re.search(r"(?i)authorization:", text)
    assert set(_SESSION.findall(text)) <= {TOKEN}
    assert set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)) <= {"user@example.invalid"}


def test_cassette_bodies_follow_the_documented_shapes():
    """Spot checks against docs/crm-wire.md: error lists, Collections results, Bulk headers."""
    seen = set()
    for _, i in _interactions():
        path, status = i["request"]["uri"], i["response"]["status"]["code"]
        body = i["response"]["body"]["string"]
        headers = {k.lower(): v for k, v in i["response"]["headers"].items()}
        if "/services/oauth2/token" in path:
            assert {"access_token", "instance_url", "token_type"} <= set(json.loads(body))
            seen.add("token")
        elif path.endswith("/composite/sobjects"):
            results = json.loads(body)
            assert all({"success", "errors"} <= set(r) for r in results)
            assert any(not r["success"] and r["errors"][0]["statusCode"] for r in results)
            seen.add("collections")
        elif "/jobs/query/" in path and "/results" in path:
            assert "sforce-numberofrecords" in headers and "sforce-locator" in headers
            seen.add("bulk-results")
        elif "/describe" in path:
            d = json.loads(body)
            assert {"name", "fields", "queryable"} <= set(d)
            assert {"name", "type", "updateable", "calculated", "picklistValues"} <= set(
                d["fields"][0]
            )
            seen.add("describe")
        if status < 300 and "/services/data/" in path:
            assert "sforce-limit-info" in headers, path
    assert seen == {"token", "collections", "bulk-results", "describe"}
