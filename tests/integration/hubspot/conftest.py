"""Fixtures for the sandbox HubSpot tests: a seeded portal and a hubspot-api-client against it.

`hs_server` holds SEED_COMPANIES companies (the last one archived), SEED_DEALS deals
(deal i belongs to company i % 10 + 1), SEED_TICKETS tickets and SEED_INVOICES
invoices, inserted straight into the store with typed values and stamps one minute
apart from BASE_TIME, so lists, searches and associations have something to page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from connectors.sandbox.clients import hubspot_client
from connectors.sandbox.hubspot.schema import (
    DEAL_STAGES,
    INDUSTRIES,
    TICKET_PRIORITIES,
    new_portal_store,
    portal_data,
)
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store

SEED_COMPANIES = 25
SEED_DEALS = 40
SEED_TICKETS = 12
SEED_INVOICES = 8
BASE_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "pat-sandbox-0000"


def stamp(i: int) -> datetime:
    return BASE_TIME + timedelta(minutes=i)


def seeded_store() -> Store:
    """A portal store with deterministic companies, deals, tickets and invoices."""
    store = new_portal_store()
    companies = [
        {
            "name": f"Company {i:02d}",
            "domain": f"company{i:02d}.example.com",
            "erp_customer_id": f"ERP-{1000 + i}",
            "industry": INDUSTRIES[i % 5],
            "numberofemployees": 10 * (i + 1),
            "annualrevenue": 1000.5 * i,
            "country": ("Germany", "France", "United States")[i % 3],
            "createdate": stamp(i),
            "hs_lastmodifieddate": stamp(i),
            "_archived": i == SEED_COMPANIES - 1,
        }
        for i in range(SEED_COMPANIES)
    ]
    store.insert_many("companies", companies)
    deals = [
        {
            "dealname": f"Deal {i:02d}",
            "amount": 500.0 * (i + 1),
            "deal_currency_code": "EUR",
            "dealstage": DEAL_STAGES[i % len(DEAL_STAGES)],
            "dealtype": ("newbusiness", "renewal")[i % 2],
            "closedate": stamp(i) + timedelta(days=30),
            "createdate": stamp(i),
            "hs_lastmodifieddate": stamp(100 + i),
        }
        for i in range(SEED_DEALS)
    ]
    deal_ids = store.insert_many("deals", deals)
    links = portal_data(store).associations
    for i, deal_id in enumerate(deal_ids):
        links.add("deals", deal_id, "companies", str(i % 10 + 1))
    tickets = [
        {
            "subject": f"Ticket {i:02d} about the invoice" if i % 2 else f"Ticket {i:02d} broken",
            "hs_ticket_priority": TICKET_PRIORITIES[i % 4],
            "escalated": i % 3 == 0,
            "effort_hours": 1.5 * i,
            "createdate": stamp(i),
            "hs_lastmodifieddate": stamp(200 + i),
        }
        for i in range(SEED_TICKETS)
    ]
    store.insert_many("tickets", tickets)
    invoices = [
        {
            "hs_invoice_status": ("open", "paid")[i % 2],
            "hs_amount_billed": 1000.0 + i,
            "hs_currency": "EUR",
            "hs_invoice_date": date(2024, 1, 1) + timedelta(days=i),
            "hs_due_date": date(2024, 2, 1) + timedelta(days=i),
            "paid_date": date(2024, 2, 10) if i % 2 else None,
            "hs_createdate": stamp(i),
            "hs_lastmodifieddate": stamp(300 + i),
        }
        for i in range(SEED_INVOICES)
    ]
    store.insert_many("invoices", invoices)
    return store


@pytest.fixture
def seed() -> dict[str, int]:
    """How many records of each kind `hs_server` starts with ("companies" includes 1 archived)."""
    return {
        "companies": SEED_COMPANIES,
        "live_companies": SEED_COMPANIES - 1,
        "deals": SEED_DEALS,
        "tickets": SEED_TICKETS,
        "invoices": SEED_INVOICES,
    }


@pytest.fixture
def hs_server(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    """A started sandbox whose HubSpot portal holds the seed data."""
    return make_sandbox(hs_store=seeded_store(), hubspot_token=TOKEN)


@pytest.fixture
def hs(hs_server: SandboxServer) -> Any:
    """A hubspot.HubSpot client pointed at `hs_server`."""
    return hubspot_client(hs_server.url, token=TOKEN)


@pytest.fixture
def raw(hs_server: SandboxServer) -> Iterator[Callable[..., Any]]:
    """`raw(method, path, **kw)`: a plain `requests` call with the portal token (for headers)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"

    def call(method: str, path: str, **kw: Any) -> Any:
        return session.request(method, hs_server.url + path, timeout=10, **kw)

    yield call
    session.close()
