"""Write guards of a CRM mapping that need no CRM call: what an output may never target.

valuesync writes only fields that exist for its outputs. Before anything is read from the
CRM, a mapping is refused when an output field

- is also mapped as an input on the same object (the run would read back what it wrote,
  and overwrite data people enter there),
- is the target of a second output, or is the manual-override field (two writers on one
  field: the last one silently wins), or
- is, on Salesforce, a standard field (custom field names end in `__c`; a standard field
  such as Account `Name` holds the customer's data).

The live check (`connectors/*/schema.py`) adds what only describe knows: the field is
custom (Salesforce `custom`, HubSpot not `hubspotDefined`) and updateable.
"""

from __future__ import annotations

from collections.abc import Callable

from mappings.errors import ConfigProblem

Line = Callable[[tuple[str, ...]], int | None]


def write_guard_problems(mapping: object, source: str, line: Line) -> list[ConfigProblem]:
    """Every output of `mapping` (a CrmMapping) that breaks a write guard, with its line."""
    problems: list[ConfigProblem] = []

    def add(key: tuple[str, ...], message: str) -> None:
        problems.append(ConfigProblem(source, ".".join(key), message, line(key)))

    objects = getattr(mapping, "objects", {})
    system = getattr(mapping, "system", "")
    for table, out in getattr(mapping, "outputs", {}).items():
        inputs: dict[str, str] = {}
        for in_table, om in objects.items():
            if om is not None and om.object.lower() == out.object.lower():
                for column, name in om.fields.items():
                    inputs.setdefault(name.lower(), f"objects.{in_table}.fields.{column}")
                if om.cursor:
                    inputs.setdefault(om.cursor.lower(), f"objects.{in_table}.cursor")
        seen: dict[str, str] = {}
        if out.override_field:
            seen[out.override_field.lower()] = f"outputs.{table}.override_field"
        for column, name in out.fields.items():
            key = ("outputs", table, "fields", column)
            lowered = name.lower()
            if lowered in inputs:
                add(
                    key,
                    f"'{name}' is also read as an input ({inputs[lowered]}); valuesync would "
                    "overwrite the data it reads: map the output to its own custom field",
                )
            elif lowered in seen:
                add(
                    key,
                    f"'{name}' is already written by {seen[lowered]}; two values on one field "
                    "overwrite each other: give each output its own field",
                )
            elif system == "salesforce" and not lowered.endswith("__c"):
                add(
                    key,
                    f"'{name}' is a standard field of {out.object} (custom field names end in "
                    "__c) and holds your data; valuesync writes only custom fields: map the "
                    "output to a custom field (the shipped mapping's, e.g. Value_Reason__c) "
                    "and run `valuesync fields provision`",
                )
            seen.setdefault(lowered, ".".join(key))
    return problems
