"""Create the output fields valuesync writes, through the Tooling API (docs/crm-wire.md §A10).

Idempotent: a field that exists with the right type is left alone, except that a
picklist gains the labels the value model added (PATCH of the CustomField metadata);
a field of the wrong type is a ConfigError that says which and what is needed. A
created field is invisible until field-level security exists, so read/edit is granted
to the configured permission set (`POST sobjects/FieldPermissions`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote as urlquote

from connectors.base import FieldSpec, ObjectSchema, ProvisionResult
from connectors.salesforce import soql
from connectors.salesforce.client import SalesforceApi
from connectors.salesforce.schema import schema_from_describe
from mappings.crm import OUTPUT_COLUMNS, OUTPUT_LABELS, CrmMapping
from mappings.errors import ConfigError, ConfigProblem, FatalApiError

log = logging.getLogger(__name__)

DESCRIBE_TYPE = {
    "picklist": "picklist", "number": "double", "currency": "currency", "text": "string",
    "datetime": "datetime", "checkbox": "boolean",
}  # fmt: skip
"""FieldSpec kind -> the describe type a provisioned field has."""

DEFAULT_LABELS = OUTPUT_LABELS


def output_field_specs(
    mapping: CrmMapping, table: str, required_labels: Mapping[str, Sequence[str]]
) -> list[FieldSpec]:
    """FieldSpecs of one output table: kinds from OUTPUT_COLUMNS, picklists with labels."""
    out = mapping.outputs[table]  # type: ignore[index]
    specs = []
    for column, name in out.fields.items():
        kind = OUTPUT_COLUMNS.get(column, "picklist")
        label = DEFAULT_LABELS.get(column, column.replace("_", " ").title())
        options = tuple(required_labels.get(column, ())) if kind == "picklist" else ()
        specs.append(FieldSpec(name, label, kind, options, f"Written by valuesync ({column})"))  # type: ignore[arg-type]
    return specs


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """Metadata API CustomField body for one spec."""
    meta: dict[str, Any] = {"label": spec.label, "description": spec.description}
    if spec.kind == "picklist":
        meta["type"] = "Picklist"
        meta["valueSet"] = _value_set(spec.options)
    elif spec.kind in ("number", "currency"):
        meta |= {"type": "Number" if spec.kind == "number" else "Currency"}
        meta |= {"precision": 18, "scale": 2}
    elif spec.kind == "text":
        meta |= {"type": "Text", "length": 255}
    elif spec.kind == "datetime":
        meta["type"] = "DateTime"
    else:
        meta |= {"type": "Checkbox", "defaultValue": "false"}
    return meta


def _value_set(labels: Sequence[str]) -> dict[str, Any]:
    values = [{"fullName": v, "label": v, "default": False} for v in labels]
    return {"restricted": True, "valueSetDefinition": {"sorted": False, "value": values}}


class Provisioner:
    """Provision specs on one object; every wrong-type field reported at once."""

    def __init__(self, api: SalesforceApi, obj: str) -> None:
        self.api, self.obj = api, obj
        self.result = ProvisionResult()
        self.problems: list[ConfigProblem] = []

    def describe(self) -> ObjectSchema:
        desc = self.api.call(f"describe {self.obj}", lambda sf: getattr(sf, self.obj).describe())
        return schema_from_describe(desc)

    def run(self, specs: Sequence[FieldSpec]) -> ProvisionResult:
        schema = self.describe()
        hidden: list[FieldSpec] = []
        for spec in specs:
            if schema.get(spec.name) is None:
                hidden.append(spec)
            else:
                self._existing(schema, spec)
        if hidden:
            parent = self._permission_set_id()
            for spec in hidden:
                self._create(spec)
                self._grant(parent, spec)
            schema = self.describe()
            for spec in hidden:
                if spec.name in self.result.created:
                    if schema.get(spec.name) is None:
                        raise FatalApiError(
                            f"{self.obj}.{spec.name} was created and granted but is still not "
                            "visible; check the permission set is assigned to the integration user",
                            system="salesforce", operation="provision",
                        )  # fmt: skip
                else:  # it already existed, hidden by field-level security
                    self._existing(schema, spec)
        if self.problems:
            raise ConfigError(self.problems)
        return self.result

    def _existing(self, schema: ObjectSchema, spec: FieldSpec) -> None:
        info = schema.get(spec.name)
        want = DESCRIBE_TYPE[spec.kind]
        if info is None or info.type != want:
            have = info.type if info else "invisible"
            self.problems.append(ConfigProblem(
                f"{self.obj}.{spec.name}", "",
                f"the field exists as {have}, but valuesync writes {spec.kind} ({want}) there; "
                "delete or rename the field in Setup, or map the output to another field",
            ))  # fmt: skip
            return
        missing = [o for o in spec.options if o not in info.picklist]
        if spec.kind == "picklist" and missing:
            self._add_values(spec, missing)
            self.result.updated.append(spec.name)
        else:
            self.result.unchanged.append(spec.name)

    def _create(self, spec: FieldSpec) -> None:
        body = {"FullName": f"{self.obj}.{spec.name}", "Metadata": field_metadata(spec)}
        try:
            self.api.call(
                f"create field {self.obj}.{spec.name}",
                lambda sf: sf.toolingexecute("sobjects/CustomField", method="POST", data=body),
            )
        except FatalApiError as exc:
            if exc.code != "DUPLICATE_DEVELOPER_NAME":
                raise
            log.info("%s.%s exists but is not visible; granting access", self.obj, spec.name)
            return
        log.info("created %s.%s (%s)", self.obj, spec.name, spec.kind)
        self.result.created.append(spec.name)

    def _grant(self, parent: str, spec: FieldSpec) -> None:
        body = {
            "ParentId": parent, "SobjectType": self.obj, "Field": f"{self.obj}.{spec.name}",
            "PermissionsRead": True, "PermissionsEdit": True,
        }  # fmt: skip
        try:
            self.api.call(
                f"grant {self.obj}.{spec.name}",
                lambda sf: sf.restful("sobjects/FieldPermissions", method="POST", json=body),
            )
        except FatalApiError as exc:
            if exc.code != "DUPLICATE_VALUE":
                raise

    def _permission_set_id(self) -> str:
        name = self.api.conn.permission_set
        text = f"SELECT Id FROM PermissionSet WHERE Name = {soql.quote(name)}"
        rows = self.api.call("find permission set", lambda sf: sf.query(text))["records"]
        if not rows:
            raise ConfigError(
                f"permission set '{name}' (connection key permission_set) does not exist; "
                "create it in Setup and assign it to the integration user"
            )
        return str(rows[0]["Id"])

    def _add_values(self, spec: FieldSpec, missing: Sequence[str]) -> None:
        """Add picklist values: read the CustomField (Tooling query), PATCH its metadata."""
        dev_name = spec.name.removesuffix("__c")
        text = (
            "SELECT Id, Metadata FROM CustomField WHERE TableEnumOrId = "
            f"{soql.quote(self.obj)} AND DeveloperName = {soql.quote(dev_name)}"
        )
        found = self.api.call(
            f"read field {self.obj}.{spec.name}",
            lambda sf: sf.toolingexecute("query/?q=" + urlquote(text, safe="")),
        )
        rows = found.get("records") if isinstance(found, dict) else None
        if not rows:
            raise FatalApiError(
                f"cannot find the CustomField {self.obj}.{spec.name} through Tooling to add "
                f"{', '.join(missing)}; add the values in Setup",
                system="salesforce", operation="provision",
            )  # fmt: skip
        meta = dict(rows[0].get("Metadata") or {})
        value_set = meta.get("valueSet") or _value_set(())
        values = list((value_set.get("valueSetDefinition") or {}).get("value") or [])
        values += [{"fullName": v, "label": v, "default": False} for v in missing]
        meta["valueSet"] = {**value_set, "valueSetDefinition": {"sorted": False, "value": values}}
        body = {"FullName": f"{self.obj}.{spec.name}", "Metadata": meta}
        field_id = rows[0]["Id"]
        self.api.call(
            f"update field {self.obj}.{spec.name}",
            lambda sf: sf.toolingexecute(
                f"sobjects/CustomField/{field_id}", method="PATCH", data=body
            ),  # noqa: E501
        )
        log.info("added %d value(s) to %s.%s", len(missing), self.obj, spec.name)
