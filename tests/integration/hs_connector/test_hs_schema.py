"""Describe, the mapping check, provisioning, auth and the daily reserve against the sandbox."""

from __future__ import annotations

import pytest

from connectors.base import FieldSpec
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.limits import PortalLimiter
from mappings.crm import load_crm_mapping, shipped_mapping
from mappings.errors import AuthError, FatalApiError, QuotaError
from mappings.hubspot_connection import HubSpotConnection, RateLimits

from .conftest import FAST

QUADRANTS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")
LIFECYCLE = ("customer", "prospect")  # value_engine.output_labels: the engine's fixed labels
ACCOUNT_FIELDS = [
    FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", QUADRANTS),
    FieldSpec("valuesync_value_score", "Value Score", "number"),
    FieldSpec("valuesync_fit_score", "Fit Score", "number"),
    FieldSpec("valuesync_lifetime_value", "Lifetime value", "currency"),
    FieldSpec("valuesync_account_action", "Account Action", "picklist", ("Grow", "Keep")),
    FieldSpec("valuesync_service_tier", "Service Tier", "picklist", ("Gold", "Silver")),
    FieldSpec("valuesync_value_reason", "Value Reason", "text"),
    FieldSpec("valuesync_scored_at", "Scored at", "datetime"),
    FieldSpec("valuesync_max_acquisition_cost", "Max Acquisition Cost", "currency"),
    FieldSpec("valuesync_ltv", "LTV", "currency"),
    FieldSpec("valuesync_ltv_to_cac", "LTV:CAC", "number"),
    FieldSpec("valuesync_cac_payback_months", "CAC Payback Months", "number"),
    FieldSpec("valuesync_active_probability", "Active Probability", "number"),
    FieldSpec("valuesync_lifecycle", "Value Lifecycle", "picklist", LIFECYCLE),
    FieldSpec("valuesync_quadrant_override", "Quadrant override", "picklist", QUADRANTS),
]
DEAL_FIELDS = [
    FieldSpec("valuesync_value_quadrant", "Value Quadrant", "picklist", QUADRANTS),
    FieldSpec("valuesync_deal_priority", "Deal Priority", "picklist", ("High", "Low")),
    FieldSpec("valuesync_max_acquisition_cost", "Max Acquisition Cost", "currency"),
    FieldSpec("valuesync_value_reason", "Value Reason", "text"),
]
LABELS = {
    "quadrant": QUADRANTS,
    "account_action": ("Grow", "Keep"),
    "deal_priority": ("High", "Low"),
    "lifecycle": LIFECYCLE,
}


def test_provision_creates_group_and_properties_then_is_idempotent(portal, connect):
    conn = connect()

    first = conn.provision("accounts", ACCOUNT_FIELDS)
    again = conn.provision("accounts", ACCOUNT_FIELDS)

    assert sorted(first.created) == sorted(f.name for f in ACCOUNT_FIELDS)
    assert again.created == [] and again.updated == []
    assert len(again.unchanged) == len(ACCOUNT_FIELDS)
    schema = conn.describe("accounts")
    assert schema.get("valuesync_value_quadrant").type == "enumeration"
    assert schema.get("valuesync_value_quadrant").picklist == QUADRANTS
    assert schema.get("valuesync_scored_at").type == "datetime"
    assert schema.get("valuesync_value_reason").type == "string"
    assert "valuesync" in portal.store.hubspot.groups["companies"]


def test_provision_adds_options_when_the_model_gains_labels(portal, connect):
    conn = connect()
    conn.provision("deals", DEAL_FIELDS)
    grown = [
        FieldSpec("valuesync_deal_priority", "Deal Priority", "picklist", ("High", "Low", "Hold"))
    ]

    result = conn.provision("deals", grown)

    assert result.updated == ["valuesync_deal_priority"]
    assert conn.describe("deals").get("valuesync_deal_priority").picklist == ("High", "Low", "Hold")


def test_a_wrong_existing_type_is_an_error_that_says_so(portal, connect):
    conn = connect()
    conn.provision("accounts", [FieldSpec("valuesync_value_score", "Value Score", "text")])

    with pytest.raises(FatalApiError) as err:
        conn.provision("accounts", ACCOUNT_FIELDS)

    text = str(err.value)
    assert "companies.valuesync_value_score exists as string" in text
    assert "needs number" in text
    assert conn.describe("accounts").get("valuesync_value_quadrant") is None  # nothing changed


def test_check_mapping_passes_on_a_provisioned_portal(portal, connect, mapping):
    conn = connect()
    conn.provision("accounts", ACCOUNT_FIELDS)
    conn.provision("deals", DEAL_FIELDS)

    assert conn.check_mapping(mapping, shipped_mapping("hubspot"), LABELS) == []


def test_check_mapping_reports_every_problem_with_file_and_key(portal, connect, tmp_path):
    conn = connect()
    conn.provision("accounts", [*ACCOUNT_FIELDS[:1], *ACCOUNT_FIELDS[2:]])
    conn.provision("accounts", [FieldSpec("valuesync_value_score", "Value Score", "text")])
    text = shipped_mapping("hubspot").read_text()
    text = text.replace("name: name", "name: nmae")
    text = text.replace("domain: domain", "domain: Domain")
    text = text.replace("cursor: hs_lastmodifieddate", "cursor: name", 1)
    path = tmp_path / "hubspot.yaml"
    path.write_text(text)
    labels = {**LABELS, "quadrant": (*QUADRANTS, "Star")}

    problems = conn.check_mapping(load_crm_mapping(path), path, labels)
    by_key = {p.key_path: p for p in problems}

    assert all(p.file == str(path) and p.line for p in problems)
    assert "did you mean name" in by_key["objects.accounts.fields.name"].message
    assert "case-sensitive: write 'domain'" in by_key["objects.accounts.fields.domain"].message
    assert "a cursor must be a datetime" in by_key["objects.accounts.cursor"].message
    assert "needs number" in by_key["outputs.accounts.fields.value_score"].message
    assert "Star" in by_key["outputs.accounts.fields.quadrant"].message
    assert (
        "valuesync fields provision" in by_key["outputs.opportunities.fields.deal_priority"].message
    )


def test_a_refused_token_is_an_auth_error(portal, mapping):
    connection = HubSpotConnection(base_url=portal.server.url)
    conn = HubSpotConnector(
        connection, mapping, env={"HUBSPOT_ACCESS_TOKEN": "pat-wrong"}, policy=FAST
    )

    with pytest.raises(AuthError, match="token was refused"):
        conn.describe("accounts")


def test_the_daily_reserve_stops_the_run_cleanly(portal, connect):
    portal.companies(500)
    portal.server.faults.configure(hs_daily_limit=100)
    portal.server.hs.daily_used = 75  # other integrations spent 75 of 100 today
    conn = connect()

    with pytest.raises(QuotaError, match="reserved") as err:
        for _ in conn.pull("accounts"):
            pass

    # one call learns the day's state from the headers; none is made inside the reserve
    assert portal.server.hs.daily_used <= 100 - 20
    assert err.value.code == "DAILY_RESERVE"


def test_the_portal_limiter_is_shared_and_never_sees_the_token(portal, mapping):
    from connectors.hubspot.limits import limiter_for, portal_key

    key = portal_key(portal.server.url, "pat-sandbox-0000")
    assert "pat-sandbox" not in key
    limiter = limiter_for(key, RateLimits())
    assert limiter_for(key, RateLimits()) is limiter
    assert isinstance(limiter, PortalLimiter)
