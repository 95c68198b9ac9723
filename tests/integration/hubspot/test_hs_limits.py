"""Rate limits and the generic injected faults, seen through hubspot-api-client.

See docs/crm-wire.md §B9.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from hubspot.crm.companies.exceptions import ApiException, ServiceException
from hubspot.crm.objects import PublicObjectSearchRequest
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException

RATE_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
)


def test_normal_responses_carry_rate_limit_headers(raw: Any) -> None:
    resp = raw("GET", "/crm/v3/objects/companies?limit=1")
    assert all(h in resp.headers for h in RATE_HEADERS)
    assert resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-Correlation-Id" in resp.headers


def test_ten_second_bucket_answers_429_with_policy(hs_server: Any, hs: Any, raw: Any) -> None:
    hs_server.faults.configure(hs_ten_second_limit=20)
    remaining = [
        int(raw("GET", "/crm/v3/objects/deals?limit=1").headers["X-HubSpot-RateLimit-Remaining"])
        for _ in range(20)
    ]
    assert remaining == list(range(19, -1, -1))
    with pytest.raises(ApiException) as exc:
        hs.crm.companies.basic_api.get_page()
    assert exc.value.status == 429
    body = json.loads(exc.value.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT" and body["status"] == "error"
    assert exc.value.headers["X-HubSpot-RateLimit-Max"] == "20"
    assert exc.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_daily_bucket(hs_server: Any, hs: Any) -> None:
    hs_server.faults.configure(hs_daily_limit=3)
    for _ in range(3):
        hs.crm.companies.basic_api.get_page(limit=1)
    with pytest.raises(ApiException) as exc:
        hs.crm.companies.basic_api.get_page(limit=1)
    assert exc.value.status == 429
    assert json.loads(exc.value.body)["policyName"] == "DAILY"


def test_search_has_its_own_secondly_bucket_and_no_rate_headers(hs_server: Any, hs: Any) -> None:
    hs_server.faults.configure(hs_search_per_second=2, hs_ten_second_limit=1000)
    request = PublicObjectSearchRequest(limit=1)
    statuses = []
    for _ in range(4):
        try:
            hs.crm.objects.search_api.do_search("deals", request)
            statuses.append(200)
        except ObjectsApiException as exc:
            statuses.append(exc.status)
            body = json.loads(exc.body)
            assert body["policyName"] == "SECONDLY"
            assert body["message"] == "You have reached your secondly limit."
            assert not any(h in exc.headers for h in RATE_HEADERS)
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    hs.crm.companies.basic_api.get_page(limit=1)  # the 10 s bucket is untouched


def test_calls_are_counted_by_kind(hs_server: Any, hs: Any) -> None:
    hs.crm.companies.basic_api.get_page(limit=1)
    hs.crm.companies.basic_api.get_by_id("1")
    hs.crm.objects.search_api.do_search("deals", PublicObjectSearchRequest(limit=1))
    assert hs_server.hs.calls["list"] == 1
    assert hs_server.hs.calls["read"] == 1
    assert hs_server.hs.calls["search"] == 1


def test_injected_429_on_post_is_api_exception(hs_server: Any, hs: Any) -> None:
    hs_server.faults.inject("429", path="/search$")
    with pytest.raises(ObjectsApiException) as exc:
        hs.crm.objects.search_api.do_search("deals", PublicObjectSearchRequest(limit=1))
    assert exc.value.status == 429
    assert json.loads(exc.value.body)["errorType"] == "RATE_LIMIT"
    assert hs.crm.objects.search_api.do_search("deals", PublicObjectSearchRequest(limit=1)).total


def test_injected_429_on_get_is_retried_by_urllib3_default(hs_server: Any, hs: Any) -> None:
    """urllib3's default Retry re-sends a GET answered 429 with a Retry-After header."""
    hs_server.faults.configure(retry_after_s=0)
    hs_server.faults.inject("429", path="^/crm/v3/objects/companies$")
    assert len(hs.crm.companies.basic_api.get_page().results) == 10
    assert hs_server.faults.injected["429"] == 1
    hs_server.faults.inject("429", times=10, path="^/crm/v3/objects/companies$")
    with pytest.raises(ApiException) as exc:
        hs.crm.companies.basic_api.get_page()
    assert exc.value.status == 429


@pytest.mark.parametrize("kind", ["500", "503"])
def test_injected_5xx_is_service_exception(hs_server: Any, hs: Any, kind: str) -> None:
    hs_server.faults.inject(kind)  # type: ignore[arg-type]
    with pytest.raises(ServiceException) as exc:
        hs.crm.companies.basic_api.get_page()
    assert exc.value.status == int(kind)


def test_injected_drop_surfaces_as_urllib3_error(hs_server: Any, hs: Any) -> None:
    hs_server.faults.inject("drop", times=10)
    with pytest.raises(urllib3.exceptions.HTTPError):
        hs.crm.companies.basic_api.get_page()
    hs_server.faults.clear()
    assert len(hs.crm.companies.basic_api.get_page().results) == 10
