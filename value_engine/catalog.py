"""The catalogue of everything a value model may name: features, attributes and outputs.

Each feature has a short label for reasons, a display kind (how its value is printed
in a reason) and two phrase templates: one used when the feature lifts a record's
position, one when it pulls it down. Templates may use `{value}` (the feature's value,
printed by its display kind), `{top}` (the record's share from the top, in percent),
`{bottom}` (its share from the bottom) and `{label}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Display = Literal["money", "pct", "count", "days", "ratio", "text"]


@dataclass(frozen=True)
class Feature:
    """One feature a criterion or a rule may name."""

    name: str
    label: str
    display: Display
    good: str
    bad: str
    numeric: bool = True


def _f(name: str, label: str, display: Display, good: str, bad: str) -> Feature:
    return Feature(name, label, display, good, bad, numeric=display != "text")


FEATURES: tuple[Feature, ...] = (
    _f("revenue_12m", "revenue", "money", "revenue {value} (top {top}%)", "low revenue {value}"),
    _f("revenue_prior_12m", "prior revenue", "money", "prior revenue {value}", "prior {value}"),
    _f("revenue_lifetime", "lifetime revenue", "money", "lifetime revenue {value}", "{value} ever"),
    _f("cost_of_delivery_12m", "delivery cost", "money", "delivery cost {value}", "cost {value}"),
    _f("margin_12m", "margin", "money", "margin {value} (top {top}%)", "margin only {value}"),
    _f("margin_pct", "margin", "pct", "margin {value} (top {top}%)", "{value} margin"),
    _f("margin_lifetime", "lifetime margin", "money", "lifetime margin {value}", "{value} margin"),
    _f("tickets_12m", "tickets", "count", "few tickets", "{value} tickets in 12 months"),
    _f("escalations_12m", "escalations", "count", "few escalations", "{value} escalations"),
    _f("special_requests_12m", "special requests", "count", "few special requests",
       "{value} special requests in 12 months"),
    _f("effort_hours_12m", "service hours", "count", "low service effort",
       "{value} service hours in 12 months"),
    _f("cost_to_serve_12m", "cost to serve", "money", "low cost to serve {value}",
       "cost to serve {value}"),
    _f("service_cost_pct", "service effort", "pct", "low service effort",
       "high service effort ({value} of revenue)"),
    _f("net_margin_12m", "margin after service", "money", "margin after service {value}",
       "margin after service {value}"),
    _f("on_time_share", "payment", "pct", "pays on time", "pays on time only {value}"),
    _f("avg_days_late", "payment delay", "days", "pays on time",
       "pays {value} days late on average"),
    _f("overdue_amount", "overdue", "money", "nothing overdue", "{value} overdue"),
    _f("months_with_revenue_24", "recurrence", "count", "recurring demand ({value} of 24 months)",
       "irregular demand ({value} of 24 months)"),
    _f("recurrence", "recurrence", "pct", "recurring demand", "irregular demand ({value})"),
    _f("renewals_won_24m", "renewals", "count", "{value} renewals won", "no renewals won"),
    _f("revenue_cv", "predictability", "ratio", "predictable revenue", "unpredictable revenue"),
    _f("escalations_per_100k", "escalations", "ratio", "few escalations",
       "{value} escalations per 100k revenue"),
    _f("special_requests_per_100k", "special requests", "ratio", "few special requests",
       "many special requests ({value} per 100k)"),
    _f("growth", "growth", "pct", "growing {value}", "shrinking ({value})"),
    _f("acquisition_cost", "acquisition cost", "money", "low acquisition cost",
       "acquisition cost {value}"),
    _f("tenure_months", "tenure", "count", "customer for {value} months", "new customer"),
    _f("monthly_retention", "retention", "pct", "steady buyer", "at risk of churn"),
    _f("clv", "lifetime value", "money", "lifetime value {value} (top {top}%)",
       "low lifetime value {value}"),
    _f("clv_gross", "lifetime value", "money", "lifetime value {value} (top {top}%)",
       "low lifetime value {value}"),
    _f("reference_customer", "reference", "count", "reference customer", "not a reference"),
    _f("referrals", "referrals", "count", "{value} referrals", "no referrals"),
    _f("case_study", "case study", "count", "case study published", "no case study"),
    _f("product_feedback", "product feedback", "count", "gives product feedback",
       "no product feedback"),
    _f("advocacy_points", "advocacy", "count", "advocate (references, referrals)", "no advocacy"),
    _f("employees", "employees", "count", "{value} employees", "{value} employees"),
    _f("annual_revenue", "company size", "money", "company revenue {value}", "revenue {value}"),
    _f("industry", "industry", "text", "{value} is an ICP industry",
       "industry {value} outside ICP"),
    _f("size_band", "size", "text", "size {value} fits ICP", "size {value} outside ICP"),
    _f("region", "region", "text", "{value} is an ICP region", "region {value} outside ICP"),
)  # fmt: skip

FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

ATTRIBUTES = ("industry", "size_band", "region", "employees", "annual_revenue")
"""Account attributes known before any purchase: the ideal-customer-profile criteria use
only these (plus the model's extra `attributes`), so new logos can be scored on them."""

ADVOCACY_SIGNALS = ("reference_customer", "referrals", "case_study", "product_feedback")
"""Optional account columns; each counts when mapped (a boolean or a count)."""

ACCOUNT_OUTPUTS = (
    "value_score", "fit_score", "clv", "clv_gross", "max_acquisition_cost", "quadrant",
    "computed_quadrant", "value_band", "fit_band", "predicted", "is_customer", "lookalike_size",
)  # fmt: skip
"""Columns the engine adds to every account; rules may test them."""

OPPORTUNITY_COLUMNS = ("amount", "stage", "type", "is_closed", "is_won", "close_date", "name")
"""Opportunity columns a rule on opportunities may test besides the account's fields."""

ACCOUNT_COLUMNS = ("name", "domain", "erp_id", "owner_id", "created_at")


def feature_names() -> frozenset[str]:
    """Every feature name a criterion may use (extra attributes come from the model)."""
    return frozenset(FEATURE_BY_NAME)


def rule_fields(target: str, attributes: tuple[str, ...], earlier: tuple[str, ...]) -> set[str]:
    """Every field a rule on `target` may test: features, outputs and earlier rule fields."""
    fields = set(FEATURE_BY_NAME) | set(ACCOUNT_OUTPUTS) | set(ACCOUNT_COLUMNS)
    fields |= set(attributes) | set(earlier)
    if target == "opportunities":
        fields |= set(OPPORTUNITY_COLUMNS)
    return fields
