"""Pushes through the connector: call counts (client and server side), rejections, faults."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from connectors.salesforce.connector import CLEAR, PARENT_COLUMN
from mappings.errors import ConfigError


def ids_of(server, obj: str = "Account") -> list[str]:
    return list(server.sf.store.table(obj).records)


def stored(server, rid: str, field: str, obj: str = "Account"):
    return server.sf.store.table(obj).records[rid].get(field)


@pytest.mark.parametrize("n", [1, 199, 200, 201, 450], ids=lambda n: f"{n}-records")
def test_collections_cost_exactly_ceil_n_over_200(org, connect, n):
    server = org(accounts=500)
    sf = connect(server)
    sf.describe("Account")
    used = server.sf.api_used
    changes = pd.DataFrame({"Id": ids_of(server)[:n], "Name": [f"N{i}" for i in range(n)]})
    result = sf.push("Account", changes)
    assert len(result.accepted) == n and result.rejected == []
    assert result.calls == {"collections": math.ceil(n / 200)}
    assert server.sf.api_used - used == math.ceil(n / 200), "counted on the server too"
    assert stored(server, changes["Id"].iloc[-1], "Name") == f"N{n - 1}"


def test_nothing_changed_makes_no_write_call(org, connect):
    server = org(accounts=5)
    sf = connect(server)
    sf.describe("Account")
    used = server.sf.api_used
    empty = pd.DataFrame({"Id": ids_of(server), "Name": [None] * 5, "AnnualRevenue": [np.nan] * 5})
    for frame in (empty, empty.iloc[0:0]):
        result = sf.push("Account", frame)
        assert result.accepted == [] and result.calls == {}
    assert server.sf.api_used == used


def test_only_changed_cells_are_sent_and_clear_sets_null(org, connect):
    server = org(accounts=3)
    sf = connect(server)
    ids = ids_of(server)
    changes = pd.DataFrame(
        {"Id": ids, "Name": ["X", None, None], "AnnualRevenue": [np.nan, 5.0, np.nan],
         "Website": [None, None, CLEAR]}
    )  # fmt: skip
    result = sf.push("Account", changes)
    assert sorted(result.accepted) == sorted(ids)
    assert (stored(server, ids[0], "Name"), stored(server, ids[0], "AnnualRevenue")) == ("X", 0.0)
    assert (
        stored(server, ids[1], "AnnualRevenue") == 5.0
        and stored(server, ids[1], "Name") == "Account 1"
    )
    assert (
        stored(server, ids[2], "Website") is None and stored(server, ids[2], "Name") == "Account 2"
    )


def test_bulk_above_threshold_writes_everything_and_joins_failures_by_id(org, connect):
    server = org(accounts=300)
    ids = ids_of(server)
    server.faults.configure(reject_ids=frozenset(ids[5:8]))
    sf = connect(server, bulk_write_threshold=100)
    sf.describe("Account")
    used = server.sf.api_used
    result = sf.push("Account", pd.DataFrame({"Id": ids, "Name": "bulk"}))
    assert sorted(r.record_id for r in result.rejected) == sorted(ids[5:8])
    assert {r.code for r in result.rejected} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert len(result.accepted) == 297 and stored(server, ids[0], "Name") == "bulk"
    assert stored(server, ids[5], "Name") == "Account 5"
    polls = result.calls["bulk_ingest"] - 4  # create, upload, close, failedResults
    assert result.calls == {"bulk_ingest": 4 + polls} and polls >= 1
    assert server.sf.api_used - used == result.calls["bulk_ingest"]


def test_bulk_push_costs_at_most_5_calls_per_object(org, connect):
    server = org(accounts=300)
    sf = connect(server, bulk_write_threshold=100, bulk_poll_seconds=0.5)
    sf.describe("Account")
    used = server.sf.api_used
    sf.push("Account", pd.DataFrame({"Id": ids_of(server), "Name": "bulk"}))
    assert server.sf.api_used - used <= 5


def test_validation_rejections_are_data_and_do_not_stop_others(org, connect):
    server = org(accounts=10)
    ids = ids_of(server)
    server.faults.configure(reject_ids=frozenset({ids[2]}))
    sf = connect(server)
    result = sf.push("Account", pd.DataFrame({"Id": ids, "Name": "v"}))
    assert len(result.accepted) == 9
    (rej,) = result.rejected
    assert (rej.record_id, rej.code) == (
        ids[2],
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    ) and rej.message
    assert result.rejected_frame().shape == (1, 4)


def test_unknown_or_readonly_write_field_is_a_config_error(org, connect):
    server = org(accounts=2)
    sf = connect(server)
    for field in ("Nope__c", "IsDeleted"):
        with pytest.raises(ConfigError, match="not an updateable field of Account"):
            sf.push("Account", pd.DataFrame({"Id": ids_of(server), field: [1, 2]}))


WRITES = r"/composite/sobjects|/jobs/ingest"
FAULTS: dict[str, list[tuple[str, int]]] = {
    "429": [("429", 2)],
    "5xx": [("503", 1), ("500", 1)],
    "dropped": [("drop", 2)],
    "expired-session": [("expire_session", 1)],
    "lock-10pct": [],
    "all-at-once": [("429", 1), ("503", 1), ("drop", 1), ("expire_session", 1)],
}
"""Queued faults on the write paths (exact, not rates, so each one surely fires)."""


@pytest.mark.parametrize("path", ["collections", "bulk"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_final_state_is_exact_under_injected_faults(org, connect, fault, path):
    server = org(accounts=30, opportunities=450)
    opp_ids = ids_of(server, "Opportunity")
    rejected = set(opp_ids[::50])
    sf = connect(server, bulk_write_threshold=100 if path == "bulk" else 2000)
    sf.describe("Opportunity")
    locks = 0.10 if fault in ("lock-10pct", "all-at-once") else 0.0
    server.faults.configure(reject_ids=frozenset(rejected), lock_row_share=locks)
    for kind, times in FAULTS[fault]:
        server.faults.inject(kind, times=times, path=WRITES)
    parents = [server.sf.store.table("Opportunity").records[i]["AccountId"] for i in opp_ids]
    changes = pd.DataFrame(
        {"Id": opp_ids, "Amount": [float(i) + 0.5 for i in range(450)], PARENT_COLUMN: parents}
    )
    result = sf.push("Opportunity", changes)
    server.faults.clear()
    assert {r.record_id for r in result.rejected} == rejected
    assert {r.code for r in result.rejected} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert sorted(result.accepted) == sorted(set(opp_ids) - rejected), "each accepted exactly once"
    assert len(result.accepted) == len(set(result.accepted))
    for i, rid in enumerate(opp_ids):
        want = 100.0 * i if rid in rejected else float(i) + 0.5
        assert stored(server, rid, "Amount", "Opportunity") == want
    fired = server.faults.injected
    assert sum(fired.values()) >= sum(n for _, n in FAULTS[fault]), "each fault really fired"
    if locks:
        assert fired["lock_row"] > 0
