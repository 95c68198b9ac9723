"""Properties API through hubspot-api-client: definitions, create/patch, groups.

See docs/crm-wire.md §B10.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.deals import SimplePublicObjectInput
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate, PropertyUpdate
from hubspot.crm.properties.exceptions import ApiException, NotFoundException

B10_KEYS = {
    "name", "label", "type", "fieldType", "groupName", "description", "options", "displayOrder",
    "hidden", "formField", "calculated", "externalOptions", "hasUniqueValue", "hubspotDefined",
    "createdAt", "updatedAt", "archived", "modificationMetadata",
}  # fmt: skip


def quadrant_property(name: str = "value_quadrant", **kw: Any) -> PropertyCreate:
    options = [
        OptionInput(label="Core", value="core", display_order=0, hidden=False),
        OptionInput(label="Develop", value="develop", display_order=1, hidden=False),
    ]
    fields = {
        "name": name,
        "label": "Value quadrant",
        "type": "enumeration",
        "field_type": "select",
        "group_name": "dealinformation",
        "options": options,
        **kw,
    }
    return PropertyCreate(**fields)


def test_get_all_lists_fieldmap_properties_with_every_key(raw: Any, hs: Any) -> None:
    props = {p.name: p for p in hs.crm.properties.core_api.get_all("deals", archived=False).results}
    assert {"dealname", "dealstage", "hs_is_closed", "hs_lastmodifieddate"} <= set(props)
    assert props["dealstage"].type == "enumeration"
    assert "closedwon" in [o.value for o in props["dealstage"].options]
    assert props["hs_is_closed"].calculated is True
    body = raw("GET", "/crm/v3/properties/deals?archived=False").json()
    assert all(set(p) >= B10_KEYS for p in body["results"])


def test_get_by_name_and_404(hs: Any) -> None:
    prop = hs.crm.properties.core_api.get_by_name("invoices", "hs_due_date")
    assert prop.type == "date"
    with pytest.raises(NotFoundException):
        hs.crm.properties.core_api.get_by_name("invoices", "nope")


def test_create_enumeration_is_201_then_values_are_validated(hs: Any) -> None:
    created = hs.crm.properties.core_api.create("deals", quadrant_property())
    assert created.name == "value_quadrant" and created.hubspot_defined is False
    hs.crm.deals.basic_api.update(
        "1", SimplePublicObjectInput(properties={"value_quadrant": "core"})
    )
    with pytest.raises(DealsApiException) as exc:
        hs.crm.deals.basic_api.update(
            "1", SimplePublicObjectInput(properties={"value_quadrant": "fix"})
        )
    assert exc.value.status == 400 and "INVALID_OPTION" in exc.value.body


def test_duplicate_property_is_409(hs: Any) -> None:
    hs.crm.properties.core_api.create("deals", quadrant_property())
    with pytest.raises(ApiException) as exc:
        hs.crm.properties.core_api.create("deals", quadrant_property())
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["category"] == "OBJECT_ALREADY_EXISTS"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"type": "colour"}, id="bad-type"),
        pytest.param({"field_type": "text"}, id="fieldtype-mismatch"),
        pytest.param({"group_name": "nogroup"}, id="unknown-group"),
        pytest.param({"options": []}, id="enumeration-without-options"),
        pytest.param({"name": "Bad Name"}, id="bad-name"),
    ],
)
def test_invalid_property_create_is_400(hs: Any, changes: dict[str, Any]) -> None:
    with pytest.raises(ApiException) as exc:
        hs.crm.properties.core_api.create("deals", quadrant_property(**changes))
    assert exc.value.status == 400


def test_patch_adds_an_option(hs: Any) -> None:
    hs.crm.properties.core_api.create(
        "companies", quadrant_property(group_name="companyinformation")
    )
    options = [
        OptionInput(label=label, value=label.lower(), display_order=i, hidden=False)
        for i, label in enumerate(["Core", "Develop", "Deprioritize"])
    ]
    updated = hs.crm.properties.core_api.update(
        "companies", "value_quadrant", PropertyUpdate(options=options, label="Quadrant")
    )
    assert [o.value for o in updated.options] == ["core", "develop", "deprioritize"]
    assert updated.label == "Quadrant"


def test_groups_list_create_and_duplicate(hs: Any) -> None:
    api = hs.crm.properties.groups_api
    assert "invoiceinformation" in [g.name for g in api.get_all("invoices").results]
    made = api.create(
        "deals", PropertyGroupCreate(name="valuesync", label="valuesync", display_order=5)
    )
    assert made.name == "valuesync" and made.display_order == 5
    with pytest.raises(ApiException) as exc:
        api.create("deals", PropertyGroupCreate(name="valuesync", label="again"))
    assert exc.value.status == 409
    created = hs.crm.properties.core_api.create("deals", quadrant_property(group_name="valuesync"))
    assert created.group_name == "valuesync"
