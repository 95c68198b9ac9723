"""The value model: what the engine computes, as frozen pydantic models.

`mappings/value_model.yaml` is the ops admin's copy; `value_engine.parse.parse_value_model`
validates such a mapping and raises one ConfigError listing every problem. Reading the
file is the caller's job: this package does no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    ValidationInfo,
    model_validator,
)

from value_engine import defaults
from value_engine.checks import semantic_problems

Priority = Literal["low", "medium", "high", "urgent"]
Signal = Literal["reference_customer", "referrals", "case_study", "product_feedback"]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null"]
QUADRANT_KEYS = ("high_value_high_fit", "high_value_low_fit", "low_value_high_fit",
                 "low_value_low_fit")  # fmt: skip
PRESETS: dict[str, tuple[str, str, str, str]] = {
    "value_matrix": ("Core", "Fix or Reprice", "Develop", "Deprioritize"),
    "persona_value": (
        "High-Value Loyalists",
        "High-Value Potentials",
        "Low-Value Loyalists",
        "Low-Value Potentials",
    ),
    "value_chain": (
        "High Value–High Alignment",
        "High Value–Low Alignment",
        "Low Value–High Alignment",
        "Low Value–Low Alignment",
    ),
}
"""Quadrant labels per preset, in the order of QUADRANT_KEYS."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Criterion(_Frozen):
    """One input to a score: a feature, its weight, how it turns into 0-100 points."""

    feature: str
    weight: NonNegativeFloat
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    transform: Literal["percentile", "linear", "category"] = "percentile"
    bounds: tuple[float, float] | None = None
    points: dict[str, float] = Field(default_factory=dict)
    other_points: float = Field(default=0.0, ge=0, le=100)
    missing: Literal["neutral", "worst", "exclude"] = "neutral"
    label: str | None = Field(default=None, max_length=40)
    good_text: str | None = Field(default=None, max_length=80)
    bad_text: str | None = Field(default=None, max_length=80)

    @model_validator(mode="after")
    def _transform_needs(self) -> Criterion:
        linear_ok = self.bounds is not None and self.bounds[0] < self.bounds[1]
        if self.transform == "linear" and not linear_ok:
            raise ValueError("a linear transform needs bounds [low, high] with low < high")
        if self.transform == "category" and not self.points:
            raise ValueError("a category transform needs points: {category: 0-100}")
        bad = sorted(k for k, v in self.points.items() if not 0 <= v <= 100)
        if bad:
            raise ValueError(f"points must be within 0-100; check {', '.join(bad)}")
        return self


class Axis(_Frozen):
    """The criteria of one score; weights are normalised to sum to one."""

    criteria: tuple[Criterion, ...]

    @model_validator(mode="after")
    def _some_weight(self) -> Axis:
        if not any(c.weight > 0 for c in self.criteria):
            raise ValueError("at least one criterion needs a weight above 0")
        return self


_TICKET_COSTS: dict[Priority, float] = {"low": 25.0, "medium": 50.0, "high": 100.0, "urgent": 200.0}


class CostToServe(_Frozen):
    """Unit costs that turn tickets into money."""

    ticket_cost: dict[Priority, NonNegativeFloat] = Field(
        default_factory=lambda: dict(_TICKET_COSTS)
    )
    escalation_cost: NonNegativeFloat = 400.0
    effort_hour_cost: NonNegativeFloat = 60.0


class Clv(_Frozen):
    """Lifetime value settings (docs/value-model.md and value_engine.clv give the formulas)."""

    method: Literal["margin", "bgnbd", "sbg"] = "margin"
    horizon_months: int = Field(default=36, ge=1, le=240)
    discount_rate: float = Field(default=0.10, ge=0, le=1)
    target_ltv_to_cac: PositiveFloat = 3.0
    prior_monthly_retention: float = Field(default=0.95, gt=0, lt=1)
    prior_strength_months: PositiveFloat = 12.0
    recency_half_life_cycles: PositiveFloat = 1.0
    renewal_period_months: int = Field(default=12, ge=1, le=60)
    min_fit_customers: int = Field(default=20, ge=5)
    default_cac: NonNegativeFloat = 5000.0
    segment_cac: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    account_management_cost_per_year: NonNegativeFloat = 0.0
    referrals_save_cac: bool = True
    reference_value_per_year: NonNegativeFloat = 2000.0
    case_study_value_per_year: NonNegativeFloat = 1000.0


class Floors(_Frozen):
    """Absolute conditions of the high-value side, next to the score threshold (None: off)."""

    min_clv: float | None = 0.0
    min_margin: float | None = 0.0
    min_active_probability: float | None = Field(default=0.5, ge=0, le=1)


class QuadrantLabels(_Frozen):
    """Custom quadrant labels."""

    high_value_high_fit: str = Field(min_length=1, max_length=40)
    high_value_low_fit: str = Field(min_length=1, max_length=40)
    low_value_high_fit: str = Field(min_length=1, max_length=40)
    low_value_low_fit: str = Field(min_length=1, max_length=40)


class Quadrants(_Frozen):
    """How scores become quadrants: thresholds, hysteresis, labels."""

    preset: Literal["value_matrix", "persona_value", "value_chain", "custom"] = "value_matrix"
    labels: QuadrantLabels | None = None
    method: Literal["percentile", "absolute"] = "percentile"
    value_threshold: float = Field(default=50.0, ge=0, le=100)
    fit_threshold: float = Field(default=50.0, ge=0, le=100)
    hysteresis: float = Field(default=5.0, ge=0, le=50)
    min_population: int = Field(default=10, ge=1)
    floors: Floors = Floors()

    @model_validator(mode="after")
    def _labels(self) -> Quadrants:
        if self.preset == "custom" and self.labels is None:
            raise ValueError("preset 'custom' needs labels: {high_value_high_fit: ..., ...}")
        if len(set(self.label_tuple())) != 4:
            raise ValueError("the four quadrant labels must differ")
        return self

    def label_tuple(self) -> tuple[str, str, str, str]:
        """The labels in the order of QUADRANT_KEYS."""
        if self.labels is not None:
            return tuple(getattr(self.labels, k) for k in QUADRANT_KEYS)
        return PRESETS[self.preset]


class Condition(_Frozen):
    """A test on one field, or `all` / `any` of nested conditions; data, never code."""

    field: str | None = None
    op: Operator | None = None
    value: Any = None
    all_: tuple[Condition, ...] | None = Field(default=None, alias="all")
    any_: tuple[Condition, ...] | None = Field(default=None, alias="any")

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [self.field is not None, self.all_ is not None, self.any_ is not None]
        if sum(forms) != 1:
            raise ValueError(
                "a condition is either {field, op, value}, or all: [...], or any: [...]"
            )
        if self.field is not None:
            _check_operand(self.op, self.value)
        return self


def _check_operand(op: str | None, value: Any) -> None:
    if op is None:
        raise ValueError(
            "op is missing; allowed: ==, !=, <, <=, >, >=, in, not_in, between, is_null"
        )
    if op == "between":
        ok = isinstance(value, list | tuple) and len(value) == 2
        if not ok or not all(isinstance(v, int | float) for v in value) or value[0] > value[1]:
            raise ValueError("'between' needs value: [low, high], two numbers with low <= high")
    elif op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"'{op}' needs value: a non-empty list")
    elif op == "is_null":
        if value is not None and not isinstance(value, bool):
            raise ValueError("'is_null' takes value: true or false (or none)")
    elif not isinstance(value, str | int | float | bool):
        raise ValueError(f"'{op}' needs one value: a number, a text or true/false")


class Rule(_Frozen):
    """When the condition holds, the output is `then` (a label) or `then_column` (a column)."""

    when: Condition
    then: str | None = None
    then_column: str | None = None

    @model_validator(mode="after")
    def _one_output(self) -> Rule:
        if (self.then is None) == (self.then_column is None):
            raise ValueError("give exactly one of then (a label) or then_column (a column name)")
        return self


class RuleSet(_Frozen):
    """An ordered list of rules for one output field; the first match wins."""

    field: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    target: Literal["accounts", "opportunities"]
    labels: tuple[str, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()
    default: str | None = None
    default_column: str | None = None

    @model_validator(mode="after")
    def _one_default(self) -> RuleSet:
        # Whether outputs are labels is checked with the whole model (value_engine.checks),
        # so that it is reported together with every other problem.
        if (self.default is None) == (self.default_column is None):
            raise ValueError("give exactly one of default (a label) or default_column")
        return self


class Lookalike(_Frozen):
    """How new logos borrow value from similar customers."""

    min_group_size: int = Field(default=20, ge=1)


_ADVOCACY: dict[Signal, float] = {
    "reference_customer": 40.0,
    "referrals": 15.0,
    "case_study": 30.0,
    "product_feedback": 10.0,
}


class PersonaValue(_Frozen):
    """The Persona-Value Matrix's two axes: customer value x persona alignment."""

    value: Axis = Axis.model_validate({"criteria": defaults.CUSTOMER_VALUE_CRITERIA})
    alignment: Axis = Axis.model_validate({"criteria": defaults.PERSONA_CRITERIA})


class ValueChain(_Frozen):
    """Segments x value-chain activities: how the cost of each activity fits the margin."""

    segment_by: tuple[str, ...] = Field(default=("industry", "size_band"), min_length=1)
    acquisition_years: PositiveFloat = 3.0
    alignment: Axis = Axis.model_validate({"criteria": defaults.ALIGNMENT_CRITERIA})


class ValueModel(_Frozen):
    """A whole value model (mappings/value_model.yaml).

    Left out, `rules` are the defaults of the quadrant preset (value_engine.defaults).
    """

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    rates: dict[str, PositiveFloat] = Field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    size_bands: tuple[int, ...] = (50, 250, 1000, 5000)
    cost_to_serve: CostToServe = CostToServe()
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    advocacy_points: dict[Signal, NonNegativeFloat] = Field(default_factory=lambda: dict(_ADVOCACY))
    clv: Clv = Clv()
    value: Axis = Axis.model_validate({"criteria": defaults.VALUE_CRITERIA})
    fit: Axis = Axis.model_validate({"criteria": defaults.FIT_CRITERIA})
    quadrants: Quadrants = Quadrants()
    lookalike: Lookalike = Lookalike()
    persona_value: PersonaValue = PersonaValue()
    value_chain: ValueChain = ValueChain()
    rules: tuple[RuleSet, ...] = Field(
        default_factory=lambda: tuple(RuleSet.model_validate(r) for r in defaults.RULES)
    )

    @model_validator(mode="before")
    @classmethod
    def _preset_rules(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rules" not in data:
            quadrants = data.get("quadrants")
            preset = quadrants.get("preset") if isinstance(quadrants, dict) else None
            if isinstance(preset, str) and preset in ("persona_value", "value_chain"):
                return {**data, "rules": defaults.rules_for(preset)}
        return data

    def axes(self) -> tuple[Axis, Axis]:
        """The two axes of the quadrant preset: (value, fit or alignment)."""
        if self.quadrants.preset == "persona_value":
            return self.persona_value.value, self.persona_value.alignment
        if self.quadrants.preset == "value_chain":
            return self.value, self.value_chain.alignment
        return self.value, self.fit

    def axis_names(self) -> tuple[str, str]:
        """What the two scores mean under the preset, for reports and CRM field help."""
        return {
            "persona_value": ("customer value", "persona alignment"),
            "value_chain": ("value", "value-chain alignment"),
        }.get(self.quadrants.preset, ("value", "fit"))

    @model_validator(mode="after")
    def _semantics(self, info: ValidationInfo) -> ValueModel:
        if info.context and info.context.get("checked"):
            return self
        problems = semantic_problems(self.model_dump(by_alias=True))
        if problems:
            raise ValueError("; ".join(f"{path}: {msg}" for path, msg in problems))
        if list(self.size_bands) != sorted(set(self.size_bands)):
            raise ValueError("size_bands must be increasing employee counts")
        return self
