"""Seeded sample data is reachable through the real clients (simple-salesforce, hubspot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest

from connectors.sandbox.clients import hubspot_client, salesforce_client
from connectors.sandbox.load import build_sandbox, load_hubspot, load_salesforce
from connectors.sandbox.sampledata import SampleData
from connectors.sandbox.server import SandboxServer

ACCOUNTS = 300


@pytest.fixture(scope="module")
def seeded() -> tuple[Any, Any, SampleData]:
    return build_sandbox(ACCOUNTS, seed=3)


@pytest.fixture
def server(make_sandbox: Callable[..., SandboxServer], seeded: tuple) -> SandboxServer:
    sf_store, hs_store, _ = seeded
    return make_sandbox(sf_store=sf_store, hs_store=hs_store)


SF_OBJECTS = {
    "Account": "accounts",
    "Opportunity": "opportunities",
    "Case": "tickets",
    "blng__Invoice__c": "invoices",
}


@pytest.mark.parametrize("sobject", list(SF_OBJECTS), ids=list(SF_OBJECTS))
def test_salesforce_count_per_object(server: SandboxServer, seeded: tuple, sobject: str) -> None:
    sf = salesforce_client(server.url)
    expected = len(seeded[2].tables()[SF_OBJECTS[sobject]])
    assert sf.query(f"SELECT COUNT() FROM {sobject}")["totalSize"] == expected


def _sf_account(sf: Any, name: str) -> dict[str, Any]:
    soql = (
        "SELECT Id, Name, AccountNumber, Industry, BillingCountry, NumberOfEmployees "
        f"FROM Account WHERE Name = '{name}'"
    )
    records = sf.query(soql)["records"]
    assert len(records) == 1
    return records[0]


def test_salesforce_holds_the_a_b_pair(server: SandboxServer) -> None:
    sf = salesforce_client(server.url)
    a = _sf_account(sf, "Alpha Precision GmbH")
    b = _sf_account(sf, "Beta Bulk Trading Ltd")
    assert (a["AccountNumber"], a["Industry"], a["BillingCountry"]) == (
        "C100001",
        "Machinery",
        "Germany",
    )
    assert a["NumberOfEmployees"] == 180
    cases = sf.query(f"SELECT COUNT() FROM Case WHERE AccountId = '{b['Id']}'")["totalSize"]
    assert cases == 30
    special = sf.query(
        f"SELECT COUNT() FROM Case WHERE AccountId = '{b['Id']}' AND Type = 'Special Request'"
    )
    assert special["totalSize"] == 12
    invoices = sf.query(
        "SELECT blng__InvoiceDate__c, blng__TotalAmount__c, CurrencyIsoCode "
        f"FROM blng__Invoice__c WHERE blng__Account__c = '{a['Id']}'"
    )["records"]
    assert len(invoices) == 12
    assert {r["CurrencyIsoCode"] for r in invoices} == {"EUR"}
    assert round(sum(r["blng__TotalAmount__c"] for r in invoices), 2) == 100_000.0


HS_OBJECTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "companies": ("accounts", lambda api: api.crm.companies.basic_api),
    "deals": ("opportunities", lambda api: api.crm.deals.basic_api),
    "tickets": ("tickets", lambda api: api.crm.tickets.basic_api),
    "invoices": ("invoices", lambda api: api.crm.commerce.invoices.basic_api),
}


@pytest.mark.parametrize("object_type", list(HS_OBJECTS), ids=list(HS_OBJECTS))
def test_hubspot_pages_through_every_object(
    server: SandboxServer, seeded: tuple, object_type: str
) -> None:
    table, basic_api = HS_OBJECTS[object_type]
    api = basic_api(hubspot_client(server.url))
    first = api.get_page(limit=100)
    assert len(first.results) == 100 and first.paging.next.after
    seen, after, pages = len(first.results), first.paging.next.after, 1
    while after and pages < 200:
        page = api.get_page(limit=100, after=after)
        seen, pages = seen + len(page.results), pages + 1
        after = page.paging.next.after if page.paging else None
    assert seen == len(seeded[2].tables()[table])


def test_hubspot_holds_the_a_b_pair_with_associations(server: SandboxServer) -> None:
    api = hubspot_client(server.url)
    props = ["name", "industry", "erp_customer_id", "country", "numberofemployees"]
    company = api.crm.companies.basic_api.get_by_id("1", properties=props)
    assert company.properties["name"] == "Alpha Precision GmbH"
    assert company.properties["industry"] == "MACHINERY"
    assert company.properties["erp_customer_id"] == "C100001"
    assert company.properties["numberofemployees"] == "180"
    req = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": "2"}])
    tickets = api.crm.associations.v4.batch_api.get_page("companies", "tickets", req)
    assert len(tickets.results[0].to) == 30
    ticket_id = str(tickets.results[0].to[0].to_object_id)
    back = api.crm.associations.v4.batch_api.get_page(
        "tickets",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": ticket_id}]),
    )
    assert [str(t.to_object_id) for t in back.results[0].to] == ["2"]


def test_loaders_return_every_canonical_key(seeded: tuple) -> None:
    from connectors.sandbox.hubspot.schema import new_portal_store
    from connectors.sandbox.salesforce.schema import new_org_store

    data: SampleData = seeded[2]
    sf_ids = load_salesforce(new_org_store(), data)
    hs_ids = load_hubspot(new_portal_store(), data)
    keys = {k for name in SF_OBJECTS.values() for k in data.tables()[name].iloc[:, 0]}
    assert set(sf_ids) == keys == set(hs_ids)
    assert sf_ids["S0000001"].startswith("001") and len(sf_ids["S0000001"]) == 18
    assert hs_ids["S0000001"] == "1"


def test_both_clients_reach_a_seeded_tls_sandbox(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    sf_store, hs_store, _ = build_sandbox(40, seed=1)
    server = make_sandbox(sf_store=sf_store, hs_store=hs_store, tls=True)
    assert server.url.startswith("https://") and server.ca_path is not None
    sf = salesforce_client(server.url, ca_path=str(server.ca_path))
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 40
    api = hubspot_client(server.url, ssl_ca_cert=str(server.ca_path))
    assert len(api.crm.companies.basic_api.get_page(limit=25).results) == 25
