"""Benchmark of the sandbox CRM over loopback, through the real client libraries.

Measures: seconds to seed 100,000 accounts with their related records into both sides
(generate + load), then rows per second served for REST query pages of 2,000
(simple-salesforce query + query_more), Bulk API 2.0 CSV results (sf.bulk2), and
HubSpot list pages of 100 (companies basic_api.get_page). Targets: seeding <= 60 s,
REST >= 10,000 rows/s, Bulk 2.0 CSV >= 50,000 rows/s. Ends with one JSON line.

Run: .venv/bin/python bench/sandbox.py [--accounts N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from connectors.sandbox.clients import hubspot_client, salesforce_client
from connectors.sandbox.load import build_sandbox
from connectors.sandbox.server import SandboxServer

SOQL = (
    "SELECT Id, Name, AccountNumber, Industry, NumberOfEmployees, AnnualRevenue, "
    "BillingCountry, SystemModstamp FROM Account"
)
HS_PROPERTIES = [
    "name",
    "domain",
    "industry",
    "numberofemployees",
    "country",
    "hs_lastmodifieddate",
]


def timed(label: str, fn: Callable[[], int]) -> tuple[int, float]:
    """Run `fn` (returns a row count); print and return (rows, seconds)."""
    start = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {rows:>9,} rows in {seconds:7.2f} s = {rows / seconds:>10,.0f} rows/s")
    return rows, seconds


def rest_query(sf: Any, min_rows: int) -> int:
    """REST query + query_more pages (2,000 rows each) until at least `min_rows` are read."""
    result = sf.query(SOQL)
    rows = len(result["records"])
    while not result["done"] and rows < min_rows:
        result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        rows += len(result["records"])
    return rows


def bulk_csv(sf: Any) -> int:
    """A Bulk API 2.0 query job; every result chunk is CSV with one header line."""
    rows = 0
    for chunk in sf.bulk2.Account.query(SOQL, max_records=50_000, wait=0):
        rows += chunk.count("\n") - 1
    return rows


def hubspot_pages(api: Any, min_rows: int) -> int:
    """companies list pages of 100 until at least `min_rows` are read."""
    rows, after = 0, None
    while rows < min_rows:
        page = api.crm.companies.basic_api.get_page(
            limit=100, after=after, properties=HS_PROPERTIES
        )
        rows += len(page.results)
        if not page.paging:
            break
        after = page.paging.next.after
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rest-rows", type=int, default=50_000)
    parser.add_argument("--hubspot-rows", type=int, default=20_000)
    args = parser.parse_args()

    start = time.perf_counter()
    sf_store, hs_store, data = build_sandbox(args.accounts, seed=7, crm="both")
    seed_s = time.perf_counter() - start
    related = len(data.opportunities) + len(data.tickets) + len(data.invoices)
    print(
        f"seeded {args.accounts:,} accounts + {related:,} related records "
        f"into both sides: {seed_s:.1f} s"
    )

    with SandboxServer(sf_store=sf_store, hs_store=hs_store) as server:
        sf = salesforce_client(server.url)
        rest = timed(
            "REST query + query_more (pages of 2,000)", lambda: rest_query(sf, args.rest_rows)
        )
        bulk = timed("Bulk API 2.0 query, CSV results", lambda: bulk_csv(sf))
        api = hubspot_client(server.url)
        hs = timed(
            "HubSpot companies get_page (pages of 100)",
            lambda: hubspot_pages(api, args.hubspot_rows),
        )

    figures = {
        "rest_query_rows_per_s": round(rest[0] / rest[1]),
        "bulk_csv_rows_per_s": round(bulk[0] / bulk[1]),
        "hubspot_rows_per_s": round(hs[0] / hs[1]),
        "seed_100k_accounts_s": round(seed_s, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
