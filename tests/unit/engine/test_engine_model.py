"""The value model: defaults, validation with every problem listed, output labels."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mappings.errors import ConfigError
from sync.pipeline.model_file import SHIPPED_VALUE_MODEL, load_value_model
from value_engine import ValueModel, output_labels, parse_value_model

DATA = Path(__file__).parents[2] / "data" / "engine"


def _base() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED_VALUE_MODEL.read_text(encoding="utf-8"))


def test_shipped_yaml_equals_the_built_in_defaults() -> None:
    assert load_value_model() == ValueModel()
    assert load_value_model(SHIPPED_VALUE_MODEL) == ValueModel()


def test_an_empty_mapping_gives_the_defaults() -> None:
    assert parse_value_model({}, "x.yaml") == ValueModel()


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


CASES = [
    ("unknown_key", "colour", "blue", "colour", "allowed: advocacy_points"),
    ("unknown_nested_key", "clv.horizon", 12, "clv.horizon", "default_cac, discount_rate"),
    ("negative_weight", "value.criteria.0.weight", -1, "value.criteria.0.weight",
     "greater than or equal to 0"),
    ("unknown_feature", "fit.criteria.3.feature", "happiness", "fit.criteria.3.feature",
     "unknown feature 'happiness'; allowed:"),
    ("unknown_operator", "rules.0.rules.2.when.all.0.op", "=~",
     "rules.0.rules.2.when.all.0.op", "'==', '!='"),
    ("threshold_above_100", "quadrants.value_threshold", 120, "quadrants.value_threshold",
     "less than or equal to 100"),
    ("threshold_below_0", "quadrants.fit_threshold", -3, "quadrants.fit_threshold",
     "greater than or equal to 0"),
    ("output_not_a_label", "rules.0.rules.0.then", "Walk away", "rules.0.rules.0.then",
     "allowed: Invest, Fix or reprice, Develop, Manage for cost"),
    ("default_not_a_label", "rules.2.default", "Maybe", "rules.2.default", "allowed: Pursue"),
    ("unknown_rule_field", "rules.1.rules.0.when.field", "mood", "rules.1.rules.0.when.field",
     "unknown field 'mood'"),
    ("category_on_a_number", "value.criteria.0.transform", "category",
     "value.criteria.0.transform", "is a number"),
    ("unknown_preset", "quadrants.preset", "zodiac", "quadrants.preset", "value_matrix"),
    ("bad_currency", "currency", "euro", "currency", "pattern"),
    ("linear_without_bounds", "value.criteria.3.bounds", None, "value.criteria.3",
     "needs bounds"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "key_path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_mistake_names_key_path_and_what_is_allowed(
    path: str, value: Any, key_path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_value_model(_set(_base(), path, value), "value_model.yaml")
    problems = {p.key_path: p.message for p in info.value.problems}
    assert key_path in problems, problems
    assert message in problems[key_path]


def test_all_problems_are_listed_at_once_with_lines() -> None:
    with pytest.raises(ConfigError) as info:
        load_value_model(DATA / "invalid_model.yaml")
    problems = info.value.problems
    paths = [p.key_path for p in problems]
    assert paths == [
        "colour",
        "value.criteria.0.weight",
        "value.criteria.1.feature",
        "quadrants.value_threshold",
        "rules.0.rules.0.when.op",
        "rules.0.rules.1.then",
    ]
    assert [p.line for p in problems] == [3, 6, 7, 12, 18, 21]
    assert str(info.value).startswith("6 problems in the configuration:")
    assert all(p.file.endswith("invalid_model.yaml") for p in problems)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_value_model(tmp_path / "nope.yaml")


def test_custom_labels_and_extra_attributes() -> None:
    data = {
        "attributes": ["tech_stack"],
        "quadrants": {
            "preset": "custom",
            "labels": {
                "high_value_high_fit": "Stars",
                "high_value_low_fit": "Cash cows",
                "low_value_high_fit": "Seeds",
                "low_value_low_fit": "Dogs",
            },
        },
        "fit": {
            "criteria": [
                {
                    "feature": "tech_stack",
                    "weight": 1,
                    "transform": "category",
                    "points": {"SAP": 100},
                }
            ]
        },  # fmt: skip
    }
    model = parse_value_model(data, "m.yaml")
    assert model.quadrants.label_tuple() == ("Stars", "Cash cows", "Seeds", "Dogs")


def test_custom_preset_needs_labels() -> None:
    with pytest.raises(ConfigError, match="needs labels"):
        parse_value_model({"quadrants": {"preset": "custom"}}, "m.yaml")


ACTIONS = {
    "value_matrix": ["Invest", "Fix or reprice", "Develop", "Manage for cost", "Qualify"],
    "persona_value": ["Retain and reward", "Nurture to loyalty", "Grow share of wallet",
                      "Nurture", "Fix or reprice", "Qualify"],
    "value_chain": ["Invest", "Fix or reprice", "Develop", "Manage for cost", "Qualify"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "first"),
    [("value_matrix", "Core"), ("persona_value", "High-Value Loyalists"),
     ("value_chain", "High Value–High Alignment")],
)  # fmt: skip
def test_output_labels_per_preset(preset: str, first: str) -> None:
    """Issue 15: each preset brings its own default actions (and value_chain a Service Model)."""
    model = parse_value_model({"quadrants": {"preset": preset}}, "m.yaml")
    labels = output_labels(model)
    assert labels["quadrant"][0] == first and len(labels["quadrant"]) == 4
    assert labels["account_action"] == ACTIONS[preset]
    assert labels["deal_priority"] == [
        "Pursue",
        "Pursue if profitable",
        "Qualify fit first",
        "Deprioritize",
    ]
    if preset == "value_chain":
        assert labels["service_model"] == ["High-touch", "Standard", "Digital"]
        assert "service_tier" not in labels
    else:
        assert labels["service_tier"] == ["Premium", "Standard", "Basic", "Pre-sales"]


def test_rules_given_in_the_file_win_over_the_preset_defaults() -> None:
    rules = [{"field": "tier", "target": "accounts", "labels": ["A"], "default": "A"}]
    model = parse_value_model({"quadrants": {"preset": "persona_value"}, "rules": rules}, "m")
    assert [r.field for r in model.rules] == ["tier"]


def test_model_is_frozen() -> None:
    model = ValueModel()
    with pytest.raises(ValueError):
        model.currency = "USD"  # type: ignore[misc]
