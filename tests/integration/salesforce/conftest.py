"""Fixtures for the sandbox Salesforce tests: a seeded org and a logged-in simple-salesforce client.

`sf_server` holds SEED_ACCOUNTS accounts (the last SEED_DELETED of them soft-deleted)
and SEED_OPPORTUNITIES opportunities, inserted straight into the store with typed
values and stamps spread over the past days, so queries have something to page through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from connectors.sandbox.clients import salesforce_client
from connectors.sandbox.salesforce.schema import (
    INDUSTRIES,
    OPPORTUNITY_STAGES,
    insert_records,
    new_org_store,
)
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store

SEED_ACCOUNTS = 30
SEED_DELETED = 2
SEED_OPPORTUNITIES = 40
BASE_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def seeded_store() -> Store:
    """An org store with deterministic accounts and opportunities."""
    store = new_org_store()
    accounts = []
    for i in range(SEED_ACCOUNTS):
        stamp = BASE_TIME + timedelta(hours=i)
        accounts.append(
            {
                "Name": f"Account {i:02d}",
                "Website": f"account{i:02d}.example.com",
                "AccountNumber": f"ERP-{1000 + i}",
                "Industry": INDUSTRIES[i % len(INDUSTRIES)],
                "NumberOfEmployees": 10 * (i + 1),
                "AnnualRevenue": 100_000.0 * (i + 1),
                "BillingCountry": ("Germany", "France", "United States")[i % 3],
                "Type": "Customer - Direct",
                "IsDeleted": i >= SEED_ACCOUNTS - SEED_DELETED,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            }
        )
    account_ids = insert_records(store, "Account", accounts)
    stages = list(OPPORTUNITY_STAGES)
    opps = [
        {
            "Name": f"Deal {i:02d}",
            "AccountId": account_ids[i % (SEED_ACCOUNTS - SEED_DELETED)],
            "Amount": 5_000.0 * (i + 1),
            "StageName": stages[i % len(stages)],
            "CloseDate": date(2024, 6, 1) + timedelta(days=i),
            "Type": "New Customer",
            "CreatedDate": BASE_TIME + timedelta(minutes=i),
            "SystemModstamp": BASE_TIME + timedelta(minutes=i),
        }
        for i in range(SEED_OPPORTUNITIES)
    ]
    insert_records(store, "Opportunity", opps)
    return store


@pytest.fixture
def sf_server(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    """A started sandbox whose Salesforce org holds the seeded records."""
    return make_sandbox(sf_store=seeded_store())


@pytest.fixture
def sf(sf_server: SandboxServer) -> Any:
    """simple_salesforce.Salesforce logged in to `sf_server` through the SOAP login."""
    return salesforce_client(sf_server.url)


@pytest.fixture
def live_ids(sf_server: SandboxServer) -> list[str]:
    """Ids of the seeded accounts that are not soft-deleted, in insertion order."""
    return [r["Id"] for r in sf_server.sf.store.iter("Account") if not r["IsDeleted"]]


@pytest.fixture
def deleted_ids(sf_server: SandboxServer) -> list[str]:
    """Ids of the seeded accounts that are soft-deleted."""
    return [r["Id"] for r in sf_server.sf.store.iter("Account") if r["IsDeleted"]]
