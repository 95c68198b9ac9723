"""Fixtures for the Salesforce connector against the sandbox org over loopback HTTP.

Records are inserted straight into the org store with typed values and distinct
stamps spread over the past (one second apart), so cursors and overlaps are exact.
The connector reads its secrets from the environment, like in production.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.salesforce.schema import insert_records, new_org_store
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store
from mappings.salesforce_connection import SalesforceConnection

BASE = datetime(2024, 5, 1, tzinfo=UTC)
FAST = RetryPolicy(attempts=8, total_seconds=60, base_wait=0.01, max_wait=0.05)
INDUSTRIES = ("Banking", "Retail", "Technology")
TYPES = ("New Customer", "Existing Customer - Renewal", "Existing Customer - Upgrade")


def seed(store: Store, accounts: int, opportunities: int = 0, start: datetime = BASE) -> list[str]:
    """Accounts (one second apart from `start`) and opportunities spread over them."""
    rows = [
        {
            "Name": f"Account {i}",
            "Website": f"a{i}.example.com",
            "AccountNumber": f"ERP-{i}",
            "Industry": INDUSTRIES[i % 3],
            "NumberOfEmployees": 10 + i,
            "AnnualRevenue": 1000.5 * i,
            "BillingCountry": "Germany",
            "CreatedDate": start,
            "LastModifiedDate": start + timedelta(seconds=i),
            "SystemModstamp": start + timedelta(seconds=i),
        }
        for i in range(accounts)
    ]
    ids = insert_records(store, "Account", rows)
    opps = [
        {
            "Name": f"Deal {i}",
            "AccountId": ids[i % accounts],
            "Amount": 100.0 * i,
            "StageName": "Closed Won" if i % 2 else "Prospecting",
            "CloseDate": date(2024, 6, 1),
            "Type": TYPES[i % 3],
            "CreatedDate": start,
            "LastModifiedDate": start + timedelta(seconds=i),
            "SystemModstamp": start + timedelta(seconds=i),
        }
        for i in range(opportunities)
    ]
    if opps:
        insert_records(store, "Opportunity", opps)
    return ids


@pytest.fixture
def sf_env(monkeypatch: pytest.MonkeyPatch) -> Credentials:
    """The sandbox's credentials in the environment variables the connector reads."""
    c = Credentials()
    for name, value in {
        "SALESFORCE_USERNAME": c.username,
        "SALESFORCE_PASSWORD": c.password,
        "SALESFORCE_SECURITY_TOKEN": c.security_token,
        "SALESFORCE_CONSUMER_KEY": c.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
    }.items():
        monkeypatch.setenv(name, value)
    return c


@pytest.fixture
def org(make_sandbox: Callable[..., SandboxServer]) -> Callable[..., SandboxServer]:
    """Factory: a started sandbox whose org holds `accounts` / `opportunities` seeded records."""

    def factory(accounts: int = 0, opportunities: int = 0, **kw: Any) -> SandboxServer:
        store = new_org_store()
        if accounts:
            seed(store, accounts, opportunities)
        return make_sandbox(sf_store=store, **kw)

    return factory


def connection(server: SandboxServer, **overrides: Any) -> SalesforceConnection:
    """A connection config pointing at the sandbox: nothing but URLs differ from production."""
    settings: dict[str, Any] = {
        "kind": "password",
        "login_url": server.url,
        "instance_url": server.url,
        "bulk_poll_seconds": 0,
    }
    settings.update(overrides)
    return SalesforceConnection(**settings)


@pytest.fixture
def connect(sf_env: Credentials) -> Callable[..., SalesforceConnector]:
    """Factory: a SalesforceConnector for a server, with connection overrides."""

    def factory(server: SandboxServer, **overrides: Any) -> SalesforceConnector:
        return SalesforceConnector(
            connection(server, **overrides), policy=FAST, sleep=lambda s: None
        )

    return factory
