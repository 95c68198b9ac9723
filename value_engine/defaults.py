"""The default criteria and decision rules, as plain data.

`mappings/value_model.yaml` spells out the same defaults for the ops admin to edit; a unit
test keeps the two identical. The ideal customer profile (ICP) below matches the sandbox's
sample data: industries Machinery / Manufacturing / Electronics, 50-999 employees, in
Germany, Austria or Switzerland.
"""

from __future__ import annotations

from typing import Any

ICP_INDUSTRY_POINTS = {"Machinery": 100, "Manufacturing": 100, "Electronics": 90}
ICP_SIZE_POINTS = {"50-249": 100, "250-999": 100, "1000-4999": 50, "1-49": 40}
ICP_REGION_POINTS = {"Germany": 100, "Austria": 100, "Switzerland": 100}

VALUE_CRITERIA: list[dict[str, Any]] = [
    {"feature": "margin_pct", "weight": 25, "missing": "worst"},
    {"feature": "clv", "weight": 25, "missing": "worst"},
    {"feature": "revenue_12m", "weight": 10, "missing": "worst"},
    {
        "feature": "on_time_share",
        "weight": 10,
        "transform": "linear",
        "bounds": [0.5, 1.0],
    },
    {"feature": "recurrence", "weight": 10, "transform": "linear", "bounds": [0.0, 1.0]},
    {"feature": "renewals_won_24m", "weight": 5, "transform": "linear", "bounds": [0, 2]},
    {"feature": "growth", "weight": 5, "transform": "linear", "bounds": [-0.2, 0.3]},
    {
        "feature": "advocacy_points",
        "weight": 10,
        "transform": "linear",
        "bounds": [0, 100],
        "missing": "exclude",
    },
]

FIT_CRITERIA: list[dict[str, Any]] = [
    {
        "feature": "industry",
        "weight": 15,
        "transform": "category",
        "points": ICP_INDUSTRY_POINTS,
        "other_points": 30,
    },
    {
        "feature": "size_band",
        "weight": 10,
        "transform": "category",
        "points": ICP_SIZE_POINTS,
        "other_points": 20,
    },
    {
        "feature": "region",
        "weight": 5,
        "transform": "category",
        "points": ICP_REGION_POINTS,
        "other_points": 40,
    },
    {"feature": "service_cost_pct", "weight": 20, "direction": "lower_is_better"},
    {"feature": "escalations_per_100k", "weight": 15, "direction": "lower_is_better"},
    {"feature": "special_requests_per_100k", "weight": 10, "direction": "lower_is_better"},
    {"feature": "revenue_cv", "weight": 15, "direction": "lower_is_better"},
    {
        "feature": "avg_days_late",
        "weight": 10,
        "direction": "lower_is_better",
        "transform": "linear",
        "bounds": [0, 30],
    },
]


PERSONA_CRITERIA: list[dict[str, Any]] = [
    {"feature": "industry", "weight": 20, "transform": "category",
     "points": ICP_INDUSTRY_POINTS, "other_points": 30},
    {"feature": "size_band", "weight": 15, "transform": "category",
     "points": ICP_SIZE_POINTS, "other_points": 20},
    {"feature": "region", "weight": 5, "transform": "category",
     "points": ICP_REGION_POINTS, "other_points": 40},
    {"feature": "recurrence", "weight": 20, "transform": "linear", "bounds": [0.0, 1.0]},
    {"feature": "tenure_months", "weight": 15, "transform": "linear", "bounds": [0, 60]},
    {"feature": "renewals_won_24m", "weight": 10, "transform": "linear", "bounds": [0, 2]},
    {"feature": "on_time_share", "weight": 10, "transform": "linear", "bounds": [0.5, 1.0]},
    {"feature": "advocacy_points", "weight": 5, "transform": "linear", "bounds": [0, 100],
     "missing": "exclude"},
]  # fmt: skip
"""Persona alignment: the ideal persona's attributes and a loyal customer's behaviour."""

CUSTOMER_VALUE_CRITERIA: list[dict[str, Any]] = [
    {"feature": "purchase_frequency", "weight": 30, "missing": "worst"},
    {"feature": "avg_order_value", "weight": 30, "missing": "worst"},
    {"feature": "clv", "weight": 40, "missing": "worst"},
]
"""Customer value of the Persona-Value Matrix: how often, how much per order, lifetime value."""

ALIGNMENT_CRITERIA: list[dict[str, Any]] = [
    {"feature": "chain_alignment", "weight": 70, "transform": "linear", "bounds": [0.0, 1.0],
     "missing": "worst"},
    {"feature": "segment_alignment", "weight": 30, "transform": "linear", "bounds": [0.0, 1.0]},
]  # fmt: skip
"""Value-chain alignment: the share of margin left after acquisition, sales and service."""


def _both(value: str, fit: str) -> dict[str, Any]:
    return {
        "all": [
            {"field": "value_band", "op": "==", "value": value},
            {"field": "fit_band", "op": "==", "value": fit},
        ]
    }


PROSPECT = {"field": "lifecycle", "op": "==", "value": "prospect"}
LOSS = {"field": "loss_making", "op": "==", "value": True}

RULES: list[dict[str, Any]] = [
    {
        "field": "account_action",
        "target": "accounts",
        "labels": ["Invest", "Fix or reprice", "Develop", "Manage for cost", "Qualify"],
        "rules": [
            {"when": PROSPECT, "then": "Qualify"},
            {"when": LOSS, "then": "Fix or reprice"},
            {"when": _both("high", "high"), "then": "Invest"},
            {"when": _both("high", "low"), "then": "Fix or reprice"},
            {"when": _both("low", "high"), "then": "Develop"},
        ],
        "default": "Manage for cost",
    },
    {
        "field": "service_tier",
        "target": "accounts",
        "labels": ["Premium", "Standard", "Basic", "Pre-sales"],
        "rules": [
            {"when": PROSPECT, "then": "Pre-sales"},
            {"when": _both("high", "high"), "then": "Premium"},
            {
                "when": {
                    "any": [
                        _both("low", "high"),
                        {"field": "value_score", "op": ">=", "value": 60},
                    ]
                },
                "then": "Standard",
            },
        ],
        "default": "Basic",
    },
    {
        "field": "deal_priority",
        "target": "opportunities",
        "labels": ["Pursue", "Pursue if profitable", "Qualify fit first", "Deprioritize"],
        "rules": [
            {"when": _both("high", "high"), "then": "Pursue"},
            {"when": _both("low", "high"), "then": "Pursue if profitable"},
            {"when": _both("high", "low"), "then": "Qualify fit first"},
        ],
        "default": "Deprioritize",
    },
]


PERSONA_RULES: list[dict[str, Any]] = [
    {
        "field": "account_action",
        "target": "accounts",
        "labels": [
            "Retain and reward",
            "Nurture to loyalty",
            "Grow share of wallet",
            "Nurture",
            "Fix or reprice",
            "Qualify",
        ],
        "rules": [
            {"when": PROSPECT, "then": "Qualify"},
            {"when": LOSS, "then": "Fix or reprice"},
            {"when": _both("high", "high"), "then": "Retain and reward"},
            {"when": _both("high", "low"), "then": "Nurture to loyalty"},
            {"when": _both("low", "high"), "then": "Grow share of wallet"},
        ],
        "default": "Nurture",
    },  # fmt: skip
    RULES[1],
    RULES[2],
]
"""Persona-Value Matrix: loyalists are kept and grown, potentials are nurtured."""

VALUE_CHAIN_RULES: list[dict[str, Any]] = [
    RULES[0],
    {
        "field": "service_model",
        "target": "accounts",
        "labels": ["High-touch", "Standard", "Digital"],
        "rules": [
            {"when": PROSPECT, "then": "Digital"},
            {"when": LOSS, "then": "Digital"},
            {"when": _both("high", "high"), "then": "High-touch"},
            {
                "when": {
                    "any": [
                        {"field": "value_band", "op": "==", "value": "high"},
                        {"field": "fit_band", "op": "==", "value": "high"},
                    ]
                },
                "then": "Standard",
            },
        ],
        "default": "Digital",
    },  # fmt: skip
    RULES[2],
]
"""Segmentation-Value-Chain Alignment: what service model each account's economics carry."""


def rules_for(preset: str) -> list[dict[str, Any]]:
    """The default rule sets of a preset (value_matrix and custom share the same)."""
    return {"persona_value": PERSONA_RULES, "value_chain": VALUE_CHAIN_RULES}.get(preset, RULES)
