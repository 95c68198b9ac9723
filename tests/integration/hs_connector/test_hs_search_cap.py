"""The 10,000-result search cap: 30,000 companies modified within one hour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Cursor
from connectors.sandbox.clients import hubspot_client

from .conftest import BASE, TOKEN

N = 30_000


def _stamp(i: int):
    return BASE + timedelta(milliseconds=i * 3_600_000 // N)  # all inside one hour


@pytest.mark.slow
def test_incremental_pull_returns_30000_records_within_one_hour_exactly_once(portal, connect):
    ids = portal.companies(N, stamp=_stamp)
    conn = connect(search_per_second=20)

    seen: list[str] = []
    cursors = []
    for page in conn.pull("accounts", since=Cursor(BASE)):
        seen += page.records["account_id"].tolist()
        cursors.append(page.cursor)

    assert len(seen) == N and set(seen) == set(ids)
    ascending = [c.modified_at for c in cursors if c is not None]
    assert ascending == sorted(ascending)
    searches = conn.calls["search"]
    print(f"\n{N} records in {searches} search calls")
    assert searches <= N // 200 * 1.2  # pages plus a few window probes
    assert all(total < 10_000 for _, _, total in conn.last_windows)


@pytest.mark.slow
def test_a_single_search_query_would_have_lost_records_past_10000(portal):
    portal.companies(N, stamp=_stamp)
    from hubspot.crm.objects import PublicObjectSearchRequest

    client = hubspot_client(portal.server.url, token=TOKEN)
    got, after, error = 0, "0", None
    while after is not None:
        request = PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": str(int(BASE.timestamp() * 1000)),
                        }
                    ]
                }
            ],
            sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            properties=["name"],
            limit=200,
            after=after,
        )
        try:
            page = client.crm.companies.search_api.do_search(public_object_search_request=request)
        except Exception as exc:  # each API package has its own ApiException
            error = exc
            break
        got += len(page.results)
        after = page.paging.next.after if page.paging and page.paging.next else None

    assert page.total == N
    assert got == 10_000 and getattr(error, "status", None) == 400
    print(f"\na single query stopped at {got} of {N}: {N - got} records lost")
