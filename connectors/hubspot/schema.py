"""HubSpot's properties API as describe, and the describe check of a mapping file.

`check_mapping` reads each mapped object's properties once and reports every problem at
once, each naming the mapping file, the key path and line, and what to do: a mapped
property that does not exist, a cursor that is not a datetime, a value-map key that is
not an option, an output property that is missing, HubSpot-defined, read-only, of an
incompatible type, or an enumeration lacking labels the value model can produce.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors import quarantine as q
from connectors.base import FieldInfo, ObjectSchema
from connectors.hubspot.client import HubSpotApi
from mappings.crm import OUTPUT_COLUMNS, CrmMapping
from mappings.errors import ConfigError, ConfigProblem, FatalApiError
from mappings.yamlfile import YamlDoc, read_yaml

COMPATIBLE: dict[str, set[str]] = {
    "picklist": {"enumeration"},
    "number": {"number"},
    "currency": {"number"},
    "text": {"string"},
    "datetime": {"datetime"},
    "checkbox": {"bool", "enumeration"},
}
"""Output field kind -> HubSpot property types that can hold it."""


def get_properties(api: HubSpotApi, object_type: str) -> list[dict[str, Any]]:
    """Every property of `object_type`, as wire-shaped dicts (one call, no paging)."""
    operation = f"list properties of {object_type}"
    # No `archived`: false is the default, and the client would send Python's `False`,
    # which HubSpot's published spec does not accept as a boolean.
    page = api.call_json(
        "properties", operation, api.client.crm.properties.core_api.get_all_with_http_info,
        object_type,
    )  # fmt: skip
    results = page.get("results")
    if not isinstance(results, list) or not all(isinstance(p, dict) for p in results):
        raise FatalApiError(
            "the answer has no list of properties; treat the response as lost",
            system="hubspot", operation=operation, status=200, code="BAD_RESPONSE_BODY",
        )  # fmt: skip
    return results


def _read_only(prop: Mapping[str, Any]) -> bool:
    meta = prop.get("modificationMetadata") or {}
    return bool(meta.get("readOnlyValue") or prop.get("calculated"))


def to_schema(object_type: str, props: Sequence[Mapping[str, Any]]) -> ObjectSchema:
    """Properties in vendor-neutral terms."""
    return ObjectSchema(
        object_type,
        {
            p["name"]: FieldInfo(
                name=p["name"],
                type=str(p.get("type", "")),
                label=str(p.get("label") or ""),
                updateable=not _read_only(p),
                calculated=bool(p.get("calculated")),
                custom=not p.get("hubspotDefined", False),
                picklist=tuple(str(o.get("value")) for o in p.get("options") or []),
            )
            for p in props
        },
    )


class _Checker:
    def __init__(self, api: HubSpotApi, path: Path) -> None:
        self.api = api
        self.path = path
        self.cache: dict[str, dict[str, dict[str, Any]]] = {}
        self.problems: list[ConfigProblem] = []
        self.doc: YamlDoc | None
        try:
            self.doc = read_yaml(path)
        except ConfigError:
            self.doc = None

    def props(self, object_type: str, key: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
        if object_type not in self.cache:
            try:
                self.cache[object_type] = {
                    p["name"]: p for p in get_properties(self.api, object_type)
                }
            except Exception as exc:  # an unknown object type answers 400/404
                if getattr(exc, "status", None) not in (400, 403, 404):
                    raise
                self.add(key, f"object '{object_type}' is not readable in this portal ({exc})")
                self.cache[object_type] = {}
                return None
        return self.cache[object_type]

    def add(self, key: tuple[str, ...], message: str) -> None:
        line = self.doc.line(key) if self.doc else None
        self.problems.append(ConfigProblem(str(self.path), ".".join(key), message, line))

    def exists(
        self, props: dict[str, dict[str, Any]], object_type: str, name: str, key: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if name in props:
            return props[name]
        same = [p for p in props if p.lower() == name.lower()]
        close = same or difflib.get_close_matches(name, list(props), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        if same:  # HubSpot's API matches internal names exactly, unlike Salesforce's
            hint = f"; HubSpot property names are case-sensitive: write '{same[0]}'"
        self.add(key, f"property '{name}' does not exist on {object_type}{hint}")
        return None


def check_mapping(
    api: HubSpotApi,
    mapping: CrmMapping,
    mapping_path: Path | str,
    required_labels: Mapping[str, Sequence[str]],
) -> list[ConfigProblem]:
    """Every problem of `mapping` against the portal's properties, at once."""
    check = _Checker(api, Path(mapping_path))
    for table, om in mapping.objects.items():
        if om is None:
            continue
        base = ("objects", table)
        props = check.props(om.object, (*base, "object"))
        if props is None:
            continue
        for column, name in om.fields.items():
            check.exists(props, om.object, name, (*base, "fields", column))
        if om.cursor:
            prop = check.exists(props, om.object, om.cursor, (*base, "cursor"))
            if prop and prop.get("type") != "datetime":
                check.add(
                    (*base, "cursor"),
                    f"'{om.cursor}' is {prop.get('type')}, a cursor must be a datetime",
                )
        for column, value_map in om.values.items():
            prop = props.get(om.fields.get(column, ""))
            options = {str(o.get("value")) for o in (prop or {}).get("options") or []}
            if prop and prop.get("type") == "enumeration" and not prop.get("externalOptions"):
                for value in value_map:
                    if value not in options:
                        check.add(
                            (*base, "values", column, value),
                            f"'{value}' is not an option of {om.object}.{prop['name']}; "
                            f"options: {', '.join(sorted(options))}",
                        )
    for table, out in mapping.outputs.items():
        base = ("outputs", table)
        props = check.props(out.object, (*base, "object"))
        if props is None:
            continue
        for column, name in out.fields.items():
            _check_output(
                check, props, out.object, column, name, required_labels, (*base, "fields", column)
            )
        if out.override_field:
            check.exists(props, out.object, out.override_field, (*base, "override_field"))
    return check.problems


def unmapped_values(
    api: HubSpotApi, mapping: CrmMapping, mapping_path: Path | str
) -> list[ConfigProblem]:
    """Enumeration options the value maps do not translate into a canonical choice, one
    problem per column, naming the key to add them under."""
    check = _Checker(api, Path(mapping_path))
    for table, om in mapping.objects.items():
        if om is None:
            continue
        props = check.props(om.object, ("objects", table, "object"))
        for column, name in om.fields.items():
            prop = (props or {}).get(name)
            if prop is None or prop.get("type") != "enumeration":
                continue
            options = [str(o.get("value")) for o in prop.get("options") or []]
            gaps = q.uncovered(table, column, options, om.values.get(column))
            if gaps:
                message = q.uncovered_message(om.object, name, table, column, gaps)
                check.add(("objects", table, "values", column), message)
    return check.problems


def _check_output(
    check: _Checker,
    props: dict[str, dict[str, Any]],
    object_type: str,
    column: str,
    name: str,
    required_labels: Mapping[str, Sequence[str]],
    key: tuple[str, ...],
) -> None:
    prop = props.get(name)
    if prop is None:
        check.add(
            key,
            f"output property '{name}' does not exist on {object_type}; "
            "create it with `valuesync fields provision`",
        )
        return
    kind = OUTPUT_COLUMNS.get(column, "picklist")
    if prop.get("hubspotDefined"):
        check.add(
            key,
            f"'{name}' is a HubSpot-defined property of {object_type} and holds your data; "
            "valuesync writes only custom properties: map the output to one and run "
            "`valuesync fields provision`",
        )
        return
    if _read_only(prop):
        check.add(key, f"'{name}' on {object_type} is read-only; map a writable property")
    if prop.get("type") not in COMPATIBLE[kind]:
        allowed = " or ".join(sorted(COMPATIBLE[kind]))
        check.add(
            key, f"'{name}' on {object_type} is {prop.get('type')}; '{column}' needs {allowed}"
        )
        return
    labels = required_labels.get(column) or ()
    if prop.get("type") == "enumeration" and labels:
        options = {str(o.get("value")) for o in prop.get("options") or []}
        missing = [label for label in labels if label not in options]
        if missing:
            check.add(
                key,
                f"'{name}' on {object_type} lacks option(s) {', '.join(missing)} that the value "
                "model can produce; run `valuesync fields provision` to add them",
            )
