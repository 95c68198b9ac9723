"""Large pushes as CRM imports: hubspot-api-client against the sandbox's imports API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from connectors.base import FieldSpec
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.imports import Polling
from connectors.hubspot.limits import PortalLimiter
from mappings.hubspot_connection import HubSpotConnection, RateLimits
from tests.integration.hs_connector.conftest import ENV, FAST

LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")
THRESHOLD = 50


@pytest.fixture
def importing(portal: Any, mapping: Any) -> HubSpotConnector:
    """A connector that imports from 50 changed records on, its output fields provisioned."""
    limits = RateLimits(search_per_second=50, ten_second_limit=190)
    connection = HubSpotConnection(
        base_url=portal.server.url, rate_limits=limits, import_threshold=THRESHOLD
    )
    conn = HubSpotConnector(
        connection, mapping, env=ENV, policy=FAST, limiter=PortalLimiter(limits)
    )
    conn.polling = Polling(first=0.05, factor=1.5, longest=0.5, deadline=30)
    conn.provision(
        "accounts",
        [
            FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", LABELS),
            FieldSpec("valuesync_value_score", "Value Score", "number"),
        ],
    )
    return conn


def changes(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ids,
            "quadrant": [LABELS[i % 4] for i in range(len(ids))],
            "value_score": [float(i) + 0.5 for i in range(len(ids))],
        }
    )


def test_a_push_above_the_threshold_is_one_import_and_the_values_land(portal, importing):
    ids = portal.companies(120)
    calls = portal.server.hs.calls
    batch_before = calls["batch_update"]

    result = importing.push("accounts", changes(ids))

    assert sorted(result.accepted) == sorted(ids) and result.rejected == []
    assert calls["imports_create"] == 1 and calls["batch_update"] == batch_before
    assert importing.write_chunk(120) == 120 and importing.write_calls(120) == 3
    spent = sum(calls[k] for k in ("imports_create", "imports_get", "imports_list"))
    assert result.calls["write"] == spent + calls["imports_errors"]
    assert portal.record("companies", ids[7])["valuesync_value_quadrant"] == LABELS[3]
    assert portal.record("companies", ids[119])["valuesync_value_score"] == 119.5


def test_below_the_threshold_the_batch_path_is_used(portal, importing):
    ids = portal.companies(THRESHOLD - 1)

    result = importing.push("accounts", changes(ids))

    assert len(result.accepted) == THRESHOLD - 1
    assert portal.server.hs.calls["imports_create"] == 0
    assert importing.write_chunk(THRESHOLD - 1) == 100


def test_row_failures_become_rejected_rows_with_record_id_and_reason(portal, importing):
    ids = portal.companies(80)
    frame = changes(ids)
    frame.loc[3, "quadrant"] = "Not an option"
    portal.store.table("companies").records[ids[9]]["_archived"] = True  # gone meanwhile

    result = importing.push("accounts", frame)

    rejected = {r.record_id: r for r in result.rejected}
    assert set(rejected) == {ids[3], ids[9]}
    assert rejected[ids[3]].code == "INVALID_ENUMERATION_OPTION"
    assert rejected[ids[3]].field == "valuesync_value_quadrant"
    assert "Not an option" in rejected[ids[3]].message
    assert rejected[ids[9]].code == "INVALID_OBJECT_ID"
    assert sorted(result.accepted) == sorted(set(ids) - {ids[3], ids[9]})
    bad = portal.record("companies", ids[3])
    assert "valuesync_value_quadrant" not in bad and "valuesync_value_score" not in bad
    assert portal.record("companies", ids[4])["valuesync_value_quadrant"] == LABELS[0]


def test_clears_go_through_batch_updates_because_imports_skip_blank_cells(portal, importing):
    ids = portal.companies(60)
    importing.push("accounts", changes(ids))
    frame = changes(ids).assign(value_score=[""] * 30 + [7.0] * 30)

    result = importing.push("accounts", frame)

    assert sorted(result.accepted) == sorted(ids) and result.rejected == []
    assert portal.server.hs.calls["imports_create"] == 2
    assert portal.record("companies", ids[0]).get("valuesync_value_score") is None
    assert portal.record("companies", ids[59])["valuesync_value_score"] == 7.0


def test_the_daily_import_limit_falls_back_to_batch_updates(portal, importing):
    faults = portal.server.faults
    faults.profile = replace(faults.profile, hs_daily_imports=1)
    first, second = portal.companies(60), portal.companies(60)
    importing.push("accounts", changes(first))
    batches = portal.server.hs.calls["batch_update"]

    result = importing.push("accounts", changes(second))

    assert sorted(result.accepted) == sorted(second) and result.rejected == []
    assert portal.server.hs.calls["imports_create"] == 2  # the refused one is a call too
    assert portal.server.hs.calls["batch_update"] - batches == 1
    assert result.calls["write"] >= 2  # the refused import and the batch update
    assert portal.record("companies", second[5])["valuesync_value_score"] == 5.5


def test_an_import_names_an_unknown_column_and_is_refused_with_a_clear_error(portal):
    from connectors.sandbox.clients import hubspot_client

    client = hubspot_client(portal.server.url)
    request = (
        '{"name": "x", "importOperations": {"0-2": "UPDATE"}, "files": [{"fileName": '
        '"a.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": true, '
        '"columnMappings": [{"columnObjectTypeId": "0-2", "columnName": "nope", '
        '"propertyName": "name"}]}}]}'
    )
    with pytest.raises(Exception) as caught:
        _upload(client, request, "hs_object_id,name\n1,x\n")
    assert getattr(caught.value, "status", None) == 400
    assert "nope" in str(getattr(caught.value, "body", ""))


def _upload(client: Any, request: str, text: str) -> Any:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        path.write_text(text)
        return client.crm.imports.core_api.create(files=str(path), import_request=request)
