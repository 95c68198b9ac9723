"""Tooling API CustomField and field-level security through simple-salesforce.

See docs/crm-wire.md §A10.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

VALUESYNC_PS = "0PS000000000001AAA"
PROFILE_PS = "0PS000000000002AAA"


def _picklist(name: str, values: list[str], sobject: str = "Account") -> dict[str, Any]:
    return {
        "FullName": f"{sobject}.{name}",
        "Metadata": {
            "label": name.removesuffix("__c").replace("_", " "),
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [
                        {"fullName": v, "label": v, "default": i == 0} for i, v in enumerate(values)
                    ],
                },
            },
        },
    }


def _create(sf: Any, body: dict[str, Any]) -> dict[str, Any]:
    return sf.toolingexecute("sobjects/CustomField", method="POST", data=body)


def _grant(sf: Any, field: str, parent: str = VALUESYNC_PS, edit: bool = True) -> Any:
    sobject = field.split(".")[0]
    body = {
        "ParentId": parent,
        "SobjectType": sobject,
        "Field": field,
        "PermissionsRead": True,
        "PermissionsEdit": edit,
    }
    return sf.restful("sobjects/FieldPermissions", method="POST", json=body)


def _describe_names(sf: Any, sobject: str = "Account") -> set[str]:
    return {f["name"] for f in getattr(sf, sobject).describe()["fields"]}


def test_new_field_is_invisible_until_field_permissions(sf: Any) -> None:
    created = _create(sf, _picklist("Value_Quadrant__c", ["Core", "Develop"]))
    assert created["success"] is True and created["id"].startswith("00N")
    assert created["errors"] == [] and "warnings" in created

    assert "Value_Quadrant__c" not in _describe_names(sf)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id, Value_Quadrant__c FROM Account")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"

    granted = _grant(sf, "Account.Value_Quadrant__c")
    assert granted["success"] is True and granted["id"].startswith("01k")

    field = next(f for f in sf.Account.describe()["fields"] if f["name"] == "Value_Quadrant__c")
    assert field["restrictedPicklist"] is True and field["custom"] is True
    assert [(v["value"], v["defaultValue"]) for v in field["picklistValues"]] == [
        ("Core", True),
        ("Develop", False),
    ]
    assert sf.query("SELECT Id, Value_Quadrant__c FROM Account")["totalSize"] > 0


def test_profile_owned_permission_set_also_grants(sf: Any) -> None:
    _create(sf, _picklist("Deal_Priority__c", ["High", "Low"], "Opportunity"))
    _grant(sf, "Opportunity.Deal_Priority__c", parent=PROFILE_PS)
    assert "Deal_Priority__c" in _describe_names(sf, "Opportunity")


def test_writes_to_an_invisible_field_are_invalid_field(sf: Any, live_ids: list[str]) -> None:
    _create(sf, _picklist("Hidden__c", ["A"]))
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(live_ids[0], {"Hidden__c": "A"})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_granted_picklist_is_restricted_on_write(sf: Any, live_ids: list[str]) -> None:
    _create(sf, _picklist("Tier__c", ["Gold", "Silver"]))
    _grant(sf, "Account.Tier__c")
    assert sf.Account.update(live_ids[0], {"Tier__c": "Gold"}) == 204
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(live_ids[0], {"Tier__c": "Bronze"})
    assert err.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_duplicate_field_is_duplicate_developer_name(sf: Any) -> None:
    _create(sf, _picklist("Twice__c", ["A"]))
    with pytest.raises(SalesforceMalformedRequest) as err:
        _create(sf, _picklist("Twice__c", ["A"]))
    assert err.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_standard_field_name_collision_is_duplicate(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        _create(sf, _picklist("Effort_Hours__c", ["A"], "Case"))
    assert err.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


FIELD_TYPES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "number": (
        {"type": "Number", "precision": 5, "scale": 0},
        {"type": "double", "scale": 0, "precision": 5},
    ),
    "currency": (
        {"type": "Currency", "precision": 16, "scale": 2},
        {"type": "currency", "scale": 2},
    ),
    "text": ({"type": "Text", "length": 255}, {"type": "string", "length": 255}),
    "datetime": ({"type": "DateTime"}, {"type": "datetime", "soapType": "xsd:dateTime"}),
    "checkbox": (
        {"type": "Checkbox", "defaultValue": "false"},
        {"type": "boolean", "nillable": False},
    ),
}


@pytest.mark.parametrize(("meta", "expected"), FIELD_TYPES.values(), ids=FIELD_TYPES.keys())
def test_field_types_appear_in_describe_once_granted(sf: Any, meta: dict, expected: dict) -> None:
    _create(sf, {"FullName": "Opportunity.Score__c", "Metadata": {"label": "Score", **meta}})
    _grant(sf, "Opportunity.Score__c")
    field = next(f for f in sf.Opportunity.describe()["fields"] if f["name"] == "Score__c")
    assert {k: field[k] for k in expected} == expected


@pytest.mark.parametrize(
    "body",
    [
        {"FullName": "Account.NoSuffix", "Metadata": {"label": "x", "type": "Text", "length": 10}},
        {"FullName": "Nope__c.Foo__c", "Metadata": {"label": "x", "type": "Text", "length": 10}},
        {"FullName": "Account.Foo__c", "Metadata": {"label": "x", "type": "Hologram"}},
        {"FullName": "Account.Foo__c", "Metadata": {"label": "x", "type": "Picklist"}},
        {"FullName": "Account.Foo__c", "Metadata": {"label": "x", "type": "Text", "length": 300}},
        {"FullName": "Account.Foo__c"},
    ],
    ids=[
        "no-__c",
        "unknown-object",
        "unknown-type",
        "picklist-without-values",
        "text-too-long",
        "no-metadata",
    ],
)
def test_invalid_metadata_is_refused(sf: Any, body: dict) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        _create(sf, body)


def test_read_and_patch_custom_field_adds_picklist_values(sf: Any, live_ids: list[str]) -> None:
    field_id = _create(sf, _picklist("Status__c", ["Open"]))["id"]
    _grant(sf, "Account.Status__c")
    record = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert record["FullName"] == "Account.Status__c" and record["DeveloperName"] == "Status"

    metadata = _picklist("Status__c", ["Open", "Closed"])["Metadata"]
    sf.toolingexecute(
        f"sobjects/CustomField/{field_id}", method="PATCH", data={"Metadata": metadata}
    )

    field = next(f for f in sf.Account.describe()["fields"] if f["name"] == "Status__c")
    assert [v["value"] for v in field["picklistValues"]] == ["Open", "Closed"]
    assert sf.Account.update(live_ids[0], {"Status__c": "Closed"}) == 204


def test_unknown_custom_field_id_is_not_found(sf: Any) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.toolingexecute("sobjects/CustomField/00N999999999999AAA")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"ParentId": "0PS999999999999AAA", "Field": "Account.Name"}, "FIELD_INTEGRITY_EXCEPTION"),
        (
            {"ParentId": VALUESYNC_PS, "Field": "Account.Nope__c"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            {"ParentId": VALUESYNC_PS, "Field": "Account.Website", "PermissionsEdit": True},
            "FIELD_INTEGRITY_EXCEPTION",
        ),
    ],
    ids=["unknown-permission-set", "unknown-field", "edit-without-read"],
)
def test_bad_field_permissions(sf: Any, body: dict, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful(
            "sobjects/FieldPermissions", method="POST", json={"SobjectType": "Account", **body}
        )
    assert err.value.content[0]["errorCode"] == code


def test_duplicate_field_permissions(sf: Any) -> None:
    _create(sf, _picklist("Once__c", ["A"]))
    _grant(sf, "Account.Once__c")
    with pytest.raises(SalesforceMalformedRequest) as err:
        _grant(sf, "Account.Once__c")
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
