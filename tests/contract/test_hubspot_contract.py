"""The HubSpot connector against cassettes in HubSpot's documented response shapes.

Cassettes (tests/contract/cassettes/hubspot/) were written by hand from
docs/crm-wire.md part B and HubSpot's public specs: batch 207 partial results, a
400 VALIDATION_ERROR that refuses a whole batch, v4 association pages and 207
no-association errors, search pages, 409 on property create, a DAILY 429, a CRM import
(start, polls, row errors; docs/crm-wire.md §B13), and 2xx statuses the client does not
map (it would return None). They hold no token, email or real name; Authorization is
filtered should anyone re-record them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import vcr

from connectors.base import Cursor, FieldSpec
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.limits import PortalLimiter
from connectors.retry import RetryPolicy
from mappings.crm import load_crm_mapping, shipped_mapping
from mappings.errors import FatalApiError, QuotaError
from mappings.hubspot_connection import HubSpotConnection, RateLimits

CASSETTES = Path(__file__).parent / "cassettes" / "hubspot"
SENT: list[dict] = []


def _capture(r1, r2) -> None:
    """A matcher that always matches and keeps what the connector sent.

    vcrpy runs matchers more than once per request, so repeats in a row are one request.
    """
    body = json.loads(r1.body) if r1.body else None
    if body is not None and (not SENT or SENT[-1] != body):
        SENT.append(body)


VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_headers=["authorization"],
    decode_compressed_response=True,
)
VCR.register_matcher("capture", _capture)
VCR.match_on = ("method", "scheme", "host", "port", "path", "query", "capture")


@pytest.fixture
def connector() -> HubSpotConnector:
    SENT.clear()
    settings = RateLimits(search_per_second=100, ten_second_limit=190)
    return HubSpotConnector(
        HubSpotConnection(rate_limits=settings),
        load_crm_mapping(shipped_mapping("hubspot")),
        env={"HUBSPOT_ACCESS_TOKEN": "pat-test-not-a-token"},
        policy=RetryPolicy(attempts=2, base_wait=0.0, max_wait=0.0),
        limiter=PortalLimiter(settings),
    )


def test_207_partial_results_become_accepted_ids_and_rejections(connector):
    changes = pd.DataFrame(
        {"account_id": ["1", "2", "999"], "quadrant": ["Core", "Develop", "Core"]}
    )
    with VCR.use_cassette("batch_update_207.yaml"):
        result = connector.push("accounts", changes)

    assert result.accepted == ["1", "2"]
    [rejected] = result.rejected
    assert (rejected.record_id, rejected.code) == ("999", "OBJECT_NOT_FOUND")
    assert "Check that ids are valid" in rejected.message
    assert SENT == [
        {
            "inputs": [
                {"id": "1", "properties": {"valuesync_value_quadrant": "Core"}},
                {"id": "2", "properties": {"valuesync_value_quadrant": "Develop"}},
                {"id": "999", "properties": {"valuesync_value_quadrant": "Core"}},
            ]
        }
    ]


def test_a_validation_error_isolates_the_bad_input_and_writes_the_rest(connector):
    changes = pd.DataFrame(
        {"account_id": ["1", "2", "3"], "quadrant": ["Core", "Platinum", "Develop"]}
    )
    with VCR.use_cassette("batch_update_validation.yaml"):
        result = connector.push("accounts", changes)

    assert result.accepted == ["1", "3"]
    assert [(r.record_id, r.field, r.code) for r in result.rejected] == [
        ("2", "valuesync_value_quadrant", "INVALID_OPTION")
    ]
    assert [[i["id"] for i in body["inputs"]] for body in SENT] == [["1", "2", "3"], ["1", "3"]]


@pytest.mark.parametrize(
    ("cassette", "call", "operation"),
    [
        (
            "batch_update_204.yaml",
            lambda c: c.push("accounts", pd.DataFrame({"account_id": ["1"], "quadrant": ["Core"]})),
            "batch update companies",
        ),
        (
            "property_create_200.yaml",
            lambda c: c.provision(
                "accounts", [FieldSpec("valuesync_value_score", "Value Score", "number")]
            ),
            "create property companies.valuesync_value_score",
        ),
    ],
    ids=["batch-update-answers-204", "property-create-answers-200"],
)
def test_a_status_the_client_does_not_map_is_an_error_naming_the_call(
    connector, cassette, call, operation
):
    with VCR.use_cassette(cassette), pytest.raises(FatalApiError) as err:
        call(connector)

    assert err.value.operation == operation
    assert operation in str(err.value) and "None" in str(err.value)


def test_409_on_create_reads_the_existing_property_and_adds_missing_options(connector):
    spec = FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", ("Core", "Develop"))
    with VCR.use_cassette("property_create_409.yaml"):
        result = connector.provision("accounts", [spec])

    assert result.updated == ["valuesync_value_quadrant"] and result.created == []
    group, create, patch = SENT
    assert group == {"name": "valuesync", "label": "valuesync", "displayOrder": -1}
    assert create["type"] == "enumeration" and create["fieldType"] == "select"
    assert create["groupName"] == "valuesync"
    assert [o["value"] for o in patch["options"]] == ["Core", "Develop"]


def test_association_pages_are_followed_and_207_no_association_is_not_an_error(connector):
    with VCR.use_cassette("associations_paged.yaml"):
        pages = list(connector.pull_associations("opportunities"))

    frame = pd.concat([p.records for p in pages])
    assert dict(zip(frame["opportunity_id"], frame["account_id"], strict=True)) == {
        "901": "10",
        "902": "10",
        "903": "10",
    }
    assert SENT[1] == {"inputs": [{"id": "10", "after": "MC0yLTE1OTc0MDA2NTg%3D"}]}


def test_search_pages_become_typed_frames_with_the_primary_company(connector):
    since = Cursor(pd.Timestamp("2024-02-01T09:00:00Z").to_pydatetime())
    with VCR.use_cassette("search_deals.yaml"):
        [page, caught_up] = list(connector.pull("opportunities", since=since))
    # The search covered every window up to the pull's start: a row-less page moves the
    # cursor there (the next overlap reaches back from then, not from the last change).
    assert caught_up.records.empty and caught_up.cursor.modified_at > page.cursor.modified_at

    frame = page.records.set_index("opportunity_id")
    assert frame.loc["901", "account_id"] == "10"  # the Primary one of two companies
    assert frame.loc["902", "account_id"] == "11"
    assert frame.loc["901", "amount"] == 1200.5 and pd.isna(frame.loc["902", "amount"])
    assert frame.loc["901", "type"] == "renewal" and frame.loc["902", "type"] == "new"
    assert bool(frame.loc["901", "is_won"]) and not bool(frame.loc["902", "is_closed"])
    search = SENT[0]
    assert search["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert search["limit"] == 200
    ops = {f["operator"] for f in search["filterGroups"][0]["filters"]}
    assert ops == {"GTE", "LT"}


def test_a_daily_429_stops_with_quota_error_without_retrying(connector):
    with VCR.use_cassette("daily_429.yaml"), pytest.raises(QuotaError, match="daily"):
        connector.describe("accounts")
    assert connector.calls["properties"] == 1


def test_cassettes_hold_no_secret_or_personal_data():
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert not re.search(r"pat-[a-z0-9]|Bearer |authorization", text, re.IGNORECASE), path
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), path


UPLOADS: list[bytes] = []


def _uploads(r1, r2) -> None:
    """Keep multipart bodies the connector sent (the JSON capture cannot parse them)."""
    body = r1.body or b""
    if b"importRequest" in body and (not UPLOADS or UPLOADS[-1] != body):
        UPLOADS.append(body)


IMPORT_VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_headers=["authorization"],
)
IMPORT_VCR.register_matcher("uploads", _uploads)
IMPORT_VCR.match_on = ("method", "scheme", "host", "port", "path", "query", "uploads")


def test_an_import_polls_until_done_and_its_row_errors_become_rejections():
    from connectors.hubspot.imports import Polling

    UPLOADS.clear()
    settings = RateLimits(search_per_second=100, ten_second_limit=190)
    connector = HubSpotConnector(
        HubSpotConnection(rate_limits=settings, import_threshold=3),
        load_crm_mapping(shipped_mapping("hubspot")),
        env={"HUBSPOT_ACCESS_TOKEN": "pat-test-not-a-token"},
        policy=RetryPolicy(attempts=2, base_wait=0.0, max_wait=0.0),
        limiter=PortalLimiter(settings),
    )
    connector.polling = Polling(first=0.001, longest=0.001, deadline=1.0)
    changes = pd.DataFrame({"account_id": ["1", "2", "999"], "quadrant": ["Core", "Bogus", "Core"]})
    with IMPORT_VCR.use_cassette("import_update.yaml") as cassette:
        result = connector.push("accounts", changes)

    assert cassette.all_played
    assert result.accepted == ["1"]
    rejected = {r.record_id: r for r in result.rejected}
    assert rejected["2"].code == "INVALID_ENUMERATION_OPTION"
    assert rejected["2"].field == "valuesync_value_quadrant"
    assert rejected["999"].code == "INVALID_OBJECT_ID"
    assert result.calls["write"] == 5  # list, start, two polls, one errors page
    [upload] = UPLOADS
    assert b'name="importRequest"' in upload and b'"idColumnType": "HUBSPOT_OBJECT_ID"' in upload
    assert b'"importOperations": {"0-2": "UPDATE"}' in upload
    assert b"hs_object_id,valuesync_value_quadrant\n1,Core\n2,Bogus\n999,Core\n" in upload
