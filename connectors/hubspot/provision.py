"""Create valuesync's output properties in HubSpot, idempotently.

A property group `valuesync` on the object, then one property per FieldSpec:
Value Quadrant and rule fields as enumeration/select holding exactly the model's
labels (option value = label, so the label is what gets written; options are added
when the model gains labels, never removed), scores and money as number, the reason
as string, scored-at as datetime. Everything is checked before anything is changed:
an existing property of the wrong type is an error naming it, its type and the type
valuesync needs. A 409 (someone created it meanwhile) counts as "exists".
(developers.hubspot.com/docs/api-reference/crm-properties-v3; docs/crm-wire.md §B10)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from hubspot.crm.properties import (
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyUpdate,
)

from connectors.base import FieldKind, FieldSpec, ProvisionResult
from connectors.hubspot.client import SYSTEM, HubSpotApi
from connectors.hubspot.schema import get_properties
from mappings.errors import FatalApiError

log = logging.getLogger(__name__)

GROUP = "valuesync"
GROUP_LABEL = "valuesync"
TYPES: dict[str, tuple[str, str]] = {
    "picklist": ("enumeration", "select"),
    "number": ("number", "number"),
    "currency": ("number", "number"),
    "text": ("string", "text"),
    "datetime": ("datetime", "date"),
    "checkbox": ("bool", "booleancheckbox"),
}
"""FieldSpec kind -> HubSpot (type, fieldType)."""


def wanted_type(kind: FieldKind) -> str:
    """The HubSpot property type a FieldSpec kind needs."""
    return TYPES[kind][0]


class Provisioner:
    """Output properties on one object type."""

    def __init__(self, api: HubSpotApi, object_type: str) -> None:
        self.api = api
        self.object_type = object_type
        self.props = api.client.crm.properties

    def provision(self, fields: Sequence[FieldSpec]) -> ProvisionResult:
        existing = {p["name"]: p for p in get_properties(self.api, self.object_type)}
        wrong = [
            f"{self.object_type}.{f.name} exists as {existing[f.name].get('type')} "
            f"({existing[f.name].get('fieldType')}), valuesync needs {wanted_type(f.kind)}"
            for f in fields
            if f.name in existing and existing[f.name].get("type") != wanted_type(f.kind)
        ]
        if wrong:
            raise FatalApiError(
                "existing properties have the wrong type: "
                + "; ".join(wrong)
                + ". Change or delete them in HubSpot, or map other property names",
                system=SYSTEM,
                operation=f"provision {self.object_type}",
                code="PROPERTY_TYPE_MISMATCH",
            )
        result = ProvisionResult()
        self._ensure_group()
        for spec in fields:
            current = existing.get(spec.name)
            if current is None:
                current = self._create(spec)
                if current is None:
                    result.created.append(spec.name)
                    continue
            if self._add_options(spec, current):
                result.updated.append(spec.name)
            else:
                result.unchanged.append(spec.name)
        return result

    def _ensure_group(self) -> None:
        groups = self.api.call(
            "properties",
            f"list property groups of {self.object_type}",
            self.props.groups_api.get_all_with_http_info,
            self.object_type,
        )
        if any(g.name == GROUP for g in groups.results or []):
            return
        try:
            self.api.call(
                "properties",
                f"create property group {GROUP} on {self.object_type}",
                self.props.groups_api.create_with_http_info,
                self.object_type,
                PropertyGroupCreate(name=GROUP, label=GROUP_LABEL, display_order=-1),
                expect=(200, 201),
            )
        except FatalApiError as exc:
            if exc.status != 409:
                raise

    def _create(self, spec: FieldSpec) -> dict[str, Any] | None:
        """Create a property; None when created, the existing one after a 409."""
        type_, field_type = TYPES[spec.kind]
        body = PropertyCreate(
            name=spec.name,
            label=spec.label,
            type=type_,
            field_type=field_type,
            group_name=GROUP,
            description=spec.description,
            options=_options(spec.options, 0) if spec.kind == "picklist" else [],
            form_field=True,
        )
        try:
            self.api.call(
                "properties",
                f"create property {self.object_type}.{spec.name}",
                self.props.core_api.create_with_http_info,
                self.object_type,
                body,
                expect=(201,),
            )
            return None
        except FatalApiError as exc:
            if exc.status != 409:
                raise
        prop = self.api.call(
            "properties",
            f"read property {self.object_type}.{spec.name}",
            self.props.core_api.get_by_name_with_http_info,
            self.object_type,
            spec.name,
        )
        found = prop.to_dict(serialize=True)
        if found.get("type") != type_:
            raise FatalApiError(
                f"{self.object_type}.{spec.name} was created meanwhile as {found.get('type')}, "
                f"valuesync needs {type_}",
                system=SYSTEM,
                operation=f"provision {self.object_type}",
                code="PROPERTY_TYPE_MISMATCH",
            )
        return cast(dict[str, Any] | None, found)

    def _add_options(self, spec: FieldSpec, current: dict[str, Any]) -> bool:
        if spec.kind != "picklist":
            return False
        have = [o for o in current.get("options") or []]
        values = {str(o.get("value")) for o in have}
        missing = [label for label in spec.options if label not in values]
        if not missing:
            return False
        options = [
            OptionInput(
                label=str(o.get("label")),
                value=str(o.get("value")),
                hidden=bool(o.get("hidden", False)),
                display_order=int(o.get("displayOrder") or i),
                description=str(o.get("description") or ""),
            )
            for i, o in enumerate(have)
        ] + _options(missing, len(have))
        self.api.call(
            "properties",
            f"add options to {self.object_type}.{spec.name}",
            self.props.core_api.update_with_http_info,
            self.object_type,
            spec.name,
            PropertyUpdate(options=options),
        )
        log.info("%s.%s: added %d options", self.object_type, spec.name, len(missing))
        return True


def _options(labels: Sequence[str], start: int) -> list[OptionInput]:
    return [
        OptionInput(label=label, value=label, hidden=False, display_order=start + i, description="")
        for i, label in enumerate(labels)
    ]
