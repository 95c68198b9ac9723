"""CRM v3 search through hubspot-api-client: operators, sorts, paging, the 10,000 cap.

See docs/crm-wire.md §B7.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from hubspot.crm.objects import PublicObjectSearchRequest
from hubspot.crm.objects.exceptions import ApiException

from connectors.sandbox.clients import hubspot_client
from connectors.sandbox.hubspot.schema import new_portal_store
from connectors.sandbox.server import SandboxServer

BASE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def ms(minutes: int) -> str:
    return str(int((BASE + timedelta(minutes=minutes)).timestamp() * 1000))


def search(hs: Any, object_type: str, **kw: Any) -> Any:
    request = PublicObjectSearchRequest(**{"limit": 200, "after": "0", **kw})
    return hs.crm.objects.search_api.do_search(object_type, request)


def one(prop: str, op: str, **kw: Any) -> list[dict[str, Any]]:
    return [{"filters": [{"propertyName": prop, "operator": op, **kw}]}]


# Expected counts follow conftest.seeded_store: deal i has amount 500*(i+1),
# dealstage DEAL_STAGES[i % 7], dealtype alternating, hs_lastmodifieddate BASE+100+i min.
CASES = [
    ("deals", one("dealstage", "EQ", value="closedwon"), 5, "EQ-enum"),
    ("deals", one("dealstage", "EQ", value="CLOSEDWON"), 5, "EQ-case-insensitive"),
    ("deals", one("dealtype", "NEQ", value="renewal"), 20, "NEQ"),
    ("deals", one("amount", "LT", value="2000"), 3, "LT-number"),
    ("deals", one("amount", "LTE", value="2000"), 4, "LTE-number"),
    ("deals", one("amount", "GT", value="19000"), 2, "GT-number"),
    ("deals", one("amount", "GTE", value="19000"), 3, "GTE-number"),
    ("deals", one("amount", "BETWEEN", value="1000", highValue="2500"), 4, "BETWEEN-number"),
    ("deals", one("dealstage", "IN", values=["closedwon", "closedlost"]), 10, "IN"),
    ("deals", one("dealstage", "NOT_IN", values=["closedwon", "closedlost"]), 30, "NOT_IN"),
    ("deals", one("closedate", "HAS_PROPERTY"), 40, "HAS_PROPERTY"),
    ("deals", one("hubspot_owner_id", "HAS_PROPERTY"), 0, "HAS_PROPERTY-empty"),
    ("deals", one("hubspot_owner_id", "NOT_HAS_PROPERTY"), 40, "NOT_HAS_PROPERTY"),
    ("deals", one("hs_lastmodifieddate", "GTE", value=ms(130)), 10, "GTE-datetime-epoch-ms"),
    ("deals", one("hs_lastmodifieddate", "GTE", value="2024-05-01T14:10:00Z"), 10, "GTE-iso"),
    ("deals", one("hs_lastmodifieddate", "LT", value=ms(105)), 5, "LT-datetime"),
    (
        "deals",
        one("hs_lastmodifieddate", "BETWEEN", value=ms(110), highValue=ms(119)),
        10,
        "BTW-dt",
    ),
    ("deals", one("hs_object_id", "GT", value="35"), 5, "GT-hs_object_id"),
    ("deals", one("hs_is_closed", "EQ", value="true"), 10, "EQ-calculated-bool"),
    ("tickets", one("subject", "CONTAINS_TOKEN", value="invoice"), 6, "CONTAINS_TOKEN"),
    ("tickets", one("subject", "CONTAINS_TOKEN", value="brok*"), 6, "CONTAINS_TOKEN-wildcard"),
    ("tickets", one("subject", "NOT_CONTAINS_TOKEN", value="invoice"), 6, "NOT_CONTAINS_TOKEN"),
    ("tickets", one("escalated", "EQ", value="true"), 4, "EQ-bool"),
    ("invoices", one("hs_due_date", "GTE", value="2024-02-05"), 4, "GTE-date"),
    ("companies", one("name", "EQ", value="Company 24"), 0, "archived-excluded"),
    (
        "deals",
        [
            {"filters": [{"propertyName": "amount", "operator": "LTE", "value": "1000"}]},
            {"filters": [{"propertyName": "amount", "operator": "GTE", "value": "20000"}]},
        ],
        3,
        "groups-are-ORed",
    ),
    (
        "deals",
        [
            {
                "filters": [
                    {"propertyName": "amount", "operator": "LTE", "value": "5000"},
                    {"propertyName": "dealtype", "operator": "EQ", "value": "renewal"},
                ]
            }
        ],
        5,
        "filters-are-ANDed",
    ),
]


@pytest.mark.parametrize(
    ("object_type", "groups", "expected"), [c[:3] for c in CASES], ids=[c[3] for c in CASES]
)
def test_operator(hs: Any, object_type: str, groups: list[dict[str, Any]], expected: int) -> None:
    resp = search(hs, object_type, filter_groups=groups)
    assert resp.total == expected
    assert len(resp.results) == expected
    assert resp.paging is None


@pytest.mark.parametrize(
    "sorts",
    [
        pytest.param([{"propertyName": "amount", "direction": "DESCENDING"}], id="dict"),
        pytest.param(["-amount"], id="string"),
    ],
)
def test_sorts(hs: Any, sorts: list[Any]) -> None:
    resp = search(hs, "deals", sorts=sorts, properties=["amount"], limit=3)
    assert [r.properties["amount"] for r in resp.results] == ["20000", "19500", "19000"]
    assert "associations" not in resp.results[0].to_dict() or not resp.results[0].to_dict().get(
        "associations"
    )


def test_paging_visits_every_match_once_and_last_page_has_no_paging(hs: Any) -> None:
    seen: list[str] = []
    after = "0"
    for _ in range(20):
        resp = search(hs, "deals", limit=7, after=after, sorts=["hs_lastmodifieddate"])
        assert resp.total == 40
        seen += [r.id for r in resp.results]
        if resp.paging is None:
            break
        after = resp.paging.next.after
    assert seen == [str(i) for i in range(1, 41)]


def test_free_text_query(hs: Any) -> None:
    assert search(hs, "companies", query="company07").total == 1


@pytest.mark.parametrize(
    "groups",
    [
        pytest.param([one("amount", "GT", value="1")[0]] * 6, id="6-groups"),
        pytest.param(
            [{"filters": one("amount", "GT", value="1")[0]["filters"] * 11}], id="11-in-group"
        ),
        pytest.param(
            [{"filters": one("amount", "GT", value="1")[0]["filters"] * 9}] * 3, id="27-total"
        ),
        pytest.param(one("no_such_property", "EQ", value="1"), id="unknown-property"),
        pytest.param(one("amount", "EQ", value="abc"), id="bad-number"),
    ],
)
def test_invalid_search_is_400(hs: Any, groups: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiException) as exc:
        search(hs, "deals", filter_groups=groups)
    assert exc.value.status == 400
    assert json.loads(exc.value.body)["category"] == "VALIDATION_ERROR"


def test_limit_over_200_is_400(hs: Any) -> None:
    with pytest.raises(ApiException) as exc:
        search(hs, "deals", limit=201)
    assert exc.value.status == 400


def big_portal(n: int) -> Any:
    store = new_portal_store()
    store.insert_many(
        "companies",
        (
            {
                "name": f"C{i}",
                "numberofemployees": i % 1000,
                "createdate": BASE,
                "hs_lastmodifieddate": BASE + timedelta(milliseconds=i),
            }
            for i in range(n)
        ),
    )
    return store


@pytest.mark.slow
def test_paging_up_to_and_at_the_10000_cap(make_sandbox: Callable[..., SandboxServer]) -> None:
    server = make_sandbox(hs_store=big_portal(10_050))
    hs = hubspot_client(server.url)
    seen: set[str] = set()
    after = "0"
    while True:
        resp = search(hs, "companies", limit=200, after=after, properties=["name"])
        assert resp.total == 10_050
        seen.update(r.id for r in resp.results)
        after = resp.paging.next.after
        if int(after) >= 10_000:
            break
    assert len(seen) == 10_000 and after == "10000"
    at_cap = search(hs, "companies", limit=100, after="9900")
    assert len(at_cap.results) == 100 and at_cap.paging.next.after == "10000"
    for after, limit in (("10000", 200), ("9950", 100)):
        with pytest.raises(ApiException) as exc:
            search(hs, "companies", limit=limit, after=after)
        assert exc.value.status == 400


@pytest.mark.slow
def test_search_over_100k_records_pages_a_sorted_result(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    """Five pages of a sorted search over 100k companies (its speed is bench/sandbox.py's
    figure, not a timed test)."""
    server = make_sandbox(hs_store=big_portal(100_000))
    session = requests.Session()
    session.headers["Authorization"] = "Bearer pat-sandbox-0000"
    groups = one("hs_lastmodifieddate", "GTE", value=str(int(BASE.timestamp() * 1000) + 50_000))
    body: dict[str, Any] = {"filterGroups": groups, "sorts": ["-numberofemployees"], "limit": 200}
    body["properties"] = ["numberofemployees"]
    after, values = "0", []
    for _ in range(5):
        resp = session.post(
            f"{server.url}/crm/v3/objects/companies/search", json=body | {"after": after}
        )
        page = resp.json()
        after = page["paging"]["next"]["after"]
        values += [int(r["properties"]["numberofemployees"]) for r in page["results"]]
    assert page["total"] == 50_000
    assert values[0] == 999 and values == sorted(values, reverse=True) and len(values) == 1000
