"""The connector under the sandbox's ten-second limit with injected 429s, 5xx and drops."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.base import FieldSpec

LIMIT = 12
N = 900  # 9 list pages + 1 archived list, 9 batch updates, provisioning calls


@pytest.mark.slow
def test_final_state_is_exact_under_the_ten_second_limit_and_injected_faults(portal, connect):
    ids = portal.companies(N)
    faults = portal.server.faults
    faults.configure(hs_ten_second_limit=LIMIT, retry_after_s=1)
    conn = connect(ten_second_limit=LIMIT)
    conn.provision(
        "accounts",
        [FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", ("Core", "Develop"))],
    )
    faults.inject("429", times=2, path="/crm/v3/objects/companies$")
    faults.inject("500", times=1, path="/crm/v3/objects/companies$")
    faults.inject("drop", times=1, path="/crm/v3/objects/companies$")
    faults.inject("429", times=1, path="batch/update")
    faults.inject("503", times=2, path="batch/update")
    faults.inject("drop", times=2, path="batch/update")

    pulled = pd.concat([p.records for p in conn.pull("accounts") if len(p.records)])
    expected = {rid: ("Core" if int(rid) % 2 else "Develop") for rid in pulled["account_id"]}
    changes = pd.DataFrame({"account_id": list(expected), "quadrant": list(expected.values())})
    result = conn.push("accounts", changes)

    final = {rid: portal.record("companies", rid).get("valuesync_value_quadrant") for rid in ids}
    assert sorted(pulled["account_id"]) == sorted(ids)
    assert final == expected and len(result.accepted) == N and result.rejected == []
    hs = portal.server.hs
    made = sum(v for k, v in conn.calls.items() if k != "throttled_429")
    print(f"\ncalls made: {made} {conn.calls}")
    print(
        f"429s received: {conn.calls['throttled_429']} (injected {faults.injected['429']}, "
        f"from the ten-second bucket {hs.calls['rate_limited']}); faults {dict(faults.injected)}"
    )
    # the limiter kept inside the ten-second bucket: no 429 beyond the injected ones
    assert hs.calls["rate_limited"] == 0
    assert conn.calls["throttled_429"] == faults.injected["429"] == 3
    # every injected fault cost exactly one retried attempt, nothing more
    assert conn.calls["write"] == N // 100 + 1 + 2 + 2


@pytest.mark.slow
def test_rate_limit_headers_narrow_the_client_side_limits(portal, connect):
    from datetime import timedelta

    from connectors.base import Cursor

    from .conftest import BASE

    portal.companies(600, stamp=lambda i: BASE + timedelta(seconds=i))
    # The ten-second bucket is what this test is about: the client is configured looser
    # than the portal and must narrow itself from X-HubSpot-RateLimit-Max. Search has no
    # such headers (docs/crm-wire.md §B7), so the client's search pace is set below the portal's:
    # two one-second windows at the same rate would race on the boundary.
    portal.server.faults.configure(hs_ten_second_limit=4, hs_search_per_second=3)
    conn = connect(ten_second_limit=190, search_per_second=2)

    full = sum(len(p.records) for p in conn.pull("accounts"))
    incremental = sum(len(p.records) for p in conn.pull("accounts", since=Cursor(BASE)))

    assert full == incremental == 600
    assert portal.server.hs.calls["rate_limited"] == 0, "X-HubSpot-RateLimit-Max was not honoured"
    assert conn.api.limiter.capacity == 4
