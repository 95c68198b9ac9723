"""Decision rules: operators, all / any, first match wins, empty fields, column outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mappings.errors import ConfigError
from value_engine.model import Condition, RuleSet
from value_engine.rules import condition_mask, evaluate

TABLE = pd.DataFrame(
    {
        "value_score": [10.0, 50.0, 90.0, np.nan],
        "quadrant": pd.Categorical(["Core", "Develop", "Core", None]),
        "type": ["new", "renewal", None, "expansion"],
        "predicted": [True, False, False, True],
    }
)

T, F = True, False
CASES: list[tuple[str, dict[str, Any], list[bool]]] = [
    ("eq_number", {"field": "value_score", "op": "==", "value": 50}, [F, T, F, F]),
    ("ne_skips_empty", {"field": "value_score", "op": "!=", "value": 50}, [T, F, T, F]),
    ("lt", {"field": "value_score", "op": "<", "value": 50}, [T, F, F, F]),
    ("le", {"field": "value_score", "op": "<=", "value": 50}, [T, T, F, F]),
    ("gt", {"field": "value_score", "op": ">", "value": 50}, [F, F, T, F]),
    ("ge", {"field": "value_score", "op": ">=", "value": 50}, [F, T, T, F]),
    ("between_inclusive", {"field": "value_score", "op": "between", "value": [10, 50]},
     [T, T, F, F]),
    ("in_labels", {"field": "quadrant", "op": "in", "value": ["Core"]}, [T, F, T, F]),
    ("not_in_skips_empty", {"field": "type", "op": "not_in", "value": ["new"]},
     [F, T, F, T]),
    ("is_null_true", {"field": "type", "op": "is_null", "value": True}, [F, F, T, F]),
    ("is_null_false", {"field": "value_score", "op": "is_null", "value": False},
     [T, T, T, F]),
    ("eq_bool", {"field": "predicted", "op": "==", "value": True}, [T, F, F, T]),
    ("eq_category", {"field": "quadrant", "op": "==", "value": "Core"}, [T, F, T, F]),
    ("missing_column_is_empty", {"field": "stage", "op": "==", "value": "x"},
     [F, F, F, F]),
    ("all", {"all": [{"field": "quadrant", "op": "==", "value": "Core"},
                     {"field": "value_score", "op": ">", "value": 50}]}, [F, F, T, F]),
    ("any", {"any": [{"field": "type", "op": "==", "value": "new"},
                     {"field": "value_score", "op": ">", "value": 80}]}, [T, F, T, F]),
    ("nested", {"any": [{"all": [{"field": "predicted", "op": "==", "value": True},
                                 {"field": "type", "op": "==", "value": "expansion"}]},
                        {"field": "value_score", "op": "==", "value": 10}]},
     [T, F, F, T]),
]  # fmt: skip


@pytest.mark.parametrize(("cond", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_condition(cond: dict[str, Any], expected: list[bool]) -> None:
    mask = condition_mask(TABLE, Condition.model_validate(cond), "test")
    assert mask.tolist() == expected


def test_first_match_wins_and_default_fills_the_rest() -> None:
    rs = RuleSet.model_validate(
        {
            "field": "tier",
            "target": "accounts",
            "labels": ["Gold", "Silver", "Bronze"],
            "rules": [
                {"when": {"field": "value_score", "op": ">=", "value": 50}, "then": "Gold"},
                {"when": {"field": "value_score", "op": ">=", "value": 10}, "then": "Silver"},
            ],
            "default": "Bronze",
        }
    )
    out = evaluate(TABLE, rs)
    assert list(out) == ["Silver", "Gold", "Gold", "Bronze"]
    assert list(out.categories) == ["Gold", "Silver", "Bronze"]


def test_then_column_copies_a_column() -> None:
    rs = RuleSet.model_validate(
        {
            "field": "label",
            "target": "accounts",
            "labels": ["none"],
            "rules": [
                {
                    "when": {"field": "predicted", "op": "==", "value": False},
                    "then_column": "quadrant",
                }
            ],  # fmt: skip
            "default": "none",
        }
    )
    assert list(evaluate(TABLE, rs)) == ["none", "Develop", "Core", "none"]


def test_comparing_text_with_a_number_is_a_config_error() -> None:
    cond = Condition.model_validate({"field": "type", "op": "<", "value": 3})
    with pytest.raises(ConfigError, match="cannot be compared"):
        condition_mask(TABLE, cond, "tier")


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ({"field": "x", "op": "between", "value": [5, 1]}, "low <= high"),
        ({"field": "x", "op": "in", "value": "a"}, "non-empty list"),
        ({"field": "x", "op": "is_null", "value": 3}, "true or false"),
        ({"field": "x", "op": "==", "value": [1]}, "one value"),
        ({"field": "x", "op": "==", "value": 1, "all": []}, "either"),
    ],
    ids=["between_order", "in_needs_list", "is_null_bool", "eq_scalar", "two_forms"],
)
def test_malformed_conditions(cond: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Condition.model_validate(cond)


def test_a_rule_on_any_feature_sees_its_values() -> None:
    """A rule may name a feature that is not an output column (e.g. tenure_months)."""
    from engine_population import AS_OF, make_population

    from value_engine import compute, parse_value_model

    rules = [{"field": "tenure_tier", "target": "accounts", "labels": ["Old", "Young"],
              "rules": [{"when": {"field": "tenure_months", "op": ">=", "value": 48},
                         "then": "Old"}],
              "default": "Young"}]  # fmt: skip
    model = parse_value_model({"rules": rules}, "m.yaml")
    result = compute(make_population(n=40, prospects=0), model, as_of=AS_OF)
    tenure = result.features.set_index("account_id")["tenure_months"]
    tier = result.accounts.set_index("account_id")["tenure_tier"]
    assert (tier == "Old").any() and (tier == "Young").any()
    assert ((tier == "Old") == (tenure >= 48)).all()
    assert "tenure_months" not in result.accounts.columns
