"""Writing back: call counts, de-duplication, partial results, an invalid value in a batch."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from connectors.base import FieldSpec, WriteResult

LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")


@pytest.fixture
def provisioned(portal, connect):
    conn = connect()
    conn.provision(
        "accounts",
        [
            FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", LABELS),
            FieldSpec("valuesync_value_score", "Value Score", "number"),
        ],
    )
    return conn


@pytest.mark.parametrize("n", [1, 100, 101, 250], ids=lambda n: f"{n}-records")
def test_n_changed_records_cost_ceil_n_over_100_batch_calls(portal, provisioned, n):
    ids = portal.companies(n)
    before = portal.server.hs.calls["batch_update"]
    changes = pd.DataFrame(
        {"account_id": ids, "quadrant": [LABELS[i % 4] for i in range(n)], "value_score": 50.5}
    )

    result = provisioned.push("accounts", changes)

    assert sorted(result.accepted) == sorted(ids) and result.rejected == []
    assert result.calls["write"] == math.ceil(n / 100)
    assert portal.server.hs.calls["batch_update"] - before == math.ceil(n / 100)
    assert portal.record("companies", ids[-1])["valuesync_value_quadrant"] == LABELS[(n - 1) % 4]


@pytest.mark.parametrize(
    "case",
    ["all-NA", "equal-to-current", "empty-frame"],
)
def test_nothing_changed_makes_no_write_call(portal, provisioned, case):
    ids = portal.companies(5)
    values = pd.DataFrame({"account_id": ids, "quadrant": "Core", "value_score": 10.0})
    current = None
    if case == "all-NA":
        changes = values.assign(quadrant=None, value_score=float("nan"))
    elif case == "equal-to-current":
        changes, current = values, values.copy()
    else:
        changes = values.iloc[0:0]
    before = portal.server.hs.calls["batch_update"]

    result = provisioned.push("accounts", changes, current=current)

    assert result.calls["write"] == 0 and result.accepted == []
    assert portal.server.hs.calls["batch_update"] == before


def test_only_changed_properties_are_sent(portal, provisioned):
    ids = portal.companies(2)
    current = pd.DataFrame({"account_id": ids, "quadrant": ["Core", "Core"], "value_score": 1.0})
    changes = current.assign(value_score=[1.0, 2.0])

    result = provisioned.push("accounts", changes, current=current)

    assert result.accepted == [ids[1]] and result.calls["write"] == 1
    assert portal.record("companies", ids[1])["valuesync_value_score"] == 2.0
    assert "valuesync_value_quadrant" not in portal.record("companies", ids[1])


def test_duplicate_ids_are_merged_into_one_input(portal, provisioned):
    ids = portal.companies(3)
    changes = pd.DataFrame(
        {"account_id": [ids[0], ids[1], ids[0]], "quadrant": ["Core", "Develop", "Deprioritize"]}
    )

    result = provisioned.push("accounts", changes)

    assert sorted(result.accepted) == sorted(ids[:2]) and result.calls["write"] == 1
    assert portal.record("companies", ids[0])["valuesync_value_quadrant"] == "Deprioritize"


def test_a_batch_with_one_invalid_value_writes_the_other_99_and_reports_the_one(
    portal, provisioned
):
    ids = portal.companies(100)
    labels = ["Core"] * 100
    labels[42] = "Platinum"  # not an option of the dropdown
    changes = pd.DataFrame({"account_id": ids, "quadrant": labels})

    result = provisioned.push("accounts", changes)

    assert len(result.accepted) == 99 and ids[42] not in result.accepted
    [rejection] = result.rejected
    assert rejection.record_id == ids[42]
    assert rejection.field == "valuesync_value_quadrant"
    assert rejection.code == "INVALID_OPTION" and "Platinum" in rejection.message
    assert result.calls["write"] == 2
    written = [portal.record("companies", i).get("valuesync_value_quadrant") for i in ids]
    assert written.count("Core") == 99


def test_several_invalid_inputs_are_each_isolated(portal, provisioned):
    ids = portal.companies(100)
    scores: list[object] = [1.0] * 100
    labels = ["Core"] * 100
    labels[3], labels[77] = "Gold", "Silver"
    scores[50] = "lots"  # not a number
    changes = pd.DataFrame({"account_id": ids, "quadrant": labels, "value_score": scores})

    result = provisioned.push("accounts", changes)

    assert sorted(r.record_id for r in result.rejected) == sorted([ids[3], ids[50], ids[77]])
    assert len(result.accepted) == 97


def test_unknown_ids_come_back_as_rejections_with_hubspots_category(portal, provisioned):
    ids = portal.companies(2)
    changes = pd.DataFrame({"account_id": [*ids, "999999"], "quadrant": "Core"})

    result = provisioned.push("accounts", changes)

    assert sorted(result.accepted) == sorted(ids)
    assert [(r.record_id, r.code) for r in result.rejected] == [("999999", "OBJECT_NOT_FOUND")]


def test_pushes_from_two_threads_each_count_their_own_calls(portal, provisioned):
    """The pipeline has two pushes under way at once (HubSpotConnector.push_streams); each
    result's call count is its own, not what the other thread did meanwhile."""
    sizes = (250, 420)
    batches = [portal.companies(n) for n in sizes]
    before = portal.server.hs.calls["batch_update"]
    total_before = provisioned.calls["write"]
    start = threading.Barrier(len(sizes))

    def push(ids: list[str]) -> WriteResult:
        start.wait(timeout=30)
        return provisioned.push("accounts", pd.DataFrame({"account_id": ids, "value_score": 7.5}))

    with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
        results = list(pool.map(push, batches))

    assert [r.calls["write"] for r in results] == [math.ceil(n / 100) for n in sizes]
    assert [sorted(r.accepted) for r in results] == [sorted(ids) for ids in batches]
    made = sum(math.ceil(n / 100) for n in sizes)
    assert portal.server.hs.calls["batch_update"] - before == made
    assert provisioned.calls["write"] - total_before == made
