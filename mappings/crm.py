"""The field mapping of one CRM (`mappings/salesforce.yaml`, `mappings/hubspot.yaml`).

For each canonical table: the CRM object and the field for each canonical column, plus
value maps from CRM picklist values to canonical codes. For accounts and opportunities:
the output fields valuesync writes (engine output column -> CRM field) and an optional
manual-override field. Both CRMs use the same shape; only the names differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.canonical import TABLES
from mappings.errors import ConfigError
from mappings.guards import write_guard_problems
from mappings.yamlfile import load_model, read_yaml

SHIPPED_DIR = Path(__file__).parent

OUTPUT_COLUMNS = {
    "quadrant": "picklist",
    "value_score": "number",
    "fit_score": "number",
    "clv": "currency",
    "max_acquisition_cost": "currency",
    "ltv": "currency",
    "ltv_to_cac": "number",
    "cac_payback_months": "number",
    "active_probability": "number",
    "lifecycle": "picklist",
    "reason": "text",
    "scored_at": "datetime",
    "predicted": "checkbox",
}
"""Engine output columns every model produces, and the field kind each needs.
Rule outputs named in the value model (account_action, deal_priority, ...) are picklists;
lifecycle is a picklist of the engine's fixed labels (value_engine.output_labels)."""

OUTPUT_LABELS = {
    "quadrant": "Value Quadrant",
    "value_score": "Value Score",
    "fit_score": "Fit Score",
    "clv": "Lifetime Value",
    "max_acquisition_cost": "Max Acquisition Cost",
    "ltv": "LTV",
    "ltv_to_cac": "LTV:CAC",
    "cac_payback_months": "CAC Payback Months",
    "active_probability": "Active Probability",
    "lifecycle": "Value Lifecycle",
    "reason": "Value Reason",
    "scored_at": "Value Scored At",
    "predicted": "Value Predicted",
}
"""The label a provisioned field gets per engine output (rule fields: their name in title case)."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectMapping(_Strict):
    """Where one canonical table lives in the CRM, and how its columns are named there."""

    object: str
    fields: dict[str, str]
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """canonical column -> {CRM value: canonical value}."""
    cursor: str | None = None
    """The modified-stamp field used as the incremental cursor (never a formula field)."""


class OutputMapping(_Strict):
    """The fields valuesync writes onto one object."""

    object: str
    fields: dict[str, str]
    """engine output column -> CRM field."""
    override_field: str | None = None
    """A CRM field a person may fill to force the quadrant; read, never written."""


class Quarantine(_Strict):
    """What happens to CRM records with a value valuesync cannot read or map."""

    max_share: float = Field(default=0.01, ge=0, le=1)
    """Such records are set aside and the run goes on, unless more than this share of an
    object's records are bad: then the run stops before any write (0.01 = 1 %)."""


class CrmMapping(_Strict):
    """A whole mapping file."""

    system: Literal["salesforce", "hubspot"]
    objects: dict[str, ObjectMapping | None]
    outputs: dict[Literal["accounts", "opportunities"], OutputMapping]
    quarantine: Quarantine = Field(default_factory=lambda: Quarantine())

    @field_validator("objects")
    @classmethod
    def _known_tables(
        cls, objects: dict[str, ObjectMapping | None]
    ) -> dict[str, ObjectMapping | None]:
        problems = []
        for table, mapping in objects.items():
            if table not in TABLES or table == "finance":
                allowed = ", ".join(t for t in TABLES if t != "finance")
                problems.append(f"'{table}' is not a CRM table; allowed: {allowed}")
                continue
            if mapping is None:
                continue
            known = set(TABLES[table].column_names)
            unknown = sorted(set(mapping.fields) - known)
            if unknown:
                problems.append(
                    f"{table}: unknown canonical column(s) {', '.join(unknown)}; "
                    f"allowed: {', '.join(sorted(known))}"
                )
            key = TABLES[table].key
            if key not in mapping.fields:
                problems.append(f"{table}: the key column '{key}' must be mapped")
        if problems:
            raise ValueError("; ".join(problems))
        return objects

    @model_validator(mode="after")
    def _accounts_required(self) -> CrmMapping:
        if self.objects.get("accounts") is None:
            raise ValueError("objects.accounts must be mapped: every value is computed per account")
        return self

    def table(self, name: str) -> ObjectMapping | None:
        return self.objects.get(name)


def load_crm_mapping(path: Path) -> CrmMapping:
    """Load and validate a mapping file; every problem at once in one ConfigError.

    The write guards (`mappings/guards.py`) are part of loading: a mapping whose outputs
    could overwrite inputs, each other or standard fields never reaches the CRM.
    """
    mapping = load_model(path, CrmMapping)
    problems = write_guard_problems(mapping, str(path), read_yaml(path).line)
    if problems:
        raise ConfigError(problems)
    return mapping


def shipped_mapping(system: str) -> Path:
    """The default mapping file shipped for `system`."""
    return SHIPPED_DIR / f"{system}.yaml"
