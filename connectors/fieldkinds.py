"""Which CRM field types can feed a canonical column kind (str, float, int, bool, date,
datetime): what the console's mapping editor offers in each column's dropdown.

Salesforce describe types: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm
HubSpot property types: https://developers.hubspot.com/docs/api/crm/properties
"""

from __future__ import annotations

_TEXT_SF = frozenset(
    {
        "id",
        "string",
        "reference",
        "picklist",
        "textarea",
        "url",
        "email",
        "phone",
        "combobox",
        "multipicklist",
    }
)
_NUMBER_SF = frozenset({"double", "currency", "int", "percent", "long"})
READS: dict[str, dict[str, frozenset[str]]] = {
    "salesforce": {
        "str": _TEXT_SF,
        "float": _NUMBER_SF,
        "int": _NUMBER_SF,
        "bool": frozenset({"boolean"}),
        "date": frozenset({"date", "datetime"}),
        "datetime": frozenset({"datetime", "date"}),
        "period": frozenset({"string", "date"}),
    },
    "hubspot": {
        "str": frozenset({"string", "enumeration", "phone_number"}),
        "float": frozenset({"number"}),
        "int": frozenset({"number"}),
        "bool": frozenset({"bool", "enumeration"}),
        "date": frozenset({"date", "datetime"}),
        "datetime": frozenset({"datetime", "date"}),
        "period": frozenset({"string", "date"}),
    },
}


def can_read(system: str, kind: str, field_type: str) -> bool:
    """Whether a field of `field_type` in `system` can be read into a column of `kind`."""
    allowed = READS.get(system, {}).get(kind)
    return allowed is None or field_type in allowed
