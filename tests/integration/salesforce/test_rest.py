"""REST resources of the sandbox org through simple-salesforce: describe, records, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.sandbox.salesforce.writes import touch_system_modstamp
from connectors.sandbox.server import SandboxServer

FIELD_KEYS = {
    "name", "label", "type", "custom", "updateable", "createable", "nillable", "calculated",
    "externalId", "length", "soapType", "referenceTo", "relationshipName", "restrictedPicklist",
    "defaultValue", "picklistValues",
}  # fmt: skip
PICKLIST_KEYS = {"active", "defaultValue", "label", "validFor", "value"}
OBJECT_KEYS = {
    "name", "label", "labelPlural", "custom", "keyPrefix", "createable", "updateable",
    "deletable", "queryable", "fields", "childRelationships", "recordTypeInfos", "urls",
}  # fmt: skip
OBJECTS = ["Account", "Opportunity", "Case", "blng__Invoice__c", "User", "PermissionSet"]


def _fields(sf: Any, sobject: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}


def test_versions_list_needs_no_session(sf_server: SandboxServer) -> None:
    versions = requests.get(f"{sf_server.url}/services/data/", timeout=5).json()
    assert {"label", "url", "version"} <= set(versions[0])
    assert "59.0" in [v["version"] for v in versions]


def test_resources_of_a_version(sf: Any) -> None:
    assert sf.restful("")["sobjects"] == "/services/data/v59.0/sobjects"


def test_global_describe_lists_objects_with_key_prefixes(sf: Any) -> None:
    prefixes = {o["name"]: o["keyPrefix"] for o in sf.describe()["sobjects"]}
    assert prefixes["Account"] == "001"
    assert prefixes["Opportunity"] == "006"
    assert prefixes["Case"] == "500"


@pytest.mark.parametrize("sobject", OBJECTS)
def test_describe_shape_has_every_key_on_every_field(sf: Any, sobject: str) -> None:
    d = getattr(sf, sobject).describe()
    assert set(d) >= OBJECT_KEYS
    assert d["name"] == sobject
    for f in d["fields"]:
        assert set(f) >= FIELD_KEYS, f["name"]
        for value in f["picklistValues"]:
            assert set(value) == PICKLIST_KEYS


@pytest.mark.parametrize(
    ("sobject", "field", "expected"),
    [
        ("Account", "Id", {"type": "id", "updateable": False, "soapType": "tns:ID"}),
        ("Account", "SystemModstamp", {"type": "datetime", "updateable": False}),
        ("Account", "Website", {"type": "url", "updateable": True}),
        ("Account", "NumberOfEmployees", {"type": "int", "soapType": "xsd:int"}),
        ("Account", "AnnualRevenue", {"type": "currency", "soapType": "xsd:double"}),
        ("Account", "Days_Since_Last_Activity__c", {"calculated": True, "updateable": False}),
        ("Opportunity", "AccountId", {"referenceTo": ["Account"], "relationshipName": "Account"}),
        ("Opportunity", "StageName", {"type": "picklist", "restrictedPicklist": True}),
        ("Opportunity", "IsWon", {"type": "boolean", "updateable": False}),
        ("Opportunity", "CloseDate", {"type": "date", "soapType": "xsd:date"}),
        ("Case", "Effort_Hours__c", {"type": "double", "custom": True}),
        ("Case", "ClosedDate", {"type": "datetime"}),
        ("blng__Invoice__c", "blng__Account__c", {"referenceTo": ["Account"], "custom": True}),
        ("blng__Invoice__c", "CurrencyIsoCode", {"type": "picklist", "restrictedPicklist": True}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_describe_field_metadata(
    sf: Any, sobject: str, field: str, expected: dict[str, Any]
) -> None:
    f = _fields(sf, sobject)[field]
    assert {k: f[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("sobject", "field", "values"),
    [
        ("Account", "Industry", {"Banking", "Technology", "Food & Beverage"}),
        ("Opportunity", "StageName", {"Prospecting", "Closed Won", "Closed Lost"}),
        ("Opportunity", "Type", {"New Customer", "Existing Customer - Renewal"}),
        ("Case", "Priority", {"Low", "Medium", "High", "Urgent"}),
        ("Case", "Type", {"Problem", "Question", "Feature Request", "Special Request"}),
        ("blng__Invoice__c", "blng__InvoiceStatus__c", {"Draft", "Posted", "Paid", "Cancelled"}),
    ],
)  # fmt: skip
def test_picklist_values_match_the_fieldmap(
    sf: Any, sobject: str, field: str, values: set[str]
) -> None:
    listed = {v["value"] for v in _fields(sf, sobject)[field]["picklistValues"]}
    assert values <= listed


def test_describe_lists_child_relationships(sf: Any) -> None:
    children = {
        (c["childSObject"], c["field"]) for c in sf.Account.describe()["childRelationships"]
    }
    assert ("Opportunity", "AccountId") in children
    assert ("blng__Invoice__c", "blng__Account__c") in children


def test_unknown_object_is_not_found(sf: Any) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Nope__c.describe()
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ["sobjects/Account/describe/", "limits", "sobjects/"])
def test_paths_answer_with_and_without_trailing_slash(sf: Any, path: str) -> None:
    assert sf.restful(path)


def test_get_record_serialises_typed_values(sf: Any, live_ids: list[str]) -> None:
    rec = sf.Account.get(live_ids[3])
    assert rec["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{live_ids[3]}",
    }
    assert rec["Id"] == live_ids[3]
    assert rec["NumberOfEmployees"] == 40
    assert rec["CreatedDate"] == "2024-05-01T15:00:00.000+0000"
    assert rec["IsDeleted"] is False


def test_get_record_with_fields_param(sf: Any, live_ids: list[str]) -> None:
    rec = sf.restful(f"sobjects/Account/{live_ids[0]}", params={"fields": "Name,Industry"})
    assert set(rec) == {"attributes", "Name", "Industry"}


def test_get_deleted_record_is_entity_is_deleted(sf: Any, deleted_ids: list[str]) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.get(deleted_ids[0])
    assert err.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    ]


def test_get_unknown_record_is_not_found(sf: Any) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.get("001999999999999AAA")
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"


def test_patch_updates_and_bumps_both_stamps(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    before = sf.Account.get(live_ids[0])
    assert sf.Account.update(live_ids[0], {"Industry": "Energy", "AnnualRevenue": "1234.5"}) == 204
    after = sf.Account.get(live_ids[0])
    assert after["Industry"] == "Energy"
    assert after["AnnualRevenue"] == 1235.0  # Currency(18, 0): rounded half up, as Salesforce does
    assert after["LastModifiedDate"] > before["LastModifiedDate"]
    assert after["SystemModstamp"] == after["LastModifiedDate"]


@pytest.mark.parametrize(
    ("stage", "closed", "won"),
    [
        ("Closed Won", True, True),
        ("Closed Lost", True, False),
        ("Negotiation/Review", False, False),
    ],
)
def test_opportunity_stage_drives_is_closed_and_is_won(
    sf: Any, stage: str, closed: bool, won: bool
) -> None:
    opp_id = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    sf.Opportunity.update(opp_id, {"StageName": stage})
    rec = sf.Opportunity.get(opp_id)
    assert (rec["IsClosed"], rec["IsWon"]) == (closed, won)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"Foo__c": 1}, "INVALID_FIELD"),
        ({"IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"NumberOfEmployees": "many"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"Name": None}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "x" * 256}, "STRING_TOO_LONG"),
    ],
    ids=["unknown-field", "read-only", "bad-number", "required-null", "too-long"],
)
def test_patch_rejections_are_400_with_error_list(
    sf: Any, live_ids: list[str], data: dict, code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(live_ids[0], data)
    assert err.value.content[0]["errorCode"] == code


def test_patch_deleted_record_is_404(sf: Any, deleted_ids: list[str]) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.update(deleted_ids[0], {"Name": "x"})
    assert err.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_delete_is_soft_and_bumps_modstamp(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    assert sf.Account.delete(live_ids[1]) == 204
    rec = sf_server.sf.store.table("Account").records[live_ids[1]]
    assert rec["IsDeleted"] is True
    assert rec["SystemModstamp"] > rec["CreatedDate"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(live_ids[1])


def test_touch_system_modstamp_leaves_last_modified(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    before = sf.Account.get(live_ids[2])
    sf_server.sf.store.clock.offset = timedelta(hours=1)
    touch_system_modstamp(sf_server.sf, "Account", [live_ids[2]])
    after = sf.Account.get(live_ids[2])
    assert after["LastModifiedDate"] == before["LastModifiedDate"]
    assert after["SystemModstamp"] > before["SystemModstamp"]


def test_limits_agree_with_sforce_limit_info(sf: Any) -> None:
    sf.Account.describe()
    daily = sf.limits()["DailyApiRequests"]
    usage = sf.api_usage["api-usage"]
    assert usage.total == daily["Max"]
    assert usage.used == daily["Max"] - daily["Remaining"]
    assert usage.used == 2


def test_every_rest_response_carries_sforce_limit_info(sf: Any) -> None:
    account = sf.Account  # each attribute access builds a new SFType
    account.describe()
    first = account.api_usage["api-usage"].used
    sf.describe()
    assert sf.api_usage["api-usage"].used == first + 1
