"""Decision rules: ordered lists per output field; the first rule that matches sets it.

A condition is data: a field, an operator and a value, or `all` / `any` of conditions.
Operators: == != < <= > >= (compare), in / not_in (one of a list), between (low <= x <=
high, both included), is_null (true: the field is empty; false: it is not). An empty
field matches nothing except `is_null: true`. A rule's output is a label (`then`) or
the value of another column (`then_column`); rows no rule matches get the default.
Nothing in a rule is ever evaluated as code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mappings.errors import ConfigError
from value_engine.model import Condition, RuleSet, ValueModel

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def apply_rules(
    table: pd.DataFrame, model: ValueModel, target: str, features: pd.DataFrame | None = None
) -> pd.DataFrame:
    """`table` with one more column per rule set of `target`, in model order.

    A field the rules name that `table` lacks is looked up in `features` (same rows), so a
    rule on any feature of the catalogue sees its values.
    """
    out = table.copy(deep=False)
    rulesets = [r for r in model.rules if r.target == target]
    named = {f for r in rulesets for f in rule_field_names(r)}
    extra: list[str] = []
    if features is not None:
        extra = sorted((named - set(out.columns)) & set(features.columns))
        for name in extra:
            out[name] = features[name].to_numpy()
    for ruleset in rulesets:
        out[ruleset.field] = evaluate(out, ruleset)
    return out.drop(columns=extra)


def rule_field_names(ruleset: RuleSet) -> set[str]:
    """Every field a rule set's conditions and column outputs name."""
    names: set[str] = set()
    stack = [rule.when for rule in ruleset.rules]
    while stack:
        cond = stack.pop()
        if cond.field is not None:
            names.add(cond.field)
        stack += list(cond.all_ or ()) + list(cond.any_ or ())
    names |= {r.then_column for r in ruleset.rules if r.then_column is not None}
    if ruleset.default_column is not None:
        names.add(ruleset.default_column)
    return names


def evaluate(table: pd.DataFrame, ruleset: RuleSet) -> pd.Categorical | np.ndarray:
    """The output of one rule set for every row."""
    n = len(table)
    if all(r.then is not None for r in ruleset.rules) and ruleset.default is not None:
        codes = np.full(n, ruleset.labels.index(ruleset.default), dtype=np.int16)
        done = np.zeros(n, dtype=bool)
        for rule in ruleset.rules:
            hit = condition_mask(table, rule.when, ruleset.field) & ~done
            codes[hit] = ruleset.labels.index(rule.then)
            done |= hit
        return pd.Categorical.from_codes(codes, categories=list(ruleset.labels))
    result = _output(table, ruleset.default, ruleset.default_column, n)
    done = np.zeros(n, dtype=bool)
    for rule in ruleset.rules:
        hit = condition_mask(table, rule.when, ruleset.field) & ~done
        result = np.where(hit, _output(table, rule.then, rule.then_column, n), result)
        done |= hit
    return result


def _output(table: pd.DataFrame, label: str | None, column: str | None, n: int) -> np.ndarray:
    if label is not None:
        return np.full(n, label, dtype=object)
    if column in table.columns:
        return np.asarray(table[column].astype(object).to_numpy())
    return np.full(n, None, dtype=object)


def condition_mask(table: pd.DataFrame, cond: Condition, where: str) -> np.ndarray:
    """Rows where the condition holds."""
    if cond.all_ is not None:
        result = np.ones(len(table), dtype=bool)
        for sub in cond.all_:
            result &= condition_mask(table, sub, where)
        return result
    if cond.any_ is not None:
        result = np.zeros(len(table), dtype=bool)
        for sub in cond.any_:
            result |= condition_mask(table, sub, where)
        return result
    return _test(table, cond, where)


def _test(table: pd.DataFrame, cond: Condition, where: str) -> np.ndarray:
    field, op, value = cond.field, cond.op, cond.value
    series = table[field] if field in table.columns else pd.Series([None] * len(table))
    empty = series.isna().to_numpy()
    if op == "is_null":
        return np.asarray(empty if value is not False else ~empty)
    try:
        if op in ("in", "not_in"):
            hit = series.isin(list(value)).to_numpy(dtype=bool)
            hit = ~hit if op == "not_in" else hit
        elif op == "between":
            hit = ((series >= value[0]) & (series <= value[1])).to_numpy(dtype=bool, na_value=False)
        else:
            hit = _COMPARE[op](series, value)  # type: ignore[index]
            hit = pd.Series(hit).to_numpy(dtype=bool, na_value=False)
    except TypeError:
        raise ConfigError(
            f"rule for '{where}': field '{field}' cannot be compared with {value!r} by '{op}'; "
            "compare numbers with numbers and labels with == / != / in / not_in"
        ) from None
    return np.asarray(hit & ~empty)


def possible_labels(ruleset: RuleSet) -> list[str]:
    """Every label the rule set can output (constant outputs and the default, in label order)."""
    used = {r.then for r in ruleset.rules if r.then is not None} | {ruleset.default}
    return [label for label in ruleset.labels if label in used]
