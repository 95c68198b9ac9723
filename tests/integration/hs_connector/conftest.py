"""Fixtures for the HubSpot connector against the sandbox portal (real client, loopback HTTP).

Records go straight into the sandbox store (typed values, explicit stamps); the
connector is built from a HubSpotConnection pointed at the server, with the token in
a fake environment, a fast retry policy and its own limiter (so tests share no state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.limits import PortalLimiter
from connectors.retry import RetryPolicy
from connectors.sandbox.hubspot.schema import new_portal_store, portal_data
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.store import Store
from mappings.crm import CrmMapping, load_crm_mapping, shipped_mapping
from mappings.hubspot_connection import HubSpotConnection, RateLimits

TOKEN = "pat-sandbox-0000"
ENV = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=8, total_seconds=60, base_wait=0.02, max_wait=2.0)


@dataclass
class Portal:
    """A sandbox server plus helpers to fill its store."""

    server: SandboxServer
    store: Store

    def companies(self, n: int, stamp: Callable[[int], datetime] | None = None) -> list[str]:
        stamp = stamp or (lambda i: BASE + timedelta(minutes=i))
        rows = [
            {
                "name": f"Company {i}",
                "domain": f"c{i}.example.com",
                "industry": "BANKING",
                "numberofemployees": 10 + i,
                "annualrevenue": 1000.0 * i,
                "createdate": BASE,
                "hs_lastmodifieddate": stamp(i),
            }
            for i in range(n)
        ]
        return self.store.insert_many("companies", rows)

    def deals(self, n: int, company: str | None = None, stamp: datetime = BASE) -> list[str]:
        rows = [
            {
                "dealname": f"Deal {i}",
                "amount": 100.0 + i,
                "dealstage": "closedwon" if i % 2 else "qualifiedtobuy",
                "dealtype": "newbusiness",
                "createdate": BASE,
                "hs_lastmodifieddate": stamp + timedelta(seconds=i),
            }
            for i in range(n)
        ]
        ids = self.store.insert_many("deals", rows)
        if company:
            self.link("deals", ids, company)
        return ids

    def link(self, child_type: str, ids: Iterable[str], company: str) -> None:
        links = portal_data(self.store).associations
        for rid in ids:
            links.add(child_type, rid, "companies", company)

    def record(self, object_type: str, rid: str) -> dict[str, Any]:
        return self.store.table(object_type).records[rid]


@pytest.fixture
def portal(make_sandbox: Callable[..., SandboxServer]) -> Portal:
    """An empty sandbox portal, started."""
    store = new_portal_store()
    return Portal(make_sandbox(hs_store=store, hubspot_token=TOKEN), store)


@pytest.fixture
def mapping() -> CrmMapping:
    return load_crm_mapping(shipped_mapping("hubspot"))


@pytest.fixture
def connect(portal: Portal, mapping: CrmMapping) -> Callable[..., HubSpotConnector]:
    """`connect(**rate_limits)` -> a HubSpotConnector on the portal with its own limiter."""

    def factory(**limits: Any) -> HubSpotConnector:
        settings = RateLimits(**{"search_per_second": 50, "ten_second_limit": 190, **limits})
        connection = HubSpotConnection(base_url=portal.server.url, rate_limits=settings)
        return HubSpotConnector(
            connection, mapping, env=ENV, policy=FAST, limiter=PortalLimiter(settings)
        )

    return factory
