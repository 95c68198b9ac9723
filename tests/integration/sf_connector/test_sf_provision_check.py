"""Provisioning output fields through Tooling, and the describe-check of mapping files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from connectors.base import FieldSpec
from connectors.salesforce.connector import SalesforceConnector
from mappings.crm import CrmMapping, load_crm_mapping, shipped_mapping
from mappings.errors import ConfigError
from tests.integration.sf_connector.conftest import FAST, connection

LABELS = {
    "quadrant": ["Core", "Fix or Reprice", "Develop", "Deprioritize"],
    "account_action": ["Grow", "Keep", "Reprice"],
    "service_tier": ["Gold", "Silver"],
    "deal_priority": ["High", "Medium", "Low"],
    "lifecycle": ["customer", "prospect"],  # value_engine.output_labels: fixed engine labels
}


def provision_all(sf: SalesforceConnector, labels=LABELS) -> dict[str, object]:
    return {t: sf.provision(t, sf.output_specs(t, labels)) for t in ("accounts", "opportunities")}


def test_provision_creates_grants_and_is_idempotent(org, connect):
    server = org(accounts=2)
    sf = connect(server)
    first = provision_all(sf)
    assert sorted(first["accounts"].created) == sorted(
        sf.mapping.outputs["accounts"].fields.values()
    )
    assert len(first["opportunities"].created) == 4
    schema = sf.describe("Account")
    assert schema.get("Value_Quadrant__c").picklist == tuple(LABELS["quadrant"])
    kinds = {
        n: schema.get(n).type
        for n in ("Value_Score__c", "Lifetime_Value__c", "Value_Reason__c", "Value_Scored_At__c")
    }
    assert kinds == {
        "Value_Score__c": "double",
        "Lifetime_Value__c": "currency",
        "Value_Reason__c": "string",
        "Value_Scored_At__c": "datetime",
    }
    used = server.sf.api_used
    again = provision_all(sf)
    assert again["accounts"].created == [] and again["accounts"].updated == []
    assert sorted(again["accounts"].unchanged) == sorted(first["accounts"].created)
    assert server.sf.api_used - used == 2, "a second run only describes"
    # The fields are now visible, writable and pass the mapping check.
    assert sf.check_mapping(required_labels=LABELS) == [
        p for p in sf.check_mapping(required_labels=LABELS) if "override_field" in p.key_path
    ]
    ids = list(server.sf.store.table("Account").records)
    result = sf.push(
        "Account", pd.DataFrame({"Id": ids, "Value_Quadrant__c": "Core", "Value_Score__c": 88.5})
    )
    assert len(result.accepted) == 2
    page = next(sf.pull("accounts", fields=["quadrant", "value_score"]))
    assert (
        list(page.records["quadrant"]) == ["Core", "Core"]
        and page.records["value_score"].iloc[0] == 88.5
    )


def test_fields_hidden_by_field_security_are_granted_not_recreated(org, connect):
    server = org(accounts=1)
    sf = connect(server)
    spec = [FieldSpec("Value_Score__c", "Value Score", "number")]
    meta = {"label": "Value Score", "type": "Number", "precision": 18, "scale": 2}
    body = {"FullName": "Account.Value_Score__c", "Metadata": meta}
    # Created by someone else, without field-level security: invisible to describe.
    sf.api.call(
        "seed", lambda s: s.toolingexecute("sobjects/CustomField", method="POST", data=body)
    )
    result = sf.provision("Account", spec)
    assert result.created == [] and result.unchanged == ["Value_Score__c"]
    assert sf.describe("Account").get("Value_Score__c") is not None


def test_field_of_the_wrong_type_is_an_error_that_says_so(org, connect):
    server = org(accounts=1)
    sf = connect(server)
    sf.provision("Account", [FieldSpec("Value_Score__c", "Value Score", "text")])
    with pytest.raises(ConfigError) as err:
        sf.provision("Account", [FieldSpec("Value_Score__c", "Value Score", "number"),
                                 FieldSpec("Name", "Name", "picklist", ("A",))])  # fmt: skip
    text = str(err.value)
    assert "2 problems" in text and "exists as string" in text and "writes number" in text


def test_provision_adds_labels_the_model_gained(org, connect):
    server = org(accounts=1)
    sf = connect(server)
    provision_all(sf)
    more = {**LABELS, "quadrant": [*LABELS["quadrant"], "Watch"]}
    result = provision_all(sf, more)
    assert result["accounts"].updated == ["Value_Quadrant__c"]
    assert sf.describe("Account").get("Value_Quadrant__c").picklist[-1] == "Watch"


def test_missing_permission_set_is_a_config_error(org, connect):
    sf = connect(org(), permission_set="it's' OR Name != '")
    with pytest.raises(ConfigError, match="permission set"):
        sf.provision("Account", [FieldSpec("X__c", "X", "number")])


BROKEN_MAPPING = """\
system: salesforce
objects:
  accounts:
    object: Account
    cursor: Days_Since_Last_Activity__c
    fields:
      account_id: Id
      name: Nmae
  opportunities:
    object: Opportunity
    fields: {opportunity_id: Id}
  invoices:
    object: Invoice__c
    fields: {invoice_id: Id}
outputs:
  accounts:
    object: Account
    fields:
      quadrant: Industry
      value_score: IsDeleted
      reason: Value_Reason__c
  opportunities:
    object: Opportunity
    fields: {deal_priority: Type}
"""


def test_check_reports_every_problem_at_once_with_file_key_and_line(org, connect, tmp_path: Path):
    path = tmp_path / "salesforce.yaml"
    path.write_text(BROKEN_MAPPING)
    with pytest.raises(ConfigError, match="'Industry' is a standard field of Account"):
        load_crm_mapping(path)  # the offline write guard refuses it before any CRM call
    broken = CrmMapping.model_validate(yaml.safe_load(BROKEN_MAPPING))  # the live check alone
    sf = connect(org())
    problems = sf.check_mapping(broken, path, LABELS)
    by_key = {p.key_path: p for p in problems}
    said = {k: " / ".join(p.message for p in problems if p.key_path == k) for k in by_key}
    assert set(by_key) == {
        "objects.accounts.cursor", "objects.accounts.fields.name", "objects.invoices.object",
        "outputs.accounts.fields.quadrant", "outputs.accounts.fields.value_score",
        "outputs.accounts.fields.reason", "outputs.opportunities.fields.deal_priority",
    }  # fmt: skip
    assert "formula field" in by_key["objects.accounts.cursor"].message
    assert by_key["objects.accounts.fields.name"].line == 8
    for key in ("quadrant", "value_score"):  # describe: not custom, whatever else it is
        assert said[f"outputs.accounts.fields.{key}"].count("is a standard field of Account") == 1
    assert "standard field of Opportunity" in said["outputs.opportunities.fields.deal_priority"]
    assert "fields provision` creates it" in said["outputs.accounts.fields.reason"]
    assert all(p.file == str(path) for p in problems)
    sf.mapping, sf.mapping_path = broken, path
    with pytest.raises(ConfigError, match="7 problems"):
        sf.validate(LABELS)


def test_shipped_mapping_passes_the_check_once_provisioned(org, connect):
    server = org(accounts=1)
    sf = connect(server)
    problems = sf.check_mapping(load_crm_mapping(shipped_mapping("salesforce")), None, LABELS)
    assert {p.key_path.split(".")[0] for p in problems} == {"outputs"}, (
        "reads all fine on a standard org"
    )
    provision_all(sf)
    left = [p.key_path for p in sf.check_mapping(required_labels=LABELS)]
    assert left == ["outputs.accounts.override_field"], (
        "the override field is the admin's to create"
    )


def test_hostile_values_are_escaped_and_stay_literal(org, connect, sf_env):
    """A permission-set name full of SOQL syntax is sent as one literal: no rows, no error."""
    hostile = "valuesync' OR Name != '"
    server = org()
    sf = SalesforceConnector(connection(server, permission_set=hostile), policy=FAST)
    with pytest.raises(ConfigError, match="does not exist"):
        sf.provision("Account", [FieldSpec("X__c", "X", "number")])
    plain = SalesforceConnector(connection(server, permission_set="valuesync"), policy=FAST)
    assert plain.provision("Account", [FieldSpec("X__c", "X", "number")]).created == ["X__c"]
