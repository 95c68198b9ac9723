"""The catalogue of everything a value model may name: features, attributes and outputs.

Each feature has a short label for reasons, a display kind (how its value is printed
in a reason) and two phrase templates: one used when the feature is a strength, one when
it is what to fix. Templates state the value, so that every phrase is true to the number
behind it: `{value}` (the feature's value, printed by its display kind) and `{label}`;
the reason adds the rank among customers for percentile criteria ("best 5%").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mappings.canonical import ADVOCACY_SIGNALS as SIGNALS

Display = Literal["money", "pct", "change", "count", "days", "ratio", "text"]


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
    _f("revenue_12m", "revenue", "money", "revenue {value}", "revenue only {value}"),
    _f("revenue_prior_12m", "prior revenue", "money", "prior-year revenue {value}",
       "prior-year revenue {value}"),
    _f("revenue_lifetime", "lifetime revenue", "money", "lifetime revenue {value}",
       "lifetime revenue {value}"),
    _f("cost_of_delivery_12m", "delivery cost", "money", "delivery cost {value}",
       "delivery cost {value}"),
    _f("margin_12m", "margin", "money", "margin {value}", "margin only {value}"),
    _f("margin_pct", "margin", "pct", "margin {value}", "{value} margin"),
    _f("margin_lifetime", "lifetime margin", "money", "lifetime margin {value}",
       "lifetime margin {value}"),
    _f("tickets_12m", "tickets", "count", "{value} tickets in 12 months",
       "{value} tickets in 12 months"),
    _f("escalations_12m", "escalations", "count", "{value} escalations in 12 months",
       "{value} escalations in 12 months"),
    _f("special_requests_12m", "special requests", "count",
       "{value} special requests in 12 months", "{value} special requests in 12 months"),
    _f("effort_hours_12m", "service hours", "count", "{value} service hours in 12 months",
       "{value} service hours in 12 months"),
    _f("cost_to_serve_12m", "cost to serve", "money", "cost to serve {value}",
       "cost to serve {value}"),
    _f("service_cost_pct", "service effort", "pct", "service effort {value} of revenue",
       "high service effort, {value} of revenue"),
    _f("net_margin_12m", "margin after service", "money", "margin after service {value}",
       "margin after service {value}"),
    _f("sales_cost_12m", "cost of sales", "money", "cost of sales {value}",
       "cost of sales {value}"),
    _f("on_time_share", "payment", "pct", "{value} of invoices paid on time",
       "only {value} of invoices paid on time"),
    _f("avg_days_late", "payment delay", "days", "paid {value} late on average",
       "paid {value} late on average"),
    _f("overdue_amount", "overdue", "money", "{value} overdue", "{value} overdue"),
    _f("months_with_revenue_24", "recurrence", "count", "revenue in {value} of 24 months",
       "revenue in only {value} of 24 months"),
    _f("recurrence", "recurrence", "pct", "revenue in {value} of the last 24 months",
       "revenue in only {value} of the last 24 months"),
    _f("renewals_won_24m", "renewals", "count", "{value} renewals won in 24 months",
       "{value} renewals won in 24 months"),
    _f("revenue_cv", "predictability", "ratio", "steady monthly revenue (variation {value})",
       "uneven monthly revenue (variation {value})"),
    _f("escalations_per_100k", "escalations", "ratio", "{value} escalations per 100k revenue",
       "{value} escalations per 100k revenue"),
    _f("special_requests_per_100k", "special requests", "ratio",
       "{value} special requests per 100k revenue", "{value} special requests per 100k revenue"),
    _f("growth", "growth", "change", "revenue {value} on the prior year",
       "revenue {value} on the prior year"),
    _f("acquisition_cost", "acquisition cost", "money", "acquisition cost {value}",
       "acquisition cost {value}"),
    _f("tenure_months", "tenure", "count", "customer for {value} months",
       "customer for {value} months"),
    _f("months_since_active", "recency", "count", "{value} months since last purchase",
       "{value} months since last purchase"),
    _f("purchase_cycle_months", "purchase cycle", "ratio", "buys every {value} months",
       "buys every {value} months"),
    _f("active_probability", "activity", "pct", "{value} likely still active",
       "only {value} likely still active"),
    _f("monthly_retention", "retention", "pct", "retention {value} a month",
       "retention {value} a month"),
    _f("purchase_frequency", "purchase frequency", "ratio", "buys in {value} months a year",
       "buys in only {value} months a year"),
    _f("avg_order_value", "order value", "money", "{value} per purchase month",
       "only {value} per purchase month"),
    _f("clv", "lifetime value", "money", "lifetime value {value}", "lifetime value {value}"),
    _f("clv_gross", "lifetime value", "money", "lifetime value {value}",
       "lifetime value {value}"),
    _f("ltv_to_cac", "LTV:CAC", "ratio", "LTV:CAC {value}", "LTV:CAC only {value}"),
    _f("cac_payback_months", "CAC payback", "count", "CAC paid back in {value} months",
       "CAC paid back in {value} months"),
    _f("advocacy_value_per_year", "advocacy value", "money", "advocacy worth {value} a year",
       "advocacy worth {value} a year"),
    _f("chain_alignment", "value-chain alignment", "pct",
       "{value} of margin left after selling and serving",
       "only {value} of margin left after selling and serving"),
    _f("segment_alignment", "segment alignment", "pct",
       "segment keeps {value} of margin after selling and serving",
       "segment keeps only {value} of margin after selling and serving"),
    _f("reference_customer", "reference", "count", "reference customer",
       "not a reference customer"),
    _f("referrals", "referrals", "count", "{value} referrals", "{value} referrals"),
    _f("case_study", "case study", "count", "case study published", "no case study"),
    _f("product_feedback", "product feedback", "count", "{value} product feedback items",
       "{value} product feedback items"),
    _f("advocacy_points", "advocacy", "count", "advocacy {value} points",
       "advocacy {value} points"),
    _f("employees", "employees", "count", "{value} employees", "{value} employees"),
    _f("annual_revenue", "company size", "money", "company revenue {value}",
       "company revenue {value}"),
    _f("industry", "industry", "text", "{value} is an ICP industry",
       "industry {value}: weak ICP match"),
    _f("size_band", "size", "text", "size {value} fits ICP", "size {value}: weak ICP match"),
    _f("region", "region", "text", "{value} is an ICP region", "region {value}: weak ICP match"),
)  # fmt: skip
"""Phrases state the value; the explanation adds the rank for percentile criteria."""

FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

ATTRIBUTES = ("industry", "size_band", "region", "employees", "annual_revenue")
"""Account attributes known before any purchase: the ideal-customer-profile criteria use
only these (plus the model's extra `attributes`), so new logos can be scored on them."""

ADVOCACY_SIGNALS = SIGNALS
"""Optional account columns; each counts when mapped (a boolean or a count)."""

ACCOUNT_OUTPUTS = (
    "value_score", "fit_score", "clv", "clv_gross", "max_acquisition_cost", "quadrant",
    "computed_quadrant", "value_band", "fit_band", "predicted", "is_customer", "lookalike_size",
    "lifecycle", "loss_making", "ltv", "contribution_to_date", "cac_unrecovered",
    "lookalike_confidence", "segment",
)  # fmt: skip
"""Columns the engine adds to every account; rules may test them."""

OPPORTUNITY_COLUMNS = ("amount", "stage", "type", "is_closed", "is_won", "close_date", "name")
"""Opportunity columns a rule on opportunities may test besides the account's fields."""

ACCOUNT_COLUMNS = ("name", "domain", "erp_id", "owner_id", "created_at")


def rule_fields(target: str, attributes: tuple[str, ...], earlier: tuple[str, ...]) -> set[str]:
    """Every field a rule on `target` may test: features, outputs and earlier rule fields."""
    fields = set(FEATURE_BY_NAME) | set(ACCOUNT_OUTPUTS) | set(ACCOUNT_COLUMNS)
    fields |= set(attributes) | set(earlier)
    if target == "opportunities":
        fields |= set(OPPORTUNITY_COLUMNS)
    return fields
