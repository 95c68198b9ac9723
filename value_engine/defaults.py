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


def _both(value: str, fit: str) -> dict[str, Any]:
    return {
        "all": [
            {"field": "value_band", "op": "==", "value": value},
            {"field": "fit_band", "op": "==", "value": fit},
        ]
    }


RULES: list[dict[str, Any]] = [
    {
        "field": "account_action",
        "target": "accounts",
        "labels": ["Invest", "Fix or reprice", "Develop", "Manage for cost"],
        "rules": [
            {"when": _both("high", "high"), "then": "Invest"},
            {"when": _both("high", "low"), "then": "Fix or reprice"},
            {"when": _both("low", "high"), "then": "Develop"},
        ],
        "default": "Manage for cost",
    },
    {
        "field": "service_tier",
        "target": "accounts",
        "labels": ["Premium", "Standard", "Basic"],
        "rules": [
            {"when": {"field": "account_action", "op": "==", "value": "Invest"}, "then": "Premium"},
            {
                "when": {
                    "any": [
                        {"field": "account_action", "op": "in", "value": ["Develop"]},
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
