"""Injected faults surface through simple-salesforce as the real API's do.

See docs/crm-wire.md §A2, §A3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.sandbox.clients import salesforce_client
from connectors.sandbox.faults import FaultProfile
from connectors.sandbox.server import SandboxServer

CALLS: dict[str, Callable[[Any], Any]] = {
    "query": lambda sf: sf.query("SELECT Id FROM Account"),
    "describe": lambda sf: sf.Account.describe(),
    "limits": lambda sf: sf.limits(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_http_error_faults_raise_general_error(
    sf: Any, sf_server: SandboxServer, status: str, call: Callable[[Any], Any]
) -> None:
    sf_server.faults.inject(status)  # type: ignore[arg-type]
    with pytest.raises(SalesforceGeneralError) as err:
        call(sf)
    assert err.value.status == int(status)
    assert isinstance(err.value.content, list) and "errorCode" in err.value.content[0]
    assert call(sf)  # the fault was one-shot


def test_429_carries_retry_after(sf: Any, sf_server: SandboxServer) -> None:
    sf_server.faults.configure(retry_after_s=7)
    sf_server.faults.inject("429")
    resp = requests.get(f"{sf_server.url}/services/data/v59.0/limits/", timeout=5)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"


def test_dropped_connection_is_a_connection_error(sf: Any, sf_server: SandboxServer) -> None:
    sf_server.faults.inject("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.limits()
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_slow_response_still_succeeds(sf: Any, sf_server: SandboxServer) -> None:
    sf_server.faults.configure(slow_seconds=0.3)
    sf_server.faults.inject("slow")
    started = time.monotonic()
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert time.monotonic() - started >= 0.3


def test_faults_can_target_a_path(sf: Any, sf_server: SandboxServer) -> None:
    sf_server.faults.inject("503", path="/limits")
    assert sf.Account.describe()["name"] == "Account"
    with pytest.raises(SalesforceGeneralError):
        sf.limits()


def test_fault_on_login_is_authentication_failed(sf_server: SandboxServer) -> None:
    sf_server.faults.inject("503", path="/services/Soap/")
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        salesforce_client(sf_server.url)
    assert err.value.code == 503


def test_daily_limit_spent_is_request_limit_exceeded(sf: Any, sf_server: SandboxServer) -> None:
    sf.limits()
    sf_server.faults.configure(sf_daily_limit=sf_server.sf.api_used + 1)
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 0
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.status == 403
    assert err.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def _patch(sf: Any, ids: list[str], **fields: Any) -> list[dict[str, Any]]:
    records = [{"attributes": {"type": "Account"}, "id": i, **fields} for i in ids]
    return sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
    )


def test_lock_row_hits_a_share_then_retry_succeeds(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    sf_server.faults.configure(lock_row_share=0.4)
    first = _patch(sf, live_ids, Type="Prospect")
    locked = [i for i, r in zip(live_ids, first, strict=True) if not r["success"]]
    assert 0 < len(locked) < len(live_ids)
    assert all(
        r["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
        and r["errors"][0]["message"].endswith(i)
        for i, r in zip(live_ids, first, strict=True)
        if not r["success"]
    )
    retry = _patch(sf, locked, Type="Prospect")
    assert all(r["success"] for r in retry)
    assert {sf_server.sf.store.table("Account").records[i]["Type"] for i in live_ids} == {
        "Prospect"
    }


def test_lock_row_on_single_patch_is_400(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    sf_server.faults.configure(lock_row_share=1.0)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(live_ids[0], {"Name": "x"})
    assert err.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.Account.update(live_ids[0], {"Name": "x"}) == 204


def test_lock_row_in_bulk_results(sf: Any, sf_server: SandboxServer, live_ids: list[str]) -> None:
    sf_server.faults.configure(lock_row_share=1.0)
    [job] = sf.bulk2.Account.update(records=[{"Id": live_ids[0], "Name": "x"}], wait=0)
    assert job["numberRecordsFailed"] == 1
    assert "UNABLE_TO_LOCK_ROW:" in sf.bulk2.Account.get_failed_records(job["job_id"])


def test_periodic_session_expiry_is_survived_by_relogin(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    server = make_sandbox(profile=FaultProfile(expire_session_every=3))
    sf = salesforce_client(server.url)
    first = sf.session_id
    for _ in range(7):
        assert sf.limits()["DailyApiRequests"]["Max"] > 0
    assert server.faults.injected["expire_session"] >= 2
    assert sf.session_id != first
