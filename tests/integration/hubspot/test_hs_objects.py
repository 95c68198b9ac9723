"""CRM v3 basic object endpoints through hubspot-api-client (docs/crm-wire.md §B1–§B4, §B12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot.crm.companies import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.companies.exceptions import NotFoundException, UnauthorizedException
from hubspot.crm.deals import SimplePublicObjectInput as DealInput
from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealCreate
from hubspot.crm.deals.exceptions import ApiException as DealApiException

from connectors.sandbox.clients import hubspot_client


def test_get_page_pages_in_id_order_and_last_page_has_no_paging(hs: Any) -> None:
    first = hs.crm.companies.basic_api.get_page(limit=10, properties=["name"])
    assert [r.id for r in first.results] == [str(i) for i in range(1, 11)]
    assert first.paging.next.after == "11"
    last = hs.crm.companies.basic_api.get_page(limit=100, after="21", archived=False)
    assert [r.id for r in last.results] == ["21", "22", "23", "24"]
    assert last.paging is None


def test_default_limit_is_ten(hs: Any) -> None:
    assert len(hs.crm.deals.basic_api.get_page().results) == 10


@pytest.mark.parametrize(
    "fetch",
    [
        pytest.param(lambda hs: hs.crm.companies.get_all(), id="companies.get_all"),
        pytest.param(lambda hs: hs.crm.objects.get_all("companies"), id="objects.get_all"),
        pytest.param(lambda hs: hs.crm.objects.get_all("0-2"), id="objects.get_all-typeid"),
    ],
)
def test_get_all_returns_every_live_record_once(hs: Any, seed: dict[str, int], fetch: Any) -> None:
    ids = [r.id for r in fetch(hs)]
    assert len(ids) == len(set(ids)) == seed["live_companies"]


def test_invoices_by_object_type_id(hs: Any, seed: dict[str, int]) -> None:
    page = hs.crm.objects.basic_api.get_page("0-53", limit=100, properties=["hs_due_date"])
    assert len(page.results) == seed["invoices"]
    assert page.results[0].properties["hs_due_date"] == "2024-02-01"


def test_archived_true_lists_only_archived(hs: Any, seed: dict[str, int]) -> None:
    page = hs.crm.companies.basic_api.get_page(limit=100, archived=True)
    assert [r.id for r in page.results] == [str(seed["companies"])]
    assert page.results[0].archived is True and page.results[0].archived_at is not None


def test_values_go_out_as_strings_and_missing_requested_as_null(hs: Any) -> None:
    props = ["numberofemployees", "annualrevenue", "industry", "hubspot_owner_id", "nope"]
    rec = hs.crm.companies.basic_api.get_by_id("3", properties=props)
    assert rec.properties["numberofemployees"] == "30"
    assert rec.properties["annualrevenue"] == "2001"
    assert rec.properties["industry"] == "APPAREL_FASHION"
    assert rec.properties["hubspot_owner_id"] is None
    assert "nope" not in rec.properties
    assert rec.properties["hs_object_id"] == "3"
    assert rec.properties["createdate"] == "2024-05-01T12:02:00.000Z"


def test_bool_and_date_serialisation(hs: Any) -> None:
    ticket = hs.crm.tickets.basic_api.get_by_id("1", properties=["escalated", "effort_hours"])
    assert ticket.properties["escalated"] == "true"
    assert ticket.properties["effort_hours"] == "0"
    deal = hs.crm.deals.basic_api.get_by_id("6", properties=["hs_is_closed", "hs_is_closed_won"])
    assert deal.properties == deal.properties | {"hs_is_closed": "true", "hs_is_closed_won": "true"}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("properties=name&properties=domain", id="repeated"),
        pytest.param("properties=name,domain", id="comma-separated"),
        pytest.param("properties=name%2Cdomain", id="comma-encoded"),
    ],
)
def test_properties_param_encodings(raw: Any, query: str) -> None:
    body = raw("GET", f"/crm/v3/objects/companies?limit=1&{query}&archived=False").json()
    assert body["results"][0]["properties"]["domain"] == "company00.example.com"
    assert body["results"][0]["properties"]["name"] == "Company 00"


def test_associations_embedded_in_list(hs: Any, seed: dict[str, int]) -> None:
    page = hs.crm.companies.basic_api.get_page(limit=2, associations=["deals"])
    deals = page.results[0].associations["deals"].results
    ids = [str(i) for i in range(1, seed["deals"] + 1, 10)]
    # as HubSpot lists them: every link unlabeled, the primary one also under its type name
    assert [(d.id, d.type) for d in deals] == [
        pair for i in ids for pair in ((i, "company_to_deal"), (i, "company_to_deal_unlabeled"))
    ]
    assert page.results[0].associations["deals"].paging is None


def test_embedded_associations_past_the_limit_come_with_paging(
    hs_server: Any, hs: Any, seed: dict[str, int]
) -> None:
    hs_server.hs.inline_association_limit = 3
    page = hs.crm.companies.basic_api.get_page(limit=1, associations=["deals"])
    block = page.results[0].associations["deals"]
    assert len(block.results) == 3
    assert block.paging.next.after == "3"


def test_get_by_id_missing_is_404(hs: Any) -> None:
    with pytest.raises(NotFoundException) as exc:
        hs.crm.companies.basic_api.get_by_id("9999")
    assert '"category":"OBJECT_NOT_FOUND"' in exc.value.body


def test_update_sets_value_and_advances_lastmodified(hs: Any) -> None:
    before = hs.crm.companies.basic_api.get_by_id("2")
    after = hs.crm.companies.basic_api.update(
        "2", SimplePublicObjectInput(properties={"name": "Renamed", "numberofemployees": "17"})
    )
    assert after.properties["name"] == "Renamed"
    assert after.properties["numberofemployees"] == "17"
    assert after.updated_at > before.updated_at
    assert after.properties["hs_lastmodifieddate"].endswith("Z")


def test_update_read_only_property_is_400(hs: Any) -> None:
    with pytest.raises(DealApiException) as exc:
        hs.crm.deals.basic_api.update("1", DealInput(properties={"hs_is_closed": "true"}))
    assert exc.value.status == 400
    assert "READ_ONLY_VALUE" in exc.value.body


def test_create_returns_201_object_and_derives_calculated(hs: Any, seed: dict[str, int]) -> None:
    created = hs.crm.deals.basic_api.create(
        DealCreate(properties={"dealname": "New", "dealstage": "closedlost", "amount": "12.5"})
    )
    assert created.id == str(seed["deals"] + 1)
    got = hs.crm.deals.basic_api.get_by_id(created.id, properties=["hs_is_closed", "amount"])
    assert got.properties["hs_is_closed"] == "true"
    assert got.properties["amount"] == "12.5"


def test_create_with_association(hs: Any) -> None:
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 342}
    company = hs.crm.companies.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"name": "Linked"}, associations=[{"to": {"id": "5"}, "types": [spec]}]
        )
    )
    deal = hs.crm.deals.basic_api.get_by_id("5", associations=["companies"])
    assert company.id in [a.id for a in deal.associations["companies"].results]


def test_archive_then_list_archived(hs: Any) -> None:
    hs.crm.companies.basic_api.archive("4")
    with pytest.raises(NotFoundException):
        hs.crm.companies.basic_api.get_by_id("4")
    assert hs.crm.companies.basic_api.get_by_id("4", archived=True).archived is True


def test_wrong_token_is_401(hs_server: Any) -> None:
    bad = hubspot_client(hs_server.url, token="pat-wrong")
    with pytest.raises(UnauthorizedException) as exc:
        bad.crm.companies.basic_api.get_page()
    assert '"category":"INVALID_AUTHENTICATION"' in exc.value.body


@pytest.mark.parametrize(
    ("omit_zero_ms", "wire"),
    [
        pytest.param(False, "2024-05-01T12:00:00.000Z", id="with-ms"),
        pytest.param(True, "2024-05-01T12:00:00Z", id="without-ms"),
    ],
)
def test_datetime_with_and_without_ms_parses_in_client(
    hs_server: Any, hs: Any, raw: Any, omit_zero_ms: bool, wire: str
) -> None:
    hs_server.hs.omit_zero_ms = omit_zero_ms
    body = raw("GET", "/crm/v3/objects/companies/1").json()
    assert body["createdAt"] == body["properties"]["createdate"] == wire
    company = hs.crm.companies.basic_api.get_by_id("1")
    assert company.created_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_written_datetime_keeps_milliseconds(hs: Any) -> None:
    hs.crm.deals.basic_api.update(
        "3", DealInput(properties={"closedate": "2024-02-01T10:00:00.123Z"})
    )
    deal = hs.crm.deals.basic_api.get_by_id("3", properties=["closedate"])
    assert deal.properties["closedate"] == "2024-02-01T10:00:00.123Z"
    epoch = hs.crm.deals.basic_api.update("3", DealInput(properties={"closedate": "1706781600000"}))
    assert epoch.properties["closedate"] == "2024-02-01T10:00:00.000Z"


def test_unknown_object_type_is_400(raw: Any) -> None:
    resp = raw("GET", "/crm/v3/objects/widgets")
    assert resp.status_code == 400 and resp.json()["category"] == "VALIDATION_ERROR"
